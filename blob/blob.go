// Package blob is the one interface between Sachet and wherever content
// bytes live: finished blobs (a share's content) and the parts of
// unfinished chunked uploads. The upload protocol (package upload) and the
// download handlers see only Store; the local filesystem (package storage)
// and S3 implement it.
//
// # Design
//
// The interface is at the level of "an upload's parts", because that is
// the level at which a filesystem and S3 differ least:
//
//   - Begin gives an upload a handle, an opaque string the caller keeps in
//     the upload's database row, so that any process can continue the
//     upload. The filesystem makes up a name (its assembly file, created
//     on the first Append); S3 starts a multipart upload (bucket key and
//     upload id).
//   - Put stores one chunk on its own (out of order, or while another
//     request is appending). The filesystem writes a chunk file; S3 sends a
//     chunk of at least 5 MiB as multipart part index+1 and stages a
//     smaller one as an object of its own.
//   - Append stores the chunk that comes next in index order, resuming a
//     SHA-256 of the upload's in-order bytes (Stream), so that completion
//     of an upload sent in order hashes nothing again. The filesystem
//     appends it to the assembly file, fsynced once; S3 may simply Put it
//     and hash it on the way.
//   - Complete joins the parts, in index order, into a new blob: the
//     filesystem links the assembly file (no copy) after appending any
//     chunk files to it, or copies with copy_file_range; S3 completes the
//     multipart upload (parts are not copied), joining staged small chunks
//     server-side. The new blob becomes visible to readers only when the
//     caller records it, so a share switches atomically.
//   - Open reads a blob with seeking: for the filesystem it returns the
//     *os.File itself, so http.ServeContent keeps using sendfile.
//   - Remove deletes what ids name (blobs, parts, upload handles); Sweep
//     removes what no database row names and that is older than an age:
//     the orphans of a crash between a commit and a removal.
//
// What is NOT here, on purpose: which chunk is appended or put, leases,
// claims and retries. Those are the upload state machine's (package
// upload), kept in the database so that they hold across processes.
//
// Errors carry domain kinds: domain.TooLarge for a limit exceeded,
// domain.NotFound for an unknown blob, domain.Unavailable when the
// backend cannot be reached (a client may retry), domain.Invalid for a
// malformed id. Any other error is internal.
package blob

import (
	"context"
	"io"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// Part is one stored chunk of an upload, as the store returns it from Put
// or Append. The caller records it (in the chunks table) and hands it back
// unchanged to Complete; to the caller it is opaque except for Index and
// Size.
type Part struct {
	Index int   // the chunk's index in the upload, from 0
	Size  int64 // its bytes
	// ID names the part for Remove and Sweep's referenced callback, in at
	// most 255 bytes. "" means the part has no name of its own: its bytes
	// live inside the upload itself (the filesystem's assembly file) and
	// go when the upload handle is removed.
	ID string
	// Appended is set on a part stored by Append: it starts at byte
	// Offset of the upload's in-order stream (Stream.Len when appended).
	Appended bool
	Offset   int64
}

// Stream is what the database records of an upload's in-order stream:
// the chunks appended by Append, back to back from index 0.
type Stream struct {
	// Len is the total size of the appended parts recorded so far; the
	// next Append writes at this offset.
	Len int64
	// Hash is the SHA-256 state (crypto/sha256's MarshalBinary) after Len
	// bytes, or nil when not known. It is at most 255 bytes.
	Hash []byte
}

// Store holds content. Implementations are safe for concurrent use. Every
// method that stores bytes makes them durable before it returns: a part
// reported stored, or a blob returned by Complete, survives a crash.
//
// Limits: a max of 0 or less means no limit; exceeding one is a
// domain.TooLarge error, found after reading at most one byte too many.
//
// Ids and handles are chosen by the store, never derived from client
// input, and are at most 255 bytes.
type Store interface {
	// Begin starts an upload and returns its handle, which the caller
	// keeps in the upload's row and passes to the calls below. It may be
	// cheap (the filesystem only makes up a name) or not (S3 creates a
	// multipart upload): the caller calls it once per upload, and Removes
	// the handle of a Begin it did not record (a lost race). The handle is
	// kept in uploads.assembly_id, at most 255 bytes (migration 0015
	// widened it for S3's upload ids).
	Begin(ctx context.Context) (handle string, err error)

	// Put stores chunk index of the upload from r, reading r to EOF; more
	// than max bytes is TooLarge. size is the chunk's length when the
	// caller knows it (the client's form fields said so), or -1: with it a
	// store may stream the chunk to where it is kept without buffering it
	// (S3 needs a part's length before its first byte). r then must give
	// exactly size bytes: ending short or long is a domain.Invalid error,
	// and nothing is stored (see Exact). A chunk already stored under index (a
	// re-send) is not touched: the caller records the new part and then
	// Removes the replaced part's ID. Chunks of one upload may be Put
	// concurrently, from any process. On error nothing is left behind
	// (an S3 multipart part may remain until the upload is removed).
	//
	// handle is "" and index -1 when the chunk's bytes arrive before the
	// form fields that name its upload (a client may send the file part
	// first): the store then keeps the part on its own (S3: a staged
	// object), and Complete accepts it at any index.
	Put(ctx context.Context, handle string, index int, r io.Reader, size, max int64) (Part, error)

	// Append stores chunk index, which comes right after the recorded
	// stream s, and returns it (Appended, Offset s.Len) with the SHA-256
	// state after its end (nil if s.Hash was nil or cannot be resumed).
	// The caller guarantees one Append (or Unappend, or Complete) per
	// upload at a time, across processes (the database's append lease),
	// and that s is what is recorded: anything a previous, unrecorded
	// Append left past s.Len is discarded first. More than max bytes, or
	// the stream growing past maxTotal, is TooLarge. On error the stream
	// is as it was. size is as for Put. A store may implement Append as
	// Put plus hashing.
	Append(ctx context.Context, handle string, index int, s Stream, r io.Reader, size, max, maxTotal int64) (p Part, hash []byte, err error)

	// Unappend undoes an Append whose part will not be recorded (the
	// chunk was refused after it was stored). The caller still holds the
	// append lease.
	Unappend(ctx context.Context, handle string, p Part) error

	// Complete joins parts, every chunk of the upload in index order, as
	// returned by Put or Append and recorded, into a new blob, and
	// returns its id, size and SHA-256. s is the recorded stream: Complete
	// resumes its hash when the appended parts lead the upload. A blob
	// over maxTotal bytes is TooLarge, before anything is changed. The
	// blob is durable when Complete returns, and no reader sees it until
	// the caller records its id.
	//
	// Complete leaves the parts in place on error, so that it can be
	// tried again once the client re-sends a chunk. On success the parts
	// may be consumed (S3 completes the multipart upload): the caller
	// then records the blob and Removes the handle and part IDs, or, if
	// it cannot record it, Removes the blob. A later Complete of consumed
	// parts returns a domain.NotFound error, and the caller drops the
	// upload (its client starts again).
	Complete(ctx context.Context, handle string, parts []Part, s Stream, maxTotal int64) (domain.Blob, error)

	// Open opens blob id for reading and returns its size. The reader
	// seeks (http.ServeContent serves Range from it) and must be closed.
	// The filesystem returns an *os.File, so that serving it uses
	// sendfile. An unknown id is domain.NotFound.
	Open(ctx context.Context, id string) (r io.ReadSeekCloser, size int64, err error)

	// Remove deletes what each id names: a blob, a part's ID or an upload
	// handle (with the upload's parts that have no ID, and, for S3, its
	// multipart upload). Ids naming nothing are not an error; every id is
	// tried, and the first error returned. A removal lost in a crash
	// leaves an orphan for Sweep.
	Remove(ctx context.Context, ids ...string) error

	// Sweep removes blobs, parts and uploads (and temporary files) last
	// written before olderThan for which referenced reports false (it is
	// asked about the strings Begin, Put, Append and Complete returned),
	// and returns how many it removed. It stops at the first error from
	// referenced or ctx.
	Sweep(ctx context.Context, olderThan time.Time, referenced func(ctx context.Context, id string) (bool, error)) (int, error)

	// Writable reports whether content can be written now, for readiness
	// checks.
	Writable(ctx context.Context) error
}

// ReadAtCloser reads a blob at offsets; Close releases it.
type ReadAtCloser interface {
	io.ReaderAt
	io.Closer
}

// SharedOpener is optional: a store whose blobs can be read by offset
// from a handle shared between requests (the filesystem keeps recently
// opened files open for a second), which makes small range requests cost
// one pread. Open is still the way for whole downloads (sendfile).
type SharedOpener interface {
	OpenShared(ctx context.Context, id string) (r ReadAtCloser, size int64, err error)
}
