package api

// Sending a file to a slow client. A download is stalled when the peer has
// acknowledged no bytes for the idle timeout, not when one write slice did
// not finish within it: at 64 KiB/s a 4 MiB slice takes a minute, and with
// thousands of clients sharing the machine longer still, so a per-slice
// deadline cut slow but moving downloads.
//
// So between slices the goroutine parks on the socket itself until it can
// take more (TCP_NOTSENT_LOWAT keeps the queue short and wakes us when it
// drains), outside net/http's ReadFrom, which holds a 32 KiB copy buffer for
// as long as it runs: a parked download then holds no buffer. The write
// deadline is only a probe: when it passes, the socket's acknowledged byte
// count says whether the client is still reading, and only a download
// whose peer acknowledged nothing for the idle timeout is cut.

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

const (
	// sendLowat is TCP_NOTSENT_LOWAT for downloads: enough unsent data
	// queued that a slow client wakes its goroutine every few seconds
	// (each wake costs a handful of syscalls; at 128 KiB, ten thousand
	// clients at 64 KiB/s cost the server more CPU than sendfile did), yet
	// bounded so a slow client does not hold the socket's whole buffer.
	// The bytes queued are page-cache pages sendfile references, not
	// copies.
	sendLowat = 512 << 10
	// A download whose client took its first fastAfter bytes at fastRate
	// (bytes/s) or more goes on under the larger mark sendLowatFast,
	// until a send waits past slowWait (sockWatch.paced).
	sendLowatFast = 4 << 20
	fastAfter     = 8 << 20
	fastRate      = 128 << 20
	slowWait      = 50 * time.Millisecond
	// A slice is what the socket can take now (sendRoom), at least
	// minSlice and at most sliceBytes; where the room is unknown it
	// starts at firstSlice, doubles while the socket takes each slice
	// without waiting and halves when it had to wait.
	firstSlice = 256 << 10
	minSlice   = 16 << 10
)

// sockWatch follows one download's socket.
type sockWatch struct {
	rc    syscall.RawConn
	acked uint64    // the peer's acknowledged bytes when last looked at
	moved time.Time // when they were last seen to grow
	lowat int       // the socket's TCP_NOTSENT_LOWAT now
	// For paced: when the first send began, the bytes sent since, and
	// whether the mark was ever raised.
	start  time.Time
	sent   int64
	raised bool
}

// watchSock returns a watch over c's socket, or nil where the socket
// cannot say what the peer acknowledged (not TCP, not Linux).
func watchSock(c net.Conn) *sockWatch {
	sc, ok := c.(syscall.Conn)
	if c == nil || !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	acked, ok := bytesAcked(rc)
	if !ok {
		return nil
	}
	setNotsentLowat(rc, sendLowat)
	return &sockWatch{rc: rc, acked: acked, moved: time.Now(), lowat: sendLowat}
}

// paced is told that a send that began at began put n bytes on the socket.
// A client that keeps up takes the body in large sends: once it has taken
// fastAfter bytes at fastRate or more, the unsent mark goes up to
// sendLowatFast, so a wake-up queues up to 4 MiB (at 512 KiB a one-stream
// download on loopback woke several times as often and ran at 0.8–0.9×
// nginx, which sends until the buffer is full). A slow client never gets
// the larger queue, and a send that waits past slowWait puts the mark back
// for the rest of the response.
func (s *sockWatch) paced(n int64, began time.Time) {
	now := time.Now()
	if s.start.IsZero() {
		s.start = began
	}
	s.sent += n
	switch {
	case s.lowat == sendLowatFast && now.Sub(began) > slowWait:
		s.setLowat(sendLowat)
	case !s.raised && s.sent >= fastAfter && float64(s.sent) >= fastRate*now.Sub(s.start).Seconds():
		s.setLowat(sendLowatFast)
		s.raised = true
	}
}

func (s *sockWatch) setLowat(n int) {
	setNotsentLowat(s.rc, n)
	s.lowat = n
}

// alive reports whether the peer acknowledged bytes within the last idle.
func (s *sockWatch) alive(now time.Time, idle time.Duration) bool {
	if a, ok := bytesAcked(s.rc); ok && a != s.acked {
		s.acked, s.moved = a, now
	}
	return now.Sub(s.moved) < idle
}

// readFromWatched sends remain bytes (-1: to EOF) of f through rf, the
// server's sendfile path, waiting on the socket between slices.
func (w *transferWriter) readFromWatched(rf io.ReaderFrom, s *sockWatch, f *os.File, remain int64) (total int64, err error) {
	// The deadline is a probe, a quarter of the idle timeout: a stall is
	// then cut between idle and 1.25 idle after the peer's last ack.
	probe := w.idle / 4
	slice := int64(firstSlice)
	// Where the file stands: net/http falls back from sendfile to a copy
	// through a 32 KiB buffer when the deadline has passed before the
	// call, and that copy reads from the file what it then fails to send.
	// After a timeout the file is put back to what was sent.
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	var set time.Time
	for remain != 0 {
		// The probe deadline is pushed back only when half of it is
		// spent: a timer update per wake-up is measurable at thousands of
		// clients.
		if now := time.Now(); now.Sub(set) > probe/2 {
			_ = w.ctl.SetWriteDeadline(now.Add(probe))
			set = now
		}
		var waited bool
		waited, err = waitWritable(s.rc)
		if err != nil {
			if isTimeout(err) && s.alive(time.Now(), w.idle) {
				continue
			}
			w.count(0, err)
			break
		}
		// As much as the socket takes without waiting: a slice that does
		// not fit waits inside net/http's ReadFrom, holding its buffer.
		slice = s.nextSlice(slice, waited)
		n := slice
		if remain > 0 && remain < n {
			n = remain
		}
		var m int64
		began := time.Now()
		m, err = rf.ReadFrom(&io.LimitedReader{R: f, N: n})
		s.paced(m, began)
		total += m
		if remain > 0 {
			remain -= m
		}
		if err != nil && isTimeout(err) {
			if _, serr := f.Seek(start+total, io.SeekStart); serr != nil {
				w.count(m, err)
				break
			}
		}
		if err != nil && isTimeout(err) && s.alive(time.Now(), w.idle) {
			// Timed out mid-slice while the client still reads: the
			// connection stays usable, go on from where sendfile stopped.
			w.count(m, nil)
			err = nil
			continue
		}
		w.count(m, err)
		if err != nil || m < n {
			break
		}
	}
	return total, err
}

// Content that is not a local file (S3) reaches the client as large
// writes (pooled copies) or spliced from S3's socket. Written through
// net/http's buffered writer, a write that times out poisons the
// connection, and spliced bytes sit in a pipe that a timeout discards: so
// a per-write deadline cut slow but moving downloads, or lost bytes. Both
// are instead handed to the connection's own ReadFrom in slices the socket
// can take now (a write slice goes by one write(2), no copy), after
// waiting on the socket as a file does, with the deadline pushed a whole
// idle timeout ahead of each slice. A slice that the socket could take
// when it began, and that is still not sent after the idle timeout, means
// the peer acknowledged nothing meanwhile: that cut is a real stall.

// watchedWriteMin is the smallest Write sent that way: a handler's small
// writes stay in net/http's buffer.
const watchedWriteMin = 32 << 10

// watch returns the request's socket watch, set up on first use; nil where
// the socket cannot say what the peer acknowledged.
func (w *transferWriter) watch() *sockWatch {
	if !w.sockDone {
		w.sockDone = true
		w.sock = watchSock(w.conn.c)
	}
	return w.sock
}

// streamable reports whether the response's body may go through
// sendWatched: an idle timeout, a watched socket, and a body net/http
// sends raw through the connection's ReadFrom (a Content-Length, so not
// chunked).
func (w *transferWriter) streamable() bool {
	if w.idle <= 0 || w.Header().Get("Content-Length") == "" {
		return false
	}
	if _, ok := w.ResponseWriter.(io.ReaderFrom); !ok {
		return false
	}
	return w.watch() != nil
}

// sendWrite sends a large Write's p through sendWatched; ok is false when
// the response is not streamable (p is then to be written as usual).
func (w *transferWriter) sendWrite(p []byte) (n int, ok bool, err error) {
	if !w.streamable() {
		return 0, false, nil
	}
	rf := w.ResponseWriter.(io.ReaderFrom)
	off := 0
	total, err := w.sendWatched(w.sock, int64(len(p)), func(k int64) (int64, error) {
		// net/http's ReadFrom hands a bytes.Reader to the socket's
		// io.Copy, which calls its WriteTo: one write(2) of p itself.
		w.br.Reset(p[off : off+int(k)])
		m, err := rf.ReadFrom(&w.br)
		off += int(m)
		return m, err
	})
	return int(total), true, err
}

// sendWatched sends remain bytes (-1: until send returns short) by calls
// of send(n), each for at most what the socket takes now.
func (w *transferWriter) sendWatched(s *sockWatch, remain int64, send func(n int64) (int64, error)) (total int64, err error) {
	probe := w.idle / 4
	slice := int64(firstSlice)
	// The stall is counted from here: the handler may have spent a while
	// (reading S3) since the last look, with nothing to send.
	s.alive(time.Now(), w.idle)
	s.moved = time.Now()
	for remain != 0 {
		_ = w.ctl.SetWriteDeadline(time.Now().Add(probe))
		var waited bool
		waited, err = waitWritable(s.rc)
		if err != nil {
			if isTimeout(err) && s.alive(time.Now(), w.idle) {
				continue
			}
			w.count(0, err)
			return total, err
		}
		slice = s.nextSlice(slice, waited)
		n := slice
		if remain > 0 && remain < n {
			n = remain
		}
		now := time.Now()
		_ = w.ctl.SetWriteDeadline(now.Add(w.idle))
		w.last = now // extend's next push is due from here
		var m int64
		m, err = send(n)
		s.paced(m, now)
		total += m
		if remain > 0 {
			remain -= m
		}
		w.count(m, err)
		if err != nil || m < n {
			return total, err
		}
	}
	return total, nil
}

// nextSlice sizes the next write slice: what the socket can take now, or,
// where that is unknown, half the last slice after a wait and twice it
// when none was needed, within [minSlice, sliceBytes].
func (s *sockWatch) nextSlice(slice int64, waited bool) int64 {
	if room, ok := sendRoom(s.rc, s.lowat); ok {
		return min(max(room, minSlice), sliceBytes)
	}
	if waited {
		return max(slice/2, minSlice)
	}
	return min(slice*2, sliceBytes)
}
