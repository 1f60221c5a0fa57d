package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordingWriter is a ResponseWriter whose ReadFrom records what it was
// handed, like net/http's, which passes a file (or a file behind one
// io.LimitedReader) to sendfile.
type recordingWriter struct {
	*httptest.ResponseRecorder
	srcs []io.Reader
}

func (w *recordingWriter) ReadFrom(src io.Reader) (int64, error) {
	w.srcs = append(w.srcs, src)
	return io.Copy(w.ResponseRecorder, src)
}

// The download path keeps sendfile: every slice reaches the server's
// ReadFrom as one io.LimitedReader directly over the *os.File.
func TestTransferWriterReadFromKeepsSendfile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), (sliceBytes*2+1000)/16)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rw := &recordingWriter{ResponseRecorder: httptest.NewRecorder()}
	info := &reqInfo{}
	w := &transferWriter{ResponseWriter: rw, ctl: http.NewResponseController(rw), idle: time.Minute, info: info}

	// What http.ServeContent does: io.CopyN(w, file, n).
	want := int64(len(data) - 10)
	n, err := io.CopyN(w, f, want)
	if err != nil || n != want {
		t.Fatalf("CopyN: %d, %v", n, err)
	}
	if !bytes.Equal(rw.Body.Bytes(), data[:want]) {
		t.Fatal("wrong bytes")
	}
	if len(rw.srcs) != 3 {
		t.Fatalf("%d ReadFrom calls, want 3 slices", len(rw.srcs))
	}
	for i, src := range rw.srcs {
		lr, ok := src.(*io.LimitedReader)
		if !ok {
			t.Fatalf("slice %d: %T, want *io.LimitedReader", i, src)
		}
		if _, ok := lr.R.(*os.File); !ok {
			t.Fatalf("slice %d: LimitedReader over %T, want *os.File (sendfile)", i, lr.R)
		}
	}
	if info.bytesOut.Load() != want || info.status != 200 {
		t.Errorf("counted %d bytes, status %d", info.bytesOut.Load(), info.status)
	}

	// A plain ReadFrom of the whole file (no limit) also works.
	f.Seek(0, io.SeekStart)
	rw2 := &recordingWriter{ResponseRecorder: httptest.NewRecorder()}
	w2 := &transferWriter{ResponseWriter: rw2, ctl: http.NewResponseController(rw2), info: &reqInfo{}}
	if n, err := w2.ReadFrom(f); err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
}
