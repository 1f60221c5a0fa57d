package impl

import (
	"context"
	"maps"
	"slices"

	"github.com/sachet-server/sachet/domain"
)

// precheckFunc finds the resource error of one operation.
type precheckFunc func(s *Server, ctx context.Context, params map[string]string) error

// prechecks are keyed by operationId as openapi.yaml spells it. api.New
// matches the keys against the spec (Prechecked), so a renamed operation
// stops the server from being built instead of losing its precheck.
var prechecks = map[string]precheckFunc{
	"patchShare":          modifiableShare,
	"putShare":            modifiableShare,
	"uploadShareContent":  uploadableShare(false),
	"replaceShareContent": uploadableShare(true),
	"patchUser":           existingUser,
	"putUser":             existingUser,
	"createApiKey": func(_ *Server, ctx context.Context, params map[string]string) error {
		return checkKeyCreator(ctx, params["username"])
	},
	"createRequestFile": func(s *Server, ctx context.Context, params map[string]string) error {
		_, err := s.Requests.link(ctx, params["token"], true)
		return err
	},
	"uploadRequestFileContent": func(s *Server, ctx context.Context, params map[string]string) error {
		_, sh, err := s.Requests.linkShare(ctx, params["token"], params["share_id"])
		if err != nil {
			return err
		}
		return requestUploadable(sh)
	},
}

// Precheck reports the resource error that a request whose body is
// unusable would have met first — 404, 403, 423 in the contract's order —
// so that a bad body never hides them (see api.Prechecker).
func (s *Server) Precheck(ctx context.Context, op string, params map[string]string) error {
	if f := prechecks[op]; f != nil {
		return f(s, ctx, params)
	}
	return nil
}

// Prechecked lists the operations Precheck knows.
func (s *Server) Prechecked() []string { return slices.Sorted(maps.Keys(prechecks)) }

func modifiableShare(s *Server, ctx context.Context, params map[string]string) error {
	_, err := s.Shares.modifiable(ctx, params["share_id"])
	return err
}

// uploadableShare checks a first upload, or with replace a replacement.
func uploadableShare(replace bool) precheckFunc {
	return func(s *Server, ctx context.Context, params map[string]string) error {
		sh, err := loadShare(ctx, s.Content.store, params["share_id"])
		if err != nil {
			return err
		}
		return uploadable(domain.CallerFrom(ctx), sh, replace)
	}
}

func existingUser(s *Server, ctx context.Context, params map[string]string) error {
	_, err := s.Users.store.UserByName(ctx, params["username"])
	if domain.IsKind(err, domain.NotFound) {
		return errNoUser
	}
	return err
}
