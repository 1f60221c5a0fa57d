package s3store

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
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
		if b, ok := s.adopt(ctx, hd, plan, total, sum, err); ok {
			return b, nil
		}
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

// adopt takes over the object an earlier completion of the same upload
// left: S3 completed the multipart upload (so it is gone, and finish
// failed NotFound) but the process died before the database recorded the
// blob, and the client re-sends the final chunk. blobs/<id> is this
// upload's key alone, so an object there is that completion's; it is
// taken only when it is provably the parts recorded now (a chunk re-sent
// since may have other bytes): its size is their total, and its ETag is
// the multipart ETag of the plan (S3's MD5 of the parts' MD5s, "-N": an
// uploaded part's MD5 is its recorded ETag, a run of staged chunks is
// read to get its MD5), or, where S3's ETag is not of that form, its
// bytes hash to the SHA-256 the recorded in-order stream vouches for.
// Otherwise the caller answers that the upload is consumed.
func (s *Store) adopt(ctx context.Context, hd handle, plan []outPart, total int64, sum string, err error) (domain.Blob, bool) {
	if !domain.IsKind(err, domain.NotFound) {
		return domain.Blob{}, false
	}
	key := s.blobKey(hd.id)
	info, serr := s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if serr != nil || info.Size != total {
		return domain.Blob{}, false
	}
	want, ok := s.planETag(ctx, plan)
	switch {
	case ok && strings.Trim(info.ETag, `"`) == want:
	case sum != "":
	default:
		return domain.Blob{}, false
	}
	got, rerr := s.readBackSum(ctx, key, total)
	if rerr != nil || sum != "" && got != sum {
		return domain.Blob{}, false
	}
	return domain.Blob{ID: hd.id, Size: total, SHA256: got}, true
}

// planETag is the ETag S3 gives the object that completing plan makes.
func (s *Store) planETag(ctx context.Context, plan []outPart) (string, bool) {
	all := md5.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	for _, o := range plan {
		if o.etag != "" {
			b, err := hex.DecodeString(o.etag)
			if err != nil || len(b) != md5.Size {
				return "", false
			}
			all.Write(b)
			continue
		}
		m := md5.New()
		sr := &segmentsReader{ctx: ctx, s: s, segs: o.segs}
		_, err := io.CopyBuffer(m, sr, *bp)
		sr.Close()
		if err != nil {
			return "", false
		}
		all.Write(m.Sum(nil))
	}
	return fmt.Sprintf("%x-%d", all.Sum(nil), len(plan)), true
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
