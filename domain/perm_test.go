package domain

import (
	"reflect"
	"testing"
)

func TestPermCodes(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"EmptyStaysEmpty", nil, []string{}},
		{"ReorderedToTableOrder", []string{"READ", "CREATE", "ADMIN", "MODIFY"}, []string{"CREATE", "MODIFY", "ADMIN", "READ"}},
		{"DuplicatesCollapse", []string{"LIST", "LIST", "LOCK"}, []string{"LOCK", "LIST"}},
		{"All", []string{"READ", "ADMIN", "LIST", "LOCK", "DELETE", "MODIFY", "CREATE"}, []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePerms(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Codes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Codes() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPermBits(t *testing.T) {
	// The bit values are Sachet's own; stored masks depend on them.
	want := map[string]Perm{"CREATE": 1, "MODIFY": 2, "DELETE": 4, "LOCK": 8, "LIST": 16, "ADMIN": 32, "READ": 64}
	for code, bit := range want {
		if got, ok := ParsePerm(code); !ok || got != bit {
			t.Errorf("ParsePerm(%q) = %d, %v; want %d", code, got, ok, bit)
		}
	}
}

func TestParsePermsUnknownIsInvalid(t *testing.T) {
	for _, in := range [][]string{{"read"}, {"READ", "SUPER"}, {""}} {
		if _, err := ParsePerms(in); KindOf(err) != Invalid {
			t.Errorf("ParsePerms(%q) error kind %v, want Invalid", in, KindOf(err))
		}
	}
}

func TestCallerOwns(t *testing.T) {
	alice := "alice"
	anon, user := Caller{}, Caller{Username: "alice"}
	if !anon.Owns(nil) || anon.Owns(&alice) {
		t.Error("anonymous callers own exactly the ownerless shares")
	}
	if user.Owns(nil) || !user.Owns(&alice) {
		t.Error("a user owns exactly their own shares")
	}
	if got := KindOf(PermissionError(anon, PermRead)); got != Unauthorized {
		t.Errorf("anonymous lacking a permission: %v, want Unauthorized", got)
	}
	if got := KindOf(PermissionError(user, PermRead)); got != Forbidden {
		t.Errorf("user lacking a permission: %v, want Forbidden", got)
	}
}
