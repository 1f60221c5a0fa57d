package impl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"log/slog"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
	"github.com/sachet-server/sachet/upload"
)

// contentStore is what the content handlers read of shares.
type contentStore interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	ForgetShare(id string)
}

// uploader runs the chunked-upload protocol (upload.Manager).
type uploader interface {
	Receive(ctx context.Context, shareID string, k *upload.Key, r io.Reader, size int64) (*upload.Pending, error)
	Commit(ctx context.Context, p *upload.Pending, k upload.Key, fileSHA256 string) (completed bool, err error)
	Discard(ctx context.Context, p *upload.Pending)
}

// blobReader opens content for downloads (blob.Store).
type blobReader interface {
	Open(ctx context.Context, id string) (r io.ReadSeekCloser, size int64, err error)
}

// Limits bound what one upload may take. Zero means unlimited.
type Limits struct {
	MaxChunkSize int64
	MaxChunks    int
	MaxFileSize  int64
}

// Content receives chunked uploads and serves downloads.
type Content struct {
	store   contentStore
	uploads uploader
	blobs   blobReader
	limits  Limits      // checked on the form's fields before any byte is stored
	quotas  quotaKeeper // nil: no quotas (WithQuotas)
	files   fileRemover
	log     *slog.Logger
	presign presigner // nil: downloads are served here (see WithPresignedRedirect)
}

// NewContent returns the content handlers. limits should be the ones
// uploads enforces on the bytes.
func NewContent(store contentStore, uploads uploader, blobs blobReader, limits Limits, log *slog.Logger) *Content {
	return &Content{store: store, uploads: uploads, blobs: blobs, limits: limits, log: log}
}

// UploadShareContent stores one chunk of a share's first content.
func (h *Content) UploadShareContent(ctx context.Context, req gen.UploadShareContentRequestObject) (gen.UploadShareContentResponseObject, error) {
	done, err := h.upload(ctx, req.ShareId, req.Body, false)
	if err != nil {
		return nil, err
	}
	if done {
		return gen.UploadShareContent201JSONResponse{UploadCompletedJSONResponse: gen.UploadCompletedJSONResponse(completed)}, nil
	}
	return gen.UploadShareContent200JSONResponse{ChunkAcceptedJSONResponse: gen.ChunkAcceptedJSONResponse(accepted)}, nil
}

// ReplaceShareContent stores one chunk of a share's new content.
func (h *Content) ReplaceShareContent(ctx context.Context, req gen.ReplaceShareContentRequestObject) (gen.ReplaceShareContentResponseObject, error) {
	done, err := h.upload(ctx, req.ShareId, req.Body, true)
	if err != nil {
		return nil, err
	}
	if done {
		return gen.ReplaceShareContent201JSONResponse{UploadCompletedJSONResponse: gen.UploadCompletedJSONResponse(completed)}, nil
	}
	return gen.ReplaceShareContent200JSONResponse{ChunkAcceptedJSONResponse: gen.ChunkAcceptedJSONResponse(accepted)}, nil
}

var (
	accepted  = gen.Message{Status: "success", Message: "Chunk uploaded."}
	completed = gen.Message{Status: "success", Message: "Upload completed."}
)

// uploadable applies the content routes' checks in the contract's order.
// POST: 404, 403 owner, 423 locked, 423 initialized.
// PUT:  404, 423 locked, 403 owner, 423 not initialized.
func uploadable(c domain.Caller, sh *domain.Share, replace bool) error {
	if replace {
		switch {
		case sh.Locked:
			return errLocked
		case !c.Owns(sh.Owner):
			return errNotOwner
		case !sh.Initialized:
			return domain.Errorf(domain.Locked, "The share has no content yet: upload it with POST.")
		}
		return nil
	}
	switch {
	case !c.Owns(sh.Owner):
		return errNotOwner
	case sh.Locked:
		return errLocked
	case sh.Initialized:
		return domain.Errorf(domain.Locked, "The share already has content: replace it with PUT.")
	}
	return nil
}

// chunkForm is one parsed chunk request.
type chunkForm struct {
	dzuuid     string
	index      int
	total      int
	totalName  string // the field that gave total: dztotalchunks or Dropzone's dztotalchunkcount
	totalSize  int64  // dztotalfilesize, -1 if absent
	declSize   int64  // dzchunksize, -1 if absent
	offset     int64  // dzchunkbyteoffset, -1 if absent
	haveUUID   bool
	haveIndex  bool
	haveTotal  bool
	chunkSize  int64
	haveUpload bool
	chunkSum   []byte // dzchunksha256, nil if absent
	fileSum    string // dzfilesha256 in lowercase hex, "" if absent
	// pending is the stored `upload` part, once read: to be committed
	// (recorded), or discarded when the request is refused.
	pending *upload.Pending
}

const maxFieldBytes = 1024

// upload receives one chunk and, when it was the last missing one, joins
// the upload into the share's new content. It reports whether it did.
func (h *Content) upload(ctx context.Context, id string, mr *multipart.Reader, replace bool) (bool, error) {
	sh, err := loadShare(ctx, h.store, id)
	if err != nil {
		return false, err
	}
	if err := uploadable(domain.CallerFrom(ctx), sh, replace); err != nil {
		return false, err
	}
	return h.receive(ctx, sh, nil, mr)
}

// receive reads one chunk for share sh (whose checks passed) and commits
// it, holding its bytes against the owner's quota, and the max_bytes of
// the upload request ur it comes through (nil: none), as they stream.
func (h *Content) receive(ctx context.Context, sh *domain.Share, ur *domain.UploadRequest, mr *multipart.Reader) (bool, error) {
	qh, err := h.hold(ctx, sh, ur)
	if err != nil {
		return false, err
	}
	form, err := h.readForm(ctx, sh.ID, mr, qh)
	if err != nil {
		if form != nil {
			h.discard(ctx, form)
		}
		qh.done(ctx, "", false, false)
		if qh != nil && domain.IsKind(err, domain.TooLarge) && form != nil && form.haveUUID {
			h.tidyRefused(ctx, sh.ID, form.dzuuid)
		}
		return false, err
	}
	p := form.pending
	form.pending = nil // Commit records or discards it
	done, err := h.uploads.Commit(ctx, p, upload.Key{DZUUID: form.dzuuid, Index: form.index, Total: form.total}, form.fileSum)
	qh.done(ctx, form.dzuuid, err == nil, err == nil && done)
	return done, err
}

// discard undoes what readForm stored for a chunk that is refused.
func (h *Content) discard(ctx context.Context, f *chunkForm) {
	h.uploads.Discard(ctx, f.pending)
	f.pending = nil
}

// readForm streams the multipart body: small fields are read into memory,
// the `upload` part straight to a chunk file. Fields that precede the file
// are checked before any byte of it is stored.
func (h *Content) readForm(ctx context.Context, shareID string, mr *multipart.Reader, qh *quotaHold) (*chunkForm, error) {
	f := &chunkForm{totalSize: -1, declSize: -1, offset: -1}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return f, domain.Wrap(domain.Invalid, err, "malformed multipart body")
		}
		name := p.FormName()
		if name == "upload" {
			if f.haveUpload {
				return f, domain.Errorf(domain.Invalid, "only one \"upload\" part is allowed")
			}
			if err := h.checkFields(f, false); err != nil {
				return f, err
			}
			// The fields read so far may fix the part's length: checked as
			// it streams, so a wrong chunk is refused before it is kept.
			var body io.Reader = p
			want, max, why := f.partLen()
			if want >= 0 || max >= 0 {
				body = &sizedPart{r: p, want: want, max: max, why: why}
			}
			if f.chunkSum != nil {
				// Checked at the part's end, before the store reports it
				// stored: a mismatch fails the write, which keeps nothing.
				body = &digestPart{r: body, h: sha256.New(), want: f.chunkSum}
			}
			// The quota: the declared file size up front, then the bytes
			// as they arrive.
			dzuuid := ""
			if f.haveUUID {
				dzuuid = f.dzuuid
			}
			if err := qh.check(ctx, dzuuid, f.totalSize); err != nil {
				return f, err
			}
			hint := want
			if hint < 0 {
				hint = max
			}
			if body, err = qh.reader(ctx, body, hint); err != nil {
				return f, err
			}
			if err := h.readUpload(ctx, shareID, f, body, want); err != nil {
				if k := domain.KindOf(err); k == domain.Internal {
					return f, domain.Wrap(domain.Invalid, err, "the upload was interrupted")
				}
				return f, err
			}
			f.haveUpload = true
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
		if err != nil {
			return f, domain.Wrap(domain.Invalid, err, "malformed multipart body")
		}
		if len(v) > maxFieldBytes {
			return f, domain.Errorf(domain.Invalid, "form field %q is too long", name)
		}
		if err := f.set(name, string(v)); err != nil {
			return f, err
		}
	}
	if err := h.checkFields(f, true); err != nil {
		return f, err
	}
	if !f.haveUpload {
		return f, domain.Errorf(domain.Invalid, "missing the \"upload\" file part")
	}
	// Fields that came after the file part are checked against it now.
	if err := checkPartLen(f.chunkSize, f); err != nil {
		return f, err
	}
	if f.totalSize >= 0 && h.limits.MaxFileSize > 0 && f.totalSize > h.limits.MaxFileSize {
		return f, domain.Errorf(domain.TooLarge, "dztotalfilesize exceeds the %d-byte file size limit", h.limits.MaxFileSize)
	}
	return f, nil
}

// readUpload stores the `upload` part. When the fields before it name the
// chunk, the upload protocol may append it to the upload's in-order
// stream; otherwise it is stored on its own. size is the part's length
// when the fields fix it (-1 if not), so that the store can stream it.
func (h *Content) readUpload(ctx context.Context, shareID string, f *chunkForm, p io.Reader, size int64) error {
	var k *upload.Key
	if f.haveUUID && f.haveIndex && f.haveTotal {
		k = &upload.Key{DZUUID: f.dzuuid, Index: f.index, Total: f.total}
	}
	pending, err := h.uploads.Receive(ctx, shareID, k, p, size)
	if pending != nil {
		f.pending, f.chunkSize = pending, pending.Size()
	}
	return err
}

// set records one form field. Dropzone's extra fields are checked (see
// checkFields); a field Sachet does not know is refused, so a typo never
// passes silently.
func (f *chunkForm) set(name, v string) error {
	switch name {
	case "dzuuid":
		if v == "" || len(v) > 255 {
			return domain.Errorf(domain.Invalid, "dzuuid must be 1–255 bytes")
		}
		f.dzuuid, f.haveUUID = v, true
	case "dzchunkindex":
		n, err := formInt(name, v, 0)
		if err != nil {
			return err
		}
		f.index, f.haveIndex = int(n), true
	case "dztotalchunks", "dztotalchunkcount":
		// A stock Dropzone.js names the total dztotalchunkcount: the same
		// field. Given both ways, they must agree.
		n, err := formInt(name, v, 1)
		if err != nil {
			return err
		}
		if f.haveTotal && f.totalName != name && int(n) != f.total {
			return domain.Errorf(domain.Invalid, "%s %d and %s %d disagree", f.totalName, f.total, name, n)
		}
		f.total, f.haveTotal, f.totalName = int(n), true, name
	case "dztotalfilesize":
		n, err := formInt(name, v, 0)
		if err != nil {
			return err
		}
		f.totalSize = n
	case "dzchunksize":
		n, err := formInt(name, v, 1)
		if err != nil {
			return err
		}
		f.declSize = n
	case "dzchunkbyteoffset":
		n, err := formInt(name, v, 0)
		if err != nil {
			return err
		}
		f.offset = n
	case "dzchunksha256":
		// Checked while the part streams, so it must come first: after the
		// bytes are stored it would be too late to keep nothing.
		if f.haveUpload {
			return domain.Errorf(domain.Invalid, "dzchunksha256 must come before the \"upload\" file part")
		}
		b, err := sha256Field(name, v)
		if err != nil {
			return err
		}
		f.chunkSum = b
	case "dzfilesha256":
		b, err := sha256Field(name, v)
		if err != nil {
			return err
		}
		f.fileSum = hex.EncodeToString(b)
	case "":
		return domain.Errorf(domain.Invalid, "a form part has no name: only %s are accepted", knownFields)
	default:
		return domain.Errorf(domain.Invalid, "unknown form field %q: only %s are accepted", name, knownFields)
	}
	return nil
}

const knownFields = "dzuuid, dzchunkindex, dztotalchunks (or dztotalchunkcount), dzchunksize, dztotalfilesize, dzchunkbyteoffset, dzchunksha256, dzfilesha256 and upload"

// sha256Field parses a SHA-256 given as 64 hex digits (lowercase as
// documented; uppercase is the same digest and accepted).
func sha256Field(name, v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != sha256.Size {
		return nil, domain.Errorf(domain.Invalid, "%s must be a SHA-256 in 64 hex digits", name)
	}
	return b, nil
}

func formInt(name, v string, min int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, domain.Errorf(domain.Invalid, "%s must be an integer", name)
	}
	if n < min || n > 1<<53 {
		return 0, domain.Errorf(domain.Invalid, "%s must be at least %d", name, min)
	}
	return n, nil
}

// checkFields validates what has been read; with all set, missing fields
// are errors too.
func (h *Content) checkFields(f *chunkForm, all bool) error {
	if all {
		for _, m := range []struct {
			ok   bool
			name string
		}{{f.haveUUID, `"dzuuid"`}, {f.haveIndex, `"dzchunkindex"`}, {f.haveTotal, `"dztotalchunks" (or "dztotalchunkcount")`}} {
			if !m.ok {
				return domain.Errorf(domain.Invalid, "missing form field %s", m.name)
			}
		}
	}
	if f.haveTotal && h.limits.MaxChunks > 0 && f.total > h.limits.MaxChunks {
		return domain.Errorf(domain.TooLarge, "%s exceeds the limit of %d chunks", f.totalName, h.limits.MaxChunks)
	}
	if f.haveIndex && f.haveTotal && f.index >= f.total {
		return domain.Errorf(domain.Invalid, "dzchunkindex %d is outside [0, %d) (%s)", f.index, f.total, f.totalName)
	}
	if f.totalSize >= 0 && h.limits.MaxFileSize > 0 && f.totalSize > h.limits.MaxFileSize {
		return domain.Errorf(domain.TooLarge, "dztotalfilesize exceeds the %d-byte file size limit", h.limits.MaxFileSize)
	}
	return f.checkGeometry()
}

// checkGeometry checks Dropzone's size fields, when present, against each
// other and the chunk's place: the offset is index × chunk size, the chunk
// count is what the file and chunk sizes make, and the offset lies within
// the file.
func (f *chunkForm) checkGeometry() error {
	if f.declSize > 0 && f.offset >= 0 && f.haveIndex && f.offset != int64(f.index)*f.declSize {
		return domain.Errorf(domain.Invalid, "dzchunkbyteoffset %d is not dzchunkindex × dzchunksize (%d × %d)", f.offset, f.index, f.declSize)
	}
	if f.declSize > 0 && f.totalSize >= 0 && f.haveTotal {
		if want := max(1, ceilDiv(f.totalSize, f.declSize)); int64(f.total) != want {
			return domain.Errorf(domain.Invalid, "%s %d does not match dztotalfilesize %d in chunks of dzchunksize %d (%d chunks)", f.totalName, f.total, f.totalSize, f.declSize, want)
		}
	}
	if f.offset >= 0 && f.totalSize >= 0 && f.offset > f.totalSize {
		return domain.Errorf(domain.Invalid, "dzchunkbyteoffset %d is past dztotalfilesize %d", f.offset, f.totalSize)
	}
	return nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// partLen is what the fields say of the `upload` part's length: exactly
// want bytes, or at most max (-1: unknown), and which fields say so.
// A chunk other than the last is dzchunksize bytes; the last is the rest
// of dztotalfilesize.
func (f *chunkForm) partLen() (want, max int64, why string) {
	last := f.haveIndex && f.haveTotal && f.index == f.total-1
	notLast := f.haveIndex && f.haveTotal && f.index < f.total-1
	start := f.offset
	if f.declSize > 0 && f.haveIndex {
		start = int64(f.index) * f.declSize
	}
	switch {
	case notLast && f.declSize > 0:
		return f.declSize, -1, "dzchunksize"
	case last && start >= 0 && f.totalSize >= 0:
		return f.totalSize - start, -1, "dztotalfilesize less the chunk's offset"
	case f.declSize > 0:
		return -1, f.declSize, "dzchunksize"
	case start >= 0 && f.totalSize >= 0:
		return -1, f.totalSize - start, "dztotalfilesize less dzchunkbyteoffset"
	}
	return -1, -1, ""
}

// checkPartLen checks a stored part's length n against the fields.
func checkPartLen(n int64, f *chunkForm) error {
	want, max, why := f.partLen()
	if want >= 0 && n != want || max >= 0 && n > max {
		if want < 0 {
			want = max
		}
		return partLenError(n, want, max >= 0, why)
	}
	return nil
}

func partLenError(n, want int64, atMost bool, why string) error {
	if atMost {
		return domain.Errorf(domain.Invalid, "the upload part has more than the %d bytes %s allows", want, why)
	}
	return domain.Errorf(domain.Invalid, "the upload part has %d bytes; %s says %d", n, why, want)
}

// digestPart checks the `upload` part against dzchunksha256 as it
// streams: at the part's end a different SHA-256 is an Invalid error
// instead of io.EOF, so the chunk store drops what it wrote (as for
// sizedPart) and the upload stays as it was.
type digestPart struct {
	r    io.Reader
	h    hash.Hash
	want []byte
}

func (p *digestPart) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	if err == io.EOF {
		if got := p.h.Sum(nil); !bytes.Equal(got, p.want) {
			return n, domain.Errorf(domain.Invalid, "SHA-256 mismatch: the chunk's is %x, dzchunksha256 says %x; the chunk was not kept", got, p.want)
		}
	}
	return n, err
}

// sizedPart streams the `upload` part while checking its length against
// the fields that came before it: more bytes than allowed fail as soon as
// they arrive, too few at the end. Either is an Invalid error, which the
// chunk store passes on after dropping what it had written.
type sizedPart struct {
	r    io.Reader
	n    int64  // bytes read so far
	want int64  // exact length, or -1
	max  int64  // most bytes, or -1
	why  string // the fields that say so
}

func (p *sizedPart) Read(b []byte) (int, error) {
	limit := p.max
	if p.want >= 0 {
		limit = p.want
	}
	// One byte beyond the limit is enough to know it is exceeded.
	if limit >= 0 && int64(len(b)) > limit-p.n+1 {
		b = b[:limit-p.n+1]
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if limit >= 0 && p.n > limit {
		if p.want >= 0 {
			return 0, domain.Errorf(domain.Invalid, "the upload part is longer than the %d bytes %s says", p.want, p.why)
		}
		return 0, partLenError(p.n, p.max, true, p.why)
	}
	if err == io.EOF && p.want >= 0 && p.n != p.want {
		return n, partLenError(p.n, p.want, false, p.why)
	}
	return n, err
}
