package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/internal/s3test"
)

// What a server's S3 prefix holds, seen through S3 alone (the listing and
// the multipart uploads in flight), named as the database rows name them,
// so the store-neutral checks (obFiles, checkLeftovers) read it as they
// read the filesystem store's directories:
//
//	blobs    blobs/<id>                      → "<id>"       (blobs/blobs)
//	chunks   chunks/<id>, a staged chunk     → "c/<id>"     (blobs/chunks)
//	assembly a multipart upload in flight    → "u/<id>/<up>" (blobs/assembly:
//	         the chunks sent in order, as parts, like the assembly file)
//	tmp      nothing: a chunk on its way is in S3's request or an
//	         unlinked spool file, never an object until it is whole
//
// partBytes is the size of the parts listed in each upload.

// s3Where returns the bucket, prefix and endpoint of a SACHET_STORAGE
// value on S3; ok is false for any other store.
func s3Where(storage, endpoint string) (bucket, prefix, host string, ok bool) {
	rest, isS3 := strings.CutPrefix(storage, "s3://")
	if !isS3 {
		return "", "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, prefix, strings.TrimPrefix(endpoint, "http://"), true
}

// s3Listing lists sub ("tmp", "chunks", "assembly", "blobs") of a store on
// S3; partBytes is the total size of the listed uploads' parts.
func s3Listing(t testing.TB, storage, endpoint, sub string) (names []string, partBytes int64) {
	t.Helper()
	bucket, prefix, host, ok := s3Where(storage, endpoint)
	if !ok {
		t.Fatalf("s3Listing: %q is not on S3", storage)
	}
	mc, err := minio.NewCore(host, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	switch sub {
	case "tmp":
		return nil, 0
	case "blobs", "chunks":
		for o := range mc.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + sub + "/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			id := strings.TrimPrefix(o.Key, prefix+sub+"/")
			if sub == "chunks" {
				id = "c/" + id
			}
			names = append(names, id)
		}
	case "assembly":
		for u := range mc.Client.ListIncompleteUploads(ctx, bucket, prefix+"blobs/", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			names = append(names, "u/"+strings.TrimPrefix(u.Key, prefix+"blobs/")+"/"+u.UploadID)
			res, err := mc.ListObjectParts(ctx, bucket, u.Key, u.UploadID, 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.ObjectParts {
				partBytes += p.Size
			}
		}
	default:
		t.Fatalf("s3Listing: no %q", sub)
	}
	return names, partBytes
}

// s3Env is where p's content is: its SACHET_STORAGE and endpoint.
func (p *sachetProc) s3Env() (storage, endpoint string) {
	for _, kv := range p.extraEnv {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "SACHET_STORAGE":
			storage = v
		case "SACHET_S3_ENDPOINT":
			endpoint = v
		}
	}
	return storage, endpoint
}

// s3Count counts the objects under sub ("blobs/", "chunks/") of p's
// prefix, and the multipart uploads there.
func (p *sachetProc) s3Count(sub string) (objects, uploads int) {
	p.t.Helper()
	storage, endpoint := p.s3Env()
	objs, _ := s3Listing(p.t, storage, endpoint, strings.TrimSuffix(sub, "/"))
	if sub == "blobs/" {
		ups, _ := s3Listing(p.t, storage, endpoint, "assembly")
		uploads = len(ups)
	}
	return len(objs), uploads
}
