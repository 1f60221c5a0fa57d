// Package pyfixture writes a small Python Sachet installation in the old
// server's own formats (shared/sachet-python-layout.md): its SQLite
// database, with 16-byte UUID blobs, $2b$ bcrypt hashes, naive local
// timestamps, an anonymous share, locked and uninitialized shares, an
// unfinished upload and a revoked token; and its storage folder, with one
// content file missing. Tests of `sachet import` use it, and
// `go run ./importer/pyfixture/cmd DIR` writes it for trying the real binary.
package pyfixture

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// User is an old account.
type User struct {
	Name, Password string
	Perms          int64
	RegisterDate   string // naive, as the old server stored it
}

// Share is an old share. Content nil: no content file (Missing tells
// whether the share claims content all the same).
type Share struct {
	ID          string
	Owner       *string
	FileName    string
	Initialized bool
	Locked      bool
	CreateDate  string // naive
	Content     []byte
	// Missing: initialized, but its content file is gone; the import
	// must bring it over uninitialized and report it.
	Missing bool
	// Placeholder: uninitialized with an empty placeholder file.
	Placeholder bool
}

// Fixture is what Write wrote.
type Fixture struct {
	DB        string // the SQLite file
	FilesDir  string // SACHET_FILE_DIR: content is in FilesDir/files/
	Users     []User
	AnonPerms int64
	Shares    []Share
}

func owner(s string) *string { return &s }

// New describes the fixture, with fresh random content.
func New() *Fixture {
	big := make([]byte, 3<<20+12345) // a few MiB, not a round size
	rand.Read(big)
	return &Fixture{
		Users: []User{
			{"alice", "alice-old-pw", 1 | 2 | 64 | 16, "2023-05-08 18:57:27.982479"}, // CREATE MODIFY LIST READ
			{"bob", "bob-old-pw", 32, "2023-06-01 09:00:00.000001"},                  // ADMIN
			{"carol.d-e_f", "pw with spaces & ünïcode", 127, "2024-01-15 23:59:59"},  // all; no fraction
			{"dave", "dave-pw", 0, "2024-07-04 12:00:00.5"},
		},
		AnonPerms: 1 | 64, // CREATE READ
		Shares: []Share{
			{ID: "0b6e2b5e-6a8e-4c1f-9d3e-111111111111", Owner: owner("alice"), FileName: "notes.txt", Initialized: true,
				CreateDate: "2023-05-20 23:05:31.546561", Content: []byte("hello from the python sachet\n")},
			{ID: "1f0c8a44-2b7d-4e59-8a61-222222222222", Owner: owner("bob"), FileName: "photo.jpg", Initialized: true, Locked: true,
				CreateDate: "2023-06-02 10:11:12.131415", Content: big},
			{ID: "2a9d7f10-5c3e-4b8a-b0d2-333333333333", Owner: nil, FileName: "anonymous upload.bin", Initialized: true,
				CreateDate: "2023-11-05 01:30:00.000000", Content: []byte{0, 1, 2, 3, 255, 254, 0}},
			{ID: "3c4b5a69-7d8e-4f01-9234-444444444444", Owner: owner("alice"), FileName: "never uploaded.txt",
				CreateDate: "2024-02-29 08:00:00.25"},
			{ID: "4d5e6f70-8192-4a3b-8c4d-555555555555", Owner: owner("carol.d-e_f"), FileName: "lost.pdf", Initialized: true,
				CreateDate: "2024-03-01 12:34:56.789012", Missing: true},
			{ID: "5e6f7081-92a3-4b4c-9d5e-666666666666", Owner: nil, FileName: "empty.txt", Initialized: true, Locked: true,
				CreateDate: "2024-03-02 00:00:00.000001", Content: []byte{}},
			{ID: "6f708192-a3b4-4c5d-8e6f-777777777777", Owner: owner("dave"), FileName: "placeholder.txt", Placeholder: true, Locked: true,
				CreateDate: "2024-08-01 17:45:00.123456"},
			{ID: "70819203-b4c5-4d6e-9f70-888888888888", Owner: owner("bob"), FileName: "résumé — final.odt", Initialized: true,
				CreateDate: "2025-01-01 00:00:00.000000", Content: bytes.Repeat([]byte("sachet "), 10000)},
		},
	}
}

// sqliteSchema is the old server's Alembic revision e8d2a7570f70 as
// SQLAlchemy writes it for SQLite.
var sqliteSchema = []string{
	`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`,
	`CREATE TABLE users (username VARCHAR(255) NOT NULL, password_hash VARCHAR(255) NOT NULL,
		register_date DATETIME NOT NULL, permissions_number BIGINT NOT NULL, PRIMARY KEY (username))`,
	`CREATE TABLE server_settings (id INTEGER NOT NULL, default_permissions_number BIGINT NOT NULL, PRIMARY KEY (id))`,
	`CREATE TABLE shares (share_id BINARY(16) NOT NULL, owner_name VARCHAR, initialized BOOLEAN NOT NULL,
		locked BOOLEAN NOT NULL, create_date DATETIME NOT NULL, file_name VARCHAR NOT NULL,
		PRIMARY KEY (share_id), FOREIGN KEY(owner_name) REFERENCES users (username))`,
	`CREATE TABLE uploads (upload_id VARCHAR NOT NULL, share_id BINARY(16), create_date DATETIME NOT NULL,
		total_chunks INTEGER NOT NULL, recv_chunks INTEGER NOT NULL, completed BOOLEAN NOT NULL,
		PRIMARY KEY (upload_id), FOREIGN KEY(share_id) REFERENCES shares (share_id))`,
	`CREATE TABLE chunks (chunk_id INTEGER NOT NULL, create_date DATETIME NOT NULL, "index" INTEGER NOT NULL,
		upload_id VARCHAR, filename VARCHAR NOT NULL, PRIMARY KEY (chunk_id), FOREIGN KEY(upload_id) REFERENCES uploads (upload_id))`,
	`CREATE TABLE blacklist_tokens (id INTEGER NOT NULL, token VARCHAR(500) NOT NULL, expires DATETIME NOT NULL,
		PRIMARY KEY (id), UNIQUE (token))`,
}

// mysqlSchema is the same revision as SQLAlchemy writes it for MySQL:
// UUIDs in BINARY(16), DATETIME without fractional seconds (so the old
// server kept whole seconds there), booleans as TINYINT.
var mysqlSchema = []string{
	`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, PRIMARY KEY (version_num))`,
	`CREATE TABLE users (username VARCHAR(255) NOT NULL, password_hash VARCHAR(255) NOT NULL,
		register_date DATETIME NOT NULL, permissions_number BIGINT NOT NULL, PRIMARY KEY (username))`,
	`CREATE TABLE server_settings (id INTEGER NOT NULL AUTO_INCREMENT, default_permissions_number BIGINT NOT NULL, PRIMARY KEY (id))`,
	`CREATE TABLE shares (share_id BINARY(16) NOT NULL, owner_name VARCHAR(255), initialized BOOL NOT NULL,
		locked BOOL NOT NULL, create_date DATETIME NOT NULL, file_name VARCHAR(1024) NOT NULL,
		PRIMARY KEY (share_id), FOREIGN KEY(owner_name) REFERENCES users (username))`,
	`CREATE TABLE uploads (upload_id VARCHAR(255) NOT NULL, share_id BINARY(16), create_date DATETIME NOT NULL,
		total_chunks INTEGER NOT NULL, recv_chunks INTEGER NOT NULL, completed BOOL NOT NULL,
		PRIMARY KEY (upload_id), FOREIGN KEY(share_id) REFERENCES shares (share_id))`,
	"CREATE TABLE chunks (chunk_id INTEGER NOT NULL AUTO_INCREMENT, create_date DATETIME NOT NULL, `index` INTEGER NOT NULL," +
		" upload_id VARCHAR(255), filename VARCHAR(1024) NOT NULL, PRIMARY KEY (chunk_id), FOREIGN KEY(upload_id) REFERENCES uploads (upload_id))",
	`CREATE TABLE blacklist_tokens (id INTEGER NOT NULL AUTO_INCREMENT, token VARCHAR(500) NOT NULL, expires DATETIME NOT NULL,
		PRIMARY KEY (id), UNIQUE (token))`,
}

// Write writes f under dir: dir/sachet.db (SQLite) and dir/storage/files/.
// Bcrypt hashes are made at the lowest cost, with the $2b$ prefix
// Flask-Bcrypt writes.
func (f *Fixture) Write(dir string) error {
	f.DB = filepath.Join(dir, "sachet.db")
	db, err := sql.Open("sqlite", f.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	return f.write(db, sqliteSchema, dir)
}

// WriteMySQL writes f's tables into the empty MySQL database db (opened
// by the caller) and its files under dir/storage/files/; f.DB is left
// for the caller to set.
func (f *Fixture) WriteMySQL(db *sql.DB, dir string) error {
	return f.write(db, mysqlSchema, dir)
}

func (f *Fixture) write(db *sql.DB, schema []string, dir string) error {
	f.FilesDir = filepath.Join(dir, "storage")
	files := filepath.Join(f.FilesDir, "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	for _, q := range append(schema, `INSERT INTO alembic_version VALUES ('e8d2a7570f70')`) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("pyfixture: %w", err)
		}
	}
	for _, u := range f.Users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		// Go writes $2a$; the bytes after the prefix are the same algorithm.
		h2b := "$2b$" + strings.TrimPrefix(string(h), "$2a$")
		if _, err := db.ExecContext(ctx, `INSERT INTO users VALUES (?, ?, ?, ?)`, u.Name, h2b, u.RegisterDate, u.Perms); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO server_settings VALUES (1, ?)`, f.AnonPerms); err != nil {
		return err
	}
	for _, s := range f.Shares {
		id := uuid.MustParse(s.ID)
		var own any
		if s.Owner != nil {
			own = *s.Owner
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO shares VALUES (?, ?, ?, ?, ?, ?)`,
			id[:], own, s.Initialized, s.Locked, s.CreateDate, s.FileName); err != nil {
			return err
		}
		path := filepath.Join(files, s.ID)
		var err error
		switch {
		case s.Content != nil:
			err = os.WriteFile(path, s.Content, 0o644)
		case s.Placeholder:
			err = os.WriteFile(path, nil, 0o644)
		}
		if err != nil {
			return err
		}
	}
	// An unfinished upload to the never-uploaded share, with its chunk
	// file beside the content, and a revoked token: neither comes across.
	pending := uuid.MustParse(f.Shares[3].ID)
	for _, q := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO uploads VALUES ('dz-unfinished', ?, '2024-02-29 08:00:01.000000', 3, 1, 0)`, []any{pending[:]}},
		{`INSERT INTO chunks VALUES (1, '2024-02-29 08:00:01.500000', 0, 'dz-unfinished', 'chunk-0-dz-unfinished')`, nil},
		{`INSERT INTO blacklist_tokens VALUES (1, 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl', '2024-03-07 08:00:00.000000')`, nil},
	} {
		if _, err := db.ExecContext(ctx, q.q, q.args...); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(files, "chunk-0-dz-unfinished"), []byte("partial chunk bytes"), 0o644)
}
