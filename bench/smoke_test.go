package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sachet-server/sachet/internal/s3test"
)

// TestSmoke builds sachet and runs the whole suite in smoke mode (tiny
// files, one run, SQLite, no nginx). It asserts only that the run completes
// and that every request succeeded: never a timing.
func TestSmoke(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build sachet")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sachet")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/sachet")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sachet: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	sum, err := run(ctx, []string{"-smoke", "-bin", bin, "-dir", dir, "-out", filepath.Join(dir, "README.md")}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("smoke run: %v\nlog:\n%s", err, stderr.String())
	}
	if sum.failures != 0 || sum.requests == 0 {
		t.Fatalf("%d of %d requests failed: %q", sum.failures, sum.requests, sum.failSamples)
	}
	want := []string{"upload", "download", "range", "metadata", "list", "login", "link download", "link metadata", "memory", "CLI push", "CLI pull"}
	// The S3 section runs when versitygw is installed (make test installs
	// it and requires it; elsewhere the run notes that it skipped it).
	if s3test.Binary() != "" || s3test.Required() {
		want = append(want, "S3 download", "S3 upload", "S3 memory flatness", "S3 metadata", "S3 list")
	}
	for _, w := range want {
		found := false
		for _, r := range sum.rows {
			if strings.HasPrefix(r.name, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q row in the results", w)
		}
	}
}

// TestSmokeMillion runs the million scenario (issue 14 item 2) at a tiny
// size: 2 000 shares against 200, on SQLite and, when it answers, MariaDB.
// It asserts only that seeding and every request succeeded.
func TestSmokeMillion(t *testing.T) {
	dir := t.TempDir()
	bin := buildSachet(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	sum, err := run(ctx, []string{"-smoke", "-scenarios", "million", "-dbs", "sqlite,mysql", "-bin", bin, "-dir", dir}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("smoke run: %v\nlog:\n%s", err, stderr.String())
	}
	if sum.failures != 0 || sum.requests == 0 {
		t.Fatalf("%d of %d requests failed: %q", sum.failures, sum.requests, sum.failSamples)
	}
	if n := len(sum.rows); n != 5 && n != 10 { // seed + 4 request kinds per database
		t.Errorf("%d rows, want 5 per database", n)
	}
}
