package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	sachet "github.com/sachet-server/sachet"
	"github.com/sachet-server/sachet/api/mpguard"
	"github.com/sachet-server/sachet/gen"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	// CORSOrigins are the origins allowed to call the API from a browser;
	// "*" allows any.
	CORSOrigins []string
	// MaxJSONBytes caps JSON request bodies (413 beyond).
	MaxJSONBytes int64
	Logger       *slog.Logger
	// Observer, when set, names each request's operation for its metrics
	// and access log; wrap the returned handler with Observer.Wrap.
	Observer *Observer
	// Multipart bounds each multipart body's part headers and parts (400
	// beyond); zero: mpguard.Default.
	Multipart mpguard.Limits
}

// Deps are the collaborators behind the HTTP layer.
type Deps struct {
	Handlers    gen.StrictServerInterface
	Middlewares []gen.StrictMiddlewareFunc
	Auth        Authenticator
	Precheck    Prechecker
}

// New builds the echo server for the whole API.
func New(cfg Config, deps Deps) (*echo.Echo, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxJSONBytes <= 0 {
		cfg.MaxJSONBytes = 1 << 20
	}
	if cfg.Multipart == (mpguard.Limits{}) {
		cfg.Multipart = mpguard.Default
	}
	spec, err := sachet.LoadSpec()
	if err != nil {
		return nil, err
	}
	spec.Servers = nil // the validator would otherwise match only those hosts
	ops, err := indexOperations(spec)
	if err != nil {
		return nil, err
	}
	if deps.Precheck == nil {
		return nil, errors.New("api: Deps.Precheck is required")
	}
	if err := checkPrechecks(ops, deps.Precheck.Prechecked()); err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)

	if cfg.Observer != nil {
		cfg.Observer.setOperations(ops)
		e.Use(cfg.Observer.echoMiddleware)
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			cfg.Logger.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.CORSWithConfig(corsConfig(cfg.CORSOrigins)))
	g := &gate{ops: ops, auth: deps.Auth, pre: deps.Precheck, maxJSONBytes: cfg.MaxJSONBytes}
	e.Use(g.middleware)
	e.Use(guardMultipart(cfg.Multipart))

	gen.RegisterHandlers(e, gen.NewStrictHandler(deps.Handlers, deps.Middlewares))
	return e, nil
}

// corsAllowHeaders are the request headers real browser clients send: the
// web UI and fetch() callers (Authorization, Content-Type, Range and the
// conditional If-* headers), and a stock Dropzone.js, which sets
// X-Requested-With and Cache-Control on every chunk; and a page that
// downloads through a share link with a password (X-Sachet-Link-Password).
// A preflight that refuses any of them fails the request before it is sent.
var corsAllowHeaders = []string{
	"Authorization", "Content-Type", "Range",
	"If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
	"X-Requested-With", "Cache-Control", "X-Request-Id", "X-Sachet-Link-Password",
}

// corsConfig allows the methods and headers real browser clients use, and
// exposes the headers they read, on every response including errors.
func corsConfig(origins []string) middleware.CORSConfig {
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return middleware.CORSConfig{
		AllowOrigins: origins,
		AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders: corsAllowHeaders,
		ExposeHeaders: []string{"Content-Disposition", "Content-Range", "Content-Length", "ETag", "Location",
			"Accept-Ranges", "Last-Modified", "Retry-After", "X-Request-Id"},
		MaxAge: int((24 * time.Hour).Seconds()),
	}
}

// ParseOrigins splits a comma-separated origin list.
func ParseOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
