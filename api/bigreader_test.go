package api

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// readSizes records the size of every Read asked of it.
type readSizes struct {
	r      io.Reader
	asked  []int
	closed bool
}

func (s *readSizes) Read(p []byte) (int, error) {
	s.asked = append(s.asked, len(p))
	return s.r.Read(p)
}

func (s *readSizes) Close() error { s.closed = true; return nil }

func TestBigReaderReadsTheConnectionInLargeSteps(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("dzuuid", "u")
	fw, _ := mw.CreateFormFile("upload", "f.bin")
	fw.Write(data)
	mw.Close()

	src := &readSizes{r: &body}
	br := newBigReader(src)
	mr := multipart.NewReader(br, mw.Boundary())
	var got []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.FormName() == "upload" {
			got = b
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes of the part, want the %d sent", len(got), len(data))
	}
	// Without it, multipart's own 4 KiB buffer asks for 4 KiB at a time:
	// about 770 reads here.
	if n := len(src.asked); n > 3*len(data)/bigReadSize {
		t.Fatalf("%d reads of the body for %d bytes (asked %v…), want large ones", n, len(data), src.asked[:min(5, n)])
	}
	for _, n := range src.asked {
		if n < 64<<10 {
			t.Fatalf("a read of %d bytes: the body must be read in large steps", n)
		}
	}

	if err := br.Close(); err != nil || !src.closed {
		t.Fatalf("Close = %v, underlying closed %v", err, src.closed)
	}
	if err := br.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := br.Read(make([]byte, 1)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Fatalf("Read after Close = %v, want ErrBodyReadAfterClose", err)
	}
}
