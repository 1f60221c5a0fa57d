package api

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// plainParams are the parameters of an operation that takes only plain
// strings in its path and headers: no schema constraint (pattern, length,
// enum, a format kin-openapi checks), no default, no query. For such an
// operation the validator can refuse a request only for a parameter that
// is required and missing, or sent empty; anything else passes it. A
// request that has neither skips it (issue 14 item 4: it was a twentieth
// of a 4 KiB range's cost); one that has either still goes through it, so
// its answer is the validator's own. TestPlainParamsAgreeWithValidator
// holds this against the validator.
type plainParams struct {
	path    []string // all required (path parameters are)
	headers []plainHeader
}

type plainHeader struct {
	name     string // canonical
	required bool
}

// plainOf returns the plain parameters of ps, or nil when some parameter
// is not plain.
func plainOf(ps openapi3.Parameters) *plainParams {
	pp := &plainParams{}
	for _, ref := range ps {
		p := ref.Value
		if p == nil || p.Content != nil || p.Schema == nil || p.Schema.Value == nil || p.AllowEmptyValue ||
			(p.Style != "" && p.Style != openapi3.SerializationSimple) || p.Explode != nil {
			return nil
		}
		if !plainString(p.Schema.Value) {
			return nil
		}
		switch p.In {
		case openapi3.ParameterInPath:
			pp.path = append(pp.path, p.Name)
		case openapi3.ParameterInHeader:
			pp.headers = append(pp.headers, plainHeader{http.CanonicalHeaderKey(p.Name), p.Required})
		default:
			return nil
		}
	}
	return pp
}

// plainString: a string schema that any non-empty string satisfies.
func plainString(s *openapi3.Schema) bool {
	if s.Type == nil || !s.Type.Is(openapi3.TypeString) || s.Pattern != "" || len(s.Enum) > 0 ||
		s.MinLength != 0 || s.MaxLength != nil || s.Default != nil || s.Not != nil ||
		len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Nullable {
		return false
	}
	switch s.Format {
	case "", "password": // formats kin-openapi does not check
		return true
	}
	return false
}

// valid reports whether the request's parameters certainly pass the
// validator: every path parameter and every header parameter sent is
// non-empty, and every required header is sent.
func (pp *plainParams) valid(r *http.Request, c echo.Context) bool {
	for _, n := range pp.path {
		if c.Param(n) == "" {
			return false
		}
	}
	for _, h := range pp.headers {
		v, ok := r.Header[h.name]
		if !ok {
			if h.required {
				return false
			}
			continue
		}
		if len(v) == 0 || v[0] == "" {
			return false
		}
	}
	return true
}
