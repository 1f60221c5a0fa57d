package impl

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

// requestStore is what upload requests keep in the database (db.Store).
type requestStore interface {
	CreateUploadRequest(ctx context.Context, r *domain.UploadRequest, tokenHash string) error
	UploadRequests(ctx context.Context, owner string) ([]domain.UploadRequest, error)
	UploadRequestByID(ctx context.Context, id string) (*domain.UploadRequest, error)
	UploadRequestByToken(ctx context.Context, tokenHash string) (*domain.UploadRequest, error)
	RevokeUploadRequest(ctx context.Context, id string) error
	CreateRequestShare(ctx context.Context, id string, sh *domain.Share) error
	RequestOfShare(ctx context.Context, shareID string) (string, error)
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	UploadStatus(ctx context.Context, shareID, dzuuid string) (*domain.UploadStatus, error)
	AbortUpload(ctx context.Context, shareID, dzuuid string) (files []string, err error)
}

// Requests serves upload requests: their management by their creator, and
// the public routes of their links. An uploader holds nothing but the
// token: every public route starts from it, and reaches only the shares
// created through it.
type Requests struct {
	store   requestStore
	content *Content // the chunked upload, shared with /files/{id}/content
	files   fileRemover
	log     *slog.Logger
}

// NewRequests returns the upload request handlers.
func NewRequests(store requestStore, content *Content, files fileRemover, log *slog.Logger) *Requests {
	return &Requests{store: store, content: content, files: files, log: log}
}

// newRequestToken returns a fresh token (256 random bits, base64url) and
// the hash kept of it.
func newRequestToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, requestTokenHash(token)
}

func requestTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func uploadRequestOut(r *domain.UploadRequest) gen.UploadRequest {
	out := gen.UploadRequest{
		RequestId: r.ID, FilesUsed: r.FilesUsed, BytesUsed: r.BytesUsed,
		CreateDate: r.CreatedAt.UTC(), Revoked: r.RevokedAt != nil,
		Label: nullable.NewNullNullable[string](), MaxFiles: nullable.NewNullNullable[int](),
		MaxBytes: nullable.NewNullNullable[int64](), ExpiresAt: nullable.NewNullNullable[time.Time](),
	}
	if r.Label != nil {
		out.Label.Set(*r.Label)
	}
	if r.MaxFiles != nil {
		out.MaxFiles.Set(*r.MaxFiles)
	}
	if r.MaxBytes != nil {
		out.MaxBytes.Set(*r.MaxBytes)
	}
	if r.ExpiresAt != nil {
		out.ExpiresAt.Set(r.ExpiresAt.UTC())
	}
	return out
}

// validateLabel: 1–200 bytes of UTF-8 without control characters (it is
// shown to uploaders).
func validateLabel(l string) error {
	if l == "" || len(l) > 200 || !utf8.ValidString(l) {
		return domain.Errorf(domain.Invalid, "invalid request body: field \"label\" must be 1–200 bytes of UTF-8")
	}
	for _, r := range l {
		if unicode.IsControl(r) {
			return domain.Errorf(domain.Invalid, "invalid request body: field \"label\" must not contain control characters")
		}
	}
	return nil
}

var errAnonymousRequest = domain.Errorf(domain.Unauthorized, "Sign in to make upload requests: the files uploaded through one are yours.")

// CreateUploadRequest makes a link for uploads into the caller's shares.
func (h *Requests) CreateUploadRequest(ctx context.Context, req gen.CreateUploadRequestRequestObject) (gen.CreateUploadRequestResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if c.Anonymous() {
		return nil, errAnonymousRequest
	}
	b := req.Body
	r := &domain.UploadRequest{ID: rand.Text(), Owner: c.Username, MaxFiles: b.MaxFiles, MaxBytes: b.MaxBytes}
	if b.Label != nil {
		if err := validateLabel(*b.Label); err != nil {
			return nil, err
		}
		r.Label = b.Label
	}
	if b.ExpiresAt != nil {
		at := b.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !at.After(time.Now()) || at.Year() > 9999 {
			return nil, domain.Errorf(domain.Invalid, "invalid request body: field \"expires_at\" must be in the future (and before the year 10000)")
		}
		r.ExpiresAt = &at
	}
	token, hash := newRequestToken()
	if err := h.store.CreateUploadRequest(ctx, r, hash); err != nil {
		return nil, err
	}
	url := "/upload-requests/" + r.ID
	return gen.CreateUploadRequest201JSONResponse{UploadRequestCreatedJSONResponse: gen.UploadRequestCreatedJSONResponse{
		Body: gen.UploadRequestCreated{Status: "success", Url: url, Token: token, UploadUrl: "/requests/" + token,
			Request: uploadRequestOut(r)},
		Headers: gen.UploadRequestCreatedResponseHeaders{Location: &url, CacheControl: "no-store"},
	}}, nil
}

// ListUploadRequests lists the caller's upload requests.
func (h *Requests) ListUploadRequests(ctx context.Context, _ gen.ListUploadRequestsRequestObject) (gen.ListUploadRequestsResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if c.Anonymous() {
		return nil, errAnonymousRequest
	}
	rs, err := h.store.UploadRequests(ctx, c.Username)
	if err != nil {
		return nil, err
	}
	out := gen.ListUploadRequests200JSONResponse{Data: make([]gen.UploadRequest, len(rs))}
	for i := range rs {
		out.Data[i] = uploadRequestOut(&rs[i])
	}
	return out, nil
}

// RevokeUploadRequest ends a link: its creator's, or any for an ADMIN.
func (h *Requests) RevokeUploadRequest(ctx context.Context, req gen.RevokeUploadRequestRequestObject) (gen.RevokeUploadRequestResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if c.Anonymous() {
		return nil, errAnonymousRequest
	}
	r, err := h.store.UploadRequestByID(ctx, req.RequestId)
	if err != nil {
		return nil, err
	}
	if r.Owner != c.Username && !c.Perms.Has(domain.PermAdmin) {
		return nil, domain.Errorf(domain.NotFound, "No such upload request.")
	}
	if err := h.store.RevokeUploadRequest(ctx, r.ID); err != nil {
		return nil, err
	}
	return gen.RevokeUploadRequest200JSONResponse{SuccessJSONResponse: success("Upload request revoked.")}, nil
}

// link resolves a token: 404 unknown, 410 expired or revoked (or, with
// files, exhausted).
func (h *Requests) link(ctx context.Context, token string, files bool) (*domain.UploadRequest, error) {
	if len(token) > 256 {
		return nil, domain.Errorf(domain.NotFound, "No such upload request.")
	}
	r, err := h.store.UploadRequestByToken(ctx, requestTokenHash(token))
	if err != nil {
		return nil, err
	}
	return r, r.Gone(time.Now(), files)
}

// linkShare resolves a token and one of the shares created through it:
// 404 for any other share, as for one that does not exist.
func (h *Requests) linkShare(ctx context.Context, token, shareID string) (*domain.UploadRequest, *domain.Share, error) {
	r, err := h.link(ctx, token, false)
	if err != nil {
		return nil, nil, err
	}
	sh, err := loadShare(ctx, h.store, shareID)
	if err != nil {
		return nil, nil, err
	}
	owner, err := h.store.RequestOfShare(ctx, sh.ID)
	if err != nil {
		return nil, nil, err
	}
	if owner != r.ID {
		return nil, nil, errNoShare
	}
	return r, sh, nil
}

// GetRequestLink shows the uploader what the link still allows.
func (h *Requests) GetRequestLink(ctx context.Context, req gen.GetRequestLinkRequestObject) (gen.GetRequestLinkResponseObject, error) {
	r, err := h.link(ctx, req.Token, true)
	if err != nil {
		return nil, err
	}
	out := gen.GetRequestLink200JSONResponse{
		Label: nullable.NewNullNullable[string](), FilesLeft: nullable.NewNullNullable[int](),
		BytesLeft: nullable.NewNullNullable[int64](), ExpiresAt: nullable.NewNullNullable[time.Time](),
	}
	if r.Label != nil {
		out.Label.Set(*r.Label)
	}
	if r.MaxFiles != nil {
		out.FilesLeft.Set(max(0, *r.MaxFiles-r.FilesUsed))
	}
	if r.MaxBytes != nil {
		out.BytesLeft.Set(max(0, *r.MaxBytes-r.BytesUsed))
	}
	if r.ExpiresAt != nil {
		out.ExpiresAt.Set(r.ExpiresAt.UTC())
	}
	return out, nil
}

// CreateRequestFile creates a share owned by the link's creator.
func (h *Requests) CreateRequestFile(ctx context.Context, req gen.CreateRequestFileRequestObject) (gen.CreateRequestFileResponseObject, error) {
	r, err := h.link(ctx, req.Token, true)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, err
	}
	sh := &domain.Share{ID: id.String(), FileName: id.String()}
	if req.Body != nil && req.Body.FileName != nil {
		sh.FileName = *req.Body.FileName
	}
	if err := domain.ValidateFileName(sh.FileName); err != nil {
		return nil, err
	}
	// Judged again under the request's lock: concurrent creates cannot
	// pass max_files.
	if err := h.store.CreateRequestShare(ctx, r.ID, sh); err != nil {
		return nil, err
	}
	return gen.CreateRequestFile201JSONResponse{CreatedJSONResponse: created("/requests/" + req.Token + "/files/" + sh.ID)}, nil
}

// UploadRequestFileContent stores one chunk of a requested file's content:
// the same protocol as POST /files/{id}/content.
func (h *Requests) UploadRequestFileContent(ctx context.Context, req gen.UploadRequestFileContentRequestObject) (gen.UploadRequestFileContentResponseObject, error) {
	r, sh, err := h.linkShare(ctx, req.Token, req.ShareId)
	if err != nil {
		return nil, err
	}
	if err := requestUploadable(sh); err != nil {
		return nil, err
	}
	done, err := h.content.receive(ctx, sh, r, req.Body)
	if err != nil {
		return nil, err
	}
	if done {
		return gen.UploadRequestFileContent201JSONResponse{UploadCompletedJSONResponse: gen.UploadCompletedJSONResponse(completed)}, nil
	}
	return gen.UploadRequestFileContent200JSONResponse{ChunkAcceptedJSONResponse: gen.ChunkAcceptedJSONResponse(accepted)}, nil
}

// requestUploadable: a link uploads a file's first content only.
func requestUploadable(sh *domain.Share) error {
	switch {
	case sh.Locked:
		return errLocked
	case sh.Initialized:
		return domain.Errorf(domain.Locked, "This file's upload is complete.")
	}
	return nil
}

// GetRequestUploadStatus says which chunks of an upload through the link
// the server holds.
func (h *Requests) GetRequestUploadStatus(ctx context.Context, req gen.GetRequestUploadStatusRequestObject) (gen.GetRequestUploadStatusResponseObject, error) {
	_, sh, err := h.linkShare(ctx, req.Token, req.ShareId)
	if err != nil {
		return nil, err
	}
	st, err := h.store.UploadStatus(ctx, sh.ID, req.Dzuuid)
	if err != nil {
		return nil, err
	}
	return gen.GetRequestUploadStatus200JSONResponse(uploadStatusOut(st)), nil
}

// AbortRequestUpload gives up an upload through the link.
func (h *Requests) AbortRequestUpload(ctx context.Context, req gen.AbortRequestUploadRequestObject) (gen.AbortRequestUploadResponseObject, error) {
	_, sh, err := h.linkShare(ctx, req.Token, req.ShareId)
	if err != nil {
		return nil, err
	}
	files, err := h.store.AbortUpload(ctx, sh.ID, req.Dzuuid)
	if err != nil {
		return nil, err
	}
	if err := h.files.Remove(context.WithoutCancel(ctx), files...); err != nil {
		h.log.WarnContext(ctx, "removing aborted upload's files", "share", sh.ID, "err", err)
	}
	return gen.AbortRequestUpload200JSONResponse{SuccessJSONResponse: success("Upload aborted.")}, nil
}
