package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestLogWriter: every line written from many goroutines comes out whole
// and once, each goroutine's in its order, by the time Close returns.
func TestLogWriter(t *testing.T) {
	var out bytes.Buffer
	lw := newLogWriter(&out)
	var wg sync.WaitGroup
	const g, n = 8, 2000
	for i := range g {
		wg.Go(func() {
			for j := range n {
				fmt.Fprintf(lw, "g%d line %d %s\n", i, j, strings.Repeat("x", j%300))
			}
		})
	}
	wg.Wait()
	lw.Close()
	next := make([]int, g)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		var i, j int
		if _, err := fmt.Sscanf(l, "g%d line %d", &i, &j); err != nil || j != next[i] {
			t.Fatalf("line %q: want g%d line %d", l, i, next[i])
		}
		next[i]++
	}
	if len(lines) != g*n {
		t.Errorf("%d lines, want %d", len(lines), g*n)
	}
	fmt.Fprintln(lw, "after close")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line after Close was not written")
	}
}
