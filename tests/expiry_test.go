package tests

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShareExpiry: a share with expires_at serves until that instant and
// reads as missing from it on (metadata, content, changes, lists), and the
// purge deletes the row and its content through the blob store.
func TestShareExpiry(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

		t.Run("validation", func(t *testing.T) {
			s := s.on(t)
			past := rfc(time.Now().Add(-time.Minute))
			r := expect(t, s.req("POST", "/files", s.admin, map[string]any{"expires_at": past}), 400)
			if !strings.Contains(r.Message(), "expires_at") {
				t.Errorf("message %q does not name expires_at", r.Message())
			}
			expect(t, s.req("POST", "/files", s.admin, map[string]any{"expires_at": "tomorrow"}), 400)
			id := s.newShare(s.admin, "keep.txt")
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"expires_at": past}), 400)
			// Set, shown, cleared with null, and kept by a PUT without it.
			at := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"expires_at": rfc(at)}), 200)
			if got := s.shareExpiry(id); got == nil || !got.Equal(at) {
				t.Fatalf("expires_at %v, want %v", got, at)
			}
			expect(t, s.req("PUT", "/files/"+id, s.admin, map[string]any{"file_name": "kept.txt", "owner_name": "admin"}), 200)
			if got := s.shareExpiry(id); got == nil || !got.Equal(at) {
				t.Fatalf("after PUT without expires_at: %v, want %v", got, at)
			}
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"expires_at": nil}), 200)
			if got := s.shareExpiry(id); got != nil {
				t.Fatalf("expires_at %v after null, want none", got)
			}
		})

		t.Run("boundary_and_purge", func(t *testing.T) {
			s := s.on(t)
			keep := s.newShare(s.admin, "stays.bin")
			// The checks before the boundary must all run before it: on a
			// machine too slow for the lead, the share is dropped and the
			// whole of it tried again with a longer one (never a skip).
			var (
				at         time.Time
				id, blobID string
				data       []byte
				before     int
			)
			for lead := 2500 * time.Millisecond; ; lead *= 2 {
				at = time.Now().Add(lead).UTC().Truncate(time.Microsecond)
				r := expect(t, s.req("POST", "/files", s.admin, map[string]any{"file_name": "goes.bin", "expires_at": rfc(at)}), 201)
				id = r.JSON(t)["url"].(string)[len("/files/"):]
				data = randBytes(3000)
				s.upload("POST", id, s.admin, data, 1000)
				// A locked share expires and is purged all the same.
				expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
				sh, err := s.App.Store.ShareByID(context.Background(), id)
				if err != nil || sh.BlobID == nil {
					t.Fatalf("share row before expiry: %v %+v", err, sh)
				}
				blobID = *sh.BlobID

				// Before the boundary: everything serves.
				before = s.listTotal(t)
				expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200)
				if got := s.content(id, s.admin); got.Status != 200 || string(got.Body) != string(data) {
					t.Fatalf("content before expiry: %d", got.Status)
				}
				if !s.listed(t, id) {
					t.Fatal("share missing from the list before its expiry")
				}
				if time.Now().Before(at) {
					break
				}
				if lead > time.Minute {
					t.Fatalf("the checks before the boundary outran a lead of %v", lead)
				}
				t.Logf("the checks before the boundary took longer than %v; again with twice the lead", lead)
				expect(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200)
				if r := s.req("DELETE", "/files/"+id, s.admin, nil); r.Status != 200 && r.Status != 404 {
					t.Fatalf("dropping the share: %d", r.Status)
				}
			}
			time.Sleep(time.Until(at) + 20*time.Millisecond)
			// After it: missing everywhere, to its owner and an admin.
			expect(t, s.req("GET", "/files/"+id, s.admin, nil), 404)
			expect(t, s.content(id, s.admin), 404)
			expect(t, s.req("HEAD", "/files/"+id+"/content", s.admin, nil), 404)
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"file_name": "x"}), 404)
			expect(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200) // the lock route does not read the share
			expect(t, s.req("PATCH", "/files/"+id, s.admin, map[string]any{"expires_at": nil}), 404)
			expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 404)
			if s.listed(t, id) {
				t.Fatal("expired share still listed")
			}
			if after := s.listTotal(t); after != before-1 {
				t.Fatalf("list total %d after expiry, want %d", after, before-1)
			}
			expect(t, s.req("GET", "/files/"+keep, s.admin, nil), 200)

			// The purge removes the row and the content, in the blob store.
			rep, err := s.App.Cleanup(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.ExpiredFiles != 1 {
				t.Errorf("purge removed %d files, want 1", rep.ExpiredFiles)
			}
			if rc, _, err := s.App.Blobs.Open(context.Background(), blobID); err == nil {
				rc.Close()
				t.Error("the expired share's content is still in the blob store")
			}
			if files, err := s.App.Store.DeleteExpired(context.Background(), time.Now()); err != nil || len(files) != 0 {
				t.Errorf("second purge: %v %v, want nothing left", files, err)
			}
			expect(t, s.req("GET", "/files/"+keep, s.admin, nil), 200)
		})
	})
}

// shareExpiry is a share's expires_at as GET shows it.
func (s *server) shareExpiry(id string) *time.Time {
	s.t.Helper()
	m := expect(s.t, s.req("GET", "/files/"+id, s.admin, nil), 200).JSON(s.t)
	v, ok := m["expires_at"]
	if !ok {
		s.t.Fatal("share body has no expires_at")
	}
	if v == nil {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		s.t.Fatal(err)
	}
	return &at
}

// listTotal counts the shares GET /files lists.
func (s *server) listTotal(t *testing.T) int {
	n := 0
	for page := 1; ; page++ {
		m := expect(t, s.req("GET", "/files?per_page=100&page="+strconv.Itoa(page), s.admin, nil), 200).JSON(t)
		data := m["data"].([]any)
		n += len(data)
		if m["next"] == nil {
			return n
		}
	}
}

// listed reports whether GET /files lists the share.
func (s *server) listed(t *testing.T, id string) bool {
	for page := 1; ; page++ {
		m := expect(t, s.req("GET", "/files?per_page=100&page="+strconv.Itoa(page), s.admin, nil), 200).JSON(t)
		for _, d := range m["data"].([]any) {
			if d.(map[string]any)["share_id"] == id {
				return true
			}
		}
		if m["next"] == nil {
			return false
		}
	}
}
