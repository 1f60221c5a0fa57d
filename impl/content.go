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
)

type contentStore interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	ForgetShare(id string)
	GetOrCreateUpload(ctx context.Context, shareID, dzuuid string, totalChunks int) (*domain.Upload, error)
	PutChunk(ctx context.Context, c domain.Chunk) (replacedFileID string, err error)
	ClaimCompletion(ctx context.Context, uploadID int64) (chunks []domain.Chunk, claimed bool, err error)
	ReleaseCompletion(ctx context.Context, uploadID int64) error
	FinishUpload(ctx context.Context, uploadID int64, shareID string, blob domain.Blob, now time.Time) (oldBlobID string, err error)
	DeleteUpload(ctx context.Context, uploadID int64) (files []string, err error)
}

type blobStore interface {
	WriteChunk(ctx context.Context, r io.Reader, max int64) (id string, size int64, err error)
	Join(ctx context.Context, chunkIDs []string, maxTotal int64) (domain.Blob, error)
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
	totalSize  int64 // dztotalfilesize, -1 if absent
	haveUUID   bool
	haveIndex  bool
	haveTotal  bool
	fileID     string // the stored `upload` part, once read
	chunkSize  int64
	haveUpload bool
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
	form, err := h.readForm(ctx, mr)
	if err != nil {
		if form != nil && form.fileID != "" {
			h.remove(ctx, form.fileID)
		}
		return false, err
	}
	up, err := h.store.GetOrCreateUpload(ctx, sh.ID, form.dzuuid, form.total)
	if err != nil {
		h.remove(ctx, form.fileID)
		return false, err
	}
	old, err := h.store.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: form.index, FileID: form.fileID, Size: form.chunkSize})
	if domain.IsKind(err, domain.Conflict) || domain.IsKind(err, domain.NotFound) {
		// A re-sent chunk racing the upload's completion (being joined, or
		// just joined and gone): every index is already in, so this copy
		// is not needed.
		h.remove(ctx, form.fileID)
		return false, nil
	}
	if err != nil {
		h.remove(ctx, form.fileID)
		return false, err
	}
	if old != "" {
		h.remove(ctx, old)
	}
	chunks, claimed, err := h.store.ClaimCompletion(ctx, up.ID)
	if domain.IsKind(err, domain.NotFound) {
		return false, nil // another request completed the upload, with this chunk in it
	}
	if err != nil || !claimed {
		return false, err
	}
	return true, h.complete(ctx, sh.ID, up.ID, chunks)
}

// complete joins the claimed upload's chunks and publishes the result.
func (h *Content) complete(ctx context.Context, shareID string, uploadID int64, chunks []domain.Chunk) error {
	ids := make([]string, len(chunks))
	for i, c := range chunks {
		ids[i] = c.FileID
	}
	// Finish even if the client goes away now: the work is nearly done.
	ctx = context.WithoutCancel(ctx)
	blob, err := h.blobs.Join(ctx, ids, h.limits.MaxFileSize)
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
func (h *Content) readForm(ctx context.Context, mr *multipart.Reader) (*chunkForm, error) {
	f := &chunkForm{totalSize: -1}
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
			id, n, err := h.blobs.WriteChunk(ctx, p, h.limits.MaxChunkSize)
			if err != nil {
				if k := domain.KindOf(err); k == domain.Internal {
					return f, domain.Wrap(domain.Invalid, err, "the upload was interrupted")
				}
				return f, err
			}
			f.fileID, f.chunkSize, f.haveUpload = id, n, true
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
	if f.totalSize >= 0 && h.limits.MaxFileSize > 0 && f.totalSize > h.limits.MaxFileSize {
		return f, domain.Errorf(domain.TooLarge, "dztotalfilesize exceeds the %d-byte file size limit", h.limits.MaxFileSize)
	}
	return f, nil
}

// set records one form field; Dropzone's extra fields are checked when
// present, unknown fields ignored.
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
	case "dztotalchunks":
		n, err := formInt(name, v, 1)
		if err != nil {
			return err
		}
		f.total, f.haveTotal = int(n), true
	case "dztotalfilesize":
		n, err := formInt(name, v, 0)
		if err != nil {
			return err
		}
		f.totalSize = n
	case "dzchunksize", "dzchunkbyteoffset":
		if _, err := formInt(name, v, 0); err != nil {
			return err
		}
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
		}{{f.haveUUID, "dzuuid"}, {f.haveIndex, "dzchunkindex"}, {f.haveTotal, "dztotalchunks"}} {
			if !m.ok {
				return domain.Errorf(domain.Invalid, "missing form field %q", m.name)
			}
		}
	}
	if f.haveTotal && h.limits.MaxChunks > 0 && f.total > h.limits.MaxChunks {
		return domain.Errorf(domain.TooLarge, "dztotalchunks exceeds the limit of %d chunks", h.limits.MaxChunks)
	}
	if f.haveIndex && f.haveTotal && f.index >= f.total {
		return domain.Errorf(domain.Invalid, "dzchunkindex %d is outside [0, %d)", f.index, f.total)
	}
	if f.totalSize >= 0 && h.limits.MaxFileSize > 0 && f.totalSize > h.limits.MaxFileSize {
		return domain.Errorf(domain.TooLarge, "dztotalfilesize exceeds the %d-byte file size limit", h.limits.MaxFileSize)
	}
	return nil
}
