package api

import (
	"slices"
	"strings"
	"testing"

	sachet "github.com/sachet-server/sachet"
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

// TestCheckPrechecks: every operation of openapi.yaml that takes a body and
// addresses a resource by path must have a precheck, and every precheck
// must name an operation, or the server is not built.
func TestCheckPrechecks(t *testing.T) {
	spec, err := sachet.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := indexOperations(spec)
	if err != nil {
		t.Fatal(err)
	}
	var need []string
	for _, op := range ops {
		if op.requestBody != nil && len(op.paramNames) > 0 {
			need = append(need, op.id)
		}
	}
	if len(need) == 0 {
		t.Fatal("no operation with a body and a path parameter: the walk found nothing")
	}
	tests := []struct {
		name       string
		prechecked []string
		wantErr    string // "" for none
	}{
		{"AllPresent", need, ""},
		{"OneMissing", need[1:], need[0]},
		{"RenamedOperation", append(slices.Clone(need), "patchShareRenamed"), "patchShareRenamed"},
		{"NoneAtAll", nil, need[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrechecks(ops, tt.prechecked)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}
