package tests

import (
	"context"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/internal/s3test"
)

// The crash suite on S3 (SACHET_TEST_STORAGE=s3): the checks that look at
// what the store holds count objects and multipart uploads under the
// server's prefix instead of files in its data dir.

// s3Where returns the bucket, prefix and endpoint p's content is under,
// from its environment; ok is false when it is not on S3.
func (p *sachetProc) s3Where() (bucket, prefix, endpoint string, ok bool) {
	for _, kv := range p.extraEnv {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "SACHET_STORAGE":
			rest, isS3 := strings.CutPrefix(v, "s3://")
			if !isS3 {
				return "", "", "", false
			}
			bucket, prefix, _ = strings.Cut(rest, "/")
			ok = true
		case "SACHET_S3_ENDPOINT":
			endpoint = strings.TrimPrefix(v, "http://")
		}
	}
	return bucket, prefix, endpoint, ok
}

// s3Count counts the objects under sub ("blobs/", "chunks/") of p's
// prefix, and the multipart uploads there.
func (p *sachetProc) s3Count(sub string) (objects, uploads int) {
	t := p.t
	t.Helper()
	bucket, prefix, endpoint, ok := p.s3Where()
	if !ok {
		t.Fatal("s3Count: the server's content is not on S3")
	}
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + sub, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		objects++
	}
	for u := range mc.ListIncompleteUploads(ctx, bucket, prefix+sub, true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		uploads++
	}
	return objects, uploads
}

// crashS3Skip is why the crash checks that watch the filesystem store's
// files (a chunk streaming into blobs/tmp, the assembly file's inode
// across kills) are not run on S3, and where S3 gets the same guarantee.
const crashS3Skip = "it watches the filesystem store's own files (blobs/tmp, the assembly file and its inode) as chunks stream in; " +
	"on S3, kill -9 mid-upload with the upload completed by re-sending is TestS3KillOneProcess, and orphan removal TestS3LeavesNoObjects"
