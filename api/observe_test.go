package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

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
