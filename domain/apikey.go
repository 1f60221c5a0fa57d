package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIKeyPrefix starts every API key, so a key sent as a bearer credential
// is told from a JWT (which starts with "eyJ") without parsing either.
const APIKeyPrefix = "sachet_"

// MaxAPIKeysPerUser bounds a user's keys, so listing them needs no paging
// and a script gone wrong cannot fill the table.
const MaxAPIKeysPerUser = 100

// APIKey is a long-lived credential a user made for scripts. Its secret is
// never stored: SecretHash is the SHA-256 (hex) of the whole key string.
type APIKey struct {
	ID         string
	UserID     int64
	Name       string
	SecretHash string
	Perms      Perm // the key's own; at use, intersected with the user's
	CreateDate time.Time
	Expires    *time.Time // nil: never
	LastUsed   *time.Time // nil: never used
}

// Expired reports whether the key no longer works at now.
func (k *APIKey) Expired(now time.Time) bool {
	return k.Expires != nil && !now.Before(*k.Expires)
}

// ValidateAPIKeyName enforces 1–64 characters of UTF-8 with no control
// characters (a name is shown in terminals and lists) and no surrounding
// space (two keys that look alike must not differ only there).
func ValidateAPIKeyName(name string) error {
	if !utf8.ValidString(name) {
		return Errorf(Invalid, "key name must be UTF-8")
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return Errorf(Invalid, "key name must be 1–64 characters")
	}
	if strings.TrimSpace(name) != name {
		return Errorf(Invalid, "key name must not start or end with spaces")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Errorf(Invalid, "key name must not contain control characters")
		}
	}
	return nil
}
