package impl

import (
	"strings"
	"testing"
)

func TestNewKeyParses(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, key, hash, err := newKey()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseKey(key); !ok || got != id {
			t.Fatalf("parseKey(%q) = %q, %v; want %q", key, got, ok, id)
		}
		if hash != hashKey(key) || strings.Contains(hash, key[len(key)-64:]) {
			t.Fatalf("hash %q is not the key's SHA-256", hash)
		}
		if seen[key] {
			t.Fatal("the same key twice")
		}
		seen[key] = true
	}
}

func TestParseKeyRefuses(t *testing.T) {
	good := "sachet_0123456789abcdef_" + strings.Repeat("ab", 32)
	if _, ok := parseKey(good); !ok {
		t.Fatalf("parseKey(%q) refused a well-formed key", good)
	}
	for _, k := range []string{
		"",
		"sachet_",
		"Sachet_0123456789abcdef_" + strings.Repeat("ab", 32),
		"sachet_0123456789ABCDEF_" + strings.Repeat("ab", 32),
		"sachet_0123456789abcde_" + strings.Repeat("ab", 32),
		"sachet_0123456789abcdef_" + strings.Repeat("ab", 31),
		"sachet_0123456789abcdef_" + strings.Repeat("ab", 32) + "a",
		"sachet_0123456789abcdef" + strings.Repeat("ab", 32),
		"sachet_0123456789abcdef_" + strings.Repeat("zz", 32),
		"eyJhbGciOiJIUzI1NiJ9.e30.sig",
	} {
		if id, ok := parseKey(k); ok {
			t.Errorf("parseKey(%q) = %q, want refused", k, id)
		}
	}
}
