package cli

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"io"
	"testing"
)

// TestLoopbackDefaults: push's stream count and per-chunk sums default by
// where the server is.
func TestLoopbackDefaults(t *testing.T) {
	for server, want := range map[string]bool{
		"http://127.0.0.1:5000":      true,
		"http://127.8.9.1":           true,
		"http://localhost:5000/":     true,
		"http://[::1]:5000":          true,
		"https://files.example.org":  false,
		"http://192.168.1.10:5000":   false,
		"http://localhost.evil.test": false,
		"::not a url":                false,
	} {
		if got := isLoopback(server); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", server, got, want)
		}
	}
}

func TestOptBool(t *testing.T) {
	for _, c := range []struct {
		args   []string
		set, v bool
	}{
		{nil, false, false},
		{[]string{"--chunk-sha256"}, true, true},
		{[]string{"--chunk-sha256=false"}, true, false},
		{[]string{"--chunk-sha256=true"}, true, true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var b optBool
		fs.Var(&b, "chunk-sha256", "")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		if b.set != c.set || b.v != c.v {
			t.Errorf("%q: set=%v v=%v, want %v %v", c.args, b.set, b.v, c.set, c.v)
		}
	}
}

// TestAsyncHash: the sum of what was written, in order, whatever the
// sizes of the writes (larger and smaller than its buffers).
func TestAsyncHash(t *testing.T) {
	data := make([]byte, 5*hashBuf+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := sha256.Sum256(data)
	a := newAsyncHash(sha256.New())
	for rest, k := data, 1; len(rest) > 0; k = k*3 + 1 {
		n := min(k, len(rest))
		if _, err := a.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if got := a.finish(); !bytes.Equal(got, want[:]) {
		t.Errorf("sum %x, want %x", got, want)
	}
	if got := a.finish(); !bytes.Equal(got, want[:]) {
		t.Errorf("second finish: %x", got)
	}
}
