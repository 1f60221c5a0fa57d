package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

func newTestObserver(t *testing.T, logs io.Writer) (*Observer, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	o, err := NewObserver(ObserveConfig{
		Logger:         slog.New(NewLogHandler(slog.NewJSONHandler(logs, nil))),
		Registerer:     reg,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 4096,
	})
	if err != nil {
		t.Fatal(err)
	}
	return o, reg
}

func TestObserverRequestIDLogAndMetrics(t *testing.T) {
	var logs bytes.Buffer
	o, _ := newTestObserver(t, &logs)
	var seen string
	h := o.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
		slog.New(NewLogHandler(slog.NewJSONHandler(&logs, nil))).InfoContext(r.Context(), "inside", "password", "hunter2",
			slog.Group("req", "Authorization", "Bearer xyz"))
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("short and stout"))
	}))
	req := httptest.NewRequest("POST", "/x?token=abc", strings.NewReader("12345"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get(RequestIDHeader)
	if id == "" || id != seen {
		t.Fatalf("X-Request-Id %q, handler saw %q", id, seen)
	}
	if strings.Contains(logs.String(), "hunter2") || strings.Contains(logs.String(), "xyz") || strings.Contains(logs.String(), "token=abc") {
		t.Errorf("secrets logged: %s", logs.String())
	}
	var lines []map[string]any
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2", len(lines))
	}
	for _, l := range lines {
		if l["request_id"] != id {
			t.Errorf("line without the request id: %v", l)
		}
	}
	access := lines[1]
	if access["status"] != float64(418) || access["bytes_in"] != float64(5) || access["bytes_out"] != float64(15) || access["op"] != "unmatched" {
		t.Errorf("access line %v", access)
	}
	var m dto.Metric
	o.requests.WithLabelValues("unmatched", "418").Write(&m)
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("requests counter %v", got)
	}
}

func TestObserverOversizedHeaders431JSON(t *testing.T) {
	o, _ := newTestObserver(t, io.Discard)
	called := false
	h := o.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	req := httptest.NewRequest("GET", "/whoami", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 5000))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env envelope
	if rec.Code != 431 || called || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Status != "fail" {
		t.Fatalf("%d %s (handler called: %v)", rec.Code, rec.Body, called)
	}
}

func TestLogHandlerRedactsWithAttrs(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewLogHandler(slog.NewTextHandler(&buf, nil))).With("auth_token", "T0K", "user", "ann")
	l.InfoContext(context.Background(), "x", "Secret_Key", "K3Y", "n", 1)
	out := buf.String()
	if strings.Contains(out, "T0K") || strings.Contains(out, "K3Y") || !strings.Contains(out, "user=ann") {
		t.Errorf("log: %s", out)
	}
	if WithRequestIDs(l) != l {
		t.Error("WithRequestIDs wrapped an already wrapped logger")
	}
}

func TestRequestIDFromProxy(t *testing.T) {
	for in, keep := range map[string]bool{"abc-123": true, "a.b:c_d": true, "": false, "x y": false,
		strings.Repeat("a", 65): false, "é": false, "a\nb": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(RequestIDHeader, in)
		got := requestID(r)
		if (got == in) != keep || got == "" {
			t.Errorf("requestID(%q) = %q", in, got)
		}
	}
}
