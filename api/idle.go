package api

// The idle watchdog: a transfer is cut when no bytes move for the idle
// timeout, however long it takes in total.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

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
	// conn is the request's connection (ConnContext), nil when unknown:
	// files are then sent in slices each bounded by the idle deadline.
	conn connRef
	req  *http.Request
	// hdrOut: the server's WriteHeader was called. mayDetach: the request
	// has no body, so its connection may leave net/http (detach.go);
	// detached is then the body's sender, started by Wrap.
	hdrOut    bool
	mayDetach bool
	detached  *detachedSend
	// sock watches conn's socket once a download needs it (watch).
	sock     *sockWatch
	sockDone bool
	// br hands a large Write's bytes to the connection's ReadFrom
	// (sendWrite) without a copy.
	br bytes.Reader
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
	w.hdrOut = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *transferWriter) Write(p []byte) (int, error) {
	if w.detached != nil {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.wroteHeader, w.info.status = true, http.StatusOK
	}
	if len(p) >= watchedWriteMin {
		if n, ok, err := w.sendWrite(p); ok {
			return n, err
		}
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
	if w.detached != nil {
		return 0, http.ErrHijacked
	}
	f, isFile := inner.(*os.File)
	if isFile && remain > 0 && w.tryDetach(f, remain, 0, nil) {
		// The sender Wrap starts sends it: as far as the handler can
		// tell, it is sent.
		if isLR {
			lr.N = 0
		}
		return remain, nil
	}
	if isFile && w.idle > 0 {
		if s := w.watch(); s != nil {
			// See sendwait.go.
			total, err := w.readFromWatched(rf, s, f, remain)
			if isLR {
				lr.N = remain - total
			}
			return total, err
		}
	}
	if c, ok := inner.(*net.TCPConn); ok && w.streamable() {
		// Spliced from another socket (an S3 download): see sendwait.go.
		s := w.watch()
		total, err := w.sendWatched(s, remain, func(n int64) (int64, error) {
			return rf.ReadFrom(&io.LimitedReader{R: c, N: n})
		})
		if isLR {
			lr.N = remain - total
		}
		return total, err
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

// ReadFromGated is ReadFrom for a body whose last tail bytes may be sent
// only once gate has answered nil (a share link's download, counted while
// its body goes out): src must be a file behind one *io.LimitedReader, as
// http.ServeContent passes it, holding more than tail bytes. The body is
// then sent detached (detach.go): all but the tail at once, the tail after
// gate, which the sender calls exactly once, even when the client goes
// away first; a gate error closes the connection without the tail. The
// bytes are then counted as sent: handled true. handled false: nothing
// was done, gate will not be called, and the caller sends src itself.
func (w *transferWriter) ReadFromGated(src io.Reader, tail int64, gate func() error) (n int64, handled bool, err error) {
	lr, ok := src.(*io.LimitedReader)
	if !ok || tail <= 0 || lr.N <= tail || w.detached != nil {
		return 0, false, nil
	}
	f, ok := lr.R.(*os.File)
	if !ok {
		return 0, false, nil
	}
	if !w.tryDetach(f, lr.N, tail, gate) {
		return 0, false, nil
	}
	if !w.wroteHeader {
		w.wroteHeader, w.info.status = true, http.StatusOK
	}
	n, lr.N = lr.N, 0
	return n, true, nil
}

// Flush sends what is buffered.
func (w *transferWriter) Flush() {
	if w.detached != nil {
		return
	}
	w.extend()
	_ = w.ctl.Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *transferWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides ReadFrom, so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }
