package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
