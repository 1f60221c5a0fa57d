package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

const (
	// minPart is S3's smallest part but the last: chunks this large go
	// straight into the upload's multipart upload.
	minPart = 5 << 20
	// maxParts is S3's highest part number.
	maxParts = 10000
	// joinPart is the size of the parts that staged chunks are joined
	// into at completion: large enough that a 100 000-chunk upload fits in
	// S3's parts, small enough that a failed part costs little.
	joinPart = 64 << 20
	// bufSize is the copy buffer of spooling and hashing.
	bufSize = 1 << 20
	idLen   = 32
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Store is a bucket as a blob.Store. It is safe for concurrent use.
type Store struct {
	client *minio.Client
	core   minio.Core
	bucket string
	prefix string
	spool  string
	// splice: downloads may be spliced from S3's connections (plain
	// http://; see splice.go).
	splice bool
}

var _ blob.Store = (*Store)(nil)

// Open connects to the bucket cfg names and checks that it exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	endpoint, secure := cfg.Endpoint, true
	switch {
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "http://"), false
	case strings.HasPrefix(endpoint, "https://"):
		endpoint = strings.TrimPrefix(endpoint, "https://")
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	retries := cfg.MaxRetries
	if retries <= 0 {
		retries = 3
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	// Fail fast when S3 is gone, so that clients get 503 in seconds; but
	// give a CompleteMultipartUpload of a large object time to answer.
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.MaxIdleConnsPerHost = 256
	// Explicit, because splicing a download needs the draining read to
	// be at least this large (splice.go).
	tr.ReadBufferSize = drainMin / 2
	// The standard chain: environment, shared credentials file (profiles),
	// then the instance or container role.
	creds := cfg.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{Client: &http.Client{Transport: tr}},
		})
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds: creds, Secure: secure, Region: region, BucketLookup: lookup,
		Transport: tr, MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, prefix: cfg.Prefix, spool: cfg.SpoolDir,
		splice: !secure && !cfg.NoSplice}
	if s.spool == "" {
		s.spool = os.TempDir()
	}
	if err := os.MkdirAll(s.spool, 0o700); err != nil {
		return nil, err
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, s.fail(err, "checking the bucket")
	}
	if !ok {
		return nil, domain.Errorf(domain.Unavailable, "s3: bucket %q does not exist at %s", cfg.Bucket, endpoint)
	}
	return s, nil
}

func (s *Store) blobKey(id string) string  { return s.prefix + "blobs/" + id }
func (s *Store) chunkKey(id string) string { return s.prefix + "chunks/" + id }

// ---- ids ----
//
//	<32 hex>               a blob, blobs/<id>
//	c/<32 hex>             a staged chunk, chunks/<id>
//	p/<number>/<etag>      a part of the upload's multipart upload
//	u/<32 hex>/<uploadId>  an upload: the multipart upload at blobs/<id>

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

type handle struct{ id, uploadID string }

func parseHandle(h string) (handle, bool) {
	rest, ok := strings.CutPrefix(h, "u/")
	if !ok {
		return handle{}, false
	}
	id, up, ok := strings.Cut(rest, "/")
	if !ok || !validID(id) || up == "" {
		return handle{}, false
	}
	return handle{id, up}, true
}

func (h handle) String() string { return "u/" + h.id + "/" + h.uploadID }

func parsePart(id string) (n int, etag string, ok bool) {
	rest, ok := strings.CutPrefix(id, "p/")
	if !ok {
		return 0, "", false
	}
	num, etag, ok := strings.Cut(rest, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || n > maxParts || etag == "" {
		return 0, "", false
	}
	return n, etag, true
}

func stagedID(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "c/")
	return rest, ok && validID(rest)
}

// ---- writing chunks ----

// Begin starts the upload's multipart upload, at the key its blob will
// have.
func (s *Store) Begin(ctx context.Context) (string, error) {
	id := newID()
	up, err := s.core.NewMultipartUpload(ctx, s.bucket, s.blobKey(id), minio.PutObjectOptions{})
	if err != nil {
		return "", s.fail(err, "starting an upload")
	}
	return handle{id, up}.String(), nil
}

// Put stores the chunk: as a part of the upload when it is large enough,
// staged otherwise. Of known size it streams (see stream); else it is
// spooled first, since S3 needs the length before the first byte.
func (s *Store) Put(ctx context.Context, h string, index int, r io.Reader, size, max int64) (blob.Part, error) {
	if size >= 0 {
		return s.stream(ctx, h, index, r, size, max, nil)
	}
	sp, err := s.spoolChunk(ctx, r, max, nil)
	if err != nil {
		return blob.Part{}, err
	}
	defer sp.close()
	return s.store(ctx, h, index, sp)
}

// Append is Put that also carries the SHA-256 of the upload's in-order
// stream over the chunk: S3 has no file to append to, but completion of
// an upload sent in order then hashes nothing.
func (s *Store) Append(ctx context.Context, h string, index int, st blob.Stream, r io.Reader, size, max, maxTotal int64) (blob.Part, []byte, error) {
	var sh hash.Hash
	switch {
	case st.Hash != nil:
		sh = sha256.New()
		if err := sh.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
			sh = nil // an unknown state: completion reads the blob back
		}
	case st.Len == 0:
		sh = sha256.New()
	}
	var p blob.Part
	if size >= 0 {
		if maxTotal > 0 && st.Len+size > maxTotal {
			return blob.Part{}, nil, tooLargeFile(maxTotal)
		}
		var err error
		if p, err = s.stream(ctx, h, index, r, size, max, sh); err != nil {
			return blob.Part{}, nil, err
		}
	} else {
		sp, err := s.spoolChunk(ctx, r, max, sh)
		if err != nil {
			return blob.Part{}, nil, err
		}
		defer sp.close()
		if maxTotal > 0 && st.Len+sp.size > maxTotal {
			return blob.Part{}, nil, tooLargeFile(maxTotal)
		}
		if p, err = s.store(ctx, h, index, sp); err != nil {
			return blob.Part{}, nil, err
		}
	}
	p.Appended, p.Offset = true, st.Len
	var state []byte
	if sh != nil {
		state, _ = sh.(encoding.BinaryMarshaler).MarshalBinary()
	}
	return p, state, nil
}

// Unappend removes a staged chunk; a part needs nothing: a re-sent chunk
// overwrites it, and completion names only the recorded parts.
func (s *Store) Unappend(ctx context.Context, _ string, p blob.Part) error {
	if p.ID == "" {
		return nil
	}
	return s.Remove(ctx, p.ID)
}

func (s *Store) store(ctx context.Context, h string, index int, sp *spooled) (blob.Part, error) {
	if hd, ok := parseHandle(h); ok && index >= 0 && index < maxParts && sp.size >= minPart {
		n := index + 1
		part, err := s.core.PutObjectPart(ctx, s.bucket, s.blobKey(hd.id), hd.uploadID, n, sp.reader(), sp.size,
			minio.PutObjectPartOptions{Sha256Hex: sp.sha})
		if err == nil {
			return blob.Part{Index: index, Size: sp.size, ID: "p/" + strconv.Itoa(n) + "/" + strings.Trim(part.ETag, `"`)}, nil
		}
		if minio.ToErrorResponse(err).Code != "NoSuchUpload" && !s.uploadGone(ctx, s.blobKey(hd.id), hd.uploadID) {
			return blob.Part{}, s.fail(err, "storing a chunk")
		}
		// The multipart upload was completed (by a completion whose
		// result was never recorded) or swept: staged, the chunk is
		// accepted, and completion reports the upload gone.
	}
	id := newID()
	if _, err := s.core.PutObject(ctx, s.bucket, s.chunkKey(id), sp.reader(), sp.size, "", sp.sha, minio.PutObjectOptions{}); err != nil {
		return blob.Part{}, s.fail(err, "storing a chunk")
	}
	return blob.Part{Index: index, Size: sp.size, ID: "c/" + id}, nil
}

// uploadGone reports whether S3 says the multipart upload does not exist.
// A server that refuses a part because its upload is gone may answer
// before it has read the body and close the connection, and the client
// then sees only a broken pipe: this asks.
func (s *Store) uploadGone(ctx context.Context, key, uploadID string) bool {
	_, err := s.core.ListObjectParts(ctx, s.bucket, key, uploadID, 0, 1)
	return minio.ToErrorResponse(err).Code == "NoSuchUpload"
}

// spooled is a chunk in an unlinked local file, with its size and SHA-256.
type spooled struct {
	f    *os.File
	size int64
	sha  string
}

func (sp *spooled) reader() io.Reader { return io.NewSectionReader(sp.f, 0, sp.size) }
func (sp *spooled) close()            { sp.f.Close() }

// spoolChunk copies r into a temporary file, unlinked at once so that
// nothing is left behind however the process ends, hashing it (and
// feeding stream, if not nil). More than max bytes is TooLarge, found
// after reading at most max+1.
func (s *Store) spoolChunk(ctx context.Context, r io.Reader, max int64, stream hash.Hash) (*spooled, error) {
	f, err := os.CreateTemp(s.spool, "sachet-s3-spool-")
	if err != nil {
		return nil, localErr(err)
	}
	os.Remove(f.Name())
	sp := &spooled{f: f}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := buf
		if max > 0 && int64(len(b)) > max+1-sp.size {
			b = b[:max+1-sp.size]
		}
		n, rerr := fill(r, b)
		if max > 0 && sp.size+int64(n) > max {
			return nil, domain.Errorf(domain.TooLarge, "chunk exceeds the %d-byte chunk size limit", max)
		}
		if n > 0 {
			if _, err := f.Write(b[:n]); err != nil {
				return nil, localErr(err)
			}
			h.Write(b[:n])
			if stream != nil {
				stream.Write(b[:n])
			}
			sp.size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("s3: reading chunk: %w", rerr)
		}
	}
	sp.sha = hex.EncodeToString(h.Sum(nil))
	ok = true
	return sp, nil
}

// fill reads into b until it is full or r fails (io.EOF at a clean end).
func fill(r io.Reader, b []byte) (n int, err error) {
	for n < len(b) && err == nil {
		var m int
		m, err = r.Read(b[n:])
		n += m
	}
	return n, err
}

func tooLargeFile(max int64) error {
	return domain.Errorf(domain.TooLarge, "file exceeds the %d-byte file size limit", max)
}

// localErr gives a full spool disk its kind (507).
func localErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return domain.Wrap(domain.InsufficientStorage, err, "not enough local space to receive the chunk")
	}
	return err
}

// ---- reading, removing, sweeping ----

// Open returns a lazily ranged reader of blob id and its size.
func (s *Store) Open(ctx context.Context, id string) (io.ReadSeekCloser, int64, error) {
	if !validID(id) {
		return nil, 0, domain.Errorf(domain.NotFound, "content not found")
	}
	// The body is opened here, not at the first Read: http.ServeContent
	// sends the headers before it reads, and a blob replaced and removed
	// in between would cut a download that had promised its length. A
	// whole-content GET reads this body; a HEAD or a range closes it.
	body, info, conn, err := s.getBody(ctx, s.blobKey(id), minio.GetObjectOptions{}, -1)
	if err != nil {
		return nil, 0, s.fail(err, "opening content")
	}
	return &rangeReader{ctx: ctx, s: s, key: s.blobKey(id), size: info.Size, body: newBufBody(body), conn: conn}, info.Size, nil
}

// Remove deletes blobs and staged chunks and aborts uploads' multipart
// uploads. Parts go with their upload.
func (s *Store) Remove(ctx context.Context, ids ...string) error {
	var keys []string
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, id := range ids {
		switch {
		case id == "":
		case validID(id):
			keys = append(keys, s.blobKey(id))
		case strings.HasPrefix(id, "c/"):
			if c, ok := stagedID(id); ok {
				keys = append(keys, s.chunkKey(c))
			} else {
				note(domain.Errorf(domain.Invalid, "invalid storage id %q", id))
			}
		case strings.HasPrefix(id, "p/"):
		case strings.HasPrefix(id, "u/"):
			h, ok := parseHandle(id)
			if !ok {
				note(domain.Errorf(domain.Invalid, "invalid upload handle %q", id))
				continue
			}
			err := s.core.AbortMultipartUpload(ctx, s.bucket, s.blobKey(h.id), h.uploadID)
			if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				note(s.fail(err, "aborting an upload"))
			}
		default:
			note(domain.Errorf(domain.Invalid, "invalid storage id %q", id))
		}
	}
	if err := s.removeKeys(ctx, keys); err != nil {
		note(err)
	}
	return first
}

// removeKeys deletes objects with DeleteObjects, 1000 keys a request.
func (s *Store) removeKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range keys {
			select {
			case ch <- minio.ObjectInfo{Key: k}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var first error
	for e := range s.client.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		if first == nil && e.Err != nil && minio.ToErrorResponse(e.Err).Code != "NoSuchKey" {
			first = s.fail(e.Err, "removing content")
		}
	}
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// Sweep removes blobs and staged chunks last written before olderThan, and
// aborts multipart uploads begun before it, that referenced disowns.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, referenced func(ctx context.Context, id string) (bool, error)) (int, error) {
	removed := 0
	for _, dir := range []string{"blobs/", "chunks/"} {
		token := ""
		for {
			res, err := s.core.ListObjectsV2(s.bucket, s.prefix+dir, "", token, "", 1000)
			if err != nil {
				return removed, s.fail(err, "listing content")
			}
			var gone []string
			for _, o := range res.Contents {
				if !o.LastModified.Before(olderThan) {
					continue
				}
				id := strings.TrimPrefix(o.Key, s.prefix+dir)
				if !validID(id) {
					continue // not ours
				}
				if dir == "chunks/" {
					id = "c/" + id
				}
				ref, err := referenced(ctx, id)
				if err != nil {
					return removed, err
				}
				if !ref {
					gone = append(gone, o.Key)
				}
			}
			if err := s.removeKeys(ctx, gone); err != nil {
				return removed, err
			}
			removed += len(gone)
			if !res.IsTruncated || res.NextContinuationToken == "" {
				break
			}
			token = res.NextContinuationToken
		}
	}
	keyMarker, idMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, s.prefix+"blobs/", keyMarker, idMarker, "", 1000)
		if err != nil {
			return removed, s.fail(err, "listing uploads")
		}
		for _, u := range res.Uploads {
			id := strings.TrimPrefix(u.Key, s.prefix+"blobs/")
			if !validID(id) || !u.Initiated.Before(olderThan) {
				continue
			}
			h := handle{id, u.UploadID}.String()
			ref, err := referenced(ctx, h)
			if err != nil {
				return removed, err
			}
			if ref {
				continue
			}
			if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return removed, s.fail(err, "aborting an upload")
			}
			removed++
		}
		if !res.IsTruncated {
			break
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	return removed, ctx.Err()
}

// Writable writes and removes a one-byte object.
func (s *Store) Writable(ctx context.Context) error {
	key := s.prefix + "ready/" + newID()
	if _, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader([]byte{0}), 1, "", "", minio.PutObjectOptions{}); err != nil {
		return s.fail(err, "writing")
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.fail(err, "writing")
	}
	return nil
}

// fail gives an S3 error its kind: gone is NotFound; unreachable, timed
// out or a server error is Unavailable (503: the client may retry).
func (s *Store) fail(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		// No descriptor left for a connection to S3: load, as for a file.
		return domain.OutOfFiles(err)
	}
	er := minio.ToErrorResponse(err)
	switch er.Code {
	case "NoSuchKey", "NoSuchUpload":
		return domain.Wrap(domain.NotFound, err, "content not found")
	case "NoSuchBucket":
		return domain.Wrap(domain.Unavailable, err, "content storage unavailable: the bucket is missing")
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
		return domain.Wrap(domain.Unavailable, err, "content storage unavailable")
	}
	if er.StatusCode >= 500 {
		return domain.Wrap(domain.Unavailable, err, "content storage unavailable")
	}
	var ne net.Error
	if er.StatusCode == 0 && (errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		return domain.Wrap(domain.Unavailable, err, "content storage unavailable")
	}
	return fmt.Errorf("s3: %s: %w", what, err)
}
