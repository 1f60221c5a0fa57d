package tests

import (
	"bytes"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
)

// TestTwoProcessesShareOneDatabase runs two servers on one MySQL database
// and one data dir, as two processes behind a load balancer would. Each
// caches reads for SACHET_CACHE_TTL: what one changes, the other sees at
// once where a stale read would serve a missing file, and within the TTL
// everywhere else.
func TestTwoProcessesShareOneDatabase(t *testing.T) {
	const ttl = 300 * time.Millisecond
	setTTL := func(c *app.Config) { c.CacheTTL = ttl }
	a := start(t, "mysql", setTTL)
	b := startWith(t, serverOpts{peerOf: a, mutate: setTTL})

	id := a.newShare(a.admin, "shared.bin")
	oldData := bytes.Repeat([]byte("old "), 1000)
	newData := bytes.Repeat([]byte("new!"), 3000)
	a.upload("POST", id, a.admin, oldData, 1024)
	if got := expect(t, a.content(id, a.admin), 200).Body; !bytes.Equal(got, oldData) {
		t.Fatalf("a served %d bytes before the replacement, want the old %d", len(got), len(oldData))
	}

	t.Run("content replaced by the other process is served whole at once", func(t *testing.T) {
		// b removes the old blob once its upload completes; a's cached row
		// still names it.
		b.upload("PUT", id, b.admin, newData, 4096)
		r := expect(t, a.content(id, a.admin), 200)
		if !bytes.Equal(r.Body, newData) {
			t.Fatalf("a served %d bytes after b replaced the content, want the new %d", len(r.Body), len(newData))
		}
	})

	t.Run("a user deleted by the other process loses access within the TTL", func(t *testing.T) {
		tok := a.user("leaving", "READ")
		expect(t, a.req("GET", "/files/"+id, tok, nil), 200) // a caches the holder
		expect(t, b.req("DELETE", "/users/leaving", b.admin, nil), 200)
		time.Sleep(ttl + 100*time.Millisecond)
		expect(t, a.req("GET", "/files/"+id, tok, nil), 401)
	})

	t.Run("a lock by the other process holds at once for writes, and shows within the TTL", func(t *testing.T) {
		expect(t, a.req("GET", "/files/"+id, a.admin, nil), 200) // a caches the unlocked share
		expect(t, b.req("POST", "/files/"+id+"/lock", b.admin, nil), 200)
		// Writes never trust the cache: the update itself refuses a locked share.
		expect(t, a.req("PATCH", "/files/"+id, a.admin, map[string]any{"file_name": "renamed.bin"}), 423)
		time.Sleep(ttl + 100*time.Millisecond)
		if locked, _ := expect(t, a.req("GET", "/files/"+id, a.admin, nil), 200).JSON(t)["locked"].(bool); !locked {
			t.Fatal("a still shows the share unlocked after the TTL")
		}
	})
}
