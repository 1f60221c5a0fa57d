package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// downloadPairs measures downloads of url (sachet) against the same file
// from nginx: one stream, then par parallel, over -runs paired runs. Each
// pair runs back to back, sachet first in even runs and nginx first in odd
// ones: on this 2-core machine a one-stream run is bimodal and follows the
// load of the minute, and with a fixed order sachet's one stream always
// ran right after nginx's parallel run. The rows' ratios are the medians of
// the per-run ratios. CPU figures are client (this process) + server
// seconds per GiB of the one-stream runs.
func (s *session) downloadPairs(ctx context.Context, what, url, token string, bufs [][]byte) (single, par row, err error) {
	cfg := s.b.cfg
	gib := float64(cfg.big) / float64(GiB)
	sS, sP, nS, nP := newMeasure(), newMeasure(), newMeasure(), newMeasure()
	ngxOK := s.ngx != nil
	one := func(m *measure, srvPID func() time.Duration, u, tok string) error {
		smp := (*sampler)(nil)
		if m == sS {
			smp = s.sample()
		}
		c0, p0 := selfCPU(), srvPID()
		v, err := s.downloadOne(ctx, u, tok, bufs[0])
		c, p := selfCPU()-c0, srvPID()-p0
		if smp != nil {
			m.mem = m.mem.max(smp.end())
		}
		if err != nil {
			return err
		}
		m.rate = append(m.rate, v)
		m.cpuClient = append(m.cpuClient, c.Seconds()/gib)
		m.cpuServer = append(m.cpuServer, p.Seconds()/gib)
		return nil
	}
	many := func(m *measure, u, tok string) error {
		smp := (*sampler)(nil)
		if m == sP {
			smp = s.sample()
		}
		v, err := s.downloadPar(ctx, u, tok, cfg.par, bufs)
		if smp != nil {
			m.mem = m.mem.max(smp.end())
		}
		if err != nil {
			return err
		}
		m.rate = append(m.rate, v)
		return nil
	}
	sachetCPU := func() time.Duration { return procCPU(s.srv.pid()) }
	nginxCPU := func() time.Duration {
		if s.ngx == nil {
			return 0
		}
		return s.ngx.cpu()
	}
	// both runs a and b in this run's order; b is skipped without nginx.
	both := func(sachetFirst bool, a, b func() error) error {
		if !ngxOK {
			return a()
		}
		if !sachetFirst {
			if err := b(); err != nil {
				s.note("nginx download failed: %v", err)
				ngxOK = false
			}
		}
		if err := a(); err != nil {
			return err
		}
		if sachetFirst {
			if err := b(); err != nil {
				s.note("nginx download failed: %v", err)
				ngxOK = false
			}
		}
		return nil
	}
	for r := range cfg.runs {
		first := r%2 == 0
		if err := both(first,
			func() error { return one(sS, sachetCPU, url, token) },
			func() error { return one(nS, nginxCPU, s.ngxURL, "") }); err != nil {
			return row{}, row{}, err
		}
		if err := both(first,
			func() error { return many(sP, url, token) },
			func() error { return many(nP, s.ngxURL, "") }); err != nil {
			return row{}, row{}, err
		}
		if ngxOK {
			sS.pair(nS)
			sP.pair(nP)
		}
		s.logf("%s run %d/%d (%s): sachet %.0f / %.0f MiB/s, nginx %s / %s MiB/s; one stream %.2fx, CPU %.2f+%.2f vs %s s/GiB", what, r+1, cfg.runs,
			map[bool]string{true: "sachet first", false: "nginx first"}[first],
			sS.rate[r], sP.rate[r], last(nS.rate), last(nP.rate), last1(sS.ratio),
			sS.cpuClient[r], sS.cpuServer[r], lastCPU(nS))
	}
	if !ngxOK {
		// A reference that failed part way: no pairs to trust.
		sS.ratio, sP.ratio = nil, nil
		nS.rate, nP.rate = nil, nil
	}
	single = sS.row(fmt.Sprintf("%s %s, 1 stream", what, fmtSize(cfg.big)), nS, "nginx")
	par = sP.row(fmt.Sprintf("%s %s, %d parallel", what, fmtSize(cfg.big), cfg.par), nP, "nginx")
	return single, par, nil
}

func lastCPU(m *measure) string {
	if len(m.cpuClient) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f+%.2f", m.cpuClient[len(m.cpuClient)-1], m.cpuServer[len(m.cpuServer)-1])
}

// cpu is the CPU time nginx's master and workers have used so far.
func (n *nginx) cpu() time.Duration {
	pid := n.cmd.Process.Pid
	total := procCPU(pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return total
	}
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			total += procCPU(c)
		}
	}
	return total
}
