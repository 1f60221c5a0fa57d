package tests

// A bounded load test: 200 concurrent clients mixing logins, whoami,
// metadata, listing, uploads and ranged downloads, on both databases.
// No 5xx is allowed and every byte downloaded is checked; latencies are
// printed, never asserted.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/domain"
)

// obLoadStats collects outcomes from many goroutines.
type obLoadStats struct {
	mu       sync.Mutex
	lat      map[string][]time.Duration
	statuses map[string]map[int]int
	problems []string
	bytes    int64
	// abandoned counts requests the test gave up on when the run ended.
	abandoned int
}

func newLoadStats() *obLoadStats {
	return &obLoadStats{lat: map[string][]time.Duration{}, statuses: map[string]map[int]int{}}
}

func (st *obLoadStats) record(op string, status int, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lat[op] = append(st.lat[op], d)
	if st.statuses[op] == nil {
		st.statuses[op] = map[int]int{}
	}
	st.statuses[op][status]++
}

func (st *obLoadStats) problem(format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.problems) < 50 {
		st.problems = append(st.problems, fmt.Sprintf(format, args...))
	}
}

func obPercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// report logs p50/p99 per operation and overall.
func (st *obLoadStats) report(t *testing.T, title string, elapsed time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var all []time.Duration
	ops := make([]string, 0, len(st.lat))
	for op := range st.lat {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v\n", title, elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "  %-16s %7s %9s %9s %9s  %s\n", "operation", "count", "p50", "p99", "max", "statuses")
	for _, op := range ops {
		ds := st.lat[op]
		all = append(all, ds...)
		fmt.Fprintf(&b, "  %-16s %7d %9v %9v %9v  %v\n", op, len(ds),
			obPercentile(ds, .5).Round(100*time.Microsecond), obPercentile(ds, .99).Round(100*time.Microsecond),
			obPercentile(ds, 1).Round(100*time.Microsecond), st.statuses[op])
	}
	fmt.Fprintf(&b, "  %-16s %7d %9v %9v %9v  %.0f req/s, %.1f MiB checked, %d abandoned at the end\n", "all", len(all),
		obPercentile(all, .5).Round(100*time.Microsecond), obPercentile(all, .99).Round(100*time.Microsecond),
		obPercentile(all, 1).Round(100*time.Microsecond), float64(len(all))/elapsed.Seconds(), float64(st.bytes)/(1<<20), st.abandoned)
	t.Log(b.String())
}

// obLoadClient is one simulated client.
type obLoadClient struct {
	ctx    context.Context // nil: Background
	s      *server
	hc     *http.Client
	st     *obLoadStats
	user   string
	token  string
	addr   string // its X-Forwarded-For
	rng    *rand.Rand
	seeded []obSeeded
}

type obSeeded struct {
	id   string
	data []byte
}

// do sends one request and records it under op; want lists the statuses
// that are right for it.
func (c *obLoadClient) do(op, method, path string, body io.Reader, hdr map[string]string, want ...int) (int, http.Header, []byte) {
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.s.URL+path, body)
	if c.token != "" && op != "login" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("X-Forwarded-For", c.addr)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil && ctx.Err() != nil {
		c.st.mu.Lock()
		c.st.abandoned++ // the test ended it
		c.st.mu.Unlock()
		return 0, nil, nil
	}
	if err != nil {
		c.st.record(op, 0, time.Since(t0))
		c.st.problem("%s %s: %v", method, path, err)
		return 0, nil, nil
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	c.st.record(op, resp.StatusCode, d)
	if err != nil {
		c.st.problem("%s %s: reading the body: %v", method, path, err)
	}
	if !slices.Contains(want, resp.StatusCode) {
		c.st.problem("%s %s → %d %.200s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, resp.Header, data
}

func (c *obLoadClient) jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

var obJSON = map[string]string{"Content-Type": "application/json"}

// step runs one randomly chosen action.
func (c *obLoadClient) step() {
	switch n := c.rng.IntN(100); {
	case n < 4:
		c.login()
	case n < 35:
		c.do("whoami", "GET", "/whoami", nil, nil, 200)
	case n < 55:
		sh := c.seeded[c.rng.IntN(len(c.seeded))]
		_, _, body := c.do("getShare", "GET", "/files/"+sh.id, nil, nil, 200)
		var m struct{ SHA256 string }
		if json.Unmarshal(body, &m) == nil && m.SHA256 != sha256Hex(sh.data) {
			c.st.problem("share %s: metadata sha256 %s", sh.id, m.SHA256)
		}
	case n < 65:
		c.do("listShares", "GET", "/files?page="+strconv.Itoa(1+c.rng.IntN(3))+"&per_page=20", nil, nil, 200)
	case n < 90:
		sh := c.seeded[c.rng.IntN(len(c.seeded))]
		a := c.rng.IntN(len(sh.data))
		b := a + c.rng.IntN(min(len(sh.data)-a, 256<<10))
		_, _, body := c.do("rangedDownload", "GET", "/files/"+sh.id+"/content", nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", a, b)}, 206)
		c.check("ranged download of "+sh.id, body, sh.data[a:b+1])
	case n < 94:
		sh := c.seeded[c.rng.IntN(len(c.seeded))]
		_, _, body := c.do("download", "GET", "/files/"+sh.id+"/content", nil, nil, 200)
		c.check("download of "+sh.id, body, sh.data)
	default:
		c.uploadOne()
	}
}

func (c *obLoadClient) login() {
	st, _, body := c.do("login", "POST", "/users/login", c.jsonBody(map[string]string{"username": c.user, "password": obLoadPassword}), obJSON, 200)
	if st == 200 {
		var m struct {
			AuthToken string `json:"auth_token"`
		}
		if json.Unmarshal(body, &m) == nil && m.AuthToken != "" {
			c.token = m.AuthToken
		}
	}
}

const obLoadPassword = "load-pw"

func (c *obLoadClient) check(what string, got, want []byte) {
	if got == nil {
		return // already a problem
	}
	if sha256Hex(got) != sha256Hex(want) {
		c.st.problem("%s: %d bytes, sha256 %s, want %d bytes %s", what, len(got), sha256Hex(got), len(want), sha256Hex(want))
		return
	}
	c.st.mu.Lock()
	c.st.bytes += int64(len(got))
	c.st.mu.Unlock()
}

// uploadOne creates a share, uploads 1–3 chunks (in a random order) and
// downloads the result.
func (c *obLoadClient) uploadOne() {
	st, hdr, _ := c.do("createShare", "POST", "/files", c.jsonBody(map[string]string{"file_name": "load.bin"}), obJSON, 201)
	if st != 201 {
		return
	}
	id := strings.TrimPrefix(hdr.Get("Location"), "/files/")
	total := 1 + c.rng.IntN(3)
	size := 16<<10 + c.rng.IntN(96<<10)
	data := randBytes(size * total)
	order := c.rng.Perm(total)
	for k, i := range order {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("dzuuid", "load-"+id)
		w.WriteField("dzchunkindex", strconv.Itoa(i))
		w.WriteField("dztotalchunks", strconv.Itoa(total))
		fw, _ := w.CreateFormFile("upload", "blob")
		fw.Write(data[i*size : (i+1)*size])
		w.Close()
		want := 200
		if k == total-1 {
			want = 201
		}
		if st, _, _ := c.do("uploadChunk", "POST", "/files/"+id+"/content", &buf, map[string]string{"Content-Type": w.FormDataContentType()}, want); st != want {
			return
		}
	}
	_, _, body := c.do("download", "GET", "/files/"+id+"/content", nil, nil, 200)
	c.check("download of a fresh upload", body, data)
}

// obRaceEnabled reports whether this test binary was built with -race,
// which makes everything, bcrypt above all, many times slower.
func obRaceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "-race" && kv.Value == "true" {
				return true
			}
		}
	}
	return false
}

// TestLoad: 200 concurrent clients for a few seconds on each database (one
// after the other), each signing in, then mixing whoami, metadata, listing,
// ranged and whole downloads, uploads and more sign-ins, with a short
// think time. Not parallel with other tests, so the figures mean something.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const clients = 200
	const duration = 5 * time.Second
	t.Logf("race detector: %v, GOMAXPROCS %d", obRaceEnabled(), runtime.GOMAXPROCS(0))
	hash, err := bcrypt.GenerateFromPassword([]byte(obLoadPassword), 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			setup := time.Now()
			s := startWith(t, serverOpts{dialect: d, mutate: func(c *app.Config) {
				// Each client signs in from its own address, as through a proxy.
				c.TrustedProxies, _ = app.ParsePrefixes("127.0.0.1")
			}})
			ctx := context.Background()
			perms := domain.PermCreate | domain.PermModify | domain.PermRead | domain.PermList
			seeded := make([]obSeeded, 8)
			for i := range seeded {
				data := randBytes(64<<10 + i*80<<10)
				id := s.newShare(s.admin, fmt.Sprintf("seed-%d.bin", i))
				s.upload("POST", id, s.admin, data, 512<<10)
				seeded[i] = obSeeded{id: id, data: data}
			}
			transport := &http.Transport{MaxIdleConnsPerHost: clients}
			defer transport.CloseIdleConnections()
			hc := &http.Client{Transport: transport, Timeout: 60 * time.Second}
			st := newLoadStats()
			cs := make([]*obLoadClient, clients)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i := range cs {
				name := fmt.Sprintf("load%03d", i)
				cs[i] = &obLoadClient{s: s, hc: hc, st: st, user: name,
					addr: fmt.Sprintf("198.51.%d.%d", 100+i/250, 1+i%250), rng: rand.New(rand.NewPCG(uint64(i), 7)), seeded: seeded}
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					// One hash for all: hashing 200 passwords is not the point.
					if err := s.App.Store.CreateUser(ctx, &domain.User{Username: name, PasswordHash: string(hash), Perms: perms}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			// Clients start signed in as one of 20 users (sign-ins are
			// bcrypt-bound, the race detector makes bcrypt ~15× slower, and a
			// storm of 200 would only measure that); they sign in as
			// themselves as part of the mix.
			for i, c := range cs {
				if i < 20 {
					c.token = s.login(c.user, obLoadPassword)
				} else {
					c.token = cs[i%20].token
				}
			}
			t.Logf("setup %v", time.Since(setup).Round(time.Millisecond))
			start := time.Now()
			stop := start.Add(duration)
			// Requests still queued this long after the end are abandoned,
			// so an overloaded machine can't stretch the test.
			runCtx, cancel := context.WithDeadline(ctx, stop.Add(5*time.Second))
			defer cancel()
			for _, c := range cs {
				c.ctx = runCtx
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Arrivals spread over the first second.
					time.Sleep(time.Duration(c.rng.IntN(1000)) * time.Millisecond)
					for time.Now().Before(stop) {
						c.step()
						time.Sleep(time.Duration(c.rng.IntN(100)) * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			st.report(t, fmt.Sprintf("%s: %d clients, race detector %v", d, clients, obRaceEnabled()), elapsed)
			fivexx := 0
			for _, byStatus := range st.statuses {
				for code, n := range byStatus {
					if code >= 500 || code == 0 {
						fivexx += n
					}
				}
			}
			if fivexx > 0 {
				t.Errorf("%d responses were 5xx or transport errors", fivexx)
			}
			for _, op := range []string{"login", "whoami", "getShare", "listShares", "rangedDownload", "download", "createShare", "uploadChunk"} {
				if len(st.lat[op]) == 0 {
					t.Errorf("no %s request completed", op)
				}
			}
			for _, p := range st.problems {
				t.Error(p)
			}
			// Afterwards: the server is healthy and nothing is left behind.
			expect(t, s.req("GET", "/readyz", "", nil), 200)
			obNoStrayFiles(t, s)
		})
	}
}

// TestLoadLoginFlood measures what a login flood does to everyone else:
// metadata latency alone, then while 64 clients sign in as fast as they can
// with a bcrypt cost that takes ~50 ms a check in this build. Bcrypt runs
// on at most half the CPUs, so metadata requests keep their latency.
// Printed, not asserted; not parallel with other tests.
func TestLoadLoginFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	// A cost that takes ~50 ms here (the race detector slows bcrypt ~15×).
	cost := 4
	h4, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
	t0 := time.Now()
	bcrypt.CompareHashAndPassword(h4, []byte("x"))
	for per := time.Since(t0); per < 25*time.Millisecond && cost < 14; per *= 2 {
		cost++
	}
	s := startWith(t, serverOpts{mutate: func(c *app.Config) {
		c.LoginMaxFailures = 0 // this is about CPU, not guessing
		c.BcryptCost = cost
	}})
	id := s.newShare(s.admin, "meta.bin")
	if err := s.App.CreateUser(context.Background(), "flood", "flood-pw", domain.PermRead); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 60 * time.Second}
	measure := func(title string, d time.Duration) *obLoadStats {
		st := newLoadStats()
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &obLoadClient{s: s, hc: hc, st: st, token: s.admin, addr: "192.0.2.1"}
				for time.Now().Before(stop) {
					c.do("getShare", "GET", "/files/"+id, nil, nil, 200)
					c.do("whoami", "GET", "/whoami", nil, nil, 200)
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		st.report(t, title, d)
		return st
	}
	base := measure("metadata alone", 2*time.Second)

	floodSt := newLoadStats()
	ctx, cancel := context.WithCancel(context.Background())
	var fwg sync.WaitGroup
	for i := 0; i < 64; i++ {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			c := &obLoadClient{ctx: ctx, s: s, hc: hc, st: floodSt, user: "flood", addr: fmt.Sprintf("203.0.113.%d", i+1)}
			for ctx.Err() == nil {
				c.do("login", "POST", "/users/login", c.jsonBody(map[string]string{"username": "flood", "password": "flood-pw"}), obJSON, 200)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	floodStart := time.Now()
	under := measure("metadata during a 64-client login flood", 3*time.Second)
	cancel()
	fwg.Wait()
	floodSt.report(t, fmt.Sprintf("the login flood (bcrypt cost %d, on %d of %d CPUs while other requests are in flight)", cost, max(1, runtime.NumCPU()/2), runtime.NumCPU()), time.Since(floodStart))
	for _, op := range []string{"getShare", "whoami"} {
		t.Logf("%s p50 %v → %v, p99 %v → %v while logins were hammered", op,
			obPercentile(base.lat[op], .5).Round(100*time.Microsecond), obPercentile(under.lat[op], .5).Round(100*time.Microsecond),
			obPercentile(base.lat[op], .99).Round(100*time.Microsecond), obPercentile(under.lat[op], .99).Round(100*time.Microsecond))
	}
	for _, p := range append(append(base.problems, under.problems...), floodSt.problems...) {
		t.Error(p)
	}
}
