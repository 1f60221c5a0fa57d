package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmokeConns runs the slow-connections scenario (-conns) at a small
// count: every download opens and none is cut. No timing is asserted.
func TestSmokeConns(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	sum, err := run(ctx, []string{"-bin", bin, "-dir", dir, "-dbs", "sqlite", "-bcrypt-cost", "4",
		"-conns", "20", "-conns-size", "2MiB", "-conns-hold", "1s", "-meta-conc", "4"}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("conns smoke run: %v\nlog:\n%s", err, stderr.String())
	}
	if sum.failures != 0 || sum.requests == 0 {
		t.Fatalf("%d of %d requests failed: %q", sum.failures, sum.requests, sum.failSamples)
	}
	// 20 of 20 open, no 503, none never started, none cut.
	if !strings.Contains(stdout.String(), "| SQLite | 20 of 20 | 0 · 0 | 0 |") {
		t.Errorf("not every slow download opened and lasted:\n%s", stdout.String())
	}
}
