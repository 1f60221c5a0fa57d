package importer

import (
	"context"
	"io"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/storage"
)

// Blobs is the one thing the importer needs from a content store: write
// a stream as a new blob. It is declared here, small, so any store (the
// local filesystem today, S3 with issue 8) can be adapted to it.
type Blobs interface {
	// PutBlob streams r into a new blob and returns its id, size and
	// SHA-256. The blob is durable when PutBlob returns; on error nothing
	// is left that a later cleanup would not remove.
	PutBlob(ctx context.Context, r io.Reader) (domain.Blob, error)
	// RemoveBlob deletes a blob PutBlob wrote that ended up unused.
	RemoveBlob(ctx context.Context, id string) error
}

// FSBlobs adapts the filesystem store: the stream is written as a chunk
// (fsynced), then joined into a blob, which for one chunk is a hard link
// and no second copy, and the chunk's name is dropped.
type FSBlobs struct{ FS *storage.FS }

// PutBlob implements Blobs.
func (b FSBlobs) PutBlob(ctx context.Context, r io.Reader) (domain.Blob, error) {
	chunk, _, err := b.FS.WriteChunk(ctx, r, 0)
	if err != nil {
		return domain.Blob{}, err
	}
	blob, err := b.FS.Join(ctx, []string{chunk}, 0)
	// The chunk is not referenced by any row: if this removal fails, the
	// store's sweep takes it later.
	_ = b.FS.Remove(chunk)
	return blob, err
}

// RemoveBlob implements Blobs.
func (b FSBlobs) RemoveBlob(_ context.Context, id string) error { return b.FS.Remove(id) }
