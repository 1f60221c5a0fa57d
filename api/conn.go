package api

import (
	"context"
	"net"
)

type connKey struct{}

// connRef is what ConnContext keeps: the connection, and the listener that
// takes it back after a detached download (nil: downloads stay with
// net/http).
type connRef struct {
	c net.Conn
	l *Listener
}

// ConnContext is http.Server's ConnContext: it keeps the connection in
// each request's context, so the idle watchdog can look at the socket
// itself (how much the peer acknowledged, whether it can take more).
// Listener.ConnContext also lets large downloads leave net/http.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, connRef{c: c})
}

// connFrom is what ConnContext kept, or the zero connRef.
func connFrom(ctx context.Context) connRef {
	r, _ := ctx.Value(connKey{}).(connRef)
	return r
}
