package tests

import (
	"bytes"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// statusPath is the upload-status route of (share, dzuuid), the dzuuid
// path-escaped as the contract asks.
func statusPath(shareID, dzuuid string) string {
	return "/files/" + shareID + "/uploads/" + url.PathEscape(dzuuid)
}

func TestUploadStatus(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		alice := s.user("alice", "CREATE")
		bob := s.user("bob", "CREATE", "MODIFY", "READ")
		reader := s.user("reader", "READ")
		id := s.newShare(alice, "five.bin")
		const dz = "resume me/ é%?#"
		part := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1000+i) }
		for _, i := range []int{0, 1, 3} {
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: i, Total: 5, Data: part(i)}), 200)
		}

		t.Run("HeldRangesAndBytes", func(t *testing.T) {
			m := expect(t, s.req("GET", statusPath(id, dz), alice, nil), 200).JSON(t)
			if got, want := m["chunks"], []any{[]any{0.0, 1.0}, []any{3.0, 3.0}}; !reflect.DeepEqual(got, want) {
				t.Errorf("chunks = %v, want %v", got, want)
			}
			if got, want := m["bytes_held"], float64(1000+1001+1003); got != want {
				t.Errorf("bytes_held = %v, want %v", got, want)
			}
			if got, want := m["total_chunks"], 5.0; got != want {
				t.Errorf("total_chunks = %v, want %v", got, want)
			}
			if got, want := m["received_chunks"], 3.0; got != want {
				t.Errorf("received_chunks = %v, want %v", got, want)
			}
			if got := m["dzuuid"]; got != dz {
				t.Errorf("dzuuid = %q, want %q", got, dz)
			}
		})

		t.Run("ResentChunkCountsOnce", func(t *testing.T) {
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 1, Total: 5, Data: part(1)}), 200)
			m := expect(t, s.req("GET", statusPath(id, dz), alice, nil), 200).JSON(t)
			if got, want := m["received_chunks"], 3.0; got != want {
				t.Errorf("received_chunks = %v, want %v", got, want)
			}
		})

		t.Run("Refused", func(t *testing.T) {
			for _, c := range []struct {
				name, method, path, token string
				want                      int
			}{
				{"OtherUserGet", "GET", statusPath(id, dz), bob, 403},
				{"OtherUserDelete", "DELETE", statusPath(id, dz), bob, 403},
				{"NoUploadPermission", "GET", statusPath(id, dz), reader, 403},
				{"Anonymous", "GET", statusPath(id, dz), "", 401},
				{"UnknownDzuuid", "GET", statusPath(id, "nope"), alice, 404},
				{"UnknownDzuuidDelete", "DELETE", statusPath(id, "nope"), alice, 404},
				{"DzuuidTooLong", "GET", statusPath(id, strings.Repeat("x", 256)), alice, 404},
				{"DzuuidOtherCase", "GET", statusPath(id, strings.ToUpper(dz)), alice, 404},
				{"NotAUUID", "GET", statusPath("not-a-uuid", dz), alice, 404},
				{"UnknownShare", "GET", statusPath("0b7e1b8e-5a34-4b7f-8f33-3d1b2a6c9e10", dz), alice, 404},
				{"UnknownShareDelete", "DELETE", statusPath("0b7e1b8e-5a34-4b7f-8f33-3d1b2a6c9e10", dz), alice, 404},
				{"WrongMethod", "POST", statusPath(id, dz), alice, 405},
			} {
				t.Run(c.name, func(t *testing.T) { expect(t, s.req(c.method, c.path, c.token, nil), c.want) })
			}
		})

		t.Run("EitherUploadPermissionWillDo", func(t *testing.T) {
			// alice loses CREATE but gains MODIFY: she may still replace
			// content, so she may still ask.
			expect(t, s.req("PATCH", "/users/alice", s.admin, map[string]any{"permissions": []string{"MODIFY"}}), 200)
			expect(t, s.req("GET", statusPath(id, dz), alice, nil), 200)
			expect(t, s.req("PATCH", "/users/alice", s.admin, map[string]any{"permissions": []string{"CREATE"}}), 200)
		})

		t.Run("DeleteFreesFiles", func(t *testing.T) {
			// The files are the filesystem store's; with content on S3
			// (make test's second run) only the abort itself is checked
			// here (TestS3LeavesNoObjects counts objects).
			onDisk := testStorage() == "file:"
			if onDisk && len(obFiles(t, s, "chunks"))+len(obFiles(t, s, "assembly")) == 0 {
				t.Fatal("the unfinished upload holds no files before the abort")
			}
			expect(t, s.req("DELETE", statusPath(id, dz), alice, nil), 200)
			if onDisk {
				if l := append(obFiles(t, s, "chunks"), obFiles(t, s, "assembly")...); len(l) != 0 {
					t.Errorf("files left after the abort: %v", l)
				}
			}
			expect(t, s.req("GET", statusPath(id, dz), alice, nil), 404)
			expect(t, s.req("DELETE", statusPath(id, dz), alice, nil), 404)
			m := expect(t, s.req("GET", "/files/"+id, s.admin, nil), 200).JSON(t)
			if m["initialized"] != false {
				t.Errorf("the share became initialized: %v", m)
			}
		})

		t.Run("ChunkAfterAbortStartsAfresh", func(t *testing.T) {
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 4, Total: 5, Data: part(4)}), 200)
			m := expect(t, s.req("GET", statusPath(id, dz), alice, nil), 200).JSON(t)
			if got, want := m["chunks"], []any{[]any{4.0, 4.0}}; !reflect.DeepEqual(got, want) {
				t.Errorf("chunks = %v, want %v", got, want)
			}
		})

		t.Run("CompletedUploadIsGone", func(t *testing.T) {
			for _, i := range []int{0, 1, 2} {
				expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: i, Total: 5, Data: part(i)}), 200)
			}
			m := expect(t, s.req("GET", statusPath(id, dz), alice, nil), 200).JSON(t)
			if got, want := m["chunks"], []any{[]any{0.0, 2.0}, []any{4.0, 4.0}}; !reflect.DeepEqual(got, want) {
				t.Errorf("chunks = %v, want %v", got, want)
			}
			expect(t, s.sendChunk("POST", id, alice, chunk{UUID: dz, Index: 3, Total: 5, Data: part(3)}), 201)
			expect(t, s.req("GET", statusPath(id, dz), alice, nil), 404)
		})

		t.Run("NoChunkYet", func(t *testing.T) {
			// An upload exists once a chunk's fields were read; a share
			// with none has nothing to report.
			other := s.newShare(alice, "")
			expect(t, s.req("GET", statusPath(other, dz), alice, nil), 404)
		})
	})
}
