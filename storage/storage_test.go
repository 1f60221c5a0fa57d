package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

func newFS(t testing.TB) *FS {
	t.Helper()
	f, err := Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// names lists the files in dir.
func names(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func assertEmpty(t testing.TB, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if n := names(t, d); len(n) != 0 {
			t.Errorf("%s not empty: %v", filepath.Base(d), n)
		}
	}
}

func writeChunk(t testing.TB, f *FS, data []byte) string {
	t.Helper()
	id, n, err := f.WriteChunk(context.Background(), bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(data)) {
		t.Fatalf("size %d, want %d", n, len(data))
	}
	return id
}

// trickle returns at most n bytes per Read, like a slow network body.
type trickle struct {
	r io.Reader
	n int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(p) > t.n {
		p = p[:t.n]
	}
	return t.r.Read(p)
}

// counting counts the bytes it hands out.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// infinite yields bytes forever.
type infinite struct{}

func (infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestOpen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{root, f.tmp, f.chunks, f.blobs} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a 0700 directory", d, fi.Mode())
		}
	}
	id := writeChunk(t, f, []byte("kept"))
	if _, err := Open(root); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(f.chunks, id)); err != nil || string(b) != "kept" {
		t.Fatalf("reopen lost a chunk: %q, %v", b, err)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file); err == nil {
		t.Error("Open on a regular file succeeded")
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "blobs"), nil, 0o600)
	if _, err := Open(bad); err == nil {
		t.Error("Open with blobs/ a regular file succeeded")
	}
}

func TestWriteChunkRoundTrip(t *testing.T) {
	f := newFS(t)
	for _, tc := range []struct {
		name string
		size int
		per  int // bytes per Read; 0: all at once
	}{
		{"empty", 0, 0},
		{"one byte", 1, 0},
		{"1230 bytes", 1230, 0},
		{"1230 bytes trickled", 1230, 7},
		{"buffer size", bufSize, 0},
		{"buffer size+1", bufSize + 1, 0},
		{"several MiB", 5<<20 + 3, 0},
		{"several MiB in network-sized reads", 3<<20 + 1, 1448},
		{"past writeback threshold", writebackEvery*2 + 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randBytes(uint64(tc.size), tc.size)
			var r io.Reader = bytes.NewReader(data)
			if tc.per > 0 {
				r = &trickle{r, tc.per}
			}
			id, n, err := f.WriteChunk(context.Background(), r, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !validID(id) {
				t.Errorf("id %q", id)
			}
			if n != int64(tc.size) {
				t.Errorf("size %d, want %d", n, tc.size)
			}
			got, err := os.ReadFile(filepath.Join(f.chunks, id))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("content differs (%d bytes, want %d)", len(got), len(data))
			}
			fi, _ := os.Stat(filepath.Join(f.chunks, id))
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			assertEmpty(t, f.tmp, f.blobs)
		})
	}
}

func TestWriteChunkLimit(t *testing.T) {
	f := newFS(t)
	for _, tc := range []struct {
		name    string
		size    int
		max     int64
		tooLarg bool
	}{
		{"empty, max 1", 0, 1, false},
		{"exactly max", 10, 10, false},
		{"max+1", 11, 10, true},
		{"far over", 5 << 20, 10, true},
		{"max 1, two bytes", 2, 1, true},
		{"exactly buffer-sized max", bufSize, bufSize, false},
		{"buffer-sized max+1", bufSize + 1, bufSize, true},
		{"max 0 is unlimited", 3 << 20, 0, false},
		{"negative max is unlimited", 1234, -1, false},
		{"max MaxInt64", 1234, math.MaxInt64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randBytes(7, tc.size)
			c := &counting{r: bytes.NewReader(data)}
			id, n, err := f.WriteChunk(context.Background(), c, tc.max)
			if tc.tooLarg {
				if !domain.IsKind(err, domain.TooLarge) {
					t.Fatalf("err %v, want TooLarge", err)
				}
				if want := fmt.Sprintf("chunk exceeds the %d-byte chunk size limit", tc.max); domain.Message(err) != want {
					t.Errorf("message %q, want %q", domain.Message(err), want)
				}
				if c.n > tc.max+1 {
					t.Errorf("read %d bytes, want at most max+1 = %d", c.n, tc.max+1)
				}
				if id != "" || n != 0 {
					t.Errorf("returned %q, %d with an error", id, n)
				}
				assertEmpty(t, f.tmp, f.chunks)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(tc.size) {
				t.Errorf("size %d", n)
			}
			if err := f.Remove(id); err != nil {
				t.Fatal(err)
			}
		})
	}

	// An endless body is cut off after max+1 bytes.
	c := &counting{r: infinite{}}
	_, _, err := f.WriteChunk(context.Background(), c, 3<<20)
	if !domain.IsKind(err, domain.TooLarge) || c.n != 3<<20+1 {
		t.Errorf("endless reader: %v after %d bytes", err, c.n)
	}
	assertEmpty(t, f.tmp, f.chunks)
}

// failing yields n bytes of data and then err.
type failing struct {
	n   int
	err error
}

func (r *failing) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	m := min(len(p), r.n, 4096)
	r.n -= m
	return m, nil
}

func TestWriteChunkReaderError(t *testing.T) {
	f := newFS(t)
	for _, tc := range []struct {
		name string
		n    int
		err  error
	}{
		{"immediately", 0, errors.New("connection reset")},
		{"mid-buffer", 1000, io.ErrUnexpectedEOF},
		{"after several MiB", 3<<20 + 17, syscall.ECONNRESET},
		{"past writeback threshold", writebackEvery + 1, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, _, err := f.WriteChunk(context.Background(), &failing{tc.n, tc.err}, 0)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if id != "" {
				t.Errorf("id %q with an error", id)
			}
			assertEmpty(t, f.tmp, f.chunks)
		})
	}
}

// cancelAfter cancels its context after n Reads.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (r *cancelAfter) Read(p []byte) (int, error) {
	if r.n--; r.n == 0 {
		r.cancel()
	}
	return infinite{}.Read(p)
}

func TestWriteChunkCancel(t *testing.T) {
	f := newFS(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.WriteChunk(ctx, strings.NewReader("x"), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := f.WriteChunk(ctx, &cancelAfter{3, cancel}, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during: %v", err)
	}
	assertEmpty(t, f.tmp, f.chunks)
}

func TestWriteChunkConcurrent(t *testing.T) {
	f := newFS(t)
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Go(func() {
			data := randBytes(uint64(i), 100_000+i)
			id, _, err := f.WriteChunk(context.Background(), &trickle{bytes.NewReader(data), 3000}, 0)
			if err != nil {
				t.Error(err)
				return
			}
			got, _ := os.ReadFile(filepath.Join(f.chunks, id))
			if !bytes.Equal(got, data) {
				t.Errorf("chunk %d differs", i)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

var joinModes = []struct {
	name string
	opt  options
}{
	{"default", options{}},
	{"noprealloc", options{noPrealloc: true}},
	{"nowriteback", options{noWriteback: true}},
	{"nolink", options{noLink: true}},
}

func TestJoin(t *testing.T) {
	for _, mode := range joinModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFS(t)
			f.opt = mode.opt
			for _, tc := range []struct {
				name  string
				sizes []int
			}{
				{"no chunks", nil},
				{"one empty chunk", []int{0}},
				{"one byte", []int{1}},
				{"1230-byte chunks", []int{1230, 1230, 1230, 7}},
				{"empty chunks between", []int{0, 5, 0, 0, 3, 0}},
				{"MiB chunks", []int{3 << 20, 1, 0, 2<<20 + 5}},
				{"over the writeback threshold", []int{writebackEvery + 3, writebackEvery - 1, 17}},
				{"many small", func() []int {
					s := make([]int, 300)
					for i := range s {
						s[i] = 1230
					}
					return s
				}()},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var ids []string
					var all []byte
					for i, n := range tc.sizes {
						data := randBytes(uint64(i*1000+n), n)
						all = append(all, data...)
						ids = append(ids, writeChunk(t, f, data))
					}
					blob, err := f.Join(context.Background(), ids, 0)
					if err != nil {
						t.Fatal(err)
					}
					sum := sha256.Sum256(all)
					if blob.SHA256 != hex.EncodeToString(sum[:]) {
						t.Errorf("sha256 %s, want %x", blob.SHA256, sum)
					}
					if blob.Size != int64(len(all)) {
						t.Errorf("size %d, want %d", blob.Size, len(all))
					}
					if !validID(blob.ID) || blob.ID == "" {
						t.Errorf("blob id %q", blob.ID)
					}
					r, err := f.OpenBlob(blob.ID)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					r.Close()
					if err != nil || !bytes.Equal(got, all) {
						t.Errorf("blob content differs (%d bytes, want %d), %v", len(got), len(all), err)
					}
					// Chunks stay until the caller removes them.
					if n := len(names(t, f.chunks)); n != len(ids) {
						t.Errorf("%d chunks left, want %d", n, len(ids))
					}
					assertEmpty(t, f.tmp)
					if err := f.Remove(append(ids, blob.ID)...); err != nil {
						t.Fatal(err)
					}
					assertEmpty(t, f.chunks, f.blobs)
				})
			}
		})
	}
}

func TestJoinOrder(t *testing.T) {
	f := newFS(t)
	a, b, c := writeChunk(t, f, []byte("alpha-")), writeChunk(t, f, []byte("beta-")), writeChunk(t, f, []byte("gamma"))
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{[]string{a, b, c}, "alpha-beta-gamma"},
		{[]string{c, b, a}, "gammabeta-alpha-"},
		{[]string{b, b, a}, "beta-beta-alpha-"},
	} {
		blob, err := f.Join(context.Background(), tc.ids, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(f.blobs, blob.ID))
		sum := sha256.Sum256([]byte(tc.want))
		if string(got) != tc.want || blob.SHA256 != hex.EncodeToString(sum[:]) || blob.Size != int64(len(tc.want)) {
			t.Errorf("got %q %+v, want %q", got, blob, tc.want)
		}
	}
}

func TestJoinFailures(t *testing.T) {
	for _, mode := range joinModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFS(t)
			f.opt = mode.opt
			a := writeChunk(t, f, randBytes(1, 3<<20))
			b := writeChunk(t, f, randBytes(2, 1230))
			missing := newID()
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			for _, tc := range []struct {
				name  string
				ctx   context.Context
				ids   []string
				max   int64
				check func(error) bool
			}{
				{"missing first", nil, []string{missing, a, b}, 0, func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
				{"missing last", nil, []string{a, b, missing}, 0, func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
				{"path id", nil, []string{a, "../chunks/" + b}, 0, func(err error) bool { return domain.IsKind(err, domain.Invalid) }},
				{"empty id", nil, []string{""}, 0, func(err error) bool { return domain.IsKind(err, domain.Invalid) }},
				{"uppercase id", nil, []string{strings.ToUpper(a)}, 0, func(err error) bool { return domain.IsKind(err, domain.Invalid) }},
				{"over maxTotal", nil, []string{a, b}, 3<<20 + 1229, func(err error) bool {
					return domain.IsKind(err, domain.TooLarge) && domain.Message(err) == fmt.Sprintf("file exceeds the %d-byte file size limit", 3<<20+1229)
				}},
				{"cancelled", cancelled, []string{a, b}, 0, func(err error) bool { return errors.Is(err, context.Canceled) }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := tc.ctx
					if ctx == nil {
						ctx = context.Background()
					}
					blob, err := f.Join(ctx, tc.ids, tc.max)
					if err == nil || !tc.check(err) {
						t.Errorf("err %v", err)
					}
					if blob != (domain.Blob{}) {
						t.Errorf("blob %+v with an error", blob)
					}
					assertEmpty(t, f.tmp, f.blobs)
					if n := len(names(t, f.chunks)); n != 2 {
						t.Errorf("%d chunks, want 2", n)
					}
				})
			}
			// Exactly at the limit is fine.
			blob, err := f.Join(context.Background(), []string{a, b}, 3<<20+1230)
			if err != nil || blob.Size != 3<<20+1230 {
				t.Errorf("at maxTotal: %+v, %v", blob, err)
			}
		})
	}
}

// A one-chunk blob shares the chunk's bytes; it must survive the chunk's
// removal and not look old to Sweep.
func TestJoinSingleChunk(t *testing.T) {
	f := newFS(t)
	data := randBytes(5, 2<<20+3)
	chunk := writeChunk(t, f, data)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(f.chunks, chunk), old, old)

	blob, err := f.Join(context.Background(), []string{chunk}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if blob.SHA256 != hex.EncodeToString(sum[:]) || blob.Size != int64(len(data)) {
		t.Errorf("blob %+v", blob)
	}
	a, _ := os.Stat(filepath.Join(f.chunks, chunk))
	b, _ := os.Stat(filepath.Join(f.blobs, blob.ID))
	if !os.SameFile(a, b) {
		t.Error("one-chunk blob was copied, not linked")
	}
	n, err := f.Sweep(context.Background(), time.Now().Add(-time.Hour), func(context.Context, string) (bool, error) { return false, nil })
	if err != nil || n != 0 {
		t.Errorf("sweep right after the join removed %d, %v", n, err)
	}
	if err := f.Remove(chunk); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(f.blobs, blob.ID))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob after removing its chunk: %d bytes, %v", len(got), err)
	}
	if _, err := f.Join(context.Background(), []string{chunk}, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("join of a removed chunk: %v", err)
	}
	if _, err := f.Join(context.Background(), []string{blob.ID}, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("join of a blob id: %v", err)
	}
	assertEmpty(t, f.tmp, f.chunks)
}

// A chunk that cannot be read part-way through the join must not leave a
// partial blob behind.
func TestJoinUnreadableChunk(t *testing.T) {
	for _, mode := range joinModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFS(t)
			f.opt = mode.opt
			a := writeChunk(t, f, randBytes(1, 9<<20))
			bad := newID()
			if err := os.Mkdir(filepath.Join(f.chunks, bad), 0o700); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Join(context.Background(), []string{a, bad}, 0); err == nil {
				t.Fatal("joined a directory")
			}
			assertEmpty(t, f.tmp, f.blobs)
		})
	}
}

func TestOpenBlob(t *testing.T) {
	f := newFS(t)
	chunk := writeChunk(t, f, []byte("chunk"))
	for _, id := range []string{
		newID(),                       // well-formed, absent
		chunk,                         // a chunk is not a blob
		"",                            // empty
		"../chunks/" + chunk,          // traversal
		"/etc/passwd",                 // absolute
		strings.ToUpper(newID()),      // wrong case
		newID()[:31],                  // short
		newID() + "0",                 // long
		strings.Repeat("g", 32),       // not hex
		strings.Repeat("0", 31) + "/", // separator
		".",
		"..",
	} {
		r, err := f.OpenBlob(id)
		if !domain.IsKind(err, domain.NotFound) {
			t.Errorf("OpenBlob(%q): %v, want NotFound", id, err)
		}
		if r != nil {
			r.Close()
			t.Errorf("OpenBlob(%q) returned a file", id)
		}
	}
}

func TestRemove(t *testing.T) {
	f := newFS(t)
	c1 := writeChunk(t, f, []byte("one"))
	c2 := writeChunk(t, f, []byte("two"))
	blob, err := f.Join(context.Background(), []string{c1, c2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Error(err)
	}
	if err := f.Remove(c1, blob.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(c1, blob.ID, newID()); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if _, err := f.OpenBlob(blob.ID); !domain.IsKind(err, domain.NotFound) {
		t.Errorf("blob still there: %v", err)
	}
	// A bad id is reported, and the good ones are still removed.
	if err := f.Remove("../tmp", c2); !domain.IsKind(err, domain.Invalid) {
		t.Errorf("bad id: %v", err)
	}
	assertEmpty(t, f.tmp, f.chunks, f.blobs)
}

func TestSweep(t *testing.T) {
	f := newFS(t)
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	cutoff := now.Add(-24 * time.Hour)

	mk := func(dir string, age time.Time) string {
		id := newID()
		p := filepath.Join(dir, id)
		if err := os.WriteFile(p, []byte(id), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, age, age); err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldTmp, newTmp := mk(f.tmp, old), mk(f.tmp, now)
	oldChunk, oldRefChunk, newChunk := mk(f.chunks, old), mk(f.chunks, old), mk(f.chunks, now)
	oldBlob, oldRefBlob, newBlob := mk(f.blobs, old), mk(f.blobs, old), mk(f.blobs, now)
	foreign := filepath.Join(f.blobs, "README")
	os.WriteFile(foreign, nil, 0o600)
	os.Chtimes(foreign, old, old)
	os.Mkdir(filepath.Join(f.chunks, newID()), 0o700)

	refs := map[string]bool{oldRefChunk: true, oldRefBlob: true}
	var asked []string
	ref := func(ctx context.Context, id string) (bool, error) {
		asked = append(asked, id)
		return refs[id], nil
	}
	n, err := f.Sweep(context.Background(), cutoff, ref)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("removed %d, want 3", n)
	}
	exists := func(dir, id string) bool {
		_, err := os.Stat(filepath.Join(dir, id))
		return err == nil
	}
	for _, tc := range []struct {
		dir, id string
		want    bool
	}{
		{f.tmp, oldTmp, false},
		{f.tmp, newTmp, true},
		{f.chunks, oldChunk, false},
		{f.chunks, oldRefChunk, true},
		{f.chunks, newChunk, true},
		{f.blobs, oldBlob, false},
		{f.blobs, oldRefBlob, true},
		{f.blobs, newBlob, true},
		{f.blobs, "README", true},
	} {
		if got := exists(tc.dir, tc.id); got != tc.want {
			t.Errorf("%s/%s exists %v, want %v", filepath.Base(tc.dir), tc.id, got, tc.want)
		}
	}
	for _, id := range asked {
		if id == oldTmp || id == newTmp || id == newChunk || id == newBlob {
			t.Errorf("referenced asked about %s, which is new or temporary", id)
		}
	}

	// A failing reference check stops the sweep and removes nothing more.
	mk(f.chunks, old)
	boom := errors.New("db down")
	n, err = f.Sweep(context.Background(), cutoff, func(context.Context, string) (bool, error) { return false, boom })
	if !errors.Is(err, boom) || n != 0 {
		t.Errorf("failing referenced: %d, %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Sweep(ctx, cutoff, ref); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Everything old and unreferenced goes, in batches larger than one read.
	for range 600 {
		mk(f.blobs, old)
	}
	n, err = f.Sweep(context.Background(), cutoff, ref)
	if err != nil || n != 601 {
		t.Errorf("big sweep: %d, %v; want 601", n, err)
	}
}

func TestWritable(t *testing.T) {
	f := newFS(t)
	if err := f.Writable(); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, f.tmp, f.chunks, f.blobs)
	os.Remove(f.tmp)
	if err := f.Writable(); err == nil {
		t.Error("Writable with tmp/ gone succeeded")
	}
}

func TestStorageErr(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		kind  domain.Kind
		msg   string
	}{
		{syscall.ENOSPC, domain.InsufficientStorage, "not enough storage space"},
		{syscall.EDQUOT, domain.InsufficientStorage, "not enough storage space"},
		{syscall.EFBIG, domain.InsufficientStorage, "not enough storage space"},
		{syscall.EROFS, domain.InsufficientStorage, "storage is read-only"},
		{syscall.EIO, domain.Internal, ""},
	} {
		in := &os.PathError{Op: "write", Path: "/x", Err: tc.errno}
		err := storageErr(in)
		if domain.KindOf(err) != tc.kind || domain.Message(err) != tc.msg || !errors.Is(err, tc.errno) {
			t.Errorf("%v: kind %v message %q", tc.errno, domain.KindOf(err), domain.Message(err))
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newID()
		if !validID(id) || strings.ContainsAny(id, `/\.`) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, id := range []string{"", "..", "a/b", strings.Repeat("A", 32), strings.Repeat("0", 33), strings.Repeat("0", 30) + "/0"} {
		if validID(id) {
			t.Errorf("validID(%q)", id)
		}
	}
}

func FuzzWriteChunk(f *testing.F) {
	f.Add([]byte{}, int64(0))
	f.Add([]byte("x"), int64(1))
	f.Add([]byte("hello"), int64(4))
	f.Add(bytes.Repeat([]byte{0}, 5000), int64(4999))
	f.Add(bytes.Repeat([]byte{1}, 5000), int64(-7))
	// On tmpfs where there is one: every exec fsyncs, and on a disk still
	// writing back the test suite's gigabytes one fsync took seconds, past
	// the fuzz engine's deadline ("context deadline exceeded" in CI). What
	// is fuzzed is the writer's logic; durability is tested elsewhere.
	fs := newFS(f)
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "sachet-fuzz-")
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { os.RemoveAll(dir) })
		if fs, err = Open(filepath.Join(dir, "data")); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, max int64) {
		c := &counting{r: &trickle{bytes.NewReader(data), 1 + len(data)%977}}
		id, n, err := fs.WriteChunk(context.Background(), c, max)
		if max > 0 && int64(len(data)) > max {
			if !domain.IsKind(err, domain.TooLarge) {
				t.Fatalf("%d bytes, max %d: %v", len(data), max, err)
			}
			if c.n > max+1 {
				t.Fatalf("read %d bytes, max %d", c.n, max)
			}
			assertEmpty(t, fs.tmp, fs.chunks)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(fs.chunks, id))
		if err != nil || n != int64(len(data)) || !bytes.Equal(got, data) {
			t.Fatalf("round trip: n=%d err=%v equal=%v", n, err, bytes.Equal(got, data))
		}
		if err := fs.Remove(id); err != nil {
			t.Fatal(err)
		}
		assertEmpty(t, fs.tmp, fs.chunks)
	})
}

// Benchmarks write gigabytes to the disk holding the temp directory; run
// them with -benchtime=Nx. The chunk data comes from the page cache, as it
// does right after an upload ("warm"), or from disk ("cold").

const (
	benchChunk  = 8 << 20
	benchChunks = 128 // 1 GiB
)

func benchData() []byte { return randBytes(42, benchChunk) }

func BenchmarkWriteChunk8MiB(b *testing.B) {
	f := newFS(b)
	data := benchData()
	b.SetBytes(benchChunk)
	for b.Loop() {
		id, _, err := f.WriteChunk(context.Background(), bytes.NewReader(data), 0)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Remove(id)
		b.StartTimer()
	}
}

func writeBenchChunks(b *testing.B, f *FS) []string {
	data := benchData()
	ids := make([]string, benchChunks)
	for i := range ids {
		data[0] = byte(i) // no two chunks alike
		ids[i] = writeChunk(b, f, data)
	}
	return ids
}

func BenchmarkJoin1GiB(b *testing.B) {
	for _, cold := range []bool{false, true} {
		for _, mode := range joinModes {
			name := mode.name + "/warm"
			if cold {
				name = mode.name + "/cold"
			}
			b.Run(name, func(b *testing.B) {
				f := newFS(b)
				f.opt = mode.opt
				ids := writeBenchChunks(b, f)
				b.SetBytes(benchChunk * benchChunks)
				b.ResetTimer()
				for range b.N {
					if cold {
						b.StopTimer()
						for _, id := range ids {
							dropCache(b, filepath.Join(f.chunks, id))
						}
						b.StartTimer()
					}
					blob, err := f.Join(context.Background(), ids, 0)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					f.Remove(blob.ID)
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkUpload1GiB is a whole chunked upload: 128 chunks of 8 MiB, then
// the join. Compare with dd if=/dev/zero bs=8M count=128 conv=fsync.
func BenchmarkUpload1GiB(b *testing.B) {
	for _, mode := range joinModes {
		b.Run(mode.name, func(b *testing.B) {
			f := newFS(b)
			f.opt = mode.opt
			data := benchData()
			b.SetBytes(benchChunk * benchChunks)
			for range b.N {
				ids := make([]string, benchChunks)
				for i := range ids {
					id, _, err := f.WriteChunk(context.Background(), bytes.NewReader(data), benchChunk)
					if err != nil {
						b.Fatal(err)
					}
					ids[i] = id
				}
				blob, err := f.Join(context.Background(), ids, 0)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				f.Remove(append(ids, blob.ID)...)
				b.StartTimer()
			}
		})
	}
}

// copyUser is the fallback where copy_file_range is missing; Linux tests
// never reach it otherwise.
func TestCopyUser(t *testing.T) {
	dir := t.TempDir()
	data := randBytes(9, 3<<20+11)
	src := filepath.Join(dir, "src")
	os.WriteFile(src, data, 0o600)
	s, _ := os.Open(src)
	defer s.Close()
	d, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Write([]byte("head"))
	for _, tc := range []struct{ soff, doff, n, want int64 }{
		{0, 4, 1 << 20, 1 << 20},
		{1 << 20, 4 + 1<<20, 8 << 20, int64(len(data)) - 1<<20}, // short at EOF
		{int64(len(data)), 4 + int64(len(data)), 10, 0},
	} {
		n, err := copyUser(s, tc.soff, d, tc.doff, tc.n)
		if err != nil || n != tc.want {
			t.Fatalf("copyUser(%d, %d, %d) = %d, %v; want %d", tc.soff, tc.doff, tc.n, n, err, tc.want)
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "dst"))
	if !bytes.Equal(got, append([]byte("head"), data...)) {
		t.Error("content differs")
	}
}

// BenchmarkJoinOneChunk256MiB is the common one-chunk upload, which links
// instead of copying.
func BenchmarkJoinOneChunk256MiB(b *testing.B) {
	for _, mode := range []string{"default", "nolink"} {
		b.Run(mode, func(b *testing.B) {
			f := newFS(b)
			f.opt.noLink = mode == "nolink"
			data := benchData()
			var rs []io.Reader
			for range 32 {
				rs = append(rs, bytes.NewReader(data))
			}
			id, _, err := f.WriteChunk(context.Background(), io.MultiReader(rs...), 0)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(32 * benchChunk)
			for b.Loop() {
				blob, err := f.Join(context.Background(), []string{id}, 0)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				f.Remove(blob.ID)
				b.StartTimer()
			}
		})
	}
}
