package api

// Detached downloads. While net/http sends a body, its connection holds a
// goroutine whose stack grew through echo, validation, the strict handler
// and ServeContent (~16 KiB), net/http's background reader, a 4 KiB bufio
// reader and writer each, and the response's state: about 30 KiB per slow
// client, for as long as it reads. So a large file body is sent outside
// net/http: once the headers are written, the connection is hijacked, the
// handler returns, and a goroutine that starts at a shallow stack sends
// the file with sendfile, parking in the runtime's poller between slices
// (see sendwait.go for why a stall is judged by the peer's acks). When the
// body is complete the connection goes back to the server (Listener), as
// a keep-alive connection; the access-log line is written then, with the
// bytes sent.

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// detachMin is the smallest body sent detached: a smaller one fits the
// socket's buffer, or nearly, and is sent at once where it is.
const detachMin = 1 << 20

// detachSlice is the most one sendfile call of the detached sender sends:
// 2 MiB, nginx's default sendfile_max_chunk. On loopback one call also runs
// the receiving side's TCP input; against nginx, one-stream 1 GiB downloads
// with 2 MiB calls did slightly better than with 4 MiB (35 paired runs
// each, median ratio content/link 0.96/0.95x against 0.95/0.89x), within
// the noise of this 2-core machine (bench/README.md, session 8).
const detachSlice = 2 << 20

// detachedSend is one body being sent outside net/http.
type detachedSend struct {
	c      net.Conn
	rc     syscall.RawConn
	watch  *sockWatch
	src    *os.File // the handler's file, which it closes, duplicated (sharedfile.go)
	srcKey fileKey
	off    int64 // where in src the rest of the body starts
	remain int64
	// gate, when set, must answer nil before the body's last tail bytes
	// go out (ReadFromGated); an error ends the connection without them.
	gate   func() error
	tail   int64
	keep   bool // the connection may carry another request after the body
	ln     *Listener
	idle   time.Duration
	info   *reqInfo
	finish func() // writes the access log; set by Wrap
}

// tryDetach hands the rest of the body, remain bytes of f from its
// current offset, to a detachedSend, which Wrap starts once the handler
// has returned; its last tail bytes wait for gate when that is set (see
// ReadFromGated). false: nothing was done, the body is sent here.
func (w *transferWriter) tryDetach(f *os.File, remain, tail int64, gate func() error) bool {
	if w.conn.l == nil || !w.mayDetach || !canSendfile || remain < detachMin {
		return false
	}
	// Only a body whose end the client knows from Content-Length: the
	// connection is then reusable after it, and nothing is chunked.
	if w.Header().Get("Content-Length") != strconv.FormatInt(remain, 10) {
		return false
	}
	tc, ok := w.conn.c.(*net.TCPConn)
	if !ok {
		return false
	}
	watch := watchSock(tc)
	if watch == nil {
		return false
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false
	}
	src, key, err := acquireFile(f)
	if err != nil {
		return false // out of descriptors, say: send it here
	}
	if !w.conn.l.detach(tc) { // shutting down
		releaseFile(key)
		return false
	}
	if !w.hdrOut {
		w.ResponseWriter.WriteHeader(http.StatusOK)
		w.hdrOut = true
	}
	// Hijack writes the headers, stops the background reader and leaves
	// the connection's deadlines cleared.
	_, buf, err := w.ctl.Hijack()
	if err != nil {
		w.conn.l.forget(tc)
		releaseFile(key)
		return false
	}
	// Bytes already read past this request are a pipelined next request:
	// rare enough that the connection is closed after the body instead.
	keep := buf.Reader.Buffered() == 0 && w.req.ProtoAtLeast(1, 1) && !w.req.Close &&
		!hasCloseToken(w.Header()["Connection"])
	rc, _ := tc.SyscallConn() // watchSock had one
	w.detached = &detachedSend{c: tc, rc: rc, watch: watch, src: src, srcKey: key, off: off, remain: remain,
		gate: gate, tail: tail, keep: keep, ln: w.conn.l, idle: w.idle, info: w.info}
	return true
}

// run sends the body, logs the request, and hands the connection back.
func (d *detachedSend) run() {
	err := d.send()
	releaseFile(d.srcKey)
	if d.gate != nil {
		// The body stopped before the gate (the client went away): the
		// request still ends only once the gate has answered, as it would
		// have in net/http (a download that started is settled before the
		// request is logged and before Drain lets the server go).
		_ = d.gate()
		d.gate = nil
	}
	keep := err == nil && d.keep
	if keep {
		_ = d.c.SetDeadline(time.Time{})
	}
	d.finish()
	if keep {
		keep = d.ln.awaitNext(d.c, d.rc)
	}
	d.ln.handBack(d.c, keep)
}

// send is the sendfile loop; a stall is cut as in readFromWatched.
func (d *detachedSend) send() error {
	srcfd := -1
	if sc, err := d.src.SyscallConn(); err == nil {
		_ = sc.Control(func(fd uintptr) { srcfd = int(fd) })
	}
	if srcfd < 0 {
		return os.ErrInvalid
	}
	probe := d.idle / 4
	var set time.Time
	for d.remain > 0 {
		if d.gate != nil && d.remain <= d.tail {
			// The tail goes only once the gate lets it: refused, the
			// body stays short of its Content-Length and the connection
			// is closed (run), so the client sees the transfer fail.
			err := d.gate()
			d.gate = nil
			if err != nil {
				return err
			}
		}
		chunk := min(d.remain, detachSlice)
		if d.gate != nil {
			chunk = min(chunk, d.remain-d.tail)
		}
		if d.idle > 0 {
			if now := time.Now(); now.Sub(set) > probe/2 {
				_ = d.c.SetWriteDeadline(now.Add(probe))
				set = now
			}
		}
		began := time.Now()
		n, err := sendfileSock(d.rc, srcfd, &d.off, chunk)
		d.watch.paced(n, began)
		d.remain -= n
		d.info.bytesOut.Add(n)
		switch {
		case err == nil && n == 0:
			return io.ErrUnexpectedEOF // the file is shorter than its share says
		case err == nil:
		case isTimeout(err) && d.watch.alive(time.Now(), d.idle):
			set = time.Time{} // the client still reads: probe again
		default:
			if isTimeout(err) {
				d.info.stallOut.Store(true)
			}
			return err
		}
	}
	return nil
}

// hasCloseToken reports a "close" among Connection header values.
func hasCloseToken(values []string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "close") {
				return true
			}
		}
	}
	return false
}
