package db

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// ListShares' cache. Page numbers mean OFFSET, and `pages` means COUNT(*):
// uncached, a random page of N shares walks N/2 index entries on average
// and counts all N (4.5 ms on MariaDB at N = 10 000). The cache keeps, per
// process:
//
//   - a snapshot: the total, and sparse anchors, the (create_date, share_id)
//     key of every step-th share in list order, read by one statement;
//   - blocks of listBlock consecutive shares of that snapshot, each read by
//     a keyset seek from the nearest anchor (plus an OFFSET below step), so
//     a page is served from at most a few blocks, often without a query.
//
// Memory is bounded whatever the number of shares: at most listMaxAnchors
// anchors (step grows with the total) and listMaxRows cached shares.
//
// Freshness: every Store method that changes shares calls listChanged after
// its transaction, so this process sees its own writes at once: a share
// created at the end of the list (the usual case) extends the snapshot,
// any other change of the order (create elsewhere, delete) drops it, any
// other change (name, owner, lock, content) drops the blocks. Other
// processes' writes show within the Store's cache TTL (SetCacheTTL): the snapshot, and every
// block read under it, expire one cache TTL after the snapshot's read began. A
// read that began before an invalidation is never stored after it
// (generation checks under mu).
const (
	listBlock      = 64
	listMaxAnchors = 4096
	listMaxRows    = 16384
	// Beyond this many shares a random page rarely finds its block cached
	// (listMaxRows is 1.6 % of 10⁶), so a page is read alone from its
	// anchor: its own rows, not the 64 or 128 of the blocks it straddles.
	listDirectAt = 4 * listMaxRows
)

// listKey is a share's position key in list order, in bind form.
type listKey struct {
	date string // ts() layout
	id   string
}

func (a listKey) less(b listKey) bool { return a.date < b.date || a.date == b.date && a.id < b.id }

type listSnap struct {
	id      uint64 // the read it comes from: appends make new snapshots of one id
	epoch   uint64 // listCache.epoch when its read was stored
	expires time.Time
	total   int
	last    listKey   // the key of the share at position total-1
	step    int       // shares between anchors, a multiple of listBlock
	anchors []listKey // anchors[i] is the key of the share at position i*step
	blocks  map[int][]domain.Share
	version int64 // share_list_version when it was read
}

type listCache struct {
	mu      sync.Mutex
	gen     uint64 // bumped by every write
	hard    uint64 // bumped by every write but an append to the snapshot
	ids     uint64 // the last listSnap.id given
	epoch   uint64 // bumped whenever a snapshot read is stored
	snap    *listSnap
	rows    int // shares held in snap.blocks
	loading map[listLoad]chan struct{}
	// A snapshot read overlapped by a write is not stored, and until
	// retryAt lists are served uncached rather than read another snapshot
	// (O(total)) that the next write would void too: under a stream of
	// writes, the cache then costs one snapshot read per TTL.
	retryAt time.Time
	// How long the last snapshot read took: a snapshot is read again that
	// long (twice, at most half the TTL) before it expires, by one request
	// while the others go on using it, so lists do not all wait for the
	// read at every expiry (at 10⁶ shares it is a walk of the whole index).
	took  time.Duration
	early uint64 // the id of the last snapshot read again early: once per snapshot

	// Tests only: limits other than listMaxAnchors and listMaxRows (0:
	// those), and a hook run after each read from the database, before
	// its result is stored.
	maxAnchors, maxRows int
	directAt            int
	afterRead           func(block int)
	beforeAppend        func()
}

// listEpoch is taken by an insert before its transaction, for
// listAppended: a snapshot stored no later than it cannot hold the insert.
func (s *Store) listEpoch() uint64 {
	c := &s.lists
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *listCache) limits() (anchors, rows int) {
	anchors, rows = listMaxAnchors, listMaxRows
	if c.maxAnchors > 0 {
		anchors = c.maxAnchors
	}
	if c.maxRows > 0 {
		rows = c.maxRows
	}
	return anchors, rows
}

// listLoad names a load in flight: the snapshot (block -1) or a block of it.
type listLoad struct {
	snap  *listSnap
	block int
}

// listChanged invalidates the list cache after a write to shares; order
// tells whether the write may have changed the list's order or length
// (insert, delete) rather than only the contents of rows. Call it after the
// transaction ends, committed or not.
func (s *Store) listChanged(order bool) {
	c := &s.lists
	c.mu.Lock()
	c.gen++
	c.hard++
	if order {
		c.snap = nil
	} else if c.snap != nil {
		c.snap.blocks = map[int][]domain.Share{}
	}
	c.rows = 0
	c.mu.Unlock()
}

// listAppended is listChanged(true) after a committed insert of a share
// with key k, whose transaction began at listEpoch() == epoch. Usually k
// sorts after every share the snapshot holds (create_date is the time of
// creation) or, when concurrent creates commit out of order, after its last
// anchor at least: the snapshot then stays valid with one more share, and
// only the blocks from the last anchor on are dropped. Otherwise, or when
// the snapshot may hold k already (k <= last, read after the insert
// began), the snapshot is dropped. Creates therefore cost no O(total)
// snapshot read.
//
// version is the share_list_version the insert made: when the snapshot
// was at the one before, the insert is the only change since its read and
// the snapshot, which now holds it, takes its version, so that its next
// check at expiry finds it current instead of reading it again.
func (s *Store) listAppended(k listKey, epoch uint64, version int64) {
	c := &s.lists
	if c.beforeAppend != nil {
		c.beforeAppend()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	sn := c.snap
	if sn == nil {
		return
	}
	maxAnchors, _ := c.limits()
	n := *sn // a new snapshot: holders of sn keep a consistent one
	n.total = sn.total + 1
	from := sn.total / listBlock // the first block that changes
	switch {
	case sn.total == 0 || sn.last.less(k):
		n.last = k
	case sn.epoch <= epoch && sn.anchors[len(sn.anchors)-1].less(k):
		from = (len(sn.anchors) - 1) * sn.step / listBlock
	default:
		c.snap, c.rows = nil, 0
		c.hard++
		return
	}
	if sn.total%sn.step == 0 { // the list's new last position is an anchor's
		if len(sn.anchors) >= maxAnchors {
			c.snap, c.rows = nil, 0
			c.hard++
			return
		}
		n.anchors = append(slices.Clip(sn.anchors), n.last)
	}
	if sn.version == version-1 {
		n.version = version
	}
	for j, b := range n.blocks {
		if j >= from {
			delete(n.blocks, j)
			c.rows -= len(b)
		}
	}
	c.snap = &n
}

// begin returns what key's caller should do: wait on a load already in
// flight (wait != nil), or load itself, then call end with done. gen and
// hard are the generations the load starts at. Callers that waited once
// load without registering, so a failed or refused load in front of them
// can't hold them up twice.
func (c *listCache) begin(key listLoad, waited bool) (wait, done chan struct{}, gen, hard uint64) {
	if !waited {
		if ch, ok := c.loading[key]; ok {
			return ch, nil, 0, 0
		}
		if c.loading == nil {
			c.loading = map[listLoad]chan struct{}{}
		}
		done = make(chan struct{})
		c.loading[key] = done
	}
	return nil, done, c.gen, c.hard
}

func (c *listCache) end(key listLoad, done chan struct{}) {
	if done != nil {
		delete(c.loading, key)
		close(done)
	}
}

// listSnapshot returns a snapshot no older than ttl, from the cache or read
// now, or nil when the list should be read uncached (see retryAt). A
// snapshot close to its expiry (see took) is read again by the one caller
// that finds it so; it keeps the snapshot in hand if that read fails or is
// voided by a write.
func (s *Store) listSnapshot(ctx context.Context, ttl time.Duration) (*listSnap, error) {
	c := &s.lists
	key := listLoad{block: -1}
	for waited := false; ; waited = true {
		c.mu.Lock()
		now := s.now()
		sn := c.snap
		fresh := sn != nil && now.Before(sn.expires)
		if fresh && (waited || c.loading[key] != nil || now.Before(c.retryAt) || c.early == sn.id ||
			now.Before(sn.expires.Add(-min(2*c.took, ttl/2)))) {
			c.mu.Unlock()
			return sn, nil
		}
		if !fresh && (waited || now.Before(c.retryAt)) { // the read in front was voided, or failed
			c.mu.Unlock()
			return nil, nil
		}
		if fresh {
			c.early = sn.id // a write voiding this read must not start another
		}
		wait, done, gen, _ := c.begin(key, false) // no load in flight when fresh
		c.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fail(ctx.Err(), "list shares")
			}
		}
		start := s.now()
		expires := start.Add(ttl) // from before the read: staleness stays within ttl
		var read *listSnap
		var err error
		if sn != nil {
			// No share came or went since sn was read (in any process):
			// its total and anchors hold, and only its blocks, whose rows
			// may have changed, go. O(1) where a read is O(shares).
			var v int64
			if err = s.getHot(ctx, &v, listVersionQuery); err == nil && v == sn.version {
				c.mu.Lock() // listChanged swaps sn.blocks under it
				n := *sn
				c.mu.Unlock()
				n.blocks = map[int][]domain.Share{}
				read = &n
			}
		}
		full := read == nil && err == nil
		if full {
			read, err = s.readListSnap(ctx)
		}
		if c.afterRead != nil {
			c.afterRead(-1)
		}
		c.mu.Lock()
		switch {
		case err != nil:
		case c.gen == gen:
			if full {
				c.took = s.now().Sub(start)
			}
			c.ids++
			c.epoch++
			read.id, read.epoch, read.expires = c.ids, c.epoch, expires
			c.snap, c.rows = read, 0
		case !fresh:
			c.retryAt = s.now().Add(ttl)
		}
		c.end(key, done)
		if fresh && c.snap != read { // an early read that failed or was voided
			cur := c.snap // sn, or what a write made of it
			if cur != nil && !s.now().Before(cur.expires) {
				cur = nil
			}
			c.mu.Unlock()
			return cur, nil
		}
		c.mu.Unlock()
		return read, err
	}
}

// readListSnap reads the total and the anchors in one snapshot.
func (s *Store) readListSnap(ctx context.Context) (*listSnap, error) {
	sn := &listSnap{blocks: map[int][]domain.Share{}}
	err := s.readTx(ctx, "list shares", func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &sn.version, listVersionQuery); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &sn.total, `SELECT COUNT(*) FROM shares`); err != nil {
			return err
		}
		maxAnchors, _ := s.lists.limits()
		sn.step = listStep(sn.total, maxAnchors)
		var err error
		if sn.anchors, err = s.readAnchors(ctx, tx, sn.total, sn.step); err != nil {
			return err
		}
		if sn.total == 0 {
			return nil
		}
		var last struct {
			Date timestamp `db:"create_date"`
			ID   string    `db:"share_id"`
		}
		if err := tx.GetContext(ctx, &last, `SELECT create_date, share_id FROM shares
			ORDER BY create_date DESC, share_id DESC LIMIT 1`); err != nil {
			return err
		}
		sn.last = listKey{date: ts(last.Date.Time), id: last.ID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// readAnchors reads the key of every step-th share in list order, by
// hops: the first share's, then from each anchor the key step entries on
// (LIMIT 1 OFFSET step), a seek and a walk of step entries on the
// (create_date, share_id) index, reading nothing else. One window function
// (ROW_NUMBER() OVER the list order) said the same in one statement, but
// both engines materialize its whole input: at 10⁶ shares SQLite, with the
// server's small page cache, spilled it to a temporary B-tree on disk, and
// lists waited for it 5-14 s (p50) on a loaded machine (issue 14).
// total is the count in the same snapshot: the hops stop at the last
// anchor it implies.
func (s *Store) readAnchors(ctx context.Context, tx *sqlx.Tx, total, step int) ([]listKey, error) {
	anchors := make([]listKey, 0, (total+step-1)/step)
	if total == 0 {
		return anchors, nil
	}
	type key struct {
		Date timestamp `db:"create_date"`
		ID   string    `db:"share_id"`
	}
	var k key
	if err := tx.GetContext(ctx, &k, `SELECT create_date, share_id FROM shares ORDER BY create_date, share_id LIMIT 1`); err != nil {
		return nil, err
	}
	q, _ := s.listSeek(listKey{})
	hop, err := tx.PreparexContext(ctx, `SELECT create_date, share_id`+q)
	if err != nil {
		return nil, err
	}
	defer hop.Close()
	for {
		a := listKey{date: ts(k.Date.Time), id: k.ID}
		anchors = append(anchors, a)
		if len(anchors)*step >= total {
			return anchors, nil
		}
		_, args := s.listSeek(a)
		if err := hop.GetContext(ctx, &k, append(args, 1, step)...); err != nil {
			return nil, err // sql.ErrNoRows too: the snapshot holds total shares
		}
	}
}

// listStep is the distance between anchors for total shares: listBlock, or
// the multiple of it that keeps the anchors within maxAnchors.
func listStep(total, maxAnchors int) int {
	per := listBlock * maxAnchors
	return listBlock * max(1, (total+per-1)/per)
}

// listBlockRows returns block k of sn (positions k*listBlock onwards).
func (s *Store) listBlockRows(ctx context.Context, sn *listSnap, k int) ([]domain.Share, error) {
	c := &s.lists
	key := listLoad{snap: sn, block: k}
	for waited := false; ; waited = true {
		c.mu.Lock()
		if b, ok := sn.blocks[k]; ok {
			c.mu.Unlock()
			return b, nil
		}
		wait, done, gen, hard := c.begin(key, waited)
		c.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fail(ctx.Err(), "list shares")
			}
		}
		b, err := s.readListBlock(ctx, sn, k)
		if c.afterRead != nil {
			c.afterRead(k)
		}
		c.mu.Lock()
		// Stored if nothing was written meanwhile, or only appends to sn
		// (to c.snap, of sn's id), which change no block before sn's last
		// anchor.
		if cur := c.snap; err == nil && cur != nil && cur.id == sn.id && c.hard == hard &&
			(c.gen == gen || (k+1)*listBlock <= (len(sn.anchors)-1)*sn.step) {
			c.store(cur, k, b)
		}
		c.end(key, done)
		c.mu.Unlock()
		return b, err
	}
}

// store keeps block k of sn, evicting other blocks to stay within
// listMaxRows. c.mu is held.
func (c *listCache) store(sn *listSnap, k int, b []domain.Share) {
	_, maxRows := c.limits()
	for j, old := range sn.blocks { // map order: an arbitrary victim
		if c.rows+len(b) <= maxRows {
			break
		}
		delete(sn.blocks, j)
		c.rows -= len(old)
	}
	sn.blocks[k] = b
	c.rows += len(b)
}

func (s *Store) readListBlock(ctx context.Context, sn *listSnap, k int) ([]domain.Share, error) {
	pos := k * listBlock
	q, args := s.listRows(sn.anchors[pos/sn.step], listBlock, pos%sn.step)
	var rows []shareRow
	err := s.selectHot(ctx, &rows, q, args...)
	if err != nil {
		return nil, fail(err, "list shares")
	}
	b := make([]domain.Share, len(rows))
	for i, r := range rows {
		b[i] = *r.domain()
	}
	return b, nil
}

// readListPage reads n shares from position offset of sn, from its
// nearest anchor, without the blocks.
func (s *Store) readListPage(ctx context.Context, sn *listSnap, offset, n int) ([]domain.Share, int, error) {
	q, args := s.listRows(sn.anchors[offset/sn.step], n, offset%sn.step)
	var rows []shareRow
	if err := s.selectHot(ctx, &rows, q, args...); err != nil {
		return nil, 0, fail(err, "list shares")
	}
	out := make([]domain.Share, len(rows))
	for i, r := range rows {
		out[i] = *r.domain()
	}
	return out, sn.total, nil
}

// listSeek is the FROM clause onwards of a query for the shares from key a
// on, in list order, to which the caller adds LIMIT and OFFSET arguments:
// a seek on the (create_date, share_id) index, said the way each planner
// understands. For the OR form SQLite walks the index from its start (1.1
// ms at 10 000 shares, against 26 µs), and MariaDB does the same for the
// row value (5.5 ms, against 0.15 ms).
func (s *Store) listSeek(a listKey) (string, []any) {
	if s.dialect == DialectMySQL {
		return ` FROM shares WHERE create_date > ? OR (create_date = ? AND share_id >= ?)
			ORDER BY create_date, share_id LIMIT ? OFFSET ?`, []any{a.date, a.date, a.id}
	}
	return ` FROM shares WHERE (create_date, share_id) >= (?, ?)
		ORDER BY create_date, share_id LIMIT ? OFFSET ?`, []any{a.date, a.id}
}

// listRows is the query for limit shares in list order, skipping offset
// from key a on. SQLite skips the offset on the index alone (a deferred
// seek: the table row is read only for the rows it returns); MariaDB
// reads every row it skips in full, a primary-key lookup each (EXPLAIN
// ANALYZE at 10⁶ shares: 669 pages for a page at offset 200), so there the
// ids come from the index in a derived table, joined to their rows (51
// pages).
func (s *Store) listRows(a listKey, limit, offset int) (string, []any) {
	q, args := s.listSeek(a)
	args = append(args, limit, offset)
	if s.dialect == DialectMySQL {
		return `SELECT ` + qualified("s", shareColumns) + ` FROM (SELECT share_id` + q + `) p
			JOIN shares s ON s.share_id = p.share_id ORDER BY s.create_date, s.share_id`, args
	}
	return `SELECT ` + shareColumns + q, args
}

// listSharesCached is ListShares served from the cache.
func (s *Store) listSharesCached(ctx context.Context, limit, offset int, ttl time.Duration) ([]domain.Share, int, error) {
	sn, err := s.listSnapshot(ctx, ttl)
	if err != nil {
		return nil, 0, err
	}
	if sn == nil {
		return s.listSharesUncached(ctx, limit, offset)
	}
	if offset >= sn.total || limit == 0 {
		return []domain.Share{}, sn.total, nil
	}
	end := offset + min(limit, sn.total-offset)
	if directAt := cmp.Or(s.lists.directAt, listDirectAt); sn.total > directAt {
		return s.readListPage(ctx, sn, offset, end-offset)
	}
	out := make([]domain.Share, 0, end-offset)
	for k := offset / listBlock; k*listBlock < end; k++ {
		b, err := s.listBlockRows(ctx, sn, k)
		if err != nil {
			return nil, 0, err
		}
		lo, hi := max(offset-k*listBlock, 0), min(end-k*listBlock, listBlock)
		if hi > len(b) { // shorter than the snapshot said: another process deleted shares
			hi = len(b)
		}
		if lo < hi {
			out = append(out, b[lo:hi]...) // a copy of the structs; what their pointers point at is never changed
		}
	}
	return out, sn.total, nil
}

// bumpListVersion counts an insert or delete of a share, in its
// transaction, in share_list_version (migration 0025): the list cache of
// every process sees from it whether its snapshot still holds. It returns
// the version the transaction made (bumps are serialized by the row's
// write lock, so the one before it is version-1).
func (s *Store) bumpListVersion(ctx context.Context, tx *sqlx.Tx) (int64, error) {
	q := `INSERT INTO share_list_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = version + 1`
	if s.dialect == DialectMySQL {
		q = `INSERT INTO share_list_version (id, version) VALUES (1, 1) ON DUPLICATE KEY UPDATE version = version + 1`
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	var v int64
	err := tx.GetContext(ctx, &v, `SELECT version FROM share_list_version WHERE id = 1`)
	return v, err
}

const listVersionQuery = `SELECT COALESCE(MAX(version), 0) FROM share_list_version`
