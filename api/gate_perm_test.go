package api

import (
	"testing"

	"github.com/sachet-server/sachet/domain"
)

func TestPermExtension(t *testing.T) {
	user := func(p domain.Perm) domain.Caller { return domain.Caller{Username: "u", Perms: p} }
	anon := domain.Caller{Perms: 0}
	for _, c := range []struct {
		name   string
		ext    any
		caller domain.Caller
		want   domain.Kind // Internal: allowed
		bad    bool        // the extension itself is refused
	}{
		{"OneCodeHeld", "CREATE", user(domain.PermCreate), domain.Internal, false},
		{"OneCodeMissing", "CREATE", user(domain.PermModify), domain.Forbidden, false},
		{"ListFirstHeld", []any{"CREATE", "MODIFY"}, user(domain.PermCreate), domain.Internal, false},
		{"ListSecondHeld", []any{"CREATE", "MODIFY"}, user(domain.PermModify | domain.PermRead), domain.Internal, false},
		{"ListNoneHeld", []any{"CREATE", "MODIFY"}, user(domain.PermRead), domain.Forbidden, false},
		{"ListAnonymous", []any{"CREATE", "MODIFY"}, anon, domain.Unauthorized, false},
		{"UnknownCode", "WRITE", anon, 0, true},
		{"UnknownInList", []any{"CREATE", "WRITE"}, anon, 0, true},
		{"EmptyList", []any{}, anon, 0, true},
		{"NotACode", 7, anon, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, anyOf, err := parsePermExtension(c.ext)
			if (err != nil) != c.bad {
				t.Fatalf("parsePermExtension(%v): %v", c.ext, err)
			}
			if c.bad {
				return
			}
			err = (&operation{perm: p, anyPerm: anyOf}).permitted(c.caller)
			if err == nil && c.want != domain.Internal || err != nil && domain.KindOf(err) != c.want {
				t.Errorf("permitted: %v, want kind %v", err, c.want)
			}
		})
	}
}
