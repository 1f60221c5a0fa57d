package tests

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestQuota: an admin sets a user's quota (or the default); usage shows in
// /whoami and the user record; an upload that would pass the quota is
// refused with 413 naming it, up front on dztotalfilesize or while it
// streams, leaving nothing behind; concurrent uploads cannot both squeeze
// past it.
func TestQuota(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		tok := s.user("bob", "CREATE", "MODIFY", "READ", "DELETE")
		whoami := func(t *testing.T) map[string]any {
			return expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)
		}
		num := func(v any) int64 {
			f, _ := v.(float64)
			return int64(f)
		}
		// chunkFiles counts the filesystem store's unfinished chunk files
		// (-1 on S3, where the upload status says it instead).
		chunkFiles := func(t *testing.T) int {
			if testStorage() == "s3" {
				return -1
			}
			n := 0
			for _, d := range []string{"chunks", "tmp", "assembly"} {
				n += len(filesUnder(t, filepath.Join(s.Cfg.DataDir, "blobs", d)))
			}
			return n
		}
		noUploadKept := func(t *testing.T, id, dzuuid string) {
			t.Helper()
			r := s.req("GET", "/files/"+id+"/uploads/"+url.PathEscape(dzuuid), tok, nil)
			if r.Status == 200 {
				if m := r.JSON(t); num(m["bytes_held"]) != 0 {
					t.Errorf("refused upload holds %v bytes", m["bytes_held"])
				}
			} else {
				expect(t, r, 404)
			}
			sh := expect(t, s.req("GET", "/files/"+id, tok, nil), 200).JSON(t)
			if sh["initialized"] != false || sh["size"] != nil {
				t.Errorf("share changed by a refused upload: %v", sh)
			}
		}
		want413 := func(t *testing.T, r reply) {
			t.Helper()
			expect(t, r, 413)
			if msg := r.Message(); !strings.Contains(msg, "quota") || !strings.Contains(msg, "10000") {
				t.Errorf("413 message %q does not name the quota", msg)
			}
		}

		t.Run("settings_and_record", func(t *testing.T) {
			s := s.on(t)
			m := whoami(t)
			if m["quota"] != nil || num(m["used_bytes"]) != 0 {
				t.Errorf("whoami %v, want unlimited and nothing used", m)
			}
			expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"default_quota": 5000}), 200)
			if q := num(whoami(t)["quota"]); q != 5000 {
				t.Errorf("quota %d from the default, want 5000", q)
			}
			// A PUT from a client that predates default_quota keeps it.
			expect(t, s.req("PUT", "/admin/settings", s.admin, map[string]any{"default_permissions": []string{}}), 200)
			if q := num(adminGetSettings(t, s)["default_quota"]); q != 5000 {
				t.Errorf("default_quota %d after a PUT without it, want 5000 kept", q)
			}
			expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"default_quota": -1}), 400)
			expect(t, s.req("PATCH", "/users/bob", s.admin, map[string]any{"quota": -5}), 400)
			expect(t, s.req("PATCH", "/users/bob", s.admin, map[string]any{"quota": 0}), 200)
			if q := whoami(t)["quota"]; q != nil {
				t.Errorf("quota %v with 0 (unlimited), want null", q)
			}
			expect(t, s.req("PATCH", "/users/bob", s.admin, map[string]any{"quota": 10000}), 200)
			u := expect(t, s.req("GET", "/users/bob", tok, nil), 200).JSON(t)
			if num(u["quota"]) != 10000 || u["used_bytes"] == nil {
				t.Errorf("user record %v, want quota 10000 and used_bytes", u)
			}
			// The record can be sent back as fetched (without used_bytes
			// changing): PUT with a password keeps the quota.
			u["password"] = "bob-pw"
			expect(t, s.req("PUT", "/users/bob", s.admin, u), 200)
			u["used_bytes"] = 12345
			expect(t, s.req("PUT", "/users/bob", s.admin, u), 400)
			delete(u, "quota")
			delete(u, "used_bytes")
			expect(t, s.req("PUT", "/users/bob", s.admin, u), 200)
			if q := num(whoami(t)["quota"]); q != 10000 {
				t.Errorf("quota %d after a PUT without it, want 10000 kept", q)
			}
			expect(t, s.req("PATCH", "/admin/settings", s.admin, map[string]any{"default_quota": 0}), 200)
		})

		var first string
		t.Run("refused_up_front_and_mid_stream", func(t *testing.T) {
			s := s.on(t)
			first = s.newShare(tok, "a.bin")
			s.upload("POST", first, tok, randBytes(6000), 2000)
			if used := num(whoami(t)["used_bytes"]); used != 6000 {
				t.Fatalf("used_bytes %d, want 6000", used)
			}
			before := chunkFiles(t)

			// Declared too big: refused before a byte is stored.
			b := s.newShare(tok, "b.bin")
			want413(t, s.sendChunk("POST", b, tok, chunk{UUID: "declared", Index: 0, Total: 3, Data: randBytes(2000),
				Extra: map[string]string{"dztotalfilesize": "5000", "dzchunksize": "2000"}}))
			noUploadKept(t, b, "declared")

			// Undeclared: refused while the bytes stream.
			want413(t, s.sendChunk("POST", b, tok, chunk{UUID: "streamed", Index: 0, Total: 1, Data: randBytes(4001)}))
			noUploadKept(t, b, "streamed")
			// Its second chunk passes the quota: that chunk is refused,
			// the first one stays the upload's, the share unchanged.
			expect(t, s.sendChunk("POST", b, tok, chunk{UUID: "two", Index: 0, Total: 2, Data: randBytes(2000)}), 200)
			want413(t, s.sendChunk("POST", b, tok, chunk{UUID: "two", Index: 1, Total: 2, Data: randBytes(2001)}))
			st := expect(t, s.req("GET", "/files/"+b+"/uploads/two", tok, nil), 200).JSON(t)
			if num(st["received_chunks"]) != 1 || num(st["bytes_held"]) != 2000 {
				t.Errorf("upload status %v, want only chunk 0", st)
			}
			expect(t, s.req("DELETE", "/files/"+b+"/uploads/two", tok, nil), 200)
			if n := chunkFiles(t); n != before {
				t.Errorf("%d chunk files after refusals, want %d", n, before)
			}
			// Nothing stays reserved: cleanup drops the aborted upload's
			// hold, and then exactly the quota fits.
			if _, err := s.App.Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.upload("POST", b, tok, randBytes(4000), 1500)
			if used := num(whoami(t)["used_bytes"]); used != 10000 {
				t.Fatalf("used_bytes %d, want 10000", used)
			}
			expect(t, s.req("DELETE", "/files/"+b, tok, nil), 200)
		})

		t.Run("concurrent_uploads_cannot_both_pass", func(t *testing.T) {
			s := s.on(t)
			// 6000 used, 4000 left: each 3000-byte upload fits alone, both don't.
			for round := 0; round < 3; round++ {
				ids := []string{s.newShare(tok, "c.bin"), s.newShare(tok, "d.bin")}
				codes := make([]int, len(ids))
				var wg sync.WaitGroup
				for i, id := range ids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						codes[i] = s.sendChunk("POST", id, tok, chunk{UUID: fmt.Sprint("race", round), Index: 0, Total: 1, Data: randBytes(3000)}).Status
					}()
				}
				wg.Wait()
				if !(codes[0] == 201 && codes[1] == 413 || codes[0] == 413 && codes[1] == 201) {
					t.Fatalf("round %d: statuses %v, want one 201 and one 413", round, codes)
				}
				if used := num(whoami(t)["used_bytes"]); used != 9000 {
					t.Fatalf("used_bytes %d, want 9000", used)
				}
				for _, id := range ids {
					expect(t, s.req("DELETE", "/files/"+id, tok, nil), 200)
				}
			}
		})

		t.Run("anonymous_shares_and_unlimited", func(t *testing.T) {
			s := s.on(t)
			expect(t, s.req("PATCH", "/users/bob", s.admin, map[string]any{"quota": nil}), 200)
			// No own quota and no default: unlimited.
			id := s.newShare(tok, "big.bin")
			s.upload("POST", id, tok, randBytes(20000), 8000)
			if m := whoami(t); m["quota"] != nil || num(m["used_bytes"]) != 26000 {
				t.Errorf("whoami %v, want unlimited with 26000 used", m)
			}
		})
	})
}

// TestQuotaAcrossProcesses: two servers on one MySQL database (several
// servers share one; a second on a SQLite file is refused) judge
// concurrent uploads of one user against each other's quota holds.
func TestQuotaAcrossProcesses(t *testing.T) {
	a := start(t, "mysql", nil)
	b := startWith(t, serverOpts{peerOf: a})
	tok := a.user("carol", "CREATE", "DELETE")
	expect(t, a.req("PATCH", "/users/carol", a.admin, map[string]any{"quota": 5000}), 200)
	for round := range 4 {
		ids := []string{a.newShare(tok, "x"), a.newShare(tok, "y")}
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i, srv := range []*server{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = srv.sendChunk("POST", ids[i], tok, chunk{UUID: fmt.Sprint("p", round), Index: 0, Total: 1, Data: randBytes(3000)}).Status
			}()
		}
		wg.Wait()
		if !(codes[0] == 201 && codes[1] == 413 || codes[0] == 413 && codes[1] == 201) {
			t.Fatalf("round %d: statuses %v, want one 201 and one 413", round, codes)
		}
		for _, id := range ids {
			expect(t, a.req("DELETE", "/files/"+id, tok, nil), 200)
		}
	}
}
