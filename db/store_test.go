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
		if os.Getenv("CI") != "" || os.Getenv("SACHET_TEST_REQUIRE_SERVICES") != "" {
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

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
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

func shareID(n int) string { return fmt.Sprintf("abcdef00-0000-4000-8000-%012d", n) }

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

// ---------------------------------------------------------------- users

func TestUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		// A clock off UTC and with nanoseconds: the store must normalise.
		paris := time.FixedZone("CEST", 2*3600)
		useClock(s, time.Date(2026, 5, 21, 1, 5, 31, 546561789, paris))

		alice := mkUser(t, s, "alice")
		t.Run("CreateSetsIDAndRegisterDate", func(t *testing.T) {
			want := time.Date(2026, 5, 20, 23, 5, 31, 546561000, time.UTC)
			if alice.ID <= 0 || !alice.RegisterDate.Equal(want) || alice.RegisterDate.Location() != time.UTC {
				t.Fatalf("user = %+v, want ID > 0 and RegisterDate %v", alice, want)
			}
		})
		t.Run("ReadBackEqualsWhatWasCreated", func(t *testing.T) {
			got, err := s.UserByName(ctx, "alice")
			must(t, err)
			if *got != *alice {
				t.Fatalf("got %+v, want %+v", got, alice)
			}
		})
		t.Run("DuplicateIsConflict", func(t *testing.T) {
			err := s.CreateUser(ctx, &domain.User{Username: "alice", PasswordHash: "x"})
			wantMessage(t, err, domain.Conflict, `user "alice" already exists`)
		})
		t.Run("NamesAreCaseSensitive", func(t *testing.T) {
			u := mkUser(t, s, "Alice")
			if u.ID == alice.ID {
				t.Fatal("Alice is alice")
			}
			got, err := s.UserByName(ctx, "ALICE")
			wantKind(t, err, domain.NotFound)
			_ = got
		})
		t.Run("TrailingSpaceIsAnotherName", func(t *testing.T) {
			_, err := s.UserByName(ctx, "alice ")
			wantKind(t, err, domain.NotFound)
		})
		t.Run("TooLongNameIsInvalid", func(t *testing.T) {
			err := s.CreateUser(ctx, &domain.User{Username: strings.Repeat("x", 65), PasswordHash: "x"})
			wantKind(t, err, domain.Invalid)
			mkUser(t, s, strings.Repeat("x", 64))
		})
		t.Run("MissingIsNotFound", func(t *testing.T) {
			_, err := s.UserByName(ctx, "nobody")
			wantMessage(t, err, domain.NotFound, `user "nobody" not found`)
		})
		t.Run("UpdateChangesHashAndPerms", func(t *testing.T) {
			u := *alice
			u.PasswordHash, u.Perms = "new-hash", domain.PermAll
			must(t, s.UpdateUser(ctx, &u))
			got, err := s.UserByName(ctx, "alice")
			must(t, err)
			if got.PasswordHash != "new-hash" || got.Perms != domain.PermAll || got.ID != alice.ID || !got.RegisterDate.Equal(alice.RegisterDate) {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("UpdateWithSameValuesSucceeds", func(t *testing.T) {
			got, err := s.UserByName(ctx, "alice")
			must(t, err)
			must(t, s.UpdateUser(ctx, got)) // MySQL: 0 rows changed, 1 matched
		})
		t.Run("UpdateMissingIsNotFound", func(t *testing.T) {
			wantKind(t, s.UpdateUser(ctx, &domain.User{Username: "nobody"}), domain.NotFound)
		})
		t.Run("DeleteMissingIsNotFound", func(t *testing.T) {
			wantMessage(t, s.DeleteUser(ctx, "nobody"), domain.NotFound, `user "nobody" not found`)
		})
		t.Run("DeleteOwnerIsConflict", func(t *testing.T) {
			bob := mkUser(t, s, "bob")
			mkShare(t, s, 1, &bob.Username)
			mkShare(t, s, 2, &bob.Username)
			wantMessage(t, s.DeleteUser(ctx, "bob"), domain.Conflict,
				`user "bob" still owns 2 shares; transfer or delete them first`)
			must(t, s.UpdateShareMeta(ctx, shareID(1), "f", nil))
			_, err := s.DeleteShare(ctx, shareID(2))
			must(t, err)
			must(t, s.DeleteUser(ctx, "bob"))
			_, err = s.UserByName(ctx, "bob")
			wantKind(t, err, domain.NotFound)
		})
		t.Run("IDsAreNeverReused", func(t *testing.T) {
			a := mkUser(t, s, "reuse-a")
			b := mkUser(t, s, "reuse-b") // the highest id
			must(t, s.DeleteUser(ctx, "reuse-b"))
			c := mkUser(t, s, "reuse-c")
			again := mkUser(t, s, "reuse-b")
			if !(a.ID < b.ID && b.ID < c.ID && c.ID < again.ID) {
				t.Fatalf("ids a=%d b=%d c=%d b-again=%d", a.ID, b.ID, c.ID, again.ID)
			}
		})
	})
}

func TestUserIDsSurviveReopen(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			s := openStore(t, dsn)
			must(t, s.Migrate(ctx))
			mkUser(t, s, "a")
			b := mkUser(t, s, "b")
			must(t, s.DeleteUser(ctx, "b"))
			must(t, s.Close())
			s = openStore(t, dsn)
			if c := mkUser(t, s, "c"); c.ID <= b.ID {
				t.Fatalf("after reopen: c.ID = %d, deleted b.ID = %d", c.ID, b.ID)
			}
		})
	}
}

func TestListUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0)
		t.Run("EmptyHasNoPage", func(t *testing.T) {
			users, total, err := s.ListUsers(ctx, 10, 0)
			must(t, err)
			if len(users) != 0 || total != 0 {
				t.Fatalf("users=%v total=%d", users, total)
			}
			n, err := s.CountUsers(ctx)
			must(t, err)
			if n != 0 {
				t.Fatalf("CountUsers = %d", n)
			}
		})
		// Registered in this order; ties on time break by username bytes.
		c.Set(t0.Add(2 * time.Second))
		mkUser(t, s, "zed")
		c.Set(t0.Add(time.Second))
		mkUser(t, s, "b")
		mkUser(t, s, "a")
		mkUser(t, s, "B") // 'B' < 'a' < 'b' in byte order
		c.Set(t0.Add(time.Microsecond))
		mkUser(t, s, "yan")
		want := []string{"yan", "B", "a", "b", "zed"}

		tests := []struct {
			name          string
			limit, offset int
			want          []string
		}{
			{"FirstPage", 2, 0, want[0:2]},
			{"MiddlePage", 2, 2, want[2:4]},
			{"LastPartialPage", 2, 4, want[4:]},
			{"PastTheEndIsEmpty", 2, 6, nil},
			{"AllAtOnce", 100, 0, want},
			{"ZeroLimitIsEmpty", 0, 0, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				users, total, err := s.ListUsers(ctx, tt.limit, tt.offset)
				must(t, err)
				var names []string
				for _, u := range users {
					names = append(names, u.Username)
				}
				if !slices.Equal(names, tt.want) || total != len(want) {
					t.Fatalf("names=%v total=%d, want %v total %d", names, total, tt.want, len(want))
				}
			})
		}
		t.Run("NegativeIsInvalid", func(t *testing.T) {
			_, _, err := s.ListUsers(ctx, -1, 0)
			wantKind(t, err, domain.Invalid)
			_, _, err = s.ListUsers(ctx, 1, -1)
			wantKind(t, err, domain.Invalid)
		})
		t.Run("CountCountsAll", func(t *testing.T) {
			n, err := s.CountUsers(ctx)
			must(t, err)
			if n != len(want) {
				t.Fatalf("CountUsers = %d", n)
			}
		})
	})
}

// ---------------------------------------------------------------- tokens & settings

func TestRevokedTokens(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		must(t, s.RevokeToken(ctx, "jti-old", t0.Add(-time.Hour)))
		must(t, s.RevokeToken(ctx, "jti-new", t0.Add(time.Hour)))
		t.Run("RevokedIsRevoked", func(t *testing.T) {
			ok, err := s.IsRevoked(ctx, "jti-new")
			must(t, err)
			if !ok {
				t.Fatal("not revoked")
			}
		})
		t.Run("OtherIsNotRevoked", func(t *testing.T) {
			for _, jti := range []string{"jti-other", "JTI-NEW", "jti-new "} {
				ok, err := s.IsRevoked(ctx, jti)
				must(t, err)
				if ok {
					t.Fatalf("%q revoked", jti)
				}
			}
		})
		t.Run("TwiceIsConflict", func(t *testing.T) {
			wantMessage(t, s.RevokeToken(ctx, "jti-new", t0), domain.Conflict, "token already revoked")
		})
		t.Run("EmptyIsInvalid", func(t *testing.T) {
			wantKind(t, s.RevokeToken(ctx, "", t0), domain.Invalid)
		})
		t.Run("PurgeRemovesOnlyExpired", func(t *testing.T) {
			n, err := s.PurgeRevoked(ctx, t0)
			must(t, err)
			if n != 1 {
				t.Fatalf("purged %d, want 1", n)
			}
			if ok, _ := s.IsRevoked(ctx, "jti-old"); ok {
				t.Fatal("expired revocation kept")
			}
			if ok, _ := s.IsRevoked(ctx, "jti-new"); !ok {
				t.Fatal("live revocation purged")
			}
			n, err = s.PurgeRevoked(ctx, t0)
			must(t, err)
			if n != 0 {
				t.Fatalf("second purge removed %d", n)
			}
		})
	})
}

func TestDefaultPerms(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		t.Run("InitiallyEmpty", func(t *testing.T) {
			p, err := s.DefaultPerms(ctx)
			must(t, err)
			if p != 0 {
				t.Fatalf("perms = %v", p)
			}
		})
		for _, p := range []domain.Perm{domain.PermRead | domain.PermCreate, domain.PermAll, 0, domain.PermAdmin} {
			t.Run("SetThenGet"+strings.Join(p.Codes(), ""), func(t *testing.T) {
				must(t, s.SetDefaultPerms(ctx, p))
				must(t, s.SetDefaultPerms(ctx, p)) // same value again
				got, err := s.DefaultPerms(ctx)
				must(t, err)
				if got != p {
					t.Fatalf("perms = %v, want %v", got, p)
				}
			})
		}
	})
}

// ---------------------------------------------------------------- shares

func TestShares(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		useClock(s, t0)
		alice := mkUser(t, s, "alice")
		mkUser(t, s, "bob")

		t.Run("CreateThenReadBack", func(t *testing.T) {
			sh := &domain.Share{ID: shareID(1), FileName: "ünïcödé ☃ report.pdf", Owner: &alice.Username}
			must(t, s.CreateShare(ctx, sh))
			if !sh.CreateDate.Equal(t0) {
				t.Fatalf("CreateDate = %v", sh.CreateDate)
			}
			got, err := s.ShareByID(ctx, shareID(1))
			must(t, err)
			if got.ID != sh.ID || got.FileName != sh.FileName || *got.Owner != "alice" || got.Initialized || got.Locked ||
				!got.CreateDate.Equal(t0) || got.CreateDate.Location() != time.UTC ||
				got.Size != nil || got.SHA256 != nil || got.BlobID != nil || got.ModifiedAt != nil {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("AnonymousOwnerIsNil", func(t *testing.T) {
			mkShare(t, s, 2, nil)
			got, err := s.ShareByID(ctx, shareID(2))
			must(t, err)
			if got.Owner != nil {
				t.Fatalf("owner = %q", *got.Owner)
			}
		})
		t.Run("DuplicateIDIsConflict", func(t *testing.T) {
			err := s.CreateShare(ctx, &domain.Share{ID: shareID(1), FileName: "x"})
			wantKind(t, err, domain.Conflict)
		})
		t.Run("UnknownOwnerIsInvalid", func(t *testing.T) {
			err := s.CreateShare(ctx, &domain.Share{ID: shareID(3), FileName: "x", Owner: ptr("ghost")})
			wantMessage(t, err, domain.Invalid, `owner_name: no such user "ghost"`)
			err = s.CreateShare(ctx, &domain.Share{ID: shareID(3), FileName: "x", Owner: ptr("ALICE")})
			wantKind(t, err, domain.Invalid)
			_, err = s.ShareByID(ctx, shareID(3))
			wantKind(t, err, domain.NotFound)
		})
		t.Run("BadFileNameIsInvalid", func(t *testing.T) {
			wantKind(t, s.CreateShare(ctx, &domain.Share{ID: shareID(3), FileName: ""}), domain.Invalid)
			wantKind(t, s.CreateShare(ctx, &domain.Share{ID: shareID(3), FileName: strings.Repeat("é", 128)}), domain.Invalid)
			mkShareNamed(t, s, 3, strings.Repeat("x", 255))
		})
		t.Run("MissingIsNotFound", func(t *testing.T) {
			for _, id := range []string{shareID(99), strings.ToUpper(shareID(1)), shareID(1) + " ", "not-a-uuid", ""} {
				_, err := s.ShareByID(ctx, id)
				wantKind(t, err, domain.NotFound)
			}
		})
		t.Run("UpdateMetaChangesNameAndOwner", func(t *testing.T) {
			must(t, s.UpdateShareMeta(ctx, shareID(1), "renamed.txt", ptr("bob")))
			got, err := s.ShareByID(ctx, shareID(1))
			must(t, err)
			if got.FileName != "renamed.txt" || *got.Owner != "bob" {
				t.Fatalf("got %+v", got)
			}
			must(t, s.UpdateShareMeta(ctx, shareID(1), "renamed.txt", ptr("bob"))) // unchanged is fine
			must(t, s.UpdateShareMeta(ctx, shareID(1), "renamed.txt", nil))
			got, err = s.ShareByID(ctx, shareID(1))
			must(t, err)
			if got.Owner != nil {
				t.Fatal("owner not cleared")
			}
		})
		t.Run("UpdateMetaUnknownOwnerIsInvalid", func(t *testing.T) {
			wantMessage(t, s.UpdateShareMeta(ctx, shareID(1), "x", ptr("ghost")), domain.Invalid, `owner_name: no such user "ghost"`)
		})
		t.Run("UpdateMetaMissingIsNotFound", func(t *testing.T) {
			wantKind(t, s.UpdateShareMeta(ctx, shareID(99), "x", nil), domain.NotFound)
		})
		t.Run("UpdateMetaLockedIsLocked", func(t *testing.T) {
			must(t, s.SetLocked(ctx, shareID(2), true))
			must(t, s.SetLocked(ctx, shareID(2), true)) // already locked is fine
			wantKind(t, s.UpdateShareMeta(ctx, shareID(2), "x", nil), domain.Locked)
			got, err := s.ShareByID(ctx, shareID(2))
			must(t, err)
			if !got.Locked || got.FileName == "x" {
				t.Fatalf("got %+v", got)
			}
		})
		t.Run("DeleteLockedIsLocked", func(t *testing.T) {
			_, err := s.DeleteShare(ctx, shareID(2))
			wantKind(t, err, domain.Locked)
		})
		t.Run("UnlockAllowsChangesAgain", func(t *testing.T) {
			must(t, s.SetLocked(ctx, shareID(2), false))
			must(t, s.UpdateShareMeta(ctx, shareID(2), "x", nil))
		})
		t.Run("SetLockedMissingIsNotFound", func(t *testing.T) {
			wantKind(t, s.SetLocked(ctx, shareID(99), true), domain.NotFound)
		})
		t.Run("DeleteMissingIsNotFound", func(t *testing.T) {
			_, err := s.DeleteShare(ctx, shareID(99))
			wantKind(t, err, domain.NotFound)
		})
		t.Run("DeleteReturnsBlobAndChunkFiles", func(t *testing.T) {
			sh := mkShare(t, s, 10, nil)
			up, err := s.GetOrCreateUpload(ctx, sh.ID, "u1", 2)
			must(t, err)
			blob := domain.Blob{ID: "blob-10", Size: 3, SHA256: strings.Repeat("a", 64)}
			_, err = s.FinishUpload(ctx, up.ID, sh.ID, blob, t0)
			must(t, err)
			up1, err := s.GetOrCreateUpload(ctx, sh.ID, "u1", 3) // a new upload, same dzuuid
			must(t, err)
			up2, err := s.GetOrCreateUpload(ctx, sh.ID, "u2", 2)
			must(t, err)
			putAll(t, s, up1, "c1")
			_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up2.ID, Index: 1, FileID: "c2-1", Size: 1})
			must(t, err)

			files, err := s.DeleteShare(ctx, sh.ID)
			must(t, err)
			slices.Sort(files)
			if want := []string{"blob-10", "c1-0", "c1-1", "c1-2", "c2-1"}; !slices.Equal(files, want) {
				t.Fatalf("files = %v, want %v", files, want)
			}
			_, err = s.ShareByID(ctx, sh.ID)
			wantKind(t, err, domain.NotFound)
			_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up2.ID, Index: 0, FileID: "late", Size: 1})
			wantKind(t, err, domain.NotFound)
			for _, f := range files {
				if ref, err := s.FileReferenced(ctx, f); err != nil || ref {
					t.Fatalf("FileReferenced(%s) = %v, %v", f, ref, err)
				}
			}
		})
	})
}

func mkShareNamed(t *testing.T, s *Store, n int, name string) {
	t.Helper()
	must(t, s.CreateShare(ctx, &domain.Share{ID: shareID(n), FileName: name}))
}

func TestListShares(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		c := useClock(s, t0)
		// Creation times 3,1,1,1,2 (seconds): ties break by id.
		c.Set(t0.Add(3 * time.Second))
		mkShare(t, s, 5, nil)
		c.Set(t0.Add(time.Second))
		mkShare(t, s, 3, nil)
		mkShare(t, s, 1, nil)
		mkShare(t, s, 2, nil)
		c.Set(t0.Add(2 * time.Second))
		mkShare(t, s, 4, nil)
		want := []string{shareID(1), shareID(2), shareID(3), shareID(4), shareID(5)}

		t.Run("PagesVisitEveryShareOnceInOrder", func(t *testing.T) {
			var seen []string
			for off := 0; off < 10; off += 2 {
				page, total, err := s.ListShares(ctx, 2, off)
				must(t, err)
				if total != 5 {
					t.Fatalf("total = %d", total)
				}
				for _, sh := range page {
					seen = append(seen, sh.ID)
				}
			}
			if !slices.Equal(seen, want) {
				t.Fatalf("seen %v, want %v", seen, want)
			}
		})
		t.Run("PastTheEndIsEmpty", func(t *testing.T) {
			page, total, err := s.ListShares(ctx, 15, 15)
			must(t, err)
			if len(page) != 0 || total != 5 {
				t.Fatalf("page=%v total=%d", page, total)
			}
		})
		t.Run("NegativeIsInvalid", func(t *testing.T) {
			_, _, err := s.ListShares(ctx, 1, -1)
			wantKind(t, err, domain.Invalid)
		})
		t.Run("OrderIsServedByAnIndex", func(t *testing.T) {
			q := `SELECT share_id FROM shares ORDER BY create_date, share_id LIMIT 2`
			var plan string
			if s.Dialect() == DialectSQLite {
				var rows []struct {
					ID     int    `db:"id"`
					Parent int    `db:"parent"`
					NotUse int    `db:"notused"`
					Detail string `db:"detail"`
				}
				must(t, s.r.Select(&rows, "EXPLAIN QUERY PLAN "+q))
				for _, r := range rows {
					plan += r.Detail + "; "
				}
				if !strings.Contains(plan, "shares_create_date") || strings.Contains(plan, "TEMP B-TREE") {
					t.Fatalf("plan: %s", plan)
				}
				return
			}
			rows, err := s.r.Queryx("EXPLAIN " + q)
			must(t, err)
			defer rows.Close()
			for rows.Next() {
				m := map[string]any{}
				must(t, rows.MapScan(m))
				plan += fmt.Sprintf("key=%s extra=%s; ", m["key"], m["Extra"])
			}
			if !strings.Contains(plan, "shares_create_date") || strings.Contains(plan, "filesort") {
				t.Fatalf("plan: %s", plan)
			}
		})
	})
}

// ---------------------------------------------------------------- uploads

func TestGetOrCreateUpload(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		useClock(s, t0)
		sh := mkShare(t, s, 1, nil)
		first, err := s.GetOrCreateUpload(ctx, sh.ID, "dz", 3)
		must(t, err)
		t.Run("CreatesUpload", func(t *testing.T) {
			if first.ID <= 0 || first.ShareID != sh.ID || first.DZUUID != "dz" || first.TotalChunks != 3 || !first.CreatedAt.Equal(t0) {
				t.Fatalf("upload = %+v", first)
			}
		})
		t.Run("SecondCallGetsSameUpload", func(t *testing.T) {
			again, err := s.GetOrCreateUpload(ctx, sh.ID, "dz", 3)
			must(t, err)
			if *again != *first {
				t.Fatalf("again = %+v, first = %+v", again, first)
			}
		})
		t.Run("OtherTotalIsInvalid", func(t *testing.T) {
			_, err := s.GetOrCreateUpload(ctx, sh.ID, "dz", 4)
			wantMessage(t, err, domain.Invalid, "dztotalchunks 4 does not match this upload's 3")
		})
		t.Run("TotalBelowOneIsInvalid", func(t *testing.T) {
			_, err := s.GetOrCreateUpload(ctx, sh.ID, "dz-zero", 0)
			wantKind(t, err, domain.Invalid)
		})
		t.Run("MissingShareIsNotFound", func(t *testing.T) {
			_, err := s.GetOrCreateUpload(ctx, shareID(99), "dz", 3)
			wantKind(t, err, domain.NotFound)
		})
		t.Run("SameDZUUIDOnAnotherShareIsAnotherUpload", func(t *testing.T) {
			other := mkShare(t, s, 2, nil)
			up, err := s.GetOrCreateUpload(ctx, other.ID, "dz", 5)
			must(t, err)
			if up.ID == first.ID || up.TotalChunks != 5 {
				t.Fatalf("upload = %+v", up)
			}
		})
		t.Run("DZUUIDIsAnyBytesComparedExactly", func(t *testing.T) {
			keys := []string{
				"dz-case", "DZ-CASE", "Dz-Case", // case matters
				"../../x", "/etc/passwd", `..\..\x`, // never a path
				"ünïcödé ☃ 🦀", "e\u0301", "\u00e9", // no normalisation either
				"\x00\xff\xfe binary", "\xc3\x28", // NUL, invalid UTF-8
				"a", "a ", " a", // spaces matter (no PAD SPACE)
				"'; DROP TABLE uploads; --",
				strings.Repeat("x", 255),
			}
			ids := map[int64]string{}
			for _, k := range keys {
				up, err := s.GetOrCreateUpload(ctx, sh.ID, k, 2)
				if err != nil {
					t.Fatalf("%q: %v", k, err)
				}
				if up.DZUUID != k {
					t.Fatalf("DZUUID = %q, want %q", up.DZUUID, k)
				}
				if prev, dup := ids[up.ID]; dup {
					t.Fatalf("%q and %q are one upload", prev, k)
				}
				ids[up.ID] = k
				again, err := s.GetOrCreateUpload(ctx, sh.ID, k, 2)
				must(t, err)
				if again.ID != up.ID {
					t.Fatalf("%q: second call got upload %d, first %d", k, again.ID, up.ID)
				}
			}
		})
		t.Run("BadDZUUIDLengthIsInvalid", func(t *testing.T) {
			for _, k := range []string{"", strings.Repeat("x", 256)} {
				_, err := s.GetOrCreateUpload(ctx, sh.ID, k, 1)
				wantKind(t, err, domain.Invalid)
			}
		})
	})
}

func TestUploadLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		clk := useClock(s, t0)
		t.Run("ChunksAndCompletion", func(t *testing.T) {
			up := mkUpload(t, s, 1, 3)
			put := func(i int, f string) (string, error) {
				return s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: i, FileID: f, Size: int64(len(f))})
			}
			claim := func() ([]domain.Chunk, bool) {
				t.Helper()
				chunks, ok, err := s.ClaimCompletion(ctx, up.ID)
				must(t, err)
				return chunks, ok
			}
			if old, err := put(2, "f2"); err != nil || old != "" {
				t.Fatalf("first put: %q, %v", old, err)
			}
			if _, ok := claim(); ok {
				t.Fatal("claimed with 1 of 3 chunks")
			}
			if old, err := put(0, "f0"); err != nil || old != "" {
				t.Fatalf("put 0: %q, %v", old, err)
			}
			// A re-sent chunk replaces the old one and is not counted twice.
			if old, err := put(2, "f2-again"); err != nil || old != "f2" {
				t.Fatalf("replace: %q, %v, want old f2", old, err)
			}
			if old, err := put(2, "f2-again"); err != nil || old != "" {
				t.Fatalf("same file again: %q, %v, want no old file", old, err)
			}
			if _, ok := claim(); ok {
				t.Fatal("claimed with 2 of 3 chunks")
			}
			_, err := put(3, "f3")
			wantKind(t, err, domain.Invalid)
			_, err = put(-1, "f")
			wantKind(t, err, domain.Invalid)
			_, err = put(1, "")
			wantKind(t, err, domain.Invalid)

			if _, err := put(1, "f1"); err != nil {
				t.Fatal(err)
			}
			chunks, ok := claim()
			want := []domain.Chunk{
				{UploadID: up.ID, Index: 0, FileID: "f0", Size: 2},
				{UploadID: up.ID, Index: 1, FileID: "f1", Size: 2},
				{UploadID: up.ID, Index: 2, FileID: "f2-again", Size: 8},
			}
			if !ok || !slices.Equal(chunks, want) {
				t.Fatalf("claim = %v %v, want %v", ok, chunks, want)
			}
			if _, ok := claim(); ok {
				t.Fatal("claimed twice")
			}
			_, err = put(0, "late")
			wantMessage(t, err, domain.Conflict, "upload is being completed")

			must(t, s.ReleaseCompletion(ctx, up.ID))
			if old, err := put(0, "f0-retry"); err != nil || old != "f0" {
				t.Fatalf("put after release: %q, %v", old, err)
			}
			chunks, ok = claim()
			if !ok || chunks[0].FileID != "f0-retry" {
				t.Fatalf("reclaim = %v %v", ok, chunks)
			}

			clk.Add(time.Hour)
			blob := domain.Blob{ID: "blob-1", Size: 12, SHA256: strings.Repeat("ab", 32)}
			old, err := s.FinishUpload(ctx, up.ID, up.ShareID, blob, clk.Now())
			must(t, err)
			if old != "" {
				t.Fatalf("old blob = %q", old)
			}
			sh, err := s.ShareByID(ctx, up.ShareID)
			must(t, err)
			if !sh.Initialized || *sh.BlobID != "blob-1" || *sh.Size != 12 || *sh.SHA256 != blob.SHA256 ||
				!sh.ModifiedAt.Equal(t0.Add(time.Hour)) || sh.ModifiedAt.Location() != time.UTC {
				t.Fatalf("share = %+v", sh)
			}
			// The upload is gone with its chunk rows.
			_, err = put(0, "after-finish")
			wantKind(t, err, domain.NotFound)
			_, _, err = s.ClaimCompletion(ctx, up.ID)
			wantKind(t, err, domain.NotFound)
			wantKind(t, s.ReleaseCompletion(ctx, up.ID), domain.NotFound)
			for _, f := range []string{"f0-retry", "f1", "f2-again"} {
				if ref, err := s.FileReferenced(ctx, f); err != nil || ref {
					t.Fatalf("FileReferenced(%s) = %v, %v", f, ref, err)
				}
			}
			if ref, err := s.FileReferenced(ctx, "blob-1"); err != nil || !ref {
				t.Fatalf("FileReferenced(blob-1) = %v, %v", ref, err)
			}
		})
		t.Run("FinishReplacesContentAndReturnsOldBlob", func(t *testing.T) {
			up, err := s.GetOrCreateUpload(ctx, shareID(1), "second", 1)
			must(t, err)
			putAll(t, s, up, "s")
			_, ok, err := s.ClaimCompletion(ctx, up.ID)
			must(t, err)
			if !ok {
				t.Fatal("not claimed")
			}
			old, err := s.FinishUpload(ctx, up.ID, shareID(1), domain.Blob{ID: "blob-2", Size: 1, SHA256: strings.Repeat("cd", 32)}, t0)
			must(t, err)
			if old != "blob-1" {
				t.Fatalf("old = %q, want blob-1", old)
			}
		})
		t.Run("FinishOnLockedShareIsLockedAndChangesNothing", func(t *testing.T) {
			up := mkUpload(t, s, 2, 1)
			putAll(t, s, up, "l")
			_, ok, err := s.ClaimCompletion(ctx, up.ID)
			must(t, err)
			if !ok {
				t.Fatal("not claimed")
			}
			must(t, s.SetLocked(ctx, up.ShareID, true))
			_, err = s.FinishUpload(ctx, up.ID, up.ShareID, domain.Blob{ID: "blob-l", Size: 1, SHA256: strings.Repeat("0", 64)}, t0)
			wantKind(t, err, domain.Locked)
			sh, err := s.ShareByID(ctx, up.ShareID)
			must(t, err)
			if sh.Initialized || sh.BlobID != nil {
				t.Fatalf("share changed: %+v", sh)
			}
			files, err := s.DeleteUpload(ctx, up.ID)
			must(t, err)
			if !slices.Equal(files, []string{"l-0"}) {
				t.Fatalf("files = %v", files)
			}
		})
		t.Run("FinishOnMissingShareIsNotFound", func(t *testing.T) {
			_, err := s.FinishUpload(ctx, 12345, shareID(99), domain.Blob{ID: "b", SHA256: strings.Repeat("0", 64)}, t0)
			wantKind(t, err, domain.NotFound)
		})
		t.Run("DeleteUploadReturnsChunkFiles", func(t *testing.T) {
			up := mkUpload(t, s, 3, 4)
			files := putAll(t, s, up, "d")
			got, err := s.DeleteUpload(ctx, up.ID)
			must(t, err)
			if !slices.Equal(got, files) {
				t.Fatalf("files = %v, want %v", got, files)
			}
			_, err = s.DeleteUpload(ctx, up.ID)
			wantKind(t, err, domain.NotFound)
			// The share is untouched and takes a new upload with the same dzuuid.
			again, err := s.GetOrCreateUpload(ctx, up.ShareID, up.DZUUID, 2)
			must(t, err)
			if again.ID <= up.ID {
				t.Fatalf("upload id %d reused (was %d)", again.ID, up.ID)
			}
		})
		t.Run("PutToMissingUploadIsNotFound", func(t *testing.T) {
			_, err := s.PutChunk(ctx, domain.Chunk{UploadID: 987654, Index: 0, FileID: "x"})
			wantKind(t, err, domain.NotFound)
		})
	})
}

// TestCompletionRace: many requests deliver the chunks of one upload at
// once and each then tries to complete it; exactly one may join.
func TestCompletionRace(t *testing.T) {
	const n = 50
	eachDialect(t, func(t *testing.T, s *Store) {
		for round := range 3 {
			up := mkUpload(t, s, round+1, n)
			var mu sync.Mutex
			winners := 0
			var got []domain.Chunk
			start := make(chan struct{})
			errs := make(chan error, 2*n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					_, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: i, FileID: fmt.Sprintf("r%d-%d", round, i), Size: 1})
					if err != nil && !domain.IsKind(err, domain.Conflict) {
						errs <- fmt.Errorf("PutChunk %d: %w", i, err)
						return
					}
					chunks, ok, err := s.ClaimCompletion(ctx, up.ID)
					if err != nil {
						errs <- fmt.Errorf("ClaimCompletion %d: %w", i, err)
						return
					}
					if ok {
						mu.Lock()
						winners++
						got = chunks
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			// And all of them once more, after the dust settled.
			for range n {
				wg.Go(func() {
					_, ok, err := s.ClaimCompletion(ctx, up.ID)
					if err != nil {
						errs <- err
					}
					if ok {
						mu.Lock()
						winners++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if winners != 1 {
				t.Fatalf("round %d: %d winners, want exactly 1", round, winners)
			}
			t.Logf("round %d: %d transactions retried so far", round, s.retries.Load())
			if len(got) != n {
				t.Fatalf("winner got %d chunks", len(got))
			}
			for i, c := range got {
				if c.Index != i || c.FileID != fmt.Sprintf("r%d-%d", round, i) {
					t.Fatalf("chunk %d = %+v", i, c)
				}
			}
		}
	})
}

// TestConcurrentWriters: writers of every kind at once never fail with
// busy/deadlock errors (SQLite's single writer, MySQL's retries).
func TestConcurrentWriters(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		mkUser(t, s, "owner")
		// The share every writer also races for exists before they start
		// (it was writer 0's own, which the others could reach first).
		shared := mkShare(t, s, 999, nil)
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				err := func() error {
					sh := &domain.Share{ID: shareID(1000 + i), FileName: "f", Owner: ptr("owner")}
					if err := s.CreateShare(ctx, sh); err != nil {
						return err
					}
					up, err := s.GetOrCreateUpload(ctx, sh.ID, "same", 1)
					if err != nil {
						return err
					}
					if _, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 0, FileID: fmt.Sprintf("w%d", i)}); err != nil {
						return err
					}
					if _, ok, err := s.ClaimCompletion(ctx, up.ID); err != nil || !ok {
						return fmt.Errorf("claim: %v %v", ok, err)
					}
					if _, err := s.FinishUpload(ctx, up.ID, sh.ID, domain.Blob{ID: fmt.Sprintf("b%d", i), SHA256: strings.Repeat("0", 64)}, t0); err != nil {
						return err
					}
					if err := s.SetLocked(ctx, sh.ID, true); err != nil {
						return err
					}
					if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), t0); err != nil {
						return err
					}
					if _, err := s.ShareByID(ctx, sh.ID); err != nil {
						return err
					}
					// Everyone races for the same upload of one shared share too.
					_, err = s.GetOrCreateUpload(ctx, shared.ID, "shared", 7)
					return err
				}()
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		_, total, err := s.ListShares(ctx, 1, 0)
		must(t, err)
		if total != n+1 {
			t.Fatalf("total = %d, want %d", total, n+1)
		}
		t.Logf("%d transactions retried", s.retries.Load())
		wantMessage(t, s.DeleteUser(ctx, "owner"), domain.Conflict,
			fmt.Sprintf(`user "owner" still owns %d shares; transfer or delete them first`, n))
	})
}

// ---------------------------------------------------------------- cleanup

func TestDeleteStale(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		clk := useClock(s, t0)
		old := t0
		// Old, uninitialized, unlocked and locked: both go.
		mkShare(t, s, 1, nil)
		mkShare(t, s, 2, nil)
		must(t, s.SetLocked(ctx, shareID(2), true))
		up1, err := s.GetOrCreateUpload(ctx, shareID(1), "stale", 2)
		must(t, err)
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up1.ID, Index: 0, FileID: "s1-0"})
		must(t, err)
		// Old and initialized: stays, but its stale upload goes.
		up3 := mkUpload(t, s, 3, 1)
		putAll(t, s, up3, "s3")
		_, _, err = s.ClaimCompletion(ctx, up3.ID)
		must(t, err)
		_, err = s.FinishUpload(ctx, up3.ID, shareID(3), domain.Blob{ID: "blob-3", SHA256: strings.Repeat("0", 64)}, t0)
		must(t, err)
		up3b, err := s.GetOrCreateUpload(ctx, shareID(3), "abandoned", 3)
		must(t, err)
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up3b.ID, Index: 1, FileID: "s3b-1"})
		must(t, err)
		// Old, uninitialized, but its upload is still receiving chunks: stays.
		up4 := mkUpload(t, s, 4, 3)

		clk.Set(old.Add(25 * time.Hour))
		mkShare(t, s, 5, nil) // fresh: stays
		_, err = s.PutChunk(ctx, domain.Chunk{UploadID: up4.ID, Index: 0, FileID: "s4-0"})
		must(t, err)
		// Old upload claimed recently (being joined): stays.
		up6 := mkUpload(t, s, 6, 1)
		clk.Set(old)
		putAll(t, s, up6, "s6")
		clk.Set(old.Add(25 * time.Hour))
		_, ok, err := s.ClaimCompletion(ctx, up6.ID)
		must(t, err)
		if !ok {
			t.Fatal("not claimed")
		}

		before := old.Add(time.Hour)
		files, err := s.DeleteStale(ctx, before)
		must(t, err)
		slices.Sort(files)
		if want := []string{"s1-0", "s3b-1"}; !slices.Equal(files, want) {
			t.Fatalf("files = %v, want %v", files, want)
		}
		for _, tt := range []struct {
			n    int
			kept bool
		}{{1, false}, {2, false}, {3, true}, {4, true}, {5, true}, {6, true}} {
			_, err := s.ShareByID(ctx, shareID(tt.n))
			if kept := err == nil; kept != tt.kept {
				t.Errorf("share %d kept = %v, want %v (%v)", tt.n, kept, tt.kept, err)
			}
		}
		_, err = s.DeleteUpload(ctx, up3b.ID)
		wantKind(t, err, domain.NotFound)
		if _, err := s.PutChunk(ctx, domain.Chunk{UploadID: up4.ID, Index: 1, FileID: "s4-1"}); err != nil {
			t.Fatalf("active upload was removed: %v", err)
		}
		t.Run("SecondRunFindsNothing", func(t *testing.T) {
			files, err := s.DeleteStale(ctx, before)
			must(t, err)
			if len(files) != 0 {
				t.Fatalf("files = %v", files)
			}
		})
		t.Run("EverythingGoesEventually", func(t *testing.T) {
			files, err := s.DeleteStale(ctx, old.Add(100*time.Hour))
			must(t, err)
			slices.Sort(files)
			// Shares 4, 5, 6 (uninitialized) with their chunks; share 3 stays.
			if want := []string{"s4-0", "s4-1", "s6-0"}; !slices.Equal(files, want) {
				t.Fatalf("files = %v, want %v", files, want)
			}
			_, total, err := s.ListShares(ctx, 10, 0)
			must(t, err)
			if total != 1 {
				t.Fatalf("%d shares left, want 1", total)
			}
		})
	})
}

func TestFileReferenced(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		up := mkUpload(t, s, 1, 2)
		putAll(t, s, up, "chunk")
		up2 := mkUpload(t, s, 2, 1)
		putAll(t, s, up2, "c2")
		_, _, err := s.ClaimCompletion(ctx, up2.ID)
		must(t, err)
		_, err = s.FinishUpload(ctx, up2.ID, up2.ShareID, domain.Blob{ID: "the-blob", SHA256: strings.Repeat("0", 64)}, t0)
		must(t, err)
		tests := []struct {
			name string
			file string
			want bool
		}{
			{"ChunkIsReferenced", "chunk-1", true},
			{"BlobIsReferenced", "the-blob", true},
			{"JoinedChunkIsNot", "c2-0", false},
			{"UnknownIsNot", "nothing", false},
			{"CaseMatters", "THE-BLOB", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.FileReferenced(ctx, tt.file)
				must(t, err)
				if got != tt.want {
					t.Fatalf("FileReferenced(%q) = %v", tt.file, got)
				}
			})
		}
	})
}

// ---------------------------------------------------------------- benchmarks

func BenchmarkHotReads(b *testing.B) {
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			s := newTestStore(b, d)
			u := &domain.User{Username: "alice", PasswordHash: "h"}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateShare(ctx, &domain.Share{ID: shareID(1), FileName: "f", Owner: &u.Username}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.ShareByID(ctx, shareID(1)); err != nil {
						b.Fatal(err)
					}
					if _, err := s.UserByName(ctx, "alice"); err != nil {
						b.Fatal(err)
					}
					if _, err := s.IsRevoked(ctx, "jti"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestSQLiteSharesTheFile: another process (here: another connection)
// writing to the same SQLite file makes the store wait, not fail; one that
// holds the lock too long makes it fail as Unavailable, not Internal.
func TestSQLiteSharesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sachet.db")
	holdWriteLock := func(t *testing.T, d time.Duration) <-chan struct{} {
		other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		must(t, err)
		t.Cleanup(func() { other.Close() })
		conn, err := other.Conn(ctx)
		must(t, err)
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		must(t, err)
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(d)
			conn.ExecContext(ctx, "COMMIT")
			conn.Close()
		}()
		return done
	}
	t.Run("WaitsForAnotherWriter", func(t *testing.T) {
		s := openStore(t, "sqlite:"+path)
		must(t, s.Migrate(ctx))
		done := holdWriteLock(t, 300*time.Millisecond)
		mkUser(t, s, "patient")
		<-done
	})
	t.Run("BusyTooLongIsUnavailable", func(t *testing.T) {
		s := openStore(t, "sqlite:"+path+"?_pragma=busy_timeout(1)")
		done := holdWriteLock(t, 2*time.Second)
		err := s.CreateUser(ctx, &domain.User{Username: "impatient", PasswordHash: "h"})
		wantKind(t, err, domain.Unavailable)
		if s.retries.Load() != txAttempts-1 {
			t.Fatalf("retries = %d, want %d", s.retries.Load(), txAttempts-1)
		}
		<-done
		mkUser(t, s, "impatient") // works once the lock is gone
	})
}

func TestColumnLimits(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		sh := mkShare(t, s, 1, nil)
		up, err := s.GetOrCreateUpload(ctx, sh.ID, "dz", 1)
		must(t, err)
		long := strings.Repeat("x", 256)
		tests := []struct {
			name string
			err  func() error
		}{
			{"LongPasswordHash", func() error { return s.CreateUser(ctx, &domain.User{Username: "u", PasswordHash: long}) }},
			{"LongPasswordHashUpdate", func() error { return s.UpdateUser(ctx, &domain.User{Username: "u", PasswordHash: long}) }},
			{"LongJTI", func() error { return s.RevokeToken(ctx, long, t0) }},
			{"LongShareID", func() error { return s.CreateShare(ctx, &domain.Share{ID: sh.ID + "x", FileName: "f"}) }},
			{"LongFileNameUpdate", func() error { return s.UpdateShareMeta(ctx, sh.ID, long, nil) }},
			{"LongOwner", func() error { return s.UpdateShareMeta(ctx, sh.ID, "f", ptr(strings.Repeat("o", 65))) }},
			{"LongChunkFile", func() error {
				_, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, FileID: long})
				return err
			}},
			{"NegativeChunkSize", func() error {
				_, err := s.PutChunk(ctx, domain.Chunk{UploadID: up.ID, FileID: "f", Size: -1})
				return err
			}},
			{"LongBlobID", func() error {
				_, err := s.FinishUpload(ctx, up.ID, sh.ID, domain.Blob{ID: long}, t0)
				return err
			}},
			{"LongSHA256", func() error {
				_, err := s.FinishUpload(ctx, up.ID, sh.ID, domain.Blob{ID: "b", SHA256: strings.Repeat("0", 65)}, t0)
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name+"IsInvalid", func(t *testing.T) { wantKind(t, tt.err(), domain.Invalid) })
		}
	})
}

// TestAbandonedClaim: a process that dies while joining leaves its claim
// behind; the upload must not be stuck with it. Another Store plays the
// restarted (or another) server.
func TestAbandonedClaim(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			must(t, a.Migrate(ctx))
			up := mkUpload(t, a, 1, 2)
			putAll(t, a, up, "a")
			if _, ok, err := a.ClaimCompletion(ctx, up.ID); err != nil || !ok {
				t.Fatalf("a claims: %v %v", ok, err)
			}
			b := openStore(t, dsn)
			resend := domain.Chunk{UploadID: up.ID, Index: 1, FileID: "b-1", Size: 1}

			if d == DialectMySQL {
				t.Run("LiveHolderKeepsItsClaim", func(t *testing.T) {
					_, err := b.PutChunk(ctx, resend)
					wantKind(t, err, domain.Conflict)
					if _, ok, err := b.ClaimCompletion(ctx, up.ID); err != nil || ok {
						t.Fatalf("b claims a live claim: %v %v", ok, err)
					}
				})
			}
			must(t, a.Close()) // the holder dies (for MySQL, its session ends)

			t.Run("ResentChunkIsAcceptedAndCompletes", func(t *testing.T) {
				old, err := b.PutChunk(ctx, resend)
				must(t, err)
				if old != "a-1" {
					t.Fatalf("replaced %q, want a-1", old)
				}
				chunks, ok, err := b.ClaimCompletion(ctx, up.ID)
				must(t, err)
				if !ok || len(chunks) != 2 || chunks[1].FileID != "b-1" {
					t.Fatalf("b claims: %v %v", ok, chunks)
				}
				if _, ok, _ := b.ClaimCompletion(ctx, up.ID); ok {
					t.Fatal("claimed twice")
				}
				_, err = b.PutChunk(ctx, resend)
				wantKind(t, err, domain.Conflict)
			})
			t.Run("CompleteUploadIsClaimedWithoutResend", func(t *testing.T) {
				c := openStore(t, dsn)
				up2 := mkUpload(t, c, 2, 1)
				putAll(t, c, up2, "c")
				if _, ok, err := c.ClaimCompletion(ctx, up2.ID); err != nil || !ok {
					t.Fatalf("c claims: %v %v", ok, err)
				}
				must(t, c.Close())
				if _, ok, err := b.ClaimCompletion(ctx, up2.ID); err != nil || !ok {
					t.Fatalf("b takes over: %v %v", ok, err)
				}
			})
		})
	}
}

// TestInstanceLockComesBack: a MySQL Store whose lock connection was lost
// takes its lock again before it next claims.
func TestInstanceLockComesBack(t *testing.T) {
	s := newTestStore(t, DialectMySQL)
	admin := adminDB(t)
	var id int64
	must(t, admin.QueryRow(`SELECT IS_USED_LOCK(?)`, instanceLock(s.token)).Scan(&id))
	if _, err := admin.Exec(fmt.Sprintf("KILL %d", id)); err != nil {
		t.Fatal(err)
	}
	var holder sql.NullInt64
	for range 100 { // KILL is asynchronous
		must(t, admin.QueryRow(`SELECT IS_USED_LOCK(?)`, instanceLock(s.token)).Scan(&holder))
		if !holder.Valid {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if holder.Valid {
		t.Fatal("lock survived KILL")
	}
	up := mkUpload(t, s, 1, 1)
	putAll(t, s, up, "x")
	if _, ok, err := s.ClaimCompletion(ctx, up.ID); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	must(t, admin.QueryRow(`SELECT IS_USED_LOCK(?)`, instanceLock(s.token)).Scan(&holder))
	if !holder.Valid || holder.Int64 == id {
		t.Fatalf("lock holder = %v, want a new connection", holder)
	}
}

func TestTokenHolder(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u := &domain.User{Username: "holder", PasswordHash: "h", Perms: domain.PermRead}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, revoked, err := s.TokenHolder(ctx, "holder", "jti-1")
		if err != nil || revoked || got.ID != u.ID || got.Perms != domain.PermRead {
			t.Fatalf("TokenHolder = %+v, %v, %v", got, revoked, err)
		}
		if err := s.RevokeToken(ctx, "jti-1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, revoked, err = s.TokenHolder(ctx, "holder", "jti-1"); err != nil || !revoked {
			t.Fatalf("after revocation: revoked=%v err=%v", revoked, err)
		}
		if _, _, err := s.TokenHolder(ctx, "nobody", "jti-1"); !domain.IsKind(err, domain.NotFound) {
			t.Fatalf("missing user: %v, want NotFound", err)
		}
	})
}
