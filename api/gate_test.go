package api

import (
	"strings"
	"testing"
)

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"Object", `{"a":[1,{"b":"}]"}]}`, true},
		{"EscapedQuoteInString", `{"a":"x\"{{{{"}`, true},
		{"TrailingGarbage", `{"a":1} x`, false},
		{"TwoObjects", `{}{}`, false},
		{"Truncated", `{"a":`, false},
		{"DeepArrays", strings.Repeat("[", 33) + strings.Repeat("]", 33), false},
		{"ThirtyTwoDeep", strings.Repeat("[", 32) + strings.Repeat("]", 32), true},
		{"TenThousandDeep", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), false},
		{"BracketsInStringsDontCount", `{"a":"` + strings.Repeat("[", 100) + `"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkJSON([]byte(tt.in)); (err == nil) != tt.ok {
				t.Errorf("checkJSON(%.40q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestEchoPath(t *testing.T) {
	if got := echoPath("/files/{share_id}/content"); got != "/files/:share_id/content" {
		t.Errorf("got %s", got)
	}
}
