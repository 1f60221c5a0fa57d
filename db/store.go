// Package db is Sachet's metadata store: users, shares, chunked uploads,
// revoked tokens and settings, over SQLite (the embedded default, pure Go)
// or MySQL/MariaDB, with one code path and the same tests for both.
//
// Every error it returns is a *domain.Error or wraps one (NotFound,
// Conflict, Invalid, Locked, Unavailable, InsufficientStorage, Internal);
// driver types never leak. Times are stored in UTC with microsecond
// precision and read back as UTC.
//
// Identifiers that are compared in SQL (user names, share ids, dzuuids, token
// ids, storage names) compare byte for byte in both dialects: SQLite's BINARY
// collation, VARBINARY columns in MySQL (no case folding, no PAD SPACE).
package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/sachet-server/sachet/domain"
)

// Dialect names returned by Store.Dialect.
const (
	DialectSQLite = "sqlite"
	DialectMySQL  = "mysql"
)

// Store is the metadata store. It is safe for concurrent use; create it with
// Open and release it with Close.
type Store struct {
	dialect string
	// w runs every write, always inside a transaction. r runs plain reads.
	// They are one pool for MySQL. For SQLite, w is a single connection:
	// SQLite has one writer at a time anyway, and queueing writers in Go's
	// pool is fair and cheap, where queueing them in SQLite's busy handler
	// is neither (and can fail with SQLITE_BUSY_SNAPSHOT).
	w, r *sqlx.DB
	// forUpdate is " FOR UPDATE" for MySQL, where locking reads order
	// concurrent transactions on a row. SQLite has no row locks and needs
	// none: every write transaction there begins IMMEDIATE and so runs alone.
	forUpdate string
	now       func() time.Time

	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt

	retries atomic.Int64 // transactions run again after deadlock/busy, for tests and diagnosis

	cache    caches      // hot reads, forgotten by the writes that change them
	lists    listCache   // ListShares' count, page anchors and rows (listcache.go)
	userList userList    // ListUsers' count and page anchors (userlist.go)
	expiry   expiryProbe // whether any share carries an expiry (expiry.go)

	// token identifies this Store in the upload claims it takes
	// (uploads.claimed_by), so that a claim left by a crashed process can
	// be told from a live one; see claimHeld.
	token string
	// alive (MySQL only) holds the named lock instanceLock(token) on a
	// connection of its own for the Store's whole life: the server frees
	// it when this process dies, which is how others learn it did. The
	// same connection holds the named lock of every upload a request of
	// this Store is appending to (appendLock), so those go with it too.
	alive struct {
		mu     sync.Mutex
		db     *sql.DB
		conn   *sql.Conn
		connID int64  // CONNECTION_ID() of conn
		prefix string // of appendLock names: the database's, as locks are server-wide
	}

	// leases are the uploads whose append lease a request of this Store
	// holds now. The lease is this entry (and, in MySQL, the upload's
	// named lock, for other processes), not a row: taking one writes
	// nothing durable (see TakeAppendLease).
	leaseMu  sync.Mutex
	leases   map[int64]heldLease
	leaseGen uint64

	// maxOpenUploads bounds each owner's unfinished uploads (0: no bound);
	// see SetMaxOpenUploads.
	maxOpenUploads int
}

// Open connects to the database named by dsn and returns a store; the
// caller owns it and must Close it. dsn is "sqlite:<path>" (optionally with
// driver parameters after '?') or "mysql:<go-sql-driver DSN>" with a database
// name. Open does not create or change the schema: call Migrate. An
// unreachable database is an Unavailable error, a malformed dsn Invalid.
func Open(ctx context.Context, dsn string) (*Store, error) {
	scheme, rest, ok := strings.Cut(dsn, ":")
	switch {
	case ok && scheme == DialectSQLite:
		return openSQLite(ctx, rest)
	case ok && scheme == DialectMySQL:
		return openMySQL(ctx, rest)
	}
	return nil, domain.Errorf(domain.Invalid, `database dsn must start with "sqlite:" or "mysql:"`)
}

func newStore(dialect string, w, r *sqlx.DB) *Store {
	s := &Store{dialect: dialect, w: w, r: r, now: time.Now, stmts: map[string]*sqlx.Stmt{}, token: rand.Text(), cache: newCaches(), leases: map[int64]heldLease{}}
	if dialect == DialectMySQL {
		s.forUpdate = " FOR UPDATE"
	}
	return s
}

// sqlitePragmas are set on every pooled connection through the DSN.
// synchronous=FULL: in WAL mode NORMAL survives a process crash but may
// lose the last commits on power loss, and a share the server has
// acknowledged (and whose old blob it then deleted) must not come back.
// FULL costs one fsync of the WAL per commit, which is fine for metadata.
var sqlitePragmas = []string{
	"busy_timeout(10000)", // wait for another process's write lock instead of failing
	"foreign_keys(1)",
	"journal_mode(WAL)", // readers never block the writer nor it them
	"synchronous(FULL)",
	"cache_size(-512)",
}

// sqliteDSNs derives the writer and reader DSNs from the user's: the user's
// parameters win, ours fill the gaps.
func sqliteDSNs(path string) (w, r string, err error) {
	name, query, _ := strings.Cut(path, "?")
	if name == "" || name == ":memory:" || strings.Contains(query, "mode=memory") {
		// The reader and writer pools would each see their own empty database.
		return "", "", domain.Errorf(domain.Invalid, "sqlite dsn needs a database file path")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", "", domain.Wrap(domain.Invalid, err, "sqlite dsn: bad parameters")
	}
	have := map[string]bool{}
	for _, p := range q["_pragma"] {
		have[pragmaName(p)] = true
	}
	for _, p := range sqlitePragmas {
		if !have[pragmaName(p)] {
			q.Add("_pragma", p)
		}
	}
	wq, rq := cloneValues(q), cloneValues(q)
	if wq.Get("_txlock") == "" {
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// never fails half way when it upgrades from reading to writing.
		wq.Set("_txlock", "immediate")
	}
	rq.Del("_txlock")
	rq.Add("_pragma", "query_only(1)") // the reader pool can never write by mistake
	return name + "?" + wq.Encode(), name + "?" + rq.Encode(), nil
}

func pragmaName(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if i := strings.IndexAny(p, "(= "); i >= 0 {
		p = p[:i]
	}
	return p
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	wdsn, rdsn, err := sqliteDSNs(path)
	if err != nil {
		return nil, err
	}
	wdb, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fail(err, "open sqlite")
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	// The writer connects first: it is the one that may switch the file to WAL.
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, domain.Wrap(domain.Unavailable, err, "database unavailable")
	}
	rdb, err := sql.Open("sqlite", rdsn)
	if err != nil {
		wdb.Close()
		return nil, fail(err, "open sqlite")
	}
	n := max(4, 2*runtime.NumCPU())
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, domain.Wrap(domain.Unavailable, err, "database unavailable")
	}
	// "sqlite3" only selects sqlx's bind style ('?').
	return newStore(DialectSQLite, sqlx.NewDb(wdb, "sqlite3"), sqlx.NewDb(rdb, "sqlite3")), nil
}

// mysqlConfig parses a go-sql-driver DSN and adds what the store relies on.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, domain.Wrap(domain.Invalid, err, "mysql dsn: malformed")
	}
	if cfg.DBName == "" {
		return nil, domain.Errorf(domain.Invalid, "mysql dsn needs a database name")
	}
	_, query, _ := strings.Cut(dsn, "?")
	q, _ := url.ParseQuery(query) // ParseDSN accepted it
	has := func(k string) bool { _, ok := q[k]; return ok }

	// Required whatever the user said: the store reads times as UTC and
	// relies on UPDATE counting matched rows, not changed ones (otherwise
	// an UPDATE that sets the same values looks like a missing row).
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["time_zone"]; !ok {
		// NOW() and TIMESTAMP columns in UTC too, like the values we bind.
		cfg.Params["time_zone"] = "'+00:00'"
	}
	if !has("charset") && !has("collation") {
		if err := cfg.Apply(mysql.Charset("utf8mb4", "")); err != nil {
			return nil, domain.Wrap(domain.Invalid, err, "mysql dsn")
		}
	}
	if !has("interpolateParams") {
		// One round trip per query instead of prepare+execute+close; safe
		// with utf8mb4, and the driver refuses unsafe collations.
		cfg.InterpolateParams = true
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second // fail fast (Unavailable) rather than hang on a dead host
	}
	// A host that stops answering (network partition, frozen VM) would
	// otherwise hold every request on it until the client gives up. Sachet's
	// queries are short; 60 s is past InnoDB's default lock wait (50 s), so
	// a lock wait still ends as its own, retried, error.
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	return cfg, nil
}

func openMySQL(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, domain.Wrap(domain.Invalid, err, "mysql dsn")
	}
	db := sql.OpenDB(conn)
	n := 4 * runtime.NumCPU()
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(3 * time.Minute) // below typical proxy and wait_timeout limits
	db.SetConnMaxIdleTime(time.Minute)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		db.Close()
		return nil, domain.Wrap(domain.Unavailable, err, "database unavailable")
	}
	if err := checkMySQLVersion(version); err != nil {
		db.Close()
		return nil, err
	}
	x := sqlx.NewDb(db, "mysql")
	s := newStore(DialectMySQL, x, x)
	s.alive.db = sql.OpenDB(conn)
	s.alive.db.SetMaxIdleConns(0) // a connection given back is closed, and its lock with it
	if err := s.ensureAlive(ctx); err != nil {
		s.Close()
		return nil, domain.Wrap(domain.Unavailable, err, "database unavailable")
	}
	return s, nil
}

// instanceLock names the MySQL lock a Store holds while it lives.
func instanceLock(token string) string { return "sachet.instance." + token }

// ensureAlive makes sure this Store holds its instance lock (MySQL), taking
// it again on a new connection if the old one was lost.
func (s *Store) ensureAlive(ctx context.Context) error {
	if s.alive.db == nil {
		return nil
	}
	s.alive.mu.Lock()
	defer s.alive.mu.Unlock()
	name := instanceLock(s.token)
	if c := s.alive.conn; c != nil {
		var mine sql.NullInt64
		err := c.QueryRowContext(ctx, `SELECT IS_USED_LOCK(?) = CONNECTION_ID()`, name).Scan(&mine)
		if err == nil && mine.Valid && mine.Int64 == 1 {
			return nil
		}
		c.Close()
		s.alive.conn = nil
	}
	c, err := s.alive.db.Conn(ctx)
	if err != nil {
		return err
	}
	var got sql.NullInt64
	if err := c.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, name).Scan(&got); err != nil || got.Int64 != 1 {
		c.Close()
		if err == nil {
			err = fmt.Errorf("db: cannot take lock %s", name)
		}
		return err
	}
	var id int64
	var dbName sql.NullString
	if err := c.QueryRowContext(ctx, `SELECT CONNECTION_ID(), DATABASE()`).Scan(&id, &dbName); err != nil {
		c.Close()
		return err
	}
	sum := sha256.Sum256([]byte(dbName.String))
	s.alive.conn, s.alive.connID, s.alive.prefix = c, id, fmt.Sprintf("sachet.append.%x.", sum[:8])
	return nil
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// checkMySQLVersion refuses servers whose InnoDB forgets the AUTO_INCREMENT
// counter on restart (MySQL < 8.0, MariaDB < 10.2.4): they could hand a
// deleted user's ID to a new user, and user IDs must never be reused.
func checkMySQLVersion(v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil || strings.Contains(strings.ToLower(v), "tidb") {
		return nil // not something we know how to judge
	}
	maj, _ := strconv.Atoi(m[1])
	mnr, _ := strconv.Atoi(m[2])
	pat, _ := strconv.Atoi(m[3])
	ver := maj*1_000_000 + mnr*1_000 + pat
	if strings.Contains(strings.ToLower(v), "mariadb") {
		if ver < 10_002_004 {
			return domain.Errorf(domain.Unavailable, "MariaDB %s is too old: need 10.2.4 or later", v)
		}
		return nil
	}
	if maj < 8 {
		return domain.Errorf(domain.Unavailable, "MySQL %s is too old: need 8.0 or later", v)
	}
	return nil
}

// Close releases the store's connections. Calls made after Close fail with
// Unavailable.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sqlx.Stmt{}
	s.stmtMu.Unlock()
	s.alive.mu.Lock()
	if s.alive.conn != nil {
		// Released explicitly: the server frees a closed session's locks
		// only once it has noticed, and others should see us gone at once.
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = s.alive.conn.ExecContext(c, `DO RELEASE_LOCK(?)`, instanceLock(s.token))
		s.leaseMu.Lock()
		for id, l := range s.leases {
			if l.conn != 0 {
				_, _ = s.alive.conn.ExecContext(c, `DO RELEASE_LOCK(?)`, s.alive.prefix+strconv.FormatInt(id, 10))
			}
		}
		s.leaseMu.Unlock()
		cancel()
		s.alive.conn.Close()
		s.alive.conn = nil
	}
	if s.alive.db != nil {
		s.alive.db.Close()
	}
	s.alive.mu.Unlock()
	err := s.w.Close()
	if s.r != s.w {
		if e := s.r.Close(); err == nil {
			err = e
		}
	}
	return fail(err, "close")
}

// Pools returns the store's connection pools by role ("read", "write"; one
// "pool" for MySQL, where they are the same), for metrics: their
// sql.DBStats. Callers must not close them.
func (s *Store) Pools() map[string]*sql.DB {
	if s.r == s.w {
		return map[string]*sql.DB{"pool": s.w.DB}
	}
	return map[string]*sql.DB{"write": s.w.DB, "read": s.r.DB}
}

// Dialect is "sqlite" or "mysql".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers, for health checks; Unavailable if
// it does not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return domain.Wrap(domain.Unavailable, err, "database unavailable")
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return domain.Wrap(domain.Unavailable, err, "database unavailable")
		}
	}
	return nil
}

// stmt returns the read pool's prepared statement for q, preparing it on
// first use. Only hot reads use it. Preparation is lazy because the tables
// may not exist before Migrate.
func (s *Store) stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[q]
	s.stmtMu.Unlock()
	if ok {
		return st, nil
	}
	// Prepared outside the lock: with the database down, callers must not
	// queue behind one another's connect timeouts.
	st, err := s.r.PreparexContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if old, ok := s.stmts[q]; ok {
		st.Close() // lost a race to prepare it
		return old, nil
	}
	s.stmts[q] = st
	return st, nil
}

// getHot runs a hot single-row read through a prepared statement.
// selectHot is getHot for many rows.
func (s *Store) selectHot(ctx context.Context, dest any, q string, args ...any) error {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

func (s *Store) getHot(ctx context.Context, dest any, q string, args ...any) error {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}
