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
	"strings"
	"time"
)

// Scenario cli (issue 13 item 5): the sachet client against the bench
// tool's own transfers of the same bytes. Push: `sachet push FILE` as in
// pushVariants, against the raw single-stream upload (pseudo-random bytes
// straight from memory, no file, no hashing).
// Pull: `sachet pull ID -o FILE` against `curl -o FILE` of the same share,
// both writing a file on the same disk. Every figure is a whole command's
// wall time (process start to exit), medians of -runs.
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
	if _, err := c.run(ctx, "login", s.srv.base(), "--username", s.user, "--password-file", pw); err != nil {
		return err
	}
	curl, curlErr := exec.LookPath("curl")
	if curlErr != nil {
		s.note("curl not found: the pull reference is skipped")
	}

	var raw, pull, curlRate []float64
	push := make([][]float64, len(pushVariants))
	pushMem := make([]memPeak, len(pushVariants))
	for k := range pushMem {
		pushMem[k] = noMem()
	}
	memPull := noMem()
	up := newUploader(s.a)
	mibps := func(d time.Duration) float64 { return float64(cfg.big) / float64(MiB) / d.Seconds() }
	for r := range cfg.runs {
		// Raw single-stream upload, as in the upload scenario.
		id, err := s.a.createShare(ctx, "raw.bin")
		if err != nil {
			return err
		}
		t0 := time.Now()
		_, err = up.upload(ctx, id, cfg.big, cfg.chunk, uint64(5000+r), false)
		el := time.Since(t0)
		s.deleteAll(ctx, []string{id})
		if err != nil {
			return fmt.Errorf("raw upload: %w", err)
		}
		raw = append(raw, mibps(el))

		// sachet push: its default on loopback (1 stream), 4 streams (its
		// default to other servers), and 1 stream without per-chunk sums.
		// The first share stays for the pulls.
		var pulled string
		for k, v := range pushVariants {
			args := append([]string{"push", "--json", "--no-progress", "--chunk-size", fmt.Sprint(cfg.chunk)}, strings.Fields(v.args)...)
			smp := s.sample()
			t0 := time.Now()
			out, err := c.run(ctx, append(args, src)...)
			el := time.Since(t0)
			pushMem[k] = pushMem[k].max(smp.end())
			if err != nil {
				return err
			}
			var res struct {
				ShareID string `json:"share_id"`
				SHA256  string `json:"sha256"`
			}
			if err := json.Unmarshal(out, &res); err != nil || res.ShareID == "" {
				return fmt.Errorf("sachet push: unexpected output %q", snippet(out))
			}
			if err := s.checkShare(ctx, res.ShareID, cfg.big, srcSHA); err != nil {
				return err
			}
			push[k] = append(push[k], mibps(el))
			if k == 0 {
				pulled = res.ShareID
			} else {
				s.deleteAll(ctx, []string{res.ShareID})
			}
		}

		// curl, then sachet pull, of the same share into the same
		// directory; each file is removed before the next command.
		dst := filepath.Join(dir, "pulled.bin")
		if curlErr == nil {
			t0 := time.Now()
			_, err := c.exec(ctx, curl, "-sS", "--fail", "-o", dst, "-H", "Authorization: Bearer "+s.a.token, s.contentURL(pulled))
			el := time.Since(t0)
			if err == nil {
				err = checkFileSize(dst, cfg.big)
			}
			if err != nil {
				s.note("curl failed: %v", err)
			} else {
				curlRate = append(curlRate, mibps(el))
			}
			_ = os.Remove(dst)
		}
		smp := s.sample()
		t0 = time.Now()
		_, err = c.run(ctx, "pull", "--json", "--no-progress", pulled, "-o", dst)
		el = time.Since(t0)
		memPull = memPull.max(smp.end())
		if err == nil {
			err = checkFileSize(dst, cfg.big)
		}
		_ = os.Remove(dst)
		s.deleteAll(ctx, []string{pulled})
		if err != nil {
			return err
		}
		pull = append(pull, mibps(el))
		s.logf("cli run %d/%d: raw upload %.0f, push %.0f / %.0f / %.0f, curl %s, pull %.0f MiB/s",
			r+1, cfg.runs, raw[r], push[0][r], push[1][r], push[2][r], last(curlRate), pull[r])
	}
	size := fmtSize(cfg.big)
	for k, v := range pushVariants {
		s.add(throughputRow(fmt.Sprintf("CLI push %s, %s", size, v.name), median(push[k]), median(raw), "raw upload", 0.9, pushMem[k]))
	}
	s.add(throughputRow(fmt.Sprintf("CLI pull %s (sachet pull -o FILE)", size), median(pull), median(curlRate), "curl -o FILE", 0.9, memPull))
	return nil
}

// pushVariants are the sachet push command lines measured; the first is
// what a user gets by default against a server on loopback.
var pushVariants = []struct{ name, args string }{
	{"1 stream (sachet push: its default on loopback)", ""},
	{"4 streams (sachet push --streams 4: its default elsewhere)", "--streams 4"},
	{"1 stream, no per-chunk sums (--chunk-sha256=false)", "--streams 1 --chunk-sha256=false"},
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

func (c *cliRunner) run(ctx context.Context, args ...string) ([]byte, error) {
	return c.exec(ctx, c.bin, args...)
}

// exec runs a command and returns its stdout; an error carries stderr.
func (c *cliRunner) exec(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
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
