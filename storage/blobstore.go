package storage

import (
	"context"
	"io"
	"time"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// Blobs is the filesystem as a blob.Store. An upload's handle is the id of
// its assembly file, which the first Append creates (Begin writes
// nothing); parts stored by Put are chunk files, and appended parts have
// no name of their own (they live in the assembly file, which goes with
// the handle).
type Blobs struct{ fs *FS }

var (
	_ blob.Store        = (*Blobs)(nil)
	_ blob.SharedOpener = (*Blobs)(nil)
)

// Store returns f as a blob.Store.
func (f *FS) Store() *Blobs { return &Blobs{fs: f} }

// FS returns the filesystem under b, for tests and benchmarks that look
// at files.
func (b *Blobs) FS() *FS { return b.fs }

// Begin makes up the name of the upload's assembly file; nothing is
// created until the first Append.
func (b *Blobs) Begin(context.Context) (string, error) { return newID(), nil }

// Put writes the chunk to a chunk file of its own.
func (b *Blobs) Put(ctx context.Context, _ string, index int, r io.Reader, size, max int64) (blob.Part, error) {
	if size >= 0 {
		r = blob.Exact(r, size)
	}
	id, n, err := b.fs.WriteChunk(ctx, r, max)
	if err != nil {
		return blob.Part{}, err
	}
	return blob.Part{Index: index, Size: n, ID: id}, nil
}

// Append appends the chunk to the assembly file at s.Len, fsynced, hashing
// it back from the page cache while the disk syncs.
func (b *Blobs) Append(ctx context.Context, handle string, index int, s blob.Stream, r io.Reader, size, max, maxTotal int64) (blob.Part, []byte, error) {
	if size >= 0 {
		r = blob.Exact(r, size)
	}
	n, st, err := b.fs.AppendAssembly(ctx, handle, s.Len, r, max, maxTotal, s.Hash)
	if err != nil {
		return blob.Part{}, nil, err
	}
	return blob.Part{Index: index, Size: n, Appended: true, Offset: s.Len}, st, nil
}

// Unappend cuts the assembly file back to where the part began.
func (b *Blobs) Unappend(_ context.Context, handle string, p blob.Part) error {
	if !p.Appended {
		return b.fs.Remove(p.ID)
	}
	return b.fs.CutAssembly(handle, p.Offset)
}

// Complete picks the cheapest join the parts allow:
//   - no appended part: Join the chunk files (one chunk is hard-linked);
//   - appended parts leading the upload and making up all of the assembly
//     file's recorded bytes: the other chunks are appended to the file,
//     which is linked as the blob (the prefix is never copied, and its
//     hash is resumed);
//   - anything else (a chunk re-sent on its own after it was appended):
//     every range is copied into a new blob (copy_file_range).
func (b *Blobs) Complete(ctx context.Context, handle string, parts []blob.Part, s blob.Stream, maxTotal int64) (domain.Blob, error) {
	appended := false
	for _, p := range parts {
		if p.Appended {
			appended = true
			break
		}
	}
	if !appended {
		ids := make([]string, len(parts))
		for i, p := range parts {
			ids[i] = p.ID
		}
		return b.fs.Join(ctx, ids, maxTotal)
	}
	if prefix, k := assembledPrefix(parts, s.Len); k > 0 {
		rest := make([]string, 0, len(parts)-k)
		for _, p := range parts[k:] {
			rest = append(rest, p.ID)
		}
		return b.fs.FinishAssembly(ctx, handle, prefix, rest, maxTotal, s.Hash)
	}
	segs := make([]Segment, len(parts))
	for i, p := range parts {
		if p.Appended {
			segs[i] = Segment{ID: handle, Assembly: true, Off: p.Offset, Size: p.Size}
		} else {
			segs[i] = Segment{ID: p.ID, Size: p.Size}
		}
	}
	return b.fs.JoinSegments(ctx, segs, maxTotal)
}

// assembledPrefix returns how many parts, k, lead the upload as appended
// to its assembly file, and their bytes, when those are exactly the file's
// recorded bytes (recorded): parts 0..k-1 appended back to back from
// offset 0, no other part appended, and nothing recorded past them (a
// chunk replaced since it was appended leaves dead bytes). Otherwise k is
// 0.
func assembledPrefix(parts []blob.Part, recorded int64) (prefix int64, k int) {
	for k < len(parts) {
		p := parts[k]
		if !p.Appended || p.Offset != prefix {
			break
		}
		prefix += p.Size
		k++
	}
	for _, p := range parts[k:] {
		if p.Appended {
			return 0, 0
		}
	}
	if k == 0 || prefix != recorded {
		return 0, 0
	}
	return prefix, k
}

// Open returns the blob's *os.File, so that http.ServeContent sends it
// with sendfile.
func (b *Blobs) Open(_ context.Context, id string) (io.ReadSeekCloser, int64, error) {
	f, err := b.fs.OpenBlob(id)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// OpenShared opens a blob for small range reads (blob.SharedOpener): a
// pread on a file that may stay open for the next request (openCache).
func (b *Blobs) OpenShared(_ context.Context, id string) (blob.ReadAtCloser, int64, error) {
	f, err := b.fs.OpenShared(id)
	if err != nil {
		return nil, 0, err
	}
	return f, f.Size(), nil
}

// Remove deletes chunk, blob and assembly files by id; "" (an appended
// part's ID) names nothing.
func (b *Blobs) Remove(_ context.Context, ids ...string) error {
	keep := ids[:0:0]
	for _, id := range ids {
		if id != "" {
			keep = append(keep, id)
		}
	}
	return b.fs.Remove(keep...)
}

// Sweep removes files no row names, older than olderThan.
func (b *Blobs) Sweep(ctx context.Context, olderThan time.Time, referenced func(ctx context.Context, id string) (bool, error)) (int, error) {
	return b.fs.Sweep(ctx, olderThan, referenced)
}

// Writable creates and removes a one-byte file.
func (b *Blobs) Writable(context.Context) error { return b.fs.Writable() }
