package impl

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type requestKey struct{}

// RequestInContext is a strict middleware that lets handlers which must
// speak HTTP themselves (downloads through http.ServeContent, metrics)
// reach the request.
func RequestInContext(f gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
	return func(c echo.Context, req interface{}) (interface{}, error) {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
		return f(c, req)
	}
}

// openContent finds a share's current content. A blob replaced between
// reading the row and opening the file is retried with the new row.
func (h *Content) openContent(ctx context.Context, id string) (*domain.Share, io.ReadSeekCloser, error) {
	for attempt := 0; ; attempt++ {
		sh, err := loadShare(ctx, h.store, id)
		if err != nil {
			return nil, nil, err
		}
		if !sh.Initialized || sh.BlobID == nil {
			if attempt == 0 {
				// The row may be a cached one from before another process
				// completed the upload: a client that uploads through one
				// server and downloads through the next must not get 404.
				h.store.ForgetShare(id)
				continue
			}
			return nil, nil, domain.Errorf(domain.NotFound, "The share has no content yet.")
		}
		f, _, err := h.blobs.Open(ctx, *sh.BlobID)
		if err == nil {
			return sh, f, nil
		}
		if !domain.IsKind(err, domain.NotFound) || attempt == 2 {
			return nil, nil, err
		}
		h.store.ForgetShare(id) // the row may be a cached one, older than the file
	}
}

func (h *Content) download(ctx context.Context, id string) (*download, error) {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	if r == nil {
		return nil, errors.New("impl: RequestInContext middleware not installed")
	}
	if d, err := h.smallDownload(ctx, r, id); d != nil || err != nil {
		return d, err // one small range: one pread (smallrange.go)
	}
	sh, f, err := h.openContent(ctx, id)
	if err != nil {
		return nil, err
	}
	return &download{req: r, file: f, share: sh}, nil
}

// GetShareContent streams a share's bytes with Range and conditional
// request support.
func (h *Content) GetShareContent(ctx context.Context, req gen.GetShareContentRequestObject) (gen.GetShareContentResponseObject, error) {
	if res, err := h.presignedRedirect(ctx, req.ShareId); res != nil || err != nil {
		return res, err
	}
	return h.download(ctx, req.ShareId)
}

// HeadShareContent is GetShareContent without the body.
func (h *Content) HeadShareContent(ctx context.Context, req gen.HeadShareContentRequestObject) (gen.HeadShareContentResponseObject, error) {
	return h.download(ctx, req.ShareId)
}

// download writes a share's content through http.ServeContent, which does
// conditional requests, single and multipart ranges and HEAD, and sends the
// bytes with sendfile. Range headers are vetted first (see checkRange) and
// ServeContent's bodiless or plain-text errors become the JSON envelope.
type download struct {
	req *http.Request
	// file is the blob store's reader: for the filesystem an *os.File,
	// which ServeContent's copy hands to sendfile.
	file  io.ReadSeekCloser
	share *domain.Share
	at    blob.ReadAtCloser // set for a small range (smallrange.go); file reads it too
	// claim, when set, is called once, with the status, just before a 200
	// or 206 is sent; an error refuses that response and becomes the
	// answer instead. Share links count their downloads there (links.go).
	// started tells an overlapping claim (see claimOverlaps) from one made
	// before anything is sent.
	claim func(status int, started bool) error
	// claimOverlaps lets a claim of a large body run while the body is
	// sent instead of before it: the body's last bytes wait for it, and a
	// refused claim cuts the transfer (see errorBodyWriter). Only for
	// claims that a concurrent request cannot refuse (a link without a
	// download limit), so the answer stays the same.
	claimOverlaps bool
}

func (d *download) VisitGetShareContentResponse(w http.ResponseWriter) error  { return d.serve(w) }
func (d *download) VisitHeadShareContentResponse(w http.ResponseWriter) error { return d.serve(w) }

func (d *download) serve(w http.ResponseWriter) error {
	defer d.file.Close()
	// Write to the server's own writer so the bytes go by sendfile.
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	size := int64(0)
	if d.share.Size != nil {
		size = *d.share.Size
	}
	etag := ""
	if d.share.SHA256 != nil {
		etag = `"` + *d.share.SHA256 + `"`
	}
	var mod time.Time
	if d.share.ModifiedAt != nil {
		mod = *d.share.ModifiedAt
	}
	h := w.Header()
	h.Set("Content-Type", contentType(d.share.FileName))
	h.Set("Content-Disposition", contentDisposition(d.share.FileName))
	if etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")

	ew := &errorBodyWriter{ResponseWriter: w, head: d.req.Method == http.MethodHead, pooled: pooledCopy(d.file), claim: d.claim, overlap: d.claimOverlaps}
	defer ew.settle()
	if ir := d.req.Header.Get("If-Range"); ir != "" && !ifRangeMatches(ir, etag, mod) {
		d.req.Header.Del("Range") // RFC 9110 13.1.5: the whole content, as ServeContent would
	}
	if !checkRange(d.req.Header, size) {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		ew.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return nil
	}
	if d.at != nil && d.serveSmall(ew, mod, size) {
		return ew.refused // as below
	}
	http.ServeContent(ew, d.req, "", mod, d.file)
	return ew.refused // nothing was written: the error handler answers it
}

// checkRange vets the Range header against RFC 9110 before ServeContent
// sees it: a unit other than bytes is dropped (the whole content is
// served), the set is rewritten in canonical form with positions past
// int64 clamped (ServeContent refuses them), and false is returned when
// the header is malformed or no range overlaps the content — including
// the empty suffix "-0", which ServeContent would answer with a bogus 206.
func checkRange(h http.Header, size int64) bool {
	v := h.Get("Range")
	if v == "" {
		return true
	}
	unit, set, ok := strings.Cut(v, "=")
	if !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		h.Del("Range") // another unit, or no unit at all: ignore it
		return true
	}
	if !ok {
		return false
	}
	satisfiable := false
	var specs []string
	for _, spec := range strings.Split(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue // RFC 9110 allows empty list elements
		}
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return false
		}
		if first == "" { // suffix: -N
			n, ok := digits(last)
			if !ok {
				return false
			}
			if n > 0 && size > 0 {
				satisfiable = true
				specs = append(specs, "-"+strconv.FormatInt(min(n, size), 10))
			}
			continue
		}
		start, ok := digits(first)
		if !ok {
			return false
		}
		end := int64(-1)
		if last != "" {
			if end, ok = digits(last); !ok || end < start {
				return false
			}
		}
		if start >= size {
			continue // no overlap: ignored within a set
		}
		satisfiable = true
		r := strconv.FormatInt(start, 10) + "-"
		if end >= 0 {
			r += strconv.FormatInt(min(end, size-1), 10)
		}
		specs = append(specs, r)
	}
	if satisfiable {
		h.Set("Range", "bytes="+strings.Join(specs, ","))
	}
	return satisfiable
}

// ifRangeMatches reports whether an If-Range validator still holds: a
// strong ETag compared exactly, or an HTTP date equal to Last-Modified.
func ifRangeMatches(v, etag string, mod time.Time) bool {
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return v == etag
	}
	t, err := http.ParseTime(v)
	return err == nil && !mod.IsZero() && t.Equal(mod.Truncate(time.Second))
}

// digits parses a non-empty run of ASCII digits.
func digits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil { // overflow: a position past any file
		return 1<<63 - 1, true
	}
	return n, true
}

// errorBodyWriter turns the error statuses ServeContent writes (412, 416,
// and 500 on a read failure) into the JSON envelope, and passes everything
// else through, keeping ReadFrom so the body still goes by sendfile.
type errorBodyWriter struct {
	http.ResponseWriter
	head    bool
	swallow bool
	pooled  bool                                 // copy through copyPooled (content not in a local file)
	claim   func(status int, started bool) error // see download.claim
	refused error                                // what claim answered: nothing is written
	// overlap: a claim of a body of at least overlapMin bytes runs in the
	// background (see download.claimOverlaps); pending has its answer,
	// which the body's last holdBack bytes wait for.
	overlap bool
	pending chan error
	cut     error // what an overlapping claim answered, when refused
}

const (
	overlapMin = 1 << 20
	holdBack   = 64 << 10
)

// await waits for an overlapping claim, once: nil when there is none or
// it counted the download.
func (w *errorBodyWriter) await() error {
	if w.pending == nil {
		return nil
	}
	err := <-w.pending
	w.pending = nil
	if err != nil {
		// The header is sent; the body stops short of its Content-Length,
		// so net/http closes the connection and the client sees the
		// transfer fail.
		w.cut = err
	}
	return err
}

// settle waits for an overlapping claim that no body write waited for
// (the client went away first): the download started, so it counts.
func (w *errorBodyWriter) settle() { _ = w.await() }

// contentHeaders are the headers serve and ServeContent set for a body,
// dropped when a claim refuses it.
var contentHeaders = []string{"Content-Type", "Content-Length", "Content-Disposition", "Content-Range",
	"Content-Security-Policy", "Accept-Ranges", "ETag", "Last-Modified"}

func (w *errorBodyWriter) WriteHeader(code int) {
	if code < 300 && w.claim != nil {
		claim := w.claim
		w.claim = nil
		if w.overlap && !w.head && contentLength(w.Header()) >= overlapMin {
			// The body has started: the count must not depend on whether
			// the client stays, hence no cancellation.
			// The goroutine keeps its own reference: the channel may be
			// handed on (ReadFrom) and w.pending cleared meanwhile.
			pending := make(chan error, 1)
			w.pending = pending
			go func() { pending <- claim(code, true) }()
			w.ResponseWriter.WriteHeader(code)
			return
		}
		if err := claim(code, false); err != nil {
			w.refused = err
			for _, k := range contentHeaders {
				w.Header().Del(k)
			}
			return
		}
	}
	if w.refused != nil {
		return
	}
	if code < 400 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Disposition", "Accept-Ranges", "X-Content-Type-Options"} {
		h.Del(k)
	}
	body, _ := json.Marshal(struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}{"fail", downloadErrorMessage(code)})
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff") // as on every JSON answer
	w.ResponseWriter.WriteHeader(code)
	if !w.head {
		_, _ = w.ResponseWriter.Write(body)
	}
	w.swallow = true
}

func downloadErrorMessage(code int) string {
	switch code {
	case http.StatusRequestedRangeNotSatisfiable:
		return "Range not satisfiable: the header is malformed or starts past the end."
	case http.StatusPreconditionFailed:
		return "Precondition failed: the content has changed."
	}
	return "Could not read the content."
}

func (w *errorBodyWriter) Write(p []byte) (int, error) {
	if err := w.await(); err != nil {
		return 0, err
	}
	if w.cut != nil {
		return 0, w.cut
	}
	if w.refused != nil {
		return 0, w.refused // ends ServeContent's copy without reading the file
	}
	if w.swallow {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// gatedReaderFrom is the server's writer when it can send a file's body
// detached, outside net/http, with its last tail bytes held until gate
// answers nil (api's transferWriter.ReadFromGated).
type gatedReaderFrom interface {
	ReadFromGated(r io.Reader, tail int64, gate func() error) (n int64, handled bool, err error)
}

func (w *errorBodyWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.pending == nil {
		return w.readFrom(r)
	}
	if g, ok := w.ResponseWriter.(gatedReaderFrom); ok && !w.pooled {
		// The server sends the body by sendfile outside net/http, as a
		// content download's, and waits for the claim before the last
		// holdBack bytes; the claim's answer is then its to await (it
		// cuts the connection on a refusal), not settle's.
		pending := w.pending
		if n, handled, err := g.ReadFromGated(r, holdBack, func() error { return <-pending }); handled {
			w.pending = nil
			return n, err
		}
	}
	// An overlapping claim: all but the last holdBack bytes go now (still
	// one *io.LimitedReader deep, so sendfile still applies), the rest once
	// it is counted, so no client has the whole body of an uncounted
	// download.
	var n int64
	if lr, ok := r.(*io.LimitedReader); ok && lr.N > holdBack {
		first := &io.LimitedReader{R: lr.R, N: lr.N - holdBack}
		m, err := w.readFrom(first)
		n, lr.N = m, lr.N-m
		if err != nil {
			return n, err
		}
	}
	if err := w.await(); err != nil {
		return n, err
	}
	m, err := w.readFrom(r)
	return n + m, err
}

func (w *errorBodyWriter) readFrom(r io.Reader) (int64, error) {
	if w.cut != nil {
		return 0, w.cut
	}
	if w.refused != nil {
		return 0, w.refused
	}
	if w.swallow {
		return io.Copy(io.Discard, r)
	}
	if w.pooled {
		// The S3 store's reader writes itself (splicing from S3's
		// connection when it can); anything else, a pooled copy.
		if lr, ok := r.(*io.LimitedReader); ok {
			if nw, ok := lr.R.(nWriterTo); ok {
				n, err := nw.WriteNTo(w.ResponseWriter, lr.N)
				lr.N -= n
				return n, err
			}
		}
		return copyPooled(w.ResponseWriter, r)
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// contentLength is the Content-Length header's value, -1 when absent.
func contentLength(h http.Header) int64 {
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *errorBodyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contentType guesses from the extension; unknown is octet-stream, so a
// browser never sniffs (nosniff) its way into running content.
func contentType(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// contentDisposition is `inline; filename=<name>` (RFC 6266). The name is
// bare when it is an RFC 9110 token, exactly as the reference server sends
// it (`inline; filename=notes.txt`: some clients match that literally), and
// a quoted-string otherwise, with non-ASCII characters replaced by '_'; a
// non-ASCII name adds the exact name as an RFC 5987 `filename*`. Control
// characters and the invisible bidirectional controls (which make
// "txt.exe" look like "exe.txt") never reach the header: names are checked
// when set, but the header must stay safe for names stored by other means.
func contentDisposition(name string) string {
	name = dispositionName(name)
	if isToken(name) {
		return "inline; filename=" + name
	}
	ascii := true
	var fb strings.Builder
	for _, r := range name {
		switch {
		case r >= 0x80:
			ascii = false
			fb.WriteByte('_')
		case r == '"' || r == '\\':
			fb.WriteByte('\\')
			fb.WriteRune(r)
		default:
			fb.WriteRune(r)
		}
	}
	v := `inline; filename="` + fb.String() + `"`
	if !ascii {
		v += "; filename*=UTF-8''" + rfc5987(name)
	}
	return v
}

// dispositionName drops from name what must never reach the header:
// control characters (C0, DEL, C1) and the bidirectional formatting
// characters (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069). Invalid
// UTF-8 becomes U+FFFD. A name left empty becomes "download".
func dispositionName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20, r >= 0x7f && r < 0xa0,
			r == 0x061c, r == 0x200e, r == 0x200f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			continue
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "download"
	}
	return b.String()
}

// isToken reports whether s is an RFC 9110 token: one or more tchars.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// rfc5987 percent-encodes every byte that is not an RFC 5987 attr-char.
func rfc5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
