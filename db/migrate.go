package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// The schema ships inside the binary, so the two cannot drift apart.
//
//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string // file name, for schema_migrations and error messages
	sql     string
}

// loadMigrations returns the dialect's migrations in order, checking that
// they are numbered 1, 2, 3... with no gap or duplicate.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("db: migration %s/%s: name must be NNNN_what.sql", dir, e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("db: migration %s/%s: expected version %d", dir, m.name, i+1)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date by applying, in order, the embedded
// migrations the database has not recorded in schema_migrations. Running it
// again is a no-op, and processes racing to migrate one database are
// serialised (SQLite: each migration is one IMMEDIATE transaction; MySQL: a
// named lock per database). A database whose schema is newer than this
// binary is refused rather than used.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return fail(err, "migrate")
	}
	if s.dialect == DialectMySQL {
		return fail(s.migrateMySQL(ctx, ms), "migrate")
	}
	return fail(s.migrateSQLite(ctx, ms), "migrate")
}

func checkNotNewer(applied, known int) error {
	if applied > known {
		return domain.Errorf(domain.Internal,
			"database schema is at version %d, newer than this binary's %d: upgrade sachet", applied, known)
	}
	return nil
}

func (s *Store) migrateSQLite(ctx context.Context, ms []migration) error {
	err := s.inTx(ctx, "migrate", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		) STRICT`)
		if err != nil {
			return err
		}
		var top int
		if err := tx.GetContext(ctx, &top, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`); err != nil {
			return err
		}
		return checkNotNewer(top, len(ms))
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := s.inTx(ctx, "migrate", func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("db: migration %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, ts(s.now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// migrateLock names the MySQL lock that serialises migrations of this
// database (lock names are server-wide and at most 64 characters).
const migrateLock = `CONCAT('sachet.migrate.', LEFT(SHA2(DATABASE(), 256), 40))`

func (s *Store) migrateMySQL(ctx context.Context, ms []migration) (err error) {
	// One connection throughout: the named lock belongs to the session.
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got *int
	if err := conn.GetContext(ctx, &got, `SELECT GET_LOCK(`+migrateLock+`, 300)`); err != nil {
		return err
	}
	if got == nil || *got != 1 {
		return domain.Errorf(domain.Unavailable, "another process has been migrating the database for 5 minutes")
	}
	defer func() {
		// A fresh context: release even when ctx is done. If this fails
		// the session is broken, and its end frees the lock anyway.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK(`+migrateLock+`)`)
	}()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INT          NOT NULL,
		name       VARCHAR(255) NOT NULL,
		applied_at DATETIME(6)  NOT NULL,
		PRIMARY KEY (version)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`); err != nil {
		return err
	}
	var applied []int
	if err := conn.SelectContext(ctx, &applied, `SELECT version FROM schema_migrations`); err != nil {
		return err
	}
	done := map[int]bool{}
	top := 0
	for _, v := range applied {
		done[v] = true
		top = max(top, v)
	}
	if err := checkNotNewer(top, len(ms)); err != nil {
		return err
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		// DDL commits implicitly, so a run can be cut off between these
		// two statements. CREATE TABLE IF NOT EXISTS repeats harmlessly;
		// for ALTERs, "already there" means exactly that (we hold the lock,
		// so no one else is applying it).
		if _, err := conn.ExecContext(ctx, m.sql); err != nil && !alreadyApplied(err) {
			return fmt.Errorf("db: migration %s: %w", m.name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, ts(s.now())); err != nil {
			return err
		}
	}
	return nil
}

// alreadyApplied reports MySQL errors saying a DDL change is in place.
func alreadyApplied(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1050, // table exists
		1060, // duplicate column name
		1061, // duplicate key name
		1091: // can't DROP: doesn't exist
		return true
	}
	return false
}
