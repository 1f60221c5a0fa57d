package main

// Issue 14 item 2: a million shares. The scenario seeds shares and users
// straight into the server's database with multi-row INSERTs (the HTTP API
// would take hours for 10⁶), then measures through HTTP against the real
// server: metadata GET of random ids, list at random pages including the
// last ones, GET /users pages, and share creation. Each is measured first
// at the reference size (10⁴ shares, 10² users) and then, in the same run
// and on the same database grown in place, at the full size (10⁶ shares,
// 10⁴ users); the row's ratio is p99(full) / p99(reference).

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite" // the server's own SQLite driver, for seeding its file
)

// millionConfig is the scenario's part of the bench's flags.
type millionConfig struct {
	shares, users       int // the full size
	refShares, refUsers int // the reference size
	batch               int // rows per INSERT statement
	txRows              int // rows per transaction
	pprof               string
}

func (m *millionConfig) flags(fs *flag.FlagSet) {
	*m = millionConfig{shares: 1_000_000, users: 10_000, refShares: 10_000, refUsers: 100, batch: 500, txRows: 50_000}
	fs.IntVar(&m.shares, "million-shares", m.shares, "million scenario: shares seeded at the full size")
	fs.IntVar(&m.users, "million-users", m.users, "million scenario: users seeded at the full size")
	fs.IntVar(&m.refShares, "million-ref-shares", m.refShares, "million scenario: shares at the reference size")
	fs.IntVar(&m.refUsers, "million-ref-users", m.refUsers, "million scenario: users at the reference size")
	fs.IntVar(&m.batch, "million-batch", m.batch, "million scenario: rows per multi-row INSERT")
	fs.IntVar(&m.txRows, "million-tx", m.txRows, "million scenario: rows per seeding transaction")
	fs.StringVar(&m.pprof, "million-pprof", "", "million scenario: SACHET_PPROF_ADDR of the full-size server (e.g. 127.0.0.1:6060), to profile it meanwhile")
}

// smoke shrinks the sizes the user did not set.
func (m *millionConfig) smoke(set map[string]bool) {
	for name, p := range map[string]*int{
		"million-shares": &m.shares, "million-users": &m.users,
		"million-ref-shares": &m.refShares, "million-ref-users": &m.refUsers,
	} {
		if !set[name] {
			*p = map[string]int{"million-shares": 2000, "million-users": 200, "million-ref-shares": 200, "million-ref-users": 20}[name]
		}
	}
}

func (m *millionConfig) check() error {
	switch {
	case m.refShares < 1 || m.refUsers < 0 || m.shares < m.refShares || m.users < m.refUsers:
		return errors.New("-million-*: want 1 ≤ ref-shares ≤ shares and 0 ≤ ref-users ≤ users")
	case m.batch < 1 || m.txRows < m.batch:
		return errors.New("-million-batch must be ≥ 1 and ≤ -million-tx")
	}
	return nil
}

// seedID is the share id of seeded share i: a version-4 UUID drawn from i
// alone, so the measurement can pick random existing ids without keeping
// 10⁶ of them. Its first 32 bits are i, so ids ascend with creation, like
// time-ordered keys: the bulk load appends to the primary key's B-tree
// instead of writing all over it (with random ids MariaDB's 128 MiB buffer
// pool made the seeding disk-bound, ~1 100 rows/s at 10⁶). The server's own
// ids stay random; see bench/README.md for what this changes.
func seedID(i int) string {
	p := newPRNG(0x5eed<<32 | uint64(i))
	var b [16]byte
	binary.BigEndian.PutUint32(b[:4], uint32(i))
	binary.LittleEndian.PutUint32(b[4:8], uint32(p.next()))
	binary.LittleEndian.PutUint64(b[8:], p.next())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func seedUser(i int) string { return fmt.Sprintf("seed%07d", i) }

const seedTime = "2006-01-02 15:04:05.000000" // db/timefmt.go's layout

// seeder writes seeded rows into one database, always with the server
// stopped: rows written behind a running server's back would not bump
// share_list_version (migration 0025), and its list cache would keep its
// snapshot of the shares.
type seeder struct {
	db      *sql.DB
	mysql   bool
	base    time.Time // create_date of share 0 (and register_date of user 0)
	pwHash  string
	shares  int // seeded so far
	users   int
	batch   int
	txRows  int
	elapsed time.Duration // time spent seeding
	rows    int           // rows seeded
}

func openSeeder(ctx context.Context, mysqlDSN, sqlitePath string, mc millionConfig) (*seeder, error) {
	s := &seeder{mysql: mysqlDSN != "", batch: mc.batch, txRows: mc.txRows}
	var err error
	if s.mysql {
		s.db, err = sql.Open("mysql", mysqlDSN)
	} else {
		// The server is stopped while we write. synchronous(OFF): a bulk
		// load that is simply redone if the machine dies. 256 MiB of page
		// cache: random ids and blob names land all over their indexes.
		s.db, err = sql.Open("sqlite", "file:"+sqlitePath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=foreign_keys(1)&_pragma=cache_size(-262144)")
	}
	if err != nil {
		return nil, err
	}
	s.db.SetMaxOpenConns(1)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	// Shares are dated from 2 h ago, 1 ms apart (10⁶ span 17 min): recent,
	// so cleanup's 24 h rule leaves them be, and older than anything the
	// measurement creates, so creates append to the list as in real life.
	s.base = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	h, err := bcrypt.GenerateFromPassword([]byte("seed-password"), bcrypt.MinCost)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	s.pwHash = string(h)
	return s, nil
}

func (s *seeder) close() error { return s.db.Close() }

// grow seeds users, then shares, up to the given counts.
func (s *seeder) grow(ctx context.Context, users, shares int) error {
	t0 := time.Now()
	n := (users - s.users) + (shares - s.shares)
	err := s.insert(ctx, "users", "username, password_hash, permissions, register_date", 4, s.users, users, func(i int, a []any) {
		// READ|CREATE: ordinary users; dates before every share's.
		a[0], a[1], a[2], a[3] = seedUser(i), s.pwHash, 65, s.base.Add(-time.Hour+time.Duration(i)*time.Millisecond/10).Format(seedTime)
	})
	if err != nil {
		return fmt.Errorf("seeding users: %w", err)
	}
	s.users = users
	sha := make([]byte, 32)
	err = s.insert(ctx, "shares", "share_id, file_name, owner_name, initialized, locked, create_date, size, sha256, blob_id, modified_at", 10, s.shares, shares, func(i int, a []any) {
		// Every share looks uploaded (size, hash, blob id; blob ids ascend
		// like share ids, for the same reason): a million
		// uninitialized shares would be cleanup's work, not a listing's.
		// Its blob does not exist: the measurement reads no content.
		p := newPRNG(uint64(i) * 0x9e3779b97f4a7c15)
		p.fill(sha)
		date := s.base.Add(time.Duration(i) * time.Millisecond).Format(seedTime)
		var owner any
		if i%16 != 0 && s.users > 0 {
			owner = seedUser(int(p.next() % uint64(s.users)))
		}
		a[0], a[1], a[2], a[3], a[4] = seedID(i), fmt.Sprintf("seed-%07d.bin", i), owner, true, false
		a[5], a[6], a[7], a[8], a[9] = date, int64(p.next()%(64<<20)), hex.EncodeToString(sha), fmt.Sprintf("seed-%08x-%x", i, sha[:12]), date
	})
	if err != nil {
		return fmt.Errorf("seeding shares: %w", err)
	}
	s.shares = shares
	if !s.mysql {
		// What the server would find after a long life: a WAL checkpointed
		// into the main file.
		if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return err
		}
	}
	s.elapsed += time.Since(t0)
	s.rows += n
	return nil
}

// insert adds rows [from, to) of table with multi-row INSERTs of s.batch
// rows, s.txRows rows per transaction. fill sets one row's arguments.
func (s *seeder) insert(ctx context.Context, table, cols string, ncol, from, to int, fill func(i int, a []any)) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	args := make([]any, s.batch*ncol)
	for lo := from; lo < to; lo += s.txRows {
		if err := s.insertTx(ctx, table, cols, one, ncol, lo, min(lo+s.txRows, to), args, fill); err != nil {
			return err
		}
	}
	return nil
}

// insertTx inserts rows [lo, hi) in one transaction, with statements
// prepared on it (the pool has one connection).
func (s *seeder) insertTx(ctx context.Context, table, cols, one string, ncol, lo, hi int, args []any, fill func(i int, a []any)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := map[int]*sql.Stmt{}
	for b := lo; b < hi; b += s.batch {
		k := min(b+s.batch, hi) - b
		st := stmts[k]
		if st == nil {
			q := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			defer st.Close()
			stmts[k] = st
		}
		for r := range k {
			fill(b+r, args[r*ncol:(r+1)*ncol])
		}
		if _, err := st.ExecContext(ctx, args[:k*ncol]...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// size is the database's size on disk in bytes: the SQLite file (and any
// WAL), or InnoDB's data and index pages of the database (after ANALYZE,
// whose figures information_schema reports).
func (s *seeder) size(ctx context.Context, sqlitePath, dbName string) (int64, error) {
	if !s.mysql {
		var n int64
		for _, suf := range []string{"", "-wal"} {
			if st, err := os.Stat(sqlitePath + suf); err == nil {
				n += st.Size()
			}
		}
		return n, nil
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE TABLE shares, users"); err != nil {
		return 0, err
	}
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT SUM(data_length + index_length) FROM information_schema.TABLES WHERE table_schema = ?`, dbName).Scan(&n)
	return n.Int64, err
}

// millionFigures are one size's measurements.
type millionFigures struct {
	shares, users             int
	meta, list, ulist, create latRuns
	mem                       memPeak
	dbSize                    int64
}

// runMillion runs the scenario on each database of -dbs.
func (b *bench) runMillion(ctx context.Context) error {
	var errs []error
	for _, db := range splitList(b.cfg.dbs) {
		if ctx.Err() != nil {
			break
		}
		if err := b.millionDB(ctx, db); err != nil && !errors.Is(err, errNoMySQL) {
			errs = append(errs, fmt.Errorf("million %s: %w", db, err))
		}
	}
	return errors.Join(errs...)
}

func (b *bench) millionDB(ctx context.Context, db string) (err error) {
	mc := b.cfg.million
	label := map[string]string{"sqlite": "SQLite", "mysql": "MariaDB"}[db]
	dir := filepath.Join(b.tmp, "million-"+db)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !b.cfg.keep {
		defer os.RemoveAll(dir)
	}
	database, mysqlDSN, dbName := "", "", ""
	sqlitePath := filepath.Join(dir, "data", "sachet.db")
	if db == "mysql" {
		m, err := createMySQLDB(ctx, b.cfg.mysqlDSN)
		if err != nil {
			msg := fmt.Sprintf("million: MariaDB unavailable at %s (%v): SQLite only.", b.cfg.mysqlDSN, err)
			b.notes = append(b.notes, msg)
			b.logf("NOTE %s", msg)
			return errNoMySQL
		}
		defer func() {
			if err := m.drop(); err != nil {
				b.logf("dropping database %s: %v", m.name, err)
			}
		}()
		database, mysqlDSN, dbName = "mysql:"+m.dsn, m.dsn, m.name
		if !strings.Contains(strings.ToLower(m.version), "mariadb") {
			label = "MySQL"
		}
	}
	s := &session{b: b, db: label, dir: dir, user: "bench", pw: "bench-" + randomHex(12)}

	// A first start creates the schema (migrations) and the admin.
	s.logf("million: creating the schema and the admin")
	if s.srv, err = startServer(ctx, b.cfg.bin, dir, database, b.cfg.bcryptCost); err != nil {
		return err
	}
	err = s.setupAdmin(ctx)
	s.srv.stop()
	if err != nil {
		return err
	}

	sd, err := openSeeder(ctx, mysqlDSN, sqlitePath, mc)
	if err != nil {
		return fmt.Errorf("opening the database to seed it: %w", err)
	}
	defer sd.close()

	var figs []*millionFigures
	var seedRate float64
	for i, lvl := range [][2]int{{mc.refShares, mc.refUsers}, {mc.shares, mc.users}} {
		before, el := sd.rows, sd.elapsed
		s.logf("million: seeding up to %d shares and %d users", lvl[0], lvl[1])
		if err := sd.grow(ctx, lvl[1], lvl[0]); err != nil {
			return err
		}
		n, d := sd.rows-before, sd.elapsed-el
		s.logf("million: seeded %d rows in %.1f s (%.0f rows/s)", n, d.Seconds(), float64(n)/d.Seconds())
		if i == 1 {
			seedRate = float64(sd.rows) / sd.elapsed.Seconds()
		}
		f := &millionFigures{shares: lvl[0], users: lvl[1], mem: noMem()}
		if f.dbSize, err = sd.size(ctx, sqlitePath, dbName); err != nil {
			return fmt.Errorf("database size: %w", err)
		}
		var extra []string
		if i == 1 && mc.pprof != "" {
			extra = append(extra, "SACHET_PPROF_ADDR="+mc.pprof)
		}
		if s.srv, err = startServer(ctx, b.cfg.bin, dir, database, b.cfg.bcryptCost, extra...); err != nil {
			return err
		}
		err = s.millionMeasure(ctx, f)
		select {
		case <-s.srv.exited:
			err = errors.Join(err, fmt.Errorf("the server exited during the run (%v); its log:\n%s", s.srv.waitErr, s.srv.logTail()))
		default:
		}
		s.srv.stop()
		if err != nil {
			return err
		}
		figs = append(figs, f)
	}
	s.millionRows(figs, seedRate)
	return nil
}

// millionMeasure logs in to the running server and measures each request
// kind for cfg.runs runs of cfg.metaDur at cfg.metaConc.
func (s *session) millionMeasure(ctx context.Context, f *millionFigures) error {
	cfg := s.b.cfg
	s.a = &api{hc: s.b.hc, base: s.srv.base(), t: s.b.t}
	tok, err := s.a.login(ctx, s.user, s.pw)
	if err != nil {
		return err
	}
	s.a.token = tok
	// The counts as the API reports them: the seeded rows, plus the admin
	// and the shares earlier runs created.
	sp, err := s.a.listPage(ctx, 1, 15)
	if err != nil {
		return err
	}
	var up page
	if err := s.b.t.record(s.a.call(ctx, http.MethodGet, "/users?per_page=15", nil, http.StatusOK, &up)); err != nil {
		return err
	}
	sharePages, userPages := max(sp.Pages, 1), max(up.Pages, 1)
	// Random pages, one in eight among the last four: the pages an OFFSET
	// walk makes the slowest.
	pick := func(rng *rand.Rand, pages int) int {
		if rng.IntN(8) == 0 {
			return max(1, pages-rng.IntN(4))
		}
		return 1 + rng.IntN(pages)
	}
	kinds := []struct {
		name string
		l    *latRuns
		fn   job
	}{
		{"metadata", &f.meta, func(ctx context.Context, _ int, rng *rand.Rand) error {
			return s.a.get(ctx, "/files/"+seedID(rng.IntN(f.shares)), http.StatusOK)
		}},
		{"list", &f.list, func(ctx context.Context, _ int, rng *rand.Rand) error {
			return s.a.get(ctx, "/files?per_page=15&page="+strconv.Itoa(pick(rng, sharePages)), http.StatusOK)
		}},
		{"users", &f.ulist, func(ctx context.Context, _ int, rng *rand.Rand) error {
			return s.a.get(ctx, "/users?per_page=15&page="+strconv.Itoa(pick(rng, userPages)), http.StatusOK)
		}},
		{"create", &f.create, func(ctx context.Context, w int, _ *rand.Rand) error {
			return s.a.call(ctx, http.MethodPost, "/files", map[string]string{"file_name": "million-" + strconv.Itoa(w) + ".txt"}, http.StatusCreated, nil)
		}},
	}
	for _, k := range kinds {
		for r := range cfg.runs {
			smp := s.sample()
			st := loadFor(ctx, s.b.t, cfg.metaConc, cfg.metaDur, k.fn)
			f.mem = f.mem.max(smp.end())
			if st.fails > 0 {
				return fmt.Errorf("million %s at %d shares: %d of %d requests failed", k.name, f.shares, st.fails, st.n)
			}
			k.l.add(st)
			s.logf("million %s at %d shares, run %d/%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms", k.name, f.shares, r+1, cfg.runs, st.rate(), ms(st.pct(50)), ms(st.pct(99)))
		}
	}
	return nil
}

// millionRows adds the scenario's rows: one per request kind, the full
// size against the reference size, and one for the seeding.
func (s *session) millionRows(figs []*millionFigures, seedRate float64) {
	if len(figs) != 2 {
		return
	}
	ref, full := figs[0], figs[1]
	cfg := s.b.cfg
	mem := ref.mem.max(full.mem)
	s.add(row{
		name: fmt.Sprintf("million: seed %s shares + %s users (multi-row INSERTs of %d, %d rows per transaction)",
			fmtCount(full.shares), fmtCount(full.users), cfg.million.batch, cfg.million.txRows),
		value:  fmt.Sprintf("%s rows/s · DB %s MiB", fmtNum(seedRate), fmtNum(float64(full.dbSize)/float64(MiB))),
		ref:    fmt.Sprintf("DB %s MiB at %s shares", fmtNum(float64(ref.dbSize)/float64(MiB)), fmtCount(ref.shares)),
		ratio:  math.NaN(),
		target: "reported",
		met:    "n/a",
		mem:    noMem(),
	})
	line := func(name string, r, f latRuns, minRate float64) {
		ratio := median(f.p99) / median(r.p99)
		ok := ratio <= 1.5
		target := "p99 ≤ 1.5 × reference's"
		if minRate > 0 {
			ok = ok && median(f.rate) >= minRate
			target += fmt.Sprintf(", ≥ %.0f req/s", minRate)
		}
		s.add(row{
			name:   fmt.Sprintf("million: %s, concurrency %d, %s", name, cfg.metaConc, cfg.metaDur),
			value:  fmt.Sprintf("%s shares/%s users: %s", fmtCount(full.shares), fmtCount(full.users), f),
			ref:    fmt.Sprintf("%s/%s: %s", fmtCount(ref.shares), fmtCount(ref.users), r),
			ratio:  ratio,
			target: target,
			met:    verdict(ptr(ok), mem),
			mem:    mem,
		})
	}
	line("metadata GET /files/{random seeded id}", ref.meta, full.meta, 0)
	line("list GET /files?per_page=15, random page (⅛ among the last 4)", ref.list, full.list, 3200)
	line("GET /users?per_page=15, random page (⅛ among the last 4)", ref.ulist, full.ulist, 0)
	line("create POST /files", ref.create, full.create, 0)
}

// fmtCount writes powers of ten as 10^k, other counts as they are.
func fmtCount(n int) string {
	for k, p := 1, 10; p <= n; k, p = k+1, p*10 {
		if p == n && k >= 3 {
			return "10^" + strconv.Itoa(k)
		}
	}
	return strconv.Itoa(n)
}
