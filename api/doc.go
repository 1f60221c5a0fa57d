// Package api is Sachet's HTTP face: the echo server, its middleware in the
// order of the contract's "order of checks" (authentication, permission,
// then parameters and body validated against the embedded spec), CORS, and
// the one place where errors become HTTP responses. It knows nothing of SQL
// or files; the handlers behind it are the generated strict interface.
package api
