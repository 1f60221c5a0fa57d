package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// The same suite runs against SQLite (a file in a temp dir) and MariaDB
// (a fresh database per test, dropped afterwards). MariaDB is found through
// SACHET_TEST_MYSQL, a go-sql-driver DSN without database name; when it
// does not answer the MySQL half is skipped, loudly, unless CI is set, in
// which case it fails.

var dialects = []string{DialectSQLite, DialectMySQL}

func mysqlBaseDSN() string {
	if v := os.Getenv("SACHET_TEST_MYSQL"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

var mysqlAdmin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// adminDB returns a connection to the test MariaDB server, or skips/fails.
func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	mysqlAdmin.once.Do(func() {
		cfg, err := mysql.ParseDSN(mysqlBaseDSN())
		if err != nil {
			mysqlAdmin.err = err
			return
		}
		cfg.Timeout = 3 * time.Second
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			mysqlAdmin.err = err
			return
		}
		db := sql.OpenDB(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			mysqlAdmin.err = err
			return
		}
		mysqlAdmin.db = db
	})
	if mysqlAdmin.err != nil {
		msg := fmt.Sprintf("!!! MariaDB/MySQL NOT AVAILABLE at %q: %v — the MySQL half of the db tests did NOT run. "+
			"Start MariaDB or set SACHET_TEST_MYSQL.", mysqlBaseDSN(), mysqlAdmin.err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return mysqlAdmin.db
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mysqlAdmin.db != nil {
		mysqlAdmin.db.Close()
	}
	os.Exit(code)
}

// newDSN returns the DSN of a fresh, empty database of the dialect,
// removed when the test ends.
func newDSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == DialectSQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "sachet.db")
	}
	admin := adminDB(t)
	b := make([]byte, 6)
	rand.Read(b)
	name := "sachet_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg, err := mysql.ParseDSN(mysqlBaseDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	return "mysql:" + cfg.FormatDSN()
}

// openStore opens dsn and closes the store when the test ends.
func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newTestStore returns a migrated store on a fresh database.
func newTestStore(t testing.TB, dialect string) *Store {
	t.Helper()
	s := openStore(t, newDSN(t, dialect))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// eachDialect runs f once per dialect, in parallel, each with its own store.
func eachDialect(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, newTestStore(t, d))
		})
	}
}

// clock is a settable time source for Store.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// useClock makes s read the time from a clock starting at t0.
func useClock(s *Store, t0 time.Time) *clock {
	c := &clock{t: t0}
	s.now = c.Now
	return c
}

var t0 = time.Date(2026, 5, 20, 23, 5, 31, 546561000, time.UTC)

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %v", k)
	}
	if got := domain.KindOf(err); got != k {
		t.Fatalf("kind = %v, want %v (err: %v)", got, k, err)
	}
}

func wantMessage(t *testing.T, err error, k domain.Kind, msg string) {
	t.Helper()
	wantKind(t, err, k)
	if got := domain.Message(err); got != msg {
		t.Fatalf("message = %q, want %q", got, msg)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var ctx = context.Background()

func mkUser(t *testing.T, s *Store, name string) *domain.User {
	t.Helper()
	u := &domain.User{Username: name, PasswordHash: "$2a$10$hash-of-" + name, Perms: domain.PermCreate | domain.PermRead}
	must(t, s.CreateUser(ctx, u))
	return u
}

func shareID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func ptr[T any](v T) *T { return &v }

func mkShare(t *testing.T, s *Store, n int, owner *string) *domain.Share {
	t.Helper()
	sh := &domain.Share{ID: shareID(n), FileName: fmt.Sprintf("file-%d.txt", n), Owner: owner}
	must(t, s.CreateShare(ctx, sh))
	return sh
}

// mkUpload creates share n and an upload of total chunks to it.
func mkUpload(t *testing.T, s *Store, n, total int) *domain.Upload {
	t.Helper()
	sh := mkShare(t, s, n, nil)
	up, err := s.GetOrCreateUpload(ctx, sh.ID, "dz-"+sh.ID, total)
	must(t, err)
	return up
}

// putAll stores every chunk of up as file "<prefix>-<index>".
func putAll(t *testing.T, s *Store, up *domain.Upload, prefix string) []string {
	t.Helper()
	var files []string
	for i := range up.TotalChunks {
		f := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: i, FileID: f, Size: int64(10 + i)}); err != nil {
			t.Fatalf("PutChunk %d: %v", i, err)
		}
		files = append(files, f)
	}
	return files
}

// ---------------------------------------------------------------- open & migrate

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want domain.Kind
	}{
		{"EmptyIsInvalid", "", domain.Invalid},
		{"UnknownSchemeIsInvalid", "postgres://localhost/sachet", domain.Invalid},
		{"SQLiteWithoutPathIsInvalid", "sqlite:", domain.Invalid},
		{"SQLiteInMemoryIsInvalid", "sqlite::memory:", domain.Invalid},
		{"SQLiteBadParamsAreInvalid", "sqlite:/tmp/x.db?%zz", domain.Invalid},
		{"SQLiteMissingDirectoryIsUnavailable", "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), domain.Unavailable},
		{"MySQLWithoutDatabaseIsInvalid", "mysql:root@tcp(127.0.0.1:3306)/", domain.Invalid},
		{"MySQLMalformedIsInvalid", "mysql:root@tcp(127.0.0.1:3306", domain.Invalid},
		{"MySQLRefusedIsUnavailable", "mysql:root@tcp(127.0.0.1:1)/sachet", domain.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.dsn)
			if err == nil {
				s.Close()
			}
			wantKind(t, err, tt.want)
		})
	}
}

func TestOpenClosePing(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		t.Run("DialectIsNamed", func(t *testing.T) {
			if !slices.Contains(dialects, s.Dialect()) {
				t.Fatalf("Dialect() = %q", s.Dialect())
			}
		})
		t.Run("PingAnswers", func(t *testing.T) { must(t, s.Ping(ctx)) })
		t.Run("ClosedStoreIsUnavailable", func(t *testing.T) {
			_, err := s.ShareByID(ctx, shareID(1)) // prepares the statement
			wantKind(t, err, domain.NotFound)
			must(t, s.Close())
			wantKind(t, s.Ping(ctx), domain.Unavailable)
			_, err = s.ShareByID(ctx, shareID(1))
			wantKind(t, err, domain.Unavailable)
			_, err = s.UserByName(ctx, "x")
			wantKind(t, err, domain.Unavailable)
			wantKind(t, s.SetDefaultPerms(ctx, 1), domain.Unavailable)
		})
	})
}

func TestMySQLConfig(t *testing.T) {
	t.Run("AddsWhatTheStoreNeeds", func(t *testing.T) {
		cfg, err := mysqlConfig("root@tcp(db:3306)/sachet")
		must(t, err)
		if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.ClientFoundRows || !cfg.InterpolateParams {
			t.Fatalf("cfg = %+v", cfg)
		}
		if got := cfg.Params["time_zone"]; got != "'+00:00'" {
			t.Fatalf("time_zone = %q", got)
		}
		if !strings.Contains(cfg.FormatDSN(), "charset=utf8mb4") {
			t.Fatalf("dsn %q lacks charset=utf8mb4", cfg.FormatDSN())
		}
		if cfg.Timeout == 0 {
			t.Fatal("no dial timeout")
		}
	})
	t.Run("KeepsUserChoices", func(t *testing.T) {
		cfg, err := mysqlConfig("u:p@tcp(db)/sachet?time_zone=%27Europe%2FParis%27&charset=utf8mb4&collation=utf8mb4_bin&interpolateParams=false&timeout=2s")
		must(t, err)
		if got := cfg.Params["time_zone"]; got != "'Europe/Paris'" {
			t.Fatalf("time_zone = %q", got)
		}
		if cfg.InterpolateParams || cfg.Timeout != 2*time.Second || cfg.Collation != "utf8mb4_bin" {
			t.Fatalf("cfg = %+v", cfg)
		}
	})
	t.Run("OverridesWhatWouldBreakIt", func(t *testing.T) {
		cfg, err := mysqlConfig("u@tcp(db)/sachet?parseTime=false&loc=Local&clientFoundRows=false")
		must(t, err)
		if !cfg.ParseTime || cfg.Loc != time.UTC || !cfg.ClientFoundRows {
			t.Fatalf("cfg = %+v", cfg)
		}
	})
}

func TestSQLiteDSNs(t *testing.T) {
	t.Run("AddsPragmasAndTxLock", func(t *testing.T) {
		w, r, err := sqliteDSNs("/data/sachet.db")
		must(t, err)
		for _, p := range []string{"busy_timeout", "foreign_keys", "journal_mode", "synchronous"} {
			if !strings.Contains(w, p) || !strings.Contains(r, p) {
				t.Fatalf("pragma %s missing: %q / %q", p, w, r)
			}
		}
		if !strings.Contains(w, "_txlock=immediate") || strings.Contains(r, "_txlock") {
			t.Fatalf("txlock: %q / %q", w, r)
		}
		if !strings.Contains(r, "query_only") || strings.Contains(w, "query_only") {
			t.Fatalf("query_only: %q / %q", w, r)
		}
	})
	t.Run("UserPragmaWins", func(t *testing.T) {
		w, _, err := sqliteDSNs("/data/sachet.db?_pragma=synchronous(EXTRA)")
		must(t, err)
		if strings.Contains(w, "FULL") || !strings.Contains(w, "EXTRA") {
			t.Fatalf("w = %q", w)
		}
	})
	t.Run("PragmasApplyToEveryConnection", func(t *testing.T) {
		s := newTestStore(t, DialectSQLite)
		for _, db := range []*sqlx.DB{s.w, s.r} {
			var fk, sync, busy int
			var mode string
			must(t, db.Get(&fk, "PRAGMA foreign_keys"))
			must(t, db.Get(&sync, "PRAGMA synchronous"))
			must(t, db.Get(&busy, "PRAGMA busy_timeout"))
			must(t, db.Get(&mode, "PRAGMA journal_mode"))
			if fk != 1 || sync != 2 || busy != 10000 || mode != "wal" {
				t.Fatalf("foreign_keys=%d synchronous=%d busy_timeout=%d journal_mode=%s", fk, sync, busy, mode)
			}
		}
	})
}

func TestCheckMySQLVersion(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", true},
		{"10.2.4-MariaDB", true},
		{"10.2.3-MariaDB", false},
		{"10.1.48-MariaDB", false},
		{"8.0.36", true},
		{"8.4.0", true},
		{"5.7.44-log", false},
		{"5.7.25-TiDB-v7.5.0", true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			err := checkMySQLVersion(tt.version)
			if (err == nil) != tt.ok {
				t.Fatalf("checkMySQLVersion(%q) = %v, want ok=%v", tt.version, err, tt.ok)
			}
		})
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	lite, err := loadMigrations(DialectSQLite)
	must(t, err)
	my, err := loadMigrations(DialectMySQL)
	must(t, err)
	if len(lite) == 0 || len(lite) != len(my) {
		t.Fatalf("%d sqlite migrations, %d mysql", len(lite), len(my))
	}
	for i := range lite {
		if lite[i].version != my[i].version || lite[i].name != my[i].name {
			t.Fatalf("migration %d: sqlite %s, mysql %s", i+1, lite[i].name, my[i].name)
		}
		if strings.Count(strings.TrimSpace(stripComments(my[i].sql)), ";") != 0 {
			t.Fatalf("mysql migration %s must be one statement without ';'", my[i].name)
		}
	}
}

func stripComments(q string) string {
	var b strings.Builder
	for line := range strings.Lines(q) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
	}
	return b.String()
}

func TestMigrate(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ms, err := loadMigrations(d)
			must(t, err)
			dsn := newDSN(t, d)

			t.Run("ConcurrentRunsAllSucceed", func(t *testing.T) {
				stores := make([]*Store, 4)
				for i := range stores {
					stores[i] = openStore(t, dsn)
				}
				var wg sync.WaitGroup
				errs := make([]error, len(stores))
				for i, s := range stores {
					wg.Go(func() { errs[i] = s.Migrate(ctx) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("Migrate %d: %v", i, err)
					}
				}
			})
			s := openStore(t, dsn)
			t.Run("RecordsEveryVersionOnce", func(t *testing.T) {
				var versions []int
				must(t, s.r.Select(&versions, "SELECT version FROM schema_migrations ORDER BY version"))
				if len(versions) != len(ms) || versions[len(versions)-1] != len(ms) {
					t.Fatalf("versions = %v, want 1..%d", versions, len(ms))
				}
			})
			t.Run("RunningAgainIsNoOp", func(t *testing.T) {
				must(t, s.Migrate(ctx))
				mkUser(t, s, "alice") // schema usable
			})
			t.Run("NewerSchemaIsRefused", func(t *testing.T) {
				_, err := s.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
					len(ms)+1, "9999_future.sql", ts(time.Now()))
				must(t, err)
				err = s.Migrate(ctx)
				if err == nil || !strings.Contains(domain.Message(err), "newer than this binary") {
					t.Fatalf("Migrate = %v, want a newer-schema error", err)
				}
			})
		})
	}
}

// ---------------------------------------------------------------- transactions & errors

func TestInTx(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		insert := func(tx *sqlx.Tx, name string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO users (username, password_hash, permissions, register_date) VALUES (?, 'h', 0, ?)`,
				name, ts(time.Now()))
			return err
		}
		exists := func(name string) bool {
			_, err := s.UserByName(ctx, name)
			if err != nil && !domain.IsKind(err, domain.NotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		t.Run("CommitsOnSuccess", func(t *testing.T) {
			must(t, s.inTx(ctx, "test", func(tx *sqlx.Tx) error { return insert(tx, "committed") }))
			if !exists("committed") {
				t.Fatal("not committed")
			}
		})
		t.Run("RollsBackOnError", func(t *testing.T) {
			boom := domain.Errorf(domain.Conflict, "boom")
			err := s.inTx(ctx, "test", func(tx *sqlx.Tx) error {
				must(t, insert(tx, "rolledback"))
				return boom
			})
			if err != boom {
				t.Fatalf("err = %v, want the fn's own error", err)
			}
			if exists("rolledback") {
				t.Fatal("not rolled back")
			}
		})
		t.Run("RollsBackOnPanicAndRepanics", func(t *testing.T) {
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("panic swallowed")
					}
				}()
				_ = s.inTx(ctx, "test", func(tx *sqlx.Tx) error {
					must(t, insert(tx, "panicked"))
					panic("boom")
				})
			}()
			if exists("panicked") {
				t.Fatal("not rolled back")
			}
			// The (single, for SQLite) writer connection came back.
			mkUser(t, s, "after-panic")
		})
		t.Run("RetriesDeadlocks", func(t *testing.T) {
			calls := 0
			err := s.inTx(ctx, "test", func(tx *sqlx.Tx) error {
				calls++
				if calls < 3 {
					return &mysql.MySQLError{Number: myDeadlock, Message: "Deadlock found"}
				}
				return insert(tx, "retried")
			})
			must(t, err)
			if calls != 3 || !exists("retried") {
				t.Fatalf("calls = %d", calls)
			}
		})
		t.Run("GivesUpAsUnavailable", func(t *testing.T) {
			calls := 0
			err := s.inTx(ctx, "test", func(tx *sqlx.Tx) error {
				calls++
				return &mysql.MySQLError{Number: myLockWaitTimeout, Message: "Lock wait timeout"}
			})
			wantKind(t, err, domain.Unavailable)
			if calls != txAttempts {
				t.Fatalf("calls = %d, want %d", calls, txAttempts)
			}
		})
		t.Run("DoesNotRetryOtherErrors", func(t *testing.T) {
			calls := 0
			err := s.inTx(ctx, "test", func(tx *sqlx.Tx) error {
				calls++
				return errors.New("plain failure")
			})
			wantKind(t, err, domain.Internal)
			if calls != 1 {
				t.Fatalf("calls = %d", calls)
			}
		})
		t.Run("CanceledContextIsUnavailable", func(t *testing.T) {
			c, cancel := context.WithCancel(ctx)
			cancel()
			err := s.inTx(c, "test", func(tx *sqlx.Tx) error { return nil })
			wantKind(t, err, domain.Unavailable)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want it to wrap context.Canceled", err)
			}
		})
	})
}

func TestFail(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"DomainErrorPassesThrough", domain.Errorf(domain.Locked, "x"), domain.Locked},
		{"BadConnIsUnavailable", fmt.Errorf("x: %w", driver.ErrBadConn), domain.Unavailable},
		{"InvalidConnIsUnavailable", mysql.ErrInvalidConn, domain.Unavailable},
		{"ConnDoneIsUnavailable", sql.ErrConnDone, domain.Unavailable},
		{"RefusedIsUnavailable", errors.New("dial tcp 127.0.0.1:3306: connect: connection refused"), domain.Unavailable},
		{"AccessDeniedIsUnavailable", &mysql.MySQLError{Number: myAccessDenied}, domain.Unavailable},
		{"ReadOnlyServerIsUnavailable", &mysql.MySQLError{Number: myReadOnlyMode}, domain.Unavailable},
		{"DiskFullIsInsufficientStorage", &mysql.MySQLError{Number: myRecordFileFull}, domain.InsufficientStorage},
		{"DeadlockLeftOverIsUnavailable", &mysql.MySQLError{Number: myDeadlock}, domain.Unavailable},
		{"DuplicateUnhandledIsInternal", &mysql.MySQLError{Number: myDupEntry}, domain.Internal},
		{"DeadlineIsUnavailable", context.DeadlineExceeded, domain.Unavailable},
		{"OtherIsInternal", errors.New("syntax error"), domain.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.KindOf(fail(tt.err, "test")); got != tt.want {
				t.Fatalf("kind = %v, want %v", got, tt.want)
			}
		})
	}
	if fail(nil, "test") != nil {
		t.Fatal("fail(nil) != nil")
	}
}
