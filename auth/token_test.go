package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestTokens(t *testing.T, now func() time.Time) *Tokens {
	t.Helper()
	tk, err := NewTokens(testKey, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	tk := newTestTokens(t, nil)
	tok, c, err := tk.Issue("alice", 42, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "alice" || got.UserID != 42 || got.ID != c.ID || got.ID == "" {
		t.Errorf("Verify = %+v, want alice/42/%s", got, c.ID)
	}
	if got.Expires.Sub(got.IssuedAt) != time.Hour {
		t.Errorf("lifetime %v, want 1h", got.Expires.Sub(got.IssuedAt))
	}
	tok2, c2, _ := tk.Issue("alice", 42, 0)
	if tok2 == tok || c2.ID == c.ID {
		t.Error("two tokens share an id")
	}
}

func sign(t *testing.T, key []byte, build func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Subject("alice").IssuedAt(now).Expiration(now.Add(time.Hour)).JwtID("j1").Claim(uidClaim, 1)
	tok, err := build(b).Build()
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestVerifyRejects(t *testing.T) {
	tk := newTestTokens(t, nil)
	good := sign(t, testKey, func(b *jwt.Builder) *jwt.Builder { return b })
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct{ name, token string }{
		{"Empty", ""},
		{"Garbage", "not.a.token"},
		{"WrongKey", sign(t, []byte("another-key-another-key-another!!"), func(b *jwt.Builder) *jwt.Builder { return b })},
		{"AlgNone", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
		{"AlgNoneKeepingSignature", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2]},
		{"TamperedClaims", parts[0] + "." + enc([]byte(`{"sub":"admin","uid":1,"jti":"j1","exp":9999999999}`)) + "." + parts[2]},
		{"Expired", sign(t, testKey, func(b *jwt.Builder) *jwt.Builder {
			return b.IssuedAt(time.Now().Add(-2 * time.Hour)).Expiration(time.Now().Add(-time.Hour))
		})},
		{"NoUID", func() string {
			tok, _ := jwt.NewBuilder().Subject("alice").IssuedAt(time.Now()).Expiration(time.Now().Add(time.Hour)).JwtID("j").Build()
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256, testKey))
			return string(s)
		}()},
		{"NoJTI", func() string {
			tok, _ := jwt.NewBuilder().Subject("alice").Expiration(time.Now().Add(time.Hour)).Claim(uidClaim, 1).Build()
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256, testKey))
			return string(s)
		}()},
		{"NoExp", func() string {
			tok, _ := jwt.NewBuilder().Subject("alice").JwtID("j").Claim(uidClaim, 1).Build()
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256, testKey))
			return string(s)
		}()},
		{"NoSub", func() string {
			tok, _ := jwt.NewBuilder().Expiration(time.Now().Add(time.Hour)).JwtID("j").Claim(uidClaim, 1).Build()
			s, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS256, testKey))
			return string(s)
		}()},
		{"FractionalUID", sign(t, testKey, func(b *jwt.Builder) *jwt.Builder { return b.Claim(uidClaim, 1.5) })},
		{"StringUID", sign(t, testKey, func(b *jwt.Builder) *jwt.Builder { return b.Claim(uidClaim, "1") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tk.Verify(tt.token); err == nil {
				t.Errorf("Verify accepted %s", tt.name)
			}
		})
	}
}

func TestNewTokensRejectsShortKey(t *testing.T) {
	if _, err := NewTokens([]byte("short"), time.Hour, nil); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestVerifyCachedTokenStillExpires(t *testing.T) {
	now := time.Now()
	tk := newTestTokens(t, func() time.Time { return now })
	tok, _, err := tk.Issue("alice", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(tok); err != nil { // from the cache
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := tk.Verify(tok); err == nil {
		t.Error("an expired token verified from the cache")
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	tk := newTestTokens(t, nil)
	for i := 0; i < maxVerified+10; i++ {
		tk.verified.put(string(rune(i)), Claims{})
	}
	if n := len(tk.verified.m); n > maxVerified {
		t.Errorf("cache holds %d entries, limit %d", n, maxVerified)
	}
}
