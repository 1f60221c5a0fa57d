package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzChunkForm sends arbitrary bodies with arbitrary Content-Types to
// POST /files/{id}/content: never a 5xx, always the JSON envelope, and
// only the statuses the contract allows for a share one owns.
func FuzzChunkForm(f *testing.F) {
	seed := func(c chunk) {
		ct, body := c.form()
		f.Add(ct, body)
	}
	seedParts := func(parts ...part) {
		ct, body := multipartBody(parts...)
		f.Add(ct, body)
	}
	seed(chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("hello")})
	seed(chunk{UUID: "u", Index: 0, Total: 2, Data: []byte("hello")})
	seed(chunk{UUID: "u", Index: 1, Total: 2, Data: []byte{}})
	seed(chunk{UUID: "u", Index: 0, Total: 3, Data: []byte("x"), FileFirst: true})
	seed(chunk{UUID: "../../x", Index: 0, Total: 1, Data: []byte("x")})
	seed(chunk{UUID: "日本", Index: 0, Total: 1, Data: []byte("x"), Extra: map[string]string{"dzchunksize": "1", "dztotalfilesize": "1", "dzchunkbyteoffset": "0"}})
	// The optional checksums: right, wrong, malformed, after the file part.
	helloSum := "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	seed(chunk{UUID: "s", Index: 0, Total: 1, Data: []byte("hello"), Extra: map[string]string{"dzchunksha256": helloSum, "dzfilesha256": helloSum}})
	seed(chunk{UUID: "s", Index: 0, Total: 2, Data: []byte("hellp"), Extra: map[string]string{"dzchunksha256": helloSum}})
	seed(chunk{UUID: "s", Index: 0, Total: 1, Data: []byte("hello"), Extra: map[string]string{"dzfilesha256": strings.Repeat("0", 64)}})
	seed(chunk{UUID: "s", Index: 0, Total: 2, Data: []byte("x"), Extra: map[string]string{"dzchunksha256": "xyz"}})
	seed(chunk{UUID: "s", Index: 0, Total: 2, Data: []byte("hello"), FileFirst: true, Extra: map[string]string{"dzchunksha256": helloSum}})
	seed(chunk{UUID: "u", Index: 5, Total: 2, Data: []byte("x")})
	seed(chunk{UUID: "u", Index: -1, Total: 2, Data: []byte("x")})
	seed(chunk{UUID: "u", Index: 0, Total: 0, Data: []byte("x")})
	seed(chunk{UUID: strings.Repeat("u", 300), Index: 0, Total: 1, Data: []byte("x")})
	seedParts(part{name: "dzuuid", value: "u"}, part{name: "dzchunkindex", value: "1.5"}, part{name: "dztotalchunks", value: "2"}, part{name: "upload", value: "x", file: true})
	seedParts(part{name: "dzuuid", value: "u"}, part{name: "dzchunkindex", value: "0"}, part{name: "dztotalchunks", value: "99999999999999999999999"}, part{name: "upload", value: "x", file: true})
	seedParts(part{name: "upload", value: "x", file: true}, part{name: "upload", value: "y", file: true})
	seedParts()
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"dzuuid\"\r\n\r\nu"))
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a\"\r\n\r\ndata"))
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz--\r\n"))
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name*=UTF-8''dzuuid\r\n\r\nu\r\n--xyz--\r\n"))
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--xyz--\r\n"))
	f.Add("multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"dzuuid\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=FF=00\r\n--xyz--\r\n"))
	f.Add("multipart/form-data", []byte("no boundary"))
	f.Add("multipart/form-data; boundary=", []byte("--\r\n"))
	f.Add("multipart/mixed; boundary=xyz", []byte("--xyz--\r\n"))
	f.Add("application/json", []byte(`{"dzuuid":"u"}`))
	f.Add("", []byte{})
	f.Add("text/plain; charset=\x00", []byte("x"))

	s := start(f, "sqlite", nil)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if !validHeaderValue(contentType) {
			t.Skip()
		}
		s := s.on(t)
		s.client.Timeout = 20 * time.Second // a hang is a failure, not a stall
		id := s.newShare(s.admin, "fuzz.bin")
		r, err := s.try("POST", "/files/"+id+"/content", s.admin, contentType, body)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		switch r.Status {
		case 200, 201, 400, 413:
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var env struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(r.Body, &env); err != nil || env.Message == "" {
			t.Fatalf("not the JSON envelope: %q", r.Body)
		}
		if want := map[bool]string{true: "success", false: "fail"}[r.Status < 300]; env.Status != want {
			t.Fatalf("status %d with envelope status %q", r.Status, env.Status)
		}
		sh := s.getShare(id)
		if sh.Initialized != (r.Status == 201) {
			t.Fatalf("status %d but initialized %v", r.Status, sh.Initialized)
		}
		if r.Status == 201 {
			got := expect(t, s.content(id, s.admin), 200)
			if sh.Size == nil || *sh.Size != int64(len(got.Body)) || sh.SHA256 == nil || *sh.SHA256 != sha256Hex(got.Body) {
				t.Fatalf("metadata size %v sha %s does not match the %d-byte content", sh.Size, strp(sh.SHA256), len(got.Body))
			}
		}
	})
}

// FuzzRange sends arbitrary Range headers for a 4000-byte share: 200 with
// the whole file, 206 with exactly the bytes Content-Range names (or a
// multipart/byteranges whose parts do), or 416 with bytes */4000.
func FuzzRange(f *testing.F) {
	for _, tc := range rangeCases {
		f.Add(tc.header, "")
	}
	for _, h := range []string{"bytes=", "bytes=-", "bytes=-0", "bytes=0--1", "bytes=,", "bytes=0-0,0-0,0-0",
		"bytes=1-2,3-4,5-6,7-8,9-10", "bytes=0-3999,0-3999", "bytes= 5 - 6 ", "bytes=18446744073709551616-",
		"bytes=-9223372036854775808", "bytes=9223372036854775807-9223372036854775807", "bytes=0x10-20", "bytes=+1-2", "none", ""} {
		f.Add(h, "")
	}
	f.Add("bytes=0-9", `"etag"`)
	f.Add("bytes=0-9", "Thu, 01 Jan 1970 00:00:00 GMT")

	s := start(f, "sqlite", nil)
	data := randBytes(fileSize)
	id := s.newShare(s.admin, "data.bin")
	s.upload("POST", id, s.admin, data, 1230)
	crRe := regexp.MustCompile(`^bytes (\d+)-(\d+)/4000$`)

	f.Fuzz(func(t *testing.T, rng, ifRange string) {
		if !validHeaderValue(rng) || !validHeaderValue(ifRange) {
			t.Skip()
		}
		s := s.on(t)
		s.client.Timeout = 20 * time.Second
		var headers []string
		if rng != "" {
			headers = append(headers, "Range", rng)
		}
		if ifRange != "" {
			headers = append(headers, "If-Range", ifRange)
		}
		for _, method := range []string{"GET", "HEAD"} {
			r, err := s.try(method, "/files/"+id+"/content", s.admin, "", nil, headers...)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			head := method == "HEAD"
			switch r.Status {
			case 200:
				checkRange(t, data, rangeCase{header: rng, status: 200}, r, head)
			case 416:
				checkRange(t, data, rangeCase{header: rng, status: 416}, r, head)
			case 206:
				if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges") {
					if head {
						continue
					}
					checkMultipartRanges(t, data, r)
					continue
				}
				m := crRe.FindStringSubmatch(r.Header.Get("Content-Range"))
				if m == nil {
					t.Fatalf("%s Range %q: 206 with Content-Range %q", method, rng, r.Header.Get("Content-Range"))
				}
				from, _ := strconv.Atoi(m[1])
				to, _ := strconv.Atoi(m[2])
				if from > to || to >= fileSize {
					t.Fatalf("%s Range %q: Content-Range %q out of bounds", method, rng, r.Header.Get("Content-Range"))
				}
				checkRange(t, data, rangeCase{header: rng, status: 206, from: from, to: to}, r, head)
			default:
				t.Fatalf("%s Range %q If-Range %q → %d, want 200, 206 or 416", method, rng, ifRange, r.Status)
			}
		}
	})
}

// checkMultipartRanges checks every part of a multipart/byteranges reply
// against the bytes its Content-Range names.
func checkMultipartRanges(t *testing.T, data []byte, r reply) {
	t.Helper()
	var parts [][2]int
	crRe := regexp.MustCompile(`Content-Range: bytes (\d+)-(\d+)/4000\r\n`)
	for _, m := range crRe.FindAllStringSubmatch(string(r.Body), -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if a > b || b >= fileSize {
			t.Fatalf("part range %d-%d out of bounds", a, b)
		}
		parts = append(parts, [2]int{a, b})
	}
	if len(parts) < 1 {
		t.Fatalf("multipart/byteranges without parts: %.200q", r.Body)
	}
	checkRange(t, data, rangeCase{header: fmt.Sprint(parts), status: 206, parts: parts}, r, false)
}

// validHeaderValue reports whether net/http will send v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
