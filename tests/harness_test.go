// Package tests holds Sachet's black-box contract tests: the real server
// on a real port, a real database (SQLite and MariaDB), real files, and
// every response validated against openapi.yaml.
package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	_ "github.com/go-sql-driver/mysql"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/domain"
)

// dialects are the databases every contract test runs against.
var dialects = []string{"sqlite", "mysql"}

// testStorage is the blob store (app.Config.Storage, SACHET_STORAGE) of
// the servers under test: "file:" (the data dir), unless
// SACHET_TEST_STORAGE names another, so that one suite runs against each
// store.
func testStorage() string {
	if v := os.Getenv("SACHET_TEST_STORAGE"); v != "" {
		return v
	}
	return "file:"
}

// server is a running Sachet with a validating client.
type server struct {
	t       testing.TB
	URL     string
	App     *app.App
	Cfg     app.Config
	Dialect string
	client  *http.Client
	// allow5xx lets a test that provokes a server-side failure on purpose
	// (database down, disk full) see 5xx without failing.
	allow5xx bool
	admin    string // token of the "admin" user
}

// mysqlBase is the DSN prefix of the test MariaDB server.
func mysqlBase() string {
	if v := os.Getenv("SACHET_TEST_MYSQL"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// freshMySQL creates a database for one test and drops it afterwards. In
// CI a missing server fails the test; elsewhere it skips, loudly.
// servicesRequired says a missing service (MariaDB, versitygw) fails the
// test instead of skipping it: in CI, and under `make test`, whose
// scripts/test-deps has just provided them.
func servicesRequired() bool {
	return os.Getenv("CI") != "" || os.Getenv("SACHET_TEST_REQUIRE_SERVICES") != ""
}

func freshMySQL(t testing.TB) string {
	t.Helper()
	base := mysqlBase()
	conn, err := sql.Open("mysql", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = conn.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if servicesRequired() {
			t.Fatalf("MariaDB is required (CI or make test) but does not answer at %s: %v", base, err)
		}
		t.Skipf("!!! SKIPPING MySQL TESTS: no MariaDB at %s (%v); set SACHET_TEST_MYSQL or start mariadbd !!!", base, err)
	}
	var raw [6]byte
	_, _ = rand.Read(raw[:])
	name := "sachet_t_" + hex.EncodeToString(raw[:])
	if _, err := conn.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		conn.Close()
	})
	return "mysql:" + base + name
}

// start boots the real server with the defaults for dialect, adjusted by
// mutate.
func start(t testing.TB, dialect string, mutate func(*app.Config)) *server {
	t.Helper()
	return startWith(t, serverOpts{dialect: dialect, mutate: mutate})
}

// serverOpts configure startWith: control over the database, the
// data dir and the log.
type serverOpts struct {
	dialect  string // "sqlite" (default) or "mysql"
	database string // overrides the dialect's fresh database
	dataDir  string // default: a temporary dir
	mutate   func(*app.Config)
	logOut   io.Writer // default: the test log, warnings and up
	logJSON  bool
	logLevel slog.Level
	// peerOf makes a second server process in all but name: the same
	// database and data dir (so the same signing key) as an already
	// started server, whose admin token it shares.
	peerOf *server
}

// startWith boots the real server in-process on 127.0.0.1:0, with a
// temporary data dir unless o says otherwise.
func startWith(t testing.TB, o serverOpts) *server {
	t.Helper()
	cfg := app.Defaults()
	if p := o.peerOf; p != nil {
		o.dialect, o.dataDir, o.database = p.Dialect, p.Cfg.DataDir, p.Cfg.Database
	}
	cfg.DataDir = o.dataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if o.dialect == "" {
		o.dialect = "sqlite"
	}
	switch {
	case o.database != "":
		cfg.Database = o.database
	case o.dialect == "mysql":
		cfg.Database = freshMySQL(t)
	default:
		cfg.Database = "sqlite:" + filepath.Join(cfg.DataDir, "sachet.db")
	}
	useTestStorage(t, &cfg)
	if p := o.peerOf; p != nil {
		cfg.Storage, cfg.S3Endpoint, cfg.S3PathStyle, cfg.S3Region = p.Cfg.Storage, p.Cfg.S3Endpoint, p.Cfg.S3PathStyle, p.Cfg.S3Region
	}
	cfg.BcryptCost = 4
	cfg.Addr = "127.0.0.1:0"
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	var h slog.Handler
	if o.logOut == nil {
		h = slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})
	} else if o.logJSON {
		h = slog.NewJSONHandler(o.logOut, &slog.HandlerOptions{Level: o.logLevel})
	} else {
		h = slog.NewTextHandler(o.logOut, &slog.HandlerOptions{Level: o.logLevel})
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, slog.New(h))
	if err != nil {
		cancel()
		t.Fatalf("open app: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	s := &server{t: t, URL: "http://" + ln.Addr().String(), App: a, Cfg: cfg, Dialect: o.dialect}
	base := http.DefaultTransport
	if cfg.IdleTimeout > 0 {
		// Never reuse a connection the server may be closing as idle: a
		// streamed body cannot be replayed on another one.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.IdleConnTimeout = cfg.IdleTimeout / 2
		base = tr
	}
	s.client = &http.Client{Transport: &validatingTransport{s: s, base: base}}
	t.Cleanup(func() {
		cancel()
		select { // a cleanup reports, and lets the others run
		case err := <-done:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("serve had not returned a minute after its context was cancelled")
		}
		a.Close()
	})
	if o.peerOf != nil {
		s.admin = o.peerOf.admin
		return s
	}
	if err := a.CreateUser(context.Background(), "admin", "admin-pw", domain.PermAll); err != nil {
		t.Fatal(err)
	}
	s.admin = s.login("admin", "admin-pw")
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ---- responses validated against the spec ----

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec() (*openapi3.T, routers.Router, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromFile("../openapi.yaml")
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(loader.Context); specErr != nil {
			return
		}
		specDoc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	return specDoc, specRouter, specErr
}

// validatingTransport checks every response against openapi.yaml: the
// status must be declared for the operation (5xx only via `default`), and
// headers and JSON bodies must match. Errors must be the JSON envelope.
type validatingTransport struct {
	s    *server
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t := v.s.t
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkResponse(req, resp, body); err != nil {
		t.Errorf("%s %s → %d: response outside the contract: %v\nbody: %.300s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.StatusCode >= 500 && !v.s.allow5xx {
		t.Errorf("%s %s → %d (5xx): %.300s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, nil
}

func checkResponse(req *http.Request, resp *http.Response, body []byte) error {
	_, router, err := loadSpec()
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json"
	if resp.StatusCode >= 400 && req.Method != http.MethodHead && resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		var env struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		if !isJSON || json.Unmarshal(body, &env) != nil || env.Status != "fail" || env.Message == "" {
			return fmt.Errorf("error is not the JSON envelope {status: fail, message}")
		}
	}
	// API.md §Browsers: a browser must never sniff a JSON body (an error
	// echoing client input, say) into something it renders.
	if isJSON && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		return fmt.Errorf("JSON response without X-Content-Type-Options: nosniff")
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || req.Method == http.MethodOptions {
			return nil
		}
		return fmt.Errorf("no such operation in the spec, but answered %d", resp.StatusCode)
	}
	if resp.StatusCode < 500 && route.Operation.Responses.Status(resp.StatusCode) == nil {
		return fmt.Errorf("status %d is not declared for %s", resp.StatusCode, route.Operation.OperationID)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			ExcludeResponseBody:   !isJSON,
		},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// ---- request helpers ----

// reply is a finished response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %.200s", err, r.Body)
	}
	return m
}

// Message is the envelope's message.
func (r reply) Message() string {
	var m struct{ Message string }
	_ = json.Unmarshal(r.Body, &m)
	return m.Message
}

// req sends a request. body may be nil, a string or []byte (sent as is,
// as JSON), or anything else (marshalled to JSON).
func (s *server) req(method, path, token string, body any, headers ...string) reply {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// expect fails the test unless r has the wanted status.
func expect(t testing.TB, r reply, want int) reply {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %.300s", r.Status, want, r.Body)
	}
	return r
}

// login returns a token for the user.
func (s *server) login(user, pw string) string {
	s.t.Helper()
	r := expect(s.t, s.req("POST", "/users/login", "", map[string]string{"username": user, "password": pw}), 200)
	tok, _ := r.JSON(s.t)["auth_token"].(string)
	if tok == "" {
		s.t.Fatal("login returned no token")
	}
	return tok
}

// user creates a user with the given permissions and returns its token.
func (s *server) user(name string, perms ...string) string {
	s.t.Helper()
	if perms == nil {
		perms = []string{}
	}
	expect(s.t, s.req("POST", "/users", s.admin, map[string]any{"username": name, "password": name + "-pw", "permissions": perms}), 201)
	return s.login(name, name+"-pw")
}

// setAnon sets the anonymous permissions.
func (s *server) setAnon(perms ...string) {
	s.t.Helper()
	if perms == nil {
		perms = []string{}
	}
	expect(s.t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": perms}), 200)
}
