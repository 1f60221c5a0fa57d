package impl

import (
	"net/http"
	"testing"
)

// TestCountsAsDownload is the counting rule of openapi.yaml's
// getLinkContent, on Range headers as checkRange leaves them.
func TestCountsAsDownload(t *testing.T) {
	size := int64(1000)
	for _, tc := range []struct {
		name, method, rng string
		status            int
		want              bool
	}{
		{"WholeCounts", "GET", "", 200, true},
		{"HeadNever", "HEAD", "", 200, false},
		{"HeadOfRangeFromZero", "HEAD", "bytes=0-9", 206, false},
		{"RangeFromZero", "GET", "bytes=0-9", 206, true},
		{"OpenRangeFromZero", "GET", "bytes=0-", 206, true},
		{"ResumptionDoesNot", "GET", "bytes=10-", 206, false},
		{"SeveralFromZero", "GET", "bytes=0-9,500-509", 206, true},
		{"SeveralNotFromZero", "GET", "bytes=5-9,0-1", 206, false},
		{"SuffixInside", "GET", "bytes=-10", 206, false},
		{"SuffixWhole", "GET", "bytes=-1000", 206, true},
		{"NotModified", "GET", "", 304, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(tc.method, "/links/x/content", nil)
			if tc.rng != "" {
				r.Header.Set("Range", tc.rng)
			}
			if got := countsAsDownload(r, tc.status, &size); got != tc.want {
				t.Errorf("counts = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLinkTokens: tokens are 32 URL-safe characters and distinct; the
// shape check refuses anything else before the database is asked.
func TestLinkTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, token, hash, err := newLinkToken()
		if err != nil {
			t.Fatal(err)
		}
		if !wellFormedToken(token) || len(id) != 16 || hash != hashLinkToken(token) || seen[token] {
			t.Fatalf("token %q id %q hash %q", token, id, hash)
		}
		seen[token] = true
	}
	for _, bad := range []string{"", "short", "q3Vw0xT5m1bN8cYk2LzR7aHf4JdE6sP=", "q3Vw0xT5m1bN8cYk2LzR7aHf4JdE6sPoX"} {
		if wellFormedToken(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
