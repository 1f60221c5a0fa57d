package main

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/internal/s3test"
)

// The S3 section (issue 11 item 5): sachet with SACHET_STORAGE=s3://… on a
// versitygw the bench starts on loopback, next to the same bytes put and
// got straight through minio-go against the same versitygw in the same
// run. Throughput and memory use one server process; metadata and list
// use two processes on one MariaDB and one bucket (SQLite refuses a
// second process, so without MariaDB they run on one).

const (
	s3Bucket = "sachet-bench"
	s3Prefix = "bench/"
	// s3MinPart is S3's smallest multipart part: minio-go refuses a
	// smaller PartSize, so the direct reference uses at least this.
	s3MinPart = 5 * MiB
)

// s3Env is what runS3 shares between its scenarios.
type s3Env struct {
	s      *session // process 1: throughput, memory, and the admin's token
	a2     *api     // process 2 (nil when there is only one)
	mc     *minio.Client
	srv2   *server
	gwDir  string
	gwPid  int // versitygw's process, for its CPU time
	procs  int
	direct int // counter for direct object names
}

// runS3 starts versitygw, one or two sachet servers on it, and runs the
// S3 scenarios. A missing versitygw binary is a note, not an error, unless
// services are required (CI, make test), as in the tests.
func (b *bench) runS3(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "s3")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !b.cfg.keep {
		defer os.RemoveAll(dir)
	}
	gwDir := filepath.Join(dir, "versitygw")
	gw, err := s3test.StartShared(gwDir, s3Bucket)
	if err != nil {
		if errors.Is(err, s3test.ErrNotInstalled) && !s3test.Required() {
			msg := "S3 section skipped: " + err.Error()
			b.notes = append(b.notes, msg)
			b.logf("NOTE %s", msg)
			return nil
		}
		return fmt.Errorf("starting versitygw: %w", err)
	}
	defer gw.Stop()
	b.versions = append(b.versions, "versitygw "+versitygwVersion(s3test.Binary()))
	b.logf("[S3] versitygw on %s, root %s", gw.Endpoint, gwDir)

	label, database, procs := "S3 + SQLite", "", 1
	{
		m, err := createMySQLDB(ctx, b.cfg.mysqlDSN)
		if err != nil {
			msg := fmt.Sprintf("S3: MariaDB unavailable at %s (%v): one process on SQLite, no two-process rows.", b.cfg.mysqlDSN, err)
			b.notes = append(b.notes, msg)
			b.logf("NOTE %s", msg)
		} else {
			defer func() {
				if err := m.drop(); err != nil {
					b.logf("dropping database %s: %v", m.name, err)
				}
			}()
			label, database, procs = "S3 + MariaDB", "mysql:"+m.dsn, 2
		}
	}
	// Processes on one database must sign tokens with one key (by default
	// each generates its own in its data dir).
	env := append(gw.Env(s3Bucket, s3Prefix), "SACHET_SECRET_KEY=bench-"+randomHex(32))
	// -server-env (e.g. SACHET_PPROF_ADDR: the second process, finding
	// the port taken, only warns).
	env = append(env, b.cfg.serverEnv...)
	b.logf("[%s] starting %d sachet serve", label, procs)
	srv, err := startServer(ctx, b.cfg.bin, filepath.Join(dir, "p1"), database, b.cfg.bcryptCost, env...)
	if err != nil {
		return err
	}
	defer srv.stop()
	s := &session{b: b, db: label, dir: dir, srv: srv, user: "bench", pw: "bench-" + randomHex(12)}
	if err := s.setupAdmin(ctx); err != nil {
		return err
	}
	e := &s3Env{s: s, gwDir: gwDir, gwPid: gw.Pid(), procs: procs}
	if procs == 2 {
		if e.srv2, err = startServer(ctx, b.cfg.bin, filepath.Join(dir, "p2"), database, b.cfg.bcryptCost, env...); err != nil {
			return err
		}
		defer e.srv2.stop()
		a2 := *s.a
		a2.base = e.srv2.base()
		e.a2 = &a2
	}
	e.mc, err = minio.New(gw.Addr, &minio.Options{
		Creds:        credentials.NewStaticV4(s3test.Access, s3test.Secret, ""),
		BucketLookup: minio.BucketLookupPath,
		Region:       "us-east-1",
	})
	if err != nil {
		return err
	}

	var errs []error
	for _, sc := range []struct {
		name string
		fn   func(context.Context) error
	}{
		// Memory first, on a fresh process: what the 8 parallel uploads
		// leave in the heap would otherwise be the smallest size's peak.
		{"memory", e.memory}, {"throughput", e.throughput}, {"meta", e.meta}, {"list", e.list},
	} {
		if ctx.Err() != nil {
			break
		}
		b.logf("[%s] scenario s3 %s", label, sc.name)
		if err := sc.fn(ctx); err != nil {
			s.note("scenario s3 %s failed: %v", sc.name, err)
			errs = append(errs, fmt.Errorf("scenario s3 %s: %w", sc.name, err))
		}
	}
	for _, p := range []*server{srv, e.srv2} {
		if p == nil {
			continue
		}
		select {
		case <-p.exited:
			errs = append(errs, fmt.Errorf("a server exited during the run (%v); its log:\n%s", p.waitErr, p.logTail()))
		default:
		}
	}
	return errors.Join(errs...)
}

// versitygwVersion is the module version recorded in the binary: `go
// install …@v1.8.0` builds report "git" to --version.
func versitygwVersion(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil || bi.Main.Version == "" {
		return "(version unknown)"
	}
	return strings.TrimPrefix(bi.Main.Version, "v")
}

// ---- direct references through minio-go ----

func (e *s3Env) directKey() string {
	e.direct++
	return fmt.Sprintf("direct/%d", e.direct)
}

// directPut puts size bytes of the stream seeded with seed (the bytes the
// sachet upload sends) as one object, one part at a time on one stream.
func (e *s3Env) directPut(ctx context.Context, key string, size int64, seed uint64) error {
	part := max(e.s.b.cfg.chunk, s3MinPart)
	_, err := e.mc.PutObject(ctx, s3Bucket, key, io.LimitReader(newPRNG(seed), size), size,
		minio.PutObjectOptions{PartSize: uint64(part), NumThreads: 1})
	return e.s.b.t.record(err)
}

func (e *s3Env) directGet(ctx context.Context, key string, size int64, buf []byte) error {
	o, err := e.mc.GetObject(ctx, s3Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return e.s.b.t.record(err)
	}
	defer o.Close()
	var got int64
	for {
		k, err := o.Read(buf)
		got += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return e.s.b.t.record(fmt.Errorf("direct GET %s: after %d bytes: %w", key, got, err))
		}
	}
	if got != size {
		return e.s.b.t.record(fmt.Errorf("direct GET %s: %d bytes, want %d", key, got, size))
	}
	return e.s.b.t.record(nil)
}

func (e *s3Env) removeDirect(ctx context.Context, keys ...string) {
	for _, k := range keys {
		if err := e.mc.RemoveObject(ctx, s3Bucket, k, minio.RemoveObjectOptions{}); err != nil {
			e.s.logf("removing %s: %v", k, err)
		}
	}
}

func mibps(n int64, d time.Duration) float64 { return float64(n) / float64(MiB) / d.Seconds() }

// throughput: one-stream upload, par parallel uploads and one-stream
// download of the big file, each run next to the same operation done
// directly (the reference runs right after sachet's, in the same run).
func (e *s3Env) throughput(ctx context.Context) error {
	s, cfg := e.s, e.s.b.cfg
	var up, upRef, par, parRef, down, downRef []float64
	memU, memP, memD := noMem(), noMem(), noMem()
	u := newUploader(s.a)
	ups := make([]*uploader, cfg.par)
	for i := range ups {
		ups[i] = newUploader(s.a)
	}
	buf := make([]byte, ioBuf)
	// CPU time of sachet, versitygw and this process (the client) during
	// the one-stream upload and during the direct put, summed over runs:
	// on a shared machine the rates follow the load, the CPU per byte
	// much less.
	cpu := cpuMeter{s.srv.pid(), e.gwPid, 0}
	cpuUp, cpuRef := make([]time.Duration, 3), make([]time.Duration, 3)
	cpuDown, cpuDownRef := make([]time.Duration, 3), make([]time.Duration, 3)
	addCPU := func(sum, d []time.Duration) {
		for i := range sum {
			sum[i] += d[i]
		}
	}
	for r := range cfg.runs {
		seed := uint64(5000*(r+1) + 1)
		// One stream.
		id, err := s.a.createShare(ctx, "s3-big.bin")
		if err != nil {
			return err
		}
		smp := s.sample()
		c0 := cpu.read()
		t0 := time.Now()
		sha, err := u.upload(ctx, id, cfg.big, cfg.chunk, seed, cfg.verify)
		el := time.Since(t0)
		addCPU(cpuUp, cpu.since(c0))
		memU = memU.max(smp.end())
		if err == nil {
			err = s.checkShare(ctx, id, cfg.big, sha)
		}
		if err != nil {
			s.deleteAll(ctx, []string{id})
			return fmt.Errorf("upload %s: %w", fmtSize(cfg.big), err)
		}
		up = append(up, mibps(cfg.big, el))
		key := e.directKey()
		c0 = cpu.read()
		t0 = time.Now()
		if err := e.directPut(ctx, key, cfg.big, seed); err != nil {
			s.deleteAll(ctx, []string{id})
			return fmt.Errorf("direct put: %w", err)
		}
		upRef = append(upRef, mibps(cfg.big, time.Since(t0)))
		addCPU(cpuRef, cpu.since(c0))

		// Download of what was just uploaded, and of the direct object.
		// Which goes first alternates by run: the first runs right after
		// 2 GiB were written to versitygw's disk (writeback still running),
		// so a fixed order weighed on one side only.
		sachetGet := func() error {
			var h hash.Hash
			if sha != "" {
				h = sha256.New()
			}
			smp := s.sample()
			c0 := cpu.read()
			t0 := time.Now()
			err := s.b.t.record(download(ctx, s.b.hc, s.contentURL(id), s.a.token, cfg.big, buf, h))
			el := time.Since(t0)
			addCPU(cpuDown, cpu.since(c0))
			memD = memD.max(smp.end())
			if err == nil && h != nil {
				if got := hex.EncodeToString(h.Sum(nil)); got != sha {
					err = fmt.Errorf("download of %s hashes to %s, upload was %s", id, got, sha)
					s.b.t.fail(err)
				}
			}
			if err == nil {
				down = append(down, mibps(cfg.big, el))
			}
			return err
		}
		directGet := func() error {
			c0 := cpu.read()
			t0 := time.Now()
			err := e.directGet(ctx, key, cfg.big, buf)
			addCPU(cpuDownRef, cpu.since(c0))
			if err == nil {
				downRef = append(downRef, mibps(cfg.big, time.Since(t0)))
			}
			return err
		}
		gets := []func() error{sachetGet, directGet}
		if r%2 == 1 {
			gets[0], gets[1] = gets[1], gets[0]
		}
		err = gets[0]()
		if err == nil {
			err = gets[1]()
		}
		s.deleteAll(ctx, []string{id})
		e.removeDirect(ctx, key)
		if err != nil {
			return err
		}

		// par at once.
		ids := make([]string, cfg.par)
		for i := range ids {
			if ids[i], err = s.a.createShare(ctx, fmt.Sprintf("s3-par-%d.bin", i)); err != nil {
				return err
			}
		}
		shas := make([]string, cfg.par)
		errs := make([]error, cfg.par)
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
		err = errors.Join(errs...)
		for i := range ids {
			if err == nil {
				err = s.checkShare(ctx, ids[i], cfg.parSize, shas[i])
			}
		}
		s.deleteAll(ctx, ids)
		if err != nil {
			return fmt.Errorf("parallel upload: %w", err)
		}
		par = append(par, mibps(int64(cfg.par)*cfg.parSize, el))
		keys := make([]string, cfg.par)
		for i := range keys {
			keys[i] = e.directKey()
		}
		t0 = time.Now()
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.directPut(ctx, keys[i], cfg.parSize, seed+uint64(i)+1)
			}()
		}
		wg.Wait()
		el = time.Since(t0)
		e.removeDirect(ctx, keys...)
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("direct parallel put: %w", err)
		}
		parRef = append(parRef, mibps(int64(cfg.par)*cfg.parSize, el))
		s.logf("s3 run %d/%d: upload %.0f (direct %.0f), %d parallel %.0f (direct %.0f), download %.0f (direct %.0f) MiB/s",
			r+1, cfg.runs, up[r], upRef[r], cfg.par, par[r], parRef[r], down[r], downRef[r])
	}
	dratios := make([]float64, len(down))
	for i := range down {
		dratios[i] = down[i] / downRef[i]
	}
	// The ratio is the median of the per-run pairs (each pair measured
	// back to back, the order alternating), not of the two medians.
	dr := throughputRow(fmt.Sprintf("S3 download %s, 1 stream (ratio: median of per-run pairs)", fmtSize(cfg.big)), median(down), median(downRef), "minio-go GetObject", 0.8, memD)
	dr.ratio = median(dratios)
	dr.met = verdict(ptr(dr.ratio >= 0.8), memD)
	s.add(dr)
	s.add(cpuRow(fmt.Sprintf("S3 download %s, 1 stream: CPU s per GiB (median of per-run rate ratios %.2f)", fmtSize(cfg.big), median(dratios)),
		cpuDown, cpuDownRef, int64(cfg.runs)*cfg.big))
	s.add(throughputRow(fmt.Sprintf("S3 upload %s, %s chunks, 1 stream", fmtSize(cfg.big), fmtSize(cfg.chunk)),
		median(up), median(upRef), fmt.Sprintf("minio-go PutObject, %s parts, 1 stream", fmtSize(max(cfg.chunk, s3MinPart))), 0.5, memU))
	ratios := make([]float64, len(up))
	for i := range up {
		ratios[i] = up[i] / upRef[i]
	}
	s.add(cpuRow(fmt.Sprintf("S3 upload %s, 1 stream: CPU s per GiB (median of per-run rate ratios %.2f)", fmtSize(cfg.big), median(ratios)),
		cpuUp, cpuRef, int64(cfg.runs)*cfg.big))
	s.add(throughputRow(fmt.Sprintf("S3 upload %d × %s parallel", cfg.par, fmtSize(cfg.parSize)),
		median(par), median(parRef), fmt.Sprintf("%d × minio-go PutObject at once", cfg.par), 0.5, memP))
	return nil
}

// memory: peak RSS of one upload and one download per size through the
// S3 store; the peaks must not grow with the size.
func (e *s3Env) memory(ctx context.Context) error {
	s, cfg := e.s, e.s.b.cfg
	u := newUploader(s.a)
	buf := make([]byte, ioBuf)
	var peaks []float64
	var done []int64
	all := noMem()
	for i, size := range cfg.s3MemSizes {
		// versitygw's parts and object, the server's spool, slack.
		if free, err := freeBytes(e.gwDir); err == nil && free < 3*size {
			s.note("S3 memory scenario: %s skipped, only %.1f GiB free on the disk (wants %s)", fmtSize(size), float64(free)/float64(GiB), fmtSize(3*size))
			continue
		}
		id, err := s.a.createShare(ctx, "s3-mem.bin")
		if err != nil {
			return err
		}
		smp := s.sample()
		sha, err := u.upload(ctx, id, size, cfg.chunk, uint64(95000+i), cfg.verify)
		mu := smp.end()
		if err == nil {
			err = s.checkShare(ctx, id, size, sha)
		}
		if err != nil {
			s.deleteAll(ctx, []string{id})
			return fmt.Errorf("upload %s: %w", fmtSize(size), err)
		}
		smp = s.sample()
		err = s.b.t.record(download(ctx, s.b.hc, s.contentURL(id), s.a.token, size, buf, nil))
		md := smp.end()
		s.deleteAll(ctx, []string{id})
		if err != nil {
			return fmt.Errorf("download %s: %w", fmtSize(size), err)
		}
		m := mu.max(md)
		all = all.max(m)
		peaks = append(peaks, m.worst())
		done = append(done, size)
		s.add(row{
			name:   fmt.Sprintf("S3 memory: one upload + one download of %s", fmtSize(size)),
			value:  fmt.Sprintf("peak RSS up %s / down %s MiB", fmtNum(mu.worst()), fmtNum(md.worst())),
			ref:    "—",
			ratio:  math.NaN(),
			target: "≤ 64 MiB",
			met:    verdict(ptr(m.worst() <= rssLimit), m),
			mem:    m,
		})
	}
	if len(peaks) >= 2 {
		lo, hi := minf(peaks), maxf(peaks)
		s.add(row{
			name:   fmt.Sprintf("S3 memory flatness: %s … %s", fmtSize(done[0]), fmtSize(done[len(done)-1])),
			value:  fmt.Sprintf("peaks %s … %s MiB (spread %s MiB)", fmtNum(lo), fmtNum(hi), fmtNum(hi-lo)),
			ref:    "—",
			ratio:  hi / lo,
			target: "same for every size (spread ≤ 8 MiB)",
			met:    verdict(ptr(hi-lo <= 8), all),
			mem:    all,
		})
	}
	return nil
}

// cpuRow reports the CPU seconds per GiB that sachet, versitygw and the
// client used for n bytes moved through sachet (up: uploaded or
// downloaded) and directly (ref: sachet idle).
func cpuRow(name string, up, ref []time.Duration, n int64) row {
	perGiB := func(d time.Duration) float64 { return d.Seconds() / (float64(n) / float64(GiB)) }
	tot := func(ds []time.Duration) float64 {
		var t float64
		for _, d := range ds {
			t += perGiB(d)
		}
		return t
	}
	return row{
		name: name,
		value: fmt.Sprintf("sachet %.2f + versitygw %.2f + client %.2f = %.2f",
			perGiB(up[0]), perGiB(up[1]), perGiB(up[2]), tot(up)),
		ref: fmt.Sprintf("direct: (sachet %.2f) versitygw %.2f + client %.2f = %.2f",
			perGiB(ref[0]), perGiB(ref[1]), perGiB(ref[2]), perGiB(ref[1])+perGiB(ref[2])),
		ratio:  tot(up) / (perGiB(ref[1]) + perGiB(ref[2])),
		target: "reported",
		met:    verdict(nil, noMem()),
		mem:    noMem(),
	}
}

func minf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}

// pick spreads workers over the processes: worker w talks to process
// w mod procs, so each process gets half the load.
func (e *s3Env) pick(w int) *api {
	if e.a2 != nil && w%2 == 1 {
		return e.a2
	}
	return e.s.a
}

func (e *s3Env) procLabel() string {
	if e.procs == 2 {
		return "2 processes"
	}
	return "1 process"
}

// reported runs a load and returns its row (no target: issue 11 asks for
// these figures to be reported). Memory is process 1's.
func (e *s3Env) reported(ctx context.Context, name string, fn job) (row, error) {
	s, cfg := e.s, e.s.b.cfg
	var l latRuns
	mem := noMem()
	for r := range cfg.runs {
		smp := s.sample()
		st := loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, fn)
		mem = mem.max(smp.end())
		if st.fails > 0 {
			return row{}, fmt.Errorf("%d of %d requests failed", st.fails, st.n)
		}
		l.add(st)
		s.logf("%s run %d/%d: %.0f req/s, p99 %.1f ms", name, r+1, cfg.runs, l.rate[r], l.p99[r])
	}
	return row{name: name, value: l.String(), ref: "—", ratio: math.NaN(), target: "reported", met: verdict(nil, mem), mem: mem}, nil
}

// meta: GET /files/{id} spread over the processes.
func (e *s3Env) meta(ctx context.Context) error {
	s, cfg := e.s, e.s.b.cfg
	id, err := s.a.createShare(ctx, "s3-meta.bin")
	if err != nil {
		return err
	}
	defer s.deleteAll(ctx, []string{id})
	path := "/files/" + id
	r, err := e.reported(ctx, fmt.Sprintf("S3 metadata: GET /files/{id}, %s, concurrency %d, %s", e.procLabel(), cfg.metaConc, cfg.metaDur),
		func(ctx context.Context, w int, _ *rand.Rand) error { return e.pick(w).get(ctx, path, http.StatusOK) })
	if err != nil {
		return err
	}
	s.add(r)
	return nil
}

// list: GET /files?per_page=15 at random pages, spread over the processes.
func (e *s3Env) list(ctx context.Context) error {
	s, cfg := e.s, e.s.b.cfg
	p, err := s.a.listPage(ctx, 1, 1)
	if err != nil {
		return err
	}
	if need := cfg.listShares - p.Pages; need > 0 {
		st := loadN(ctx, s.b.t, cfg.metaConc, need, func(ctx context.Context, w int, _ *rand.Rand) error {
			return e.pick(w).call(ctx, http.MethodPost, "/files", map[string]string{"file_name": "list-" + strconv.Itoa(w) + ".txt"}, http.StatusCreated, nil)
		})
		if st.fails > 0 {
			return fmt.Errorf("creating shares: %d of %d requests failed", st.fails, st.n)
		}
	}
	if p, err = s.a.listPage(ctx, 1, 15); err != nil {
		return err
	}
	pages := max(p.Pages, 1)
	r, err := e.reported(ctx, fmt.Sprintf("S3 list: GET /files?per_page=15, random page of %d shares, %s, concurrency %d, %s", cfg.listShares, e.procLabel(), cfg.metaConc, cfg.metaDur),
		func(ctx context.Context, w int, rng *rand.Rand) error {
			return e.pick(w).get(ctx, "/files?per_page=15&page="+strconv.Itoa(1+rng.IntN(pages)), http.StatusOK)
		})
	if err != nil {
		return err
	}
	s.add(r)
	return nil
}
