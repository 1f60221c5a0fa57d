package tests

// Bounded uploads (issue 10): multipart bodies cannot make the server
// buffer large part headers or many parts, and each user keeps a bounded
// number of unfinished uploads.

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/sachet-server/sachet/app"
)

// bdForm is a chunk body with extra parts and an optional padded header
// on the first field, built by hand where chunk.form cannot.
func bdForm(t testing.TB, uuid string, extraParts, headerPad int) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="dzuuid"`)
	if headerPad > 0 {
		h.Set("X-Pad", strings.Repeat("h", headerPad))
	}
	pw, _ := w.CreatePart(h)
	pw.Write([]byte(uuid))
	w.WriteField("dzchunkindex", "0")
	w.WriteField("dztotalchunks", "1")
	for i := range extraParts {
		w.WriteField("dzchunksize", fmt.Sprint(i+1))
	}
	fw, _ := w.CreateFormFile("upload", "blob")
	fw.Write([]byte("hello"))
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func TestBoundedMultipart(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		tok := s.user("ann", "CREATE", "READ")
		cases := []struct {
			name        string
			token       string
			extra, pad  int
			want        int
			wantMessage string
			missing     bool // address a share that does not exist
		}{
			// 4 parts + 12 = 16: the limit itself is fine.
			{"sixteen parts", tok, 12, 0, 201, "", false},
			{"seventeen parts", tok, 13, 0, 400, "more than 16 parts", false},
			{"thousands of parts", tok, 5000, 0, 400, "more than 16 parts", false},
			{"header at 15 KiB", tok, 0, 15 << 10, 201, "", false},
			{"header over 16 KiB", tok, 0, 17 << 10, 400, "headers exceed the 16384-byte limit", false},
			{"megabytes of header", tok, 0, 4 << 20, 400, "headers exceed the 16384-byte limit", false},
			// The body is judged last: no token, no permission → 401.
			{"anonymous, too many parts", "", 5000, 0, 401, "", false},
			{"missing share, too many parts", tok, 5000, 0, 404, "", true},
			{"missing share, header too large", tok, 0, 1 << 20, 404, "", true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := s.newShare(tok, "f.txt")
				if c.missing {
					id = "0b6f4b1e-5d43-4c1e-9a57-3f0d7e0c2a11"
				}
				ct, body := bdForm(t, "u-"+c.name, c.extra, c.pad)
				r := expect(t, s.req("POST", "/files/"+id+"/content", c.token, body, "Content-Type", ct), c.want)
				if !strings.Contains(r.Message(), c.wantMessage) {
					t.Fatalf("message %q, want it to say %q", r.Message(), c.wantMessage)
				}
				if c.want == 201 {
					if got := s.content(id, tok); got.Status != 200 || string(got.Body) != "hello" {
						t.Fatalf("content: %d %q", got.Status, got.Body)
					}
				}
			})
		}
	})
}

// Each owner keeps at most MaxOpenUploads unfinished uploads; a chunk that
// would start one more is 429, chunks of started uploads go on, and a
// finished upload frees its slot. Anonymous users share one budget.
func TestBoundedOpenUploads(t *testing.T) {
	const limit = 3
	eachDBWith(t, func(c *app.Config) { c.MaxOpenUploads = limit }, func(t *testing.T, s *server) {
		ann := s.user("ann", "CREATE", "READ")
		bob := s.user("bob", "CREATE", "READ")
		first := func(tok, id, uuid string, fileFirst bool) reply {
			return s.sendChunk("POST", id, tok, chunk{UUID: uuid, Index: 0, Total: 2, Data: []byte("ab"), FileFirst: fileFirst})
		}
		var ids []string
		for range limit {
			id := s.newShare(ann, "f.txt")
			ids = append(ids, id)
			expect(t, first(ann, id, "u", false), 200)
		}
		// Two uploads on one share count as two.
		expect(t, first(ann, ids[0], "second", false), 429)
		extra := s.newShare(ann, "g.txt")
		for _, fileFirst := range []bool{false, true} {
			r := expect(t, first(ann, extra, "u", fileFirst), 429)
			if !strings.Contains(r.Message(), fmt.Sprintf(`user "ann" already has %d unfinished uploads`, limit)) {
				t.Fatalf("message %q", r.Message())
			}
		}
		// Another user has a budget of their own.
		expect(t, first(bob, s.newShare(bob, "b.txt"), "u", false), 200)
		// A started upload goes on; finishing it frees a slot.
		expect(t, s.sendChunk("POST", ids[0], ann, chunk{UUID: "u", Index: 1, Total: 2, Data: []byte("cd")}), 201)
		expect(t, first(ann, extra, "u", false), 200)
		expect(t, first(ann, s.newShare(ann, "h.txt"), "u", false), 429)
		if got := s.content(ids[0], ann); string(got.Body) != "abcd" {
			t.Fatalf("content %q", got.Body)
		}
		// The refusals left no file behind.
		obNoStrayFiles(t, s)

		// Anonymous users share one budget.
		s.setAnon("CREATE")
		for i := range limit + 1 {
			want := 200
			if i == limit {
				want = 429
			}
			r := expect(t, first("", s.newShare("", "a.txt"), "u", false), want)
			if want == 429 && !strings.Contains(r.Message(), "anonymous users already have") {
				t.Fatalf("message %q", r.Message())
			}
		}

		// Parallel creations count one after another: exactly the limit
		// succeed.
		carl := s.user("carl", "CREATE", "READ")
		const n = 12
		shares := make([]string, n)
		for i := range shares {
			shares[i] = s.newShare(carl, "p.txt")
		}
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { codes[i] = first(carl, shares[i], "u", false).Status })
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 429:
			default:
				t.Errorf("parallel creation answered %d", c)
			}
		}
		if ok != limit {
			t.Fatalf("%d of %d parallel new uploads accepted, want %d: %v", ok, n, limit, codes)
		}
	})
}

// The default configuration has a finite file size limit: 64 GiB.
func TestBoundedDefaultFileSize(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		if s.Cfg.MaxFileSize != 64<<30 {
			t.Fatalf("default MaxFileSize %d, want 64 GiB", s.Cfg.MaxFileSize)
		}
		tok := s.user("ann", "CREATE", "READ")
		id := s.newShare(tok, "big.bin")
		// The first chunk of a consistent Dropzone upload of 100 000 chunks
		// of 687 195 bytes: 68 719 500 000 bytes, just over 64 GiB.
		const size, n = 687195, 100000
		r := expect(t, s.sendChunk("POST", id, tok, chunk{UUID: "u", Index: 0, Total: n, Data: make([]byte, size),
			Extra: map[string]string{"dzchunksize": fmt.Sprint(size), "dzchunkbyteoffset": "0",
				"dztotalfilesize": fmt.Sprint(size * n)}}), 413)
		if !strings.Contains(r.Message(), "68719476736") {
			t.Fatalf("message %q does not name the limit", r.Message())
		}
	})
}
