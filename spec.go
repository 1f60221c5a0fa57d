// Package sachet holds the contract itself: openapi.yaml, embedded so the
// server can publish exactly the document it validates against.
package sachet

import _ "embed"

// OpenAPIYAML is openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
