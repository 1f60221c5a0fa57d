package s3store

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config says which bucket and how to reach it.
type Config struct {
	Bucket string
	// Prefix is prepended to every key; empty or ending in "/".
	Prefix string
	// Endpoint is host[:port] or a URL (http:// means no TLS); empty means
	// AWS S3 in Region.
	Endpoint string
	Region   string
	// PathStyle addresses the bucket in the path (most self-hosted S3
	// servers) instead of the host name.
	PathStyle bool
	// SpoolDir holds the unlinked temporary files chunks are spooled to;
	// empty means os.TempDir().
	SpoolDir string
	// MaxRetries bounds how often one request is tried (0: 3).
	MaxRetries int
	// Creds, when set, replaces the standard credential chain (tests).
	Creds *credentials.Credentials
	// NoSplice turns splicing downloads off (tests of the copy path).
	NoSplice bool
}

// ParseURL splits "s3://bucket/prefix" into bucket and prefix (which gets
// a trailing "/" when not empty).
func ParseURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("must be s3://bucket or s3://bucket/prefix")
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}
