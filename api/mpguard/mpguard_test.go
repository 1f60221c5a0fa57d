package mpguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"testing/iotest"
)

const testBoundary = "b0undary-7f3a9c"

// form builds a multipart body of n parts, each with a header padded to
// about hdr bytes.
func form(t testing.TB, n, hdr int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(testBoundary); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="f%d"`, i))
		if pad := hdr - 60; pad > 0 {
			h.Set("X-Pad", strings.Repeat("p", pad))
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		// Content that looks almost like a delimiter, at read boundaries too.
		fmt.Fprintf(pw, "value %d\r\n--%s", i, testBoundary[:len(testBoundary)-1])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// parse runs mime/multipart over r and returns the parts it read.
func parse(r io.Reader) (int, error) {
	mr := multipart.NewReader(r, testBoundary)
	n := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return n, err
		}
		n++
	}
}

// chunky reads in random sizes, so delimiters straddle reads.
type chunky struct {
	r   io.Reader
	rnd *rand.Rand
}

func (c chunky) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+c.rnd.IntN(min(len(p), 97))]
	}
	return c.r.Read(p)
}

func TestReader(t *testing.T) {
	lim := Limits{MaxHeaderBytes: 1024, MaxParts: 5}
	cases := []struct {
		name     string
		body     []byte
		wantErr  string // "" (passes), "parts" or "header"
		wantPart int
	}{
		{"one part", form(t, 1, 100), "", 1},
		{"at the part limit", form(t, 5, 100), "", 5},
		{"headers at the limit", form(t, 3, 900), "", 3},
		{"one part too many", form(t, 6, 100), "parts", 0},
		{"many parts", form(t, 5000, 60), "parts", 0},
		{"header too large", form(t, 2, 2000), "header", 0},
		{"megabytes of header", append([]byte("--"+testBoundary+"\r\nX: "), bytes.Repeat([]byte("a"), 8<<20)...), "header", 0},
		{"header lines without end", append([]byte("--"+testBoundary+"\r\n"), bytes.Repeat([]byte("X: y\r\n"), 1<<20)...), "header", 0},
		{"preamble and epilogue", []byte("preamble\r\n--" + testBoundary + "\r\nA: b\r\n\r\nv\r\n--" + testBoundary + "--\r\n" + strings.Repeat("epilogue ", 10000)), "", 1},
		{"LF line ends", []byte("--" + testBoundary + "\nA: b\n\nv\n--" + testBoundary + "--\n"), "", 1},
		{"boundary-dash-like content", []byte("--" + testBoundary + "\r\nA: b\r\n\r\n\r\n--" + testBoundary + "-X" + strings.Repeat("z", 5000) + "\r\n--" + testBoundary + "--"), "", 1},
		// mime/multipart skips a preamble line that is not a delimiter,
		// "--boundary--X" included, and goes on reading parts (CI's fuzz).
		{"close-like line in the preamble", []byte("--" + testBoundary + "--X\n" + strings.Repeat("--"+testBoundary+"\r\n\r\nv\r\n", 6) + "--" + testBoundary + "--\r\n"), "parts", 0},
		// A delimiter right after the blank line ends an empty part (CI's fuzz).
		{"empty parts", []byte(strings.Repeat("--"+testBoundary+"\r\n\n", 6)), "parts", 0},
		{"boundary-like content", []byte("--" + testBoundary + "\r\nA: b\r\n\r\n\r\n--" + testBoundary + "X" + strings.Repeat("z", 5000) + "\r\n--" + testBoundary + "--"), "", 1},
	}
	for _, c := range cases {
		for _, mode := range []string{"whole", "one byte", "random"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = bytes.NewReader(c.body)
				switch mode {
				case "one byte":
					if len(c.body) > 1<<20 {
						t.Skip("too slow one byte at a time")
					}
					src = iotest.OneByteReader(src)
				case "random":
					src = chunky{src, rand.New(rand.NewPCG(1, uint64(len(c.body))))}
				}
				g := NewReader(src, testBoundary, lim)
				n, err := parse(g)
				var ge *Error
				switch {
				case c.wantErr == "":
					if err != nil || n != c.wantPart {
						t.Fatalf("parts %d, err %v; want %d, nil", n, err, c.wantPart)
					}
				case !errors.As(err, &ge) || ge.What != c.wantErr:
					t.Fatalf("err %v, want a %q *Error", err, c.wantErr)
				case g.Err() == nil || !strings.Contains(ge.Error(), fmt.Sprint(map[string]int{"parts": lim.MaxParts, "header": lim.MaxHeaderBytes}[c.wantErr])):
					t.Fatalf("Err() %v, message %q", g.Err(), ge.Error())
				}
			})
		}
	}
}

// Bytes pass through unchanged.
func TestReaderPassesBytesThrough(t *testing.T) {
	body := form(t, 4, 300)
	got, err := io.ReadAll(chunky{NewReader(bytes.NewReader(body), testBoundary, Default), rand.New(rand.NewPCG(2, 3))})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, body))
	}
}

func TestReaderBadBoundary(t *testing.T) {
	for _, b := range []string{"", "a\nb", "x\r", strings.Repeat("b", 71)} {
		g := NewReader(strings.NewReader("--"+b+"\r\n\r\n"), b, Default)
		if g.Err() != nil {
			t.Errorf("boundary %q: failed before any Read", b)
		}
		_, err := g.Read(make([]byte, 10))
		var ge *Error
		if !errors.As(err, &ge) || ge.What != "boundary" {
			t.Errorf("boundary %q: %v", b, err)
		}
	}
}

// FuzzReader: whatever the body, the parser behind a Reader never returns
// more than MaxParts parts nor a part whose header is over MaxHeaderBytes,
// and a body the Reader lets through reaches the parser unchanged.
func FuzzReader(f *testing.F) {
	f.Add([]byte("--" + testBoundary + "\r\nA: b\r\n\r\nv\r\n--" + testBoundary + "--\r\n"))
	f.Add(form(f, 3, 80))
	f.Add(form(f, 5, 60))
	f.Add([]byte("--" + testBoundary + "\nA: b\n\nv\n--" + testBoundary + "\n\n--" + testBoundary + "--"))
	f.Add([]byte("--" + testBoundary + "--X\n" + strings.Repeat("--"+testBoundary+"\r\n\r\nv\r\n", 4)))
	lim := Limits{MaxHeaderBytes: 128, MaxParts: 3}
	f.Fuzz(func(t *testing.T, body []byte) {
		mr := multipart.NewReader(NewReader(bytes.NewReader(body), testBoundary, lim), testBoundary)
		for n := 1; ; n++ {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if n > lim.MaxParts {
				t.Fatalf("the parser returned part %d", n)
			}
			size := 0
			for k, vs := range p.Header {
				for _, v := range vs {
					size += len(k) + len(v) + 2
				}
			}
			if size > lim.MaxHeaderBytes {
				t.Fatalf("part %d has %d header bytes", n, size)
			}
			if _, err := io.Copy(io.Discard, p); err != nil {
				break
			}
		}
		g := NewReader(bytes.NewReader(body), testBoundary, lim)
		got, err := io.ReadAll(g)
		if err == nil && !bytes.Equal(got, body) {
			t.Fatal("bytes changed")
		}
	})
}
