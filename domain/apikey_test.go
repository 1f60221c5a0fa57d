package domain

import (
	"strings"
	"testing"
	"time"
)

func TestValidateAPIKeyName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"backup script", true},
		{"ключ для резервних копій", true},
		{strings.Repeat("é", 64), true},
		{"", false},
		{strings.Repeat("é", 65), false},
		{" padded", false},
		{"padded ", false},
		{"tab\there", false},
		{"esc\x1b[31m", false},
		{"line\u2028sep", false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		err := ValidateAPIKeyName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateAPIKeyName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && KindOf(err) != Invalid {
			t.Errorf("ValidateAPIKeyName(%q): kind %v, want Invalid", tt.name, KindOf(err))
		}
	}
}

func TestAPIKeyExpired(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tt := range []struct {
		expires *time.Time
		want    bool
	}{{nil, false}, {at(time.Second), false}, {at(0), true}, {at(-time.Second), true}} {
		if got := (&APIKey{Expires: tt.expires}).Expired(now); got != tt.want {
			t.Errorf("Expired with expiry %v: %v, want %v", tt.expires, got, tt.want)
		}
	}
}
