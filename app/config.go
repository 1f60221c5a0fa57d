package app

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sachet-server/sachet/s3store"
)

// Config is every setting of every sachet command, read once in main.
type Config struct {
	Addr     string
	DataDir  string
	Database string // "sqlite:<path>" or "mysql:<dsn>"; empty: SQLite in DataDir
	// Storage says where content lives: "file:" (blobs/ in DataDir, the
	// default), "file:<dir>", or "s3://bucket/prefix" (with the S3
	// settings below). Open chooses the blob.Store from it.
	Storage string
	// S3Endpoint is the S3 server (host:port or URL; http:// for no TLS);
	// empty means AWS. S3Region defaults to us-east-1. S3PathStyle puts
	// the bucket in the path, as most self-hosted S3 servers need.
	S3Endpoint  string
	S3Region    string
	S3PathStyle bool

	// S3PresignedRedirect answers a plain content GET with a 302 to a
	// short-lived presigned URL of the object, so that S3 serves the
	// bytes (off by default; only with s3:// storage).
	S3PresignedRedirect bool

	SecretKey    string // empty: generated once and kept in DataDir
	TokenTTL     time.Duration
	BcryptCost   int
	CORSOrigins  string
	MaxChunkSize int64
	MaxChunks    int
	MaxFileSize  int64
	// MaxOpenUploads bounds each user's unfinished uploads (anonymous
	// users share one budget); 0: no bound.
	MaxOpenUploads  int
	MaxJSONBytes    int64
	StaleAfter      time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
	LogFormat       string
	// HeaderTimeout bounds how long a client may take to send a request's
	// headers (slowloris).
	HeaderTimeout time.Duration
	// MaxHeaderBytes caps request headers (431 beyond).
	MaxHeaderBytes int
	// LoginMaxFailures is the sign-in throttle's budget: failed sign-ins
	// per (username, client address), and per username from unfamiliar
	// addresses (ten times as many per address); each budget refills fully
	// within LoginWindow, one attempt every LoginWindow/LoginMaxFailures.
	// Past it, 429. 0: no limit. See auth.Throttle.
	LoginMaxFailures int
	LoginWindow      time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// CacheTTL bounds how long a change made by another process (another
	// server on the same MySQL, the CLI) may go unseen; see db.DefaultCacheTTL.
	CacheTTL time.Duration
	// PprofAddr, when set, serves net/http/pprof there (keep it on loopback).
	PprofAddr string
	// MetricsAddr, when set, serves /metrics there, and the API's
	// listener no longer does.
	MetricsAddr string
}

// setting binds one flag to its environment variable.
type setting struct {
	flag, env, help string
	def             string
	set             func(c *Config, v string) error
}

func durationSetting(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("not a non-negative duration such as 90s or 24h")
		}
		*dst(c) = d
		return nil
	}
}

func intSetting(min int64, dst func(*Config, int64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < min {
			return fmt.Errorf("not an integer ≥ %d", min)
		}
		dst(c, n)
		return nil
	}
}

func stringSetting(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

var settings = []setting{
	{"addr", "SACHET_ADDR", "listen address", "127.0.0.1:5000", stringSetting(func(c *Config) *string { return &c.Addr })},
	{"data-dir", "SACHET_DATA_DIR", "blobs, the SQLite file and the generated secret", "./sachet-data", stringSetting(func(c *Config) *string { return &c.DataDir })},
	{"database", "SACHET_DATABASE", "sqlite:<path> or mysql:<go-sql-driver DSN> (default: SQLite in the data dir)", "", stringSetting(func(c *Config) *string { return &c.Database })},
	{"storage", "SACHET_STORAGE", "where content lives: file: (blobs/ in the data dir), file:<dir> or s3://bucket/prefix", "file:", stringSetting(func(c *Config) *string { return &c.Storage })},
	{"s3-endpoint", "SACHET_S3_ENDPOINT", "S3 server, host:port or URL (http:// for no TLS); empty: AWS", "", stringSetting(func(c *Config) *string { return &c.S3Endpoint })},
	{"s3-region", "SACHET_S3_REGION", "S3 region", "us-east-1", stringSetting(func(c *Config) *string { return &c.S3Region })},
	{"s3-path-style", "SACHET_S3_PATH_STYLE", "address the bucket in the path, not the host name (true for most self-hosted S3 servers)", "false", func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		c.S3PathStyle = b
		return nil
	}},
	{"s3-presigned-redirect", "SACHET_S3_PRESIGNED_REDIRECT", "answer content downloads with a 302 to a 5-minute presigned S3 URL, so S3 serves the bytes (s3:// storage only)", "false", func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		c.S3PresignedRedirect = b
		return nil
	}},
	{"secret-key", "SACHET_SECRET_KEY", "HS256 key, at least 32 bytes (default: generated, kept in the data dir)", "", stringSetting(func(c *Config) *string { return &c.SecretKey })},
	{"token-ttl", "SACHET_TOKEN_TTL", "token lifetime", "168h", durationSetting(func(c *Config) *time.Duration { return &c.TokenTTL })},
	{"bcrypt-cost", "SACHET_BCRYPT_COST", "password hash cost (4–31)", "12", intSetting(4, func(c *Config, n int64) { c.BcryptCost = int(n) })},
	{"cors-origins", "SACHET_CORS_ORIGINS", "allowed browser origins, comma-separated", "*", stringSetting(func(c *Config) *string { return &c.CORSOrigins })},
	{"max-chunk-size", "SACHET_MAX_CHUNK_SIZE", "largest chunk in bytes", "268435456", intSetting(1, func(c *Config, n int64) { c.MaxChunkSize = n })},
	{"max-chunks", "SACHET_MAX_CHUNKS", "most chunks in one upload", "100000", intSetting(1, func(c *Config, n int64) { c.MaxChunks = int(n) })},
	{"max-file-size", "SACHET_MAX_FILE_SIZE", "largest file in bytes (0: unlimited)", "68719476736", intSetting(0, func(c *Config, n int64) { c.MaxFileSize = n })},
	{"max-open-uploads", "SACHET_MAX_OPEN_UPLOADS", "most unfinished uploads per user, anonymous users sharing one budget (0: no limit)", "32", intSetting(0, func(c *Config, n int64) { c.MaxOpenUploads = int(n) })},
	{"max-json-size", "SACHET_MAX_JSON_SIZE", "largest JSON request body in bytes", "1048576", intSetting(1, func(c *Config, n int64) { c.MaxJSONBytes = n })},
	{"stale-after", "SACHET_STALE_AFTER", "age at which uninitialized shares and unfinished uploads are deleted", "24h", durationSetting(func(c *Config) *time.Duration { return &c.StaleAfter })},
	{"idle-timeout", "SACHET_IDLE_TIMEOUT", "cut a transfer or connection when no bytes move for this long", "60s", durationSetting(func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"cache-ttl", "SACHET_CACHE_TTL", "how long users, tokens and shares read from the database are reused (changes by this process are seen at once, by other processes within this; 0: read every time)", "1s", durationSetting(func(c *Config) *time.Duration { return &c.CacheTTL })},
	{"shutdown-timeout", "SACHET_SHUTDOWN_TIMEOUT", "how long in-flight requests may finish on SIGTERM", "30s", durationSetting(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"log-format", "SACHET_LOG_FORMAT", "text or json", "text", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("must be text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{"header-timeout", "SACHET_HEADER_TIMEOUT", "how long a client may take to send the request headers", "10s", durationSetting(func(c *Config) *time.Duration { return &c.HeaderTimeout })},
	{"max-header-size", "SACHET_MAX_HEADER_SIZE", "largest request header block in bytes (431 beyond)", "65536", intSetting(1024, func(c *Config, n int64) { c.MaxHeaderBytes = int(n) })},
	{"login-max-failures", "SACHET_LOGIN_MAX_FAILURES", "failed sign-ins allowed per username and client address, and per username from addresses it has not signed in from (10x per address), before 429 (0: no limit)", "10", intSetting(0, func(c *Config, n int64) { c.LoginMaxFailures = int(n) })},
	{"login-window", "SACHET_LOGIN_WINDOW", "time a used-up sign-in budget takes to refill fully (one attempt comes back every window/max-failures)", "15m", durationSetting(func(c *Config) *time.Duration { return &c.LoginWindow })},
	{"metrics-addr", "SACHET_METRICS_ADDR", "serve /metrics on this address instead of the API's, e.g. 127.0.0.1:9100 (default: on the API's)", "", stringSetting(func(c *Config) *string { return &c.MetricsAddr })},
	{"pprof-addr", "SACHET_PPROF_ADDR", "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (default: off)", "", stringSetting(func(c *Config) *string { return &c.PprofAddr })},
	{"trusted-proxies", "SACHET_TRUSTED_PROXIES", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For is believed", "", func(c *Config, v string) error {
		p, err := ParsePrefixes(v)
		if err != nil {
			return err
		}
		c.TrustedProxies = p
		return nil
	}},
}

// ParsePrefixes reads a comma-separated list of IP addresses and CIDRs.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// BindFlags registers every setting on fs and returns a function that,
// after fs.Parse, yields the config: flag, else environment, else default.
// An invalid value is an error naming the setting.
func BindFlags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	vals := make([]*string, len(settings))
	for i, s := range settings {
		vals[i] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def))
	}
	return func() (Config, error) {
		var c Config
		for i, s := range settings {
			v, from := *vals[i], "-"+s.flag
			if v == "" {
				v, from = getenv(s.env), s.env
			}
			if v == "" {
				v, from = s.def, s.env+" default"
			}
			if err := s.set(&c, v); err != nil {
				return c, fmt.Errorf("invalid %s %q: %v", from, v, err)
			}
		}
		if c.SecretKey != "" && len(c.SecretKey) < 32 {
			return c, fmt.Errorf("invalid SACHET_SECRET_KEY: must be at least 32 bytes")
		}
		if c.BcryptCost > 31 {
			return c, fmt.Errorf("invalid SACHET_BCRYPT_COST %d: must be 4–31", c.BcryptCost)
		}
		if c.HeaderTimeout <= 0 {
			return c, fmt.Errorf("invalid SACHET_HEADER_TIMEOUT: must be more than 0")
		}
		if c.LoginMaxFailures > 0 && c.LoginWindow <= 0 {
			return c, fmt.Errorf("invalid SACHET_LOGIN_WINDOW: must be more than 0 when SACHET_LOGIN_MAX_FAILURES is set")
		}
		if c.Database == "" {
			c.Database = "sqlite:" + filepath.Join(c.DataDir, "sachet.db")
		}
		if !strings.HasPrefix(c.Database, "sqlite:") && !strings.HasPrefix(c.Database, "mysql:") {
			return c, fmt.Errorf("invalid SACHET_DATABASE %q: must start with \"sqlite:\" or \"mysql:\"", c.Database)
		}
		kind, err := storageKind(c.Storage)
		if err != nil {
			return c, fmt.Errorf("invalid SACHET_STORAGE %q: %v", c.Storage, err)
		}
		if c.S3PresignedRedirect && kind != "s3" {
			return c, fmt.Errorf("invalid SACHET_S3_PRESIGNED_REDIRECT: true needs content on S3 (SACHET_STORAGE=s3://bucket/prefix), not %q", c.Storage)
		}
		return c, nil
	}
}

// storageKind returns the scheme of a Storage setting ("file"), or an
// error for one this build cannot open.
func storageKind(v string) (string, error) {
	if v == "" || strings.HasPrefix(v, "file:") {
		return "file", nil
	}
	if strings.HasPrefix(v, "s3:") {
		if _, _, err := s3store.ParseURL(v); err != nil {
			return "", err
		}
		return "s3", nil
	}
	return "", fmt.Errorf("must be file:, file:<dir> or s3://bucket/prefix")
}

// Defaults is the configuration with no flags and no environment.
func Defaults() Config {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	load := BindFlags(fs, func(string) string { return "" })
	c, _ := load()
	return c
}
