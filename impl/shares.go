package impl

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type shareStore interface {
	CreateShare(ctx context.Context, sh *domain.Share) error
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	UpdateShare(ctx context.Context, id string, ch domain.ShareUpdate) error
	SetLocked(ctx context.Context, id string, locked bool) error
	DeleteShare(ctx context.Context, id string) (files []string, err error)
	ListShares(ctx context.Context, limit, offset int) ([]domain.Share, int, error)
}

// fileRemover deletes stored content (blob.Store).
type fileRemover interface {
	Remove(ctx context.Context, ids ...string) error
}

// Shares manages share metadata, listing and locks.
type Shares struct {
	store shareStore
	files fileRemover
	log   *slog.Logger
}

// NewShares returns the share handlers.
func NewShares(store shareStore, files fileRemover, log *slog.Logger) *Shares {
	return &Shares{store: store, files: files, log: log}
}

// share loads a share by its path id; any malformed id is a 404.
func loadShare(ctx context.Context, store interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
}, id string) (*domain.Share, error) {
	id, err := canonicalShareID(id)
	if err != nil {
		return nil, err
	}
	sh, err := store.ShareByID(ctx, id)
	if domain.IsKind(err, domain.NotFound) {
		return nil, errNoShare
	}
	return sh, err
}

var (
	errNotOwner = domain.Errorf(domain.Forbidden, "Only the share's owner may do that.")
	errLocked   = domain.Errorf(domain.Locked, "The share is locked.")
)

// ListShares pages through all shares by creation time, then id.
func (h *Shares) ListShares(ctx context.Context, req gen.ListSharesRequestObject) (gen.ListSharesResponseObject, error) {
	pg := pageIn(req.Params.Page, req.Params.PerPage)
	limit, offset := pg.limitOffset()
	shares, total, err := h.store.ListShares(ctx, limit, offset)
	if err != nil {
		return nil, err
	}
	out := gen.ListShares200JSONResponse{Data: make([]gen.Share, len(shares))}
	for i := range shares {
		out.Data[i] = shareOut(&shares[i])
	}
	out.Pages, out.Next, out.Prev = pg.links(total)
	return out, nil
}

// CreateShare makes an empty share owned by the caller.
func (h *Shares) CreateShare(ctx context.Context, req gen.CreateShareRequestObject) (gen.CreateShareResponseObject, error) {
	c := domain.CallerFrom(ctx)
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, err
	}
	sh := &domain.Share{ID: id.String(), FileName: id.String()}
	if b := req.Body; b != nil {
		if err := shareCreateReadOnly(b).checkNew(); err != nil {
			return nil, err
		}
		// owner_name is ignored: a new share is the caller's (API.md).
		if b.FileName != nil {
			sh.FileName = *b.FileName
		}
		_, at, err := expiryIn(b.ExpiresAt)
		if err != nil {
			return nil, err
		}
		sh.ExpiresAt = at
	}
	if err := domain.ValidateFileName(sh.FileName); err != nil {
		return nil, err
	}
	if !c.Anonymous() {
		sh.Owner = &c.Username
	}
	if err := h.store.CreateShare(ctx, sh); err != nil {
		return nil, err
	}
	return gen.CreateShare201JSONResponse{CreatedJSONResponse: created("/files/" + sh.ID)}, nil
}

// GetShare shows a share's metadata.
func (h *Shares) GetShare(ctx context.Context, req gen.GetShareRequestObject) (gen.GetShareResponseObject, error) {
	sh, err := loadShare(ctx, h.store, req.ShareId)
	if err != nil {
		return nil, err
	}
	return gen.GetShare200JSONResponse(shareOut(sh)), nil
}

// modifiable loads a share the caller may change: 404, then 403, then 423.
func (h *Shares) modifiable(ctx context.Context, id string) (*domain.Share, error) {
	sh, err := loadShare(ctx, h.store, id)
	if err != nil {
		return nil, err
	}
	if !domain.CallerFrom(ctx).Owns(sh.Owner) {
		return nil, errNotOwner
	}
	if sh.Locked {
		return nil, errLocked
	}
	return sh, nil
}

// updateMeta writes the fields given, and only those, on condition that
// the share still has the owner modifiable judged the caller against: a
// rename racing a transfer must neither undo the transfer nor land after
// it as if the old owner still had the right.
func (h *Shares) updateMeta(ctx context.Context, sh *domain.Share, fileName *string, owner *string, setOwner bool, expiry nullable.Nullable[gen.ShareExpiresAt]) error {
	if fileName != nil {
		if err := domain.ValidateFileName(*fileName); err != nil {
			return err
		}
	}
	setExpiry, expiresAt, err := expiryIn(expiry)
	if err != nil {
		return err
	}
	err = h.store.UpdateShare(ctx, sh.ID, domain.ShareUpdate{
		FileName: fileName, SetOwner: setOwner, Owner: owner,
		CheckOwner: true, WasOwner: sh.Owner,
		SetExpiry: setExpiry, ExpiresAt: expiresAt,
	})
	switch {
	case domain.IsKind(err, domain.NotFound):
		return errNoShare
	case domain.IsKind(err, domain.Forbidden):
		return errNotOwner
	case domain.IsKind(err, domain.Locked):
		return errLocked
	}
	return err
}

// PatchShare changes the given metadata fields of one's own share.
func (h *Shares) PatchShare(ctx context.Context, req gen.PatchShareRequestObject) (gen.PatchShareResponseObject, error) {
	sh, err := h.modifiable(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	if err := sharePatchReadOnly(req.Body).check(sh); err != nil {
		return nil, err
	}
	owner, setOwner := ownerIn(req.Body.OwnerName)
	if err := h.updateMeta(ctx, sh, req.Body.FileName, owner, setOwner, req.Body.ExpiresAt); err != nil {
		return nil, err
	}
	return gen.PatchShare200JSONResponse{SuccessJSONResponse: success("Share updated.")}, nil
}

// PutShare replaces the metadata of one's own share.
func (h *Shares) PutShare(ctx context.Context, req gen.PutShareRequestObject) (gen.PutShareResponseObject, error) {
	sh, err := h.modifiable(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	if err := sharePutReadOnly(req.Body).check(sh); err != nil {
		return nil, err
	}
	// owner_name is required (the gate validated it), so it is set: a name
	// or null.
	owner, _ := ownerIn(req.Body.OwnerName)
	// expires_at absent keeps the share's expiry: a PUT from a client
	// that predates it must not clear it.
	if err := h.updateMeta(ctx, sh, &req.Body.FileName, owner, true, req.Body.ExpiresAt); err != nil {
		return nil, err
	}
	return gen.PutShare200JSONResponse{SuccessJSONResponse: success("Share updated.")}, nil
}

// ownerIn reads a nullable owner_name: absent (set false: keep the owner),
// null (anonymous users own it) or a name.
func ownerIn(n nullable.Nullable[string]) (owner *string, set bool) {
	if !n.IsSpecified() {
		return nil, false
	}
	if n.IsNull() {
		return nil, true
	}
	name, _ := n.Get() // specified and not null: Get cannot fail
	return &name, true
}

// expiryIn reads a nullable expires_at: absent (set false: keep it), null
// (never expires) or a time, which must be in the future.
func expiryIn(n nullable.Nullable[gen.ShareExpiresAt]) (set bool, at *time.Time, err error) {
	if !n.IsSpecified() {
		return false, nil, nil
	}
	if n.IsNull() {
		return true, nil, nil
	}
	t, _ := n.Get()
	t = t.UTC().Truncate(time.Microsecond)
	if !t.After(time.Now()) {
		return false, nil, domain.Errorf(domain.Invalid, "invalid request body: field \"expires_at\" must be in the future (it is %s)", t.Format(time.RFC3339Nano))
	}
	if t.Year() > 9999 {
		return false, nil, domain.Errorf(domain.Invalid, "invalid request body: field \"expires_at\" is past the year 9999")
	}
	return true, &t, nil
}

// DeleteShare removes any unlocked share with its content and uploads.
func (h *Shares) DeleteShare(ctx context.Context, req gen.DeleteShareRequestObject) (gen.DeleteShareResponseObject, error) {
	id, err := canonicalShareID(req.ShareId)
	if err != nil {
		return nil, err
	}
	files, err := h.store.DeleteShare(ctx, id)
	switch {
	case domain.IsKind(err, domain.NotFound):
		return nil, errNoShare
	case domain.IsKind(err, domain.Locked):
		return nil, errLocked
	case err != nil:
		return nil, err
	}
	// The rows are gone; a file that fails to go now is an orphan the
	// periodic sweep removes.
	if err := h.files.Remove(context.WithoutCancel(ctx), files...); err != nil {
		h.log.WarnContext(ctx, "removing deleted share's files", "share", id, "err", err)
	}
	return gen.DeleteShare200JSONResponse{SuccessJSONResponse: success("Share deleted.")}, nil
}

func (h *Shares) setLocked(ctx context.Context, id string, locked bool) error {
	id, err := canonicalShareID(id)
	if err != nil {
		return err
	}
	err = h.store.SetLocked(ctx, id, locked)
	if domain.IsKind(err, domain.NotFound) {
		return errNoShare
	}
	return err
}

// LockShare locks any share.
func (h *Shares) LockShare(ctx context.Context, req gen.LockShareRequestObject) (gen.LockShareResponseObject, error) {
	if err := h.setLocked(ctx, req.ShareId, true); err != nil {
		return nil, err
	}
	return gen.LockShare200JSONResponse{SuccessJSONResponse: success("Share locked.")}, nil
}

// UnlockShare unlocks any share.
func (h *Shares) UnlockShare(ctx context.Context, req gen.UnlockShareRequestObject) (gen.UnlockShareResponseObject, error) {
	if err := h.setLocked(ctx, req.ShareId, false); err != nil {
		return nil, err
	}
	return gen.UnlockShare200JSONResponse{SuccessJSONResponse: success("Share unlocked.")}, nil
}
