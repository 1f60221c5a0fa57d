package impl

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type keyStore interface {
	UserByName(ctx context.Context, username string) (*domain.User, error)
	CreateAPIKey(ctx context.Context, k *domain.APIKey) error
	APIKeys(ctx context.Context, userID int64) ([]domain.APIKey, error)
	DeleteAPIKey(ctx context.Context, userID int64, keyID string) error
	APIKeyHolder(ctx context.Context, keyID string) (*domain.APIKey, *domain.User, error)
	TouchAPIKey(ctx context.Context, keyID string, now time.Time) error
}

// Keys manages API keys and authenticates requests made with one.
type Keys struct {
	store keyStore
	now   func() time.Time
}

// NewKeys returns the API key handlers.
func NewKeys(store keyStore) *Keys {
	return &Keys{store: store, now: time.Now}
}

// A key is APIKeyPrefix, 8 random bytes of id and 32 of secret, in hex:
// "sachet_<16 hex>_<64 hex>". The id finds the row; the whole string's
// SHA-256 is what is stored. 256 bits of secret make a fast hash as safe as
// a slow one, and keep every request made with a key cheap.
const (
	keyIDBytes     = 8
	keySecretBytes = 32
)

// newKey returns a fresh key's id, its whole string, and the hash to store.
func newKey() (id, key, hash string, err error) {
	var raw [keyIDBytes + keySecretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", "", err
	}
	id = hex.EncodeToString(raw[:keyIDBytes])
	key = domain.APIKeyPrefix + id + "_" + hex.EncodeToString(raw[keyIDBytes:])
	return id, key, hashKey(key), nil
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// parseKey returns the id of a well-formed key.
func parseKey(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, domain.APIKeyPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || !isHex(id, keyIDBytes) || !isHex(secret, keySecretBytes) {
		return "", false
	}
	return id, true
}

// isHex reports whether s is exactly n bytes in lowercase hex.
func isHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

var errBadKey = domain.Errorf(domain.Unauthorized, "Invalid, expired or revoked API key.")

// authenticate verifies an API key: well formed, known (not revoked, its
// user not deleted), the secret's hash matching in constant time, not
// expired. The caller acts as the key's user with the key's permissions
// cut to the user's current ones. Every failure is the same 401.
func (h *Keys) authenticate(ctx context.Context, key string) (domain.Caller, error) {
	id, ok := parseKey(key)
	if !ok {
		return domain.Caller{}, errBadKey
	}
	k, u, err := h.store.APIKeyHolder(ctx, id)
	if domain.IsKind(err, domain.NotFound) {
		return domain.Caller{}, errBadKey
	} else if err != nil {
		return domain.Caller{}, err
	}
	if subtle.ConstantTimeCompare([]byte(hashKey(key)), []byte(k.SecretHash)) != 1 {
		return domain.Caller{}, errBadKey
	}
	now := h.now()
	if k.Expired(now) {
		return domain.Caller{}, errBadKey
	}
	// Recording the last use is bookkeeping: a failure to write it (the
	// database busy or read-only) must not fail the request it describes.
	_ = h.store.TouchAPIKey(ctx, id, now)
	return domain.Caller{Username: u.Username, UserID: u.ID, Perms: k.Perms & u.Perms, KeyID: k.ID}, nil
}

// errNotYourKeys is the answer to anyone but the user and ADMIN, and to a
// user that does not exist, as GET /users/{username} answers: the routes
// tell no one which names exist.
var errNotYourKeys = domain.Errorf(domain.Forbidden, "You may manage only your own API keys.")

// keyOwner returns the id of the user named username, whose keys the
// caller may list or revoke: their own, or anyone's for ADMIN.
func (h *Keys) keyOwner(ctx context.Context, username string) (int64, error) {
	c := domain.CallerFrom(ctx)
	if username == c.Username {
		return c.UserID, nil
	}
	if !c.Perms.Has(domain.PermAdmin) {
		return 0, errNotYourKeys
	}
	u, err := h.store.UserByName(ctx, username)
	if domain.IsKind(err, domain.NotFound) {
		return 0, errNotYourKeys
	} else if err != nil {
		return 0, err
	}
	return u.ID, nil
}

// checkKeyCreator is the ownership check of createApiKey, also run before
// its body is judged (Precheck): keys are made only for oneself, admins
// included, so no one mints a credential that acts as someone else.
func checkKeyCreator(ctx context.Context, username string) error {
	if username != domain.CallerFrom(ctx).Username {
		return domain.Errorf(domain.Forbidden, "You may create API keys only for yourself.")
	}
	return nil
}

// CreateApiKey makes a key for the caller with a subset of the caller's
// permissions, and returns its secret this once.
func (h *Keys) CreateApiKey(ctx context.Context, req gen.CreateApiKeyRequestObject) (gen.CreateApiKeyResponseObject, error) {
	c := domain.CallerFrom(ctx)
	if err := checkKeyCreator(ctx, req.Username); err != nil {
		return nil, err
	}
	b := req.Body
	if err := domain.ValidateAPIKeyName(b.Name); err != nil {
		return nil, err
	}
	perms, err := permsIn(b.Permissions)
	if err != nil {
		return nil, err
	}
	if lacking := perms &^ c.Perms; lacking != 0 {
		return nil, domain.Errorf(domain.Invalid, "A key can only have permissions you have; you lack %s.", strings.Join(lacking.Codes(), ", "))
	}
	k := &domain.APIKey{UserID: c.UserID, Name: b.Name, Perms: perms}
	if b.ExpireDate != nil {
		exp := b.ExpireDate.UTC().Truncate(time.Microsecond)
		if !exp.After(h.now()) {
			return nil, domain.Errorf(domain.Invalid, "invalid request body: field \"expire_date\": must be in the future")
		}
		k.Expires = &exp
	}
	var key string
	if k.ID, key, k.SecretHash, err = newKey(); err != nil {
		return nil, err
	}
	if err := h.store.CreateAPIKey(ctx, k); err != nil {
		if domain.IsKind(err, domain.NotFound) { // the caller was deleted meanwhile
			return nil, errBadToken
		}
		return nil, err
	}
	url := "/users/" + c.Username + "/keys/" + k.ID
	return gen.CreateApiKey201JSONResponse{ApiKeyCreatedJSONResponse: gen.ApiKeyCreatedJSONResponse{
		Body:    gen.ApiKeyCreated{Status: "success", Url: url, Secret: key, Key: keyOut(k)},
		Headers: gen.ApiKeyCreatedResponseHeaders{Location: &url, CacheControl: "no-store"},
	}}, nil
}

// ListApiKeys lists a user's keys, never their secrets (which are not kept).
func (h *Keys) ListApiKeys(ctx context.Context, req gen.ListApiKeysRequestObject) (gen.ListApiKeysResponseObject, error) {
	uid, err := h.keyOwner(ctx, req.Username)
	if err != nil {
		return nil, err
	}
	keys, err := h.store.APIKeys(ctx, uid)
	if err != nil {
		return nil, err
	}
	out := gen.ListApiKeys200JSONResponse{Data: make([]gen.ApiKey, len(keys))}
	for i := range keys {
		out.Data[i] = keyOut(&keys[i])
	}
	return out, nil
}

// DeleteApiKey revokes one of a user's keys.
func (h *Keys) DeleteApiKey(ctx context.Context, req gen.DeleteApiKeyRequestObject) (gen.DeleteApiKeyResponseObject, error) {
	uid, err := h.keyOwner(ctx, req.Username)
	if err != nil {
		return nil, err
	}
	if err := h.store.DeleteAPIKey(ctx, uid, req.KeyId); err != nil {
		return nil, err
	}
	return gen.DeleteApiKey200JSONResponse{SuccessJSONResponse: success("Key revoked.")}, nil
}

func keyOut(k *domain.APIKey) gen.ApiKey {
	id, cd := k.ID, k.CreateDate
	out := gen.ApiKey{
		KeyId:        &id,
		Name:         k.Name,
		Permissions:  permsOut(k.Perms),
		CreateDate:   &cd,
		ExpireDate:   nullable.NewNullNullable[time.Time](),
		LastUsedDate: nullable.NewNullNullable[time.Time](),
	}
	if k.Expires != nil {
		out.ExpireDate = nullable.NewNullableWithValue(*k.Expires)
	}
	if k.LastUsed != nil {
		out.LastUsedDate = nullable.NewNullableWithValue(*k.LastUsed)
	}
	return out
}
