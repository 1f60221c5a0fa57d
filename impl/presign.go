package impl

import (
	"context"
	"net/http"
	"time"

	"github.com/sachet-server/sachet/gen"
)

// presigner hands out short-lived URLs of blobs that the blob store
// itself serves (s3store), for SACHET_S3_PRESIGNED_REDIRECT.
type presigner interface {
	PresignGet(ctx context.Context, id string, ttl time.Duration, contentType, disposition string) (string, error)
}

// presignTTL is how long a redirect's URL works: enough to follow it,
// not enough to make it a lasting link past a permission change.
const presignTTL = 5 * time.Minute

// WithPresignedRedirect makes plain content GETs answer 302 to a URL of
// p, so that the bytes go from the store to the client without passing
// through this process. Off unless called.
func (h *Content) WithPresignedRedirect(p presigner) *Content {
	h.presign = p
	return h
}

// redirectable reports whether a GET may be redirected: the store serves
// bytes and Range, but not Sachet's ETag, Last-Modified or JSON errors,
// so a conditional request, and a Range Sachet would refuse (416 with the
// JSON envelope), are answered here.
func redirectable(r *http.Request, size int64) bool {
	for _, k := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if r.Header.Get(k) != "" {
			return false
		}
	}
	if r.Header.Get("Range") == "" {
		return true
	}
	h := r.Header.Clone() // checkRange rewrites what it vets
	return checkRange(h, size)
}

// presignedRedirect answers a content GET with 302 to a presigned URL of
// the share's blob, or returns nil when the request is served here.
func (h *Content) presignedRedirect(ctx context.Context, id string) (gen.GetShareContentResponseObject, error) {
	if h.presign == nil {
		return nil, nil
	}
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	if r == nil {
		return nil, nil
	}
	sh, err := loadShare(ctx, h.store, id)
	if err != nil {
		return nil, err
	}
	if !sh.Initialized || sh.BlobID == nil {
		return nil, nil // served here: a cached row is looked up again there
	}
	size := int64(0)
	if sh.Size != nil {
		size = *sh.Size
	}
	if !redirectable(r, size) {
		return nil, nil
	}
	u, err := h.presign.PresignGet(ctx, *sh.BlobID, presignTTL, contentType(sh.FileName), contentDisposition(sh.FileName))
	if err != nil {
		return nil, err
	}
	noStore := "no-store"
	return gen.GetShareContent302Response{Headers: gen.GetShareContent302ResponseHeaders{Location: u, CacheControl: &noStore}}, nil
}
