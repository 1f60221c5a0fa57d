package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxLinksPerShare bounds a share's links (revoked ones included), so
// listing them needs no paging and a script gone wrong cannot fill the
// table.
const MaxLinksPerShare = 100

// Link is a public link to a share's content. Its token is never stored:
// TokenHash is the SHA-256 (hex) of the token, and the row is found by it.
type Link struct {
	ID           string
	ShareID      string
	CreatedBy    int64 // the user who made it; the link ends with them
	TokenHash    string
	Label        *string
	PasswordHash string     // "" when the link needs no password
	Expires      *time.Time // nil: never
	MaxDownloads *int64     // nil: no limit
	Downloads    int64
	CreateDate   time.Time
	Revoked      *time.Time // nil: not revoked
}

// LinkState is what a link does at a given time.
type LinkState string

// The states of a link; only LinkActive serves.
const (
	LinkActive    LinkState = "active"
	LinkExpired   LinkState = "expired"
	LinkExhausted LinkState = "exhausted"
	LinkRevoked   LinkState = "revoked"
)

// State is the link's state at now: revoked first, then expired (at the
// expiry instant exactly, the link has expired), then out of downloads.
func (l *Link) State(now time.Time) LinkState {
	switch {
	case l.Revoked != nil:
		return LinkRevoked
	case l.Expires != nil && !now.Before(*l.Expires):
		return LinkExpired
	case l.MaxDownloads != nil && l.Downloads >= *l.MaxDownloads:
		return LinkExhausted
	}
	return LinkActive
}

// DownloadsLeft is how many downloads the link still serves; nil when it
// has no limit.
func (l *Link) DownloadsLeft() *int64 {
	if l.MaxDownloads == nil {
		return nil
	}
	n := max(*l.MaxDownloads-l.Downloads, 0)
	return &n
}

// GoneError is the Gone error of a link in state s, nil when it serves.
func GoneError(s LinkState) error {
	switch s {
	case LinkRevoked:
		return Errorf(Gone, "This link has been revoked.")
	case LinkExpired:
		return Errorf(Gone, "This link has expired.")
	case LinkExhausted:
		return Errorf(Gone, "This link has no downloads left.")
	}
	return nil
}

// ValidateLinkLabel enforces 1–64 characters of UTF-8 with no control
// characters and no surrounding space, as for API key names.
func ValidateLinkLabel(label string) error {
	if !utf8.ValidString(label) {
		return Errorf(Invalid, "link label must be UTF-8")
	}
	if n := utf8.RuneCountInString(label); n < 1 || n > 64 {
		return Errorf(Invalid, "link label must be 1–64 characters")
	}
	if strings.TrimSpace(label) != label {
		return Errorf(Invalid, "link label must not start or end with spaces")
	}
	for _, r := range label {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return Errorf(Invalid, "link label must not contain control characters")
		}
	}
	return nil
}
