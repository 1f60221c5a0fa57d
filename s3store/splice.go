package s3store

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
)

// Downloads, socket to socket.
//
// A download through Sachet crosses the machine twice (S3 → Sachet →
// client), and on a busy host the two copies through user space cost
// half the rate of a direct GET (bench/README.md, S3). Over plain http://
// the S3 response body is, after its headers, nothing but the object's
// bytes on a TCP connection; handed to the client's connection as an
// *io.LimitedReader of that *net.TCPConn, net/http's ReadFrom moves them
// with splice(2) on Linux, never through user space (elsewhere, an
// ordinary copy: still right).
//
// The S3 connection is learnt with httptrace's GotConn when the GET is
// sent. To read from it directly, nothing of the body may be left in a
// buffer above it: WriteNTo first hands over what our bufio.Reader holds,
// then reads the body once through net/http with a buffer at least as
// large as the transport's (bufio returns everything buffered, and a
// read larger than its buffer goes straight to the socket, so after it
// the transport holds nothing), and only then splices exactly the bytes
// left of the download, which the Content-Length says are on the wire.
// Afterwards net/http still believes part of the body unread, so closing
// the body closes the connection instead of reusing it: one connection
// per spliced download, never one in an unknown state.
//
// It is not used (the pooled copy is) when the connection is not a plain
// *net.TCPConn (TLS), the response has no exact Content-Length or has a
// Content-Encoding, the download is small, or the body is not where the
// download starts; TestSpliceDownloads covers the paths.

const (
	// spliceMin is the smallest download worth a connection of its own.
	spliceMin = 1 << 20
	// drainMin bounds the transport's read buffer (Open sets it): the
	// draining read must be at least this large.
	drainMin = 64 << 10
)

// splicedBytes counts the bytes spliced, for tests to tell the paths
// apart.
var splicedBytes atomic.Int64

// copyPool holds the buffers of copies that do not splice.
var copyPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// getBody sends a GET (ranged by opts) and returns its body and, when the
// body may be spliced from it, the connection it arrives on. want is the
// body's length, -1 for the whole object's.
func (s *Store) getBody(ctx context.Context, key string, opts minio.GetObjectOptions, want int64) (io.ReadCloser, minio.ObjectInfo, *net.TCPConn, error) {
	var mu sync.Mutex
	var conn net.Conn
	if s.splice {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
			mu.Lock()
			conn = i.Conn // a retry's connection replaces the failed one's
			mu.Unlock()
		}})
	}
	body, info, h, err := s.core.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, info, nil, err
	}
	mu.Lock()
	tcp, _ := conn.(*net.TCPConn)
	mu.Unlock()
	if want < 0 {
		want = info.Size
	}
	if tcp != nil && (want < 0 || !spliceable(h, want)) {
		tcp = nil
	}
	return body, info, tcp, nil
}

// spliceable reports whether a response's body is exactly want raw bytes
// on the wire.
func spliceable(h http.Header, want int64) bool {
	if e := h.Get("Content-Encoding"); e != "" && e != "identity" {
		return false
	}
	if h.Get("Transfer-Encoding") != "" {
		return false
	}
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	return err == nil && n == want
}

// WriteNTo writes the next n bytes of the object to w (a download's
// http.ResponseWriter), splicing them from the S3 connection when it can
// and copying through a pooled buffer otherwise.
func (r *rangeReader) WriteNTo(w io.Writer, n int64) (int64, error) {
	if n > r.size-r.off {
		n = r.size - r.off
	}
	if n < spliceMin {
		return r.copyN(w, n)
	}
	if r.body == nil || r.bodyOff != r.off {
		if err := r.openAt(r.off); err != nil {
			return 0, err
		}
	}
	if r.conn == nil {
		return r.copyN(w, n)
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	buf := *bp
	written := int64(0)
	// 1. What our bufio.Reader holds.
	if b := int64(r.body.Buffered()); b > 0 {
		m, err := r.readInto(w, buf[:min(b, n)])
		written += m
		if err != nil {
			return written, err
		}
	}
	// 2. One read through net/http, large enough to empty its buffer.
	if n-written < drainMin {
		m, err := r.copyN(w, n-written)
		return written + m, err
	}
	m, err := r.readRawInto(w, buf[:min(int64(len(buf)), n-written)])
	written += m
	if err != nil || written == n {
		return written, err
	}
	// 3. The rest, straight from the socket. The body is out of step
	// with net/http from here on: closed, never read again.
	rest := n - written
	lr := &io.LimitedReader{R: r.conn, N: rest}
	var sent int64
	if rf, ok := w.(io.ReaderFrom); ok {
		sent, err = rf.ReadFrom(lr)
	} else {
		sent, err = io.CopyBuffer(w, lr, buf)
	}
	r.off += sent
	written += sent
	splicedBytes.Add(sent)
	r.body.Close()
	r.body, r.conn = nil, nil
	if err == nil && sent < rest {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		// Either side may have failed (S3, or the client hanging up), and
		// the headers are out: no kind to give.
		return written, fmt.Errorf("s3store: splicing a download: %w", err)
	}
	return written, nil
}

// readInto reads len(p) bytes through the body's bufio.Reader (which
// holds at least that many) and writes them to w.
func (r *rangeReader) readInto(w io.Writer, p []byte) (int64, error) {
	k, err := io.ReadFull(r, p)
	if err != nil {
		return 0, err
	}
	m, err := w.Write(p[:k])
	return int64(m), err
}

// readRawInto reads once from the body beneath the (empty) bufio.Reader
// and writes what came to w.
func (r *rangeReader) readRawInto(w io.Writer, p []byte) (int64, error) {
	k, err := r.body.body.Read(p)
	r.off += int64(k)
	r.bodyOff += int64(k)
	if err == io.EOF && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		r.body.Close()
		r.body, r.conn = nil, nil
		err = r.s.fail(err, "reading content")
	}
	m, werr := w.Write(p[:k])
	if err == nil {
		err = werr
	}
	return int64(m), err
}

// copyN copies n bytes through a pooled buffer. w is wrapped so that
// io.CopyBuffer cannot hand the copy to w's own ReadFrom (net/http's
// copies 32 KiB at a time).
func (r *rangeReader) copyN(w io.Writer, n int64) (int64, error) {
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	return io.CopyBuffer(writerOnly{w}, io.LimitReader(r, n), *bp)
}

type writerOnly struct{ io.Writer }
