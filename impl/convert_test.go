package impl

import (
	"testing"

	"github.com/oapi-codegen/nullable"
)

func TestPageLinks(t *testing.T) {
	none := -1
	tests := []struct {
		name              string
		page, per, total  int
		pages, next, prev int
	}{
		{"NoItems", 1, 15, 0, 0, none, none},
		{"OnePage", 1, 15, 3, 1, none, none},
		{"FirstOfThree", 1, 3, 7, 3, 2, none},
		{"MiddleOfThree", 2, 3, 7, 3, 3, 1},
		{"LastOfThree", 3, 3, 7, 3, none, 2},
		{"PastTheEnd", 9, 3, 7, 3, none, 3},
		{"PastTheEndOfNothing", 2, 15, 0, 0, none, none},
		{"ExactMultiple", 2, 5, 10, 2, none, 1},
	}
	val := func(n nullable.Nullable[int]) int {
		if n.IsNull() {
			return none
		}
		v, _ := n.Get()
		return v
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, next, prev := page{tt.page, tt.per}.links(tt.total)
			if pages != tt.pages || val(next) != tt.next || val(prev) != tt.prev {
				t.Errorf("links = pages %d next %d prev %d; want %d %d %d", pages, val(next), val(prev), tt.pages, tt.next, tt.prev)
			}
		})
	}
}

func TestLimitOffsetNoOverflow(t *testing.T) {
	_, off := page{number: 1<<31 - 1, size: 100}.limitOffset()
	if off < 0 {
		t.Fatalf("offset overflowed: %d", off)
	}
}

func TestCanonicalShareID(t *testing.T) {
	for _, id := range []string{
		"9AE90F06-A751-409C-A9FE-8277575B9914",
		"9ae90f06a751409ca9fe8277575b9914",
		"{9ae90f06-a751-409c-a9fe-8277575b9914}",
		"urn:uuid:9ae90f06-a751-409c-a9fe-8277575b9914",
		"../etc/passwd",
		"",
	} {
		if _, err := canonicalShareID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
	if _, err := canonicalShareID("9ae90f06-a751-409c-a9fe-8277575b9914"); err != nil {
		t.Error(err)
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ name, in, want string }{
		// An RFC 9110 token goes bare, exactly as the reference server sends it.
		{"TokenBare", "notes.txt", `inline; filename=notes.txt`},
		{"TokenAllTchars", "a!#$%&'*+-.^_`|~9Z", "inline; filename=a!#$%&'*+-.^_`|~9Z"},
		{"SpaceQuoted", "my notes.txt", `inline; filename="my notes.txt"`},
		{"SeparatorsQuoted", "a;b,c=d(e)[f]{g}@h:i?j.txt", `inline; filename="a;b,c=d(e)[f]{g}@h:i?j.txt"`},
		{"QuoteEscaped", `a "b".txt`, `inline; filename="a \"b\".txt"`},
		{"BackslashEscaped", `a\b.txt`, `inline; filename="a\\b.txt"`},
		{"NonASCII", "naïve.txt", `inline; filename="na_ve.txt"; filename*=UTF-8''na%C3%AFve.txt`},
		{"NonASCIIWithSpace", "日本 語.txt", `inline; filename="__ _.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%E8%AA%9E.txt`},
		// Control characters never reach the header.
		{"ControlsDropped", "a\x00b\tc\r\nd\x7fe\u0085f.txt", `inline; filename=abcdef.txt`},
		{"HeaderInjection", "x.txt\r\nSet-Cookie: a=b", `inline; filename="x.txtSet-Cookie: a=b"`},
		// Nor do bidirectional controls, which make "txt.exe" read "exe.txt".
		{"RLOverrideDropped", "invoice\u202Etxt.exe", `inline; filename=invoicetxt.exe`},
		{"EveryBidiControlDropped", "a\u202Ab\u202Bc\u202Cd\u202De\u202Ef\u2066g\u2067h\u2068i\u2069j\u200Ek\u200Fl\u061Cm", `inline; filename=abcdefghijklm`},
		{"BidiInNonASCII", "é\u202E.txt", `inline; filename="_.txt"; filename*=UTF-8''%C3%A9.txt`},
		{"OnlyControlsFallsBack", "\u202E\x01", `inline; filename=download`},
		{"InvalidUTF8", "a\xffb.txt", `inline; filename="a_b.txt"; filename*=UTF-8''a%EF%BF%BDb.txt`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := contentDisposition(tt.in)
			if got != tt.want {
				t.Errorf("contentDisposition(%q) = %s, want %s", tt.in, got, tt.want)
			}
			for _, r := range got {
				if r < 0x20 || r >= 0x7f {
					t.Errorf("header value %q has %U", got, r)
				}
			}
		})
	}
}

func TestRFC5987EncodesNonAttrChars(t *testing.T) {
	if got, want := rfc5987("a b'(c)*;é"), "a%20b%27%28c%29%2A%3B%C3%A9"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
