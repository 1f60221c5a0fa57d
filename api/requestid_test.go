package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRequestIDFromProxy(t *testing.T) {
	for in, keep := range map[string]bool{"abc-123": true, "a.b:c_d": true, "": false, "x y": false,
		strings.Repeat("a", 65): false, "é": false, "a\nb": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(RequestIDHeader, in)
		got := requestID(r)
		if (got == in) != keep || got == "" {
			t.Errorf("requestID(%q) = %q", in, got)
		}
	}
}
