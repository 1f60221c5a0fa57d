package impl

import (
	"context"
	"log/slog"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type uploadStatusStore interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	UploadStatus(ctx context.Context, shareID, dzuuid string) (*domain.UploadStatus, error)
	AbortUpload(ctx context.Context, shareID, dzuuid string) (files []string, err error)
}

// Uploads answers questions about unfinished uploads, and aborts them, so
// that a client can resume an interrupted upload or give it up.
type Uploads struct {
	store uploadStatusStore
	blobs fileRemover
	log   *slog.Logger
}

// NewUploads returns the unfinished-upload handlers.
func NewUploads(store uploadStatusStore, blobs fileRemover, log *slog.Logger) *Uploads {
	return &Uploads{store: store, blobs: blobs, log: log}
}

// uploadOwner applies the checks before an upload is looked up: 404 for
// the share, then 403 unless the caller owns it. Whether the share is
// locked or initialized does not matter: asking about an upload changes
// nothing, and aborting one only frees space. The gate has already
// checked CREATE or MODIFY. Ownership comes before the upload's existence
// so that nobody else can probe which uploads a share has.
func (h *Uploads) uploadOwner(ctx context.Context, shareID string) (*domain.Share, error) {
	sh, err := loadShare(ctx, h.store, shareID)
	if err != nil {
		return nil, err
	}
	if !domain.CallerFrom(ctx).Owns(sh.Owner) {
		return nil, errNotOwner
	}
	return sh, nil
}

// GetUploadStatus says which chunks of an unfinished upload are held.
func (h *Uploads) GetUploadStatus(ctx context.Context, req gen.GetUploadStatusRequestObject) (gen.GetUploadStatusResponseObject, error) {
	sh, err := h.uploadOwner(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	st, err := h.store.UploadStatus(ctx, sh.ID, req.Dzuuid)
	if err != nil {
		return nil, err
	}
	return gen.GetUploadStatus200JSONResponse(uploadStatusOut(st)), nil
}

func uploadStatusOut(st *domain.UploadStatus) gen.UploadStatus {
	chunks := make([][]int, len(st.Held))
	for i, r := range st.Held {
		chunks[i] = []int{r[0], r[1]}
	}
	return gen.UploadStatus{
		Dzuuid:         st.DZUUID,
		TotalChunks:    st.TotalChunks,
		ReceivedChunks: st.Received,
		Chunks:         chunks,
		BytesHeld:      st.BytesHeld,
		CreateDate:     st.CreatedAt.UTC(),
	}
}

// AbortUpload deletes an unfinished upload and its files.
func (h *Uploads) AbortUpload(ctx context.Context, req gen.AbortUploadRequestObject) (gen.AbortUploadResponseObject, error) {
	sh, err := h.uploadOwner(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	files, err := h.store.AbortUpload(ctx, sh.ID, req.Dzuuid)
	if err != nil {
		return nil, err
	}
	// The rows are gone: a file that fails to go now is an orphan the
	// periodic sweep removes, so the abort still succeeded.
	if err := h.blobs.Remove(context.WithoutCancel(ctx), files...); err != nil {
		h.log.WarnContext(ctx, "removing aborted upload's files", "share", sh.ID, "err", err)
	}
	return gen.AbortUpload200JSONResponse{SuccessJSONResponse: gen.SuccessJSONResponse{Status: "success", Message: "Upload aborted."}}, nil
}
