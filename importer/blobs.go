package importer

import (
	"context"
	"crypto/sha256"
	"encoding"
	"io"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
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

// StoreBlobs adapts any blob.Store (the filesystem, S3): the stream is
// one upload of one chunk, appended so that its SHA-256 is computed as it
// is written, then completed. On the filesystem that is one write and a
// link, no second copy.
type StoreBlobs struct{ Store blob.Store }

// PutBlob implements Blobs.
func (b StoreBlobs) PutBlob(ctx context.Context, r io.Reader) (domain.Blob, error) {
	h, err := b.Store.Begin(ctx)
	if err != nil {
		return domain.Blob{}, err
	}
	// The handle and part are referenced by no row: if this removal
	// fails, the store's sweep takes them later.
	defer func() { _ = b.Store.Remove(context.WithoutCancel(ctx), h) }()
	p, hash, err := b.Store.Append(ctx, h, 0, blob.Stream{Hash: emptyHashState()}, r, -1, 0, 0)
	if err != nil {
		return domain.Blob{}, err
	}
	return b.Store.Complete(ctx, h, []blob.Part{p}, blob.Stream{Len: p.Size, Hash: hash}, 0)
}

// RemoveBlob implements Blobs.
func (b StoreBlobs) RemoveBlob(ctx context.Context, id string) error { return b.Store.Remove(ctx, id) }

// emptyHashState is the SHA-256 state before any byte, so that Append
// hashes from the first one.
func emptyHashState() []byte {
	st, _ := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	return st
}
