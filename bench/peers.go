package main

// The peers section (issue 14 item 1, `make bench-peers`, flag -peers):
// other Go file-transfer servers, pinned and installed into bin/peers by
// scripts/install-peers, each driven through its own upload API with the
// same bytes next to a fresh sachet, all on loopback with their data under
// the same temporary dir (same disk, same filesystem).
//
//   - tusd v2.9.1 (tus 1.0: POST creation, then one streamed PATCH with
//     Upload-Offset 0, as tus-js-client sends by default; GET downloads).
//   - filebrowser v2.32.0 (POST /api/login → JWT; POST /api/resources/<p>
//     with the raw body; GET /api/raw/<p>).
//
// A peer whose binary is missing is skipped, and the table says so.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A peer is one running server the section drives.
type peer struct {
	name    string
	version string
	pid     int
	// upload sends size bytes of the seeded stream and returns the URL a
	// plain GET downloads them from (auth in the URL or in hdr), and a
	// cleanup that deletes them.
	upload func(ctx context.Context, size int64, seed uint64) (url string, cleanup func(), err error)
	hdr    http.Header // sent with each download (Sachet's bearer token)
	stop   func()
}

// peerFigures is what the section measured for one server.
type peerFigures struct {
	up, down1, downPar []float64
	mem                memPeak
	skipped            string
}

// peerProc is a peer process started by the section.
type peerProc struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

func (p *peerProc) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *peerProc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	return lastLines(b, 5)
}

// startPeerProc runs bin with args in dir and waits until addr accepts
// connections.
func startPeerProc(ctx context.Context, bin, dir, addr string, args ...string) (*peerProc, error) {
	p := &peerProc{logPath: filepath.Join(dir, "log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start: %s", filepath.Base(bin), p.logTail())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(30 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen within 30 s: %s", filepath.Base(bin), p.logTail())
		}
	}
}

// peerDir is where scripts/install-peers puts the binaries: bin/peers next
// to the sachet binary.
func (b *bench) peerDir() string {
	if b.cfg.peerDir != "" {
		return b.cfg.peerDir
	}
	return filepath.Join(filepath.Dir(b.cfg.bin), "peers")
}

// seededBody is size bytes of the seeded stream as a request body.
func seededBody(size int64, seed uint64) io.Reader { return io.LimitReader(newPRNG(seed), size) }

// streamSHA is the hex SHA-256 of size bytes of the seeded stream.
func streamSHA(size int64, seed uint64) string {
	h := sha256.New()
	io.CopyBuffer(h, seededBody(size, seed), make([]byte, ioBuf))
	return hex.EncodeToString(h.Sum(nil))
}

func (b *bench) do(ctx context.Context, method, url string, body io.Reader, length int64, hdr map[string]string, want int) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.ContentLength = length
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, nil, b.t.record(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != want {
		return resp, rb, b.t.record(fmt.Errorf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, snippet(rb)))
	}
	b.t.ok()
	return resp, rb, nil
}

// startSachetPeer is a fresh sachet on SQLite, driven like the main
// scenarios (Dropzone chunks of -chunk bytes).
func (b *bench) startSachetPeer(ctx context.Context, dir string) (*peer, error) {
	srv, err := startServer(ctx, b.cfg.bin, dir, "", b.cfg.bcryptCost)
	if err != nil {
		return nil, err
	}
	s := &session{b: b, db: "peers", dir: dir, srv: srv, user: "bench", pw: "bench-" + randomHex(12)}
	if err := s.setupAdmin(ctx); err != nil {
		srv.stop()
		return nil, err
	}
	up := newUploader(s.a)
	return &peer{
		name: "sachet", version: "this tree (SQLite, " + fmtSize(b.cfg.chunk) + " Dropzone chunks)", pid: srv.pid(),
		hdr:  http.Header{"Authorization": {"Bearer " + s.a.token}},
		stop: srv.stop,
		upload: func(ctx context.Context, size int64, seed uint64) (string, func(), error) {
			id, _, err := s.uploadOne(ctx, up, "peer.bin", size, seed)
			if err != nil {
				if id != "" {
					s.deleteAll(ctx, []string{id})
				}
				return "", nil, err
			}
			return s.contentURL(id), func() { s.deleteAll(context.Background(), []string{id}) }, nil
		},
	}, nil
}

func (b *bench) startTusd(ctx context.Context, bin, dir string) (*peer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	p, err := startPeerProc(ctx, bin, dir, addr, "-host", "127.0.0.1", "-port", strconv.Itoa(port),
		"-upload-dir", filepath.Join(dir, "data"), "-base-path", "/files/", "-verbose=false")
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	tus := map[string]string{"Tus-Resumable": "1.0.0"}
	return &peer{
		name: "tusd", version: "v2.9.1 (one PATCH per file)", pid: p.cmd.Process.Pid, stop: p.stop,
		upload: func(ctx context.Context, size int64, seed uint64) (string, func(), error) {
			resp, _, err := b.do(ctx, http.MethodPost, base+"/files/", http.NoBody, 0,
				map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": strconv.FormatInt(size, 10)}, http.StatusCreated)
			if err != nil {
				return "", nil, err
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, "http") {
				loc = base + loc
			}
			_, _, err = b.do(ctx, http.MethodPatch, loc, seededBody(size, seed), size, map[string]string{
				"Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
			}, http.StatusNoContent)
			if err != nil {
				return "", nil, err
			}
			return loc, func() { b.do(context.Background(), http.MethodDelete, loc, nil, 0, tus, http.StatusNoContent) }, nil
		},
	}, nil
}

func (b *bench) startFilebrowser(ctx context.Context, bin, dir string) (*peer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	root := filepath.Join(dir, "data")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "filebrowser.db")
	user, pw := "bench", "bench-"+randomHex(12)
	for _, args := range [][]string{
		{"config", "init", "-d", db},
		{"users", "add", user, pw, "--perm.admin", "-d", db},
	} {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("filebrowser %s: %v: %s", strings.Join(args[:2], " "), err, lastLines(out, 3))
		}
	}
	p, err := startPeerProc(ctx, bin, dir, addr, "-d", db, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-r", root)
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	_, tok, err := b.do(ctx, http.MethodPost, base+"/api/login", strings.NewReader(`{"username":"`+user+`","password":"`+pw+`","recaptcha":""}`), -1,
		map[string]string{"Content-Type": "application/json"}, http.StatusOK)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("filebrowser login: %w", err)
	}
	auth := map[string]string{"X-Auth": strings.TrimSpace(string(tok))}
	n := 0
	return &peer{
		name: "filebrowser", version: "v2.32.0 (one POST per file)", pid: p.cmd.Process.Pid, stop: p.stop,
		upload: func(ctx context.Context, size int64, seed uint64) (string, func(), error) {
			n++
			name := fmt.Sprintf("peer-%d.bin", n)
			if _, _, err := b.do(ctx, http.MethodPost, base+"/api/resources/"+name+"?override=true", seededBody(size, seed), size, auth, http.StatusOK); err != nil {
				return "", nil, err
			}
			return base + "/api/raw/" + name + "?auth=" + auth["X-Auth"],
				func() {
					b.do(context.Background(), http.MethodDelete, base+"/api/resources/"+name, nil, 0, auth, http.StatusNoContent)
				}, nil
		},
	}, nil
}

// downloadWith is download() with extra request headers.
func (b *bench) peerDownload(ctx context.Context, p *peer, url string, size int64, buf []byte, h hash.Hash) error {
	tok := ""
	if a := p.hdr.Get("Authorization"); a != "" {
		tok = strings.TrimPrefix(a, "Bearer ")
	}
	return b.t.record(download(ctx, b.hc, url, tok, size, buf, h))
}

// runPeers is the section: start every server, then per run, for each
// server in turn (rotating which goes first), upload the big file once, download it once and par
// times at once. Interleaving the servers within each run spreads the
// machine's drift over all of them.
func (b *bench) runPeers(ctx context.Context) error {
	cfg := b.cfg
	dir := filepath.Join(b.tmp, "peers")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pdir := b.peerDir()
	b.logf("[peers] starting sachet and the peers in %s", pdir)
	var peers []*peer
	figs := map[string]*peerFigures{}
	order := []string{"sachet", "tusd", "filebrowser"}
	defer func() {
		for _, p := range peers {
			p.stop()
		}
	}()
	for _, name := range order {
		figs[name] = &peerFigures{mem: noMem()}
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		var p *peer
		var err error
		switch name {
		case "sachet":
			p, err = b.startSachetPeer(ctx, sub)
			if err != nil {
				return fmt.Errorf("sachet: %w", err)
			}
		default:
			bin := filepath.Join(pdir, name)
			if _, serr := os.Stat(bin); serr != nil {
				figs[name].skipped = "not installed (" + bin + " missing; run scripts/install-peers)"
				b.notes = append(b.notes, "peers: "+name+" skipped: "+figs[name].skipped)
				b.logf("NOTE peers: %s skipped: %s", name, figs[name].skipped)
				continue
			}
			if name == "tusd" {
				p, err = b.startTusd(ctx, bin, sub)
			} else {
				p, err = b.startFilebrowser(ctx, bin, sub)
			}
			if err != nil {
				figs[name].skipped = "could not be started: " + firstLine(err.Error())
				b.notes = append(b.notes, "peers: "+name+" skipped: "+figs[name].skipped)
				b.logf("NOTE peers: %s skipped: %v", name, err)
				continue
			}
		}
		peers = append(peers, p)
	}

	bufs := make([][]byte, cfg.par)
	for i := range bufs {
		bufs[i] = make([]byte, ioBuf)
	}
	size := cfg.big
	var ddSync, ddNoSync []float64
	for r := range cfg.runs {
		seed := uint64(7000 + r)
		want := ""
		if cfg.verify {
			want = streamSHA(size, seed)
		}
		for k := range peers {
			// Rotate who goes first: the first server of a run follows
			// the previous run's dd and uploads on a cooler page cache.
			p := peers[(k+r)%len(peers)]
			f := figs[p.name]
			smp := startSampler(p.pid)
			t0 := time.Now()
			url, cleanup, err := p.upload(ctx, size, seed)
			el := time.Since(t0)
			if err != nil {
				f.mem = f.mem.max(smp.end())
				return fmt.Errorf("%s upload: %w", p.name, err)
			}
			f.up = append(f.up, float64(size)/float64(MiB)/el.Seconds())
			// Untimed check (and, with -verify, hash) of what it serves.
			var h hash.Hash
			if want != "" {
				h = sha256.New()
			}
			if err := b.peerDownload(ctx, p, url, size, bufs[0], h); err != nil {
				f.mem = f.mem.max(smp.end())
				cleanup()
				return fmt.Errorf("%s download: %w", p.name, err)
			}
			if h != nil {
				if got := hex.EncodeToString(h.Sum(nil)); got != want {
					err := fmt.Errorf("%s serves bytes hashing to %s, the upload hashed to %s", p.name, got, want)
					b.t.fail(err)
					f.mem = f.mem.max(smp.end())
					cleanup()
					return err
				}
			}
			t0 = time.Now()
			err = b.peerDownload(ctx, p, url, size, bufs[0], nil)
			if err == nil {
				f.down1 = append(f.down1, float64(size)/float64(MiB)/time.Since(t0).Seconds())
				errs := make([]error, cfg.par)
				done := make(chan int, cfg.par)
				t0 = time.Now()
				for i := range cfg.par {
					go func() { errs[i] = b.peerDownload(ctx, p, url, size, bufs[i], nil); done <- i }()
				}
				for range cfg.par {
					<-done
				}
				err = errors.Join(errs...)
				if err == nil {
					f.downPar = append(f.downPar, float64(cfg.par)*float64(size)/float64(MiB)/time.Since(t0).Seconds())
				}
			}
			f.mem = f.mem.max(smp.end())
			cleanup()
			if err != nil {
				return fmt.Errorf("%s download: %w", p.name, err)
			}
			b.logf("[peers] run %d/%d %s: upload %.0f MiB/s, download %.0f / %d× %.0f MiB/s",
				r+1, cfg.runs, p.name, last1(f.up), last1(f.down1), cfg.par, last1(f.downPar))
		}
		if cfg.dd {
			// What durability costs on this disk: the same bytes with and
			// without the final fsync. Sachet fsyncs every chunk before
			// acknowledging it; tusd and filebrowser fsync nothing.
			if v, err := runDDSync(ctx, dir, size, true); err == nil {
				ddSync = append(ddSync, v)
			}
			if v, err := runDDSync(ctx, dir, size, false); err == nil {
				ddNoSync = append(ddNoSync, v)
			}
		}
	}

	b.peerRows(order, figs, ddSync, ddNoSync)
	return nil
}

func last1(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}

// peerRows adds one row per line (sachet against the best peer) to the
// main table, and the per-server table as its own section.
func (b *bench) peerRows(order []string, figs map[string]*peerFigures, ddSync, ddNoSync []float64) {
	cfg := b.cfg
	type line struct {
		name string
		get  func(*peerFigures) []float64
	}
	lines := []line{
		{fmt.Sprintf("upload %s, 1 stream, each server's own upload API", fmtSize(cfg.big)), func(f *peerFigures) []float64 { return f.up }},
		{fmt.Sprintf("download %s, 1 stream", fmtSize(cfg.big)), func(f *peerFigures) []float64 { return f.down1 }},
		{fmt.Sprintf("download %s, %d parallel", fmtSize(cfg.big), cfg.par), func(f *peerFigures) []float64 { return f.downPar }},
	}
	sachet := figs["sachet"]
	for _, l := range lines {
		best, bestName := math.NaN(), ""
		for _, n := range order[1:] {
			if v := median(l.get(figs[n])); !math.IsNaN(v) && (math.IsNaN(best) || v > best) {
				best, bestName = v, n
			}
		}
		v := median(l.get(sachet))
		r := row{db: "peers", name: l.name, value: fmtNum(v) + " MiB/s", ratio: v / best, target: "≥ 1.0 × best peer", mem: sachet.mem}
		if bestName == "" {
			r.ref, r.met = "— (no peer ran)", "n/a"
		} else {
			r.ref = fmtNum(best) + " MiB/s (" + bestName + ")"
			r.met = "no"
			if r.ratio >= 1 {
				r.met = "yes"
			}
		}
		b.rows = append(b.rows, r)
		b.logf("[peers] %s: sachet %s | best peer %s | %s", r.name, r.value, r.ref, fmtRatio(r.ratio))
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "## Peers side by side (issue 14)\n\n")
	fmt.Fprintf(&sb, "Each server on loopback, data under the same temporary dir; the same %s of pseudo-random bytes pushed through each one's own upload API, then downloaded once and %d× at once (medians of %d runs; servers interleaved within each run, the order rotated from run to run). Peak RSS: VmRSS sampled every %s / VmHWM, over the whole section.\n\n",
		fmtSize(cfg.big), cfg.par, cfg.runs, sampleEvery)
	fmt.Fprintf(&sb, "| server | version, client | upload MiB/s | download 1 stream MiB/s | download %d× MiB/s | peak RSS MiB |\n|---|---|---|---|---|---|\n", cfg.par)
	versions := map[string]string{"sachet": "this tree", "tusd": "v2.9.1", "filebrowser": "v2.32.0"}
	for _, n := range order {
		f := figs[n]
		if f.skipped != "" {
			fmt.Fprintf(&sb, "| %s | %s | **skipped: %s** | | | |\n", n, versions[n], strings.ReplaceAll(f.skipped, "|", "\\|"))
			continue
		}
		v := versions[n]
		switch n {
		case "sachet":
			v += ", SQLite, Dropzone " + fmtSize(cfg.chunk) + " chunks, fsync per chunk"
		case "tusd":
			v += ", tus POST + one PATCH, no fsync; its file lock serialises GETs of one upload (acquirer polls every 2 s)"
		case "filebrowser":
			v += ", POST /api/resources, no fsync"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", n, v, fmtNum(median(f.up)), fmtNum(median(f.down1)), fmtNum(median(f.downPar)), fmtMem(f.mem))
	}
	if len(ddSync) > 0 {
		fmt.Fprintf(&sb, "| dd (reference) | `dd bs=8M` of %s into the same dir | with `conv=fsync` %s / without %s | | | |\n",
			fmtSize(cfg.big), fmtNum(median(ddSync)), fmtNum(median(ddNoSync)))
	}
	b.sections = append(b.sections, sb.String())
}
