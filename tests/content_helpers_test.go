package tests

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
)

// chunk is one Dropzone-style chunk request.
type chunk struct {
	UUID  string
	Index int
	Total int
	Data  []byte
	// Extra form fields, sent before the file part, e.g. dzchunksize.
	Extra map[string]string
	// FileFirst sends the upload part before the fields.
	FileFirst bool
}

// form builds the multipart body of a chunk.
func (c chunk) form() (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	file := func() {
		fw, _ := w.CreateFormFile("upload", "blob")
		fw.Write(c.Data)
	}
	if c.FileFirst {
		file()
	}
	w.WriteField("dzuuid", c.UUID)
	w.WriteField("dzchunkindex", fmt.Sprint(c.Index))
	w.WriteField("dztotalchunks", fmt.Sprint(c.Total))
	for k, v := range c.Extra {
		w.WriteField(k, v)
	}
	if !c.FileFirst {
		file()
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// sendChunk POSTs (or PUTs, with replace) one chunk to a share's content.
func (s *server) sendChunk(method, shareID, token string, c chunk) reply {
	s.t.Helper()
	ct, body := c.form()
	return s.req(method, "/files/"+shareID+"/content", token, body, "Content-Type", ct)
}

// newShare creates a share and returns its id.
func (s *server) newShare(token, name string) string {
	s.t.Helper()
	var body any
	if name != "" {
		body = map[string]string{"file_name": name}
	}
	r := expect(s.t, s.req("POST", "/files", token, body), 201)
	url, _ := r.JSON(s.t)["url"].(string)
	if !strings.HasPrefix(url, "/files/") || r.Header.Get("Location") != url {
		s.t.Fatalf("bad url %q / Location %q", url, r.Header.Get("Location"))
	}
	return strings.TrimPrefix(url, "/files/")
}

// upload sends data in chunks of size n (in order) and expects 200s then a 201.
func (s *server) upload(method, shareID, token string, data []byte, n int) {
	s.t.Helper()
	total := (len(data) + n - 1) / n
	if total == 0 {
		total = 1
	}
	id := fmt.Sprintf("up-%s-%d", shareID, len(data))
	for i := 0; i < total; i++ {
		end := min((i+1)*n, len(data))
		want := http.StatusOK
		if i == total-1 {
			want = http.StatusCreated
		}
		r := s.sendChunk(method, shareID, token, chunk{UUID: id, Index: i, Total: total, Data: data[min(i*n, len(data)):end]})
		expect(s.t, r, want)
	}
}

// content downloads a share's content.
func (s *server) content(shareID, token string, headers ...string) reply {
	s.t.Helper()
	return s.req("GET", "/files/"+shareID+"/content", token, nil, headers...)
}
