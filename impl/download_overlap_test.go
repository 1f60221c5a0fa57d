package impl

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestOverlappingClaim: a large body's claim runs while the body is sent;
// the body's last bytes wait for it, and a refused claim stops the body
// short of its Content-Length (net/http then closes the connection), so
// no client gets the whole body of a download that was not counted. A
// small body's claim still comes first, and a refusal answers instead.
func TestOverlappingClaim(t *testing.T) {
	const size = 2 << 20
	body := bytes.Repeat([]byte("x"), size)
	send := func(t *testing.T, n int, claimErr error) (*httptest.ResponseRecorder, int64, error, bool) {
		t.Helper()
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Length", strconv.Itoa(n))
		release := make(chan struct{})
		var started bool
		ew := &errorBodyWriter{ResponseWriter: rec, overlap: true, claim: func(status int, s bool) error {
			started = s
			<-release
			return claimErr
		}}
		if n >= overlapMin {
			ew.WriteHeader(http.StatusOK)
			if rec.Code != http.StatusOK {
				t.Fatalf("header not sent before the claim answered: %d", rec.Code)
			}
			close(release)
		} else {
			close(release)
			ew.WriteHeader(http.StatusOK)
		}
		lr := &io.LimitedReader{R: bytes.NewReader(body[:n]), N: int64(n)}
		m, err := ew.ReadFrom(lr)
		ew.settle()
		return rec, m, err, started
	}
	t.Run("Counted", func(t *testing.T) {
		rec, m, err, started := send(t, size, nil)
		if err != nil || m != size || rec.Body.Len() != size || !started {
			t.Errorf("sent %d (%d recorded), err %v, started %v", m, rec.Body.Len(), err, started)
		}
	})
	t.Run("RefusedCutsTheBody", func(t *testing.T) {
		gone := errors.New("revoked")
		rec, m, err, _ := send(t, size, gone)
		if !errors.Is(err, gone) || m != size-holdBack || rec.Body.Len() != size-holdBack {
			t.Errorf("sent %d (%d recorded), err %v; want %d and the claim's error", m, rec.Body.Len(), err, size-holdBack)
		}
	})
	t.Run("SmallBodyClaimsFirst", func(t *testing.T) {
		gone := errors.New("revoked")
		rec, m, err, started := send(t, 1000, gone)
		if !errors.Is(err, gone) || m != 0 || rec.Body.Len() != 0 || started {
			t.Errorf("sent %d (%d recorded), err %v, started %v", m, rec.Body.Len(), err, started)
		}
	})
}

// gatedRecorder is a server writer that sends bodies detached, holding
// their tail for the gate (api's transferWriter.ReadFromGated).
type gatedRecorder struct {
	*httptest.ResponseRecorder
	tail int64
	gate func() error
}

func (g *gatedRecorder) ReadFromGated(r io.Reader, tail int64, gate func() error) (int64, bool, error) {
	lr := r.(*io.LimitedReader)
	g.tail, g.gate = tail, gate
	n := lr.N
	lr.N = 0
	return n, true, nil
}

// TestOverlappingClaimGated: where the server can send the body detached,
// the overlapping claim's answer is handed to it as the gate for the last
// holdBack bytes; settle then leaves it alone (it does not wait, nor take
// the answer from the gate), and the gate has the claim's answer.
func TestOverlappingClaimGated(t *testing.T) {
	for _, claimErr := range []error{nil, errors.New("revoked")} {
		const size = 2 << 20
		rec := &gatedRecorder{ResponseRecorder: httptest.NewRecorder()}
		rec.Header().Set("Content-Length", strconv.Itoa(size))
		release := make(chan struct{})
		ew := &errorBodyWriter{ResponseWriter: rec, overlap: true, claim: func(int, bool) error {
			<-release
			return claimErr
		}}
		ew.WriteHeader(http.StatusOK)
		lr := &io.LimitedReader{R: bytes.NewReader(make([]byte, size)), N: size}
		if n, err := ew.ReadFrom(lr); n != size || err != nil || rec.gate == nil || rec.tail != holdBack {
			t.Fatalf("ReadFrom: %d, %v; gate set %v, tail %d", n, err, rec.gate != nil, rec.tail)
		}
		ew.settle() // the claim is still running: must not wait for it
		close(release)
		if err := rec.gate(); err != claimErr {
			t.Errorf("gate answered %v, want the claim's %v", err, claimErr)
		}
	}
}
