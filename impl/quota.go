package impl

import (
	"context"
	"io"

	"github.com/sachet-server/sachet/domain"
)

// quotaKeeper reserves upload bytes against share owners' quotas
// (db.Store; see db/quota.go).
type quotaKeeper interface {
	QuotaOf(ctx context.Context, owner string) (int64, error)
	CheckQuota(ctx context.Context, owner, request, shareID, dzuuid string, declared int64) error
	Reserve(ctx context.Context, id int64, owner, request, shareID string, n int64) (int64, error)
	AttachHold(ctx context.Context, id int64, dzuuid string) error
	DropHold(ctx context.Context, id int64) error
	ReleaseHolds(ctx context.Context, shareID, dzuuid string) error
	UploadStatus(ctx context.Context, shareID, dzuuid string) (*domain.UploadStatus, error)
	AbortUpload(ctx context.Context, shareID, dzuuid string) (files []string, err error)
}

// WithQuotas makes h enforce the share owners' storage quotas on uploads;
// files removes what an upload refused by its quota leaves.
func (h *Content) WithQuotas(q quotaKeeper, files fileRemover) *Content {
	h.quotas, h.files = q, files
	return h
}

// tidyRefused removes the upload dzuuid that a chunk refused by the quota
// opened, if it holds no chunk: a refusal leaves nothing behind. (A chunk
// of the same upload still streaming concurrently then finds it gone and
// is refused too; it would have passed the quota as well.)
func (h *Content) tidyRefused(ctx context.Context, shareID, dzuuid string) {
	if dzuuid == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	st, err := h.quotas.UploadStatus(ctx, shareID, dzuuid)
	if err != nil || st.Received > 0 {
		return
	}
	files, err := h.quotas.AbortUpload(ctx, shareID, dzuuid)
	if err != nil {
		return
	}
	if err := h.files.Remove(ctx, files...); err != nil {
		h.log.WarnContext(ctx, "removing an upload refused by its quota", "share", shareID, "err", err)
	}
}

// quotaStep is how many bytes a streaming chunk of unknown length
// reserves at a time: one database write per step. A chunk whose length
// the form's fields give (Dropzone sends them) reserves it all at once.
// Either way a step that no longer fits is cut to the exact shortfall
// before the chunk is refused, so a refusal is exact.
const quotaStep = 1 << 20

// quotaHold is one chunk request's reservation against the quota of the
// share's owner. nil when the owner has no quota (or the share is
// anonymous users'): then nothing is reserved.
type quotaHold struct {
	q       quotaKeeper
	owner   string
	request string // the upload request whose max_bytes also bounds it, or ""
	shareID string
	id      int64 // 0 until the first reservation records the hold
}

// hold returns the request's quota hold for a chunk to sh, nil if its
// owner's storage is unlimited and no upload request's max_bytes bounds
// it (ur: the upload request the chunk comes through, or nil).
func (h *Content) hold(ctx context.Context, sh *domain.Share, ur *domain.UploadRequest) (*quotaHold, error) {
	if h.quotas == nil || sh.Owner == nil {
		return nil, nil
	}
	q, err := h.quotas.QuotaOf(ctx, *sh.Owner)
	if err != nil {
		return nil, err
	}
	qh := &quotaHold{q: h.quotas, owner: *sh.Owner, shareID: sh.ID}
	if ur != nil && ur.MaxBytes != nil {
		qh.request = ur.ID
	} else if q == 0 {
		return nil, nil
	}
	return qh, nil
}

// check judges the whole file's declared size, before any byte streams.
func (qh *quotaHold) check(ctx context.Context, dzuuid string, declared int64) error {
	if qh == nil || declared < 0 {
		return nil
	}
	return qh.q.CheckQuota(ctx, qh.owner, qh.request, qh.shareID, dzuuid, declared)
}

// reader wraps the chunk's bytes so that they are reserved as they
// arrive; a refusal fails the read, and the chunk store keeps nothing.
// hint is the part's length as the fields give it (-1: unknown).
func (qh *quotaHold) reader(ctx context.Context, r io.Reader, hint int64) (io.Reader, error) {
	if qh == nil {
		return r, nil
	}
	// The hold is recorded by the first reservation, with the first bytes.
	return &quotaReader{ctx: ctx, h: qh, r: r, hint: hint}, nil
}

// done ends the request's part: the chunk was recorded in upload dzuuid
// (kept: the hold lasts as long as the upload), the upload completed
// (its holds go: its content now counts), or the chunk was refused.
func (qh *quotaHold) done(ctx context.Context, dzuuid string, recorded, completed bool) {
	if qh == nil || qh.id == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	// Errors leave a hold that over-counts until cleanup purges it: never
	// one that lets an upload pass the quota.
	switch {
	case completed:
		_ = qh.q.DropHold(ctx, qh.id)
		_ = qh.q.ReleaseHolds(ctx, qh.shareID, dzuuid)
	case recorded:
		_ = qh.q.AttachHold(ctx, qh.id, dzuuid)
	default:
		_ = qh.q.DropHold(ctx, qh.id)
	}
}

type quotaReader struct {
	ctx      context.Context
	h        *quotaHold
	r        io.Reader
	read     int64
	reserved int64
	hint     int64 // the part's expected length, -1 if unknown
}

func (r *quotaReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.read += int64(n)
	if r.read > r.reserved {
		need := r.read - r.reserved
		step := max(need, quotaStep, r.hint-r.reserved)
		id, rerr := r.h.q.Reserve(r.ctx, r.h.id, r.h.owner, r.h.request, r.h.shareID, step)
		if domain.IsKind(rerr, domain.TooLarge) && step > need {
			step = need // a whole step no longer fits: the exact bytes may
			id, rerr = r.h.q.Reserve(r.ctx, r.h.id, r.h.owner, r.h.request, r.h.shareID, step)
		}
		if rerr != nil {
			return 0, rerr
		}
		r.h.id = id
		r.reserved += step
	}
	return n, err
}
