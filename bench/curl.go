package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// curlDownload fetches url with curl to /dev/null and returns curl's own
// speed_download in MiB/s; it checks the status and the byte count.
func curlDownload(ctx context.Context, curl, url, token string, want int64) (float64, error) {
	args := []string{"-s", "-o", "/dev/null", "-w", "%{speed_download} %{size_download} %{http_code}"}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	out, err := exec.CommandContext(ctx, curl, append(args, url)...).Output()
	if err != nil {
		return 0, fmt.Errorf("curl %s: %v", url, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		return 0, fmt.Errorf("curl %s: unexpected -w output %q", url, out)
	}
	speed, err1 := strconv.ParseFloat(f[0], 64)
	n, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || f[2] != "200" || n != want {
		return 0, fmt.Errorf("curl %s: status %s, %s bytes (want 200, %d)", url, f[2], f[1], want)
	}
	return speed / float64(MiB), nil
}

// curlRow is issue 14's item 5: the big share downloaded by curl (page
// cache warm: scenarioDownload ran just before), next to nginx serving
// the same file to curl, runs interleaved, medians.
func (s *session) curlRow(ctx context.Context) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		s.note("curl download row skipped: no curl on PATH")
		return
	}
	cfg := s.b.cfg
	var sv, nv []float64
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		v, err := curlDownload(ctx, curl, s.contentURL(s.big), s.a.token, cfg.big)
		mem = mem.max(smp.end())
		if s.b.t.record(err) != nil {
			s.note("curl download failed: %v", err)
			return
		}
		sv = append(sv, v)
		if s.ngx != nil {
			if v, err := curlDownload(ctx, curl, s.ngxURL, "", cfg.big); s.b.t.record(err) == nil {
				nv = append(nv, v)
			} else {
				s.note("curl download from nginx failed: %v", err)
			}
		}
		s.logf("curl download run %d/%d: sachet %.0f MiB/s, nginx %s MiB/s", r+1, cfg.runs, v, last(nv))
	}
	s.add(throughputRow(fmt.Sprintf("download %s, 1 stream, curl -o /dev/null", fmtSize(cfg.big)), median(sv), median(nv), "nginx, curl", 0.9, mem))
}
