package impl

import (
	"context"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type settingsStore interface {
	DefaultPerms(ctx context.Context) (domain.Perm, error)
	SetDefaultPerms(ctx context.Context, p domain.Perm) error
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
	return gen.GetSettings200JSONResponse{DefaultPermissions: permsOut(p)}, nil
}

func (h *Settings) set(ctx context.Context, ps *gen.Permissions) error {
	if ps == nil {
		return nil
	}
	p, err := permsIn(*ps)
	if err != nil {
		return err
	}
	return h.store.SetDefaultPerms(ctx, p)
}

// PatchSettings changes the settings given.
func (h *Settings) PatchSettings(ctx context.Context, req gen.PatchSettingsRequestObject) (gen.PatchSettingsResponseObject, error) {
	if err := h.set(ctx, req.Body.DefaultPermissions); err != nil {
		return nil, err
	}
	return gen.PatchSettings200JSONResponse{SuccessJSONResponse: success("Settings updated.")}, nil
}

// PutSettings replaces the settings.
func (h *Settings) PutSettings(ctx context.Context, req gen.PutSettingsRequestObject) (gen.PutSettingsResponseObject, error) {
	if err := h.set(ctx, &req.Body.DefaultPermissions); err != nil {
		return nil, err
	}
	return gen.PutSettings200JSONResponse{SuccessJSONResponse: success("Settings updated.")}, nil
}

// Whoami tells callers who they are; the gate has resolved the caller.
func (h *Settings) Whoami(ctx context.Context, _ gen.WhoamiRequestObject) (gen.WhoamiResponseObject, error) {
	c := domain.CallerFrom(ctx)
	out := gen.Whoami200JSONResponse{Permissions: permsOut(c.Perms)}
	if c.Anonymous() {
		out.Username.SetNull()
	} else {
		out.Username.Set(c.Username)
	}
	return out, nil
}
