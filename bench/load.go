package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// job is one request of a load run. w is the worker number; rng is the
// worker's own.
type job func(ctx context.Context, w int, rng *rand.Rand) error

// loadFor runs fn on conc workers for dur, each as fast as it can, and
// returns the count, failures, latencies and the wall time.
func loadFor(ctx context.Context, t *tally, conc int, dur time.Duration, fn job) stat {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline atomic.Bool
	timer := time.AfterFunc(dur, func() { deadline.Store(true) })
	defer timer.Stop()
	return runWorkers(ctx, t, conc, func() bool { return !deadline.Load() }, fn)
}

// loadN runs fn n times on conc workers.
func loadN(ctx context.Context, t *tally, conc, n int, fn job) stat {
	var next atomic.Int64
	return runWorkers(ctx, t, conc, func() bool { return next.Add(1) <= int64(n) }, fn)
}

func runWorkers(ctx context.Context, t *tally, conc int, more func() bool, fn job) stat {
	type part struct {
		n, fails int64
		lats     []time.Duration
	}
	parts := make([]part, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			p := &parts[w]
			p.lats = make([]time.Duration, 0, 1024)
			for ctx.Err() == nil && more() {
				t0 := time.Now()
				err := fn(ctx, w, rng)
				p.lats = append(p.lats, time.Since(t0))
				p.n++
				if t.record(err) != nil {
					p.fails++
				}
			}
		}()
	}
	wg.Wait()
	s := stat{elapsed: time.Since(start)}
	for _, p := range parts {
		s.n += p.n
		s.fails += p.fails
		s.lats = append(s.lats, p.lats...)
	}
	return s
}
