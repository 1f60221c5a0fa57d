package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// uidClaim carries the account's database id, so that a token outlives
// neither its account nor a later account of the same name.
const uidClaim = "uid"

// epochClaim carries the user's session epoch at issue: ending a user's
// sessions advances it, which ends every token issued before (see
// domain.TokenStatus). Tokens from before the claim existed have none,
// which reads as 0, the epoch of a user whose sessions were never ended.
const epochClaim = "sep"

// Claims are what a verified token says.
type Claims struct {
	Username string
	UserID   int64
	ID       string // jti, unique per token
	// SessionEpoch is the user's session epoch when the token was issued.
	SessionEpoch int64
	IssuedAt     time.Time
	Expires      time.Time
}

// Tokens signs and verifies tokens with one HS256 key.
type Tokens struct {
	key      []byte
	ttl      time.Duration
	now      func() time.Time
	verified verifiedCache
}

// maxVerified bounds the cache of verified tokens.
const maxVerified = 10000

// verifiedCache remembers tokens whose signature and claims checked out:
// the same string always verifies the same way under one key, and parsing
// it is the costliest step of an authenticated request. Expiry is still
// checked on every use.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]Claims
}

func (c *verifiedCache) get(token string) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	return cl, ok
}

func (c *verifiedCache) put(token string, cl Claims) {
	c.mu.Lock()
	if len(c.m) >= maxVerified || c.m == nil {
		c.m = make(map[string]Claims) // crude but O(1): start over when full
	}
	c.m[token] = cl
	c.mu.Unlock()
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

// Issue signs a new token for the account, at the user's session epoch.
func (t *Tokens) Issue(username string, userID, epoch int64) (string, Claims, error) {
	now := t.now().UTC().Truncate(time.Second)
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Claims{}, err
	}
	c := Claims{Username: username, UserID: userID, ID: hex.EncodeToString(raw[:]), IssuedAt: now, Expires: now.Add(t.ttl), SessionEpoch: epoch}
	tok, err := jwt.NewBuilder().
		Subject(c.Username).
		IssuedAt(c.IssuedAt).
		Expiration(c.Expires).
		JwtID(c.ID).
		Claim(uidClaim, c.UserID).
		Claim(epochClaim, c.SessionEpoch).
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

// Verify checks the form (JWS compact serialisation only), the signature
// (HS256 only: "none" and other algorithms fail), expiry and the presence of
// every claim Sachet requires. It does not consult revocation or the user
// table; the caller does.
func (t *Tokens) Verify(token string) (Claims, error) {
	if c, ok := t.verified.get(token); ok {
		if !t.now().Before(c.Expires) {
			return Claims{}, errors.New(`"exp" not satisfied`)
		}
		return c, nil
	}
	c, err := t.parse(token)
	if err != nil {
		return Claims{}, err
	}
	t.verified.put(token, c)
	return c, nil
}

func (t *Tokens) parse(token string) (Claims, error) {
	// jwx also accepts the JSON serialisation of a JWS (a JSON object,
	// possibly with several signatures and an unprotected header); Sachet
	// issues only the compact form, so nothing else is looked at.
	if !isCompact(token) {
		return Claims{}, errors.New("not a compact JWS")
	}
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
	var epoch int64
	if v, ok := tok.Get(epochClaim); ok {
		f, ok := v.(float64)
		if !ok || f < 0 || f != float64(int64(f)) {
			return Claims{}, fmt.Errorf("malformed %s claim", epochClaim)
		}
		epoch = int64(f)
	}
	return Claims{
		Username:     tok.Subject(),
		UserID:       int64(uid),
		SessionEpoch: epoch,
		ID:           tok.JwtID(),
		IssuedAt:     tok.IssuedAt(),
		Expires:      tok.Expiration(),
	}, nil
}

// isCompact reports whether token has the shape of a JWS compact
// serialisation: three base64url segments separated by two dots.
func isCompact(token string) bool {
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			dots++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}
