package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Scenario cli (issue 13 item 5): the sachet client against the bench
// tool's own transfers of the same bytes. Push: `sachet push FILE` as in
// pushVariants, against the raw single-stream upload (pseudo-random bytes
// straight from memory, no file, no hashing).
// Pull: `sachet pull ID -o FILE` against `curl -o FILE` of the same share,
// both writing a file on the same disk. Every figure is a whole command's
// wall time (process start to exit), medians of -runs; each ratio is the
// median of the per-run ratios of paired runs.
func (s *session) scenarioCLI(ctx context.Context) error {
	cfg := s.b.cfg
	dir := filepath.Join(s.dir, "cli")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := &cliRunner{bin: s.b.cfg.bin, env: cliEnv(dir)}

	// The file to push: written once, so it sits in the page cache for
	// every push (the raw upload reads no file at all).
	src := filepath.Join(dir, "push.bin")
	srcSHA, err := writePRNGFile(src, cfg.big, 4242)
	if err != nil {
		return fmt.Errorf("writing the file to push: %w", err)
	}
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(s.pw+"\n"), 0o600); err != nil {
		return err
	}
	if _, _, err := c.run(ctx, "login", s.srv.base(), "--username", s.user, "--password-file", pw); err != nil {
		return err
	}
	curl, curlErr := exec.LookPath("curl")
	if curlErr != nil {
		s.note("curl not found: the pull reference is skipped")
	}

	// Each command is measured by its wall time and by the CPU it and the
	// server used (client + server seconds per GiB): on a loaded machine
	// the wall times swing, the CPU figures much less, and they show
	// where the time goes.
	raw, curlM, pullM := newMeasure(), newMeasure(), newMeasure()
	push := make([]*measure, len(pushVariants))
	for k := range push {
		push[k] = newMeasure()
	}
	gib := float64(cfg.big) / float64(GiB)
	mibps := func(d time.Duration) float64 { return float64(cfg.big) / float64(MiB) / d.Seconds() }
	// timed runs fn and records it in m; fn returns the client's CPU time.
	timed := func(m *measure, fn func() (time.Duration, error)) error {
		smp := s.sample()
		srv0 := procCPU(s.srv.pid())
		t0 := time.Now()
		cpu, err := fn()
		el := time.Since(t0)
		srv := procCPU(s.srv.pid()) - srv0
		m.mem = m.mem.max(smp.end())
		if err != nil {
			return err
		}
		m.rate = append(m.rate, mibps(el))
		m.cpuClient = append(m.cpuClient, cpu.Seconds()/gib)
		m.cpuServer = append(m.cpuServer, srv.Seconds()/gib)
		return nil
	}
	variants := pushVariants
	if !cfg.cliAll {
		variants = variants[:1]
	}
	up := newUploader(s.a)
	rawRun := func(r int) error {
		// Raw single-stream upload, as in the upload scenario; its client
		// CPU is this process's, which does nothing else meanwhile.
		id, err := s.a.createShare(ctx, "raw.bin")
		if err != nil {
			return err
		}
		err = timed(raw, func() (time.Duration, error) {
			c0 := selfCPU()
			_, err := up.upload(ctx, id, cfg.big, cfg.chunk, uint64(5000+r), false)
			return selfCPU() - c0, err
		})
		s.deleteAll(ctx, []string{id})
		if err != nil {
			return fmt.Errorf("raw upload: %w", err)
		}
		return nil
	}
	dst := filepath.Join(dir, "pulled.bin")
	curlRun := func(pulled string) {
		if curlErr != nil {
			return
		}
		err := timed(curlM, func() (time.Duration, error) {
			_, cpu, err := c.exec(ctx, curl, "-sS", "--fail", "-o", dst, "-H", "Authorization: Bearer "+s.a.token, s.contentURL(pulled))
			if err == nil {
				err = checkFileSize(dst, cfg.big)
			}
			return cpu, err
		})
		if err != nil {
			s.note("curl failed: %v", err)
		}
		_ = os.Remove(dst)
	}
	pullRun := func(pulled string) error {
		err := timed(pullM, func() (time.Duration, error) {
			_, cpu, err := c.run(ctx, "pull", "--json", "--no-progress", pulled, "-o", dst)
			if err == nil {
				err = checkFileSize(dst, cfg.big)
			}
			return cpu, err
		})
		_ = os.Remove(dst)
		return err
	}
	for r := range cfg.runs {
		// Paired runs: each command and its reference run back to back,
		// the reference first in even runs and last in odd ones, so that
		// the load of the minute falls on both; each run gives a ratio,
		// and the row's ratio is the median of those (on this shared
		// machine single commands swing 2-3x from minute to minute).
		refFirst := r%2 == 0
		if refFirst {
			if err := rawRun(r); err != nil {
				return err
			}
		}
		// sachet push as in pushVariants (the whole file's SHA-256 is
		// sent and checked in each); the first share stays for the pulls.
		var pulled string
		for k, v := range variants {
			args := append([]string{"push", "--json", "--no-progress", "--chunk-size", fmt.Sprint(cfg.chunk)}, strings.Fields(v.args)...)
			var out []byte
			if err := timed(push[k], func() (cpu time.Duration, err error) {
				out, cpu, err = c.run(ctx, append(args, src)...)
				return cpu, err
			}); err != nil {
				return err
			}
			var res struct {
				ShareID string `json:"share_id"`
			}
			if err := json.Unmarshal(out, &res); err != nil || res.ShareID == "" {
				return fmt.Errorf("sachet push: unexpected output %q", snippet(out))
			}
			if err := s.checkShare(ctx, res.ShareID, cfg.big, srcSHA); err != nil {
				return err
			}
			if k == 0 {
				pulled = res.ShareID
			} else {
				s.deleteAll(ctx, []string{res.ShareID})
			}
		}
		if !refFirst {
			if err := rawRun(r); err != nil {
				return err
			}
		}
		for k := range variants {
			push[k].pair(raw)
		}

		// curl and sachet pull of the same share into the same
		// directory, in the same alternating order; each file is removed
		// before the next command.
		if refFirst {
			curlRun(pulled)
		}
		err := pullRun(pulled)
		if err == nil && !refFirst {
			curlRun(pulled)
		}
		s.deleteAll(ctx, []string{pulled})
		if err != nil {
			return err
		}
		pullM.pair(curlM)
		var pushes []string
		for k := range variants {
			pushes = append(pushes, last(push[k].rate))
		}
		s.logf("cli run %d/%d (%s): raw upload %s, push %s MiB/s (%.2fx); curl %s, pull %s MiB/s (%.2fx)", r+1, cfg.runs,
			map[bool]string{true: "references first", false: "references last"}[refFirst],
			last(raw.rate), strings.Join(pushes, " / "), last1(push[0].ratio), last(curlM.rate), last(pullM.rate), last1(pullM.ratio))
	}
	size := fmtSize(cfg.big)
	for k, v := range variants {
		s.add(push[k].row(fmt.Sprintf("CLI push %s, %s", size, v.name), raw, "raw upload"))
	}
	s.add(pullM.row(fmt.Sprintf("CLI pull %s (sachet pull -o FILE)", size), curlM, "curl -o FILE"))
	return nil
}

// measure is one command's figures over the runs.
type measure struct {
	rate                 []float64 // MiB/s
	ratio                []float64 // per run, against the reference of the same run (pair)
	cpuClient, cpuServer []float64 // CPU seconds per GiB
	mem                  memPeak
}

func newMeasure() *measure { return &measure{mem: noMem()} }

// cpu is "CPU c + s s/GiB": medians of the client's and the server's.
func (m *measure) cpu() string {
	if len(m.cpuClient) == 0 {
		return ""
	}
	return fmt.Sprintf(" · CPU %.2f + %.2f s/GiB", median(m.cpuClient), median(m.cpuServer))
}

// pair records this run's ratio against ref's figure of the same run.
func (m *measure) pair(ref *measure) {
	if len(m.rate) > 0 && len(ref.rate) == len(m.rate) {
		m.ratio = append(m.ratio, m.rate[len(m.rate)-1]/ref.rate[len(ref.rate)-1])
	}
}

// row is m against ref: the wall-clock ratio decides, the median of the
// per-run (paired) ratios when there are any; the CPU figures (client +
// server) are shown with both.
func (m *measure) row(name string, ref *measure, refName string) row {
	r := throughputRow(name, median(m.rate), median(ref.rate), refName, 0.9, m.mem)
	r.value += m.cpu()
	if len(ref.rate) > 0 {
		r.ref = strings.TrimSuffix(r.ref, ")") + ")" + ref.cpu()
	}
	if len(m.ratio) > 0 {
		r.ratio = median(m.ratio)
		r.met = verdict(ptr(r.ratio >= 0.9), m.mem)
		r.ref += fmt.Sprintf("; ratio: median of %d paired runs (%.2f–%.2f)", len(m.ratio), slices.Min(m.ratio), slices.Max(m.ratio))
	}
	return r
}

// procCPU is the CPU time (user + system) a process has used so far, from
// /proc/<pid>/stat (clock ticks of 1/100 s, USER_HZ on Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

// selfCPU is this process's CPU time (user + system) so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pushVariants are the sachet push command lines measured; the first is
// what a user gets by default against a server on loopback.
var pushVariants = []struct{ name, args string }{
	{"sachet push (its loopback default: 1 stream, no per-chunk sums)", ""},
	{"1 stream with per-chunk sums (--chunk-sha256)", "--streams 1 --chunk-sha256"},
	{"4 streams with per-chunk sums (its default elsewhere)", "--streams 4 --chunk-sha256"},
}

// cliRunner runs the sachet client with its own config and state dirs.
type cliRunner struct {
	bin string
	env []string
}

// cliEnv is the environment without SACHET_* settings, with XDG dirs
// under dir (the credential and resume state of this run only).
func cliEnv(dir string) []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "SACHET_") || strings.HasPrefix(e, "XDG_CONFIG_HOME=") || strings.HasPrefix(e, "XDG_STATE_HOME=") {
			continue
		}
		env = append(env, e)
	}
	return append(env, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
}

func (c *cliRunner) run(ctx context.Context, args ...string) ([]byte, time.Duration, error) {
	return c.exec(ctx, c.bin, args...)
}

// exec runs a command and returns its stdout and the CPU time (user +
// system) it used; an error carries its stderr.
func (c *cliRunner) exec(ctx context.Context, bin string, args ...string) ([]byte, time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// writePRNGFile writes size bytes of the seeded stream to path and returns
// their SHA-256.
func writePRNGFile(path string, size int64, seed uint64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(newPRNG(seed), size), make([]byte, ioBuf)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

func checkFileSize(path string, want int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() != want {
		return fmt.Errorf("%s: %d bytes, want %d", path, fi.Size(), want)
	}
	return nil
}
