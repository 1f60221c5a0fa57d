package api

// Log redaction: attributes named like secrets are never written, and
// every line logged for a request carries its id.

import (
	"context"
	"log/slog"
	"strings"
)

// NewLogHandler wraps h so that every record logged with a request's
// context carries its request_id, and attributes whose key names a secret
// (authorization, password, token, secret, cookie) are never written.
func NewLogHandler(h slog.Handler) slog.Handler { return &logHandler{h: h} }

type logHandler struct{ h slog.Handler }

func (l *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *logHandler) Handle(ctx context.Context, r slog.Record) error {
	secret := false
	r.Attrs(func(a slog.Attr) bool {
		if hasSecret(a) {
			secret = true
			return false
		}
		return true
	})
	if secret {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool {
			nr.AddAttrs(redact(a))
			return true
		})
		r = nr
	}
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return l.h.Handle(ctx, r)
}

func (l *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redact(a)
	}
	return &logHandler{h: l.h.WithAttrs(out)}
}

func (l *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{h: l.h.WithGroup(name)}
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"authorization", "password", "passwd", "token", "secret", "cookie"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func hasSecret(a slog.Attr) bool {
	if secretKey(a.Key) {
		return true
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			if hasSecret(g) {
				return true
			}
		}
	}
	return false
}

func redact(a slog.Attr) slog.Attr {
	if secretKey(a.Key) {
		return slog.String(a.Key, "[redacted]")
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = redact(x)
		}
		return slog.Group(a.Key, out...)
	}
	return a
}

// WithRequestIDs returns l with its handler wrapped by NewLogHandler,
// unless it is already.
func WithRequestIDs(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(*logHandler); ok {
		return l
	}
	return slog.New(NewLogHandler(l.Handler()))
}
