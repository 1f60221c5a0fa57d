package api

import "net/http"

// NoSniff wraps the whole API, outside everything else, so that every
// response carries X-Content-Type-Options: nosniff: JSON bodies, the error
// envelope from either writer (the echo error handler, and the one that
// answers 431 before routing), downloads and the meta routes. Without it
// a browser may sniff a JSON error that echoes client input into HTML.
func NoSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
