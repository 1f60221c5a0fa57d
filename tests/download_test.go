package tests

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rangeCase is one Range request against a 4000-byte file.
type rangeCase struct {
	name   string
	header string
	status int
	// for a single 206: the served bytes [from, to]
	from, to int
	// for multipart/byteranges: the parts
	parts [][2]int
}

const fileSize = 4000

var rangeCases = []rangeCase{
	{name: "first_two_bytes", header: "bytes=0-1", status: 206, from: 0, to: 1},
	{name: "one_byte", header: "bytes=1-1", status: 206, from: 1, to: 1},
	{name: "middle", header: "bytes=2-300", status: 206, from: 2, to: 300},
	{name: "reversed_unsatisfiable", header: "bytes=300-30", status: 416},
	{name: "small", header: "bytes=3-4", status: 206, from: 3, to: 4},
	{name: "to_last_byte", header: "bytes=30-3999", status: 206, from: 30, to: 3999},
	{name: "start_at_size_unsatisfiable", header: "bytes=4000-4000", status: 416},
	{name: "end_past_size_clipped", header: "bytes=3999-39999", status: 206, from: 3999, to: 3999},
	{name: "start_past_size_reversed_unsatisfiable", header: "bytes=40000-0", status: 416},
	{name: "start_far_past_size_unsatisfiable", header: "bytes=48000-9", status: 416},
	{name: "negative_suffix_range_unsatisfiable", header: "bytes=-1-0", status: 416},
	{name: "suffix_with_end_unsatisfiable", header: "bytes=-2-3", status: 416},
	{name: "whole_by_bounds", header: "bytes=0-4000", status: 206, from: 0, to: 3999},
	{name: "whole_open_ended", header: "bytes=0-", status: 206, from: 0, to: 3999},
	{name: "open_ended_tail", header: "bytes=3990-", status: 206, from: 3990, to: 3999},
	{name: "suffix_longer_than_file_whole", header: "bytes=-5000", status: 206, from: 0, to: 3999},
	{name: "suffix_last_10", header: "bytes=-10", status: 206, from: 3990, to: 3999},
	{name: "suffix_last_byte", header: "bytes=-1", status: 206, from: 3999, to: 3999},
	{name: "suffix_beyond_int64_whole", header: "bytes=-99999999999999999999", status: 206, from: 0, to: 3999},
	{name: "suffix_zero_unsatisfiable", header: "bytes=-0", status: 416},
	{name: "start_beyond_int64_unsatisfiable", header: "bytes=99999999999999999999-", status: 416},
	{name: "garbage_unsatisfiable", header: "bytes=abc-def", status: 416},
	{name: "other_unit_ignored", header: "items=0-5", status: 200},
	{name: "unit_case_insensitive", header: "Bytes=0-1", status: 206, from: 0, to: 1},
	{name: "multi_range", header: "bytes=0-9,20-29", status: 206, parts: [][2]int{{0, 9}, {20, 29}}},
	{name: "multi_range_spaces", header: "bytes=0-9, 100-109, -5", status: 206, parts: [][2]int{{0, 9}, {100, 109}, {3995, 3999}}},
	{name: "multi_range_one_unsatisfiable_part_dropped", header: "bytes=5000-6000,0-1", status: 206, from: 0, to: 1},
	{name: "multi_range_empty_suffix_dropped", header: "bytes=-0,0-9", status: 206, from: 0, to: 9},
	{name: "multi_range_empty_elements", header: "bytes=,0-1,", status: 206, from: 0, to: 1},
	{name: "multi_range_all_unsatisfiable", header: "bytes=5000-6000,4000-", status: 416},
}

// checkRange checks a reply to a Range request against data.
func checkRange(t testing.TB, data []byte, tc rangeCase, r reply, head bool) {
	t.Helper()
	if r.Status != tc.status {
		t.Fatalf("Range %q → %d, want %d; Content-Range %q; body %.100q", tc.header, r.Status, tc.status, r.Header.Get("Content-Range"), r.Body)
	}
	size := len(data)
	switch {
	case tc.status == 416:
		if cr := r.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", size) {
			t.Errorf("416 Content-Range %q, want %q", cr, fmt.Sprintf("bytes */%d", size))
		}
	case tc.status == 200:
		if cr := r.Header.Get("Content-Range"); cr != "" {
			t.Errorf("200 with Content-Range %q", cr)
		}
		if r.Header.Get("Content-Length") != strconv.Itoa(size) {
			t.Errorf("Content-Length %q, want %d", r.Header.Get("Content-Length"), size)
		}
		if !head && !bytes.Equal(r.Body, data) {
			t.Errorf("200 body is %d bytes, not the whole file", len(r.Body))
		}
	case tc.parts == nil && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges"):
		// One range served as a one-part multipart/byteranges is fine too.
		tc.parts = [][2]int{{tc.from, tc.to}}
		checkRange(t, data, tc, r, head)
	case tc.parts == nil:
		want := fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to, size)
		if cr := r.Header.Get("Content-Range"); cr != want {
			t.Errorf("Content-Range %q, want %q", cr, want)
		}
		if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(tc.to-tc.from+1) {
			t.Errorf("Content-Length %q, want %d", cl, tc.to-tc.from+1)
		}
		if !head && !bytes.Equal(r.Body, data[tc.from:tc.to+1]) {
			t.Errorf("206 body: %d bytes that are not bytes %d-%d", len(r.Body), tc.from, tc.to)
		}
	default:
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
			t.Fatalf("Content-Type %q, want multipart/byteranges with a boundary", r.Header.Get("Content-Type"))
		}
		if cl := r.Header.Get("Content-Length"); !head && cl != strconv.Itoa(len(r.Body)) {
			t.Errorf("Content-Length %q for a %d-byte body", cl, len(r.Body))
		}
		if head {
			return
		}
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				if i != len(tc.parts) {
					t.Errorf("%d parts, want %d", i, len(tc.parts))
				}
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			if i >= len(tc.parts) {
				t.Fatalf("more than %d parts", len(tc.parts))
			}
			want := tc.parts[i]
			if cr := p.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", want[0], want[1], size) {
				t.Errorf("part %d Content-Range %q, want bytes %d-%d/%d", i, cr, want[0], want[1], size)
			}
			got, _ := io.ReadAll(p)
			if !bytes.Equal(got, data[want[0]:want[1]+1]) {
				t.Errorf("part %d: %d bytes that are not bytes %d-%d", i, len(got), want[0], want[1])
			}
		}
	}
}

func TestDownloadRange(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		data := randBytes(fileSize)
		id := s.newShare(s.admin, "data.bin")
		s.upload("POST", id, s.admin, data, 1230)
		for _, tc := range rangeCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				checkRange(t, data, tc, s.content(id, s.admin, "Range", tc.header), false)
			})
			t.Run("HEAD_"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				r := s.req("HEAD", "/files/"+id+"/content", s.admin, nil, "Range", tc.header)
				if len(r.Body) != 0 {
					t.Errorf("HEAD with a body of %d bytes", len(r.Body))
				}
				checkRange(t, data, tc, r, true)
			})
		}
		t.Run("no_range_whole", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			checkRange(t, data, rangeCase{status: 200}, s.content(id, s.admin), false)
		})
	})
}

func TestDownloadHeaders(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		data := randBytes(fileSize)
		id := s.newShare(s.admin, "data.bin")
		s.upload("POST", id, s.admin, data, 1000)
		t.Run("whole_content_headers", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			r := expect(t, s.content(id, s.admin), 200)
			if !bytes.Equal(r.Body, data) {
				t.Error("body differs")
			}
			want := map[string]string{
				"Content-Length":          "4000",
				"Content-Type":            "application/octet-stream",
				"ETag":                    `"` + sha256Hex(data) + `"`,
				"Accept-Ranges":           "bytes",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "sandbox",
				"Content-Disposition":     `inline; filename=data.bin`,
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
			if err != nil || time.Since(lm) > time.Hour || time.Until(lm) > time.Minute {
				t.Errorf("Last-Modified %q (%v) is not about now", r.Header.Get("Last-Modified"), err)
			}
			if ce := r.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding %q", ce)
			}
		})
		t.Run("never_compressed", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			text := []byte(strings.Repeat("compress me please ", 500))
			tid := s.newShare(s.admin, "big.txt")
			s.upload("POST", tid, s.admin, text, 5000)
			for _, ae := range []string{"gzip", "gzip, deflate, br, zstd", "*"} {
				for _, m := range []string{"GET", "HEAD"} {
					r := expect(t, s.req(m, "/files/"+tid+"/content", s.admin, nil, "Accept-Encoding", ae), 200)
					if ce := r.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
						t.Errorf("%s Accept-Encoding %q: Content-Encoding %q", m, ae, ce)
					}
					if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(text)) {
						t.Errorf("%s Accept-Encoding %q: Content-Length %q, want %d", m, ae, cl, len(text))
					}
					if m == "GET" && !bytes.Equal(r.Body, text) {
						t.Errorf("Accept-Encoding %q: body is not the content", ae)
					}
				}
			}
		})
		t.Run("HEAD_headers_no_body", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			r := expect(t, s.req("HEAD", "/files/"+id+"/content", s.admin, nil), 200)
			if len(r.Body) != 0 {
				t.Errorf("HEAD body of %d bytes", len(r.Body))
			}
			for k, v := range map[string]string{
				"Content-Length": "4000",
				"Content-Type":   "application/octet-stream",
				"ETag":           `"` + sha256Hex(data) + `"`,
				"Accept-Ranges":  "bytes",
			} {
				if got := r.Header.Get(k); got != v {
					t.Errorf("HEAD %s: %q, want %q", k, got, v)
				}
			}
		})
		t.Run("empty_file", func(t *testing.T) {
			t.Parallel()
			s := s.on(t)
			eid := s.newShare(s.admin, "empty.txt")
			s.upload("POST", eid, s.admin, nil, 10)
			r := expect(t, s.content(eid, s.admin), 200)
			if len(r.Body) != 0 || r.Header.Get("Content-Length") != "0" || r.Header.Get("ETag") != `"`+sha256Hex(nil)+`"` {
				t.Errorf("empty file: %d bytes, Content-Length %q, ETag %q", len(r.Body), r.Header.Get("Content-Length"), r.Header.Get("ETag"))
			}
		})
	})
}

func TestDownloadContentType(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		cases := []struct{ name, file, want string }{
			{"txt_is_text_plain_utf8", "notes.txt", "text/plain; charset=utf-8"},
			{"uppercase_extension", "NOTES.TXT", "text/plain; charset=utf-8"},
			{"png", "pic.png", "image/png"},
			{"pdf", "doc.pdf", "application/pdf"},
			{"html_still_served_as_html_but_sandboxed", "page.html", "text/html; charset=utf-8"},
			{"unknown_extension", "data.qqqzz", "application/octet-stream"},
			{"no_extension", "README", "application/octet-stream"},
			{"default_name_is_share_id", "", "application/octet-stream"},
			{"trailing_dot", "file.", "application/octet-stream"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, tc.file)
				s.upload("POST", id, s.admin, []byte("<html><script>alert(1)</script></html>"), 100)
				for _, m := range []string{"GET", "HEAD"} {
					r := expect(t, s.req(m, "/files/"+id+"/content", s.admin, nil), 200)
					if ct := r.Header.Get("Content-Type"); ct != tc.want {
						t.Errorf("%s %s: Content-Type %q, want %q", m, tc.file, ct, tc.want)
					}
					if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") != "sandbox" {
						t.Errorf("%s: missing nosniff/sandbox: %v", m, r.Header)
					}
				}
			})
		}
	})
}

// dispositionToken is an RFC 9110 token (1*tchar).
var dispositionToken = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")

// attrChar is RFC 5987's attr-char.
var attrChar = regexp.MustCompile(`^[A-Za-z0-9!#$&+\-.^_` + "`" + `|~]$`)

func TestDownloadDisposition(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		cases := []struct {
			name, file string
			ascii      bool
			// exact, when set, is the whole header: an RFC 9110 token goes
			// bare, as the reference server sends it.
			exact string
			// served is the name the header carries, when not file.
			served string
		}{
			{name: "plain_token_bare", file: "report.pdf", ascii: true, exact: "inline; filename=report.pdf"},
			{name: "parens_quoted", file: "v1.2_final-(x)", ascii: true},
			{name: "notes_token_bare", file: "notes.txt", ascii: true, exact: "inline; filename=notes.txt"},
			{name: "odd_tchars_bare", file: "a!#$%&'*+^_`|~.z", ascii: true, exact: "inline; filename=a!#$%&'*+^_`|~.z"},
			{name: "spaces", file: "my report 2024.pdf", ascii: true},
			{name: "double_quote", file: `say "hi".txt`, ascii: true},
			{name: "semicolon_and_comma", file: "a;b,c=d.txt", ascii: true},
			{name: "single_quote_percent", file: "it's 100%.txt", ascii: true},
			{name: "non_ascii", file: "naïve файл.txt"},
			{name: "cjk_emoji", file: "日本語 🎉.png"},
			{name: "non_ascii_with_specials", file: "résumé@home:v=2;x,y 'q' (1) [2] {3}.txt"},
			{name: "non_ascii_with_quote", file: `« "quoted" ».txt`},
			// Bidi controls would make "txt.exe" display as "exe.txt": they
			// never reach the header.
			{name: "rlo_dropped", file: "invoice\u202Etxt.exe", ascii: true, exact: "inline; filename=invoicetxt.exe", served: "invoicetxt.exe"},
			{name: "every_bidi_control_dropped", file: "a\u202Ab\u202Bc\u202Cd\u202De\u2066f\u2067g\u2068h\u2069i\u200Ej\u200Fk\u061Cl m", ascii: true, served: "abcdefghijkl m"},
			{name: "bidi_in_non_ascii_dropped", file: "é\u2067x\u2069.txt", served: "éx.txt"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				id := s.newShare(s.admin, tc.file)
				s.upload("POST", id, s.admin, []byte("x"), 10)
				r := expect(t, s.content(id, s.admin), 200)
				cd := r.Header.Get("Content-Disposition")
				for _, c := range []byte(cd) {
					if c < 0x20 || c >= 0x7f {
						t.Fatalf("Content-Disposition %q has byte %#x", cd, c)
					}
				}
				disp, params, err := mime.ParseMediaType(cd)
				if err != nil {
					t.Fatalf("Content-Disposition %q does not parse: %v", cd, err)
				}
				if disp != "inline" {
					t.Errorf("disposition %q, want inline", disp)
				}
				want := tc.file
				if tc.served != "" {
					want = tc.served
				}
				if params["filename"] != want {
					t.Errorf("Content-Disposition %q names %q, want %q", cd, params["filename"], want)
				}
				if tc.exact != "" && cd != tc.exact {
					t.Errorf("Content-Disposition %q, want exactly %q", cd, tc.exact)
				}
				if token := dispositionToken.MatchString(want); token != strings.HasPrefix(cd, "inline; filename="+want) || token == strings.HasPrefix(cd, `inline; filename="`) {
					t.Errorf("Content-Disposition %q: the name must be bare exactly when it is an RFC 9110 token (%v)", cd, token)
				}
				_, ext, hasExt := strings.Cut(cd, "filename*=")
				if tc.ascii && hasExt {
					t.Errorf("ASCII name with filename*: %q", cd)
				}
				if !tc.ascii {
					if !hasExt || !strings.HasPrefix(ext, "UTF-8''") {
						t.Fatalf("non-ASCII name without an RFC 5987 filename*=UTF-8'': %q", cd)
					}
					v, _, _ := strings.Cut(strings.TrimPrefix(ext, "UTF-8''"), ";")
					for i := 0; i < len(v); i++ {
						if v[i] == '%' && i+2 < len(v) {
							i += 2
							continue
						}
						if !attrChar.MatchString(v[i : i+1]) {
							t.Errorf("filename* value %q has %q, not an RFC 5987 attr-char", v, v[i:i+1])
						}
					}
					// The plain filename fallback is ASCII.
					_, fb, _ := strings.Cut(cd, `filename="`)
					for _, c := range []byte(fb) {
						if c >= 0x80 {
							t.Errorf("filename fallback is not ASCII: %q", cd)
							break
						}
					}
				}
			})
		}
	})
}

func TestDownloadConditional(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		data := randBytes(fileSize)
		id := s.newShare(s.admin, "data.bin")
		s.upload("POST", id, s.admin, data, 1230)
		first := expect(t, s.content(id, s.admin), 200)
		etag := first.Header.Get("ETag")
		lm := first.Header.Get("Last-Modified")
		lmTime, err := http.ParseTime(lm)
		if err != nil {
			t.Fatalf("Last-Modified %q: %v", lm, err)
		}
		before := lmTime.Add(-time.Hour).Format(http.TimeFormat)
		after := lmTime.Add(time.Hour).Format(http.TimeFormat)
		whole := rangeCase{status: 200}
		part := rangeCase{header: "bytes=0-9", status: 206, from: 0, to: 9}
		cases := []struct {
			name    string
			headers []string
			status  int
			check   *rangeCase
		}{
			{"if_none_match_etag_not_modified", []string{"If-None-Match", etag}, 304, nil},
			{"if_none_match_in_list_not_modified", []string{"If-None-Match", `"nope", ` + etag}, 304, nil},
			{"if_none_match_star_not_modified", []string{"If-None-Match", "*"}, 304, nil},
			{"if_none_match_weak_not_modified", []string{"If-None-Match", "W/" + etag}, 304, nil},
			{"if_none_match_other_whole", []string{"If-None-Match", `"other"`}, 200, &whole},
			{"if_modified_since_last_modified_not_modified", []string{"If-Modified-Since", lm}, 304, nil},
			{"if_modified_since_later_not_modified", []string{"If-Modified-Since", after}, 304, nil},
			{"if_modified_since_earlier_whole", []string{"If-Modified-Since", before}, 200, &whole},
			{"if_none_match_wins_over_if_modified_since", []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}, 200, &whole},
			{"if_range_etag_partial", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, &part},
			{"if_range_wrong_etag_whole", []string{"Range", "bytes=0-9", "If-Range", `"stale"`}, 200, &whole},
			{"if_range_date_partial", []string{"Range", "bytes=0-9", "If-Range", lm}, 206, &part},
			{"if_range_old_date_whole", []string{"Range", "bytes=0-9", "If-Range", before}, 200, &whole},
			{"if_match_etag_whole", []string{"If-Match", etag}, 200, &whole},
			{"if_match_wrong_precondition_failed", []string{"If-Match", `"stale"`}, 412, nil},
			{"if_unmodified_since_earlier_precondition_failed", []string{"If-Unmodified-Since", before}, 412, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := s.on(t)
				r := s.content(id, s.admin, tc.headers...)
				if r.Status != tc.status {
					t.Fatalf("%v → %d, want %d", tc.headers, r.Status, tc.status)
				}
				if tc.status == 304 {
					if len(r.Body) != 0 {
						t.Errorf("304 with a body")
					}
					if r.Header.Get("ETag") != etag {
						t.Errorf("304 ETag %q, want %q", r.Header.Get("ETag"), etag)
					}
				}
				if tc.check != nil {
					checkRange(t, data, *tc.check, r, false)
				}
				hr := s.req("HEAD", "/files/"+id+"/content", s.admin, nil, tc.headers...)
				if hr.Status != tc.status {
					t.Errorf("HEAD %v → %d, want %d", tc.headers, hr.Status, tc.status)
				}
			})
		}
		t.Run("etag_changes_with_content", func(t *testing.T) {
			s := s.on(t)
			id2 := s.newShare(s.admin, "data2.bin")
			s.upload("POST", id2, s.admin, data, 1230)
			r := expect(t, s.content(id2, s.admin), 200)
			if r.Header.Get("ETag") != etag {
				t.Errorf("same bytes, different ETag: %q vs %q", r.Header.Get("ETag"), etag)
			}
			s.upload("PUT", id2, s.admin, data[:100], 1230)
			expect(t, s.content(id2, s.admin, "If-None-Match", etag), 200)
			r = s.content(id2, s.admin, "Range", "bytes=0-9", "If-Range", etag)
			checkRange(t, data[:100], rangeCase{status: 200}, r, false)
		})
	})
}

func TestDownloadAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		noRead := s.user("noread", permsWithout("READ")...)
		reader := s.user("reader", "READ")
		id := s.newShare(s.admin, "data.bin")
		s.upload("POST", id, s.admin, []byte("secret"), 10)
		empty := s.newShare(s.admin, "empty.bin")
		partial := s.newShare(s.admin, "partial.bin")
		expect(t, s.sendChunk("POST", partial, s.admin, chunk{UUID: "p", Index: 0, Total: 2, Data: []byte("half")}), 200)
		// The parallel cases finish before the anonymous permissions change.
		t.Run("cases", func(t *testing.T) {
			for _, m := range []string{"GET", "HEAD"} {
				cases := []struct {
					name   string
					id     string
					token  string
					status int
				}{
					{"anonymous_unauthorized", id, "", 401},
					{"anonymous_missing_unauthorized", missingID(), "", 401},
					{"without_READ_forbidden", id, noRead, 403},
					{"without_READ_missing_forbidden", missingID(), noRead, 403},
					{"bad_token_unauthorized", id, "garbage", 401},
					{"reader_not_owner_ok", id, reader, 200},
					{"uninitialized_not_found", empty, s.admin, 404},
					{"unfinished_upload_not_found", partial, s.admin, 404},
					{"missing_not_found", missingID(), s.admin, 404},
				}
				for _, tc := range cases {
					t.Run(m+"_"+tc.name, func(t *testing.T) {
						t.Parallel()
						s := s.on(t)
						r := s.req(m, "/files/"+tc.id+"/content", tc.token, nil)
						expect(t, r, tc.status)
						if m == "HEAD" && len(r.Body) != 0 {
							t.Errorf("HEAD with a body")
						}
						if tc.status == 200 && m == "GET" && string(r.Body) != "secret" {
							t.Errorf("body %q", r.Body)
						}
					})
				}
			}
		})
		t.Run("anonymous_with_READ_ok", func(t *testing.T) {
			s := s.on(t)
			s.setAnon("READ")
			r := expect(t, s.content(id, ""), 200)
			if string(r.Body) != "secret" {
				t.Errorf("body %q", r.Body)
			}
			expect(t, s.req("HEAD", "/files/"+id+"/content", "", nil), 200)
		})
	})
}
