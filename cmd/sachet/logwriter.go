package main

import (
	"io"
	"sync"
)

// logWriter hands the log to its writer from one goroutine, joining the
// lines that arrive while a write is under way into the next one. Idle, a
// line is written at once (a goroutine's wake-up later); busy, many
// requests' access-log lines share one write(2) instead of one each (issue
// 14 item 4: the log's write was a fifth of a small range's syscalls).
// Close writes what is left. A crash loses at most the lines of the
// write in progress and those queued behind it.
type logWriter struct {
	mu      sync.Mutex
	cond    sync.Cond // data queued, room made, or closing
	buf     []byte
	closed  bool
	w       io.Writer
	done    chan struct{}
	scratch []byte
}

// logQueueMax bounds what waits: beyond it a line waits for the write
// in progress, as it used to wait for its own.
const logQueueMax = 256 << 10

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w, done: make(chan struct{})}
	l.cond.L = &l.mu
	go l.loop()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	for len(l.buf) >= logQueueMax && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	l.cond.Broadcast()
	return len(p), nil
}

func (l *logWriter) loop() {
	defer close(l.done)
	l.mu.Lock()
	for {
		for len(l.buf) == 0 && !l.closed {
			l.cond.Wait()
		}
		if len(l.buf) == 0 {
			l.mu.Unlock()
			return
		}
		out := l.buf
		l.buf = l.scratch[:0]
		l.cond.Broadcast() // room for writers held back
		l.mu.Unlock()
		_, _ = l.w.Write(out) // as slog would: a log write error has no one to go to
		l.mu.Lock()
		if cap(out) <= 4*logQueueMax {
			l.scratch = out[:0]
		} else {
			l.scratch = nil
		}
	}
}

// Close writes what is queued; later writes go straight through.
func (l *logWriter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	return nil
}
