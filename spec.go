// Package sachet holds the contract itself: openapi.yaml, embedded so the
// server validates against, and publishes, exactly the document in the repo.
package sachet

import (
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// OpenAPIYAML is openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// LoadSpec parses and validates OpenAPIYAML. Each call returns a fresh
// document the caller may change. (oapi-codegen's embedded copy is not used
// for this: it renames operationIds.)
func LoadSpec() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}
