package impl

import (
	"context"
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
	Receive(ctx context.Context, shareID string, k *upload.Key, r io.Reader) (*upload.Pending, error)
	Commit(ctx context.Context, p *upload.Pending, k upload.Key) (completed bool, err error)
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
	limits  Limits // checked on the form's fields before any byte is stored
	log     *slog.Logger
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
	totalSize  int64 // dztotalfilesize, -1 if absent
	haveUUID   bool
	haveIndex  bool
	haveTotal  bool
	chunkSize  int64
	haveUpload bool
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
	form, err := h.readForm(ctx, sh.ID, mr)
	if err != nil {
		if form != nil {
			h.discard(ctx, form)
		}
		return false, err
	}
	p := form.pending
	form.pending = nil // Commit records or discards it
	return h.uploads.Commit(ctx, p, upload.Key{DZUUID: form.dzuuid, Index: form.index, Total: form.total})
}

// discard undoes what readForm stored for a chunk that is refused.
func (h *Content) discard(ctx context.Context, f *chunkForm) {
	h.uploads.Discard(ctx, f.pending)
	f.pending = nil
}

// readForm streams the multipart body: small fields are read into memory,
// the `upload` part straight to a chunk file. Fields that precede the file
// are checked before any byte of it is stored.
func (h *Content) readForm(ctx context.Context, shareID string, mr *multipart.Reader) (*chunkForm, error) {
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
			if err := h.readUpload(ctx, shareID, f, p); err != nil {
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
	if f.totalSize >= 0 && h.limits.MaxFileSize > 0 && f.totalSize > h.limits.MaxFileSize {
		return f, domain.Errorf(domain.TooLarge, "dztotalfilesize exceeds the %d-byte file size limit", h.limits.MaxFileSize)
	}
	return f, nil
}

// readUpload stores the `upload` part. When the fields before it name the
// chunk, the upload protocol may append it to the upload's in-order
// stream; otherwise it is stored on its own.
func (h *Content) readUpload(ctx context.Context, shareID string, f *chunkForm, p io.Reader) error {
	var k *upload.Key
	if f.haveUUID && f.haveIndex && f.haveTotal {
		k = &upload.Key{DZUUID: f.dzuuid, Index: f.index, Total: f.total}
	}
	pending, err := h.uploads.Receive(ctx, shareID, k, p)
	if pending != nil {
		f.pending, f.chunkSize = pending, pending.Size()
	}
	return err
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
