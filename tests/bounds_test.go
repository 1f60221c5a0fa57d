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
	"testing"
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
		}{
			// 4 parts + 12 = 16: the limit itself is fine.
			{"sixteen parts", tok, 12, 0, 201, ""},
			{"seventeen parts", tok, 13, 0, 400, "more than 16 parts"},
			{"thousands of parts", tok, 5000, 0, 400, "more than 16 parts"},
			{"header at 15 KiB", tok, 0, 15 << 10, 201, ""},
			{"header over 16 KiB", tok, 0, 17 << 10, 400, "headers exceed the 16384-byte limit"},
			{"megabytes of header", tok, 0, 4 << 20, 400, "headers exceed the 16384-byte limit"},
			// The body is judged last: no token, no permission → 401.
			{"anonymous, too many parts", "", 5000, 0, 401, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := s.newShare(tok, "f.txt")
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
