package domain

import "context"

// Caller is who a request runs as: a signed-in user, or the anonymous
// user (Username "") whose permissions are the server's default ones.
type Caller struct {
	Username string
	UserID   int64
	Perms    Perm
	TokenID  string // jti of the token used; "" for anonymous
	// KeyID is the API key the request authenticated with; "" for a
	// token or anonymous. Perms are then the key's and its user's in common.
	KeyID string
	// SessionEpoch is the session epoch a token renewed from this
	// caller's token carries (see TokenStatus).
	SessionEpoch int64
}

// Anonymous reports whether the caller did not authenticate.
func (c Caller) Anonymous() bool { return c.Username == "" }

// Owns reports whether the caller owns a share with the given owner;
// anonymous callers own the shares whose owner is nil.
func (c Caller) Owns(owner *string) bool {
	if owner == nil {
		return c.Anonymous()
	}
	return !c.Anonymous() && *owner == c.Username
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller stored by WithCaller; the zero Caller
// (anonymous, no permissions) when there is none.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// PermissionError is the error for a caller lacking p: Unauthorized for
// anonymous callers (they should log in), Forbidden for users.
func PermissionError(c Caller, p Perm) error {
	if c.Anonymous() {
		return Errorf(Unauthorized, "Authentication required: anonymous users lack the %s permission.", p)
	}
	return Errorf(Forbidden, "This needs the %s permission.", p)
}
