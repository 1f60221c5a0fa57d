package api

// The outermost middleware: Wrap ties the request id, header limit, idle
// watchdog and metrics together and writes the access log.

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sachet-server/sachet/domain"
)

// ObserveConfig configures the outermost layer of the server: request ids,
// the access log, metrics, header size limit and stalled-transfer cuts.
type ObserveConfig struct {
	// Logger receives one access-log line per request (level Info; Warn
	// for 5xx and cut transfers). Wrap its handler with NewLogHandler so
	// that every line of a request carries its id.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; nil: none are kept.
	Registerer prometheus.Registerer
	// IdleTimeout cuts a transfer when no bytes move for this long, in
	// either direction (0: never).
	IdleTimeout time.Duration
	// MaxHeaderBytes answers 431 with the JSON envelope when the request
	// line and headers are larger (0: no check here). Give http.Server a
	// larger MaxHeaderBytes as the hard limit, where Go's server answers 431
	// with a text body itself.
	MaxHeaderBytes int
	// ClientAddr names the client in the access log (default RemoteAddr).
	ClientAddr func(*http.Request) string
}

// Observer is the outermost middleware; create it with NewObserver, give
// it to New (Config.Observer) and wrap New's handler with Wrap.
type Observer struct {
	cfg ObserveConfig

	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	bytesIn   *prometheus.CounterVec
	bytesOut  *prometheus.CounterVec
	inFlight  prometheus.Gauge
	uploads   prometheus.Gauge
	stalled   *prometheus.CounterVec
	ops       map[string]opLabel // set by New, by "METHOD echo-path"
	unmatched string
	opStats   sync.Map // operation label → *opMetrics
}

// opLabel is what the metrics and log call an operation.
type opLabel struct {
	id        string // the operationId as openapi.yaml spells it
	multipart bool   // an upload
	metrics   *opMetrics
}

// opMetrics are one operation's metric children, each looked up once
// (when first used, so a series appears as before: once it has a value)
// rather than by label values, a hash and a lock each, on every request.
type opMetrics struct {
	o        *Observer
	op       string
	duration atomic.Pointer[prometheus.Observer]
	bytesIn  atomic.Pointer[prometheus.Counter]
	bytesOut atomic.Pointer[prometheus.Counter]
	codes    sync.Map // status → prometheus.Counter
}

func (o *Observer) metricsOf(op string) *opMetrics {
	if m, ok := o.opStats.Load(op); ok {
		return m.(*opMetrics)
	}
	m, _ := o.opStats.LoadOrStore(op, &opMetrics{o: o, op: op})
	return m.(*opMetrics)
}

// child returns *p, setting it with get first.
func child[T any](p *atomic.Pointer[T], get func() T) T {
	if c := p.Load(); c != nil {
		return *c
	}
	c := get()
	p.Store(&c)
	return c
}

func (m *opMetrics) observe(d time.Duration) {
	child(&m.duration, func() prometheus.Observer { return m.o.duration.WithLabelValues(m.op) }).Observe(d.Seconds())
}

func (m *opMetrics) addIn(n int64) {
	child(&m.bytesIn, func() prometheus.Counter { return m.o.bytesIn.WithLabelValues(m.op) }).Add(float64(n))
}

func (m *opMetrics) addOut(n int64) {
	child(&m.bytesOut, func() prometheus.Counter { return m.o.bytesOut.WithLabelValues(m.op) }).Add(float64(n))
}

func (m *opMetrics) answered(status int) {
	if c, ok := m.codes.Load(status); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c, _ := m.codes.LoadOrStore(status, m.o.requests.WithLabelValues(m.op, strconv.Itoa(status)))
	c.(prometheus.Counter).Inc()
}

// setOperations indexes the spec's operations.
func (o *Observer) setOperations(ops map[string]*operation) {
	o.ops = make(map[string]opLabel, len(ops))
	for k, op := range ops {
		o.ops[k] = opLabel{id: op.id, multipart: op.multipart, metrics: o.metricsOf(op.id)}
	}
}

// Wrap is the outermost handler: it gives the request an id (also in the
// X-Request-Id response header), refuses oversized headers, cuts stalled
// transfers, counts bytes, and logs and measures the request when it ends.
func (o *Observer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{id: requestID(r), op: o.unmatched}
		w.Header().Set(RequestIDHeader, info.id)
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		r = r.WithContext(ctx)
		o.inFlight.Inc()

		tw := &transferWriter{ResponseWriter: w, ctl: http.NewResponseController(w), idle: o.cfg.IdleTimeout, info: info, conn: connFrom(ctx), req: r}
		var body *transferBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &transferBody{rc: r.Body, ctl: tw.ctl, idle: o.cfg.IdleTimeout, info: info}
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				body.rc = newBigReader(body.rc)
			}
			r.Body = body
		}
		if tw.idle > 0 {
			// Bounds writes the server makes before the handler writes
			// (100 Continue) and reads nobody makes through body (the
			// server's discarding of an unread body).
			_ = tw.ctl.SetWriteDeadline(start.Add(tw.idle))
			if body != nil {
				_ = tw.ctl.SetReadDeadline(start.Add(tw.idle))
			}
		}

		tw.mayDetach = body == nil
		if !o.refuseLargeHeaders(tw, r) {
			o.serve(next, tw, r)
		}
		if d := tw.detached; d != nil {
			// The body is still to be sent, outside net/http (detach.go):
			// the request ends when it is.
			d.finish = func() {
				o.finish(r, info, time.Since(start))
				o.inFlight.Dec()
			}
			go d.run()
			return
		}
		defer o.inFlight.Dec()

		if tw.idle > 0 {
			// The server flushes the response, and may discard what is left
			// of the body, after the handler: bound those too.
			now := time.Now()
			_ = tw.ctl.SetWriteDeadline(now.Add(tw.idle))
			if body != nil && !body.eof {
				_ = tw.ctl.SetReadDeadline(now.Add(tw.idle))
			}
		}
		o.finish(r, info, time.Since(start))
	})
}

// serve runs next; a panic after the connection was hijacked for a
// detached body closes it (nothing will send the body), then goes on up.
func (o *Observer) serve(next http.Handler, tw *transferWriter, r *http.Request) {
	defer func() {
		if d := tw.detached; d != nil {
			if p := recover(); p != nil {
				releaseFile(d.srcKey)
				d.ln.handBack(d.c, false)
				o.inFlight.Dec()
				panic(p)
			}
		}
	}()
	next.ServeHTTP(tw, r)
}

// finish records the request in the metrics and the access log.
func (o *Observer) finish(r *http.Request, info *reqInfo, d time.Duration) {
	status := info.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	in, out := info.bytesIn.Load(), info.bytesOut.Load()
	m := info.metrics
	if m == nil {
		m = o.metricsOf(info.op)
	}
	m.answered(status)
	m.observe(d)
	if in > 0 {
		m.addIn(in)
	}
	if out > 0 {
		m.addOut(out)
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", logPath(r.URL.Path)), // never the query: it is the client's to fill; never a link token
		slog.String("op", info.op),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes_out", out),
		slog.String("client", o.cfg.ClientAddr(r)),
	}
	if info.user != "" {
		attrs = append(attrs, slog.String("user", info.user))
		if info.key != "" { // which of the user's credentials: an audit trail for keys
			attrs = append(attrs, slog.String("api_key", info.key))
		}
	}
	if info.stallIn.Load() {
		o.stalled.WithLabelValues("upload").Inc()
		attrs = append(attrs, slog.String("cut", "upload stalled"))
		level = slog.LevelWarn
	}
	if info.stallOut.Load() {
		o.stalled.WithLabelValues("download").Inc()
		attrs = append(attrs, slog.String("cut", "download stalled"))
		level = slog.LevelWarn
	}
	if status >= 500 {
		level = slog.LevelWarn
	}
	o.cfg.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// echoMiddleware runs inside echo, after routing: it names the request's
// operation for the metrics and log, counts active uploads, and notes the
// caller once authenticated.
func (o *Observer) echoMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		info := infoFrom(c.Request().Context())
		if info == nil {
			return next(c)
		}
		if op, ok := o.ops[c.Request().Method+" "+c.Path()]; ok {
			info.op, info.metrics = op.id, op.metrics
			if op.multipart {
				o.uploads.Inc()
				defer o.uploads.Dec()
			}
		}
		err := next(c)
		if caller := domain.CallerFrom(c.Request().Context()); caller.Username != "" {
			info.user = caller.Username
			info.key = caller.KeyID
		}
		return err
	}
}
