package impl

import (
	"context"

	"github.com/sachet-server/sachet/domain"
)

// Precheck reports the resource error that a request whose body is
// unusable would have met first — 404, 403, 423 in the contract's order —
// so that a bad body never hides them (see api.Prechecker).
func (s *Server) Precheck(ctx context.Context, op string, params map[string]string) error {
	switch op {
	case "patchShare", "putShare":
		_, err := s.Shares.modifiable(ctx, params["share_id"])
		return err
	case "uploadShareContent", "replaceShareContent":
		sh, err := loadShare(ctx, s.Content.store, params["share_id"])
		if err != nil {
			return err
		}
		return uploadable(domain.CallerFrom(ctx), sh, op == "replaceShareContent")
	case "createApiKey":
		return checkKeyCreator(ctx, params["username"])
	case "patchUser", "putUser":
		_, err := s.Users.store.UserByName(ctx, params["username"])
		if domain.IsKind(err, domain.NotFound) {
			return errNoUser
		}
		return err
	}
	return nil
}
