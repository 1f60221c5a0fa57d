package tests

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sachet-server/sachet/app"
)

// part is one part of a hand-made multipart body.
type part struct {
	name  string
	value string
	file  bool // a file part (with a filename)
}

// multipartBody builds a multipart/form-data body from parts in order.
func multipartBody(parts ...part) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file {
			fw, _ := w.CreateFormFile(p.name, "blob")
			fw.Write([]byte(p.value))
		} else {
			w.WriteField(p.name, p.value)
		}
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// sendParts POSTs or PUTs a hand-made chunk body.
func (s *server) sendParts(method, shareID, token string, parts ...part) reply {
	s.t.Helper()
	ct, body := multipartBody(parts...)
	return s.req(method, "/files/"+shareID+"/content", token, body, "Content-Type", ct)
}

// uploadAs sends data as one upload with the given dzuuid, chunks of n
// bytes, in the given index order (nil: in order), and checks the 200s and
// the single 201.
func (s *server) uploadAs(method, shareID, token, dzuuid string, data []byte, n int, order []int) {
	s.t.Helper()
	chunks := split(data, n)
	if order == nil {
		for i := range chunks {
			order = append(order, i)
		}
	}
	for k, i := range order {
		r := s.sendChunk(method, shareID, token, chunk{UUID: dzuuid, Index: i, Total: len(chunks), Data: chunks[i]})
		if k == len(order)-1 {
			expectMsg(s.t, r, 201, "Upload completed.")
		} else {
			expectMsg(s.t, r, 200, "Chunk uploaded.")
		}
	}
}

// split cuts data into chunks of n bytes; an empty file is one empty chunk.
func split(data []byte, n int) [][]byte {
	var out [][]byte
	for i := 0; i < len(data); i += n {
		out = append(out, data[i:min(i+n, len(data))])
	}
	if len(out) == 0 {
		out = [][]byte{{}}
	}
	return out
}

// checkContent downloads a share and compares it, its size and sha256.
func (s *server) checkContent(id string, want []byte) {
	s.t.Helper()
	r := expect(s.t, s.content(id, s.admin), 200)
	if !bytes.Equal(r.Body, want) {
		s.t.Errorf("content: %d bytes (sha %s), want %d bytes (sha %s)", len(r.Body), sha256Hex(r.Body)[:12], len(want), sha256Hex(want)[:12])
	}
	sh := s.getShare(id)
	if !sh.Initialized || sh.Size == nil || *sh.Size != int64(len(want)) || sh.SHA256 == nil || *sh.SHA256 != sha256Hex(want) {
		s.t.Errorf("share initialized %v size %v sha256 %s; want true, %d, %s", sh.Initialized, sh.Size, strp(sh.SHA256), len(want), sha256Hex(want))
	}
}

func TestUploadChunks(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		data := randBytes(10000)
		cases := []struct {
			name  string
			data  []byte
			n     int
			order func(total int) []int
		}{
			{"one_chunk", data[:777], 1000, nil},
			{"many_chunks_of_1230", data, 1230, nil},
			{"exact_multiple", data[:3690], 1230, nil},
			{"one_byte_chunks", data[:20], 1, nil},
			{"reversed_order", data, 1230, func(n int) []int {
				var o []int
				for i := n - 1; i >= 0; i-- {
					o = append(o, i)
				}
				return o
			}},
			{"shuffled_order", data, 1230, func(n int) []int { return []int{4, 0, 8, 2, 6, 1, 7, 3, 5} }},
			{"empty_file", []byte{}, 10, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name+"_completes", func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "f.bin")
				var order []int
				if tc.order != nil {
					order = tc.order(len(split(tc.data, tc.n)))
				}
				s.uploadAs("POST", id, s.admin, "dz-"+tc.name, tc.data, tc.n, order)
				s.checkContent(id, tc.data)
			})
		}
		t.Run("duplicated_chunks_not_counted_twice", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			c := split(data[:3000], 1000)
			for _, i := range []int{0, 0, 1, 1, 0, 1} {
				expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "dup", Index: i, Total: 3, Data: c[i]}), 200, "Chunk uploaded.")
			}
			if sh := s.getShare(id); sh.Initialized {
				t.Fatal("initialized before the last chunk arrived")
			}
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "dup", Index: 2, Total: 3, Data: c[2]}), 201, "Upload completed.")
			s.checkContent(id, data[:3000])
		})
		t.Run("resent_chunk_last_data_wins", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			c := split(data[:3000], 1000)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: 0, Total: 3, Data: []byte("junk of another length")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: 1, Total: 3, Data: c[1]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: 0, Total: 3, Data: c[0]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "re", Index: 2, Total: 3, Data: c[2]}), 201)
			s.checkContent(id, data[:3000])
		})
		t.Run("fields_after_file_part", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			c := split(data[:2500], 1000)
			for i := range c {
				r := s.sendChunk("POST", id, s.admin, chunk{UUID: "ff", Index: i, Total: 3, Data: c[i], FileFirst: true})
				expect(t, r, map[bool]int{true: 201, false: 200}[i == 2])
			}
			s.checkContent(id, data[:2500])
		})
		t.Run("dropzone_extra_fields_accepted", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			c := split(data[:2500], 1000)
			for i := range c {
				extra := map[string]string{
					"dzchunksize":       "1000",
					"dztotalfilesize":   "2500",
					"dzchunkbyteoffset": fmt.Sprint(i * 1000),
				}
				r := s.sendChunk("POST", id, s.admin, chunk{UUID: "extra", Index: i, Total: 3, Data: c[i], Extra: extra})
				expect(t, r, map[bool]int{true: 201, false: 200}[i == 2])
			}
			s.checkContent(id, data[:2500])
		})
		t.Run("two_uploads_on_one_share_are_separate", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			a, b := data[:2000], data[5000:7000]
			// Chunk 0 of A, chunk 1 of B: neither upload is complete.
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "A", Index: 0, Total: 2, Data: a[:1000]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "B", Index: 1, Total: 2, Data: b[1000:]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "A", Index: 1, Total: 2, Data: a[1000:]}), 201)
			s.checkContent(id, a)
		})
		t.Run("same_dzuuid_on_two_shares_are_separate", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			x := s.newShare(s.admin, "x.bin")
			y := s.newShare(s.admin, "y.bin")
			expect(t, s.sendChunk("POST", x, s.admin, chunk{UUID: "same", Index: 0, Total: 2, Data: []byte("x0")}), 200)
			expect(t, s.sendChunk("POST", y, s.admin, chunk{UUID: "same", Index: 1, Total: 2, Data: []byte("y1")}), 200)
			expect(t, s.sendChunk("POST", y, s.admin, chunk{UUID: "same", Index: 0, Total: 2, Data: []byte("y0")}), 201)
			expect(t, s.sendChunk("POST", x, s.admin, chunk{UUID: "same", Index: 1, Total: 2, Data: []byte("x1")}), 201)
			s.checkContent(x, []byte("x0x1"))
			s.checkContent(y, []byte("y0y1"))
		})
		t.Run("sanitised_lookalike_dzuuids_are_separate", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "a/b", Index: 0, Total: 2, Data: []byte("1")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "a_b", Index: 1, Total: 2, Data: []byte("2")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "a%2Fb", Index: 1, Total: 2, Data: []byte("3")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "A/B", Index: 1, Total: 2, Data: []byte("4")}), 200)
			if s.getShare(id).Initialized {
				t.Fatal("chunks of different dzuuids were combined")
			}
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "a/b", Index: 1, Total: 2, Data: []byte("5")}), 201)
			s.checkContent(id, []byte("15"))
		})
	})
}

func TestUploadFormErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		f := func(name, value string) part { return part{name: name, value: value} }
		file := func(v string) part { return part{name: "upload", value: v, file: true} }
		cases := []struct {
			name    string
			parts   []part
			mention string
		}{
			{"index_equal_total", []part{f("dzuuid", "u"), f("dzchunkindex", "3"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_above_total", []part{f("dzuuid", "u"), f("dzchunkindex", "7"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_negative", []part{f("dzuuid", "u"), f("dzchunkindex", "-1"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_not_integer", []part{f("dzuuid", "u"), f("dzchunkindex", "1.5"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_word", []part{f("dzuuid", "u"), f("dzchunkindex", "one"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_empty", []part{f("dzuuid", "u"), f("dzchunkindex", ""), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"index_huge", []part{f("dzuuid", "u"), f("dzchunkindex", "100000000000000000000000"), f("dztotalchunks", "3"), file("x")}, "dzchunkindex"},
			{"total_zero", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "0"), file("x")}, "dztotalchunks"},
			{"total_negative", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "-2"), file("x")}, "dztotalchunks"},
			{"total_not_integer", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "2x"), file("x")}, "dztotalchunks"},
			{"missing_dzuuid", []part{f("dzchunkindex", "0"), f("dztotalchunks", "1"), file("x")}, "dzuuid"},
			{"empty_dzuuid", []part{f("dzuuid", ""), f("dzchunkindex", "0"), f("dztotalchunks", "1"), file("x")}, "dzuuid"},
			{"dzuuid_256_bytes", []part{f("dzuuid", strings.Repeat("u", 256)), f("dzchunkindex", "0"), f("dztotalchunks", "1"), file("x")}, "dzuuid"},
			{"missing_dzchunkindex", []part{f("dzuuid", "u"), f("dztotalchunks", "1"), file("x")}, "dzchunkindex"},
			{"missing_dztotalchunks", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), file("x")}, "dztotalchunks"},
			{"missing_upload", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "1")}, "upload"},
			{"upload_as_plain_field", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "1"), f("uploadx", "x")}, "upload"},
			{"two_upload_parts", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "1"), file("x"), file("y")}, "upload"},
			{"no_parts", nil, ""},
			{"bad_dzchunksize", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "1"), f("dzchunksize", "big"), file("x")}, "dzchunksize"},
			{"negative_dztotalfilesize", []part{f("dzuuid", "u"), f("dzchunkindex", "0"), f("dztotalchunks", "1"), f("dztotalfilesize", "-5"), file("x")}, "dztotalfilesize"},
		}
		for _, tc := range cases {
			for _, method := range []string{"POST", "PUT"} {
				t.Run(method+"_"+tc.name+"_bad_request", func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					id := s.newShare(s.admin, "f.bin")
					if method == "PUT" {
						s.uploadAs("POST", id, s.admin, "first", []byte("old"), 10, nil)
					}
					r := s.sendParts(method, id, s.admin, tc.parts...)
					expectMsg(t, r, 400, tc.mention)
					sh := s.getShare(id)
					if method == "POST" && sh.Initialized {
						t.Error("a rejected chunk initialized the share")
					}
					if method == "PUT" {
						s.checkContent(id, []byte("old"))
					}
				})
			}
		}
		t.Run("dzuuid_255_bytes_ok", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: strings.Repeat("é", 127) + "u", Index: 0, Total: 1, Data: []byte("ok")}), 201)
			s.checkContent(id, []byte("ok"))
		})
		t.Run("total_mismatch_bad_request", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 0, Total: 3, Data: []byte("a")}), 200)
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 1, Total: 4, Data: []byte("b")}), 400, "dztotalchunks")
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 1, Total: 2, Data: []byte("b")}), 400, "dztotalchunks")
			// Total 2 and index 1 would "complete" a 2-chunk upload: it must not.
			if s.getShare(id).Initialized {
				t.Fatal("a mismatched chunk completed the upload")
			}
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 1, Total: 3, Data: []byte("b")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 2, Total: 3, Data: []byte("c")}), 201)
			s.checkContent(id, []byte("abc"))
		})
		for _, tc := range []struct{ name, ct, body string }{
			{"json", "application/json", `{"dzuuid":"u"}`},
			{"text", "text/plain", "hello"},
			{"form_urlencoded", "application/x-www-form-urlencoded", "dzuuid=u&dzchunkindex=0&dztotalchunks=1"},
			{"multipart_without_boundary", "multipart/form-data", "--x\r\n"},
			{"multipart_garbage", "multipart/form-data; boundary=xyz", "this is not multipart at all"},
			{"multipart_truncated", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"dzuuid\"\r\n\r\nu"},
			{"no_content_type", "", "hello"},
			{"empty_body", "multipart/form-data; boundary=xyz", ""},
		} {
			t.Run("non_multipart_"+tc.name+"_bad_request", func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, "f.bin")
				r, err := s.try("POST", "/files/"+id+"/content", s.admin, tc.ct, []byte(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				expect(t, r, 400)
			})
			t.Run("non_multipart_"+tc.name+"_missing_share_not_found", func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				for _, m := range []string{"POST", "PUT"} {
					r, err := s.try(m, "/files/"+missingID()+"/content", s.admin, tc.ct, []byte(tc.body))
					if err != nil {
						t.Fatal(err)
					}
					if r.Status != 404 {
						t.Errorf("%s → %d, want 404: %s", m, r.Status, r.Body)
					}
				}
			})
		}
		t.Run("other_methods_not_allowed", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			for _, m := range []string{"PATCH", "DELETE"} {
				r := s.req(m, "/files/"+id+"/content", s.admin, nil)
				expect(t, r, 405)
				if r.Header.Get("Allow") == "" {
					t.Errorf("%s: 405 without Allow", m)
				}
			}
		})
	})
}

// TestUploadDzuuidPaths: dzuuid is never a file path.
func TestUploadDzuuidPaths(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		marker := "escape-" + randHex(6)
		parent := filepath.Dir(s.Cfg.DataDir) // this test's own temporary root
		uuids := []string{
			"../../" + marker,
			"../../../../../../../../../../tmp/" + marker,
			"/tmp/" + marker,
			"/",
			".",
			"..",
			"chunks",
			"../sachet.db",
			"..\\..\\" + marker,
			"日本語のアップロード",
			"nul\x00byte",
			"new\nline",
			"%2e%2e%2f" + marker,
			strings.Repeat("../", 85),
		}
		data := randBytes(2500)
		for i, u := range uuids {
			t.Run(fmt.Sprintf("dzuuid_%d_works", i), func(t *testing.T) {
				s := s.on(t)
				id := s.newShare(s.admin, "f.bin")
				s.uploadAs("POST", id, s.admin, u, data, 1000, []int{2, 0, 1})
				s.checkContent(id, data)
			})
		}
		t.Run("nothing_outside_the_data_dir", func(t *testing.T) {
			for _, p := range filesUnder(t, parent) {
				if strings.Contains(p, marker) {
					t.Errorf("file %s created from a dzuuid", p)
				}
				if !strings.HasPrefix(p, s.Cfg.DataDir+string(filepath.Separator)) {
					t.Errorf("file %s created outside the data dir %s", p, s.Cfg.DataDir)
				}
			}
			bases := []string{s.Cfg.DataDir}
			for _, d := range []string{"", "chunks", "tmp", "blobs"} {
				bases = append(bases, filepath.Join(s.Cfg.DataDir, "blobs", d))
			}
			for _, u := range uuids {
				if !strings.Contains(u, marker) {
					continue
				}
				for _, b := range append(bases, "/") {
					if p := filepath.Join(b, u); !strings.HasPrefix(p, s.Cfg.DataDir) {
						if _, err := os.Stat(p); err == nil {
							t.Errorf("%s was created", p)
						}
					}
				}
			}
			if _, err := os.Stat(filepath.Join(s.Cfg.DataDir, "sachet.db")); s.Dialect == "sqlite" && err != nil {
				t.Errorf("the database file is gone: %v", err)
			}
		})
		t.Run("blob_files_named_by_server_ids", func(t *testing.T) {
			hexID := regexp.MustCompile(`^[0-9a-f]{32}$`)
			for _, p := range filesUnder(t, filepath.Join(s.Cfg.DataDir, "blobs")) {
				if !hexID.MatchString(filepath.Base(p)) {
					t.Errorf("file %s is not named by a server-chosen id", p)
				}
			}
		})
	})
}

// TestUploadStateOrder: POST 404 → 403 owner → 423 locked/initialized;
// PUT 404 → 423 locked → 403 owner → 423 uninitialized; both before 400.
func TestUploadStateOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		other := s.user("other", "CREATE", "MODIFY", "READ")
		mk := func(owner string, initialized, locked bool) string {
			id := s.newShare(owner, "f.bin")
			if initialized {
				s.uploadAs("POST", id, owner, "init", []byte("old"), 10, nil)
			}
			if locked {
				expect(s.t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
			}
			return id
		}
		var (
			freshMine         = mk(s.admin, false, false)
			freshMineLocked   = mk(s.admin, false, true)
			initMine          = mk(s.admin, true, false)
			initMineLocked    = mk(s.admin, true, true)
			freshTheirs       = mk(other, false, false)
			freshTheirsLocked = mk(other, false, true)
			initTheirs        = mk(other, true, false)
			initTheirsLocked  = mk(other, true, true)
		)
		cases := []struct {
			name   string
			method string
			id     string
			status int
		}{
			{"POST_missing_not_found", "POST", missingID(), 404},
			{"POST_not_owner_forbidden", "POST", freshTheirs, 403},
			{"POST_not_owner_locked_forbidden", "POST", freshTheirsLocked, 403},
			{"POST_not_owner_initialized_forbidden", "POST", initTheirs, 403},
			{"POST_locked", "POST", freshMineLocked, 423},
			{"POST_initialized_locked", "POST", initMine, 423}, // 423: already initialized
			{"POST_initialized_and_locked_locked", "POST", initMineLocked, 423},
			{"PUT_missing_not_found", "PUT", missingID(), 404},
			{"PUT_locked_not_owner_locked", "PUT", initTheirsLocked, 423},
			{"PUT_locked_uninitialized_not_owner_locked", "PUT", freshTheirsLocked, 423},
			{"PUT_locked_owner_locked", "PUT", initMineLocked, 423},
			{"PUT_not_owner_forbidden", "PUT", initTheirs, 403},
			{"PUT_not_owner_uninitialized_forbidden", "PUT", freshTheirs, 403},
			{"PUT_uninitialized_locked", "PUT", freshMine, 423},
			{"PUT_uninitialized_and_locked_locked", "PUT", freshMineLocked, 423},
		}
		badBodies := []struct{ ct, body string }{
			{"text/plain", "nope"},
			{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"dzchunkindex\"\r\n\r\n-1\r\n--b--\r\n"},
		}
		t.Run("cases", func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := s.on(t)
					r := s.sendChunk(tc.method, tc.id, s.admin, chunk{UUID: "x", Index: 0, Total: 1, Data: []byte("new")})
					expect(t, r, tc.status)
					for _, b := range badBodies {
						r, err := s.try(tc.method, "/files/"+tc.id+"/content", s.admin, b.ct, []byte(b.body))
						if err != nil {
							t.Fatal(err)
						}
						if r.Status != tc.status {
							t.Errorf("with body %q: %d, want %d: %s", b.body, r.Status, tc.status, r.Body)
						}
					}
				})
			}
		})
		t.Run("refused_uploads_changed_nothing", func(t *testing.T) {
			s := s.on(t)
			for _, id := range []string{initMine, initMineLocked, initTheirs, initTheirsLocked} {
				s.checkContent(id, []byte("old"))
			}
			for _, id := range []string{freshMine, freshMineLocked, freshTheirs, freshTheirsLocked} {
				if s.getShare(id).Initialized {
					t.Errorf("share %s got initialized", id)
				}
				expect(t, s.content(id, s.admin), 404)
			}
		})
		t.Run("PUT_needs_MODIFY_POST_needs_CREATE", func(t *testing.T) {
			s := s.on(t)
			createOnly := s.user("createonly", "CREATE", "READ")
			modifyOnly := s.user("modifyonly", "MODIFY", "READ")
			a := s.newShare(createOnly, "a.bin")
			// modifyOnly can't create shares; the admin hands one over.
			b := s.newShare(s.admin, "b.bin")
			expect(t, s.req("PATCH", "/files/"+b, s.admin, map[string]any{"owner_name": "modifyonly"}), 200)
			s.uploadAs("POST", a, createOnly, "a", []byte("aaa"), 10, nil)
			expect(t, s.sendChunk("PUT", a, createOnly, chunk{UUID: "a2", Index: 0, Total: 1, Data: []byte("x")}), 403)
			expect(t, s.sendChunk("POST", b, modifyOnly, chunk{UUID: "b", Index: 0, Total: 1, Data: []byte("x")}), 403)
		})
		t.Run("lock_mid_upload_refuses_remaining_chunks", func(t *testing.T) {
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "l", Index: 0, Total: 2, Data: []byte("a")}), 200)
			expect(t, s.req("POST", "/files/"+id+"/lock", s.admin, nil), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "l", Index: 1, Total: 2, Data: []byte("b")}), 423)
			if s.getShare(id).Initialized {
				t.Error("a locked share was initialized")
			}
			expect(t, s.req("POST", "/files/"+id+"/unlock", s.admin, nil), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "l", Index: 1, Total: 2, Data: []byte("b")}), 201)
			s.checkContent(id, []byte("ab"))
		})
	})
}

func TestUploadLimits(t *testing.T) {
	eachDBWith(t, func(c *app.Config) {
		c.MaxChunkSize = 1000
		c.MaxChunks = 3
		c.MaxFileSize = 2500
	}, func(t *testing.T, s *server) {
		t.Run("chunk_of_1000_ok", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			d := randBytes(1000)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "c", Index: 0, Total: 1, Data: d}), 201)
			s.checkContent(id, d)
		})
		t.Run("chunk_of_1001_too_large", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "c", Index: 0, Total: 1, Data: randBytes(1001)}), 413, "1000", "chunk")
			if s.getShare(id).Initialized {
				t.Error("initialized by a refused chunk")
			}
			// The upload can still be finished with a good chunk.
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "c", Index: 0, Total: 1, Data: []byte("fine")}), 201)
			s.checkContent(id, []byte("fine"))
		})
		t.Run("chunk_of_1MiB_too_large", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "c", Index: 0, Total: 1, Data: randBytes(1 << 20)}), 413, "1000")
		})
		t.Run("three_chunks_ok", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			d := randBytes(2400)
			s.uploadAs("POST", id, s.admin, "three", d, 800, nil)
			s.checkContent(id, d)
		})
		t.Run("four_chunks_too_many", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "four", Index: 0, Total: 4, Data: []byte("a")}), 413, "3", "chunks")
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "four", Index: 0, Total: 4, Data: []byte("a"), FileFirst: true}), 413, "3")
		})
		t.Run("file_over_2500_too_large_at_completion", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			d := randBytes(3000)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "big", Index: 0, Total: 3, Data: d[:1000]}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "big", Index: 1, Total: 3, Data: d[1000:2000]}), 200)
			expectMsg(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "big", Index: 2, Total: 3, Data: d[2000:]}), 413, "2500", "file")
			sh := s.getShare(id)
			if sh.Initialized || sh.Size != nil || sh.SHA256 != nil {
				t.Errorf("share after a refused upload: %+v", sh)
			}
			expect(t, s.content(id, s.admin), 404)
			// A file of exactly the limit still fits.
			s.uploadAs("POST", id, s.admin, "fits", d[:2500], 1000, nil)
			s.checkContent(id, d[:2500])
		})
		t.Run("declared_total_file_size_over_limit_too_large", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			r := s.sendChunk("POST", id, s.admin, chunk{UUID: "decl", Index: 0, Total: 3, Data: []byte("a"), Extra: map[string]string{"dztotalfilesize": "3000"}})
			expectMsg(t, r, 413, "2500")
		})
		t.Run("replace_over_limit_keeps_old_content", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			old := randBytes(500)
			s.uploadAs("POST", id, s.admin, "old", old, 1000, nil)
			d := randBytes(3000)
			expect(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "new", Index: 0, Total: 3, Data: d[:1000]}), 200)
			expect(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "new", Index: 2, Total: 3, Data: d[2000:]}), 200)
			expectMsg(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "new", Index: 1, Total: 3, Data: d[1000:2000]}), 413, "2500")
			s.checkContent(id, old)
		})
	})
}

func TestUploadReplace(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("new_bytes_size_and_sha256", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			a, b := randBytes(5000), randBytes(3210)
			s.uploadAs("POST", id, s.admin, "a", a, 1230, nil)
			s.checkContent(id, a)
			etagA := s.content(id, s.admin).Header.Get("ETag")
			s.uploadAs("PUT", id, s.admin, "b", b, 1000, []int{3, 1, 2, 0})
			s.checkContent(id, b)
			if etagB := s.content(id, s.admin).Header.Get("ETag"); etagB == etagA || etagB != `"`+sha256Hex(b)+`"` {
				t.Errorf("ETag after replace %s (before %s)", etagB, etagA)
			}
		})
		t.Run("replaced_twice_and_with_empty", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			s.uploadAs("POST", id, s.admin, "a", []byte("first"), 2, nil)
			s.uploadAs("PUT", id, s.admin, "b", []byte("second"), 2, nil)
			s.uploadAs("PUT", id, s.admin, "c", []byte{}, 2, nil)
			s.checkContent(id, []byte{})
			s.uploadAs("PUT", id, s.admin, "c", []byte("again with the same dzuuid"), 5, nil)
			s.checkContent(id, []byte("again with the same dzuuid"))
		})
		t.Run("unfinished_replace_keeps_old_content", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			s.uploadAs("POST", id, s.admin, "a", []byte("old content"), 4, nil)
			expect(t, s.sendChunk("PUT", id, s.admin, chunk{UUID: "b", Index: 0, Total: 2, Data: []byte("NEW")}), 200)
			s.checkContent(id, []byte("old content"))
		})
		t.Run("metadata_kept", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "keep.txt")
			before := s.getShare(id)
			s.uploadAs("POST", id, s.admin, "a", []byte("x"), 4, nil)
			s.uploadAs("PUT", id, s.admin, "b", []byte("yy"), 4, nil)
			after := s.getShare(id)
			if after.FileName != "keep.txt" || after.CreateDate != before.CreateDate || after.Locked || after.OwnerName == nil || *after.OwnerName != "admin" {
				t.Errorf("replace changed metadata: before %+v after %+v", before, after)
			}
		})
	})
}

// TestUploadConcurrent: chunks and uploads racing.
func TestUploadConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		t.Run("chunks_of_one_upload_exactly_one_completes", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			for round := 0; round < 3; round++ {
				id := s.newShare(s.admin, "f.bin")
				data := randBytes(8 * 1230)
				c := split(data, 1230)
				statuses := make([]int, len(c))
				bodies := make([]string, len(c))
				errs := make([]error, len(c))
				var wg, ready sync.WaitGroup
				gate := make(chan struct{})
				for i := range c {
					wg.Add(1)
					ready.Add(1)
					go func() {
						defer wg.Done()
						ready.Done()
						<-gate
						r, err := s.tryChunk("POST", id, s.admin, chunk{UUID: "conc", Index: i, Total: len(c), Data: c[i]})
						statuses[i], bodies[i], errs[i] = r.Status, string(r.Body), err
					}()
				}
				ready.Wait()
				close(gate)
				wg.Wait()
				created := 0
				for i, st := range statuses {
					if errs[i] != nil {
						t.Fatalf("chunk %d: %v", i, errs[i])
					}
					switch st {
					case 201:
						created++
					case 200:
					default:
						t.Errorf("chunk %d of 8 sent concurrently: status %d, want 200 or 201: %s", i, st, bodies[i])
					}
				}
				if created != 1 {
					t.Errorf("round %d: %d chunks got 201, want exactly 1 (%v)", round, created, statuses)
				}
				s.checkContent(id, data)
			}
		})
		t.Run("resent_chunks_concurrently", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			data := randBytes(4 * 1000)
			c := split(data, 1000)
			var wg sync.WaitGroup
			var mu sync.Mutex
			created := 0
			for k := 0; k < 12; k++ {
				i := k % 4
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := s.tryChunk("POST", id, s.admin, chunk{UUID: "again", Index: i, Total: 4, Data: c[i]})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						t.Errorf("chunk %d: %v", i, err)
					case r.Status == 201:
						created++
					case r.Status == 200:
					case r.Status == 423: // after completion: already initialized
					default:
						t.Errorf("chunk %d: %d %s", i, r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
			if created != 1 {
				t.Errorf("%d completions, want 1", created)
			}
			s.checkContent(id, data)
		})
		t.Run("eight_shares_at_once", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			ids := make([]string, 8)
			datas := make([][]byte, 8)
			for i := range ids {
				ids[i] = s.newShare(s.admin, fmt.Sprintf("f%d.bin", i))
				datas[i] = randBytes(4000 + i*100)
			}
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := split(datas[i], 1000)
					for k := range c {
						want := 200
						if k == len(c)-1 {
							want = 201
						}
						r, err := s.tryChunk("POST", ids[i], s.admin, chunk{UUID: "same-dzuuid", Index: k, Total: len(c), Data: c[k]})
						if err != nil || r.Status != want {
							t.Errorf("share %d chunk %d: %d %v %s, want %d", i, k, r.Status, err, r.Body, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			for i := range ids {
				s.checkContent(ids[i], datas[i])
			}
		})
		for _, method := range []string{"POST", "PUT"} {
			t.Run(method+"_two_uploads_racing_one_wins_whole", func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				for round := 0; round < 3; round++ {
					id := s.newShare(s.admin, "race.bin")
					old := []byte("the old content")
					if method == "PUT" {
						s.uploadAs("POST", id, s.admin, "old", old, 100, nil)
					}
					uploads := [][]byte{randBytes(6000), randBytes(5000)}
					completed := make([]bool, 2)
					var wg sync.WaitGroup
					stop := make(chan struct{})
					var readerWG sync.WaitGroup
					readerWG.Add(1)
					go func() { // a reader sees old, A or B whole, never a mixture
						defer readerWG.Done()
						for {
							select {
							case <-stop:
								return
							default:
							}
							r, err := s.try("GET", "/files/"+id+"/content", s.admin, "", nil)
							if err != nil {
								t.Errorf("reader: %v", err)
								return
							}
							if r.Status == 404 && method == "POST" {
								continue
							}
							if r.Status != 200 {
								t.Errorf("reader: %d", r.Status)
								return
							}
							if !bytes.Equal(r.Body, old) && !bytes.Equal(r.Body, uploads[0]) && !bytes.Equal(r.Body, uploads[1]) {
								t.Errorf("reader saw %d bytes that are none of the uploads", len(r.Body))
								return
							}
						}
					}()
					for u := range uploads {
						wg.Add(1)
						go func() {
							defer wg.Done()
							c := split(uploads[u], 1000)
							for k := range c {
								r, err := s.tryChunk(method, id, s.admin, chunk{UUID: fmt.Sprintf("racer-%d", u), Index: k, Total: len(c), Data: c[k]})
								if err != nil {
									t.Errorf("upload %d: %v", u, err)
									return
								}
								switch {
								case r.Status == 201 && k == len(c)-1:
									completed[u] = true
								case r.Status == 200 && k < len(c)-1:
								case r.Status == 423 && method == "POST":
									return // the other upload initialized the share first
								default:
									t.Errorf("upload %d chunk %d: %d %s", u, k, r.Status, r.Body)
									return
								}
							}
						}()
					}
					wg.Wait()
					close(stop)
					readerWG.Wait()
					r := expect(t, s.content(id, s.admin), 200)
					switch {
					case bytes.Equal(r.Body, uploads[0]) && completed[0]:
					case bytes.Equal(r.Body, uploads[1]) && completed[1]:
					default:
						t.Errorf("final content (%d bytes) is not a completed upload whole (completed %v)", len(r.Body), completed)
					}
					if method == "PUT" && (!completed[0] || !completed[1]) {
						t.Errorf("both replacements should complete: %v", completed)
					}
					sh := s.getShare(id)
					if sh.SHA256 == nil || *sh.SHA256 != sha256Hex(r.Body) || sh.Size == nil || *sh.Size != int64(len(r.Body)) {
						t.Errorf("metadata does not match the content: size %v sha %s", sh.Size, strp(sh.SHA256))
					}
				}
			})
		}
	})
}

// TestUploadLeavesNoFiles: completed uploads leave no chunk or temporary
// files; deleting a share removes its content and unfinished uploads.
func TestUploadLeavesNoFiles(t *testing.T) {
	skipOnS3(t, "counts files in the data dir; TestS3LeavesNoObjects is its S3 twin")
	eachDB(t, func(t *testing.T, s *server) {
		s = s.on(t)
		root := filepath.Join(s.Cfg.DataDir, "blobs")
		leftovers := func(t *testing.T, dirs ...string) []string {
			var out []string
			for _, d := range dirs {
				out = append(out, filesUnder(t, filepath.Join(root, d))...)
			}
			return out
		}
		var ids []string
		t.Run("completed_uploads_leave_no_chunks", func(t *testing.T) {
			s := s.on(t)
			for i := 0; i < 3; i++ {
				id := s.newShare(s.admin, "f.bin")
				ids = append(ids, id)
				s.uploadAs("POST", id, s.admin, "u", randBytes(5000), 1230, []int{1, 0, 4, 3, 2})
			}
			// Re-sent chunks and replacements too.
			c := split(randBytes(3000), 1000)
			for _, i := range []int{0, 0, 1, 1} {
				expect(t, s.sendChunk("PUT", ids[0], s.admin, chunk{UUID: "r", Index: i, Total: 3, Data: c[i]}), 200)
			}
			expect(t, s.sendChunk("PUT", ids[0], s.admin, chunk{UUID: "r", Index: 2, Total: 3, Data: c[2]}), 201)
			s.uploadAs("PUT", ids[1], s.admin, "r2", randBytes(10), 3, nil)
			if l := leftovers(t, "chunks", "tmp", "assembly"); len(l) != 0 {
				t.Errorf("files left after completed uploads: %v", l)
			}
			if n := len(leftovers(t, "blobs")); n != len(ids) {
				t.Errorf("%d content files for %d initialized shares (replaced content not removed?)", n, len(ids))
			}
		})
		t.Run("refused_chunks_leave_nothing", func(t *testing.T) {
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			ids = append(ids, id)
			expect(t, s.sendParts("POST", id, s.admin, part{name: "upload", value: "data first", file: true}, part{name: "dzchunkindex", value: "x"}), 400)
			expect(t, s.sendParts("POST", id, s.admin, part{name: "dzuuid", value: "u"}, part{name: "upload", value: "no index", file: true}), 400)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 0, Total: 2, Data: []byte("a")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "m", Index: 1, Total: 3, Data: []byte("b")}), 400)
			// The accepted chunk came in order: it is in the upload's
			// assembly file rather than a chunk file.
			if l := leftovers(t, "chunks", "tmp", "assembly"); len(l) != 1 {
				t.Errorf("want exactly the one accepted chunk, found %v", l)
			}
		})
		t.Run("delete_mid_upload_removes_its_chunks", func(t *testing.T) {
			s := s.on(t)
			id := s.newShare(s.admin, "f.bin")
			// Each upload's in-order chunks share its assembly file: mid's
			// chunk 0 and other's chunk 0 are in one each, mid's chunk 2
			// in a chunk file.
			before := len(leftovers(t, "chunks", "assembly"))
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "mid", Index: 0, Total: 3, Data: []byte("aaa")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "mid", Index: 2, Total: 3, Data: []byte("ccc")}), 200)
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "other", Index: 0, Total: 2, Data: []byte("zzz")}), 200)
			if n := len(leftovers(t, "chunks", "assembly")); n != before+3 {
				t.Errorf("%d chunk files, want %d", n, before+3)
			}
			expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
			if n := len(leftovers(t, "chunks", "assembly")); n != before {
				t.Errorf("%d chunk files after DELETE, want %d", n, before)
			}
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "mid", Index: 1, Total: 3, Data: []byte("bbb")}), 404)
		})
		t.Run("deleting_everything_leaves_no_files", func(t *testing.T) {
			s := s.on(t)
			for _, id := range ids {
				expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
			}
			if l := leftovers(t, "chunks", "tmp", "blobs", "assembly"); len(l) != 0 {
				t.Errorf("files left after deleting every share: %v", l)
			}
		})
	})
}
