package tests

// Crash safety, tested with the real binary: `sachet serve` runs as a
// subprocess, is killed with SIGKILL in the middle of an upload or of its
// completion, and restarted on the same data directory and database. What
// it had acknowledged must still be there, whole; what it had not must
// leave no trace in the share; the share must stay usable; and `sachet
// cleanup` must sweep the files the crash left behind.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sachet-server/sachet/db"
)

// crashIdleTimeout is SACHET_IDLE_TIMEOUT for the subprocess: orphan files
// older than twice this (2 s) are swept.
const crashIdleTimeout = time.Second

// crashOrphanWait is how long after the last write an orphan is surely old
// enough for the sweep: the grace plus a margin for coarse file times.
const crashOrphanWait = 2*crashIdleTimeout + 700*time.Millisecond

var crashAllPerms = []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}

// TestCrash builds cmd/sachet once and, on each database, kills it:
//
//   - KillMidUpload: while a replacement's chunk is streaming in. The old
//     content stays, whole; the share takes new uploads; the partial chunk
//     file is swept; the replacement's acknowledged chunk is kept.
//   - KillMidCompletion: at spread-out moments after a replacement's final
//     chunk was sent (joining, fsync, publishing, answering). The share
//     then serves the old content or the new, whole, never anything else,
//     and an acknowledged (201) upload is never lost; an interrupted upload
//     can be finished by re-sending its final chunk.
//   - AckedChunksSurvive: between the chunks of an upload (first content
//     and replacement): the last chunk, after the restart, completes it.
//   - KillAppending: between chunks appended in order to an upload's
//     assembly file, and while one streams onto it. The old content stays,
//     whole; every acknowledged chunk is kept; re-sending the interrupted
//     chunk carries on, and the content is still the assembly file itself.
//
// With SACHET_TEST_STORAGE=s3 all four run, checking what the store holds
// through the bucket (crash_s3_test.go: objects, multipart uploads and
// their parts, against the database rows) instead of files.
//
// Run alone with: go test -race -count=1 ./tests/ -run Crash -v
func TestCrash(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			t.Run("KillMidUpload", func(t *testing.T) { crashMidUpload(t, bin, d) })
			t.Run("KillMidCompletion", func(t *testing.T) { crashMidCompletion(t, bin, d) })
			t.Run("AckedChunksSurvive", func(t *testing.T) { crashAckedChunks(t, bin, d) }) // on S3 too
			t.Run("KillAppending", func(t *testing.T) { crashAppending(t, bin, d) })
		})
	}
}

// ---- the subprocess ----

// sachetProc is one data directory and database, served by a `sachet
// serve` subprocess that can be killed and restarted.
type sachetProc struct {
	t        *testing.T
	bin      string
	dialect  string
	dataDir  string
	database string
	url      string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *tailBuffer
	starts   int
	// extraEnv is added to the server's environment (after the defaults,
	// so it wins): the S3 settings, a cache TTL.
	extraEnv []string
	// s is the validating client of the harness, pointed at the current
	// process; its URL changes on every restart.
	s *server
}

// newSachet prepares a fresh data dir and database, starts the server,
// creates the admin user with `sachet user create` and gives it every
// permission.
func newSachet(t *testing.T, bin, dialect string, extraEnv ...string) *sachetProc {
	t.Helper()
	if extraEnv == nil {
		extraEnv = testStorageEnv(t)
	}
	p := &sachetProc{t: t, bin: bin, dialect: dialect, dataDir: t.TempDir(), log: &tailBuffer{max: 64 << 10}, extraEnv: extraEnv}
	if dialect == "mysql" {
		p.database = freshMySQL(t) // its cleanup runs after ours: the server is dead by then
	} else {
		p.database = "sqlite:" + filepath.Join(p.dataDir, "sachet.db")
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("sachet server output (last %d bytes):\n%s", p.log.max, p.log.String())
		}
	})
	p.start()
	if out, err := p.command("user", "create", "--username", "admin", "--password", "pw", "--admin"); err != nil {
		t.Fatalf("sachet user create: %v\n%s", err, out)
	}
	p.s.admin = p.s.login("admin", "pw")
	expect(t, p.s.req("PATCH", "/users/admin", p.s.admin, map[string]any{"permissions": crashAllPerms}), 200)
	return p
}

func (p *sachetProc) env(addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SACHET_") {
			env = append(env, kv)
		}
	}
	return append(append(env,
		"SACHET_ADDR="+addr,
		"SACHET_DATA_DIR="+p.dataDir,
		"SACHET_DATABASE="+p.database,
		"SACHET_STORAGE=file:",
		"SACHET_BCRYPT_COST=4",
		"SACHET_IDLE_TIMEOUT="+crashIdleTimeout.String(),
	), p.extraEnv...)
}

// start runs `sachet serve` on a free port and waits until /healthz is 200.
func (p *sachetProc) start() {
	t := p.t
	t.Helper()
	if p.cmd != nil {
		t.Fatal("sachet is already running")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	p.starts++
	fmt.Fprintf(p.log, "---- start %d on %s ----\n", p.starts, addr)
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.env(addr)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sachet serve: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	p.url = "http://" + addr

	// The harness's validating client, on a transport of our own so that
	// connections to a killed process are never reused.
	if p.s == nil {
		p.s = &server{t: t, Dialect: p.dialect}
	}
	p.s.URL = p.url
	p.s.client = &http.Client{
		Transport: &validatingTransport{s: p.s, base: newCrashTransport()},
		Timeout:   2 * time.Minute,
	}

	plain := &http.Client{Transport: newCrashTransport(), Timeout: 2 * time.Second}
	defer plain.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("sachet serve exited before it was ready: %v\n%s", cmd.ProcessState, p.log.String())
		default:
		}
		resp, err := plain.Get(p.url + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sachet serve not healthy after 30 s (last: %v)\n%s", err, p.log.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func newCrashTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	// The server closes a connection idle for crashIdleTimeout; a client
	// reusing one at that moment gets "broken pipe" on a request it cannot
	// replay (a streamed chunk). Drop idle connections well before.
	tr.IdleConnTimeout = crashIdleTimeout / 2
	return tr
}

// kill sends SIGKILL and waits for the process to be gone. It returns the
// moment of the kill.
func (p *sachetProc) kill() time.Time {
	now := time.Now()
	if p.cmd == nil {
		return now
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Errorf("sachet serve (pid %d) did not die within 20 s of SIGKILL", p.cmd.Process.Pid)
	}
	fmt.Fprintf(p.log, "---- killed (%v) ----\n", p.cmd.ProcessState)
	if tr, ok := p.s.client.Transport.(*validatingTransport); ok {
		tr.base.(*http.Transport).CloseIdleConnections()
	}
	p.cmd, p.exited = nil, nil
	return now
}

// restart kills the server and starts it again on the same data.
func (p *sachetProc) restart() time.Time {
	at := p.kill()
	p.start()
	return at
}

// command runs a one-shot sachet command with the server's configuration.
func (p *sachetProc) command(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env("127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanup waits until every file written before since is older than the
// orphan grace, then runs `sachet cleanup`.
func (p *sachetProc) cleanup(since time.Time) {
	p.t.Helper()
	if d := time.Until(since.Add(crashOrphanWait)); d > 0 {
		time.Sleep(d)
	}
	out, err := p.command("cleanup")
	if err != nil {
		p.t.Fatalf("sachet cleanup: %v\n%s", err, out)
	}
	p.t.Logf("sachet cleanup: %s", strings.TrimSpace(out))
}

func (p *sachetProc) blobDir(sub string) string { return filepath.Join(p.dataDir, "blobs", sub) }

// files lists the names of everything in one of the blob store's
// directories (tmp, chunks, assembly, blobs); on S3, what stands for it
// (s3Listing), named as the database rows name it.
func (p *sachetProc) files(sub string) []string {
	p.t.Helper()
	if storage, endpoint := p.s3Env(); strings.HasPrefix(storage, "s3://") {
		names, _ := s3Listing(p.t, storage, endpoint, sub)
		return names
	}
	ents, err := os.ReadDir(p.blobDir(sub))
	if err != nil {
		p.t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkLeftovers asserts that tmp/ is empty and that every file in chunks/,
// assembly/ and blobs/ is named by a row of the database; it returns how
// many chunk files (assembly files included: they hold the chunks that came
// in order) and blob files there are.
func (p *sachetProc) checkLeftovers() (chunks, blobs int) {
	t := p.t
	t.Helper()
	if left := p.files("tmp"); len(left) > 0 {
		t.Errorf("after cleanup, %d file(s) remain in blobs/tmp: %v", len(left), left)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := db.Open(ctx, p.database)
	if err != nil {
		t.Fatalf("opening the database to check references: %v", err)
	}
	defer store.Close()
	for _, sub := range []string{"chunks", "blobs", "assembly"} {
		names := p.files(sub)
		for _, name := range names {
			ref, err := store.FileReferenced(ctx, name)
			if err != nil {
				t.Fatalf("FileReferenced(%s): %v", name, err)
			}
			if !ref {
				t.Errorf("after cleanup, blobs/%s/%s is referenced by no share or upload: an orphan that was not swept", sub, name)
			}
		}
		if sub == "blobs" {
			blobs = len(names)
		} else {
			chunks += len(names) // chunk files, and assembly files holding appended chunks
		}
	}
	return chunks, blobs
}

// ---- what the server serves ----

// served downloads a share's content, hashing it as it streams, and checks
// that the headers agree with the bytes.
func (p *sachetProc) served(shareID string) (sum string, size int64) {
	t := p.t
	t.Helper()
	req, err := http.NewRequest("GET", p.url+"/files/"+shareID+"/content", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.s.admin)
	c := &http.Client{Transport: newCrashTransport(), Timeout: 2 * time.Minute}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET content: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("GET content: %d %s", resp.StatusCode, b)
	}
	h := sha256.New()
	size, err = io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("GET content: reading the body: %v", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if resp.ContentLength != size {
		t.Errorf("GET content: Content-Length %d but %d bytes came", resp.ContentLength, size)
	}
	if et := resp.Header.Get("ETag"); et != `"`+sum+`"` {
		t.Errorf("GET content: ETag %s does not match the bytes served (sha256 %s)", et, sum)
	}
	return sum, size
}

// meta is the share's size and sha256 as GET /files/{id} reports them.
func (p *sachetProc) meta(shareID string) (sum string, size int64) {
	p.t.Helper()
	m := expect(p.t, p.s.req("GET", "/files/"+shareID, p.s.admin, nil), 200).JSON(p.t)
	sum, _ = m["sha256"].(string)
	f, _ := m["size"].(float64)
	return sum, int64(f)
}

// content is what a share holds: the bytes served, which must agree with
// its metadata.
func (p *sachetProc) content(shareID string) string {
	p.t.Helper()
	sum, size := p.served(shareID)
	msum, msize := p.meta(shareID)
	if msum != sum || msize != size {
		p.t.Errorf("GET /files/%s says size %d sha256 %s, but the content served is %d bytes with sha256 %s", shareID, msize, msum, size, sum)
	}
	return sum
}

// mustServe fails unless the share's content is exactly data.
func (p *sachetProc) mustServe(shareID string, data []byte, what string) {
	p.t.Helper()
	if got, want := p.content(shareID), sha256Hex(data); got != want {
		p.t.Fatalf("content is not %s (%d bytes, sha256 %s) but sha256 %s", what, len(data), want, got)
	}
}

// ---- uploads ----

// chunkOf is chunk i of data cut in pieces of n bytes.
func chunkOf(data []byte, n, i int) []byte {
	return data[min(i*n, len(data)):min((i+1)*n, len(data))]
}

func chunkCount(size, n int) int { return max(1, (size+n-1)/n) }

// sendChunkExpect sends chunk i through the validating client.
func (p *sachetProc) sendChunkExpect(method, shareID, dzuuid string, data []byte, n, i, want int) {
	p.t.Helper()
	total := chunkCount(len(data), n)
	r := p.s.sendChunk(method, shareID, p.s.admin, chunk{UUID: dzuuid, Index: i, Total: total, Data: chunkOf(data, n, i)})
	if r.Status != want {
		p.t.Fatalf("%s chunk %d/%d of upload %q: status %d, want %d; body: %.300s", method, i, total, dzuuid, r.Status, want, r.Body)
	}
}

// uploadAll sends every chunk in order: 200s, then 201.
func (p *sachetProc) uploadAll(method, shareID, dzuuid string, data []byte, n int) {
	p.t.Helper()
	total := chunkCount(len(data), n)
	for i := 0; i < total; i++ {
		want := http.StatusOK
		if i == total-1 {
			want = http.StatusCreated
		}
		p.sendChunkExpect(method, shareID, dzuuid, data, n, i, want)
	}
}

// ---- 1. kill -9 while a chunk streams in ----

func crashMidUpload(t *testing.T, bin, dialect string) {
	began := time.Now()
	p := newSachet(t, bin, dialect)
	share := p.s.newShare(p.s.admin, "crash-mid-upload.bin")

	const aChunk = 1 << 20
	a := randBytes(3 << 20)
	p.uploadAll("POST", share, "a-"+randHex(8), a, aChunk)
	p.mustServe(share, a, "A")

	// B's chunks are 3 MiB, so that half of one is more than the server's
	// 1 MiB copy buffer: some of it reaches the temporary file.
	const bChunk = 3 << 20
	b := randBytes(3 * bChunk)
	bID := "b-" + randHex(8)
	p.sendChunkExpect("PUT", share, bID, b, bChunk, 0, http.StatusOK)

	// Chunk 1 streams through a pipe; half of it is sent, then the server
	// dies while reading the rest.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest("PUT", p.url+"/files/"+share+"/content", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.s.admin)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	raw := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := raw.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	// The writer sends the fields and half of the chunk, then keeps the
	// stream alive with a trickle (so that no idle timeout cuts it) until
	// the server dies.
	tmpBefore := p.files("tmp")
	half := make(chan error, 1)
	stopTrickle := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for _, kv := range [][2]string{{"dzuuid", bID}, {"dzchunkindex", "1"}, {"dztotalchunks", "3"}} {
			if err := mw.WriteField(kv[0], kv[1]); err != nil {
				half <- err
				return
			}
		}
		fw, err := mw.CreateFormFile("upload", "blob")
		if err == nil {
			_, err = fw.Write(chunkOf(b, bChunk, 1)[:bChunk/2])
		}
		half <- err
		if err != nil {
			return
		}
		rest := chunkOf(b, bChunk, 1)[bChunk/2:]
		for len(rest) > 4096 { // never the whole chunk
			select {
			case <-stopTrickle:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := fw.Write(rest[:4096]); err != nil {
				return
			}
			rest = rest[4096:]
		}
	}()
	select {
	case err := <-half:
		if err != nil {
			t.Fatalf("streaming half a chunk: %v", err)
		}
	case r := <-done:
		t.Fatalf("the streaming chunk request ended before half of it was sent: %d %v", r.status, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("half a chunk was not taken by the server within 30 s")
	}
	// The server streams the part to disk as it arrives, so bytes of it
	// must reach the disk while the request is still open: chunk 1 follows
	// chunk 0 in order, so it is appended to B's assembly file (which then
	// grows past chunk 0), else it would be a new file in blobs/tmp.
	//
	// On S3 nothing of a chunk is an object before it is whole (it is in
	// S3's request, or in an unlinked spool file), so there is nothing to
	// see: the kill lands while the request streams, and what must hold
	// after it is checked through the bucket below.
	partial, partialDir := "", ""
	for deadline := time.Now().Add(10 * time.Second); !onS3() && partial == "" && time.Now().Before(deadline); {
		for _, name := range p.files("tmp") {
			if slices.Contains(tmpBefore, name) {
				continue
			}
			if fi, err := os.Stat(filepath.Join(p.blobDir("tmp"), name)); err == nil && fi.Size() > 0 {
				partial, partialDir = name, "tmp"
			}
		}
		for _, name := range p.files("assembly") {
			if fi, err := os.Stat(filepath.Join(p.blobDir("assembly"), name)); err == nil && fi.Size() > bChunk {
				partial, partialDir = name, "assembly"
			}
		}
		if partial == "" {
			time.Sleep(5 * time.Millisecond)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("the streaming chunk request ended before the kill: %d %v", r.status, r.err)
	default:
	}
	if partial == "" && !onS3() {
		t.Errorf("no byte of a chunk streaming in reached blobs/tmp or blobs/assembly within 10 s (1.5 MiB of its 3 MiB sent, more trickling): the server holds the body in memory instead of streaming it to disk")
	}
	killedAt := p.kill()
	close(stopTrickle)
	pw.CloseWithError(errors.New("server killed"))
	within(t, 30*time.Second, "the chunk writer, after its pipe was closed", wrote)
	select {
	case r := <-done:
		if r.err == nil {
			t.Fatalf("the half-sent chunk was answered %d: the server cannot have had all of it", r.status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the half-sent chunk's request did not end within 30 s of the kill")
	}

	p.start()
	if !onS3() {
		t.Logf("killed mid-chunk; after restart blobs/tmp holds %v (the partial chunk is in %s/%s)", p.files("tmp"), partialDir, partial)
	}

	// The share's content is A, exactly, and its metadata says so.
	p.mustServe(share, a, "A (the content before the interrupted replacement)")

	// The share is still usable: a new replacement completes and is served.
	c := randBytes(2<<20 + 12345)
	p.uploadAll("PUT", share, "c-"+randHex(8), c, aChunk)
	p.mustServe(share, c, "C (uploaded after the restart)")

	// Cleanup sweeps the partial chunk; what remains is named in the
	// database: C's blob and B's acknowledged chunk 0 (in B's assembly file,
	// whose bytes past chunk 0 are cut when B carries on).
	p.cleanup(killedAt)
	if _, err := os.Stat(filepath.Join(p.blobDir("tmp"), partial)); partialDir == "tmp" && err == nil {
		t.Errorf("the partial chunk blobs/tmp/%s survived cleanup", partial)
	}
	chunks, blobs := p.checkLeftovers()
	wantChunks := 1
	if onS3() {
		wantChunks = 2 // chunk 0 (3 MiB: staged) and B's multipart upload
	}
	if chunks != wantChunks || blobs != 1 {
		t.Errorf("after cleanup: %d chunk file(s) (want %d: B's acknowledged chunk 0) and %d blob(s) (want 1: C)", chunks, wantChunks, blobs)
	}

	// B's acknowledged chunk survived: re-sending the lost chunk and the
	// last one finishes B, and it wins.
	p.sendChunkExpect("PUT", share, bID, b, bChunk, 1, http.StatusOK)
	p.sendChunkExpect("PUT", share, bID, b, bChunk, 2, http.StatusCreated)
	p.mustServe(share, b, "B (finished after the restart)")
	if left := append(p.files("chunks"), p.files("assembly")...); len(left) != 0 {
		t.Errorf("after B completed, chunk or assembly files remain: %v", left)
	}
	if left := p.files("blobs"); len(left) != 1 {
		t.Errorf("after B completed, blobs/blobs holds %d files, want 1: %v", len(left), left)
	}
	t.Logf("%s: kill mid-upload passed in %v", dialect, time.Since(began).Round(time.Millisecond))
}

// ---- 2. kill -9 while the last chunk completes the upload ----

func crashMidCompletion(t *testing.T, bin, dialect string) {
	began := time.Now()
	const (
		iterations = 6
		chunkSize  = 8 << 20
		baseSize   = 24 << 20               // plus up to a chunk: 4 chunks, the last one partial
		budget     = 30 * time.Second       // beyond this, stop (after 3 iterations)
		minWindow  = 300 * time.Millisecond // kills land 0–window after the final chunk is sent
		maxWindow  = 5 * time.Second
	)
	p := newSachet(t, bin, dialect)
	share := p.s.newShare(p.s.admin, "crash-mid-completion.bin")

	// A, uploaded whole, also measures how long completing takes here
	// (joining and fsyncing run at the disk's pace), so that the kills can
	// be spread over the whole completion, and a little past it. Every
	// completion seen later refines the estimate (the fastest counts).
	a := randBytes(baseSize + mrand.IntN(chunkSize))
	aID := "a-" + randHex(6)
	aTotal := chunkCount(len(a), chunkSize)
	for i := 0; i < aTotal-1; i++ {
		p.sendChunkExpect("POST", share, aID, a, chunkSize, i, http.StatusOK)
	}
	f := p.sendFinal("POST", share, aID, a, chunkSize)
	f.waitSent(t, time.Minute, "completing A")
	sentAt := time.Now()
	r := f.wait(time.Minute)
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("completing A: %d %v", r.status, r.err)
	}
	fastest := r.at.Sub(sentAt)
	p.mustServe(share, a, "A")
	oldSum := sha256Hex(a)
	t.Logf("completing a %d MiB upload took %v after its final chunk was sent", len(a)>>20, fastest.Round(time.Millisecond))

	var (
		lastKill                      time.Time
		sawOld, sawNew, acked, resent int
		stuck                         []string
	)
	slots := mrand.Perm(iterations) // each iteration kills in its own slice of the window
	for it, slot := range slots {
		if it >= 3 && time.Since(began) > budget {
			t.Logf("stopping after %d iterations (time budget)", it)
			break
		}
		data := randBytes(baseSize + mrand.IntN(chunkSize))
		sum := sha256Hex(data)
		id := fmt.Sprintf("b%d-%s", it, randHex(6))
		total := chunkCount(len(data), chunkSize)
		for i := 0; i < total-1; i++ {
			p.sendChunkExpect("PUT", share, id, data, chunkSize, i, http.StatusOK)
		}
		f := p.sendFinal("PUT", share, id, data, chunkSize)
		f.waitSent(t, time.Minute, fmt.Sprintf("iteration %d", it))
		sentAt := time.Now()
		window := min(max(fastest*2, minWindow), maxWindow)
		part := window / iterations
		delay := time.Duration(slot)*part + mrand.N(part)
		time.Sleep(delay)
		lastKill = p.kill()
		r := f.wait(30 * time.Second)
		answer := fmt.Sprintf("no answer (%v)", r.err)
		if r.err == nil {
			answer = fmt.Sprintf("%d after %v", r.status, r.at.Sub(sentAt).Round(time.Millisecond))
			if r.status == http.StatusCreated {
				acked++
				fastest = min(fastest, r.at.Sub(sentAt))
			} else {
				t.Errorf("iteration %d: the final chunk was answered %d, want 201", it, r.status)
			}
		}

		p.start()
		got := p.content(share)
		how := fmt.Sprintf("iteration %d: %.1f MiB in %d chunks, killed %v after the final chunk was sent (window 0–%v), which got %s",
			it, float64(len(data))/(1<<20), total, delay.Round(time.Millisecond), window.Round(time.Millisecond), answer)
		switch got {
		case sum:
			sawNew++
			t.Logf("%s; after the restart: the new content", how)
		case oldSum:
			sawOld++
			t.Logf("%s; after the restart: the old content", how)
			if r.err == nil && r.status == http.StatusCreated {
				t.Errorf("%s, but after the restart the share serves the OLD content: an acknowledged upload was lost", how)
			}
			// A client that got no answer re-sends the final chunk; that
			// must finish the upload.
			rr := p.s.sendChunk("PUT", share, p.s.admin, chunk{UUID: id, Index: total - 1, Total: total, Data: chunkOf(data, chunkSize, total-1)})
			if rr.Status == http.StatusCreated {
				resent++
				p.mustServe(share, data, "the new content (finished by re-sending the final chunk)")
				break
			}
			stuck = append(stuck, fmt.Sprintf("iteration %d, killed %v after sending: %d %s", it, delay.Round(time.Millisecond), rr.Status, rr.Message()))
			t.Errorf("%s; after the restart, re-sending that final chunk (same dzuuid) is answered %d %s, want 201: the interrupted upload can never be finished",
				how, rr.Status, strings.TrimSpace(string(rr.Body)))
			// The share is still usable: the same bytes under a new dzuuid.
			p.uploadAll("PUT", share, id+"-again", data, chunkSize)
			p.mustServe(share, data, "the new content (uploaded again under a new dzuuid)")
		default:
			t.Fatalf("%s; after the restart the share serves content with sha256 %s, which is neither the old (%s) nor the new (%s): a mixture or a truncated file", how, got, oldSum, sum)
		}
		oldSum = sum
	}

	p.cleanup(lastKill)
	chunks, blobs := p.checkLeftovers()
	if blobs != 1 {
		t.Errorf("after cleanup blobs/blobs holds %d files, want 1 (the current content)", blobs)
	}
	switch {
	case len(stuck) == 0 && chunks != 0:
		t.Errorf("after cleanup %d chunk file(s) remain, though every upload finished", chunks)
	case chunks != 0:
		t.Logf("after cleanup %d chunk file(s) remain, held by the %d upload(s) that could not be finished", chunks, len(stuck))
	}
	p.content(share) // still consistent
	t.Logf("%s: kill mid-completion, %d iterations: old content after the restart %d, new %d; acknowledged before the kill %d; finished by re-sending the final chunk %d; stuck %d %q; %v",
		dialect, sawOld+sawNew, sawOld, sawNew, acked, resent, len(stuck), stuck, time.Since(began).Round(time.Millisecond))
}

// finalChunk is the last chunk of an upload in flight, on a connection of
// its own.
type finalChunk struct {
	sent chan struct{} // closed when the body has been handed to the connection in full
	done chan finalResult
}

type finalResult struct {
	status int
	err    error
	at     time.Time // when the answer (or the error) came
}

// sendFinal starts sending the last chunk of data.
func (p *sachetProc) sendFinal(method, shareID, dzuuid string, data []byte, n int) *finalChunk {
	p.t.Helper()
	total := chunkCount(len(data), n)
	ct, body := chunk{UUID: dzuuid, Index: total - 1, Total: total, Data: chunkOf(data, n, total-1)}.form()
	f := &finalChunk{sent: make(chan struct{}), done: make(chan finalResult, 1)}
	req, err := http.NewRequest(method, p.url+"/files/"+shareID+"/content", &eofSignal{r: bytes.NewReader(body), done: f.sent})
	if err != nil {
		p.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+p.s.admin)
	req.Header.Set("Content-Type", ct)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Minute}
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			f.done <- finalResult{err: err, at: time.Now()}
			return
		}
		at := time.Now()
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		f.done <- finalResult{status: resp.StatusCode, at: at}
	}()
	return f
}

// waitSent waits, at most timeout, until the final chunk's body has been
// handed to the connection in full. A request that ends first (refused
// early, or its connection failed) never sends the rest of its body: that
// fails t at once with the answer or the error, rather than waiting for
// the package's timeout.
func (f *finalChunk) waitSent(t testing.TB, timeout time.Duration, what string) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-f.sent:
	case r := <-f.done:
		select {
		case <-f.sent:
			// Sent in full, then answered at once: keep the answer for wait.
			f.done <- r
			return
		default:
		}
		if r.err != nil {
			t.Fatalf("%s: the final chunk's request failed before its body was sent: %v", what, r.err)
		}
		t.Fatalf("%s: the final chunk was answered %d before its body was sent", what, r.status)
	case <-timer.C:
		t.Fatalf("%s: the final chunk's body was not sent within %v", what, timeout)
	}
}

// wait is the final chunk's answer.
func (f *finalChunk) wait(timeout time.Duration) finalResult {
	select {
	case r := <-f.done:
		return r
	case <-time.After(timeout):
		return finalResult{err: fmt.Errorf("no answer within %v", timeout), at: time.Now()}
	}
}

// eofSignal closes done once r has been read to its end.
type eofSignal struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *eofSignal) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err == io.EOF {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}

// ---- 3. acknowledged chunks survive a crash ----

func crashAckedChunks(t *testing.T, bin, dialect string) {
	began := time.Now()
	p := newSachet(t, bin, dialect)

	// First content (POST) and a replacement (PUT): chunks 0..n-2, in a
	// shuffled order, each answered 200; kill; the last chunk completes.
	share := p.s.newShare(p.s.admin, "crash-acked.bin")
	const n = 1 << 20
	first := randBytes(5*n + 4321)
	second := randBytes(4*n + 1)
	for _, step := range []struct {
		method string
		data   []byte
	}{{"POST", first}, {"PUT", second}} {
		id := "acked-" + step.method + "-" + randHex(6)
		total := chunkCount(len(step.data), n)
		order := mrand.Perm(total - 1)
		for _, i := range order {
			p.sendChunkExpect(step.method, share, id, step.data, n, i, http.StatusOK)
		}
		p.restart()
		if step.method == "POST" {
			// Not complete, so no content yet.
			expect(t, p.s.content(share, p.s.admin), http.StatusNotFound)
		} else {
			p.mustServe(share, first, "the first content (the replacement is not complete)")
		}
		p.sendChunkExpect(step.method, share, id, step.data, n, total-1, http.StatusCreated)
		p.mustServe(share, step.data, step.method+"'s whole file (chunks acknowledged before the crash)")
		if onS3() {
			if objs, ups := p.s3Count("chunks/"); objs != 0 || ups != 0 {
				t.Errorf("after the %s upload completed, %d staged chunks and %d multipart uploads remain", step.method, objs, ups)
			}
			continue
		}
		if left := p.files("chunks"); len(left) != 0 {
			t.Errorf("after the %s upload completed, chunk files remain: %v", step.method, left)
		}
	}
	if onS3() {
		if objs, ups := p.s3Count("blobs/"); objs != 1 || ups != 0 {
			t.Errorf("blobs/ holds %d objects and %d multipart uploads, want 1 object (the share's content)", objs, ups)
		}
		t.Logf("%s: acknowledged chunks survive (S3) passed in %v", dialect, time.Since(began).Round(time.Millisecond))
		return
	}
	if left := p.files("tmp"); len(left) != 0 {
		t.Errorf("blobs/tmp is not empty: %v", left)
	}
	if left := p.files("blobs"); len(left) != 1 {
		t.Errorf("blobs/blobs holds %d files, want 1: %v", len(left), left)
	}
	t.Logf("%s: acknowledged chunks survive passed in %v", dialect, time.Since(began).Round(time.Millisecond))
}

// ---- 4. kill -9 between and during appends to the assembly file ----

func crashAppending(t *testing.T, bin, dialect string) {
	began := time.Now()
	p := newSachet(t, bin, dialect)
	share := p.s.newShare(p.s.admin, "crash-appending.bin")
	n := 2 << 20 // more than the server's 1 MiB copy buffer
	if onS3() {
		// S3's smallest part: each chunk sent in order becomes a part of
		// B's multipart upload, which stands for the assembly file.
		n = 5 << 20
	}
	a := randBytes(2*n + 5)
	p.uploadAll("POST", share, "a-"+randHex(8), a, n)
	p.mustServe(share, a, "A")

	b := randBytes(6*n + 999)
	bID := "b-" + randHex(8)
	total := chunkCount(len(b), n)
	// assembly is B's assembly file, its size and inode; on S3, B's
	// multipart upload ("u/<blob id>/<upload id>", its own identity), and
	// the size of its parts.
	storage, endpoint := p.s3Env()
	assembly := func() (name string, size int64, ino uint64) {
		t.Helper()
		names := p.files("assembly")
		if len(names) != 1 {
			t.Fatalf("blobs/assembly holds %v, want B's assembly file", names)
		}
		if onS3() {
			_, size = s3Listing(t, storage, endpoint, "assembly")
			return names[0], size, 0
		}
		fi, err := os.Stat(filepath.Join(p.blobDir("assembly"), names[0]))
		if err != nil {
			t.Fatal(err)
		}
		return names[0], fi.Size(), fi.Sys().(*syscall.Stat_t).Ino
	}

	// Killed between appends: after chunk 1, and after chunk 3.
	p.sendChunkExpect("PUT", share, bID, b, n, 0, http.StatusOK)
	p.sendChunkExpect("PUT", share, bID, b, n, 1, http.StatusOK)
	p.restart()
	p.mustServe(share, a, "A (B is not complete)")
	name, size, ino := assembly()
	if size != int64(2*n) {
		t.Errorf("after a kill between appends, the assembly file has %d bytes, want the 2 chunks acknowledged (%d)", size, 2*n)
	}
	p.sendChunkExpect("PUT", share, bID, b, n, 2, http.StatusOK)
	p.sendChunkExpect("PUT", share, bID, b, n, 3, http.StatusOK)
	p.restart()
	p.mustServe(share, a, "A (B is not complete)")

	// Killed while chunk 4 streams onto the assembly file.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest("PUT", p.url+"/files/"+share+"/content", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.s.admin)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	raw := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	done := make(chan error, 1)
	go func() {
		resp, err := raw.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
			if resp.StatusCode >= 300 {
				err = nil // refused: fine, nothing was acknowledged
			}
			done <- err
			return
		}
		done <- nil
	}()
	stopTrickle := make(chan struct{})
	wrote := make(chan struct{})
	threeQuarters := make(chan struct{})
	go func() {
		defer close(wrote)
		for _, kv := range [][2]string{{"dzuuid", bID}, {"dzchunkindex", "4"}, {"dztotalchunks", fmt.Sprint(total)}} {
			mw.WriteField(kv[0], kv[1])
		}
		fw, err := mw.CreateFormFile("upload", "blob")
		if err != nil {
			return
		}
		c := chunkOf(b, n, 4)
		if _, err := fw.Write(c[:n*3/4]); err != nil {
			return
		}
		close(threeQuarters)
		// Then a trickle, never the whole chunk, so that no idle timeout
		// cuts the request before the kill.
		for rest := c[n*3/4:]; len(rest) > 4096; rest = rest[4096:] {
			select {
			case <-stopTrickle:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := fw.Write(rest[:4096]); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if onS3() {
			// A part is nothing in the bucket until it is whole (crashMidUpload):
			// kill once three quarters of it went out.
			select {
			case <-threeQuarters:
			case <-time.After(10 * time.Second):
				t.Fatal("three quarters of chunk 4 were not taken within 10 s")
			}
			break
		}
		if _, size, _ := assembly(); size > int64(4*n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chunk 4 did not reach the assembly file within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	close(stopTrickle)
	pw.CloseWithError(errors.New("server killed"))
	within(t, 30*time.Second, "the chunk writer, after its pipe was closed", wrote)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the half-sent chunk was %v: the server cannot have had all of it", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the half-sent chunk's request did not end within 30 s of the kill")
	}
	p.start()
	p.mustServe(share, a, "A (killed while B's chunk 4 was appended)")
	if n2, size2, ino2 := assembly(); n2 != name || ino2 != ino {
		t.Fatalf("the assembly file changed across the kills: %s/%d, then %s/%d", name, ino, n2, ino2)
	} else if onS3() && size2 != int64(4*n) {
		t.Errorf("after a kill while chunk 4 streamed, B's multipart upload holds %d bytes of parts, want the 4 chunks acknowledged (%d)", size2, 4*n)
	}

	// Re-sending chunk 4, then the rest, finishes B: the acknowledged
	// chunks survived, the interrupted append's bytes are gone.
	for i := 4; i < total; i++ {
		want := http.StatusOK
		if i == total-1 {
			want = http.StatusCreated
		}
		p.sendChunkExpect("PUT", share, bID, b, n, i, want)
	}
	p.mustServe(share, b, "B (finished after the kills)")
	blobs := p.files("blobs")
	if len(blobs) != 1 {
		t.Fatalf("blobs/blobs holds %v, want B's content only", blobs)
	}
	if onS3() {
		// Completing the multipart upload made the blob in place: its key
		// is the upload's, so no part was copied.
		if !strings.HasPrefix(name, "u/"+blobs[0]+"/") {
			t.Errorf("B's content is blob %s, its multipart upload was %s: the parts were copied", blobs[0], name)
		}
		if left := p.files("assembly"); len(left) != 0 {
			t.Errorf("after B completed, multipart uploads remain: %v", left)
		}
	} else if fi, err := os.Stat(filepath.Join(p.blobDir("blobs"), blobs[0])); err != nil {
		t.Fatal(err)
	} else if got := fi.Sys().(*syscall.Stat_t).Ino; got != ino {
		t.Errorf("B's content file is inode %d, its assembly file was %d: the chunks were copied", got, ino)
	}
	p.cleanup(time.Now())
	if chunks, blobs := p.checkLeftovers(); chunks != 0 || blobs != 1 {
		t.Errorf("after cleanup: %d chunk/assembly file(s) (want 0) and %d blob(s) (want 1)", chunks, blobs)
	}
	t.Logf("%s: kill while appending passed in %v", dialect, time.Since(began).Round(time.Millisecond))
}

// ---- small helpers ----

// tailBuffer keeps the last max bytes written to it; safe for concurrent
// writers (a process's stdout and stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
