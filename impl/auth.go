package impl

import (
	"context"
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
	TokenHolder(ctx context.Context, username, jti string) (*domain.User, bool, error)
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
}

// NewAuth returns the auth handlers.
func NewAuth(store authStore, tokens *auth.Tokens, passwords *auth.Passwords) *Auth {
	return &Auth{store: store, tokens: tokens, passwords: passwords}
}

// WithThrottle limits failed logins per username and per client address;
// X-Forwarded-For is believed only from the trusted proxies.
func (a *Auth) WithThrottle(t *auth.Throttle, trusted []netip.Prefix) *Auth {
	a.throttle, a.trusted = t, trusted
	return a
}

var errBadToken = domain.Errorf(domain.Unauthorized, "Invalid or expired token.")

// Authenticate verifies a bearer token: signature and expiry, then that it
// is not revoked and that its account still exists (the same account, not
// a later one of the same name). Every failure is the same 401.
func (a *Auth) Authenticate(ctx context.Context, token string) (domain.Caller, error) {
	claims, err := a.tokens.Verify(token)
	if err != nil {
		return domain.Caller{}, errBadToken
	}
	u, revoked, err := a.store.TokenHolder(ctx, claims.Username, claims.ID)
	if domain.IsKind(err, domain.NotFound) {
		return domain.Caller{}, errBadToken
	} else if err != nil {
		return domain.Caller{}, err
	}
	if u.ID != claims.UserID || revoked {
		return domain.Caller{}, errBadToken
	}
	return domain.Caller{Username: u.Username, UserID: u.ID, Perms: u.Perms, TokenID: claims.ID}, nil
}

// Anonymous is the caller without a token: the default permissions.
func (a *Auth) Anonymous(ctx context.Context) (domain.Caller, error) {
	p, err := a.store.DefaultPerms(ctx)
	if err != nil {
		return domain.Caller{}, err
	}
	return domain.Caller{Perms: p}, nil
}

var errBadLogin = domain.Errorf(domain.Unauthorized, "Invalid username or password.")

// Login checks the password; an unknown user costs the same bcrypt
// comparison as a wrong password, and gets the same answer. Failures are
// counted per username (known or not, so throttling tells nothing about
// which names exist) and per client address; past the limit, attempts are
// refused with 429 and Retry-After before any password is checked.
func (a *Auth) Login(ctx context.Context, req gen.LoginRequestObject) (gen.LoginResponseObject, error) {
	keys := []string{auth.UserKey(req.Body.Username)}
	if r, _ := ctx.Value(requestKey{}).(*http.Request); r != nil {
		if addr := auth.ClientAddr(r, a.trusted); addr.IsValid() {
			keys = append(keys, auth.AddrKey(addr))
		}
	}
	done, err := a.throttle.Begin(keys...)
	if err != nil {
		return nil, err
	}
	failed := false
	defer func() { done(failed) }()

	u, err := a.store.UserByName(ctx, req.Body.Username)
	if err != nil && !domain.IsKind(err, domain.NotFound) {
		return nil, err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := a.passwords.Check(ctx, hash, req.Body.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		failed = true
		return nil, errBadLogin
	}
	a.throttle.Forget(keys[0])
	tok, _, err := a.tokens.Issue(u.Username, u.ID)
	if err != nil {
		return nil, err
	}
	return gen.Login200JSONResponse{TokenJSONResponse: tokenResponse(u.Username, tok, "Logged in.")}, nil
}

func tokenResponse(username, token, msg string) gen.TokenJSONResponse {
	return gen.TokenJSONResponse{Status: "success", Message: msg, Username: username, AuthToken: token}
}

// ExtendToken issues a fresh token to the caller; the old one stays valid.
func (a *Auth) ExtendToken(ctx context.Context, _ gen.ExtendTokenRequestObject) (gen.ExtendTokenResponseObject, error) {
	c := domain.CallerFrom(ctx)
	tok, _, err := a.tokens.Issue(c.Username, c.UserID)
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

// ChangePassword sets the caller's password after checking the old one.
func (a *Auth) ChangePassword(ctx context.Context, req gen.ChangePasswordRequestObject) (gen.ChangePasswordResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if req.Body.New == nil {
		return nil, domain.Errorf(domain.Invalid, "invalid request body: property \"new\" is missing")
	}
	u, err := a.store.UserByName(ctx, c.Username)
	if err != nil {
		return nil, err
	}
	ok, err := a.passwords.Check(ctx, u.PasswordHash, req.Body.Old)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domain.Errorf(domain.Forbidden, "The old password is wrong.")
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
	return gen.ChangePassword200JSONResponse{SuccessJSONResponse: success("Password changed.")}, nil
}
