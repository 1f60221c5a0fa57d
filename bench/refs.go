package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// findNginx returns the nginx binary, installing it from apt once when
// allowed and absent.
func findNginx(ctx context.Context, install bool, logf func(string, ...any)) (string, error) {
	look := func() string {
		if p, err := exec.LookPath("nginx"); err == nil {
			return p
		}
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
		return ""
	}
	if p := look(); p != "" {
		return p, nil
	}
	if !install {
		return "", errors.New("nginx is not installed")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", errors.New("nginx is not installed and there is no apt-get to install it")
	}
	logf("nginx is not installed: apt-get install -y nginx …")
	aptInstall := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "nginx")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := aptInstall(); err != nil {
		// The package lists may be missing on a fresh machine.
		upd := exec.CommandContext(ctx, "apt-get", "update", "-q")
		upd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out2, err2 := upd.CombinedOutput(); err2 != nil {
			return "", fmt.Errorf("apt-get update: %v: %s", err2, lastLines(out2, 3))
		}
		if out, err := aptInstall(); err != nil {
			return "", fmt.Errorf("apt-get install -y nginx: %v: %s", err, lastLines(out, 3))
		}
	}
	if p := look(); p != "" {
		return p, nil
	}
	return "", errors.New("apt-get installed nginx but no nginx binary was found")
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

func nginxVersion(bin string) string {
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: "))
}

// nginx is a running nginx serving one directory.
type nginx struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	exited chan struct{}
}

// startNginx serves root on a free loopback port with a generated config:
// as many workers as sachet has cores, sendfile, no access log, keep-alive
// without a request limit (sachet has none either).
func startNginx(ctx context.Context, bin, dir, root string) (*nginx, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n := &nginx{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, exited: make(chan struct{})}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers must read our 0700 temp dirs
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes %d;
%s
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    client_body_temp_path %[3]s/client_body;
    proxy_temp_path %[3]s/proxy;
    fastcgi_temp_path %[3]s/fastcgi;
    uwsgi_temp_path %[3]s/uwsgi;
    scgi_temp_path %[3]s/scgi;
    server {
        listen %[4]s;
        root %[5]s;
    }
}
`, runtime.NumCPU(), user, dir, n.addr, root)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-p", dir + "/", "-c", confPath}
	if out, err := exec.Command(bin, append(args, "-e", filepath.Join(dir, "error.log"), "-t")...).CombinedOutput(); err == nil {
		args = append(args, "-e", filepath.Join(dir, "error.log"))
	} else if out2, err2 := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err2 != nil {
		return nil, fmt.Errorf("nginx -t: %v: %s %s", err2, lastLines(out, 3), lastLines(out2, 3))
	}
	var out bytes.Buffer
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = &out, &out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-n.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx exited at start: %s %s", lastLines(out.Bytes(), 3), lastLines(b, 3))
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(30 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", n.addr, time.Second); err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, errors.New("nginx did not listen within 15 s")
		}
	}
}

func (n *nginx) url(name string) string { return "http://" + n.addr + "/" + name }

func (n *nginx) stop() {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// linkBlob hard-links the one file of exactly size bytes under the server's
// data dir (the share's blob) to dst, so nginx serves the very same bytes
// from the same disk (and the same page cache). When there is not exactly
// one, or linking fails, it writes the same pseudo-random bytes instead and
// says so.
func linkBlob(dataDir, dst string, want int64, seed uint64) (how string, err error) {
	os.Remove(dst)
	var found []string
	filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Size() == want {
			found = append(found, p)
		}
		return nil
	})
	if len(found) == 1 {
		if err := os.Link(found[0], dst); err == nil {
			return "a hard link to the share's blob file", nil
		}
	}
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := io.CopyBuffer(f, io.LimitReader(newPRNG(seed), want), make([]byte, ioBuf)); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return fmt.Sprintf("a copy of the same bytes in the data dir (%d candidate blobs, no link)", len(found)), nil
}

var ddCopied = regexp.MustCompile(`(\d+) bytes .*copied, ([0-9.]+) s`)

// runDD writes n bytes of zeros to dir with dd conv=fsync and returns MiB/s
// (from dd's own byte count and time; the wall time if unparsable).
func runDD(ctx context.Context, dir string, n int64) (float64, error) {
	return runDDSync(ctx, dir, n, true)
}

// runDDSync is runDD, with conv=fsync only when fsync is set (the peers
// section shows what the fsync costs on this disk).
func runDDSync(ctx context.Context, dir string, n int64, fsync bool) (float64, error) {
	bs := int64(8 * MiB)
	switch {
	case n%bs == 0:
	case n%MiB == 0:
		bs = MiB
	default:
		bs = n
	}
	count := n / bs
	path := filepath.Join(dir, "dd.tmp")
	defer os.Remove(path)
	args := []string{"if=/dev/zero", "of=" + path, fmt.Sprintf("bs=%d", bs), fmt.Sprintf("count=%d", count)}
	if fsync {
		args = append(args, "conv=fsync")
	}
	cmd := exec.CommandContext(ctx, "dd", args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("dd: %v: %s", err, lastLines(out.Bytes(), 2))
	}
	if m := ddCopied.FindStringSubmatch(out.String()); m != nil {
		b, _ := strconv.ParseInt(m[1], 10, 64)
		secs, _ := strconv.ParseFloat(m[2], 64)
		if b == n && secs > 0 {
			return float64(b) / float64(MiB) / secs, nil
		}
	}
	return float64(n) / float64(MiB) / wall.Seconds(), nil
}

// bcryptRate is CompareHashAndPassword's own rate at cost on workers
// goroutines for dur.
func bcryptRate(ctx context.Context, cost, workers int, dur time.Duration) (float64, error) {
	pw := []byte("bench-password-" + randomHex(8))
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	t0 := time.Now()
	timer := time.AfterFunc(dur, func() { stop.Store(true) })
	defer timer.Stop()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				if err := bcrypt.CompareHashAndPassword(h, pw); err != nil {
					errc <- err
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return float64(n.Load()) / time.Since(t0).Seconds(), nil
}

// checkNginxServes HEADs the file and checks its length.
func checkNginxServes(ctx context.Context, hc *http.Client, url string, want int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != want {
		return fmt.Errorf("nginx HEAD %s: status %d, length %d (want 200, %d)", url, resp.StatusCode, resp.ContentLength, want)
	}
	return nil
}

// ddAround runs the dd conv=fsync reference n times (when -dd) and appends
// its figures to to. The upload scenario runs it once before and twice
// after each upload and takes the median of all, because dd alone swings
// by 3× back to back on this disk (issue 14, item 6).
func (s *session) ddAround(ctx context.Context, to []float64, size int64, n int) []float64 {
	if !s.b.cfg.dd {
		return to
	}
	for range n {
		v, err := runDD(ctx, s.srv.dataDir, size)
		if err != nil {
			s.note("dd reference failed: %v", err)
			return to
		}
		to = append(to, v)
	}
	return to
}

// ddSpread adds the dd figures' range to a row's reference cell.
func ddSpread(r row, dd []float64) row {
	if len(dd) > 1 {
		r.ref += fmt.Sprintf(" median of %d, %s–%s", len(dd), fmtNum(slices.Min(dd)), fmtNum(slices.Max(dd)))
	}
	return r
}
