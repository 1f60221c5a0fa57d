package tests

import (
	"testing"
	"time"
)

// peer starts another `sachet serve` process on p's database and data dir
// (so the same signing key), as a second server behind a load balancer
// would be, sharing p's admin token.
func (p *sachetProc) peer() *sachetProc {
	t := p.t
	t.Helper()
	q := &sachetProc{t: t, bin: p.bin, dialect: p.dialect, dataDir: p.dataDir, database: p.database,
		log: &tailBuffer{max: 64 << 10}, extraEnv: p.extraEnv}
	t.Cleanup(func() {
		q.kill()
		if t.Failed() {
			t.Logf("peer sachet server output (last %d bytes):\n%s", q.log.max, q.log.String())
		}
	})
	q.start()
	q.s.admin = p.s.admin
	return q
}

// TestStalenessAcrossProcesses: two real `sachet serve` processes on one
// MariaDB, each with the default SACHET_CACHE_TTL (1 s). A write through one
// (a share's rename and lock, a user's permissions, a user's deletion, a
// token's revocation, the anonymous permissions) is seen by the other
// within that bound: each process first reads (and caches) the old state,
// the other writes, and one TTL later (plus a margin for the clock's
// granularity, not for speed) the first must answer with the new state.
//
// The bound holds by construction (db/cache.go): a row cached before the
// write is dropped at most one TTL after it was read, and a read that
// began before the write never stores its result; a process's own writes
// drop its own cache at once.
func TestStalenessAcrossProcesses(t *testing.T) {
	bin := buildSachet(t)
	const ttl = time.Second // the default, stated as the bound in the README
	a := newSachet(t, bin, "mysql")
	b := a.peer()

	share := a.s.newShare(a.s.admin, "before.txt")
	reader := a.s.user("reader", "READ")
	doomed := a.s.user("doomed", "READ")
	leaver := a.s.user("leaver", "READ")
	leaverTok2 := a.s.login("leaver", "leaver-pw") // stays valid: only the first is revoked

	// a reads everything once: its caches now hold the old state.
	prime := func() {
		expect(t, a.s.req("GET", "/files/"+share, reader, nil), 200)
		expect(t, a.s.req("GET", "/files/"+share, doomed, nil), 200)
		expect(t, a.s.req("GET", "/files/"+share, leaver, nil), 200)
		expect(t, a.s.req("GET", "/files/"+share, "", nil), 401) // anonymous: no READ yet
	}
	prime()

	// b writes.
	expect(t, b.s.req("PATCH", "/files/"+share, b.s.admin, map[string]any{"file_name": "after.txt"}), 200)
	expect(t, b.s.req("POST", "/files/"+share+"/lock", b.s.admin, nil), 200)
	expect(t, b.s.req("PATCH", "/users/reader", b.s.admin, map[string]any{"permissions": []string{}}), 200)
	expect(t, b.s.req("DELETE", "/users/doomed", b.s.admin, nil), 200)
	expect(t, b.s.req("POST", "/users/logout", leaver, map[string]any{"token": leaver}), 200)
	expect(t, b.s.req("PUT", "/admin/settings", b.s.admin, map[string]any{"default_permissions": []string{"READ"}}), 200)
	wrote := time.Now()

	time.Sleep(time.Until(wrote.Add(ttl + 50*time.Millisecond)))
	t.Run("share renamed and locked", func(t *testing.T) {
		got := expect(t, a.s.req("GET", "/files/"+share, a.s.admin, nil), 200).JSON(t)
		if got["file_name"] != "after.txt" || got["locked"] != true {
			t.Fatalf("a shows %v, locked %v one TTL after b renamed and locked it", got["file_name"], got["locked"])
		}
	})
	t.Run("permission removed", func(t *testing.T) {
		expect(t, a.s.req("GET", "/files/"+share, reader, nil), 403)
	})
	t.Run("user deleted", func(t *testing.T) {
		expect(t, a.s.req("GET", "/files/"+share, doomed, nil), 401)
	})
	t.Run("token revoked", func(t *testing.T) {
		expect(t, a.s.req("GET", "/files/"+share, leaver, nil), 401)
		expect(t, a.s.req("GET", "/files/"+share, leaverTok2, nil), 200)
	})
	t.Run("anonymous permissions changed", func(t *testing.T) {
		expect(t, a.s.req("GET", "/files/"+share, "", nil), 200)
	})
}
