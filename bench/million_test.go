package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildSachet builds ./cmd/sachet into dir.
func buildSachet(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build sachet")
	}
	bin := filepath.Join(dir, "sachet")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/sachet")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sachet: %v\n%s", err, out)
	}
	return bin
}

func TestSeedID(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		id := seedID(i)
		if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) || strings.ToLower(id) != id {
			t.Fatalf("seedID(%d) = %q: not a lowercase version-4 UUID", i, id)
		}
		if seen[id] {
			t.Fatalf("seedID(%d) = %q repeats", i, id)
		}
		seen[id] = true
	}
	if a, b := seedID(7), seedID(7); a != b {
		t.Fatalf("seedID is not deterministic: %q, %q", a, b)
	}
	if !(seedID(9) < seedID(10) && seedID(255) < seedID(256)) {
		t.Fatal("seeded ids do not ascend with their number")
	}
}

func TestFmtCount(t *testing.T) {
	for n, want := range map[int]string{1_000_000: "10^6", 10_000: "10^4", 100: "100", 2000: "2000", 10: "10"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}
