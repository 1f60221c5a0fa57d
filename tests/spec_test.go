package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestServedContract checks that the server publishes exactly the document
// in the repository, in both encodings, and a reference page for it.
func TestServedContract(t *testing.T) {
	s := start(t, "sqlite", nil)
	file, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("YAMLIsTheFile", func(t *testing.T) {
		r := expect(t, s.req("GET", "/openapi.yaml", "", nil), 200)
		if !bytes.Equal(r.Body, file) {
			t.Error("/openapi.yaml differs from openapi.yaml")
		}
	})
	t.Run("JSONKeepsOperationIds", func(t *testing.T) {
		r := expect(t, s.req("GET", "/openapi.json", "", nil), 200)
		var doc struct {
			Paths map[string]struct {
				Post, Put struct {
					OperationID string `json:"operationId"`
				}
			} `json:"paths"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatal(err)
		}
		if got := doc.Paths["/users/login"].Post.OperationID; got != "login" {
			t.Errorf("operationId of POST /users/login = %q, want login", got)
		}
		if got := doc.Paths["/files/{share_id}/content"].Put.OperationID; got != "replaceShareContent" {
			t.Errorf("operationId of PUT content = %q, want replaceShareContent", got)
		}
	})
	t.Run("DocsPage", func(t *testing.T) {
		r := expect(t, s.req("GET", "/docs", "", nil), 200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q", ct)
		}
		if !bytes.Contains(r.Body, []byte("replaceShareContent")) {
			t.Error("the page does not carry the spec")
		}
	})
}

// TestReservedNamesAreDeclaredLookups: GET on the POST-only auth routes is
// a user look-up (API.md), declared in the spec, so these answers validate.
func TestReservedNamesAreDeclaredLookups(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		plain := s.user("plain")
		for _, name := range []string{"login", "logout", "extend", "password"} {
			t.Run(name, func(t *testing.T) {
				expect(t, s.req("GET", "/users/"+name, s.admin, nil), 403)
				expect(t, s.req("GET", "/users/"+name, plain, nil), 403)
				expect(t, s.req("GET", "/users/"+name, "", nil), 401)
			})
		}
	})
}
