package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// Source is a Python Sachet database opened for reading. Its tables are
// described in shared/sachet-python-layout.md: users, server_settings and
// shares are read; uploads, chunks and blacklist_tokens are not carried.
type Source struct {
	db      *sql.DB
	dialect string // "sqlite" or "mysql"
	// text is the SQL expression type that turns a DATETIME column into
	// its text: drivers would otherwise read the naive local time as UTC.
	text string
}

// OpenSource opens the Python Sachet's database read-only. spec is a path
// to its SQLite file, "sqlite:PATH", a SQLAlchemy URL as in the old
// config.yml (sqlite:///relative, sqlite:////absolute,
// mysql[+driver]://user:pw@host[:port]/db), or "mysql:" followed by a
// go-sql-driver DSN (user:pw@tcp(host:3306)/db).
func OpenSource(ctx context.Context, spec string) (*Source, error) {
	kind, target, err := parseSourceSpec(spec)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "sqlite":
		return openSQLiteSource(ctx, target)
	default:
		return openMySQLSource(ctx, target)
	}
}

// parseSourceSpec tells the SQLite path or MySQL DSN in spec.
func parseSourceSpec(spec string) (kind, target string, err error) {
	switch {
	case spec == "":
		return "", "", errors.New("no source database given")
	case strings.HasPrefix(spec, "sqlite:///"):
		// SQLAlchemy: three slashes then the path, so "////abs" is absolute.
		return "sqlite", strings.TrimPrefix(spec, "sqlite:///"), nil
	case strings.HasPrefix(spec, "sqlite:"):
		return "sqlite", strings.TrimPrefix(spec, "sqlite:"), nil
	case strings.HasPrefix(spec, "mysql://"), strings.HasPrefix(spec, "mysql+"), strings.HasPrefix(spec, "mariadb://"), strings.HasPrefix(spec, "mariadb+"):
		dsn, err := sqlalchemyToDSN(spec)
		return "mysql", dsn, err
	case strings.HasPrefix(spec, "mysql:"):
		return "mysql", strings.TrimPrefix(spec, "mysql:"), nil
	case strings.Contains(spec, "://"):
		return "", "", fmt.Errorf("source %q: only SQLite and MySQL/MariaDB databases can be imported", redact(spec))
	}
	return "sqlite", spec, nil
}

// sqlalchemyToDSN turns mysql+pymysql://user:pw@host:port/db?charset=utf8mb4
// into go-sql-driver's user:pw@tcp(host:port)/db.
func sqlalchemyToDSN(spec string) (string, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return "", fmt.Errorf("source: malformed database URL %q", redact(spec))
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	host := u.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if u.Port() == "" {
		host += ":3306"
	}
	if sock := u.Query().Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	} else {
		cfg.Net, cfg.Addr = "tcp", host
	}
	return cfg.FormatDSN(), nil
}

// redact hides a password in a URL for messages.
func redact(spec string) string {
	if u, err := url.Parse(spec); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return spec
}

func openSQLiteSource(ctx context.Context, path string) (*Source, error) {
	// Refuse a path that is not there rather than let SQLite create an
	// empty database in its place.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("source database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("source database %s is not a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// Read-only twice over: the file is opened read-only, and the
	// connection refuses writes. The old server may still be running:
	// its writes wait for our reads, at worst.
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s := &Source{db: db, dialect: "sqlite", text: "TEXT"}
	if err := s.check(ctx, path); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openMySQLSource(ctx context.Context, dsn string) (*Source, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("source: malformed MySQL DSN: %w", err)
	}
	if cfg.DBName == "" {
		return nil, errors.New("source: the MySQL DSN names no database")
	}
	// Dates are read as text and converted with --timezone, never by the
	// driver.
	cfg.ParseTime = false
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	s := &Source{db: db, dialect: "mysql", text: "CHAR"}
	if err := s.check(ctx, cfg.Addr+"/"+cfg.DBName); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// check makes sure the database answers and has the Python Sachet's tables.
func (s *Source) check(ctx context.Context, name string) error {
	for _, table := range []string{"users", "shares", "server_settings"} {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return fmt.Errorf("source database %s: cannot read table %s (is it a Python Sachet database?): %w", name, table, err)
		}
	}
	return nil
}

// Close releases the source database.
func (s *Source) Close() error { return s.db.Close() }

// Dialect is "sqlite" or "mysql".
func (s *Source) Dialect() string { return s.dialect }

// PyUser is a row of the old users table, as stored.
type PyUser struct {
	Username     string
	PasswordHash string
	RegisterDate string // naive local time, as text
	Permissions  int64
}

// PyShare is a row of the old shares table, as stored.
type PyShare struct {
	RawID       []byte // a 16-byte UUID, or its text
	Owner       *string
	Initialized bool
	Locked      bool
	CreateDate  string // naive local time, as text
	FileName    string
	key         any // the share_id value as the driver returned it, for paging
}

// Users returns every user, ordered by name.
func (s *Source) Users(ctx context.Context) ([]PyUser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username, password_hash, CAST(register_date AS `+s.text+`), permissions_number
		FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("source: reading users: %w", err)
	}
	defer rows.Close()
	var users []PyUser
	for rows.Next() {
		var u PyUser
		var date sql.NullString
		var perms sql.NullInt64
		if err := rows.Scan(&u.Username, &u.PasswordHash, &date, &perms); err != nil {
			return nil, fmt.Errorf("source: reading users: %w", err)
		}
		u.RegisterDate, u.Permissions = date.String, perms.Int64
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source: reading users: %w", err)
	}
	return users, nil
}

// DefaultPerms returns the anonymous permissions, and false when the old
// server never stored them.
func (s *Source) DefaultPerms(ctx context.Context) (int64, bool, error) {
	var p sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT default_permissions_number FROM server_settings ORDER BY id LIMIT 1`).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("source: reading server_settings: %w", err)
	}
	return p.Int64, p.Valid, nil
}

// CountShares returns how many shares there are, for progress.
func (s *Source) CountShares(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM shares`).Scan(&n); err != nil {
		return 0, fmt.Errorf("source: counting shares: %w", err)
	}
	return n, nil
}

// Shares returns up to limit shares in share_id order, after the share
// `after` (nil: from the start). Paging, rather than one long query, keeps
// no result set open on a MySQL server while large files are copied.
func (s *Source) Shares(ctx context.Context, after *PyShare, limit int) ([]PyShare, error) {
	q := `SELECT share_id, owner_name, CAST(initialized AS SIGNED), CAST(locked AS SIGNED), CAST(create_date AS ` + s.text + `), file_name FROM shares`
	if s.dialect == "sqlite" {
		q = strings.ReplaceAll(q, "SIGNED", "INTEGER")
	}
	args := []any{}
	if after != nil {
		q += ` WHERE share_id > ?`
		args = append(args, after.key)
	}
	q += ` ORDER BY share_id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("source: reading shares: %w", err)
	}
	defer rows.Close()
	var shares []PyShare
	for rows.Next() {
		var sh PyShare
		var owner, date, name sql.NullString
		var init, locked sql.NullInt64
		if err := rows.Scan(&sh.key, &owner, &init, &locked, &date, &name); err != nil {
			return nil, fmt.Errorf("source: reading shares: %w", err)
		}
		switch k := sh.key.(type) {
		case []byte:
			sh.RawID = append([]byte(nil), k...)
			sh.key = sh.RawID
		case string:
			sh.RawID = []byte(k)
		default:
			sh.RawID = []byte(fmt.Sprint(k))
		}
		if owner.Valid {
			sh.Owner = &owner.String
		}
		sh.Initialized, sh.Locked = init.Int64 != 0, locked.Int64 != 0
		sh.CreateDate, sh.FileName = date.String, name.String
		shares = append(shares, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source: reading shares: %w", err)
	}
	return shares, nil
}
