package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bdProcMem reads VmRSS and VmHWM (KiB) of a process.
func bdProcMem(t testing.TB, pid int) (rss, hwm int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n
		case "VmHWM:":
			hwm = n
		}
	}
	return rss, hwm
}

// 64 connections, each sending an upload whose one part header is 9 MiB,
// three times over, keep the real binary under 128 MiB (its peak, VmHWM),
// while ordinary requests next to them are served. Without the multipart
// bounds each such header cost about 20 MiB of server memory.
func TestBoundedHostileHeadersRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	const (
		conns     = 64
		rounds    = 3
		headerLen = 9 << 20
		maxHWMKiB = 128 << 10
	)
	bin := buildSachet(t)
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			p := newSachet(t, bin, d)
			pid := p.cmd.Process.Pid
			target := p.s.newShare(p.s.admin, "target.bin")
			_, startHWM := bdProcMem(t, pid)

			hostile := func() (int, error) {
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.url, "http://"), 5*time.Second)
				if err != nil {
					return 0, err
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
				const boundary = "hostile-boundary-0123456789"
				head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"dzuuid\"\r\nX-Pad: "
				tail := "\r\n\r\nu\r\n--" + boundary + "--\r\n"
				fmt.Fprintf(c, "POST /files/%s/content HTTP/1.1\r\nHost: sachet\r\nAuthorization: Bearer %s\r\n"+
					"Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
					target, p.s.admin, boundary, len(head)+headerLen+len(tail), head)
				go func() { // the server may answer, and close, long before the body ends
					pad := bytes.Repeat([]byte("a"), 64<<10)
					for sent := 0; sent < headerLen; sent += len(pad) {
						if _, err := c.Write(pad); err != nil {
							return
						}
					}
					c.Write([]byte(tail))
				}()
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return 0, err
				}
				resp.Body.Close()
				return resp.StatusCode, nil
			}

			var answered400, cut atomic.Int64
			stop := make(chan struct{})
			var served atomic.Int64
			otherDone := make(chan struct{})
			go func() { // ordinary traffic, served all along
				defer close(otherDone)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := p.s.newShare(p.s.admin, "ok.txt")
					expect(t, p.s.sendChunk("POST", id, p.s.admin, chunk{UUID: "u", Index: 0, Total: 1, Data: []byte("ordinary")}), 201)
					expect(t, p.s.req("GET", "/files/"+id+"/content", p.s.admin, nil), 200)
					served.Add(1)
				}
			}()
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					for range rounds {
						code, err := hostile()
						switch {
						case err != nil:
							cut.Add(1) // closed before the answer could be read
						case code == 400:
							answered400.Add(1)
						default:
							t.Errorf("hostile upload answered %d, want 400", code)
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			within(t, 2*time.Minute, "the ordinary traffic, after it was told to stop", otherDone)
			rss, hwm := bdProcMem(t, pid)
			t.Logf("%s: %d hostile uploads (%d × %d MiB header): %d answered 400, %d cut; %d ordinary uploads served meanwhile; server VmHWM %.1f MiB (%.1f MiB before), VmRSS %.1f MiB",
				d, conns*rounds, conns, headerLen>>20, answered400.Load(), cut.Load(), served.Load(), float64(hwm)/1024, float64(startHWM)/1024, float64(rss)/1024)
			if hwm > maxHWMKiB {
				t.Errorf("server peak RSS %.1f MiB, over %d MiB", float64(hwm)/1024, maxHWMKiB>>10)
			}
			if answered400.Load() == 0 {
				t.Error("no hostile upload was answered 400")
			}
			if served.Load() == 0 {
				t.Error("no ordinary request was served meanwhile")
			}
		})
	}
}
