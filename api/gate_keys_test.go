package api

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	sachet "github.com/sachet-server/sachet"
)

// TestGateSchemesFromSpec: which credentials an operation accepts comes
// from its `security` in openapi.yaml, not from a list in the code.
func TestGateSchemesFromSpec(t *testing.T) {
	spec, err := sachet.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := indexOperations(spec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		route        string
		tokens, keys bool
		auth         authMode
	}{
		{"GET /files", true, true, authOptional},
		{"POST /files/:share_id/content", true, true, authOptional},
		{"GET /whoami", true, true, authOptional},
		{"GET /users/:username/keys", true, true, authRequired},
		{"DELETE /users/:username/keys/:key_id", true, true, authRequired},
		{"POST /users/:username/keys", true, false, authRequired},
		{"POST /users/password", true, false, authRequired},
		{"POST /users/extend", true, false, authRequired},
		{"POST /users/logout", true, false, authRequired},
		{"DELETE /users/:username/tokens", true, false, authRequired},
		{"POST /users/login", false, false, authNone},
	}
	for _, tt := range tests {
		o := ops[tt.route]
		if o == nil {
			t.Errorf("%s: not in the spec", tt.route)
			continue
		}
		if o.tokens != tt.tokens || o.keys != tt.keys || o.auth != tt.auth {
			t.Errorf("%s: tokens %v keys %v auth %v, want %v %v %v", tt.route, o.tokens, o.keys, o.auth, tt.tokens, tt.keys, tt.auth)
		}
	}
}

func TestGateRefusesUnknownScheme(t *testing.T) {
	const doc = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /x:
    get:
      operationId: x
      security:
        - cookieAuth: []
      responses:
        '200': {description: ok}
components:
  securitySchemes:
    cookieAuth: {type: apiKey, in: cookie, name: s}
`
	spec, err := openapi3.NewLoader().LoadFromData([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := indexOperations(spec); err == nil || !strings.Contains(err.Error(), "cookieAuth") {
		t.Fatalf("indexOperations: %v, want an error naming the unknown scheme", err)
	}
}
