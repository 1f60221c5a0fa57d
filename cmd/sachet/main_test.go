package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/bcrypt"

	"github.com/sachet-server/sachet/app"
)

// cliEnv is a data dir and database for the commands, per dialect.
func cliEnv(t *testing.T, dialect string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"SACHET_DATA_DIR":    dir,
		"SACHET_BCRYPT_COST": "4",
		"SACHET_DATABASE":    "sqlite:" + filepath.Join(dir, "sachet.db"),
	}
	if dialect == "mysql" {
		env["SACHET_DATABASE"] = "mysql:" + cliMySQL(t)
	}
	return func(k string) string { return env[k] }
}

// cliMySQL creates a database for one test on the test MariaDB and drops
// it afterwards; without one it skips loudly, except in CI.
func cliMySQL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("SACHET_TEST_MYSQL")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/"
	}
	conn, err := sql.Open("mysql", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = conn.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MariaDB is required in CI: %v", err)
		}
		t.Skipf("!!! SKIPPING MySQL TESTS: no MariaDB at %s (%v) !!!", base, err)
	}
	var raw [6]byte
	rand.Read(raw[:])
	name := "sachet_t_" + hex.EncodeToString(raw[:])
	if _, err := conn.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec("DROP DATABASE IF EXISTS " + name)
		conn.Close()
	})
	return base + name
}

// sachet runs the command line with stdin and returns its output.
func sachet(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &out)
	return out.String(), err
}

// passwordIs checks name's stored hash against pw.
func passwordIs(t *testing.T, getenv func(string) string, name, pw string) bool {
	t.Helper()
	a, err := app.Open(context.Background(), cliConfig(getenv), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	u, err := a.Store.UserByName(context.Background(), name)
	if err != nil {
		t.Fatalf("user %q: %v", name, err)
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

func cliConfig(getenv func(string) string) app.Config {
	cfg := app.Defaults()
	cfg.DataDir, cfg.Database = getenv("SACHET_DATA_DIR"), getenv("SACHET_DATABASE")
	cfg.BcryptCost = 4
	return cfg
}

func TestUserCreatePasswordFile(t *testing.T) {
	for _, d := range []string{"sqlite", "mysql"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			env := cliEnv(t, d)
			file := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(file, []byte(" from a file \n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name, stdin string
				args        []string
				wantErr     string
				wantPW      string
			}{
				{"ann", "", []string{"--password-file", file}, "", " from a file "},
				{"bob", "from stdin\r\n", []string{"--password-file", "-"}, "", "from stdin"},
				{"cat", "", []string{"--password-file", "-"}, "the password is empty", ""},
				{"dan", "", []string{"--password-file", file, "--password", "x"}, "not both", ""},
				{"eve", "", []string{"--password-file", filepath.Join(t.TempDir(), "missing")}, "no such file", ""},
				{"fay", strings.Repeat("x", 5000), []string{"--password-file", "-"}, "longer than", ""},
			}
			for _, c := range cases {
				out, err := sachet(t, env, c.stdin, append([]string{"user", "create", "--username", c.name}, c.args...)...)
				if c.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Errorf("%s: err %v, want %q (output %q)", c.name, err, c.wantErr, out)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, out)
				}
				if !passwordIs(t, env, c.name, c.wantPW) {
					t.Errorf("%s: stored password is not %q", c.name, c.wantPW)
				}
			}
		})
	}
}

func TestUserDeleteFlagsAfterName(t *testing.T) {
	for _, d := range []string{"sqlite", "mysql"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			env := cliEnv(t, d)
			for _, n := range []string{"ann", "bob", "cat"} {
				if out, err := sachet(t, env, "", "user", "create", "--username", n, "--password", "pw"); err != nil {
					t.Fatalf("create %s: %v\n%s", n, err, out)
				}
			}
			// No stdin: a prompt would read EOF and refuse.
			cases := []struct {
				args    []string
				wantErr string
			}{
				{[]string{"ann", "--yes"}, ""},
				{[]string{"--yes", "bob"}, ""},
				{[]string{"cat", "--yes", "extra"}, "exactly one user name"},
				{[]string{"cat"}, "not deleted"},
				{[]string{"--yes", "--", "-cat"}, "not found"},
			}
			for _, c := range cases {
				out, err := sachet(t, env, "", append([]string{"user", "delete"}, c.args...)...)
				switch {
				case c.wantErr == "" && err != nil:
					t.Errorf("%v: %v\n%s", c.args, err, out)
				case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
					t.Errorf("%v: err %v, want %q\n%s", c.args, err, c.wantErr, out)
				}
			}
			if out, err := sachet(t, env, "", "user", "delete", "ann", "--yes"); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("ann still there: %v %s", err, out)
			}
		})
	}
}
