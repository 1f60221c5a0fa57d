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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sachet "github.com/sachet-server/sachet"
	"github.com/sachet-server/sachet/api"
	"github.com/sachet-server/sachet/auth"
	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/db"
	"github.com/sachet-server/sachet/docs"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
	"github.com/sachet-server/sachet/impl"
	"github.com/sachet-server/sachet/s3store"
	"github.com/sachet-server/sachet/storage"
	"github.com/sachet-server/sachet/upload"
)

// App is an opened Sachet: database, blob store, keys and handlers.
type App struct {
	cfg       Config
	log       *slog.Logger
	Store     *db.Store
	Blobs     blob.Store
	uploads   *upload.Manager
	passwords *auth.Passwords
	handler   http.Handler
	// metrics is the Prometheus handler when it has a listener of its own
	// (MetricsAddr); nil when the API serves /metrics.
	metrics http.Handler
}

// Open prepares the data directory, connects and migrates the database,
// and builds the HTTP handler.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.Default()
	}
	log = api.WithRequestIDs(log)
	if err := secureDataDir(cfg, log); err != nil {
		return nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	store.SetCacheTTL(cfg.CacheTTL)
	store.SetMaxOpenUploads(cfg.MaxOpenUploads)
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	limits := upload.Limits{MaxChunkSize: cfg.MaxChunkSize, MaxChunks: cfg.MaxChunks, MaxFileSize: cfg.MaxFileSize}
	uploads := upload.New(store, blobs, limits, log)
	tokens, err := auth.NewTokens(key, cfg.TokenTTL, nil)
	if err != nil {
		store.Close()
		return nil, err
	}
	passwords, err := newPasswords(cfg.BcryptCost)
	if err != nil {
		store.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, Store: store, Blobs: blobs, uploads: uploads, passwords: passwords}
	reg := prometheus.NewRegistry()
	throttle := auth.NewThrottle(store, cfg.LoginMaxFailures, cfg.LoginWindow)
	if err := registerMetrics(reg, store, throttle); err != nil {
		store.Close()
		return nil, err
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.MetricsAddr != "" {
		a.metrics, metrics = metrics, nil // the API's /metrics is then 404
	}
	meta, err := newMeta(store, blobs, metrics)
	if err != nil {
		store.Close()
		return nil, err
	}
	obs, err := api.NewObserver(api.ObserveConfig{
		Logger:         log,
		Registerer:     reg,
		IdleTimeout:    cfg.IdleTimeout,
		MaxHeaderBytes: cfg.MaxHeaderBytes,
		ClientAddr: func(r *http.Request) string {
			if ip := auth.ClientAddr(r, cfg.TrustedProxies); ip.IsValid() {
				return ip.String()
			}
			return r.RemoteAddr
		},
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	keys := impl.NewKeys(store)
	content := impl.NewContent(store, uploads, blobs, impl.Limits(limits), log).WithQuotas(store, blobs)
	if cfg.S3PresignedRedirect {
		p, ok := blobs.(*s3store.Store)
		if !ok {
			store.Close()
			return nil, fmt.Errorf("SACHET_S3_PRESIGNED_REDIRECT needs content on S3 (SACHET_STORAGE=s3://...)")
		}
		content.WithPresignedRedirect(p)
	}
	authH := impl.NewAuth(store, tokens, passwords).WithThrottle(throttle, cfg.TrustedProxies).WithKeys(keys)
	srv := &impl.Server{
		Auth:     authH,
		Users:    impl.NewUsers(store, passwords),
		Settings: impl.NewSettings(store),
		Shares:   impl.NewShares(store, blobs, log),
		Content:  content,
		Meta:     meta,
		Uploads:  impl.NewUploads(store, blobs, log),
		Keys:     keys,
		Requests: impl.NewRequests(store, content, blobs, log),
		Links:    impl.NewLinks(store, content, passwords, throttle, cfg.TrustedProxies),
	}
	e, err := api.New(api.Config{
		CORSOrigins:  api.ParseOrigins(cfg.CORSOrigins),
		MaxJSONBytes: cfg.MaxJSONBytes,
		Logger:       log,
		Observer:     obs,
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
	a.handler = api.NoSniff(obs.Wrap(e))
	return a, nil
}

// openBlobs opens the blob store cfg.Storage names.
func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	kind, err := storageKind(cfg.Storage)
	if err != nil {
		return nil, fmt.Errorf("SACHET_STORAGE %q: %w", cfg.Storage, err)
	}
	switch kind {
	case "file":
		dir := strings.TrimPrefix(cfg.Storage, "file:")
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "blobs")
		}
		fs, err := storage.Open(dir)
		if err != nil {
			return nil, err
		}
		return fs.Store(), nil
	case "s3":
		bucket, prefix, err := s3store.ParseURL(cfg.Storage)
		if err != nil {
			return nil, fmt.Errorf("SACHET_STORAGE %q: %w", cfg.Storage, err)
		}
		s3, err := s3store.Open(ctx, s3store.Config{
			Bucket: bucket, Prefix: prefix,
			Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, PathStyle: cfg.S3PathStyle,
			// Chunks pass through here on their way to S3 (unlinked
			// files: nothing stays); the data dir is on a real disk,
			// where /tmp may be a small tmpfs.
			SpoolDir: filepath.Join(cfg.DataDir, "s3-spool"),
		})
		if err != nil {
			return nil, fmt.Errorf("SACHET_STORAGE %q: %w", cfg.Storage, err)
		}
		return s3, nil
	}
	return nil, fmt.Errorf("SACHET_STORAGE %q: unsupported", cfg.Storage)
}

// registerMetrics adds the process, Go runtime, database pool and login
// throttle collectors; the HTTP ones come with the api.Observer.
func registerMetrics(reg *prometheus.Registry, store *db.Store, throttle *auth.Throttle) error {
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sachet_login_throttled_total",
			Help: "Sign-in attempts refused (429) because of too many failures.",
		}, func() float64 { return float64(throttle.Refused()) }),
	}
	for name, pool := range store.Pools() {
		// go_sql_* metrics: open, in use and idle connections, waits.
		cs = append(cs, collectors.NewDBStatsCollector(pool, "sachet_"+name))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// newMeta prepares what the meta routes serve: readiness checks, metrics,
// the contract as YAML and JSON, and the reference page.
func newMeta(store *db.Store, blobs blob.Store, metrics http.Handler) (*impl.Meta, error) {
	spec, err := sachet.LoadSpec()
	if err != nil {
		return nil, err
	}
	specJSON, err := spec.MarshalJSON()
	if err != nil {
		return nil, err
	}
	page, csp, err := docs.Page(spec.Info.Title, specJSON)
	if err != nil {
		return nil, err
	}
	ping := func(ctx context.Context) error {
		// A readiness probe must answer even when the database hangs.
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		return store.Ping(ctx)
	}
	writable := func() error {
		// Like the ping: a store that hangs (S3 unreachable) must not hang
		// the probe.
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		return blobs.Writable(ctx)
	}
	return impl.NewMeta(impl.Checks{Database: ping, Storage: writable},
		metrics, sachet.OpenAPIYAML, specJSON, page, csp), nil
}

// readyTimeout bounds the database ping of /readyz.
const readyTimeout = 3 * time.Second

// Close releases the database.
func (a *App) Close() error {
	a.passwords.Close()
	return a.Store.Close()
}

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
//
// On SQLite, Serve refuses to start while another server uses the same
// database file (see lockSQLiteServer).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	release, err := lockSQLiteServer(a.cfg.Database)
	if err != nil {
		ln.Close()
		return err
	}
	defer release()
	a.raiseFileLimit()
	headerTimeout := a.cfg.HeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = 10 * time.Second
	}
	idle := a.cfg.IdleTimeout
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	rl := api.NewListener(ln)
	rl.IdleTimeout = idle
	srv := &http.Server{
		Handler: a.handler,
		// Slowloris: headers must arrive in time. There is deliberately no
		// ReadTimeout or WriteTimeout, which would cut large transfers;
		// the handler cuts stalled ones instead (SACHET_IDLE_TIMEOUT).
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idle, // keep-alive connections with no request
		// The handler answers 431 with the JSON envelope beyond
		// MaxHeaderBytes; this is the hard limit beyond which Go's server
		// answers 431 itself, with a text body.
		MaxHeaderBytes: hardHeaderLimit(a.cfg.MaxHeaderBytes),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// The idle watchdog looks at each download's socket
		// (api/sendwait.go), and large downloads leave net/http for a
		// sender of their own, handing the connection back after
		// (api/detach.go).
		ConnContext: rl.ConnContext,
		ErrorLog:    slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	if a.metrics != nil {
		// Asked for explicitly: failing to listen fails the start, where
		// the optional pprof listener only warns.
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("invalid SACHET_METRICS_ADDR %q: %w", a.cfg.MetricsAddr, err)
		}
		go a.serveMetrics(cleanupCtx, mln)
	}
	go a.cleanupLoop(cleanupCtx)
	if a.cfg.PprofAddr != "" {
		go a.servePprof(cleanupCtx)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(rl) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: refusing new connections, finishing requests in flight", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err == nil {
		// Shutdown does not know the downloads sent outside net/http.
		err = rl.Drain(sctx)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		rl.Drain(sctx) // cuts the detached downloads still sending
		// What did not finish in time was not acknowledged: nothing is lost
		// by cutting it, and the stop is still an orderly one.
		a.log.Warn("shutdown timeout reached: cutting the requests still in flight", "timeout", a.cfg.ShutdownTimeout)
		srv.Close()
		return nil
	}
	return err
}

// hardHeaderLimit is http.Server's MaxHeaderBytes for a soft limit of n.
func hardHeaderLimit(n int) int {
	if n <= 0 {
		return 0 // net/http's default, 1 MiB
	}
	return 2 * n
}

// cleanupLease names the database lease that lets one process at a time
// run the periodic cleanup.
const cleanupLease = "cleanup"

func (a *App) cleanupEvery() time.Duration {
	every := a.cfg.StaleAfter / 4
	if every > time.Hour {
		every = time.Hour
	}
	if every < time.Second {
		every = time.Second
	}
	return every
}

func (a *App) cleanupLoop(ctx context.Context) {
	every := a.cleanupEvery()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := a.periodicCleanup(ctx, every); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "cleanup", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// periodicCleanup runs Cleanup if this process holds the cleanup lease,
// taken (or renewed) for one period: with N servers on one database the
// cleanup runs once per period, not N times, and when its holder dies
// another server takes over within a period. It reports whether it ran.
// The lease is an economy, not a safety net: Cleanup re-checks every row
// it deletes under lock, so two overlapping runs are still correct.
func (a *App) periodicCleanup(ctx context.Context, every time.Duration) (bool, error) {
	held, err := a.Store.TakeLease(ctx, cleanupLease, every)
	if err != nil || !held {
		return false, err
	}
	_, err = a.Cleanup(ctx)
	return true, err
}

// CleanupReport counts what a cleanup removed.
type CleanupReport struct {
	ExpiredFiles  int // content of expired shares
	StaleFiles    int
	OrphanFiles   int
	RevokedTokens int64
}

// Cleanup deletes expired shares with their content, uninitialized shares and unfinished uploads older than
// StaleAfter with their files, orphan files a crash left behind, and
// revoked-token records past their expiry. Orphans are files no row names
// that have not been written to for twice the idle timeout: anything still
// being written is touched more often than that.
func (a *App) Cleanup(ctx context.Context) (CleanupReport, error) {
	var r CleanupReport
	now := time.Now().UTC()
	grace := 2 * a.cfg.IdleTimeout
	if grace < 2*time.Second {
		grace = 2 * time.Second
	}
	var err error
	// Expired shares first: their rows go, then their content, through
	// the blob store (file or S3). A file that fails to go is an orphan
	// the sweep below (or the next one) removes.
	expired, err := a.Store.DeleteExpired(ctx, now)
	if len(expired) > 0 {
		if rerr := a.Blobs.Remove(context.WithoutCancel(ctx), expired...); rerr != nil {
			a.log.WarnContext(ctx, "removing expired shares' files", "err", rerr)
		}
		r.ExpiredFiles = len(expired)
	}
	if err != nil {
		return r, err
	}
	if r.StaleFiles, r.OrphanFiles, err = a.uploads.Cleanup(ctx, now.Add(-a.cfg.StaleAfter), now.Add(-grace)); err != nil {
		return r, err
	}
	// Quota holds of uploads that are gone, or of requests that died.
	if _, err = a.Store.PurgeHolds(ctx, now.Add(-a.cfg.StaleAfter)); err != nil {
		return r, err
	}
	if r.RevokedTokens, err = a.Store.PurgeRevoked(ctx, now); err != nil {
		return r, err
	}
	// Empty sign-in budgets and addresses no longer familiar: the
	// throttle's tables grow with every name and address tried otherwise.
	if _, err = a.Store.PurgeLogins(ctx, now, now.Add(-auth.FamiliarFor)); err != nil {
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
