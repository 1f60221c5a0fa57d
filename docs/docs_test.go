package docs

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestPageInlinesEverything(t *testing.T) {
	spec := []byte(`{"openapi":"3.0.3","info":{"title":"T","version":"1","description":"</script><script>alert(1)</script> & <!-- x"},"paths":{}}`)
	page, _, err := Page("Sachet API", spec)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if !strings.Contains(s, "<title>Sachet API — API reference</title>") {
		t.Error("title missing")
	}
	// Nothing is loaded from anywhere: no src/href to another document but
	// the spec links in <noscript>, and no source map.
	html := regexp.MustCompile(`(?s)(<script[^>]*>).*?</script>`).ReplaceAllString(s, "$1</script>")
	if m := regexp.MustCompile(`(?i)<(script|link|img|iframe|object|embed)[^>]*\s(src|href|data)=`).FindString(html); m != "" {
		t.Errorf("page loads an external resource: %s", m)
	}
	if strings.Contains(s, "cdn.redoc.ly") {
		t.Error("page still refers to Redoc's CDN")
	}
	if strings.Contains(s, "sourceMappingURL=redoc.standalone.js.map") {
		t.Error("source map comment kept")
	}
	if !strings.Contains(s, "Redoc.init(") || !strings.Contains(s, redocJS[:200]) {
		t.Error("Redoc bundle or init missing")
	}
	// The spec's own "</script>" can't close the element: exactly the three
	// script elements of the template close.
	if n := strings.Count(strings.ToLower(s), "</script"); n != 3 {
		t.Errorf("%d </script, want 3", n)
	}
	// The spec element holds the same JSON.
	start := strings.Index(s, `<script id="sachet-spec" type="application/json">`)
	if start < 0 {
		t.Fatal("spec element missing")
	}
	rest := s[start+len(`<script id="sachet-spec" type="application/json">`):]
	var got, want any
	if err := json.Unmarshal([]byte(rest[:strings.Index(rest, "</script>")]), &got); err != nil {
		t.Fatalf("inlined spec is not JSON: %v", err)
	}
	_ = json.Unmarshal(spec, &want)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("inlined spec differs:\n%s\n%s", g, w)
	}
}

// The committed bundle, its notices and RedocVersion agree.
func TestBundleVersion(t *testing.T) {
	notices, err := os.ReadFile("redoc.standalone.js.LICENSE.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(notices), `Version: "`+RedocVersion+`"`) {
		t.Errorf("redoc.standalone.js.LICENSE.txt is not for Redoc %s", RedocVersion)
	}
	if _, err := os.Stat("LICENSE.redoc"); err != nil {
		t.Error(err)
	}
}

func TestPageRejectsEmptySpec(t *testing.T) {
	if _, _, err := Page("x", nil); err == nil {
		t.Error("no error for an empty spec")
	}
}
