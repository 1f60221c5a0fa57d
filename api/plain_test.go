package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	sachet "github.com/sachet-server/sachet"
)

// TestPlainParamsAgreeWithValidator: for every operation whose parameters
// are plain, a request the gate lets past the validator is one the
// validator passes, whatever the parameters' values.
func TestPlainParamsAgreeWithValidator(t *testing.T) {
	spec, err := sachet.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = nil
	ops, err := indexOperations(spec)
	if err != nil {
		t.Fatal(err)
	}
	plain := map[string]bool{}
	e := echo.New()
	values := []string{"", "x", "9ae90f06-a751-409c-a9fe-8277575b9914", "a b", "bytes=0-4095", "\"etag\""}
	for _, op := range ops {
		if op.plain == nil || !op.hasParams {
			continue
		}
		plain[op.id] = true
		for _, pv := range values {
			for _, hv := range append(values, "absent", "twice") {
				r := httptest.NewRequest(op.route.Method, "/", nil)
				for _, h := range op.plain.headers {
					switch hv {
					case "absent":
					case "twice":
						r.Header.Add(h.name, "a")
						r.Header.Add(h.name, "b")
					default:
						r.Header.Set(h.name, hv)
					}
				}
				c := e.NewContext(r, httptest.NewRecorder())
				params := map[string]string{}
				var vals []string
				for _, n := range op.plain.path {
					params[n] = pv
					vals = append(vals, pv)
				}
				c.SetParamNames(op.plain.path...)
				c.SetParamValues(vals...)
				if !op.plain.valid(r, c) {
					continue
				}
				err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
					Request: r, PathParams: params, Route: op.route,
					Options: &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeReadOnlyValidations: true},
				})
				if err != nil {
					t.Errorf("%s, path %q, headers %q: passed as plain, but the validator says %v", op.id, pv, hv, err)
				}
			}
		}
	}
	for _, id := range []string{"getShareContent", "headShareContent", "getLinkContent", "getShare"} {
		if !plain[id] {
			t.Errorf("%s is not plain: its ranges would go through the validator", id)
		}
	}
	t.Logf("plain operations: %v", plain)
}
