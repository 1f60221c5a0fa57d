//go:build linux

package api

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// notsentLowat reads the socket's TCP_NOTSENT_LOWAT back.
func notsentLowat(t *testing.T, s *sockWatch) int {
	t.Helper()
	var v int
	var err error
	if cerr := s.rc.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT)
	}); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The unsent mark goes up once, only after fastAfter bytes at fastRate or
// more, and down again for good after a send that waited past slowWait;
// nextSlice sizes slices under the mark the socket has now.
func TestSockWatchPaced(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peer <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := <-peer; p != nil {
		defer p.Close()
	}
	s := watchSock(c)
	if s == nil {
		t.Fatal("no watch over a loopback TCP socket")
	}
	step := func(what string, n int64, took time.Duration, want int) {
		t.Helper()
		s.paced(n, time.Now().Add(-took))
		if s.lowat != want || notsentLowat(t, s) != want {
			t.Fatalf("%s: mark %d (socket %d), want %d", what, s.lowat, notsentLowat(t, s), want)
		}
	}
	if got := notsentLowat(t, s); got != sendLowat {
		t.Fatalf("a new watch: mark %d, want %d", got, sendLowat)
	}
	// Fast, but not yet fastAfter bytes: the mark stays.
	step("first 4 MiB fast", fastAfter/2, time.Millisecond, sendLowat)
	// fastAfter bytes at well over fastRate: up.
	step("8 MiB fast", fastAfter/2, time.Millisecond, sendLowatFast)
	if room := s.nextSlice(firstSlice, false); room <= sendLowat {
		t.Errorf("an empty socket under the raised mark offers a slice of %d, want more than %d", room, sendLowat)
	}
	step("a quick send", 1<<20, time.Millisecond, sendLowatFast)
	// One send that waited past slowWait: down.
	step("a send that waited", 1<<20, 2*slowWait, sendLowat)
	// Never up again in the same response, however fast.
	step("fast again", 64<<20, time.Millisecond, sendLowat)
	if room := s.nextSlice(firstSlice, false); room > sendLowat {
		t.Errorf("under the low mark a slice of %d, want at most %d", room, sendLowat)
	}

	// A client slow from the start never gets the larger queue.
	s2 := watchSock(c)
	s2.paced(fastAfter, time.Now().Add(-time.Second)) // 8 MiB/s
	if s2.lowat != sendLowat {
		t.Errorf("a slow client's mark went to %d", s2.lowat)
	}
}
