package api

// The header size limit: oversized request headers get 431 with the JSON
// envelope, below net/http's hard limit and its plain-text 431.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// refuseLargeHeaders answers 431 with the JSON envelope, and reports true,
// when the request line and headers exceed MaxHeaderBytes.
func (o *Observer) refuseLargeHeaders(w http.ResponseWriter, r *http.Request) bool {
	max := o.cfg.MaxHeaderBytes
	if max <= 0 || headerSize(r) <= max {
		return false
	}
	w.Header().Set("Connection", "close")
	writeJSONError(w, http.StatusRequestHeaderFieldsTooLarge,
		fmt.Sprintf("Request headers exceed the %d-byte limit.", max))
	return true
}

// headerSize approximates the bytes of the request line and headers as
// they came in.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(envelope{Status: "fail", Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
