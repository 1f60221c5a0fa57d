package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmokePeers runs the peers section in smoke mode (4 MiB, one run).
// The peers run when scripts/install-peers has put them in bin/peers;
// otherwise only the sachet side runs and the table says they were
// skipped. It asserts only that every request succeeded (with -verify's
// hash check of what each server serves back): never a timing.
func TestSmokePeers(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build sachet")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sachet")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/sachet")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sachet: %v\n%s", err, out)
	}
	peerDir, err := filepath.Abs("../bin/peers")
	if err != nil {
		t.Fatal(err)
	}
	installed := map[string]bool{}
	for _, n := range []string{"tusd", "filebrowser"} {
		if _, err := os.Stat(filepath.Join(peerDir, n)); err == nil {
			installed[n] = true
		} else {
			t.Logf("%s not installed in %s: only the other servers run (scripts/install-peers installs it)", n, peerDir)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "PEERS.md")
	sum, err := run(ctx, []string{"-smoke", "-bin", bin, "-dir", dir, "-scenarios=", "-peers", "-peer-dir", peerDir, "-out", out}, &stdout, &stderr)
	t.Logf("stdout:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("smoke run: %v\nlog:\n%s", err, stderr.String())
	}
	if sum.failures != 0 || sum.requests == 0 {
		t.Fatalf("%d of %d requests failed: %q", sum.failures, sum.requests, sum.failSamples)
	}
	var peerRows int
	for _, r := range sum.rows {
		if r.db == "peers" {
			peerRows++
		}
	}
	if peerRows != 3 {
		t.Errorf("%d peers rows, want 3 (upload, download, parallel download)", peerRows)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for n := range installed {
		if strings.Contains(string(md), "| "+n+" | ") && strings.Contains(string(md), "**skipped") && strings.Contains(string(md), n+" skipped") {
			t.Errorf("%s is installed but was skipped:\n%s", n, md)
		}
	}
	if !strings.Contains(string(md), "## Peers side by side") {
		t.Errorf("no peers section in the README:\n%s", md)
	}
}
