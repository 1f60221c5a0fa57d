package cli

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
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

// TestPullSink: what ReadFrom writes to the file is what was read, in
// order, and hashed, whatever the sizes of the reads; a read error
// mid-way returns the bytes written so far (where a retry resumes) and
// that error; a file that fails stops it with the file's error.
func TestPullSink(t *testing.T) {
	data := make([]byte, 5*sinkBuf+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	sink := func(t *testing.T) (*pullSink, *os.File) {
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return &pullSink{f: f, h: sha256.New(), m: nopMeter{}}, f
	}
	t.Run("all", func(t *testing.T) {
		s, f := sink(t)
		n, err := s.ReadFrom(&oddReader{data: data})
		if err != nil || n != int64(len(data)) {
			t.Fatalf("n=%d err=%v", n, err)
		}
		want := sha256.Sum256(data)
		if got := s.h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("sum %x, want %x", got, want)
		}
		if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data) {
			t.Error("the file differs from what was read")
		}
	})
	t.Run("read error", func(t *testing.T) {
		s, f := sink(t)
		broken := errors.New("connection reset")
		cut := 3*sinkBuf + 77
		n, err := s.ReadFrom(&oddReader{data: data[:cut], err: broken})
		if !errors.Is(err, broken) || n != int64(cut) {
			t.Fatalf("n=%d err=%v, want %d and the read error", n, err, cut)
		}
		want := sha256.Sum256(data[:cut])
		if got := s.h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("sum %x, want %x", got, want)
		}
		if got, _ := os.ReadFile(f.Name()); !bytes.Equal(got, data[:cut]) {
			t.Error("the file differs from what was read")
		}
	})
	t.Run("write error", func(t *testing.T) {
		s, f := sink(t)
		f.Close() // every write fails
		_, err := s.ReadFrom(&oddReader{data: data})
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("err=%v, want the file's", err)
		}
	})
}

// oddReader returns data in reads of varying sizes, then err (io.EOF
// when nil).
type oddReader struct {
	data []byte
	k    int
	err  error
}

func (r *oddReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	r.k = r.k*3 + 1
	n := copy(p[:min(len(p), r.k%(3*sinkBuf/2)+1)], r.data)
	r.data = r.data[n:]
	return n, nil
}
