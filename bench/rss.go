package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"
)

// procMem reads VmRSS and VmHWM (in KiB) from /proc/<pid>/status.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			rss = kbField(line)
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			hwm = kbField(line)
		}
	}
	return rss, hwm, nil
}

func kbField(line []byte) int64 {
	f := bytes.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return n
}

// sampler records the peak VmRSS of a process every interval. It resets the
// process's VmHWM when it starts (echo 5 > /proc/<pid>/clear_refs, allowed
// for our own child), so the VmHWM read when it stops is this scenario's
// peak as the kernel saw it.
type sampler struct {
	pid      int
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	peak     int64
	first    int64
	hwmReset bool
}

const sampleEvery = 20 * time.Millisecond

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	if pid <= 0 {
		close(s.done)
		return s
	}
	s.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	rss, _, err := procMem(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.peak = max(s.peak, rss)
	if s.first == 0 {
		s.first = rss
	}
	s.mu.Unlock()
}

// memPeak is a scenario's memory: the sampled peak VmRSS and VmHWM (MiB,
// NaN when unknown; hwm is NaN unless it could be reset at the start).
// start is the VmRSS when the scenario began (what earlier scenarios
// left), for reading the peak.
type memPeak struct{ rss, hwm, start float64 }

func (m memPeak) max(o memPeak) memPeak {
	return memPeak{
		rss:   maxf([]float64{m.rss, o.rss}),
		hwm:   maxf([]float64{m.hwm, o.hwm}),
		start: maxf([]float64{m.start, o.start}),
	}
}

// worst is the larger of the two figures.
func (m memPeak) worst() float64 { return maxf([]float64{m.rss, m.hwm}) }

func noMem() memPeak { return memPeak{math.NaN(), math.NaN(), math.NaN()} }

func (s *sampler) end() memPeak {
	if s.pid <= 0 {
		return noMem()
	}
	close(s.stop)
	<-s.done
	s.sample()
	m := noMem()
	s.mu.Lock()
	if s.peak > 0 {
		m.rss = float64(s.peak) / 1024
		m.start = float64(s.first) / 1024
	}
	s.mu.Unlock()
	if _, hwm, err := procMem(s.pid); err == nil && s.hwmReset {
		m.hwm = float64(hwm) / 1024
	}
	return m
}

// cpuMeter reads the CPU time of several processes at once; pid 0 is
// this process (procCPU, selfCPU in cli.go).
type cpuMeter []int

func (m cpuMeter) read() []time.Duration {
	d := make([]time.Duration, len(m))
	for i, pid := range m {
		if pid == 0 {
			d[i] = selfCPU()
		} else {
			d[i] = procCPU(pid)
		}
	}
	return d
}

// since is the CPU time each process used since start.
func (m cpuMeter) since(start []time.Duration) []time.Duration {
	now := m.read()
	for i := range now {
		now[i] -= start[i]
	}
	return now
}
