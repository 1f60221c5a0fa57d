package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
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
}

// opLabel is what the metrics and log call an operation.
type opLabel struct {
	id        string // the operationId as openapi.yaml spells it
	multipart bool   // an upload
}

// setOperations indexes the spec's operations.
func (o *Observer) setOperations(ops map[string]*operation) {
	o.ops = make(map[string]opLabel, len(ops))
	for k, op := range ops {
		o.ops[k] = opLabel{id: op.id, multipart: op.multipart}
	}
}

// RequestIDHeader carries the request id on every response.
const RequestIDHeader = "X-Request-Id"

// NewObserver registers the HTTP metrics and returns the middleware.
func NewObserver(cfg ObserveConfig) (*Observer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = func(r *http.Request) string { return r.RemoteAddr }
	}
	o := &Observer{
		cfg: cfg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_requests_total", Help: "HTTP requests answered, by operationId and status code.",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sachet_http_request_duration_seconds",
			Help:    "Time from the request's headers to the end of its response, by operationId.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"operation"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_request_body_bytes_total", Help: "Request body bytes read, by operationId.",
		}, []string{"operation"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_response_body_bytes_total", Help: "Response body bytes written, by operationId.",
		}, []string{"operation"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sachet_http_requests_in_flight", Help: "Requests being served.",
		}),
		uploads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sachet_uploads_active", Help: "Chunk uploads being received.",
		}),
		stalled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sachet_http_transfers_stalled_total",
			Help: "Transfers cut because no bytes moved for the idle timeout, by direction (upload, download).",
		}, []string{"direction"}),
		unmatched: "unmatched",
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{o.requests, o.duration, o.bytesIn, o.bytesOut, o.inFlight, o.uploads, o.stalled} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering metrics: %w", err)
			}
		}
	}
	return o, nil
}

// ---- request info ----

type infoKey struct{}

// reqInfo is what the layers of one request learn about it. Only the
// request's own goroutine writes it, except the byte counts.
type reqInfo struct {
	id       string
	op       string
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
		defer o.inFlight.Dec()

		tw := &transferWriter{ResponseWriter: w, ctl: http.NewResponseController(w), idle: o.cfg.IdleTimeout, info: info}
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

		if max := o.cfg.MaxHeaderBytes; max > 0 && headerSize(r) > max {
			w.Header().Set("Connection", "close")
			writeJSONError(tw, http.StatusRequestHeaderFieldsTooLarge,
				fmt.Sprintf("Request headers exceed the %d-byte limit.", max))
		} else {
			next.ServeHTTP(tw, r)
		}

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

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(envelope{Status: "fail", Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// finish records the request in the metrics and the access log.
func (o *Observer) finish(r *http.Request, info *reqInfo, d time.Duration) {
	status := info.status
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	in, out := info.bytesIn.Load(), info.bytesOut.Load()
	o.requests.WithLabelValues(info.op, strconv.Itoa(status)).Inc()
	o.duration.WithLabelValues(info.op).Observe(d.Seconds())
	if in > 0 {
		o.bytesIn.WithLabelValues(info.op).Add(float64(in))
	}
	if out > 0 {
		o.bytesOut.WithLabelValues(info.op).Add(float64(out))
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path), // never the query: it is the client's to fill
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
			info.op = op.id
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

// ---- stalled transfers ----

// extendEvery is the fraction of the idle timeout after which a transfer's
// deadline is pushed back again; between times it is left alone, so that
// small reads and writes don't each pay for a timer update.
const extendEvery = 16

// isTimeout reports a deadline expiry.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// transferBody is a request body whose every Read pushes the connection's
// read deadline idle into the future, so an upload is cut when no bytes
// arrive for idle, however long it takes in total.
type transferBody struct {
	rc   io.ReadCloser
	ctl  *http.ResponseController
	idle time.Duration
	info *reqInfo
	last time.Time
	eof  bool
}

func (b *transferBody) Read(p []byte) (int, error) {
	if b.idle > 0 && !b.eof {
		if now := time.Now(); now.Sub(b.last) > b.idle/extendEvery {
			_ = b.ctl.SetReadDeadline(now.Add(b.idle))
			b.last = now
		}
	}
	n, err := b.rc.Read(p)
	b.info.bytesIn.Add(int64(n))
	switch {
	case err == io.EOF && !b.eof:
		b.eof = true
		if b.idle > 0 {
			// net/http now watches the connection for the client going
			// away; a deadline left behind would look like it had, and
			// cancel the request while its handler still works.
			_ = b.ctl.SetReadDeadline(time.Time{})
		}
	case err != nil && err != io.EOF && isTimeout(err):
		b.info.stallIn.Store(true)
	}
	return n, err
}

func (b *transferBody) Close() error { return b.rc.Close() }

// bigReader buffers an upload's body in large reads. mime/multipart reads
// through a 4 KiB bufio.Reader of its own, which made every read from the
// connection 4 KiB: a third of an upload's CPU went to read syscalls.
// Behind this buffer its refills are copies, and the connection is read in
// up to bigReadSize at a time.
type bigReader struct {
	br *bufio.Reader // nil once closed
	rc io.Closer
}

const bigReadSize = 256 << 10

// bigReaders keeps the buffers: one per upload in flight, reused.
var bigReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bigReadSize) }}

func newBigReader(rc io.ReadCloser) *bigReader {
	br := bigReaders.Get().(*bufio.Reader)
	br.Reset(rc)
	return &bigReader{br: br, rc: rc}
}

func (b *bigReader) Read(p []byte) (int, error) {
	if b.br == nil {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.br.Read(p)
}

// Close hands the buffer back. net/http calls it once the handler has
// returned, when nothing reads any more.
func (b *bigReader) Close() error {
	if b.br == nil {
		return nil
	}
	err := b.rc.Close()
	b.br.Reset(nil)
	bigReaders.Put(b.br)
	b.br = nil
	return err
}

// transferWriter is the response writer: every write pushes the write
// deadline idle into the future, so a download is cut when the client
// stops reading for idle. It keeps sendfile: ReadFrom hands the file to the
// server's ReadFrom in slices, pushing the deadline back between them.
type transferWriter struct {
	http.ResponseWriter
	ctl         *http.ResponseController
	idle        time.Duration
	info        *reqInfo
	last        time.Time
	wroteHeader bool
}

// sliceBytes is how much one ReadFrom slice sends: at 10 MB/s, well under
// a second, so the deadline is pushed back often enough for any sane
// idle timeout, and sendfile's per-call cost stays negligible.
const sliceBytes = 4 << 20

func (w *transferWriter) extend() {
	if w.idle <= 0 {
		return
	}
	if now := time.Now(); now.Sub(w.last) > w.idle/extendEvery {
		_ = w.ctl.SetWriteDeadline(now.Add(w.idle))
		w.last = now
	}
}

func (w *transferWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		w.info.status = code
	}
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *transferWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.wroteHeader, w.info.status = true, http.StatusOK
	}
	w.extend()
	n, err := w.ResponseWriter.Write(p)
	w.count(int64(n), err)
	return n, err
}

func (w *transferWriter) count(n int64, err error) {
	w.info.bytesOut.Add(n)
	if err != nil && isTimeout(err) {
		w.info.stallOut.Store(true)
	}
}

// ReadFrom sends src through the server's own ReadFrom (sendfile for a
// file, or a file behind one io.LimitedReader, which is what
// http.ServeContent passes) in slices of sliceBytes.
func (w *transferWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.wroteHeader, w.info.status = true, http.StatusOK
	}
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{w}, src)
	}
	inner, remain := src, int64(-1)
	lr, isLR := src.(*io.LimitedReader)
	if isLR {
		inner, remain = lr.R, lr.N
	}
	var total int64
	var err error
	for remain != 0 {
		w.extend()
		n := int64(sliceBytes)
		if remain > 0 && remain < n {
			n = remain
		}
		var m int64
		m, err = rf.ReadFrom(&io.LimitedReader{R: inner, N: n})
		total += m
		if remain > 0 {
			remain -= m
		}
		w.count(m, err)
		if err != nil || m < n {
			break
		}
	}
	if isLR {
		lr.N = remain
	}
	return total, err
}

// Flush sends what is buffered.
func (w *transferWriter) Flush() {
	w.extend()
	_ = w.ctl.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *transferWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides ReadFrom, so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// ---- logging ----

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
