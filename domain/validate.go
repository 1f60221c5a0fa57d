package domain

import (
	"strings"
	"unicode/utf8"
)

// reservedUsernames are names GET /users/{name} shares with POST-only routes.
var reservedUsernames = map[string]bool{"login": true, "logout": true, "extend": true, "password": true}

// ValidateUsername enforces 1–64 letters, digits, '.', '_' or '-', and not
// a reserved route name.
func ValidateUsername(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(Invalid, "username must be 1–64 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return Errorf(Invalid, "username may only contain letters, digits, '.', '_' and '-'")
		}
	}
	if reservedUsernames[name] {
		return Errorf(Invalid, "username %q is reserved", name)
	}
	return nil
}

// MaxPasswordBytes is bcrypt's input limit; longer passwords are refused,
// never silently truncated.
const MaxPasswordBytes = 72

// ValidatePassword enforces 1–72 bytes with no NUL.
func ValidatePassword(pw string) error {
	if pw == "" || len(pw) > MaxPasswordBytes {
		return Errorf(Invalid, "password must be 1–%d bytes", MaxPasswordBytes)
	}
	if strings.IndexByte(pw, 0) >= 0 {
		return Errorf(Invalid, "password must not contain NUL")
	}
	return nil
}

// ValidateFileName enforces 1–255 bytes of UTF-8 with no '/', '\', NUL or
// control characters, so a name is always safe in a Content-Disposition.
func ValidateFileName(name string) error {
	if name == "" || len(name) > 255 {
		return Errorf(Invalid, "file_name must be 1–255 bytes")
	}
	if !utf8.ValidString(name) {
		return Errorf(Invalid, "file_name must be valid UTF-8")
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return Errorf(Invalid, "file_name must not contain '/', '\\' or control characters")
		}
	}
	return nil
}
