package s3store

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"io"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// outPart is one part of the multipart upload that completion finishes:
// a chunk already uploaded as a part, or staged chunks streamed into one.
type outPart struct {
	number int
	etag   string    // an uploaded part
	segs   []segment // or staged chunks to stream
	size   int64
}

// Complete joins the recorded parts into the upload's blob (see the
// package doc for the cases).
func (s *Store) Complete(ctx context.Context, h string, parts []blob.Part, st blob.Stream, maxTotal int64) (domain.Blob, error) {
	var total int64
	for i, p := range parts {
		if p.Index != i {
			return domain.Blob{}, domain.Errorf(domain.Internal, "s3store: part %d has index %d", i, p.Index)
		}
		total += p.Size
	}
	if maxTotal > 0 && total > maxTotal {
		return domain.Blob{}, tooLargeFile(maxTotal)
	}
	hd, ok := parseHandle(h)
	if !ok {
		return domain.Blob{}, domain.Errorf(domain.Invalid, "invalid upload handle %q", h)
	}
	sum := streamSum(parts, st, total)
	plan, ok := s.plan(parts)
	if !ok {
		return s.rebuild(ctx, hd, parts, total, sum)
	}
	hashAll := sum == "" && !hasUploadedPart(plan)
	var hh hash.Hash
	if hashAll {
		hh = sha256.New()
	}
	if err := s.finish(ctx, s.blobKey(hd.id), hd.uploadID, plan, hh); err != nil {
		return domain.Blob{}, err
	}
	switch {
	case sum != "":
	case hh != nil:
		sum = hex.EncodeToString(hh.Sum(nil))
	default:
		var err error
		if sum, err = s.readBackSum(ctx, s.blobKey(hd.id), total); err != nil {
			// The object exists but cannot be vouched for: gone with it.
			s.Remove(context.WithoutCancel(ctx), hd.id)
			return domain.Blob{}, err
		}
	}
	return domain.Blob{ID: hd.id, Size: total, SHA256: sum}, nil
}

// streamSum is the SHA-256 the recorded stream vouches for: when every
// part was appended in order, back to back, and the stream's hash covers
// exactly them.
func streamSum(parts []blob.Part, st blob.Stream, total int64) string {
	if st.Hash == nil || st.Len != total {
		return ""
	}
	var off int64
	for _, p := range parts {
		if !p.Appended || p.Offset != off {
			return ""
		}
		off += p.Size
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st.Hash); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hasUploadedPart(plan []outPart) bool {
	for _, o := range plan {
		if o.etag != "" {
			return true
		}
	}
	return false
}

// plan lays the parts out as the upload's final parts, in order: uploaded
// parts as they are, runs of staged chunks as parts of about joinPart
// bytes numbered after their first chunk. ok is false when S3 would refuse
// the result: a run under 5 MiB before an uploaded part, or a number past
// 10 000.
func (s *Store) plan(parts []blob.Part) ([]outPart, bool) {
	var out []outPart
	var cur *outPart
	runStart := 0 // index in out where the current staged run began
	closeRun := func() bool {
		if cur == nil {
			return true
		}
		out = append(out, *cur)
		cur = nil
		// A short last piece of a run joins the piece before it.
		if n := len(out); n-runStart >= 2 && out[n-1].size < minPart {
			prev := &out[n-2]
			prev.segs = append(prev.segs, out[n-1].segs...)
			prev.size += out[n-1].size
			out = out[:n-1]
		}
		return true
	}
	for i, p := range parts {
		if n, etag, ok := parsePart(p.ID); ok {
			closeRun()
			if len(out) > 0 && out[len(out)-1].etag == "" && out[len(out)-1].size < minPart {
				return nil, false
			}
			if n != i+1 {
				return nil, false
			}
			out = append(out, outPart{number: n, etag: etag, size: p.Size})
			runStart = len(out)
			continue
		}
		key, ok := s.stagedKey(p.ID)
		if !ok {
			return nil, false
		}
		if cur == nil {
			if i+1 > maxParts {
				return nil, false
			}
			cur = &outPart{number: i + 1}
		}
		cur.segs = append(cur.segs, segment{key: key, size: p.Size})
		cur.size += p.Size
		if cur.size >= joinPart {
			closeRun()
		}
	}
	closeRun()
	return out, true
}

func (s *Store) stagedKey(id string) (string, bool) {
	c, ok := stagedID(id)
	if !ok {
		return "", false
	}
	return s.chunkKey(c), true
}

// finish uploads the plan's streamed parts (hashing them into hh if set)
// and completes the multipart upload.
func (s *Store) finish(ctx context.Context, key, uploadID string, plan []outPart, hh hash.Hash) error {
	done := make([]minio.CompletePart, 0, len(plan))
	for _, o := range plan {
		if o.etag != "" {
			done = append(done, minio.CompletePart{PartNumber: o.number, ETag: o.etag})
			continue
		}
		sr := &segmentsReader{ctx: ctx, s: s, segs: o.segs, h: hh}
		part, err := s.core.PutObjectPart(ctx, s.bucket, key, uploadID, o.number, sr, o.size,
			minio.PutObjectPartOptions{DisableContentSha256: true})
		sr.Close()
		if err != nil {
			if minio.ToErrorResponse(err).Code == "" && s.uploadGone(ctx, key, uploadID) {
				return domain.Errorf(domain.NotFound, "the upload is gone")
			}
			return s.fail(err, "joining chunks")
		}
		done = append(done, minio.CompletePart{PartNumber: o.number, ETag: strings.Trim(part.ETag, `"`)})
	}
	sort.Slice(done, func(i, j int) bool { return done[i].PartNumber < done[j].PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, done, minio.PutObjectOptions{}); err != nil {
		return s.fail(err, "completing an upload")
	}
	return nil
}

// rebuild is the slow path: the uploaded parts are completed into an
// intermediate object, then everything is streamed in order into a new
// multipart upload, hashed on the way.
func (s *Store) rebuild(ctx context.Context, hd handle, parts []blob.Part, total int64, sum string) (domain.Blob, error) {
	var uploaded []outPart
	var segs []segment
	var off int64
	mid := s.blobKey(hd.id)
	for _, p := range parts {
		if n, etag, ok := parsePart(p.ID); ok {
			uploaded = append(uploaded, outPart{number: n, etag: etag, size: p.Size})
			segs = append(segs, segment{key: mid, off: off, size: p.Size})
			off += p.Size
			continue
		}
		key, ok := s.stagedKey(p.ID)
		if !ok {
			return domain.Blob{}, domain.Errorf(domain.Invalid, "invalid part id %q", p.ID)
		}
		segs = append(segs, segment{key: key, size: p.Size})
	}
	midMade := false
	if len(uploaded) > 0 {
		if err := s.finish(ctx, mid, hd.uploadID, uploaded, nil); err != nil {
			return domain.Blob{}, err
		}
		midMade = true
	}
	id := newID()
	key := s.blobKey(id)
	up, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{})
	if err != nil {
		return domain.Blob{}, s.fail(err, "starting a join")
	}
	partSize := max(int64(joinPart), (total+maxParts-1)/maxParts)
	var plan []outPart
	var cur *outPart
	for _, sg := range segs {
		for sg.size > 0 {
			if cur == nil {
				plan = append(plan, outPart{number: len(plan) + 1})
				cur = &plan[len(plan)-1]
			}
			take := min(sg.size, partSize-cur.size)
			cur.segs = append(cur.segs, segment{key: sg.key, off: sg.off, size: take})
			cur.size += take
			sg.off += take
			sg.size -= take
			if cur.size == partSize {
				cur = nil
			}
		}
	}
	if len(plan) == 0 {
		plan = []outPart{{number: 1}}
	}
	hh := sha256.New()
	if err := s.finish(ctx, key, up, plan, hh); err != nil {
		_ = s.core.AbortMultipartUpload(context.WithoutCancel(ctx), s.bucket, key, up)
		return domain.Blob{}, err
	}
	if midMade {
		// The intermediate is no one's blob; a failure leaves it to Sweep.
		_ = s.removeKeys(context.WithoutCancel(ctx), []string{mid})
	}
	if sum == "" {
		sum = hex.EncodeToString(hh.Sum(nil))
	}
	return domain.Blob{ID: id, Size: total, SHA256: sum}, nil
}

// readBackSum hashes a finished object.
func (s *Store) readBackSum(ctx context.Context, key string, size int64) (string, error) {
	r := &rangeReader{ctx: ctx, s: s, key: key, size: size}
	defer r.Close()
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(h, r, *bp); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
