package api

import (
	"context"
	"net"
)

type connKey struct{}

// ConnContext is http.Server's ConnContext: it keeps the connection in
// each request's context, so the idle watchdog can look at the socket
// itself (how much the peer acknowledged, whether it can take more).
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// connFrom is the connection ConnContext kept, or nil.
func connFrom(ctx context.Context) net.Conn {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	return c
}
