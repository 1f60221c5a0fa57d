package api

// Request ids: every request gets one (or keeps a well-formed one from a
// proxy), answered in X-Request-Id and carried by its log lines.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync/atomic"
)

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

type infoKey struct{}

// reqInfo is what the layers of one request learn about it. Only the
// request's own goroutine writes it, except the byte counts.
type reqInfo struct {
	id       string
	op       string
	metrics  *opMetrics // op's metrics; nil: looked up by op
	user     string
	key      string // the API key's id, when the request used one
	status   int
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	stallIn  atomic.Bool
	stallOut atomic.Bool
}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
	}
	return ""
}

// requestID keeps a well-formed incoming X-Request-Id (from a proxy that
// assigned one), or makes a new one.
func requestID(r *http.Request) string {
	if v := r.Header.Get(RequestIDHeader); v != "" && len(v) <= 64 && strings.Trim(v,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == "" {
		return v
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
