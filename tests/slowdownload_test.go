package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStallSlowDownloadPastSocketBuffers: a download whose client reads
// slowly, far past what the socket buffers hold and for many idle
// timeouts, is never cut while bytes move; once the client stops reading
// it is cut after about SACHET_IDLE_TIMEOUT. (Before the watchdog looked
// at what the peer acknowledged, a sendfile slice that took longer than
// the idle timeout to drain cut such downloads.)
func TestStallSlowDownloadPastSocketBuffers(t *testing.T) {
	eachDBWith(t, obIdleConfig, func(t *testing.T, s *server) {
		id := s.newShare(s.admin, "slow.bin")
		data := randBytes(24 << 20)
		s.upload("POST", id, s.admin, data, 8<<20)

		// A small receive buffer: what the client has not read stays
		// queued on the server's side.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
			return serr
		}}
		dial := func() (net.Conn, *bufio.Reader) {
			c, err := d.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			fmt.Fprintf(c, "GET /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n\r\n", id, s.admin)
			return c, bufio.NewReaderSize(c, 16<<10)
		}
		stalled := func() float64 {
			return obMetrics(t, s)[`sachet_http_transfers_stalled_total{direction="download"}`]
		}

		// Slow but moving: 96 KiB every 40 ms, about 2.3 MiB/s, so the
		// whole takes about ten idle timeouts.
		c, br := dial()
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v %v", resp, err)
		}
		buf := make([]byte, 96<<10)
		var got []byte
		var rerr error
		t0 := time.Now()
		for {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			n, err := io.ReadFull(resp.Body, buf)
			got = append(got, buf[:n]...)
			if err != nil {
				rerr = err
				break
			}
			time.Sleep(40 * time.Millisecond)
		}
		took := time.Since(t0)
		if len(got) != len(data) || sha256Hex(got) != sha256Hex(data) {
			t.Fatalf("slow download cut: %d of %d bytes after %v (idle timeout %v): %v", len(got), len(data), took, obIdle, rerr)
		}
		if n := stalled(); n != 0 {
			t.Errorf("%v downloads counted as stalled, want 0", n)
		}
		t.Logf("slow download of %d MiB took %v, idle timeout %v", len(data)>>20, took, obIdle)

		// Slow, then stopped: cut after about the idle timeout.
		c, br = dial()
		resp, err = http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v %v", resp, err)
		}
		for range 10 {
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				t.Fatalf("slow start: %v", err)
			}
			time.Sleep(40 * time.Millisecond)
		}
		stop := time.Now()
		obEventually(t, obIdle+5*time.Second, "the stopped download was not cut", func() bool { return stalled() >= 1 })
		cutAfter := time.Since(stop)
		if cutAfter < obIdle/2 {
			t.Errorf("cut %v after the client stopped reading, want about %v", cutAfter, obIdle)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := io.Copy(io.Discard, resp.Body)
		if 10*int64(len(buf))+n >= int64(len(data)) {
			t.Error("the whole content arrived after the client stopped: the download was not cut")
		}
		t.Logf("stopped download cut %v after the client stopped reading", cutAfter)
		expect(t, s.req("GET", "/whoami", s.admin, nil), 200)
	})
}
