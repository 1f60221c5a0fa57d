// Package s3store keeps Sachet's content in an S3-compatible bucket: it is
// the S3 implementation of blob.Store, chosen with
// SACHET_STORAGE=s3://bucket/prefix.
//
// # Design notes
//
// SDK: github.com/minio/minio-go/v7. Both candidates are well kept; minio-go
// was chosen because
//   - it is one module built for S3-compatible servers (MinIO, versitygw,
//     Ceph, Garage...) as much as for AWS: path-style addressing and custom
//     endpoints are first-class, and its signing never needs to re-read a
//     body over plain HTTP. aws-sdk-go-v2 over http:// must hash a body
//     before sending it (an unseekable one is refused) and its default
//     request checksums have broken third-party servers more than once;
//   - minio.Core exposes the low-level multipart calls (UploadPart,
//     CompleteMultipartUpload, ListMultipartUploads) that the upload
//     protocol needs, without a transfer manager in the way;
//   - credentials come from its standard chain: AWS_ACCESS_KEY_ID /
//     AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), the shared credentials
//     file with AWS_PROFILE, then the instance/container role (IAM, IRSA).
//
// Layout under the prefix:
//
//	blobs/<id>     a finished blob (a share's content); id is 32 hex digits
//	chunks/<id>    a staged chunk (ID "c/<id>")
//
// An upload's handle ("u/<id>/<uploadId>") is a multipart upload whose
// key is blobs/<id>: completing it creates the blob in place, so nothing
// is renamed or copied, and no reader sees it until the database row
// names it (the share switches atomically).
//
// Chunks: a chunk whose size the caller knows (Put's and Append's size:
// the client's dzchunksize/dztotalfilesize fields) streams straight from
// the client's request into its S3 request (stream.go), signed chunk by
// chunk over http:// (minio-go's streaming signature) and through
// blob.Exact, which holds back its last bytes until the client's stream
// is known to end there: a short or long chunk, or one failing the
// caller's dzchunksha256 check, never reaches S3 whole, so S3 keeps
// nothing of it. No spool doubles the chunk's trip (bench/README.md, S3,
// gives the before and after); a failed request is not retried from
// here, the client re-sends. A chunk
// of unknown size is first spooled to an unlinked local temporary file
// while its SHA-256 is computed (memory stays flat whatever the chunk
// size, the size is known before the request to S3 starts, S3 verifies
// the payload hash, and a request that fails half way can be retried
// from the file).
// A chunk of at least 5 MiB becomes part index+1 of the upload's multipart
// upload (ID "p/<n>/<etag>": it has no key of its own and goes with the
// handle). A smaller chunk, a chunk whose index is past S3's 10 000 parts,
// and a chunk that arrived before the form fields naming its upload are
// staged as objects of their own.
//
// Completion, in index order:
//   - parts only, or parts followed by staged chunks: the staged runs are
//     streamed through the server (GetObject into UploadPart, sizes known,
//     memory flat) as parts numbered after their first chunk, each run
//     split into parts of about 64 MiB; the multipart upload is then
//     completed. Chunks of 5 MiB or more are never copied.
//   - staged chunks only (a Dropzone upload of 1–2 MB chunks): the same,
//     so the server joins them into 64 MiB parts.
//   - a staged run under 5 MiB between two parts (a client that changed
//     its chunk size), or part numbers past 10 000: the parts are completed
//     into an intermediate object first, then everything is streamed in
//     order into a new multipart upload, and the intermediate deleted.
//     Correct, and as slow as copying the file once.
//
// A completion that S3 finished but whose process died before the
// database recorded it is taken over when the client re-sends the final
// chunk (adopt, complete.go): the object at the upload's key is used once
// it is shown to be the parts recorded now (the multipart ETag computed
// from them, or the in-order stream's SHA-256).
//
// sha256: chunks appended in order (Append) are hashed on the way in, and
// the hash state is kept in the database between chunks (blob.Stream), as
// for the filesystem. When every part was appended in order, completion
// hashes nothing. A streamed completion hashes what it streams when that
// is every byte; otherwise the finished object is read back once.
//
// Downloads: Open returns a lazily ranged reader. Seek only records the
// offset; the first Read after it sends one ranged GetObject and streams
// the body, so http.ServeContent's Range, multipart ranges, conditional
// requests and HEAD work unchanged and memory does not grow with the
// file (a HEAD reads nothing). A download of 1 MiB or more over plain
// http:// is spliced from the S3 connection to the client's
// (WriteNTo, splice.go: the bytes never enter user space); anything else
// is copied through a pooled 1 MiB buffer. PresignGet gives the URL of
// SACHET_S3_PRESIGNED_REDIRECT, signed locally (no request).
//
// Failures: a request that cannot reach S3 (refused, reset, timed out,
// 5xx) is domain.Unavailable, which clients see as 503. Requests are
// retried a few times (MaxRetries) with minio-go's backoff, so an outage
// answers 503 within seconds, not minutes.
package s3store
