package domain

import (
	"strings"
	"testing"
)

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"Simple", "alice", true},
		{"Punctuation", "a.b_c-d", true},
		{"SixtyFour", strings.Repeat("a", 64), true},
		{"Empty", "", false},
		{"SixtyFive", strings.Repeat("a", 65), false},
		{"Space", "a b", false},
		{"Slash", "a/b", false},
		{"NonASCII", "zoë", false},
		{"ReservedLogin", "login", false},
		{"ReservedLogout", "logout", false},
		{"ReservedExtend", "extend", false},
		{"ReservedPassword", "password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateUsername(tt.in); (err == nil) != tt.ok {
				t.Errorf("ValidateUsername(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"One", "x", true},
		{"SeventyTwoBytes", strings.Repeat("a", 72), true},
		{"SeventyThreeBytes", strings.Repeat("a", 73), false},
		{"MultibyteOverLimit", strings.Repeat("é", 37), false}, // 74 bytes
		{"Empty", "", false},
		{"NUL", "a\x00b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidatePassword(tt.in); (err == nil) != tt.ok {
				t.Errorf("ValidatePassword(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestValidateFileName(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"Plain", "report.pdf", true},
		{"Unicode", "naïve файл.txt", true},
		{"Quote", `say "hi".txt`, true},
		{"MaxBytes", strings.Repeat("a", 255), true},
		{"TooLong", strings.Repeat("a", 256), false},
		{"Empty", "", false},
		{"Slash", "a/b", false},
		{"Backslash", `a\b`, false},
		{"NUL", "a\x00b", false},
		{"Newline", "a\nb", false},
		{"DEL", "a\x7fb", false},
		{"C1Control", "a\u0085b", false},
		{"InvalidUTF8", "a\xffb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateFileName(tt.in); (err == nil) != tt.ok {
				t.Errorf("ValidateFileName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
