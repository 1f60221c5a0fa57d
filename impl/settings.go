package impl

import (
	"context"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type settingsStore interface {
	DefaultPerms(ctx context.Context) (domain.Perm, error)
	SetDefaultPerms(ctx context.Context, p domain.Perm) error
	DefaultQuota(ctx context.Context) (int64, error)
	SetDefaultQuota(ctx context.Context, q int64) error
	QuotaOf(ctx context.Context, owner string) (int64, error)
	Usage(ctx context.Context, owner string) (int64, error)
}

// Settings serves the server settings and the caller's identity.
type Settings struct {
	store settingsStore
}

// NewSettings returns the settings handlers.
func NewSettings(store settingsStore) *Settings { return &Settings{store: store} }

// GetSettings shows the anonymous permissions.
func (h *Settings) GetSettings(ctx context.Context, _ gen.GetSettingsRequestObject) (gen.GetSettingsResponseObject, error) {
	p, err := h.store.DefaultPerms(ctx)
	if err != nil {
		return nil, err
	}
	q, err := h.store.DefaultQuota(ctx)
	if err != nil {
		return nil, err
	}
	return gen.GetSettings200JSONResponse{DefaultPermissions: permsOut(p), DefaultQuota: &q}, nil
}

// set writes the settings given (nil: unchanged), the quota first: both
// are checked before either is written.
func (h *Settings) set(ctx context.Context, ps *gen.Permissions, quota *int64) error {
	var p domain.Perm
	if ps != nil {
		var err error
		if p, err = permsIn(*ps); err != nil {
			return err
		}
	}
	if quota != nil {
		if *quota < 0 {
			return domain.Errorf(domain.Invalid, "invalid request body: field \"default_quota\" must not be negative")
		}
		if err := h.store.SetDefaultQuota(ctx, *quota); err != nil {
			return err
		}
	}
	if ps == nil {
		return nil
	}
	return h.store.SetDefaultPerms(ctx, p)
}

// PatchSettings changes the settings given.
func (h *Settings) PatchSettings(ctx context.Context, req gen.PatchSettingsRequestObject) (gen.PatchSettingsResponseObject, error) {
	if err := h.set(ctx, req.Body.DefaultPermissions, req.Body.DefaultQuota); err != nil {
		return nil, err
	}
	return gen.PatchSettings200JSONResponse{SuccessJSONResponse: success("Settings updated.")}, nil
}

// PutSettings replaces the settings.
func (h *Settings) PutSettings(ctx context.Context, req gen.PutSettingsRequestObject) (gen.PutSettingsResponseObject, error) {
	if err := h.set(ctx, &req.Body.DefaultPermissions, req.Body.DefaultQuota); err != nil {
		return nil, err
	}
	return gen.PutSettings200JSONResponse{SuccessJSONResponse: success("Settings updated.")}, nil
}

// Whoami tells callers who they are; the gate has resolved the caller.
func (h *Settings) Whoami(ctx context.Context, _ gen.WhoamiRequestObject) (gen.WhoamiResponseObject, error) {
	c := domain.CallerFrom(ctx)
	out := gen.Whoami200JSONResponse{Permissions: permsOut(c.Perms)}
	out.Quota.SetNull()
	if c.Anonymous() {
		out.Username.SetNull()
		return out, nil
	}
	out.Username.Set(c.Username)
	q, err := h.store.QuotaOf(ctx, c.Username)
	if err != nil {
		return nil, err
	}
	if q > 0 {
		out.Quota.Set(q)
	}
	if out.UsedBytes, err = h.store.Usage(ctx, c.Username); err != nil {
		return nil, err
	}
	return out, nil
}
