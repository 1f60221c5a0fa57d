package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Figures of the Python server from issue 4, for scale.
const (
	pyMetaRate = 360.0
	pyMetaP99  = 173.0
	pyListRate = 64.0
)

// row is one line of the results table.
type row struct {
	db, name   string
	value, ref string
	ratio      float64
	target     string
	met        string
	mem        memPeak
}

const rssLimit = 64.0 // MiB

// verdict is the met? column: ok is nil when there is nothing to compare
// with. Every scenario also has to keep the server's peak RSS ≤ 64 MiB.
func verdict(ok *bool, mem memPeak) string {
	rssBad := mem.worst() > rssLimit
	switch {
	case ok == nil && rssBad:
		return "no (RSS)"
	case ok == nil:
		return "n/a"
	case *ok && rssBad:
		return "no (RSS)"
	case *ok:
		return "yes"
	case rssBad:
		return "no (+RSS)"
	}
	return "no"
}

func ptr(b bool) *bool { return &b }

// session is one server (one database) and what the scenarios share.
type session struct {
	b        *bench
	db       string
	dir      string
	srv      *server
	a        *api
	user, pw string
	big      string // the share downloaded by scenarios 1, 3, 4
	bigSeed  uint64
	bigSHA   string
	ngx      *nginx
	ngxTried bool
	ngxURL   string
}

func (s *session) logf(format string, args ...any) {
	s.b.logf("["+s.db+"] "+format, args...)
}

func (s *session) add(r row) {
	r.db = s.db
	s.b.rows = append(s.b.rows, r)
	s.logf("%s: %s | ref %s | ratio %s | %s | RSS %s", r.name, r.value, r.ref, fmtRatio(r.ratio), r.met, fmtMem(r.mem))
}

func (s *session) note(format string, args ...any) {
	msg := fmt.Sprintf("%s: "+format, append([]any{s.db}, args...)...)
	s.b.notes = append(s.b.notes, msg)
	s.b.logf("NOTE %s", msg)
}

func (s *session) sample() *sampler { return startSampler(s.srv.pid()) }

func (s *session) contentURL(id string) string { return s.a.base + "/files/" + id + "/content" }

// uploadOne creates a share and uploads size bytes to it; it checks the
// share's size (and hash, with -verify) afterwards.
func (s *session) uploadOne(ctx context.Context, up *uploader, name string, size int64, seed uint64) (id string, sha string, err error) {
	id, err = s.a.createShare(ctx, name)
	if err != nil {
		return "", "", err
	}
	sha, err = up.upload(ctx, id, size, s.b.cfg.chunk, seed, s.b.cfg.verify)
	if err != nil {
		return id, "", err
	}
	return id, sha, nil
}

func (s *session) checkShare(ctx context.Context, id string, size int64, sha string) error {
	info, err := s.a.share(ctx, id)
	if err != nil {
		return err
	}
	if !info.Initialized || info.Size == nil || *info.Size != size {
		err = fmt.Errorf("share %s after upload: initialized %v, size %v, want %d", id, info.Initialized, info.Size, size)
	} else if sha != "" && (info.SHA256 == nil || *info.SHA256 != sha) {
		err = fmt.Errorf("share %s: sha256 %v, the bytes sent hash to %s", id, info.SHA256, sha)
	}
	if err != nil {
		s.b.t.fail(err)
	}
	return err
}

func (s *session) deleteAll(ctx context.Context, ids []string) {
	for _, id := range ids {
		if id != "" {
			s.a.deleteShare(ctx, id)
		}
	}
}

// Scenario 2: chunked upload, one big file and par parallel ones.
func (s *session) scenarioUpload(ctx context.Context) error {
	cfg := s.b.cfg
	var single, par, ddSingle, ddPar []float64
	memS, memP := noMem(), noMem()
	up := newUploader(s.a)
	ups := make([]*uploader, cfg.par)
	for i := range ups {
		ups[i] = newUploader(s.a)
	}
	for r := range cfg.runs {
		var garbage []string
		seed := uint64(1000*(r+1) + 1)
		id, err := s.a.createShare(ctx, "big.bin")
		if err != nil {
			return err
		}
		ddSingle = s.ddAround(ctx, ddSingle, cfg.big, 1) // dd swings: one before, two after (median)
		smp := s.sample()
		t0 := time.Now()
		sha, err := up.upload(ctx, id, cfg.big, cfg.chunk, seed, cfg.verify)
		el := time.Since(t0)
		memS = memS.max(smp.end())
		if err != nil {
			s.deleteAll(ctx, []string{id})
			return fmt.Errorf("upload %s: %w", fmtSize(cfg.big), err)
		}
		if err := s.checkShare(ctx, id, cfg.big, sha); err != nil {
			return err
		}
		single = append(single, float64(cfg.big)/float64(MiB)/el.Seconds())
		if s.big == "" {
			s.big, s.bigSeed, s.bigSHA = id, seed, sha
		} else {
			garbage = append(garbage, id)
		}
		ddSingle = s.ddAround(ctx, ddSingle, cfg.big, 2)

		ids := make([]string, cfg.par)
		for i := range ids {
			if ids[i], err = s.a.createShare(ctx, fmt.Sprintf("par-%d.bin", i)); err != nil {
				return err
			}
		}
		shas := make([]string, cfg.par)
		errs := make([]error, cfg.par)
		ddPar = s.ddAround(ctx, ddPar, int64(cfg.par)*cfg.parSize, 1)
		smp = s.sample()
		t0 = time.Now()
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				shas[i], errs[i] = ups[i].upload(ctx, ids[i], cfg.parSize, cfg.chunk, seed+uint64(i)+1, cfg.verify)
			}()
		}
		wg.Wait()
		el = time.Since(t0)
		memP = memP.max(smp.end())
		if err := errors.Join(errs...); err != nil {
			s.deleteAll(ctx, append(garbage, ids...))
			return fmt.Errorf("parallel upload: %w", err)
		}
		for i := range ids {
			if err := s.checkShare(ctx, ids[i], cfg.parSize, shas[i]); err != nil {
				return err
			}
		}
		par = append(par, float64(cfg.par)*float64(cfg.parSize)/float64(MiB)/el.Seconds())
		ddPar = s.ddAround(ctx, ddPar, int64(cfg.par)*cfg.parSize, 2)
		s.deleteAll(ctx, append(garbage, ids...))
		s.logf("upload run %d/%d: single %.0f MiB/s, parallel %.0f MiB/s", r+1, cfg.runs, single[r], par[r])
	}
	s.add(ddSpread(throughputRow(fmt.Sprintf("upload %s, %s chunks, 1 stream", fmtSize(cfg.big), fmtSize(cfg.chunk)),
		median(single), median(ddSingle), "dd fsync", 0.5, memS), ddSingle))
	s.add(ddSpread(throughputRow(fmt.Sprintf("upload %d × %s parallel", cfg.par, fmtSize(cfg.parSize)),
		median(par), median(ddPar), "dd fsync", 0.5, memP), ddPar))
	return nil
}

func throughputRow(name string, v, ref float64, refName string, want float64, mem memPeak) row {
	r := row{name: name, value: fmtNum(v) + " MiB/s", ratio: v / ref,
		target: fmt.Sprintf("≥ %.1f × %s", want, refName), mem: mem}
	if math.IsNaN(ref) {
		r.ref = "— (" + refName + " not run)"
		r.met = verdict(nil, mem)
	} else {
		r.ref = fmtNum(ref) + " MiB/s (" + refName + ")"
		r.met = verdict(ptr(r.ratio >= want), mem)
	}
	return r
}

// ensureBig uploads the share the read scenarios use, when the upload
// scenario did not run.
func (s *session) ensureBig(ctx context.Context) error {
	if s.big != "" {
		return nil
	}
	id, sha, err := s.uploadOne(ctx, newUploader(s.a), "big.bin", s.b.cfg.big, 1001)
	if err != nil {
		return err
	}
	if err := s.checkShare(ctx, id, s.b.cfg.big, sha); err != nil {
		return err
	}
	s.big, s.bigSeed, s.bigSHA = id, 1001, sha
	return nil
}

// startNginx serves the big share's blob with nginx.
func (s *session) startNginx(ctx context.Context) {
	if s.ngxTried || s.b.nginxBin == "" {
		return
	}
	s.ngxTried = true
	root := filepath.Join(s.dir, "nginx-root") // next to the data dir: same disk, same filesystem
	if err := os.MkdirAll(root, 0o755); err != nil {
		s.note("nginx reference skipped: %v", err)
		return
	}
	how, err := linkBlob(s.srv.dataDir, filepath.Join(root, "big.bin"), s.b.cfg.big, s.bigSeed)
	if err != nil {
		s.note("nginx reference skipped: preparing its file: %v", err)
		return
	}
	ngx, err := startNginx(ctx, s.b.nginxBin, filepath.Join(s.dir, "nginx"), root)
	if err != nil {
		s.note("nginx reference skipped: %v", err)
		return
	}
	s.ngx, s.ngxURL = ngx, ngx.url("big.bin")
	if err := checkNginxServes(ctx, s.b.hc, s.ngxURL, s.b.cfg.big); err != nil {
		s.note("nginx reference skipped: %v", err)
		ngx.stop()
		s.ngx = nil
		return
	}
	s.b.nginxFile = how
}

func (s *session) stopNginx() {
	if s.ngx != nil {
		s.ngx.stop()
		s.ngx = nil
	}
}

// downloadPar fetches url par times at once and returns aggregate MiB/s.
func (s *session) downloadPar(ctx context.Context, url, token string, par int, bufs [][]byte) (float64, error) {
	size := s.b.cfg.big
	errs := make([]error, par)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.b.t.record(download(ctx, s.b.hc, url, token, size, bufs[i], nil))
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(par) * float64(size) / float64(MiB) / el.Seconds(), nil
}

func (s *session) downloadOne(ctx context.Context, url, token string, buf []byte) (float64, error) {
	t0 := time.Now()
	if err := s.b.t.record(download(ctx, s.b.hc, url, token, s.b.cfg.big, buf, nil)); err != nil {
		return 0, err
	}
	return float64(s.b.cfg.big) / float64(MiB) / time.Since(t0).Seconds(), nil
}

// Scenario 1: download the big share, one stream and par parallel.
func (s *session) scenarioDownload(ctx context.Context) error {
	cfg := s.b.cfg
	if err := s.ensureBig(ctx); err != nil {
		return err
	}
	url := s.contentURL(s.big)
	bufs := make([][]byte, cfg.par)
	for i := range bufs {
		bufs[i] = make([]byte, ioBuf)
	}
	// Untimed warm-up: the page cache then holds the file for both servers.
	h := sha256.New()
	if err := s.b.t.record(download(ctx, s.b.hc, url, s.a.token, cfg.big, bufs[0], h)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); s.bigSHA != "" && got != s.bigSHA {
		err := fmt.Errorf("download of %s hashes to %s, upload was %s", s.big, got, s.bigSHA)
		s.b.t.fail(err)
		return err
	}
	s.startNginx(ctx)
	single, par, err := s.downloadPairs(ctx, "download", url, s.a.token, bufs)
	if err != nil {
		return err
	}
	s.add(single)
	s.add(par)
	s.curlRow(ctx)
	return nil
}

// latency figures of several runs: medians of each run's rate, p50, p99.
type latRuns struct{ rate, p50, p99 []float64 }

func (l *latRuns) add(st stat) {
	l.rate = append(l.rate, st.rate())
	l.p50 = append(l.p50, ms(st.pct(50)))
	l.p99 = append(l.p99, ms(st.pct(99)))
}

func (l latRuns) String() string {
	if len(l.rate) == 0 {
		return "—"
	}
	return fmt.Sprintf("%s req/s · p50 %s · p99 %s", fmtNum(median(l.rate)), fmtMs(median(l.p50)), fmtMs(median(l.p99)))
}

// Scenario 3: random small ranges of the big share.
func (s *session) scenarioRange(ctx context.Context) error {
	cfg := s.b.cfg
	if err := s.ensureBig(ctx); err != nil {
		return err
	}
	s.startNginx(ctx)
	n := min(cfg.rangeSize, cfg.big)
	rangeJob := func(url, token string) job {
		return func(ctx context.Context, _ int, rng *rand.Rand) error {
			return getRange(ctx, s.b.hc, url, token, rng.Int64N(cfg.big-n+1), n)
		}
	}
	var sl, nl latRuns
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadN(ctx, s.b.t, cfg.rangeConc, cfg.ranges, rangeJob(s.contentURL(s.big), s.a.token))
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return fmt.Errorf("range: %d of %d requests failed", st.fails, st.n)
		}
		sl.add(st)
		if s.ngx != nil {
			st := loadN(ctx, s.b.t, cfg.rangeConc, cfg.ranges, rangeJob(s.ngxURL, ""))
			if st.fails == 0 {
				nl.add(st)
			} else {
				s.note("nginx range: %d of %d requests failed", st.fails, st.n)
			}
		}
		s.logf("range run %d/%d: sachet %.0f req/s, nginx %s req/s", r+1, cfg.runs, sl.rate[r], last(nl.rate))
	}
	rw := row{
		name:   fmt.Sprintf("range: %d × %s at random offsets, concurrency %d", cfg.ranges, fmtSize(n), cfg.rangeConc),
		value:  sl.String(),
		ratio:  median(sl.rate) / median(nl.rate),
		target: "≥ 0.5 × nginx req/s (issue 14)",
		mem:    mem,
	}
	if len(nl.rate) == 0 {
		rw.ref, rw.met = "— (nginx not run)", verdict(nil, mem)
	} else {
		rw.ref, rw.met = nl.String()+" (nginx)", verdict(ptr(rw.ratio >= 0.5), mem)
	}
	s.add(rw)
	return nil
}

// Scenario 4a: authenticated GET /files/{id}.
func (s *session) scenarioMeta(ctx context.Context) error {
	cfg := s.b.cfg
	id := s.big
	if id == "" {
		var err error
		if id, err = s.a.createShare(ctx, "meta.bin"); err != nil {
			return err
		}
	}
	path := "/files/" + id
	var l latRuns
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, func(ctx context.Context, _ int, _ *rand.Rand) error {
			return s.a.get(ctx, path, http.StatusOK)
		})
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return fmt.Errorf("metadata GET: %d of %d requests failed", st.fails, st.n)
		}
		l.add(st)
		s.logf("metadata GET run %d/%d: %.0f req/s, p99 %.1f ms", r+1, cfg.runs, l.rate[r], l.p99[r])
	}
	rate, p99 := median(l.rate), median(l.p99)
	s.add(row{
		name:   fmt.Sprintf("metadata: GET /files/{id}, concurrency %d, %s", cfg.metaConc, cfg.metaDur),
		value:  l.String(),
		ref:    fmt.Sprintf("%.0f req/s · p99 %.0f ms (Python, issue 4)", pyMetaRate, pyMetaP99),
		ratio:  rate / pyMetaRate,
		target: "≥ 7200 req/s (20 × Python), p99 ≤ 10 ms",
		met:    verdict(ptr(rate >= 20*pyMetaRate && p99 <= 10), mem),
		mem:    mem,
	})
	return nil
}

// Scenario 4b: GET /files?per_page=15 at random pages of listShares shares.
func (s *session) scenarioList(ctx context.Context) error {
	cfg := s.b.cfg
	p, err := s.a.listPage(ctx, 1, 1)
	if err != nil {
		return err
	}
	if need := cfg.listShares - p.Pages; need > 0 {
		t0 := time.Now()
		st := loadN(ctx, s.b.t, cfg.metaConc, need, func(ctx context.Context, w int, _ *rand.Rand) error {
			return s.a.call(ctx, http.MethodPost, "/files", map[string]string{"file_name": "list-" + strconv.Itoa(w) + ".txt"}, http.StatusCreated, nil)
		})
		if st.fails > 0 {
			return fmt.Errorf("creating shares: %d of %d requests failed", st.fails, st.n)
		}
		s.logf("created %d shares in %.1f s (%.0f/s)", need, time.Since(t0).Seconds(), st.rate())
		s.b.notes = append(s.b.notes, fmt.Sprintf("%s: creating the %d shares for the list scenario (POST /files, concurrency %d): %.0f req/s.", s.db, need, cfg.metaConc, st.rate()))
	}
	if p, err = s.a.listPage(ctx, 1, 15); err != nil {
		return err
	}
	pages := max(p.Pages, 1)
	var l latRuns
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, func(ctx context.Context, _ int, rng *rand.Rand) error {
			return s.a.get(ctx, "/files?per_page=15&page="+strconv.Itoa(1+rng.IntN(pages)), http.StatusOK)
		})
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return fmt.Errorf("list: %d of %d requests failed", st.fails, st.n)
		}
		l.add(st)
		s.logf("list run %d/%d: %.0f req/s, p99 %.1f ms", r+1, cfg.runs, l.rate[r], l.p99[r])
	}
	rate := median(l.rate)
	s.add(row{
		name:   fmt.Sprintf("list: GET /files?per_page=15, random page of %d shares, concurrency %d, %s", cfg.listShares, cfg.metaConc, cfg.metaDur),
		value:  l.String(),
		ref:    fmt.Sprintf("%.0f req/s (Python, issue 4)", pyListRate),
		ratio:  rate / pyListRate,
		target: "≥ 3200 req/s (50 × Python)",
		met:    verdict(ptr(rate >= 50*pyListRate), mem),
		mem:    mem,
	})
	return nil
}

// Scenario 5: login at concurrency loginConc next to bcrypt's own rate.
func (s *session) scenarioLogin(ctx context.Context) error {
	cfg := s.b.cfg
	anon := *s.a
	anon.token = ""
	body := map[string]string{"username": s.user, "password": s.pw}
	var l latRuns
	var ref []float64
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadFor(ctx, s.b.t, cfg.loginConc, cfg.loginDur, func(ctx context.Context, _ int, _ *rand.Rand) error {
			return anon.call(ctx, http.MethodPost, "/users/login", body, http.StatusOK, nil)
		})
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return fmt.Errorf("login: %d of %d requests failed", st.fails, st.n)
		}
		l.add(st)
		v, err := bcryptRate(ctx, cfg.bcryptCost, cfg.bcryptWorkers, cfg.loginDur)
		if err != nil {
			return err
		}
		ref = append(ref, v)
		s.logf("login run %d/%d: %.1f req/s, bcrypt %.1f/s", r+1, cfg.runs, l.rate[r], v)
	}
	rate, refRate := median(l.rate), median(ref)
	s.add(row{
		name:   fmt.Sprintf("login: POST /users/login, concurrency %d, bcrypt cost %d", cfg.loginConc, cfg.bcryptCost),
		value:  l.String(),
		ref:    fmt.Sprintf("%s/s (bcrypt.CompareHashAndPassword on %d goroutines)", fmtNum(refRate), cfg.bcryptWorkers),
		ratio:  rate / refRate,
		target: "≥ 0.9 × bcrypt",
		met:    verdict(ptr(rate/refRate >= 0.9), mem),
		mem:    mem,
	})
	return nil
}

func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Scenario 6: peak RSS of one upload and one download per file size.
func (s *session) scenarioMemory(ctx context.Context) error {
	cfg := s.b.cfg
	type point struct {
		size     int64
		up, down memPeak
	}
	var pts []point
	up := newUploader(s.a)
	buf := make([]byte, ioBuf)
	for i, size := range cfg.memSizes {
		need := 3 * size // chunks + blob + slack
		if size >= 4*GiB {
			need = max(need, 20*GiB)
		}
		if free, err := freeBytes(s.srv.dataDir); err == nil && free < need {
			s.note("memory scenario: %s skipped, only %.1f GiB free on the data dir's disk (wants %s)", fmtSize(size), float64(free)/float64(GiB), fmtSize(need))
			continue
		}
		pt := point{size: size, up: noMem(), down: noMem()}
		for r := range cfg.memRuns {
			seed := uint64(90000 + 100*i + r)
			id, err := s.a.createShare(ctx, "mem.bin")
			if err != nil {
				return err
			}
			smp := s.sample()
			sha, err := up.upload(ctx, id, size, cfg.chunk, seed, cfg.verify)
			pt.up = pt.up.max(smp.end())
			if err == nil {
				err = s.checkShare(ctx, id, size, sha)
			}
			if err != nil {
				s.deleteAll(ctx, []string{id})
				return fmt.Errorf("memory scenario upload %s: %w", fmtSize(size), err)
			}
			smp = s.sample()
			err = s.b.t.record(download(ctx, s.b.hc, s.contentURL(id), s.a.token, size, buf, nil))
			pt.down = pt.down.max(smp.end())
			s.deleteAll(ctx, []string{id})
			if err != nil {
				return fmt.Errorf("memory scenario download %s: %w", fmtSize(size), err)
			}
		}
		pts = append(pts, pt)
		m := pt.up.max(pt.down)
		s.add(row{
			name:   fmt.Sprintf("memory: one upload + one download of %s", fmtSize(size)),
			value:  fmt.Sprintf("peak RSS up %s / down %s MiB", fmtNum(pt.up.worst()), fmtNum(pt.down.worst())),
			ref:    "730 MB for 256 MiB (Python, issue 4)",
			ratio:  math.NaN(),
			target: "≤ 64 MiB",
			met:    verdict(ptr(m.worst() <= rssLimit), m),
			mem:    m,
		})
	}
	if len(pts) >= 2 {
		lo, hi := math.Inf(1), math.Inf(-1)
		all := noMem()
		for _, p := range pts {
			w := p.up.max(p.down)
			all = all.max(w)
			lo, hi = math.Min(lo, w.worst()), math.Max(hi, w.worst())
		}
		spread := hi - lo
		s.add(row{
			name:   fmt.Sprintf("memory flatness: %s … %s", fmtSize(pts[0].size), fmtSize(pts[len(pts)-1].size)),
			value:  fmt.Sprintf("peaks %s … %s MiB (spread %s MiB)", fmtNum(lo), fmtNum(hi), fmtNum(spread)),
			ref:    "—",
			ratio:  hi / lo,
			target: "same for every size (spread ≤ 8 MiB)",
			met:    verdict(ptr(spread <= 8), all),
			mem:    all,
		})
	}
	return nil
}

// last formats the latest figure of a reference (— when it did not run).
func last(xs []float64) string {
	if len(xs) == 0 {
		return "—"
	}
	return fmtNum(xs[len(xs)-1])
}
