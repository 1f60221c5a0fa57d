package api

import "testing"

func TestLogPathRedactsRequestTokens(t *testing.T) {
	for in, want := range map[string]string{
		"/requests/abc":                     "/requests/REDACTED",
		"/requests/abc/files/x/content":     "/requests/REDACTED/files/x/content",
		"/requests/":                        "/requests/",
		"/files/x/content":                  "/files/x/content",
		"/upload-requests/0123456789abcdef": "/upload-requests/0123456789abcdef",
	} {
		if got := logPath(in); got != want {
			t.Errorf("logPath(%q) = %q, want %q", in, got, want)
		}
	}
}
