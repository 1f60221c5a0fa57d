package impl

import (
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
	"github.com/sachet-server/sachet/storage"
)

type contentStore interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	ForgetShare(id string)
	GetOrCreateUpload(ctx context.Context, shareID, dzuuid string, totalChunks int) (*domain.Upload, error)
	PutChunk(ctx context.Context, c domain.Chunk) (replacedFileID string, err error)
	ClaimUpload(ctx context.Context, uploadID int64) (c *domain.Completion, claimed bool, err error)
	TakeAppendLease(ctx context.Context, uploadID int64, index int, newAssemblyID string) (lease *domain.Append, ok bool, err error)
	CommitAppend(ctx context.Context, lease *domain.Append, size int64, hashState []byte) (replacedFileID string, err error)
	ReleaseAppend(ctx context.Context, lease *domain.Append) error
	ReleaseCompletion(ctx context.Context, uploadID int64) error
	FinishUpload(ctx context.Context, uploadID int64, shareID string, blob domain.Blob, now time.Time) (oldBlobID string, err error)
	DeleteUpload(ctx context.Context, uploadID int64) (files []string, err error)
}

type blobStore interface {
	WriteChunk(ctx context.Context, r io.Reader, max int64) (id string, size int64, err error)
	Join(ctx context.Context, chunkIDs []string, maxTotal int64) (domain.Blob, error)
	AppendAssembly(ctx context.Context, id string, at int64, r io.Reader, maxChunk, maxTotal int64, hashState []byte) (int64, []byte, error)
	CutAssembly(id string, at int64) error
	FinishAssembly(ctx context.Context, id string, prefix int64, rest []string, maxTotal int64, hashState []byte) (domain.Blob, error)
	JoinSegments(ctx context.Context, segs []storage.Segment, maxTotal int64) (domain.Blob, error)
	OpenBlob(id string) (*os.File, error)
	Remove(ids ...string) error
}

// Limits bound what one upload may take. Zero means unlimited.
type Limits struct {
	MaxChunkSize int64
	MaxChunks    int
	MaxFileSize  int64
}

// Content receives chunked uploads and serves downloads.
type Content struct {
	store  contentStore
	blobs  blobStore
	limits Limits
	log    *slog.Logger
	now    func() time.Time
}

// NewContent returns the content handlers.
func NewContent(store contentStore, blobs blobStore, limits Limits, log *slog.Logger) *Content {
	return &Content{store: store, blobs: blobs, limits: limits, log: log, now: time.Now}
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
	fileID     string // the stored `upload` part, once read, if in a file of its own
	chunkSize  int64
	haveUpload bool
	// lease is set when the `upload` part was appended to the upload's
	// assembly file instead: the append is to be recorded or undone.
	lease     *domain.Append
	hashState []byte         // of the assembly file up to the appended chunk's end
	up        *domain.Upload // the upload, when looked up before the file part
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
	form, err := h.readForm(ctx, sh.ID, mr)
	if err != nil {
		if form != nil {
			h.discard(ctx, form)
		}
		return false, err
	}
	up := form.up
	if up == nil {
		up, err = h.store.GetOrCreateUpload(ctx, sh.ID, form.dzuuid, form.total)
		if err != nil {
			h.discard(ctx, form)
			return false, err
		}
	}
	var old string
	if form.lease != nil {
		// Recorded even if the client has gone: the bytes are durable.
		old, err = h.store.CommitAppend(context.WithoutCancel(ctx), form.lease, form.chunkSize, form.hashState)
		if domain.IsKind(err, domain.NotFound) {
			// The upload went (its share deleted, or completed): nothing
			// names its assembly file any more.
			h.remove(ctx, form.lease.AssemblyID)
		}
		form.lease = nil // committed or not, the lease has ended
	} else {
		old, err = h.store.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: form.index, FileID: form.fileID, Size: form.chunkSize})
		if err != nil {
			h.remove(ctx, form.fileID)
		}
	}
	if domain.IsKind(err, domain.Conflict) || domain.IsKind(err, domain.NotFound) {
		// A re-sent chunk racing the upload's completion (being joined, or
		// just joined and gone): every index is already in, so this copy
		// is not needed.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if old != "" {
		h.remove(ctx, old)
	}
	c, claimed, err := h.store.ClaimUpload(ctx, up.ID)
	if domain.IsKind(err, domain.NotFound) {
		return false, nil // another request completed the upload, with this chunk in it
	}
	if err != nil || !claimed {
		return false, err
	}
	return true, h.complete(ctx, sh.ID, up.ID, c)
}

// discard undoes what readForm stored for a chunk that is refused.
func (h *Content) discard(ctx context.Context, f *chunkForm) {
	if f.fileID != "" {
		h.remove(ctx, f.fileID)
	}
	if l := f.lease; l != nil {
		ctx := context.WithoutCancel(ctx)
		// Cut before the lease goes: afterwards another request may be
		// appending.
		if err := h.blobs.CutAssembly(l.AssemblyID, l.Offset); err != nil {
			h.log.WarnContext(ctx, "cutting assembly file", "upload", l.UploadID, "err", err)
		}
		if err := h.store.ReleaseAppend(ctx, l); err != nil {
			h.log.WarnContext(ctx, "releasing append lease", "upload", l.UploadID, "err", err)
		}
		f.lease = nil
	}
}

// complete joins the claimed upload's chunks and publishes the result.
// Chunks appended in order to the assembly file stay where they are: when
// they are all of its live bytes and come first, the other chunks are
// appended after them and the file becomes the blob; otherwise every
// chunk is copied into a new blob.
func (h *Content) complete(ctx context.Context, shareID string, uploadID int64, c *domain.Completion) error {
	chunks := c.Chunks
	var ids []string // files to delete once the blob is recorded
	for _, ch := range chunks {
		if !ch.InAssembly {
			ids = append(ids, ch.FileID)
		}
	}
	if c.AssemblyID != "" {
		ids = append(ids, c.AssemblyID)
	}
	// Finish even if the client goes away now: the work is nearly done.
	ctx = context.WithoutCancel(ctx)
	var blob domain.Blob
	var err error
	prefix, k := assembledPrefix(c)
	switch {
	case k == 0 && c.AssemblyID == "":
		blob, err = h.blobs.Join(ctx, ids, h.limits.MaxFileSize)
	case k > 0:
		rest := make([]string, 0, len(chunks)-k)
		for _, ch := range chunks[k:] {
			rest = append(rest, ch.FileID)
		}
		blob, err = h.blobs.FinishAssembly(ctx, c.AssemblyID, prefix, rest, h.limits.MaxFileSize, c.HashState)
	default:
		segs := make([]storage.Segment, len(chunks))
		for i, ch := range chunks {
			segs[i] = storage.Segment{ID: ch.FileID, Assembly: ch.InAssembly, Off: ch.Offset, Size: ch.Size}
		}
		blob, err = h.blobs.JoinSegments(ctx, segs, h.limits.MaxFileSize)
	}
	if err != nil {
		if domain.IsKind(err, domain.TooLarge) {
			// The upload can never succeed: drop it.
			h.dropUpload(ctx, uploadID)
		} else if rerr := h.store.ReleaseCompletion(ctx, uploadID); rerr != nil {
			h.log.WarnContext(ctx, "releasing upload", "upload", uploadID, "err", rerr)
		}
		return err
	}
	old, err := h.store.FinishUpload(ctx, uploadID, shareID, blob, h.now().UTC())
	if err != nil {
		// The blob may share the assembly file's inode: only its name goes.
		h.remove(ctx, blob.ID)
		if domain.IsKind(err, domain.Locked) || domain.IsKind(err, domain.NotFound) {
			h.dropUpload(ctx, uploadID)
			if domain.IsKind(err, domain.NotFound) {
				return errNoShare
			}
			return errLocked
		}
		_ = h.store.ReleaseCompletion(ctx, uploadID)
		return err
	}
	if old != "" {
		ids = append(ids, old)
	}
	h.remove(ctx, ids...)
	return nil
}

// assembledPrefix returns how many chunks, k, lead the upload as appended
// to its assembly file, and their bytes, when those are exactly the file's
// live bytes: chunks 0..k-1 in the assembly back to back from offset 0, no
// other chunk in it, and nothing recorded past them (a chunk replaced
// since it was appended leaves dead bytes). Otherwise k is 0.
func assembledPrefix(c *domain.Completion) (prefix int64, k int) {
	if c.AssemblyID == "" {
		return 0, 0
	}
	for k < len(c.Chunks) {
		ch := c.Chunks[k]
		if !ch.InAssembly || ch.FileID != c.AssemblyID || ch.Offset != prefix {
			break
		}
		prefix += ch.Size
		k++
	}
	for _, ch := range c.Chunks[k:] {
		if ch.InAssembly {
			return 0, 0
		}
	}
	if k == 0 || prefix != c.AssembledLen {
		return 0, 0
	}
	return prefix, k
}

func (h *Content) dropUpload(ctx context.Context, uploadID int64) {
	files, err := h.store.DeleteUpload(ctx, uploadID)
	if err != nil {
		h.log.WarnContext(ctx, "dropping upload", "upload", uploadID, "err", err)
		return
	}
	h.remove(ctx, files...)
}

// remove deletes files now; a failure leaves an orphan for the sweep.
func (h *Content) remove(ctx context.Context, ids ...string) {
	if err := h.blobs.Remove(ids...); err != nil {
		h.log.WarnContext(ctx, "removing files", "err", err)
	}
}

// readForm streams the multipart body: small fields are read into memory,
// the `upload` part straight to a chunk file. Fields that precede the file
// are checked before any byte of it is stored.
func (h *Content) readForm(ctx context.Context, shareID string, mr *multipart.Reader) (*chunkForm, error) {
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
			if want, max, why := f.partLen(); want >= 0 || max >= 0 {
				body = &sizedPart{r: p, want: want, max: max, why: why}
			}
			if err := h.readUpload(ctx, shareID, f, body); err != nil {
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

// readUpload stores the `upload` part: appended to the upload's assembly
// file when the fields before it name the chunk that file expects next
// and no other request is appending to it, or else in a chunk file of its
// own.
func (h *Content) readUpload(ctx context.Context, shareID string, f *chunkForm, p io.Reader) error {
	if f.haveUUID && f.haveIndex && f.haveTotal {
		up, err := h.store.GetOrCreateUpload(ctx, shareID, f.dzuuid, f.total)
		if err != nil {
			return err
		}
		f.up = up
		lease, ok, err := h.store.TakeAppendLease(ctx, up.ID, f.index, storage.NewID())
		if err != nil && !domain.IsKind(err, domain.NotFound) {
			return err
		}
		// NotFound: completed (or deleted) meanwhile; the chunk goes the
		// common way, where that is an answer.
		if ok {
			f.lease = lease
			n, st, err := h.blobs.AppendAssembly(ctx, lease.AssemblyID, lease.Offset, p, h.limits.MaxChunkSize, h.limits.MaxFileSize, lease.HashState)
			if err != nil {
				return err
			}
			f.chunkSize, f.hashState = n, st
			return nil
		}
	}
	id, n, err := h.blobs.WriteChunk(ctx, p, h.limits.MaxChunkSize)
	if err != nil {
		return err
	}
	f.fileID, f.chunkSize = id, n
	return nil
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
	case "":
		return domain.Errorf(domain.Invalid, "a form part has no name: only dzuuid, dzchunkindex, dztotalchunks (or dztotalchunkcount), dzchunksize, dztotalfilesize, dzchunkbyteoffset and upload are accepted")
	default:
		return domain.Errorf(domain.Invalid, "unknown form field %q: only dzuuid, dzchunkindex, dztotalchunks (or dztotalchunkcount), dzchunksize, dztotalfilesize, dzchunkbyteoffset and upload are accepted", name)
	}
	return nil
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
