package importer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/sachet-server/sachet/db"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/importer/pyfixture"
	"github.com/sachet-server/sachet/storage"
)

func TestParseSourceSpec(t *testing.T) {
	for _, c := range []struct{ spec, kind, target string }{
		{"/srv/sachet/instance/sachet.db", "sqlite", "/srv/sachet/instance/sachet.db"},
		{"sachet.db", "sqlite", "sachet.db"},
		{"sqlite:/x/sachet.db", "sqlite", "/x/sachet.db"},
		{"sqlite:///instance/sachet.db", "sqlite", "instance/sachet.db"},
		{"sqlite:////abs/sachet.db", "sqlite", "/abs/sachet.db"},
		{"mysql:u:p@tcp(db:3306)/sachet", "mysql", "u:p@tcp(db:3306)/sachet"},
		{"mysql://u:p@db/sachet", "mysql", "u:p@tcp(db:3306)/sachet"},
		{"mysql+pymysql://u:p%40ss@db:3307/sachet?charset=utf8mb4", "mysql", "u:p@ss@tcp(db:3307)/sachet"},
		{"mariadb+mariadbconnector://u@127.0.0.1/s", "mysql", "u@tcp(127.0.0.1:3306)/s"},
	} {
		kind, target, err := parseSourceSpec(c.spec)
		if err != nil || kind != c.kind || target != c.target {
			t.Errorf("%q: got %q %q %v, want %q %q", c.spec, kind, target, err, c.kind, c.target)
		}
	}
	for _, bad := range []string{"", "postgresql://u:secret@db/sachet"} {
		_, _, err := parseSourceSpec(bad)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: err = %v, want an error that hides the password", bad, err)
		}
	}
}

func TestParseNaive(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2023-05-08 18:57:27.982479", time.Date(2023, 5, 8, 16, 57, 27, 982479000, time.UTC)}, // summer: +02:00
		{"2023-12-08 18:57:27", time.Date(2023, 12, 8, 17, 57, 27, 0, time.UTC)},               // winter: +01:00
		{"2023-12-08T18:57:27.5", time.Date(2023, 12, 8, 17, 57, 27, 500000000, time.UTC)},
		{"2023-12-08 18:57:27.1234567", time.Date(2023, 12, 8, 17, 57, 27, 123456000, time.UTC)}, // to microseconds
	} {
		got, err := parseNaive(c.in, paris)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("%q: got %v %v, want %v", c.in, got, err, c.want)
		}
	}
	if _, err := parseNaive("yesterday", paris); err == nil {
		t.Error("a non-date parsed")
	}
}

func TestCleanFileName(t *testing.T) {
	id := "0b6e2b5e-6a8e-4c1f-9d3e-111111111111"
	for _, c := range []struct{ in, want string }{
		{"notes.txt", "notes.txt"},
		{"résumé — final.odt", "résumé — final.odt"},
		{"dir/sub\\file\x01.txt", "dir_sub_file_.txt"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"", id},
		{strings.Repeat("é", 200), strings.Repeat("é", 127)}, // 254 bytes: a rune is never cut
	} {
		got := cleanFileName(c.in, id)
		if got != c.want || domain.ValidateFileName(got) != nil {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestShareID(t *testing.T) {
	u := uuid.MustParse("0B6E2B5E-6A8E-4C1F-9D3E-111111111111")
	want := "0b6e2b5e-6a8e-4c1f-9d3e-111111111111"
	for _, raw := range [][]byte{u[:], []byte(want), []byte(strings.ToUpper(want)), []byte(strings.ReplaceAll(want, "-", ""))} {
		if got, err := shareID(raw); err != nil || got != want {
			t.Errorf("%x: got %q %v", raw, got, err)
		}
	}
	if _, err := shareID([]byte("not a uuid")); err == nil {
		t.Error("a non-UUID passed")
	}
}

// target is this server's side of an import: a migrated SQLite store and
// a blob directory.
type target struct {
	store *db.Store
	fs    *storage.FS
	dir   string
}

func newTarget(t *testing.T) *target {
	t.Helper()
	dir := t.TempDir()
	s, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir, "sachet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := storage.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &target{store: s, fs: f, dir: dir}
}

// files lists the files under the blob directory.
func (tg *target) files(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(tg.dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	return out
}

func (tg *target) run(t *testing.T, src *Source, files fs.FS, dry bool) (*Report, string) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Run(context.Background(), src, tg.store, StoreBlobs{Store: tg.fs.Store()}, Options{
		Files: files, FilesName: "files", Location: time.UTC, DryRun: dry, Out: &out,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return rep, out.String()
}

// Files that lie: one whose size shrinks while it is read (the stat says
// more than can be read), one whose disk fails half way.
type faultyFS struct {
	fs.FS
	short, broken string
}

func (f faultyFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	switch {
	case err != nil:
		return nil, err
	case name == f.short:
		return shortFile{file}, nil
	case name == f.broken:
		return &brokenFile{File: file}, nil
	}
	return file, nil
}

type shortFile struct{ fs.File }

func (f shortFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return bigger{fi}, err
}

type bigger struct{ fs.FileInfo }

func (b bigger) Size() int64 { return b.FileInfo.Size() + 1000 }

type brokenFile struct {
	fs.File
	n int
}

func (f *brokenFile) Read(p []byte) (int, error) {
	if f.n > 0 {
		return 0, &fs.PathError{Op: "read", Path: "x", Err: syscall.EIO}
	}
	f.n++
	return f.File.Read(p[:min(len(p), 100)])
}

// TestImportProblems: everything that cannot come across is reported, the
// rest comes across, and the run never stops half way.
func TestImportProblems(t *testing.T) {
	ctx := context.Background()
	fx := pyfixture.New()
	if err := fx.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// More old data that cannot come across as it is.
	raw, err := sql.Open("sqlite", fx.DB)
	if err != nil {
		t.Fatal(err)
	}
	frankHash, err := bcrypt.GenerateFromPassword([]byte("frank-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	badShare := uuid.MustParse("90000000-0000-4000-8000-000000000001")
	nameShare := uuid.MustParse("90000000-0000-4000-8000-000000000002")
	for _, q := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO users VALUES ('bad name', '$2b$04$x', '2023-01-01 00:00:00', 1)`, nil},
		{`INSERT INTO users VALUES ('eve', 'not-a-bcrypt-hash', '2023-01-01 00:00:00', 64)`, nil},
		{`INSERT INTO users VALUES ('frank', ?, '2023-01-01 00:00:00', 127 + 256)`, []any{string(frankHash)}},
		{`INSERT INTO shares VALUES (?, 'bad name', 0, 0, '2023-01-02 00:00:00', 'x.txt')`, []any{badShare[:]}},
		{`INSERT INTO shares VALUES (?, 'eve', 0, 0, '2023-01-02 00:00:00', ?)`, []any{nameShare[:], "a/b\x01.txt"}},
	} {
		if _, err := raw.Exec(q.q, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	tg := newTarget(t)
	// Here already, with other data: alice (another password), the
	// anonymous share's id (another name), and the anonymous permissions.
	if err := tg.store.CreateUser(ctx, &domain.User{Username: "alice", PasswordHash: "$2a$04$other"}); err != nil {
		t.Fatal(err)
	}
	anon := fx.Shares[2]
	if err := tg.store.CreateShare(ctx, &domain.Share{ID: anon.ID, FileName: "something else"}); err != nil {
		t.Fatal(err)
	}
	if err := tg.store.SetDefaultPerms(ctx, domain.PermList); err != nil {
		t.Fatal(err)
	}

	src, err := OpenSource(ctx, fx.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// The source is only read: the connection cannot write, and no byte
	// or modification time under it changes (checked at the end).
	if _, err := src.db.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Error("the source connection can write")
	}
	sourceBefore := treeState(t, filepath.Dir(fx.DB))
	defer func() {
		if after := treeState(t, filepath.Dir(fx.DB)); after != sourceBefore {
			t.Errorf("the source changed:\nbefore %s\nafter  %s", sourceBefore, after)
		}
	}()
	files, _, err := OpenFiles(fx.FilesDir)
	if err != nil {
		t.Fatal(err)
	}
	photo, resume := fx.Shares[1], fx.Shares[7]
	files = faultyFS{FS: files, short: photo.ID, broken: resume.ID}

	wantProblems := []string{
		`user "bad name": not imported: username may only contain`,
		`user "alice": not imported: a user of that name exists here with another password, permissions (here [], old [CREATE MODIFY LIST READ]), registration date`,
		`user "eve": the password hash is not a bcrypt hash`,
		`user "frank": permission bits 0x100 are unknown and were dropped`,
		`anonymous permissions: not imported: they are [LIST] here and [CREATE READ] on the old server`,
		`share ` + fx.Shares[0].ID + `: not imported: its owner "alice" was not imported`,
		`share ` + photo.ID + `: imported uninitialized (no content): content file files/` + photo.ID + ` is truncated or changed while being read (3158073 bytes read, 3159073 expected)`,
		`share ` + anon.ID + `: not imported: a share with this id exists here with another file name (here "something else", old "anonymous upload.bin"), creation date`,
		`share ` + fx.Shares[3].ID + `: not imported: its owner "alice" was not imported`,
		`share ` + fx.Shares[4].ID + `: imported uninitialized (no content): content file files/` + fx.Shares[4].ID + ` is missing`,
		`share ` + resume.ID + `: imported uninitialized (no content): content file files/` + resume.ID + ` could not be read to the end: input/output error`,
		`share ` + badShare.String() + `: not imported: its owner "bad name" was not imported`,
		`share ` + nameShare.String() + `: file name "a/b\x01.txt" is not allowed here`,
	}
	check := func(rep *Report, out string, dry bool) {
		t.Helper()
		want := len(wantProblems)
		if dry {
			want -= 2 // the truncated and the broken file: a dry run reads no content
		}
		if len(rep.Problems) != want {
			t.Errorf("dry=%v: %d problems, want %d:\n%s", dry, len(rep.Problems), want, strings.Join(rep.Problems, "\n"))
		}
		for _, w := range wantProblems {
			if dry {
				w = strings.Replace(w, ": imported uninitialized", ": would be imported uninitialized", 1)
				if strings.Contains(w, "truncated") || strings.Contains(w, "read to the end") {
					continue // a dry run does not read content
				}
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p, w)
			}
			if !found {
				t.Errorf("dry=%v: no problem like %q in:\n%s", dry, w, out)
			}
		}
	}

	filesBefore := tg.files(t)
	rep, out := tg.run(t, src, files, true)
	if got := tg.files(t); len(got) != len(filesBefore) {
		t.Errorf("dry run wrote files: %v", got)
	}
	if _, err := tg.store.UserByName(ctx, "bob"); !domain.IsKind(err, domain.NotFound) {
		t.Errorf("dry run imported bob: %v", err)
	}
	if p, _ := tg.store.DefaultPerms(ctx); p != domain.PermList {
		t.Errorf("dry run changed the anonymous permissions to %v", p)
	}
	// bob, carol, dave, eve, frank; 8+2 shares less alice's 2, the clash
	// and the one of "bad name"; 2 of which have a content problem only in a real run.
	if rep.UsersImported != 5 || rep.UsersRefused != 2 || rep.SharesImported != 6 || rep.SharesRefused != 4 {
		t.Errorf("dry run report %+v", rep)
	}
	check(rep, out, true)

	rep, out = tg.run(t, src, files, false)
	check(rep, out, false)
	if rep.UsersImported != 5 || rep.UsersRefused != 2 || rep.SharesImported != 6 || rep.SharesUninitialized != 5 || rep.SharesRefused != 4 {
		t.Errorf("report %+v\n%s", rep, out)
	}
	// The truncated and the broken file left no blob behind: only the
	// two good contents (empty.txt, and nothing else) are there.
	blobs := 0
	for _, f := range tg.files(t) {
		if strings.Contains(f, string(filepath.Separator)+"blobs"+string(filepath.Separator)+"blobs"+string(filepath.Separator)) {
			blobs++
		}
	}
	if blobs != 1 {
		t.Errorf("%d blobs, want 1 (empty.txt): %v", blobs, tg.files(t))
	}
	// What was refused is untouched.
	if u, err := tg.store.UserByName(ctx, "alice"); err != nil || u.PasswordHash != "$2a$04$other" {
		t.Errorf("alice here = %+v, %v", u, err)
	}
	if sh, err := tg.store.ShareByID(ctx, anon.ID); err != nil || sh.FileName != "something else" {
		t.Errorf("the clashing share = %+v, %v", sh, err)
	}
	if sh, err := tg.store.ShareByID(ctx, nameShare.String()); err != nil || sh.FileName != "a_b_.txt" || *sh.Owner != "eve" {
		t.Errorf("the renamed share = %+v, %v", sh, err)
	}
	if u, err := tg.store.UserByName(ctx, "frank"); err != nil || u.Perms != domain.PermAll {
		t.Errorf("frank = %+v, %v", u, err)
	}

	// Once the files read well, a rerun adds their content and says the
	// same refusals again, nothing more.
	good, _, _ := OpenFiles(fx.FilesDir)
	rep, out = tg.run(t, src, good, false)
	if rep.SharesFilled != 2 || rep.SharesImported != 0 || rep.UsersImported != 0 || len(rep.Problems) != len(wantProblems)-2 {
		t.Errorf("rerun %+v\n%s", rep, out)
	}
	sh, err := tg.store.ShareByID(ctx, photo.ID)
	if err != nil || !sh.Initialized || *sh.Size != int64(len(photo.Content)) {
		t.Errorf("photo after the rerun: %+v %v", sh, err)
	}
}

// treeState lists every file under dir with its size, mode, modification
// time and SHA-256.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(data)
			sum = hex.EncodeToString(h[:8])
		}
		fmt.Fprintf(&b, "%s %d %v %d %s\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestImportFromMySQL reads the old server's MySQL database: BINARY(16)
// ids, DATETIME in whole seconds, TINYINT booleans.
func TestImportFromMySQL(t *testing.T) {
	base := os.Getenv("SACHET_TEST_MYSQL")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/"
	}
	admin, err := sql.Open("mysql", base)
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MariaDB is required in CI: %v", err)
		}
		t.Skipf("!!! SKIPPING: no MariaDB at %s: %v !!!", base, err)
	}
	defer admin.Close()
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "sachet_py_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec("DROP DATABASE " + name)
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	pydb, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pydb.Close()
	fx := pyfixture.New()
	if err := fx.WriteMySQL(pydb, t.TempDir()); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	src, err := OpenSource(ctx, "mysql:"+cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	files, _, err := OpenFiles(fx.FilesDir)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t)
	rep, out := tg.run(t, src, files, false)
	if rep.UsersImported != 4 || rep.SharesImported != 8 || rep.SharesUninitialized != 3 || len(rep.Problems) != 1 {
		t.Fatalf("report %+v\n%s", rep, out)
	}
	// DATETIME without a fraction kept whole seconds (MySQL rounds,
	// MariaDB truncates: carol's has no fraction to lose).
	carol, err := tg.store.UserByName(ctx, "carol.d-e_f")
	if err != nil || !carol.RegisterDate.Equal(time.Date(2024, 1, 15, 23, 59, 59, 0, time.UTC)) || carol.Perms != domain.PermAll {
		t.Errorf("carol = %+v, %v", carol, err)
	}
	sh, err := tg.store.ShareByID(ctx, fx.Shares[1].ID)
	if err != nil || !sh.Locked || !sh.Initialized || *sh.Size != int64(len(fx.Shares[1].Content)) || *sh.Owner != "bob" {
		t.Errorf("photo = %+v, %v", sh, err)
	}
	if sh, err := tg.store.ShareByID(ctx, fx.Shares[2].ID); err != nil || sh.Owner != nil {
		t.Errorf("anonymous share = %+v, %v", sh, err)
	}
	// Idempotent from MySQL too.
	rep, out = tg.run(t, src, files, false)
	if rep.UsersPresent != 4 || rep.SharesPresent != 8 || len(rep.Problems) != 1 {
		t.Errorf("rerun %+v\n%s", rep, out)
	}
}

// TestImportProgress: progress lines come at most every ProgressEvery,
// also in the middle of a large file, and once at the end.
func TestImportProgress(t *testing.T) {
	fx := pyfixture.New()
	if err := fx.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	src, err := OpenSource(context.Background(), fx.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	files, _, err := OpenFiles(fx.FilesDir)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t)
	// A clock that moves a second each time it is read.
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	var out, prog bytes.Buffer
	_, err = Run(context.Background(), src, tg.store, StoreBlobs{Store: tg.fs.Store()}, Options{
		Files: files, FilesName: "files", Location: time.UTC, Out: &out, Progress: &prog,
		Now: clock, ProgressEvery: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(prog.String()), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "import: shares 8/8, 3.1 MiB copied" {
		t.Fatalf("progress:\n%s", prog.String())
	}
	mid := false
	for _, l := range lines {
		mid = mid || strings.Contains(l, "of the current file")
	}
	if !mid {
		t.Errorf("no progress line in the middle of the 3 MiB file:\n%s", prog.String())
	}
}
