// Package app wires Sachet's parts into a running server and the operator
// commands, from one Config. Tests use it to boot the real server in-process.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sachet "github.com/sachet-server/sachet"
	"github.com/sachet-server/sachet/api"
	"github.com/sachet-server/sachet/auth"
	"github.com/sachet-server/sachet/db"
	"github.com/sachet-server/sachet/docs"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
	"github.com/sachet-server/sachet/impl"
	"github.com/sachet-server/sachet/storage"
)

// App is an opened Sachet: database, blob store, keys and handlers.
type App struct {
	cfg       Config
	log       *slog.Logger
	Store     *db.Store
	Blobs     *storage.FS
	passwords *auth.Passwords
	handler   http.Handler
}

// Open prepares the data directory, connects and migrates the database,
// and builds the HTTP handler.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	key, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	blobs, err := storage.Open(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	tokens, err := auth.NewTokens(key, cfg.TokenTTL, nil)
	if err != nil {
		store.Close()
		return nil, err
	}
	passwords, err := auth.NewPasswords(cfg.BcryptCost, runtime.NumCPU())
	if err != nil {
		store.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, Store: store, Blobs: blobs, passwords: passwords}
	meta, err := newMeta(store, blobs)
	if err != nil {
		store.Close()
		return nil, err
	}
	authH := impl.NewAuth(store, tokens, passwords)
	srv := &impl.Server{
		Auth:     authH,
		Users:    impl.NewUsers(store, passwords),
		Settings: impl.NewSettings(store),
		Shares:   impl.NewShares(store, blobs, log),
		Content: impl.NewContent(store, blobs, impl.Limits{
			MaxChunkSize: cfg.MaxChunkSize, MaxChunks: cfg.MaxChunks, MaxFileSize: cfg.MaxFileSize,
		}, log),
		Meta: meta,
	}
	e, err := api.New(api.Config{
		CORSOrigins:  api.ParseOrigins(cfg.CORSOrigins),
		MaxJSONBytes: cfg.MaxJSONBytes,
		Logger:       log,
	}, api.Deps{
		Handlers:    srv,
		Middlewares: []gen.StrictMiddlewareFunc{impl.RequestInContext},
		Auth:        authH,
		Precheck:    srv,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	a.handler = e
	return a, nil
}

// newMeta prepares what the meta routes serve: readiness checks, metrics,
// the contract as YAML and JSON, and the reference page.
func newMeta(store *db.Store, blobs *storage.FS) (*impl.Meta, error) {
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, err
	}
	specJSON, err := spec.MarshalJSON()
	if err != nil {
		return nil, err
	}
	page, err := docs.Page(spec.Info.Title, specJSON)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return impl.NewMeta(impl.Checks{Database: store.Ping, Storage: blobs.Writable},
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), sachet.OpenAPIYAML, specJSON, page), nil
}

// Close releases the database.
func (a *App) Close() error { return a.Store.Close() }

// Handler is the whole HTTP API.
func (a *App) Handler() http.Handler { return a.handler }

// secretKey is the configured key, or the one kept in the data dir,
// generated on first start.
func secretKey(cfg Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey), nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k := strings.TrimSpace(string(b))
		if len(k) < 32 {
			return nil, fmt.Errorf("%s: key shorter than 32 bytes", path)
		}
		return []byte(k), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another process won the race
		return secretKey(cfg)
	} else if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return []byte(k), f.Close()
}

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully:
// new connections are refused and in-flight requests get ShutdownTimeout
// to finish. It also runs the periodic cleanup.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go a.cleanupLoop(cleanupCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	return err
}

func (a *App) cleanupLoop(ctx context.Context) {
	every := a.cfg.StaleAfter / 4
	if every > time.Hour {
		every = time.Hour
	}
	if every < time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := a.Cleanup(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "cleanup", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CleanupReport counts what a cleanup removed.
type CleanupReport struct {
	StaleFiles    int
	OrphanFiles   int
	RevokedTokens int64
}

// Cleanup deletes uninitialized shares and unfinished uploads older than
// StaleAfter with their files, orphan files a crash left behind, and
// revoked-token records past their expiry. Orphans are files no row names
// that have not been written to for twice the idle timeout: anything still
// being written is touched more often than that.
func (a *App) Cleanup(ctx context.Context) (CleanupReport, error) {
	var r CleanupReport
	now := time.Now().UTC()
	files, err := a.Store.DeleteStale(ctx, now.Add(-a.cfg.StaleAfter))
	if err != nil {
		return r, err
	}
	if err := a.Blobs.Remove(files...); err != nil {
		return r, err
	}
	r.StaleFiles = len(files)
	grace := 2 * a.cfg.IdleTimeout
	if grace < 2*time.Second {
		grace = 2 * time.Second
	}
	if r.OrphanFiles, err = a.Blobs.Sweep(ctx, now.Add(-grace), a.Store.FileReferenced); err != nil {
		return r, err
	}
	if r.RevokedTokens, err = a.Store.PurgeRevoked(ctx, now); err != nil {
		return r, err
	}
	return r, nil
}

// CreateUser registers a user from the command line.
func (a *App) CreateUser(ctx context.Context, username, password string, perms domain.Perm) error {
	if err := domain.ValidateUsername(username); err != nil {
		return err
	}
	if err := domain.ValidatePassword(password); err != nil {
		return err
	}
	hash, err := a.passwords.Hash(ctx, password)
	if err != nil {
		return err
	}
	return a.Store.CreateUser(ctx, &domain.User{Username: username, PasswordHash: hash, Perms: perms})
}

// DeleteUser removes a user from the command line.
func (a *App) DeleteUser(ctx context.Context, username string) error {
	return a.Store.DeleteUser(ctx, username)
}
