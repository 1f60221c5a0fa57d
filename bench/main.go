// Command bench is Sachet's benchmark suite: a load generator that starts a
// given sachet binary fresh (SQLite, then MariaDB), runs the scenarios of
// issue 4 next to references started in the same run (nginx on the same
// file, dd with fsync on the same disk, bcrypt at the same cost), samples
// the server's RSS, and prints one table (and rewrites bench/README.md).
//
//	go build -o bin/sachet ./cmd/sachet
//	go run ./bench -bin bin/sachet -out bench/README.md
//	go run ./bench -bin bin/sachet -smoke      # seconds, tiny files
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin, out, dir string
	smoke         bool
	runs          int

	big, parSize, chunk int64
	par                 int

	ranges    int
	rangeSize int64
	rangeConc int

	metaDur    time.Duration
	metaConc   int
	listShares int

	loginDur      time.Duration
	loginConc     int
	bcryptCost    int
	bcryptWorkers int

	memSizes sizes
	memRuns  int

	s3MemSizes sizes

	dbs       string
	mysqlDSN  string
	nginx     string
	dd        bool
	verify    bool
	keep      bool
	scenarios string
	conns     connsConfig // issue 14 item 3 (bench/conns.go)
	peers     bool        // the peers section (peers.go)
	cliAll    bool        // cli scenario: every push variant, not only the default
	peerDir   string      // where scripts/install-peers put them
	serverEnv []string

	million millionConfig // issue 14 item 2 (million.go)
}

var allScenarios = []string{"upload", "download", "range", "meta", "list", "login", "link", "memory", "cli", "s3"}

// optScenarios run only when named in -scenarios.
var optScenarios = []string{"million"}

// dbScenarios are the scenarios runDB runs on each database; s3 runs
// once, on its own servers (runS3).
var dbScenarios = allScenarios[:len(allScenarios)-1]

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{
		runs: 3, big: GiB, parSize: 128 * MiB, chunk: 8 * MiB, par: 8,
		ranges: 10000, rangeSize: 4 * KiB, rangeConc: 8,
		metaDur: 10 * time.Second, metaConc: 32, listShares: 10000,
		loginDur: 5 * time.Second, loginConc: 8, bcryptCost: 12, bcryptWorkers: runtime.NumCPU(),
		memSizes: sizes{256 * MiB, GiB, 4 * GiB}, memRuns: 1, s3MemSizes: sizes{256 * MiB, GiB, 4 * GiB},
		dbs: "sqlite,mysql", mysqlDSN: "root@tcp(127.0.0.1:3306)/", nginx: "auto", dd: true,
		scenarios: strings.Join(allScenarios, ","),
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.bin, "bin", "", "the sachet binary to benchmark (required; build it with go build -o bin/sachet ./cmd/sachet)")
	fs.StringVar(&c.out, "out", "", "rewrite this README with the results (e.g. bench/README.md); empty: print only")
	fs.StringVar(&c.dir, "dir", "", "parent of the temporary data dirs (default: $TMPDIR)")
	fs.BoolVar(&c.smoke, "smoke", false, "tiny smoke run: 4 MiB files, 1 run, 1 s durations, SQLite only, no nginx (flags given explicitly still win)")
	fs.IntVar(&c.runs, "runs", c.runs, "runs of each scenario (the table shows medians)")
	fs.Var((*size)(&c.big), "size", "the big file (download, single upload, range)")
	fs.Var((*size)(&c.parSize), "par-size", "size of each parallel upload")
	fs.Var((*size)(&c.chunk), "chunk", "upload chunk size")
	fs.IntVar(&c.par, "par", c.par, "parallel streams for the parallel download and upload")
	fs.IntVar(&c.ranges, "ranges", c.ranges, "range requests per run")
	fs.Var((*size)(&c.rangeSize), "range-size", "bytes per range request")
	fs.IntVar(&c.rangeConc, "range-conc", c.rangeConc, "range concurrency")
	fs.DurationVar(&c.metaDur, "meta-dur", c.metaDur, "duration of each metadata and list run")
	fs.IntVar(&c.metaConc, "meta-conc", c.metaConc, "metadata and list concurrency")
	fs.IntVar(&c.listShares, "shares", c.listShares, "shares in the list scenario")
	fs.DurationVar(&c.loginDur, "login-dur", c.loginDur, "duration of each login run (and of each bcrypt reference run)")
	fs.IntVar(&c.loginConc, "login-conc", c.loginConc, "login concurrency")
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", c.bcryptCost, "SACHET_BCRYPT_COST for the server and the bcrypt reference")
	fs.IntVar(&c.bcryptWorkers, "bcrypt-workers", c.bcryptWorkers, "goroutines of the bcrypt reference (default: cores)")
	fs.Var(&c.memSizes, "mem-sizes", "file sizes of the memory-flatness scenario, comma-separated")
	fs.Var(&c.s3MemSizes, "s3-mem-sizes", "file sizes of the S3 memory-flatness scenario, comma-separated")
	fs.IntVar(&c.memRuns, "mem-runs", c.memRuns, "runs per size of the memory scenario (peak over runs)")
	fs.StringVar(&c.dbs, "dbs", c.dbs, "databases, in order: sqlite, mysql")
	fs.StringVar(&c.mysqlDSN, "mysql", c.mysqlDSN, "go-sql-driver DSN of a MariaDB/MySQL server; a database is created and dropped")
	fs.StringVar(&c.nginx, "nginx", c.nginx, "nginx reference: auto (apt-get install when absent), present (only if installed), off")
	fs.BoolVar(&c.dd, "dd", c.dd, "run the dd conv=fsync reference")
	fs.BoolVar(&c.verify, "verify", false, "hash uploads and downloads and compare with the server's sha256 (costs client CPU)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary dir (data, logs)")
	fs.StringVar(&c.scenarios, "scenarios", c.scenarios, "scenarios to run, comma-separated: "+strings.Join(allScenarios, ",")+"; only when named: "+strings.Join(optScenarios, ","))
	c.million.flags(fs)
	c.conns.flags(fs)
	fs.BoolVar(&c.cliAll, "cli-variants", true, "cli scenario: also the push variants with per-chunk sums (false: only the default push, for more runs in the same time)")
	fs.BoolVar(&c.peers, "peers", false, "also run the peers section: tusd and filebrowser next to sachet (install them with scripts/install-peers; -scenarios= for the peers alone)")
	fs.StringVar(&c.peerDir, "peer-dir", "", "where the peer binaries are (default: peers/ next to -bin)")
	fs.Func("server-env", "KEY=VALUE added to the sachet servers' environment, repeatable (e.g. SACHET_PPROF_ADDR=127.0.0.1:6060 to profile)", func(v string) error {
		if !strings.HasPrefix(v, "SACHET_") || !strings.Contains(v, "=") {
			return fmt.Errorf("-server-env %q: want SACHET_NAME=value", v)
		}
		c.serverEnv = append(c.serverEnv, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("runs", func() { c.runs = 1 })
		def("size", func() { c.big = 4 * MiB })
		def("par-size", func() { c.parSize = MiB })
		def("chunk", func() { c.chunk = 512 * KiB })
		def("ranges", func() { c.ranges = 200 })
		def("meta-dur", func() { c.metaDur = time.Second })
		def("shares", func() { c.listShares = 100 })
		def("login-dur", func() { c.loginDur = time.Second })
		def("bcrypt-cost", func() { c.bcryptCost = 4 })
		def("mem-sizes", func() { c.memSizes = sizes{MiB, 2 * MiB, 4 * MiB} })
		def("s3-mem-sizes", func() { c.s3MemSizes = sizes{MiB, 2 * MiB, 4 * MiB} })
		def("dbs", func() { c.dbs = "sqlite" })
		def("nginx", func() { c.nginx = "off" })
		def("verify", func() { c.verify = true })
		c.million.smoke(set)
	}
	switch {
	case c.bin == "":
		return c, errors.New("-bin is required (go build -o bin/sachet ./cmd/sachet)")
	case c.runs < 1 || c.par < 1 || c.rangeConc < 1 || c.metaConc < 1 || c.loginConc < 1 || c.bcryptWorkers < 1 || c.memRuns < 1:
		return c, errors.New("-runs, -par and the concurrencies must be ≥ 1")
	case c.chunk < 1 || c.big < 1 || c.parSize < 1 || c.rangeSize < 1:
		return c, errors.New("sizes must be ≥ 1 byte")
	case c.bcryptCost < 4 || c.bcryptCost > 31:
		return c, errors.New("-bcrypt-cost must be 4–31")
	}
	switch c.nginx {
	case "auto", "present", "off":
	default:
		return c, fmt.Errorf("-nginx %q: want auto, present or off", c.nginx)
	}
	for _, db := range splitList(c.dbs) {
		if db != "sqlite" && db != "mysql" {
			return c, fmt.Errorf("-dbs: unknown database %q (sqlite, mysql)", db)
		}
	}
	for _, sc := range splitList(c.scenarios) {
		if !slices.Contains(allScenarios, sc) && !slices.Contains(optScenarios, sc) {
			return c, fmt.Errorf("-scenarios: unknown scenario %q", sc)
		}
	}
	return c, c.million.check()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// bench is one run of the suite.
type bench struct {
	cfg       config
	args      []string
	t         *tally
	hc        *http.Client
	stderr    io.Writer
	start     time.Time
	tmp       string
	rows      []row
	notes     []string
	nginxBin  string
	nginxFile string
	versions  []string
	loadStart string
	sections  []string // extra markdown sections of the README (the peers' table)
}

// loadavg is /proc/loadavg's first three fields, and the CPU pressure
// (share of time some task waited for a CPU, last 60 s) when the kernel
// reports it: other work on the machine skews every figure, so the README
// records it.
func loadavg() string {
	f := strings.Fields(readFirst("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	s := strings.Join(f[:3], " ")
	for _, kv := range strings.Fields(readFirst("/proc/pressure/cpu")) {
		if v, ok := strings.CutPrefix(kv, "avg60="); ok {
			s += " (CPU pressure " + v + "%)"
			break
		}
	}
	return s
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// summary is what a run returns (the smoke test checks it).
type summary struct {
	requests, failures int64
	failSamples        []string
	rows               []row
	notes              []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (*summary, error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bin); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("-bin %s: not a file (build it: go build -o bin/sachet ./cmd/sachet)", cfg.bin)
	}
	cfg.bin = bin
	b := &bench{cfg: cfg, args: args, t: &tally{}, stderr: stderr, start: time.Now(), loadStart: loadavg()}
	b.hc = newHTTPClient(max(cfg.metaConc, cfg.par, cfg.rangeConc, cfg.loginConc))
	defer b.hc.CloseIdleConnections()

	b.tmp, err = os.MkdirTemp(cfg.dir, "sachet-bench-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		b.logf("keeping %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}

	b.versions = append(b.versions, "Go "+strings.TrimPrefix(runtime.Version(), "go"))
	if len(cfg.conns.ns) > 0 {
		return b.runConns(ctx, stdout)
	}
	want := splitList(cfg.scenarios)
	wantDB := slices.ContainsFunc(want, func(sc string) bool { return slices.Contains(dbScenarios, sc) })
	if cfg.nginx != "off" && wantDB {
		p, err := findNginx(ctx, cfg.nginx == "auto", b.logf)
		if err != nil {
			b.notes = append(b.notes, "nginx reference skipped: "+err.Error())
			b.logf("NOTE nginx reference skipped: %v", err)
		} else {
			b.nginxBin = p
			b.versions = append(b.versions, "nginx "+strings.TrimPrefix(nginxVersion(p), "nginx/"))
		}
	} else if !cfg.smoke && wantDB {
		b.notes = append(b.notes, "nginx reference off (-nginx off).")
	}

	var runErr error
	for _, db := range splitList(cfg.dbs) {
		if ctx.Err() != nil || !wantDB {
			break
		}
		if err := b.runDB(ctx, db); err != nil {
			if db == "mysql" && errors.Is(err, errNoMySQL) {
				continue
			}
			runErr = errors.Join(runErr, fmt.Errorf("%s: %w", db, err))
		}
	}
	if slices.Contains(want, "s3") && ctx.Err() == nil {
		if err := b.runS3(ctx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("s3: %w", err))
		}
	}
	if slices.Contains(want, "million") && ctx.Err() == nil {
		runErr = errors.Join(runErr, b.runMillion(ctx))
	}
	if cfg.peers && ctx.Err() == nil {
		if err := b.runPeers(ctx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("peers: %w", err))
		}
	}
	b.t.mu.Lock()
	sum := &summary{
		requests: b.t.reqs.Load(), failures: b.t.fails.Load(),
		failSamples: slices.Clone(b.t.samples), rows: b.rows, notes: b.notes,
	}
	b.t.mu.Unlock()
	if sum.failures > 0 {
		runErr = errors.Join(runErr, fmt.Errorf("%d of %d requests failed, e.g.: %s", sum.failures, sum.requests, strings.Join(sum.failSamples[:min(3, len(sum.failSamples))], "; ")))
	}
	if ctx.Err() != nil {
		runErr = errors.Join(runErr, ctx.Err())
	}
	m := collectMachine(b.tmp)
	fmt.Fprint(stdout, b.textTable())
	for _, sec := range b.sections {
		fmt.Fprint(stdout, "\n"+sec)
	}
	fmt.Fprintf(stdout, "\n%d requests, %d failed. Generator peak RSS %s MiB.\n", sum.requests, sum.failures, fmtNum(selfHWM()))
	for _, n := range b.notes {
		fmt.Fprintln(stdout, "note:", n)
	}
	if cfg.out != "" && len(b.rows) > 0 {
		if err := b.writeREADME(cfg.out, m, sum, runErr); err != nil {
			runErr = errors.Join(runErr, err)
		} else {
			b.logf("wrote %s", cfg.out)
		}
	}
	return sum, runErr
}

var errNoMySQL = errors.New("MariaDB/MySQL unavailable")

// runDB starts a fresh server on one database and runs the scenarios.
func (b *bench) runDB(ctx context.Context, db string) error {
	label := map[string]string{"sqlite": "SQLite", "mysql": "MariaDB"}[db]
	dir := filepath.Join(b.tmp, db)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !b.cfg.keep {
		defer os.RemoveAll(dir)
	}
	database := ""
	if db == "mysql" {
		m, err := createMySQLDB(ctx, b.cfg.mysqlDSN)
		if err != nil {
			msg := fmt.Sprintf("MariaDB unavailable at %s (%v): MariaDB rows skipped, SQLite only.", b.cfg.mysqlDSN, err)
			b.notes = append(b.notes, msg)
			b.logf("NOTE %s", msg)
			return errNoMySQL
		}
		defer func() {
			if err := m.drop(); err != nil {
				b.logf("dropping database %s: %v", m.name, err)
			}
		}()
		database = "mysql:" + m.dsn
		label = "MariaDB"
		if strings.Contains(strings.ToLower(m.version), "mariadb") {
			b.versions = append(b.versions, "MariaDB "+strings.SplitN(m.version, "-", 2)[0])
		} else {
			label = "MySQL"
			b.versions = append(b.versions, "MySQL "+m.version)
		}
	}
	b.logf("[%s] starting %s serve", label, b.cfg.bin)
	srv, err := startServer(ctx, b.cfg.bin, dir, database, b.cfg.bcryptCost, b.cfg.serverEnv...)
	if err != nil {
		return err
	}
	defer srv.stop()
	s := &session{b: b, db: label, dir: dir, srv: srv, user: "bench", pw: "bench-" + randomHex(12)}
	defer s.stopNginx()
	if err := s.setupAdmin(ctx); err != nil {
		return err
	}
	scen := map[string]func(context.Context) error{
		"upload": s.scenarioUpload, "download": s.scenarioDownload, "range": s.scenarioRange,
		"meta": s.scenarioMeta, "list": s.scenarioList, "login": s.scenarioLogin, "memory": s.scenarioMemory,
		"cli":  s.scenarioCLI,  // bench/cli.go
		"link": s.scenarioLink, // bench/link.go
	}
	want := splitList(b.cfg.scenarios)
	var errs []error
	for _, name := range dbScenarios {
		if !slices.Contains(want, name) || ctx.Err() != nil {
			continue
		}
		if name == "memory" {
			s.stopNginx() // its blob link pins 1 file; the big files want the disk
		}
		b.logf("[%s] scenario %s", label, name)
		if err := scen[name](ctx); err != nil {
			s.note("scenario %s failed: %v", name, err)
			errs = append(errs, fmt.Errorf("scenario %s: %w", name, err))
		}
	}
	select {
	case <-srv.exited:
		errs = append(errs, fmt.Errorf("the server exited during the run (%v); its log:\n%s", srv.waitErr, srv.logTail()))
	default:
	}
	return errors.Join(errs...)
}

// setupAdmin creates the admin with the CLI, grants it every permission
// and logs in.
func (s *session) setupAdmin(ctx context.Context) error {
	if err := s.srv.cli(ctx, "user", "create", "--username", s.user, "--password", s.pw, "--admin"); err != nil {
		return err
	}
	s.a = &api{hc: s.b.hc, base: s.srv.base(), t: s.b.t}
	tok, err := s.a.login(ctx, s.user, s.pw)
	if err != nil {
		return err
	}
	s.a.token = tok
	perms := []string{"CREATE", "MODIFY", "DELETE", "LOCK", "LIST", "ADMIN", "READ"}
	if err := s.a.call(ctx, http.MethodPatch, "/users/"+s.user, map[string]any{"permissions": perms}, http.StatusOK, nil); err != nil {
		return fmt.Errorf("granting permissions: %w", err)
	}
	if tok, err = s.a.login(ctx, s.user, s.pw); err != nil {
		return err
	}
	s.a.token = tok
	return nil
}

// selfHWM is the load generator's own peak RSS in MiB.
func selfHWM() float64 {
	_, hwm, err := procMem(os.Getpid())
	if err != nil {
		return 0
	}
	return float64(hwm) / 1024
}
