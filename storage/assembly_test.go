package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

func appendAsm(t *testing.T, f *FS, id string, at int64, b []byte) {
	t.Helper()
	n, _, err := f.AppendAssembly(context.Background(), id, at, bytes.NewReader(b), 0, 0, nil)
	if err != nil || n != int64(len(b)) {
		t.Fatalf("AppendAssembly(%d, %d bytes) = %d, %v", at, len(b), n, err)
	}
}

func asmBytes(t *testing.T, f *FS, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.assembly, id))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestAssemblyAppendAndFinish: in-order chunks appended, the rest appended
// at completion, and the blob is the assembly file itself (same inode).
func TestAssemblyAppendAndFinish(t *testing.T) {
	f := newFS(t)
	ctx := context.Background()
	id := NewID()
	a, b, c, d := randBytes(1, 3<<20+17), randBytes(2, 1<<20), randBytes(3, 5000), randBytes(4, 1)
	appendAsm(t, f, id, 0, a)
	appendAsm(t, f, id, int64(len(a)), b)
	prefix := int64(len(a) + len(b))
	if got := asmBytes(t, f, id); !bytes.Equal(got, append(append([]byte{}, a...), b...)) {
		t.Fatalf("assembly holds %d bytes, want a+b", len(got))
	}
	ino := inode(t, filepath.Join(f.assembly, id))
	rest := []string{writeChunk(t, f, c), writeChunk(t, f, d)}
	// Garbage past the prefix (an interrupted append) is cut off.
	fh, _ := os.OpenFile(filepath.Join(f.assembly, id), os.O_WRONLY|os.O_APPEND, 0)
	fh.Write([]byte("garbage"))
	fh.Close()

	if _, err := f.FinishAssembly(ctx, id, prefix, rest, prefix+int64(len(c)+len(d))-1, nil); !domain.IsKind(err, domain.TooLarge) {
		t.Fatalf("FinishAssembly over the limit: %v, want TooLarge", err)
	}
	blob, err := f.FinishAssembly(ctx, id, prefix, rest, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{a, b, c, d}, nil)
	if blob.Size != int64(len(want)) || blob.SHA256 != sumOf(want) {
		t.Fatalf("blob %+v, want size %d sha %s", blob, len(want), sumOf(want))
	}
	got, err := os.ReadFile(filepath.Join(f.blobs, blob.ID))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("blob bytes differ (%d, %v)", len(got), err)
	}
	if bi := inode(t, filepath.Join(f.blobs, blob.ID)); bi != ino {
		t.Errorf("blob inode %d, assembly inode %d: the prefix was copied", bi, ino)
	}
	// Removing the assembly's name leaves the blob.
	if err := f.Remove(id); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, f.assembly, f.tmp)
	if got, _ := os.ReadFile(filepath.Join(f.blobs, blob.ID)); !bytes.Equal(got, want) {
		t.Error("blob changed when the assembly name was removed")
	}
}

// TestAssemblyAppendCutsLeftovers: an append starts at the recorded length,
// whatever a crashed append left past it.
func TestAssemblyAppendCutsLeftovers(t *testing.T) {
	f := newFS(t)
	id := NewID()
	appendAsm(t, f, id, 0, []byte("hello "))
	fh, _ := os.OpenFile(filepath.Join(f.assembly, id), os.O_WRONLY|os.O_APPEND, 0)
	fh.Write(bytes.Repeat([]byte("x"), 100))
	fh.Close()
	appendAsm(t, f, id, 6, []byte("world"))
	if got := string(asmBytes(t, f, id)); got != "hello world" {
		t.Fatalf("assembly = %q", got)
	}
	// A re-append at an earlier offset (the recorded length) overwrites.
	appendAsm(t, f, id, 6, []byte("there"))
	if got := string(asmBytes(t, f, id)); got != "hello there" {
		t.Fatalf("assembly = %q", got)
	}
	if err := f.CutAssembly(id, 5); err != nil {
		t.Fatal(err)
	}
	if got := string(asmBytes(t, f, id)); got != "hello" {
		t.Fatalf("after CutAssembly: %q", got)
	}
	if err := f.CutAssembly(NewID(), 0); err != nil {
		t.Errorf("CutAssembly of a missing file: %v", err)
	}
}

type failAfter struct {
	r   io.Reader
	n   int
	err error
}

func (f *failAfter) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(b) > f.n {
		b = b[:f.n]
	}
	n, err := f.r.Read(b)
	f.n -= n
	return n, err
}

// TestAssemblyAppendFailures: limits, reader errors and cancellation leave
// the file at the offset the append started from.
func TestAssemblyAppendFailures(t *testing.T) {
	f := newFS(t)
	ctx := context.Background()
	id := NewID()
	base := randBytes(5, 1000)
	appendAsm(t, f, id, 0, base)
	check := func(what string) {
		t.Helper()
		if got := asmBytes(t, f, id); !bytes.Equal(got, base) {
			t.Errorf("%s: assembly has %d bytes, want the 1000 before it", what, len(got))
		}
	}
	_, _, err := f.AppendAssembly(ctx, id, 1000, bytes.NewReader(randBytes(6, 3<<20)), 2<<20, 0, nil)
	if !domain.IsKind(err, domain.TooLarge) || !bytes.Contains([]byte(err.Error()), []byte("chunk")) {
		t.Errorf("chunk over the limit: %v", err)
	}
	check("chunk limit")
	_, _, err = f.AppendAssembly(ctx, id, 1000, bytes.NewReader(randBytes(6, 3000)), 0, 3999, nil)
	if !domain.IsKind(err, domain.TooLarge) || !bytes.Contains([]byte(err.Error()), []byte("file")) {
		t.Errorf("file over the limit: %v", err)
	}
	check("file limit")
	// Exactly at both limits fits.
	if n, _, err := f.AppendAssembly(ctx, id, 1000, bytes.NewReader(randBytes(6, 3000)), 3000, 4000, nil); err != nil || n != 3000 {
		t.Fatalf("append at the limits: %d, %v", n, err)
	}
	if err := f.CutAssembly(id, 1000); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection reset")
	_, _, err = f.AppendAssembly(ctx, id, 1000, &failAfter{r: bytes.NewReader(randBytes(7, 4<<20)), n: 3 << 20, err: boom}, 0, 0, nil)
	if !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
	check("reader error")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.AppendAssembly(cctx, id, 1000, bytes.NewReader([]byte("x")), 0, 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	check("cancelled")
	// Bytes recorded but missing: never papered over.
	if _, _, err := f.AppendAssembly(ctx, id, 5000, bytes.NewReader([]byte("x")), 0, 0, nil); err == nil {
		t.Error("append past the end of the file succeeded")
	}
	if _, _, err := f.AppendAssembly(ctx, NewID(), 10, bytes.NewReader([]byte("x")), 0, 0, nil); err == nil {
		t.Error("append at 10 to a missing file succeeded")
	}
	if _, _, err := f.AppendAssembly(ctx, "../x", 0, bytes.NewReader(nil), 0, 0, nil); !domain.IsKind(err, domain.Invalid) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := f.FinishAssembly(ctx, id, 1001, nil, 0, nil); err == nil {
		t.Error("FinishAssembly with a prefix longer than the file succeeded")
	}
	assertEmpty(t, f.tmp, f.blobs)
}

// TestJoinSegments: ranges of an assembly file and chunk files, in any
// arrangement, copied into a new blob; the sources are left alone.
func TestJoinSegments(t *testing.T) {
	f := newFS(t)
	ctx := context.Background()
	id := NewID()
	a, dead, c := randBytes(8, 2<<20), randBytes(9, 700), randBytes(10, 12345)
	appendAsm(t, f, id, 0, a)
	appendAsm(t, f, id, int64(len(a)), dead)
	appendAsm(t, f, id, int64(len(a)+len(dead)), c)
	b := randBytes(11, 999)
	cb := writeChunk(t, f, b)
	segs := []Segment{
		{ID: id, Assembly: true, Off: 0, Size: int64(len(a))},
		{ID: cb, Size: int64(len(b))},
		{ID: id, Assembly: true, Off: int64(len(a) + len(dead)), Size: int64(len(c))},
	}
	want := bytes.Join([][]byte{a, b, c}, nil)
	blob, err := f.JoinSegments(ctx, segs, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(f.blobs, blob.ID))
	if !bytes.Equal(got, want) || blob.SHA256 != sumOf(want) || blob.Size != int64(len(want)) {
		t.Fatalf("joined %d bytes (blob %+v), want %d", len(got), blob, len(want))
	}
	if _, err := f.JoinSegments(ctx, segs, int64(len(want))-1); !domain.IsKind(err, domain.TooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	// A segment the file does not hold is an error, and leaves nothing.
	segs[2].Size += 10
	if _, err := f.JoinSegments(ctx, segs, 0); err == nil {
		t.Error("a segment past the end of its file joined")
	}
	assertEmpty(t, f.tmp)
	if n := len(names(t, f.blobs)); n != 1 {
		t.Errorf("%d blobs, want 1", n)
	}
}

// TestSweepAssembly: an unreferenced assembly file is swept once old, a
// referenced one never.
func TestSweepAssembly(t *testing.T) {
	f := newFS(t)
	keep, drop := NewID(), NewID()
	appendAsm(t, f, keep, 0, []byte("k"))
	appendAsm(t, f, drop, 0, []byte("d"))
	old := time.Now().Add(-time.Hour)
	for _, id := range []string{keep, drop} {
		os.Chtimes(filepath.Join(f.assembly, id), old, old)
	}
	n, err := f.Sweep(context.Background(), time.Now().Add(-time.Minute), func(_ context.Context, id string) (bool, error) { return id == keep, nil })
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if got := names(t, f.assembly); len(got) != 1 || got[0] != keep {
		t.Errorf("assembly/ after the sweep: %v", got)
	}
}

// TestAssemblyHashState: each append returns the SHA-256 state of the file
// so far, the next append carries it on, and completion uses it instead of
// reading the prefix back; a state that does not fit is ignored.
func TestAssemblyHashState(t *testing.T) {
	f := newFS(t)
	ctx := context.Background()
	id := NewID()
	a, b, c := randBytes(21, 3<<20+5), randBytes(22, 777), randBytes(23, 4096)
	_, st, err := f.AppendAssembly(ctx, id, 0, bytes.NewReader(a), 0, 0, nil)
	if err != nil || st == nil {
		t.Fatalf("first append: state %v, %v", st != nil, err)
	}
	_, st, err = f.AppendAssembly(ctx, id, int64(len(a)), bytes.NewReader(b), 0, 0, st)
	if err != nil || st == nil {
		t.Fatalf("second append: state %v, %v", st != nil, err)
	}
	prefix := int64(len(a) + len(b))
	// Without a state, none comes back (except from offset 0).
	if _, none, err := f.AppendAssembly(ctx, NewID(), 0, bytes.NewReader(b), 0, 0, nil); err != nil || none == nil {
		t.Fatalf("append at 0 without a state: %v %v", none, err)
	}
	rest := []string{writeChunk(t, f, c)}
	want := sumOf(bytes.Join([][]byte{a, b, c}, nil))

	// A state of other bytes of the same length is trusted: proof that
	// the prefix is not read back.
	other := NewID()
	_, wrong, err := f.AppendAssembly(ctx, other, 0, bytes.NewReader(make([]byte, prefix)), 0, 0, nil)
	must(t, err)
	copyID := NewID()
	appendAsm(t, f, copyID, 0, bytes.Join([][]byte{a, b}, nil))
	blob, err := f.FinishAssembly(ctx, copyID, prefix, rest, 0, wrong)
	must(t, err)
	if blob.SHA256 != sumOf(append(make([]byte, prefix), c...)) {
		t.Error("FinishAssembly ignored a usable hash state")
	}
	// A state of another length is ignored.
	_, short, err := f.AppendAssembly(ctx, NewID(), 0, bytes.NewReader(a), 0, 0, nil)
	must(t, err)
	blob, err = f.FinishAssembly(ctx, id, prefix, rest, 0, short)
	must(t, err)
	if blob.SHA256 != want {
		t.Errorf("with a state of another length: sha %s, want %s", blob.SHA256, want)
	}
	// And the right one gives the right sum.
	id2 := NewID()
	appendAsm(t, f, id2, 0, bytes.Join([][]byte{a, b}, nil))
	blob, err = f.FinishAssembly(ctx, id2, prefix, rest, 0, st)
	must(t, err)
	if blob.SHA256 != want {
		t.Errorf("with the state: sha %s, want %s", blob.SHA256, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
