// Package mpguard bounds what a multipart body can make mime/multipart
// hold in memory. multipart.Reader reads each part's header block into
// memory, up to 10 MiB and 10 000 headers per part, and reads any number of
// parts: neither bound can be set. A Reader sits between the request body
// and multipart.Reader and fails the body, before those bytes reach the
// parser, when a part's header block or the number of parts exceeds its
// Limits. It copies nothing and keeps a few bytes of state, so it costs a
// byte search per read and no memory.
package mpguard

import (
	"bytes"
	"fmt"
	"io"
)

// Limits are the bounds a Reader enforces.
type Limits struct {
	// MaxHeaderBytes bounds one part's header section: the rest of its
	// delimiter line and its header lines, up to and including the blank
	// line that ends them.
	MaxHeaderBytes int
	// MaxParts bounds the number of parts in one body.
	MaxParts int
}

// Default is generous for every form a real client sends (a Dropzone chunk
// has seven parts whose headers are under 200 bytes each) and keeps a
// hostile body to a few KiB of parser memory.
var Default = Limits{MaxHeaderBytes: 16 << 10, MaxParts: 16}

// Error says which bound a body broke; its text is meant for the client.
type Error struct {
	// What is "parts", "header" or "boundary".
	What  string
	Limit int
}

func (e *Error) Error() string {
	switch e.What {
	case "parts":
		return fmt.Sprintf("the multipart body has more than %d parts", e.Limit)
	case "header":
		return fmt.Sprintf("a multipart part's headers exceed the %d-byte limit", e.Limit)
	}
	return "the multipart boundary is not valid"
}

type state uint8

const (
	inBody   state = iota // the preamble or a part's content: looking for a delimiter
	inHeader              // after a delimiter: counting up to the blank line
)

// Reader passes a multipart body through unchanged and fails it with an
// *Error once it breaks its Limits. Every later Read returns the same error.
//
// It finds delimiters as "--boundary" at the start of the body or after
// any "\n" (mime/multipart accepts both "\r\n" and "\n" line ends), when
// followed by what mime/multipart accepts after one ('-', CR, LF, space,
// tab). So it sees every delimiter the parser sees, and so counts at least
// the parts and header bytes the parser would buffer.
type Reader struct {
	r     io.Reader
	delim []byte // "\n--" + boundary
	lim   Limits

	st      state
	matched int // inBody: bytes of delim matched at the end of what was read so far
	hdr     int // inHeader: bytes since the delimiter
	dash    bool
	prev1   byte // inHeader: the last two bytes seen, to find the blank line
	prev2   byte
	parts   int
	bad     bool // the boundary is not one RFC 2046 allows
	err     error
}

// NewReader returns a Reader over r, a multipart body with the given
// boundary (from its Content-Type). A boundary that RFC 2046 does not allow
// (empty, longer than 70 bytes, or holding CR or LF) fails the first Read.
func NewReader(r io.Reader, boundary string, lim Limits) *Reader {
	g := &Reader{r: r, delim: []byte("\n--" + boundary), lim: lim, matched: 1}
	// matched 1: the body's start counts as the "\n" before a delimiter.
	// Reported by Read, not now: a body nobody reads was never refused.
	g.bad = boundary == "" || len(boundary) > 70 || bytes.ContainsAny([]byte(boundary), "\r\n")
	return g
}

// Err is the error a Read failed the body with, or nil.
func (g *Reader) Err() error { return g.err }

// Read reads from the body, failing it once it breaks a limit. Bytes read
// in the same call as the breach are withheld.
func (g *Reader) Read(p []byte) (int, error) {
	if g.bad && g.err == nil {
		g.err = &Error{What: "boundary"}
	}
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if e := g.scan(p[:n]); e != nil {
		g.err = e
		return 0, e
	}
	return n, err
}

func (g *Reader) scan(b []byte) error {
	for len(b) > 0 {
		switch g.st {
		case inBody:
			b = g.scanBody(b)
		case inHeader:
			var err error
			if b, err = g.scanHeader(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanBody looks for the next delimiter in b, and returns what follows it
// (in state inHeader), or nil when b holds none.
func (g *Reader) scanBody(b []byte) []byte {
	if g.matched > 0 { // a delimiter began in the previous read
		need := g.delim[g.matched:]
		k := min(len(need), len(b))
		if bytes.Equal(b[:k], need[:k]) {
			if k == len(need) {
				g.startHeader()
				return b[k:]
			}
			g.matched += k
			return nil
		}
		// No delimiter starts inside the partial match: its only "\n" is
		// its first byte (a boundary holds none). b[0] may start one.
		g.matched = 0
	}
	if i := bytes.Index(b, g.delim); i >= 0 {
		g.startHeader()
		return b[i+len(g.delim):]
	}
	// A delimiter may begin in b's last bytes: then at its last "\n".
	tail := b
	if len(tail) >= len(g.delim) {
		tail = tail[len(tail)-len(g.delim)+1:]
	}
	if j := bytes.LastIndexByte(tail, '\n'); j >= 0 && bytes.HasPrefix(g.delim, tail[j:]) {
		g.matched = len(tail) - j
	}
	return nil
}

func (g *Reader) startHeader() {
	g.st, g.matched, g.hdr, g.dash, g.prev1, g.prev2 = inHeader, 0, 0, false, 0, 0
}

// scanHeader counts b's bytes against the header limit up to the blank
// line that ends the part's headers, and returns what follows it.
//
// What follows "--boundary" decides what the parser makes of it: CR, LF,
// space or tab may start a part (counted here, whether or not the parser
// then takes the line); "--" is a close delimiter, but only when the rest of
// its line is blank, and mime/multipart skips any other line in the
// preamble and keeps looking, so scanning goes on past it in every case;
// anything else is content.
func (g *Reader) scanHeader(b []byte) ([]byte, error) {
	for i, c := range b {
		g.hdr++
		switch {
		case g.hdr == 1 && c == '-':
			g.dash = true
			continue
		case g.hdr == 1 && c != '\r' && c != '\n' && c != ' ' && c != '\t',
			g.hdr == 2 && g.dash:
			// "--boundaryX", "--boundary-X": not a delimiter, content.
			// "--boundary--": the close delimiter, or a preamble line.
			g.st = inBody
			return b[i+1:], nil
		case g.hdr == 1:
			g.parts++
			if g.parts > g.lim.MaxParts {
				return nil, &Error{What: "parts", Limit: g.lim.MaxParts}
			}
		}
		if g.hdr > g.lim.MaxHeaderBytes {
			return nil, &Error{What: "header", Limit: g.lim.MaxHeaderBytes}
		}
		if c == '\n' && (g.prev1 == '\n' || (g.prev1 == '\r' && g.prev2 == '\n')) {
			// mime/multipart takes "--boundary" right at the start of a
			// part's content as a delimiter: the blank line's "\n" counts
			// as the one before it, as the body's start does.
			g.st, g.matched = inBody, 1
			return b[i+1:], nil
		}
		g.prev2, g.prev1 = g.prev1, c
	}
	return nil, nil
}
