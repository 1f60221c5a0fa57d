package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/sachet-server/sachet/domain"
)

// Authenticator turns bearer tokens and API keys into callers.
type Authenticator interface {
	// Authenticate verifies a token; any failure is an Unauthorized error.
	Authenticate(ctx context.Context, token string) (domain.Caller, error)
	// AuthenticateKey verifies an API key (domain.APIKeyPrefix...); any
	// failure is an Unauthorized error.
	AuthenticateKey(ctx context.Context, key string) (domain.Caller, error)
	// Anonymous is the caller for requests without a token.
	Anonymous(ctx context.Context) (domain.Caller, error)
}

// Prechecker answers, for an operation whose request body is unusable,
// what a good body would have been answered first: the addressed resource
// missing (404), not the caller's (403), locked (423). It returns nil when
// the body's own error should answer.
type Prechecker interface {
	// operationID is spelled as in openapi.yaml.
	Precheck(ctx context.Context, operationID string, pathParams map[string]string) error
	// Prechecked lists the operationIds Precheck knows. New refuses a
	// spec in which an operation that takes a body and addresses a
	// resource by its path has no precheck, or a precheck names no
	// operation: renaming an operation can't silently drop its precheck.
	Prechecked() []string
}

// checkPrechecks matches the operations that need a precheck against the
// ones pre knows, both ways.
func checkPrechecks(ops map[string]*operation, prechecked []string) error {
	known := make(map[string]bool, len(prechecked))
	for _, id := range prechecked {
		known[id] = true
	}
	var missing []string
	for _, op := range ops {
		if op.requestBody != nil && len(op.paramNames) > 0 && !known[op.id] {
			missing = append(missing, op.id)
		}
		delete(known, op.id)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("api: no precheck for %s: each operation with a request body and a path parameter needs one, or a bad body would hide 404/403/423", strings.Join(missing, ", "))
	}
	if len(known) > 0 {
		stale := slices.Sorted(maps.Keys(known))
		return fmt.Errorf("api: precheck for %s, which openapi.yaml does not have (renamed?)", strings.Join(stale, ", "))
	}
	return nil
}

// operation is what the gate knows of one route, read once from the spec.
type operation struct {
	route       *routers.Route
	id          string
	perm        domain.Perm // 0: none needed
	anyPerm     bool        // perm is a set, of which any one will do
	auth        authMode
	jsonBody    bool
	multipart   bool
	paramNames  []string
	hasParams   bool
	requestBody *openapi3.RequestBody

	// tokens and keys: the operation's security names the token scheme,
	// the API key scheme.
	tokens, keys bool
	// plain is set when every parameter is a plain string (see plainParams).
	plain *plainParams
}

type authMode int

const (
	authOptional authMode = iota // token or anonymous
	authRequired                 // token only
	authNone                     // the Authorization header is not read (login)
)

// The security schemes of openapi.yaml, by name. Both are bearer
// credentials in the Authorization header; an API key is told from a token
// by its prefix. Which operations accept which is read from the spec.
const (
	tokenScheme = "bearerAuth"
	keyScheme   = "apiKeyAuth"
)

// permissionExtension names the permission an operation needs.
const permissionExtension = "x-sachet-permission"

// indexOperations maps "METHOD echo-path" to each operation of the spec.
func indexOperations(spec *openapi3.T) (map[string]*operation, error) {
	ops := make(map[string]*operation)
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{
				route: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
				id:    op.OperationID,
			}
			if v, ok := op.Extensions[permissionExtension]; ok {
				p, anyOf, err := parsePermExtension(v)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %s: %w", method, path, permissionExtension, err)
				}
				o.perm, o.anyPerm = p, anyOf
			}
			sec := spec.Security
			if op.Security != nil {
				sec = *op.Security
			}
			for _, req := range sec {
				for name := range req {
					switch name {
					case tokenScheme:
						o.tokens = true
					case keyScheme:
						o.keys = true
					default:
						return nil, fmt.Errorf("%s %s: unknown security scheme %q", method, path, name)
					}
				}
			}
			switch {
			case len(sec) == 0:
				o.auth = authNone
			case hasAnonymous(sec):
				o.auth = authOptional
			default:
				o.auth = authRequired
			}
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				o.hasParams = true
				if p.Value.In == openapi3.ParameterInPath {
					o.paramNames = append(o.paramNames, p.Value.Name)
				}
			}
			o.plain = plainOf(append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...))
			if op.RequestBody != nil {
				o.requestBody = op.RequestBody.Value
				o.jsonBody = o.requestBody.Content.Get("application/json") != nil
				o.multipart = o.requestBody.Content.Get("multipart/form-data") != nil
			}
			ops[method+" "+echoPath(path)] = o
		}
	}
	return ops, nil
}

// parsePermExtension reads x-sachet-permission: one code ("CREATE"), or a
// list of codes any one of which will do (["CREATE", "MODIFY"]: the
// upload-status routes serve whoever may upload, first content or new).
func parsePermExtension(v any) (p domain.Perm, anyOf bool, err error) {
	switch v := v.(type) {
	case string:
		q, ok := domain.ParsePerm(v)
		if !ok {
			return 0, false, fmt.Errorf("unknown permission %q", v)
		}
		return q, false, nil
	case []any:
		for _, c := range v {
			code, _ := c.(string)
			q, ok := domain.ParsePerm(code)
			if !ok {
				return 0, false, fmt.Errorf("unknown permission %v", c)
			}
			p |= q
		}
		if p == 0 {
			return 0, false, errors.New("empty permission list")
		}
		return p, true, nil
	}
	return 0, false, fmt.Errorf("want a permission code or a list of them, got %v", v)
}

// permitted checks the caller holds the operation's permission (any one
// of them for a list).
func (o *operation) permitted(c domain.Caller) error {
	switch {
	case o.perm == 0:
		return nil
	case o.anyPerm && c.Perms&o.perm != 0, !o.anyPerm && c.Perms.Has(o.perm):
		return nil
	case o.anyPerm && c.Anonymous():
		return domain.Errorf(domain.Unauthorized, "Authentication required: anonymous users lack all of %s.", strings.Join(o.perm.Codes(), ", "))
	case o.anyPerm:
		return domain.Errorf(domain.Forbidden, "This needs one of the permissions %s.", strings.Join(o.perm.Codes(), ", "))
	}
	return domain.PermissionError(c, o.perm)
}

func hasAnonymous(sec openapi3.SecurityRequirements) bool {
	for _, r := range sec {
		if len(r) == 0 {
			return true
		}
	}
	return false
}

// echoPath turns /files/{share_id} into echo's /files/:share_id.
func echoPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '{':
			b.WriteByte(':')
		case '}':
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// gate authenticates the caller, checks the operation's permission, and
// validates parameters and the JSON body against the spec, in that order.
type gate struct {
	ops          map[string]*operation
	auth         Authenticator
	pre          Prechecker
	maxJSONBytes int64
}

func (g *gate) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		op := g.ops[req.Method+" "+c.Path()]
		if op == nil {
			return next(c) // echo's 404/405, or a route outside the spec
		}
		for _, n := range op.paramNames {
			// echo lets a trailing parameter swallow further segments
			// (/users/a/b); no Sachet route has such a parameter.
			if strings.Contains(c.Param(n), "/") {
				return echo.ErrNotFound
			}
		}
		ctx := req.Context()
		caller, err := g.authenticate(ctx, req, op)
		if err != nil {
			return err
		}
		if err := op.permitted(caller); err != nil {
			return err
		}
		ctx = domain.WithCaller(ctx, caller)
		req = req.WithContext(ctx)
		c.SetRequest(req)

		if op.hasParams && op.plain != nil && op.plain.valid(req, c) && !op.multipart && !op.jsonBody {
			// Nothing the validator checks could fail (see plainParams).
			return next(c)
		}
		params := make(map[string]string, len(op.paramNames))
		for _, n := range op.paramNames {
			params[n] = c.Param(n)
		}
		input := &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      op.route,
			Options: &openapi3filter.Options{
				ExcludeRequestBody: true,
				AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				// kin-openapi refuses any readOnly property in a request;
				// the contract accepts one carrying the value the resource
				// already has (a client PUTs back what it GOT), which only
				// impl can judge, after 404/403/423. Types are still checked.
				ExcludeReadOnlyValidations: true,
			},
		}
		if op.hasParams {
			// The validator reads the whole body while checking security
			// requirements, even with ExcludeRequestBody; it must not: a
			// chunk is streamed to disk by its handler. It sees no body.
			paramsOnly := *req
			paramsOnly.Body = http.NoBody
			input.Request = &paramsOnly
			err := openapi3filter.ValidateRequest(ctx, input)
			input.Request = req
			if err != nil {
				return domain.Errorf(domain.Invalid, "%s", describe(err))
			}
		}
		if err := g.checkBody(ctx, c, op, input, params); err != nil {
			return err
		}
		return next(c)
	}
}

// authenticate reads the Authorization header. A header that is present
// but unusable is 401 even where anonymous access is allowed: a bad token
// is never silently downgraded.
func (g *gate) authenticate(ctx context.Context, req *http.Request, op *operation) (domain.Caller, error) {
	if op.auth == authNone {
		return domain.Caller{}, nil
	}
	h := req.Header.Get("Authorization")
	if h == "" {
		if op.auth == authRequired {
			return domain.Caller{}, domain.Errorf(domain.Unauthorized, "Authentication required: send a bearer token.")
		}
		return g.auth.Anonymous(ctx)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return domain.Caller{}, domain.Errorf(domain.Unauthorized, "Authorization must be \"Bearer <token>\".")
	}
	// A credential the operation does not accept is judged first (a bad
	// one is 401 everywhere), then refused with 403: it did authenticate,
	// and 401 would tell clients such as the web UI to sign in again.
	if strings.HasPrefix(token, domain.APIKeyPrefix) {
		c, err := g.auth.AuthenticateKey(ctx, token)
		if err == nil && !op.keys {
			return domain.Caller{}, domain.Errorf(domain.Forbidden, "An API key cannot do this: use a token from POST /users/login.")
		}
		return c, err
	}
	c, err := g.auth.Authenticate(ctx, token)
	if err == nil && !op.tokens {
		return domain.Caller{}, domain.Errorf(domain.Forbidden, "A token cannot do this: use an API key.")
	}
	return c, err
}

// checkBody validates a JSON body against the spec, or checks that a
// multipart body is multipart (its parts are streamed by the handler). When
// the body is unusable, a resource error that a good body would have met
// first answers instead.
func (g *gate) checkBody(ctx context.Context, c echo.Context, op *operation, input *openapi3filter.RequestValidationInput, params map[string]string) error {
	req := c.Request()
	var bodyErr error
	switch {
	case op.multipart:
		mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
			bodyErr = domain.Errorf(domain.Invalid, "request body must be multipart/form-data with a boundary")
		}
	case op.jsonBody:
		if req.ContentLength > g.maxJSONBytes {
			bodyErr = domain.Errorf(domain.TooLarge, "request body exceeds the %d-byte limit", g.maxJSONBytes)
			break
		}
		data, err := io.ReadAll(io.LimitReader(req.Body, g.maxJSONBytes+1))
		if err != nil {
			return domain.Wrap(domain.Invalid, err, "could not read the request body")
		}
		if int64(len(data)) > g.maxJSONBytes {
			bodyErr = domain.Errorf(domain.TooLarge, "request body exceeds the %d-byte limit", g.maxJSONBytes)
			break
		}
		if len(bytes.TrimSpace(data)) == 0 {
			if op.requestBody.Required {
				bodyErr = domain.Errorf(domain.Invalid, "invalid request body: a JSON object is required")
				break
			}
			req.Body = http.NoBody
			req.ContentLength = 0
			break
		}
		if err := checkJSONType(req.Header.Get("Content-Type")); err != nil {
			bodyErr = err
			break
		}
		// Media types are case-insensitive, echo's binder is not; JSON is
		// UTF-8 whatever a charset parameter says (RFC 8259).
		req.Header.Set("Content-Type", "application/json")
		if err := checkJSON(data); err != nil {
			bodyErr = err
			break
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		if err := openapi3filter.ValidateRequestBody(ctx, input, op.requestBody); err != nil {
			bodyErr = domain.Errorf(domain.Invalid, "%s", describe(err))
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.ContentLength = int64(len(data))
	}
	if bodyErr == nil {
		return nil
	}
	if g.pre != nil {
		if err := g.pre.Precheck(ctx, op.id, params); err != nil {
			return err
		}
	}
	return bodyErr
}

// checkJSONType insists on application/json for a JSON body. Any type a
// browser may send from another origin without a preflight (text/plain,
// a form, none at all) is refused, so no web page can post JSON to the
// API behind its user's back; and a client that meant something else
// learns it at once.
func checkJSONType(contentType string) error {
	if contentType == "" {
		return domain.Errorf(domain.UnsupportedType, "request body must be sent as Content-Type: application/json; none was given")
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return domain.Errorf(domain.UnsupportedType, "request body must be sent as Content-Type: application/json, not %q", contentType)
	}
	return nil
}

// maxJSONDepth bounds nesting: no Sachet body nests more than three deep,
// and a deep one only costs the decoders time and stack.
const maxJSONDepth = 32

// checkJSON refuses what the validator's decoder would let through: data
// after the first value (`{...} x`, `{}{}`) and absurd nesting.
func checkJSON(data []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxJSONDepth {
				return domain.Errorf(domain.Invalid, "invalid request body: JSON nested deeper than %d levels", maxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	if !json.Valid(data) {
		return domain.Errorf(domain.Invalid, "invalid request body: not valid JSON")
	}
	return nil
}

// describe turns a kin-openapi validation error into one sentence that
// names the parameter or body field at fault.
func describe(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		err = me[0]
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return err.Error()
	}
	reason := re.Reason
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		reason = se.Reason
		if name, ok := unknownField(se); ok {
			reason = fmt.Sprintf("unknown field %q", name)
		} else if ptr := se.JSONPointer(); len(ptr) > 0 {
			reason = fmt.Sprintf("field %q: %s", strings.Join(ptr, "/"), se.Reason)
		}
	} else if re.Err != nil {
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) {
			if re.Parameter != nil {
				reason = "not a valid " + paramType(re.Parameter)
			} else {
				reason = "not valid JSON"
			}
		} else if reason == "" {
			reason = re.Err.Error()
		}
	}
	switch {
	case re.Parameter != nil:
		return fmt.Sprintf("invalid %s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	case re.RequestBody != nil:
		return "invalid request body: " + reason
	}
	return reason
}

// unknownField names the member of an object that its schema's
// `additionalProperties: false` refused, from the error's own object and
// schema rather than its English text.
func unknownField(se *openapi3.SchemaError) (string, bool) {
	obj, ok := se.Value.(map[string]any)
	if se.SchemaField != "properties" || !ok || se.Schema == nil {
		return "", false
	}
	var unknown []string
	for k := range obj {
		if _, declared := se.Schema.Properties[k]; !declared {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return "", false
	}
	slices.Sort(unknown) // the validator reports the first in this order
	return strings.Join(append(se.JSONPointer(), unknown[0]), "/"), true
}

func paramType(p *openapi3.Parameter) string {
	if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type != nil {
		return strings.Join(p.Schema.Value.Type.Slice(), " or ")
	}
	return "value"
}
