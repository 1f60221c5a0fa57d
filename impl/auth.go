package impl

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/sachet-server/sachet/auth"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type authStore interface {
	UserByName(ctx context.Context, username string) (*domain.User, error)
	UpdateUser(ctx context.Context, u *domain.User) error
	RevokeToken(ctx context.Context, jti string, expires time.Time) error
	TokenStatus(ctx context.Context, username, jti string, epoch int64) (*domain.User, domain.TokenStatus, error)
	SessionEpoch(ctx context.Context, userID int64) (int64, error)
	EndSessions(ctx context.Context, userID int64, keepJTI string) (int64, error)
	DefaultPerms(ctx context.Context) (domain.Perm, error)
}

// Auth signs users in and out, renews tokens and changes passwords; it is
// also the api package's Authenticator.
type Auth struct {
	store     authStore
	tokens    *auth.Tokens
	passwords *auth.Passwords
	throttle  *auth.Throttle
	trusted   []netip.Prefix
	keys      *Keys // nil: API keys are refused
}

// NewAuth returns the auth handlers.
func NewAuth(store authStore, tokens *auth.Tokens, passwords *auth.Passwords) *Auth {
	return &Auth{store: store, tokens: tokens, passwords: passwords}
}

// WithThrottle limits failed sign-ins and wrong old passwords (see
// auth.Throttle); X-Forwarded-For is believed only from the trusted proxies.
func (a *Auth) WithThrottle(t *auth.Throttle, trusted []netip.Prefix) *Auth {
	a.throttle, a.trusted = t, trusted
	return a
}

// WithKeys lets requests authenticate with the API keys k manages.
func (a *Auth) WithKeys(k *Keys) *Auth {
	a.keys = k
	return a
}

// AuthenticateKey verifies an API key (see Keys.authenticate).
func (a *Auth) AuthenticateKey(ctx context.Context, key string) (domain.Caller, error) {
	if a.keys == nil {
		return domain.Caller{}, errBadKey
	}
	return a.keys.authenticate(ctx, key)
}

var errBadToken = domain.Errorf(domain.Unauthorized, "Invalid or expired token.")

// Authenticate verifies a bearer token: signature and expiry, then that it
// is not revoked, that its user's sessions were not ended since it was
// issued, and that its account still exists (the same account, not a later
// one of the same name). Every failure is the same 401.
func (a *Auth) Authenticate(ctx context.Context, token string) (domain.Caller, error) {
	claims, err := a.tokens.Verify(token)
	if err != nil {
		return domain.Caller{}, errBadToken
	}
	u, st, err := a.store.TokenStatus(ctx, claims.Username, claims.ID, claims.SessionEpoch)
	if domain.IsKind(err, domain.NotFound) {
		return domain.Caller{}, errBadToken
	} else if err != nil {
		return domain.Caller{}, err
	}
	if u.ID != claims.UserID || st.Revoked {
		return domain.Caller{}, errBadToken
	}
	return domain.Caller{Username: u.Username, UserID: u.ID, Perms: u.Perms, TokenID: claims.ID, SessionEpoch: st.Epoch}, nil
}

// Anonymous is the caller without a token: the default permissions.
func (a *Auth) Anonymous(ctx context.Context) (domain.Caller, error) {
	p, err := a.store.DefaultPerms(ctx)
	if err != nil {
		return domain.Caller{}, err
	}
	return domain.Caller{Perms: p}, nil
}

// errBadLogin is the answer to a wrong password or an unknown user, alike;
// ChangePassword turns it into its 403.
var errBadLogin = domain.Errorf(domain.Unauthorized, "Invalid username or password.")

// Login checks the password; an unknown user costs the same bcrypt
// comparison as a wrong password, and gets the same answer. The sign-in
// throttle (see auth.Throttle) judges the attempt first, by username (known
// or not, so throttling tells nothing about which names exist) and client
// address; past a limit it is refused with 429 and Retry-After before any
// password is checked.
func (a *Auth) Login(ctx context.Context, req gen.LoginRequestObject) (gen.LoginResponseObject, error) {
	var u *domain.User
	err := a.throttled(ctx, req.Body.Username, func() (bool, error) {
		var err error
		u, err = a.store.UserByName(ctx, req.Body.Username)
		if err != nil && !domain.IsKind(err, domain.NotFound) {
			return false, err
		}
		hash := ""
		if u != nil {
			hash = u.PasswordHash
		}
		return a.passwords.Check(ctx, hash, req.Body.Password)
	})
	if err != nil {
		return nil, err
	}
	epoch, err := a.store.SessionEpoch(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	tok, _, err := a.tokens.Issue(u.Username, u.ID, epoch)
	if err != nil {
		return nil, err
	}
	return gen.Login200JSONResponse{TokenJSONResponse: tokenResponse(u.Username, tok, "Logged in.")}, nil
}

// throttled runs check, which compares a password for username, under the
// sign-in throttle: refused (429) before check runs when the budgets of
// username and the client's address are used up, charged as a failure when
// check says the password is wrong (errBadLogin), refunded otherwise.
func (a *Auth) throttled(ctx context.Context, username string, check func() (bool, error)) error {
	var addr netip.Addr
	if r, _ := ctx.Value(requestKey{}).(*http.Request); r != nil {
		addr = auth.ClientAddr(r, a.trusted)
	}
	att, err := a.throttle.Begin(ctx, username, addr)
	if err != nil {
		return err
	}
	ok, err := check()
	switch {
	case err != nil:
		// No verdict: give the charge back, even if the request's context
		// is what ended.
		_ = att.Refund(context.WithoutCancel(ctx))
		return err
	case !ok:
		return errBadLogin // the charge stands
	}
	return att.Succeeded(context.WithoutCancel(ctx))
}

// tokenResponse is the body of a new token, which no cache may keep.
func tokenResponse(username, token, msg string) gen.TokenJSONResponse {
	return gen.TokenJSONResponse{
		Body:    gen.TokenResponse{Status: "success", Message: msg, Username: username, AuthToken: token},
		Headers: gen.TokenResponseHeaders{CacheControl: "no-store"},
	}
}

// ExtendToken issues a fresh token to the caller; the old one stays valid.
// The new token belongs to the caller's token's session epoch, not the
// user's current one: a renewal of a token whose sessions were ended
// meanwhile (seen late through another process's cache) ends with it.
func (a *Auth) ExtendToken(ctx context.Context, _ gen.ExtendTokenRequestObject) (gen.ExtendTokenResponseObject, error) {
	c := domain.CallerFrom(ctx)
	tok, _, err := a.tokens.Issue(c.Username, c.UserID, c.SessionEpoch)
	if err != nil {
		return nil, err
	}
	return gen.ExtendToken200JSONResponse{TokenJSONResponse: tokenResponse(c.Username, tok, "Renewed token.")}, nil
}

// Logout revokes the given token: the caller's own, or anyone's for ADMIN.
// A token that is invalid, expired or already revoked is a 400.
func (a *Auth) Logout(ctx context.Context, req gen.LogoutRequestObject) (gen.LogoutResponseObject, error) {
	c := domain.CallerFrom(ctx)
	claims, err := a.tokens.Verify(req.Body.Token)
	if err != nil {
		return nil, domain.Errorf(domain.Invalid, "The token to revoke is invalid or expired.")
	}
	if claims.Username != c.Username && !c.Perms.Has(domain.PermAdmin) {
		return nil, domain.Errorf(domain.Forbidden, "That token belongs to another user.")
	}
	if err := a.store.RevokeToken(ctx, claims.ID, claims.Expires); err != nil {
		if domain.IsKind(err, domain.Conflict) {
			return nil, domain.Errorf(domain.Invalid, "The token is already revoked.")
		}
		return nil, err
	}
	return gen.Logout200JSONResponse{SuccessJSONResponse: success("Token revoked.")}, nil
}

// ChangePassword sets the caller's password after checking the old one,
// then ends every other token of the caller: the one that made the call
// stays valid. A wrong old password counts as a failed sign-in.
func (a *Auth) ChangePassword(ctx context.Context, req gen.ChangePasswordRequestObject) (gen.ChangePasswordResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if req.Body.New == nil {
		return nil, domain.Errorf(domain.Invalid, "invalid request body: property \"new\" is missing")
	}
	u, err := a.store.UserByName(ctx, c.Username)
	if err != nil {
		return nil, err
	}
	err = a.throttled(ctx, c.Username, func() (bool, error) {
		return a.passwords.Check(ctx, u.PasswordHash, req.Body.Old)
	})
	if errors.Is(err, errBadLogin) {
		return nil, domain.Errorf(domain.Forbidden, "The old password is wrong.")
	} else if err != nil {
		return nil, err
	}
	if err := domain.ValidatePassword(*req.Body.New); err != nil {
		return nil, err
	}
	if u.PasswordHash, err = a.passwords.Hash(ctx, *req.Body.New); err != nil {
		return nil, err
	}
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if _, err := a.store.EndSessions(ctx, u.ID, c.TokenID); err != nil {
		return nil, err
	}
	return gen.ChangePassword200JSONResponse{SuccessJSONResponse: success("Password changed.")}, nil
}

// RevokeUserTokens ends every session of a user: all tokens issued to them
// so far, the caller's own included when it is theirs. Allowed for the
// user and for ADMIN; anyone else, and a missing user, get 403 (as
// GET /users/{username} answers), so the route tells no one which names
// exist.
func (a *Auth) RevokeUserTokens(ctx context.Context, req gen.RevokeUserTokensRequestObject) (gen.RevokeUserTokensResponseObject, error) {
	c := domain.CallerFrom(ctx)
	denied := domain.Errorf(domain.Forbidden, "You may end only your own sessions.")
	if req.Username != c.Username && !c.Perms.Has(domain.PermAdmin) {
		return nil, denied
	}
	u, err := a.store.UserByName(ctx, req.Username)
	if domain.IsKind(err, domain.NotFound) {
		return nil, denied
	} else if err != nil {
		return nil, err
	}
	if _, err := a.store.EndSessions(ctx, u.ID, ""); err != nil {
		if domain.IsKind(err, domain.NotFound) { // deleted meanwhile
			return nil, denied
		}
		return nil, err
	}
	return gen.RevokeUserTokens200JSONResponse{SuccessJSONResponse: success("Sessions ended.")}, nil
}
