package main

// Issue 14 item 3: many slow downloads at once. N clients each download
// the same big share at a fixed pace (64 KiB/s by default) over their own
// connection; once all are open, the server's RSS is read and metadata
// GETs run at concurrency 32 for the hold time, then every download is
// closed. A download that ends before the client closes it was cut.
//
//	go run ./bench -bin bin/sachet -conns 1000,5000,10000
//	go run ./bench -bin bin/sachet -conns 5000 -conns-profile /tmp/prof -dbs sqlite

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sachet-server/sachet/internal/fdlimit"
)

type connsConfig struct {
	ns   ints          // connection counts, one run each; empty: the scenario is off
	rate int64         // bytes/s each client reads
	size int64         // the share's size
	hold time.Duration // how long all N are held open (metadata load meanwhile)
	// Each client reads rate·tick bytes once per tick. At 250 ms (16 KiB
	// reads) the 10 000 clients' 40 000 timer wake-ups and reads a second
	// took as much of the two cores as the server did, and the metadata
	// client waits behind them in the same process; at 1 s the average
	// rate is the same.
	tick    time.Duration
	profile string // directory for heap and goroutine profiles of each run
	srcs    int    // loopback source addresses (127.0.0.1..n) to spread ports over
	godebug string // GODEBUG for the server, e.g. adaptivestackstart=0
}

func (c *connsConfig) flags(fs *flag.FlagSet) {
	c.rate, c.size, c.hold, c.srcs, c.tick = 64*KiB, 64*MiB, 20*time.Second, 8, time.Second
	fs.Var(&c.ns, "conns", "run only the slow-connections scenario (issue 14 item 3) with these counts, e.g. 1000,5000,10000")
	fs.Var((*size)(&c.rate), "conns-rate", "bytes per second each slow download reads")
	fs.Var((*size)(&c.size), "conns-size", "size of the share the slow downloads fetch")
	fs.DurationVar(&c.tick, "conns-tick", c.tick, "how often each slow download reads (rate × tick bytes at a time)")
	fs.DurationVar(&c.hold, "conns-hold", c.hold, "how long all slow downloads are held open, metadata load running meanwhile")
	fs.StringVar(&c.profile, "conns-profile", "", "write the server's heap and goroutine profiles of each run here (sets SACHET_PPROF_ADDR)")
	fs.StringVar(&c.godebug, "conns-godebug", "", "GODEBUG for the server of this scenario (e.g. adaptivestackstart=0)")
	fs.IntVar(&c.srcs, "conns-srcs", c.srcs, "loopback source addresses the downloads dial from (ephemeral ports per address are limited)")
}

// ints is a comma-separated list of counts.
type ints []int

func (v *ints) String() string {
	s := make([]string, len(*v))
	for i, n := range *v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (v *ints) Set(s string) error {
	*v = nil
	for _, p := range splitList(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want counts ≥ 1", p)
		}
		*v = append(*v, n)
	}
	return nil
}

// connsResult is one run of the scenario.
type connsResult struct {
	db                    string
	n, open, refused, cut int
	never                 int     // downloads that never started
	baseRSS, rss, peak    float64 // MiB
	meta                  stat
	goroutines, heapInuse float64 // from the server's /metrics, at the end of the hold
	stackInuse, sys       float64
	load                  string
}

func (r connsResult) perConn() float64 {
	if r.open == 0 {
		return 0
	}
	return (r.rss - r.baseRSS) * 1024 / float64(r.open)
}

// runConns runs the scenario on each database and prints its table.
func (b *bench) runConns(ctx context.Context, stdout io.Writer) (*summary, error) {
	c := b.cfg.conns
	if before, after, err := fdlimit.Raise(); err != nil {
		b.logf("NOTE could not raise the generator's open-file limit (%d): %v", before, err)
	} else {
		b.logf("generator open-file limit %d (hard limit)", after)
	}
	var results []connsResult
	var runErr error
	for _, db := range splitList(b.cfg.dbs) {
		if ctx.Err() != nil {
			break
		}
		rs, err := b.connsDB(ctx, db)
		results = append(results, rs...)
		if err != nil && !errors.Is(err, errNoMySQL) {
			runErr = errors.Join(runErr, fmt.Errorf("%s: %w", db, err))
		}
	}
	fmt.Fprintf(stdout, "Slow downloads at %s/s each of a %s share, metadata GET at concurrency %d for %s while all are open.\n\n",
		fmtSize(c.rate), fmtSize(c.size), b.cfg.metaConc, c.hold)
	fmt.Fprintln(stdout, "| database | downloads open | 503s (retried) · never started | cut | server RSS before → held (peak), MiB | RSS per connection | metadata p99 · req/s | goroutines · heap in use · stacks in use (MiB) | load average |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|")
	// "cut" is a download that started and ended before the client
	// closed it; "never started" got no 200 after three tries.
	for _, r := range results {
		fmt.Fprintf(stdout, "| %s | %d of %d | %d · %d | %d | %.0f → %.0f (%.0f) | %.1f KiB | %.1f ms · %.0f | %.0f · %.0f · %.0f | %s |\n",
			r.db, r.open, r.n, r.refused, r.never, r.cut, r.baseRSS, r.rss, r.peak, r.perConn(),
			ms(r.meta.pct(99)), r.meta.rate(), r.goroutines, r.heapInuse/float64(MiB), r.stackInuse/float64(MiB), r.load)
	}
	b.t.mu.Lock()
	sum := &summary{requests: b.t.reqs.Load(), failures: b.t.fails.Load(), failSamples: slices.Clone(b.t.samples), rows: b.rows, notes: b.notes}
	b.t.mu.Unlock()
	if sum.failures > 0 {
		runErr = errors.Join(runErr, fmt.Errorf("%d of %d requests failed, e.g.: %s", sum.failures, sum.requests, strings.Join(sum.failSamples[:min(3, len(sum.failSamples))], "; ")))
	}
	return sum, errors.Join(runErr, ctx.Err())
}

// connsDB starts a server on one database, uploads the share and runs each
// count in turn.
func (b *bench) connsDB(ctx context.Context, db string) ([]connsResult, error) {
	c := b.cfg.conns
	label := map[string]string{"sqlite": "SQLite", "mysql": "MariaDB"}[db]
	dir := filepath.Join(b.tmp, "conns-"+db)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	database := ""
	if db == "mysql" {
		m, err := createMySQLDB(ctx, b.cfg.mysqlDSN)
		if err != nil {
			b.notes = append(b.notes, fmt.Sprintf("MariaDB unavailable (%v): SQLite only.", err))
			return nil, errNoMySQL
		}
		defer m.drop()
		database = "mysql:" + m.dsn
	}
	extra := append([]string(nil), b.cfg.serverEnv...)
	if c.godebug != "" {
		extra = append(extra, "GODEBUG="+c.godebug)
	}
	pprofAddr := ""
	if c.profile != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		extra = append(extra, "SACHET_PPROF_ADDR="+pprofAddr)
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return nil, err
		}
	}
	// A fresh server for each count: what one run leaves behind (memory
	// the runtime keeps) must not count in the next one's figures.
	var out []connsResult
	for i, n := range c.ns {
		if ctx.Err() != nil {
			break
		}
		r, err := b.connsFresh(ctx, label, filepath.Join(dir, strconv.Itoa(i)), database, extra, n, pprofAddr)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// connsFresh starts a server, uploads the share and runs one count.
func (b *bench) connsFresh(ctx context.Context, label, dir, database string, extra []string, n int, pprofAddr string) (connsResult, error) {
	srv, err := startServer(ctx, b.cfg.bin, dir, database, b.cfg.bcryptCost, extra...)
	if err != nil {
		return connsResult{}, err
	}
	defer srv.stop()
	s := &session{b: b, db: label, dir: dir, srv: srv, user: "bench", pw: "bench-" + randomHex(12)}
	if database != "" {
		s.user += randomHex(3) // one database for all counts
	}
	if err := s.setupAdmin(ctx); err != nil {
		return connsResult{}, err
	}
	id, _, err := s.uploadOne(ctx, newUploader(s.a), "conns.bin", b.cfg.conns.size, 14)
	if err != nil {
		return connsResult{}, err
	}
	r, err := s.connsRun(ctx, id, n, pprofAddr)
	if err != nil {
		return r, err
	}
	select {
	case <-srv.exited:
		return r, fmt.Errorf("the server exited (%v); its log:\n%s", srv.waitErr, srv.logTail())
	default:
	}
	return r, nil
}

// slowConn is one paced download.
type slowConn struct {
	err   error // why it ended before the client closed it
	never bool  // it never started: refused, or no answer
	read  int64
}

// connsRun opens n paced downloads, holds them while metadata load runs,
// and closes them.
func (s *session) connsRun(ctx context.Context, id string, n int, pprofAddr string) (connsResult, error) {
	c := s.b.cfg.conns
	r := connsResult{db: s.db, n: n}
	settle(s.srv.pid())
	if rss, _, err := procMem(s.srv.pid()); err == nil {
		r.baseRSS = float64(rss) / 1024
	}
	// The metadata client's connections are opened first: with every
	// descriptor the server may have in use by downloads, a new one would
	// wait in the listen backlog.
	path := "/files/" + id
	loadFor(ctx, s.b.t, s.b.cfg.metaConc, time.Second, func(ctx context.Context, _ int, _ *rand.Rand) error {
		return s.a.get(ctx, path, http.StatusOK)
	})
	// Kept warm while the downloads open (the server closes a connection
	// idle for its idle timeout).
	warmStop := make(chan struct{})
	var warm sync.WaitGroup
	for range s.b.cfg.metaConc {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for {
				select {
				case <-warmStop:
					return
				case <-time.After(5 * time.Second):
				}
				s.b.t.record(s.a.get(ctx, path, http.StatusOK))
			}
		}()
	}
	smp := s.sample()
	s.logf("conns %d: opening (RSS %.0f MiB)", n, r.baseRSS)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var opened, refused atomic.Int64
	conns := make([]slowConn, n)
	per := max(int64(float64(c.rate)*c.tick.Seconds()), 1)
	// Read buffers, reused: the bytes are thrown away, and only a few
	// clients read at any moment (a sync.Pool of 64 KiB buffers, emptied
	// by each GC, took the bench's RSS from ~280 to ~810 MiB).
	bufs := make(chan []byte, 256)
	req := fmt.Sprintf("GET /files/%s/content HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", id, s.srv.addr, s.a.token)
	dialSem := make(chan struct{}, 64) // dials and first responses in flight
	ready := make(chan struct{}, n)
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := &conns[i]
			d := net.Dialer{Timeout: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%max(1, c.srcs)))}}
			dialSem <- struct{}{}
			var body io.Reader
			var conn net.Conn
			for attempt := 0; ; attempt++ {
				var err error
				conn, body, err = openSlow(ctx, d, s.srv.addr, req)
				if err == nil {
					break
				}
				var ra retryAfterError
				if errors.As(err, &ra) && attempt < 3 {
					refused.Add(1)
					<-dialSem // others dial while this one waits
					time.Sleep(time.Duration(ra) * time.Second)
					dialSem <- struct{}{}
					continue
				}
				sc.err, sc.never = err, true
				<-dialSem
				ready <- struct{}{}
				return
			}
			<-dialSem
			opened.Add(1)
			ready <- struct{}{}
			defer conn.Close()
			// Read rate·tick every tick, from a random phase.
			tick := time.NewTicker(c.tick)
			defer tick.Stop()
			time.Sleep(time.Duration(rand.Int64N(int64(c.tick))))
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var buf []byte
				select {
				case buf = <-bufs:
				default:
					buf = make([]byte, per)
				}
				m, err := io.ReadFull(body, buf)
				select {
				case bufs <- buf:
				default:
				}
				sc.read += int64(m)
				if err != nil {
					select {
					case <-stop:
					default:
						if sc.read < c.size {
							sc.err = err
						}
					}
					return
				}
			}
		}()
	}
	for range n {
		<-ready
	}
	close(warmStop)
	warm.Wait()
	r.open = int(opened.Load())
	s.logf("conns %d: %d open in %v (%d refused with 503 and retried)", n, r.open, time.Since(t0).Round(time.Millisecond), refused.Load())

	// Hold: metadata load meanwhile, then the figures.
	r.meta = loadFor(ctx, s.b.t, s.b.cfg.metaConc, c.hold, func(ctx context.Context, _ int, _ *rand.Rand) error {
		return s.a.get(ctx, path, http.StatusOK)
	})
	if rss, _, err := procMem(s.srv.pid()); err == nil {
		r.rss = float64(rss) / 1024
	}
	r.load = loadavg()
	m := s.serverMetrics(ctx)
	r.goroutines, r.heapInuse, r.stackInuse, r.sys = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"], m["go_memstats_stack_inuse_bytes"], m["go_memstats_sys_bytes"]
	if pprofAddr != "" {
		for _, p := range []string{"heap", "goroutine"} {
			f := filepath.Join(c.profile, fmt.Sprintf("%s-%s-%d.pb.gz", strings.ToLower(s.db), p, n))
			if err := fetchTo(ctx, "http://"+pprofAddr+"/debug/pprof/"+p, f); err != nil {
				s.note("conns %d: %s profile: %v", n, p, err)
			} else {
				s.logf("conns %d: %s profile in %s", n, p, f)
			}
		}
	}
	close(stop)
	wg.Wait()
	r.peak = smp.end().worst()
	r.refused = int(refused.Load())
	var samples []string
	for _, sc := range conns {
		if sc.never {
			r.never++
			continue
		}
		if sc.err != nil {
			r.cut++
			if len(samples) < 3 {
				samples = append(samples, sc.err.Error())
			}
		}
	}
	if r.cut > 0 {
		s.note("conns %d: %d downloads ended early, e.g. %s", n, r.cut, strings.Join(samples, "; "))
	}
	s.logf("conns %d: RSS %.0f → %.0f MiB (peak %.0f), %.1f KiB per connection; metadata p99 %.1f ms, %.0f req/s (%d failed); %d cut, %d 503s, %d never started; load %s",
		n, r.baseRSS, r.rss, r.peak, r.perConn(), ms(r.meta.pct(99)), r.meta.rate(), r.meta.fails, r.cut, r.refused, r.never, r.load)
	return r, nil
}

// retryAfterError is a 503 with Retry-After (seconds).
type retryAfterError int

func (e retryAfterError) Error() string { return fmt.Sprintf("503, Retry-After %d", int(e)) }

// openSlow dials, sends the request and reads the response's head; the
// body is read by the caller, slowly.
func openSlow(ctx context.Context, d net.Dialer, addr, req string) (net.Conn, io.Reader, error) {
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	if resp.StatusCode == http.StatusServiceUnavailable {
		resp.Body.Close()
		conn.Close()
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, nil, retryAfterError(max(ra, 1))
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		conn.Close()
		return nil, nil, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return conn, resp.Body, nil
}

// serverMetrics reads the server's /metrics (Go runtime gauges).
func (s *session) serverMetrics(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.a.base+"/metrics", nil)
	resp, err := s.a.hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && i > 0 {
			out[line[:i]] = v
		}
	}
	return out
}

func fetchTo(ctx context.Context, url, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

// settle waits until the server's RSS stops falling (connections of the
// previous run released), at most 10 s.
func settle(pid int) {
	prev := int64(-1)
	for range 20 {
		rss, _, err := procMem(pid)
		if err != nil || prev >= 0 && rss >= prev {
			return
		}
		prev = rss
		time.Sleep(500 * time.Millisecond)
	}
}
