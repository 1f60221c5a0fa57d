// Package upload is Sachet's chunked-upload protocol: receive a chunk,
// append it to the upload's in-order stream or store it on its own,
// complete the upload exactly once when its last chunk is in, survive a
// crash at any step, and clean up after uploads that are abandoned.
//
// It is a state machine over two small interfaces it declares: Rows, the
// upload's database rows (db.Store), where every decision that must hold
// across requests and processes is taken (which chunk is appended, who
// completes, whether a holder is dead); and blob.Store, where the bytes
// go (the filesystem, or S3). It knows nothing of HTTP: package impl maps
// multipart requests onto Receive and Commit.
//
// One chunk request is:
//
//	p, err := m.Receive(ctx, shareID, key, body, size) // the bytes, durable
//	... the rest of the form is read and checked ...
//	done, err := m.Commit(ctx, p, key, sum)     // recorded; completed?
//
// or m.Discard(ctx, p) when the request is refused after Receive.
//
// The states of an upload's row, and who moves it:
//
//   - open: chunks are recorded (PutChunk, or CommitAppend under the
//     append lease for the chunk the stream expects next); a re-sent
//     chunk replaces the earlier one;
//   - claimed: the request that records the last missing chunk claims it
//     (ClaimUpload: one winner however many race) and joins the parts
//     (blob.Store.Complete); chunks for it are refused meanwhile;
//   - finished: FinishUpload publishes the blob as the share's content and
//     deletes the row in one transaction; or the claim is released (the
//     join failed: the upload is open again), or the upload is dropped
//     (it can never complete).
//
// A claim or lease whose holder died (its process crashed, or its request
// ended without letting go) is abandoned, and the next request takes it
// over: Rows decides that, per process (MySQL named locks) and per
// request.
package upload

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// Rows is the database half of uploads: rows of uploads and their chunks,
// the append lease and the completion claim. db.Store implements it; see
// its methods for each one's contract.
type Rows interface {
	// GetOrCreateUpload returns the upload (shareID, dzuuid), creating it
	// with totalChunks chunks. NotFound if the share is gone; Invalid if
	// totalChunks differs from the upload's.
	GetOrCreateUpload(ctx context.Context, shareID, dzuuid string, totalChunks int) (*domain.Upload, error)
	// SetUploadHandle records handle unless the upload has one already,
	// and returns the one recorded.
	SetUploadHandle(ctx context.Context, uploadID int64, handle string) (string, error)
	// PutChunk records a chunk stored on its own, replacing one of the
	// same index (whose file id it returns, "" if none or unnamed).
	// Conflict while the upload is claimed; NotFound if it is gone.
	PutChunk(ctx context.Context, c domain.Chunk) (replacedFileID string, err error)
	// TakeAppendLease takes the right to append chunk index, if it is the
	// one the stream expects and nobody live holds the lease or a claim.
	TakeAppendLease(ctx context.Context, uploadID int64, index int, newAssemblyID string) (lease *domain.Append, ok bool, err error)
	// CommitAppendPart records the appended chunk (fileID "" when it has
	// no name of its own) and ends the lease. Unavailable if the lease
	// was taken over; NotFound if the upload is gone.
	CommitAppendPart(ctx context.Context, lease *domain.Append, fileID string, size int64, hashState []byte) (replacedFileID string, err error)
	// ReleaseAppend ends the lease, recording nothing.
	ReleaseAppend(ctx context.Context, lease *domain.Append) error
	// ClaimUpload claims a complete upload for joining; claimed is false
	// when chunks are missing or another live request holds it.
	ClaimUpload(ctx context.Context, uploadID int64) (c *domain.Completion, claimed bool, err error)
	// ReleaseCompletion ends a claim without finishing.
	ReleaseCompletion(ctx context.Context, uploadID int64) error
	// FinishUpload publishes blob as the share's content and deletes the
	// upload's rows; it returns the share's previous blob id. NotFound if
	// the share is gone, Locked if it is locked.
	FinishUpload(ctx context.Context, uploadID int64, shareID string, blob domain.Blob, now time.Time) (oldBlobID string, err error)
	// DeleteUpload deletes the upload's rows and returns what to remove
	// from the blob store.
	DeleteUpload(ctx context.Context, uploadID int64) (files []string, err error)
	// DeleteStale deletes unfinished uploads (and uninitialized shares)
	// idle since before, and returns what to remove from the blob store.
	DeleteStale(ctx context.Context, before time.Time) (files []string, err error)
	// SetUploadChecksum records the SHA-256 (lowercase hex) the client
	// says the whole file has, which ClaimUpload then returns in the
	// Completion. Invalid if a different one is recorded; NotFound if the
	// upload is gone.
	SetUploadChecksum(ctx context.Context, uploadID int64, sum string) error
	// FileReferenced reports whether any row names id (a blob, a part or
	// an upload handle).
	FileReferenced(ctx context.Context, id string) (bool, error)
}

// Limits bound what one upload may take. Zero means unlimited.
type Limits struct {
	MaxChunkSize int64
	MaxChunks    int
	MaxFileSize  int64
}

// Manager runs the protocol. It is safe for concurrent use, and holds no
// state of its own between requests: everything is in Rows and the blob
// store, so any number of processes may serve one upload.
type Manager struct {
	rows   Rows
	blobs  blob.Store
	limits Limits
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Manager over rows and blobs.
func New(rows Rows, blobs blob.Store, limits Limits, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{rows: rows, blobs: blobs, limits: limits, log: log, now: time.Now}
}

// Key names a chunk: its upload (share and client's dzuuid, with the
// upload's number of chunks) and its index.
type Key struct {
	DZUUID string
	Index  int
	Total  int
}

// Pending is a chunk whose bytes are stored but not yet recorded: Commit
// records it, Discard removes it. Exactly one of them must follow Receive.
type Pending struct {
	shareID string
	key     *Key           // as known to Receive; nil if the bytes came first
	up      *domain.Upload // the upload, when known to Receive
	part    blob.Part
	stored  bool           // part holds the bytes
	lease   *domain.Append // held while an appended part is unrecorded
	hash    []byte         // the stream's SHA-256 state after an appended part
}

// Size is the chunk's size in bytes, once stored.
func (p *Pending) Size() int64 { return p.part.Size }

// Receive stores the bytes of one chunk of share shareID's upload from r.
// With k (the form fields that name the chunk came before its bytes) the
// chunk is appended to the upload's in-order stream when it is the one
// the stream expects next and no other request is appending; otherwise,
// and when k is nil, it is stored on its own. The bytes are durable when
// Receive returns. size is the chunk's length if the form fields said it
// (-1 if not): the store may then stream the chunk without buffering it,
// and r must give exactly that many bytes (blob.Store.Put). On error the
// returned Pending, if not nil, must still be given to Discard.
func (m *Manager) Receive(ctx context.Context, shareID string, k *Key, r io.Reader, size int64) (*Pending, error) {
	p := &Pending{shareID: shareID}
	if k == nil {
		part, err := m.blobs.Put(ctx, "", -1, r, size, m.limits.MaxChunkSize)
		if err != nil {
			return nil, err
		}
		p.part, p.stored = part, true
		return p, nil
	}
	kc := *k
	p.key = &kc
	up, err := m.open(ctx, shareID, kc)
	if err != nil {
		return nil, err
	}
	p.up = up
	if up.Handle == "" {
		// Completed or deleted meanwhile (see open): Commit answers that.
		part, err := m.blobs.Put(ctx, "", -1, r, size, m.limits.MaxChunkSize)
		if err != nil {
			return nil, err
		}
		part.Index = kc.Index
		p.part, p.stored = part, true
		return p, nil
	}
	lease, ok, err := m.rows.TakeAppendLease(ctx, up.ID, kc.Index, up.Handle)
	if err != nil && !domain.IsKind(err, domain.NotFound) {
		return nil, err
	}
	// NotFound: completed (or deleted) meanwhile; the chunk goes the
	// common way, where Commit answers that.
	if ok {
		p.lease = lease
		part, st, err := m.blobs.Append(ctx, up.Handle, kc.Index, blob.Stream{Len: lease.Offset, Hash: lease.HashState},
			r, size, m.limits.MaxChunkSize, m.limits.MaxFileSize)
		if err != nil {
			return p, err
		}
		p.part, p.hash, p.stored = part, st, true
		return p, nil
	}
	part, err := m.blobs.Put(ctx, up.Handle, kc.Index, r, size, m.limits.MaxChunkSize)
	if err != nil {
		return nil, err
	}
	p.part, p.stored = part, true
	return p, nil
}

// open returns the upload k names, with a blob-store handle: the first
// request to need one begins it, and a request that loses that race
// removes its own. An upload gone before its handle was recorded (another
// request completed it) comes back without one: recording the chunk will
// find it gone, which is an answer.
func (m *Manager) open(ctx context.Context, shareID string, k Key) (*domain.Upload, error) {
	up, err := m.rows.GetOrCreateUpload(ctx, shareID, k.DZUUID, k.Total)
	if err != nil || up.Handle != "" {
		return up, err
	}
	h, err := m.blobs.Begin(ctx)
	if err != nil {
		return nil, err
	}
	got, err := m.rows.SetUploadHandle(ctx, up.ID, h)
	if err != nil || got != h {
		m.remove(ctx, h)
	}
	if domain.IsKind(err, domain.NotFound) {
		return up, nil
	}
	if err != nil {
		return nil, err
	}
	up.Handle = got
	return up, nil
}

// Discard undoes what Receive stored for a chunk that is refused.
func (m *Manager) Discard(ctx context.Context, p *Pending) {
	if p == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if l := p.lease; l != nil {
		// Cut before the lease goes: afterwards another request may be
		// appending.
		part := p.part
		if !p.stored {
			part = blob.Part{Index: l.Index, Appended: true, Offset: l.Offset}
		}
		if err := m.blobs.Unappend(ctx, l.AssemblyID, part); err != nil {
			m.log.WarnContext(ctx, "cutting an unrecorded append", "upload", l.UploadID, "err", err)
		}
		if err := m.rows.ReleaseAppend(ctx, l); err != nil {
			m.log.WarnContext(ctx, "releasing append lease", "upload", l.UploadID, "err", err)
		}
		p.lease = nil
	} else if p.stored {
		m.remove(ctx, p.part.ID)
	}
	p.stored = false
}

// Commit records the chunk Receive stored as chunk k.Index of upload k,
// and, when it was the last one missing, completes the upload: its parts
// become the share's new content. It reports whether it did. A chunk
// racing the upload's completion by another request is accepted and
// dropped (every index is in already).
//
// fileSHA256, if not "", is the SHA-256 (lowercase hex) the client says
// the whole file has. It is recorded with the upload before the chunk is,
// so the completion, whichever request runs it, checks the joined content
// against it (see complete): sent with the chunk of the last index, it is
// always checked. A different one recorded earlier is Invalid.
func (m *Manager) Commit(ctx context.Context, p *Pending, k Key, fileSHA256 string) (completed bool, err error) {
	if p.key != nil && *p.key != k {
		m.Discard(ctx, p)
		return false, domain.Errorf(domain.Invalid, "form fields dzuuid, dzchunkindex and dztotalchunks must not change after the file part")
	}
	up := p.up
	if up == nil {
		if up, err = m.open(ctx, p.shareID, k); err != nil {
			m.Discard(ctx, p)
			return false, err
		}
	}
	if fileSHA256 != "" {
		// NotFound: the upload completed meanwhile, every index in
		// already; recording the chunk finds that out and answers it.
		if err := m.rows.SetUploadChecksum(ctx, up.ID, fileSHA256); err != nil && !domain.IsKind(err, domain.NotFound) {
			m.Discard(ctx, p)
			return false, err
		}
	}
	var old string
	if p.lease != nil {
		// Recorded even if the client has gone: the bytes are durable.
		old, err = m.rows.CommitAppendPart(context.WithoutCancel(ctx), p.lease, p.part.ID, p.part.Size, p.hash)
		if domain.IsKind(err, domain.NotFound) {
			// The upload went (its share deleted, or completed): nothing
			// names its stream any more.
			m.remove(ctx, p.lease.AssemblyID, p.part.ID)
		}
		p.lease = nil // committed or not, the lease has ended
	} else {
		old, err = m.rows.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: k.Index, FileID: p.part.ID, Size: p.part.Size})
		if err != nil {
			m.remove(ctx, p.part.ID)
		}
	}
	p.stored = false
	if domain.IsKind(err, domain.Conflict) || domain.IsKind(err, domain.NotFound) {
		// A re-sent chunk racing the upload's completion (being joined, or
		// just joined and gone): every index is already in, so this copy
		// is not needed.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if old != "" {
		m.remove(ctx, old)
	}
	c, claimed, err := m.rows.ClaimUpload(ctx, up.ID)
	if domain.IsKind(err, domain.NotFound) {
		return false, nil // another request completed the upload, with this chunk in it
	}
	if err != nil || !claimed {
		return false, err
	}
	return true, m.complete(ctx, p.shareID, up.ID, c)
}

// The errors of completion that clients see. Their text is the one the
// content handlers use for the same conditions.
var (
	ErrShareGone = domain.Errorf(domain.NotFound, "No such share.")
	ErrLocked    = domain.Errorf(domain.Locked, "The share is locked.")
	errConsumed  = domain.Errorf(domain.Conflict, "The upload's chunks are gone (an earlier completion used them): upload the file again.")
)

// complete joins the claimed upload's parts and publishes the result.
func (m *Manager) complete(ctx context.Context, shareID string, uploadID int64, c *domain.Completion) error {
	parts := make([]blob.Part, len(c.Chunks))
	var ids []string // to remove once the blob is recorded
	for i, ch := range c.Chunks {
		p := blob.Part{Index: ch.Index, Size: ch.Size, ID: ch.FileID, Appended: ch.InAssembly, Offset: ch.Offset}
		if ch.InAssembly && ch.FileID == c.AssemblyID {
			p.ID = "" // inside the stream: goes with the handle
		}
		parts[i] = p
		if p.ID != "" {
			ids = append(ids, p.ID)
		}
	}
	if c.AssemblyID != "" {
		ids = append(ids, c.AssemblyID)
	}
	// Finish even if the client goes away now: the work is nearly done.
	ctx = context.WithoutCancel(ctx)
	b, err := m.blobs.Complete(ctx, c.AssemblyID, parts, blob.Stream{Len: c.AssembledLen, Hash: c.HashState}, m.limits.MaxFileSize)
	if err != nil {
		switch {
		case domain.IsKind(err, domain.TooLarge):
			// The upload can never succeed: drop it.
			m.drop(ctx, uploadID)
		case domain.IsKind(err, domain.NotFound):
			// Consumed by an earlier completion whose blob was not
			// recorded: nothing can complete it now.
			m.drop(ctx, uploadID)
			err = errConsumed
		default:
			if rerr := m.rows.ReleaseCompletion(ctx, uploadID); rerr != nil {
				m.log.WarnContext(ctx, "releasing upload", "upload", uploadID, "err", rerr)
			}
		}
		return err
	}
	if c.FileSHA256 != "" && b.SHA256 != c.FileSHA256 {
		// The joined bytes are not the file the client meant. Which chunk
		// is wrong is unknown, and S3 has consumed the parts: the upload
		// is dropped with the blob, and the share keeps its content.
		m.remove(ctx, b.ID)
		m.drop(ctx, uploadID)
		return domain.Errorf(domain.Invalid, "SHA-256 mismatch: the uploaded file's is %s, dzfilesha256 says %s; the upload is discarded and the share's content unchanged: upload the file again", b.SHA256, c.FileSHA256)
	}
	old, err := m.rows.FinishUpload(ctx, uploadID, shareID, b, m.now().UTC())
	if err != nil {
		// The blob may share the assembly file's inode: only its name goes.
		m.remove(ctx, b.ID)
		if domain.IsKind(err, domain.Locked) || domain.IsKind(err, domain.NotFound) {
			m.drop(ctx, uploadID)
			if domain.IsKind(err, domain.NotFound) {
				return ErrShareGone
			}
			return ErrLocked
		}
		if rerr := m.rows.ReleaseCompletion(ctx, uploadID); rerr != nil {
			m.log.WarnContext(ctx, "releasing upload", "upload", uploadID, "err", rerr)
		}
		return err
	}
	if old != "" {
		ids = append(ids, old)
	}
	m.remove(ctx, ids...)
	return nil
}

// drop deletes the upload and its parts.
func (m *Manager) drop(ctx context.Context, uploadID int64) {
	files, err := m.rows.DeleteUpload(ctx, uploadID)
	if err != nil {
		m.log.WarnContext(ctx, "dropping upload", "upload", uploadID, "err", err)
		return
	}
	m.remove(ctx, files...)
}

// remove deletes ids now; a failure leaves an orphan for Cleanup's sweep.
func (m *Manager) remove(ctx context.Context, ids ...string) {
	keep := ids[:0:0]
	for _, id := range ids {
		if id != "" {
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return
	}
	if err := m.blobs.Remove(context.WithoutCancel(ctx), keep...); err != nil {
		m.log.WarnContext(ctx, "removing stored content", "err", err)
	}
}

// Cleanup deletes uploads (and uninitialized shares) idle since before
// staleBefore, with what they stored, and then sweeps the blob store of
// orphans older than orphansBefore: what no row names, left by a crash
// between a commit and a removal. Anything still being written is
// touched more often than orphansBefore allows. It returns how many ids
// it removed for stale rows, and how many orphans.
func (m *Manager) Cleanup(ctx context.Context, staleBefore, orphansBefore time.Time) (stale, orphans int, err error) {
	files, err := m.rows.DeleteStale(ctx, staleBefore)
	// What was deleted before an error goes too.
	if rerr := m.blobs.Remove(ctx, files...); err == nil {
		err = rerr
	}
	if err != nil {
		return len(files), 0, err
	}
	orphans, err = m.blobs.Sweep(ctx, orphansBefore, m.rows.FileReferenced)
	return len(files), orphans, err
}
