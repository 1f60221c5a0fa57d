package s3store

import (
	"context"
	"net/url"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// PresignGet returns a URL of blob id that anyone holding it may GET
// (with Range) until ttl has passed, without credentials: S3 then serves
// the bytes, with contentType and disposition as its Content-Type and
// Content-Disposition (S3's response-content-* overrides). It is signed
// locally: no request is sent, so an unknown id is not noticed here (the
// caller knows the blob from its database row).
func (s *Store) PresignGet(ctx context.Context, id string, ttl time.Duration, contentType, disposition string) (string, error) {
	if !validID(id) {
		return "", domain.Errorf(domain.NotFound, "content not found")
	}
	q := url.Values{}
	if contentType != "" {
		q.Set("response-content-type", contentType)
	}
	if disposition != "" {
		q.Set("response-content-disposition", disposition)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.blobKey(id), ttl, q)
	if err != nil {
		return "", s.fail(err, "presigning a download")
	}
	return u.String(), nil
}
