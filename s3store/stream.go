package s3store

import (
	"context"
	"errors"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// errUploadGone answers a chunk streamed to a multipart upload that is no
// longer there (completed by a completion whose blob was never recorded,
// or swept). A spooled chunk is staged instead and the completion says
// the same; a streamed one cannot be read again, so it is said now.
var errUploadGone = domain.Errorf(domain.Conflict, "The upload's chunks are gone (an earlier completion used them): upload the file again.")

// stream stores a chunk of known size straight from r, with no spool: as
// part index+1 of the upload's multipart upload when it is large enough,
// staged otherwise. r is read through blob.Exact, so a chunk that is
// short or long (or fails the caller's checks at its end) never reaches
// S3 whole, and nothing is stored. sh, if set, gets the chunk's bytes.
// Without a spool a failed request cannot be retried from here: the
// client re-sends the chunk.
func (s *Store) stream(ctx context.Context, h string, index int, r io.Reader, size, max int64, sh hash.Hash) (blob.Part, error) {
	if max > 0 && size > max {
		return blob.Part{}, domain.Errorf(domain.TooLarge, "chunk exceeds the %d-byte chunk size limit", max)
	}
	body := &streamBody{r: blob.Exact(r, size), h: sh}
	if hd, ok := parseHandle(h); ok && index >= 0 && index < maxParts && size >= minPart {
		n := index + 1
		part, err := s.core.PutObjectPart(ctx, s.bucket, s.blobKey(hd.id), hd.uploadID, n, body, size, minio.PutObjectPartOptions{})
		rerr := body.close()
		switch {
		case rerr != nil:
			return blob.Part{}, rerr
		case err == nil:
			return blob.Part{Index: index, Size: size, ID: "p/" + strconv.Itoa(n) + "/" + strings.Trim(part.ETag, `"`)}, nil
		case minio.ToErrorResponse(err).Code == "NoSuchUpload" || s.uploadGone(ctx, s.blobKey(hd.id), hd.uploadID):
			return blob.Part{}, errUploadGone
		}
		return blob.Part{}, s.fail(err, "storing a chunk")
	}
	id := newID()
	_, err := s.core.PutObject(ctx, s.bucket, s.chunkKey(id), body, size, "", "", minio.PutObjectOptions{})
	if rerr := body.close(); rerr != nil {
		return blob.Part{}, rerr
	}
	if err != nil {
		return blob.Part{}, s.fail(err, "storing a chunk")
	}
	return blob.Part{Index: index, Size: size, ID: "c/" + id}, nil
}

// streamBody is a chunk on its way to S3 as a request body. net/http may
// still be reading a request body after the request returned (the server
// answered early), while the caller goes on to read what follows the
// chunk from the same client request: so Read and close are serialised,
// and a closed body reads nothing more. It remembers the first error of
// its source, which is the answer when the request then fails.
type streamBody struct {
	mu     sync.Mutex
	r      io.Reader
	h      hash.Hash
	closed bool
	err    error
}

var errBodyClosed = errors.New("s3store: read after close")

func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	n, err := b.r.Read(p)
	if b.h != nil && n > 0 {
		b.h.Write(p[:n])
	}
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// close ends reading and returns the source's error, if it had one.
func (b *streamBody) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.err
}
