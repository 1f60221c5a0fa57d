package auth

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// uidClaim carries the account's database id, so that a token outlives
// neither its account nor a later account of the same name.
const uidClaim = "uid"

// Claims are what a verified token says.
type Claims struct {
	Username string
	UserID   int64
	ID       string // jti, unique per token
	IssuedAt time.Time
	Expires  time.Time
}

// Tokens signs and verifies tokens with one HS256 key.
type Tokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewTokens returns a signer/verifier. key must be at least 32 bytes.
func NewTokens(key []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("secret key must be at least 32 bytes, got %d", len(key))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("token lifetime must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: key, ttl: ttl, now: now}, nil
}

// Issue signs a new token for the account.
func (t *Tokens) Issue(username string, userID int64) (string, Claims, error) {
	now := t.now().UTC().Truncate(time.Second)
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Claims{}, err
	}
	c := Claims{Username: username, UserID: userID, ID: hex.EncodeToString(raw[:]), IssuedAt: now, Expires: now.Add(t.ttl)}
	tok, err := jwt.NewBuilder().
		Subject(c.Username).
		IssuedAt(c.IssuedAt).
		Expiration(c.Expires).
		JwtID(c.ID).
		Claim(uidClaim, c.UserID).
		Build()
	if err != nil {
		return "", Claims{}, err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, t.key))
	if err != nil {
		return "", Claims{}, err
	}
	return string(signed), c, nil
}

// Verify checks the signature (HS256 only: "none" and other algorithms
// fail), expiry and the presence of every claim Sachet issues. It does not
// consult revocation or the user table; the caller does.
func (t *Tokens) Verify(token string) (Claims, error) {
	tok, err := jwt.ParseString(token,
		jwt.WithKey(jwa.HS256, t.key),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(t.now)),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
		jwt.WithRequiredClaim(uidClaim),
	)
	if err != nil {
		return Claims{}, err
	}
	v, _ := tok.Get(uidClaim)
	uid, ok := v.(float64)
	if !ok || uid != float64(int64(uid)) {
		return Claims{}, fmt.Errorf("malformed %s claim", uidClaim)
	}
	return Claims{
		Username: tok.Subject(),
		UserID:   int64(uid),
		ID:       tok.JwtID(),
		IssuedAt: tok.IssuedAt(),
		Expires:  tok.Expiration(),
	}, nil
}
