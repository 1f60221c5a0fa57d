package auth

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswordsHashAndCheck(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	h, err := p.Hash(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 73)
	hLong, err := bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hash, pw string
		want           bool
	}{
		{"right password", h, "secret", true},
		{"wrong password", h, "Secret", false},
		{"no such user", "", "secret", false},
		{"over 72 bytes never matches", string(hLong), long, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := p.Check(ctx, c.hash, c.pw)
			if err != nil || ok != c.want {
				t.Fatalf("Check = %v, %v; want %v, nil", ok, err, c.want)
			}
		})
	}
}

// threadNice reads the calling thread's nice value from /proc.
func threadNice(t *testing.T) int {
	b, err := os.ReadFile("/proc/thread-self/stat")
	if err != nil {
		t.Skipf("no /proc/thread-self: %v", err)
	}
	// Fields after the command name, which ends with the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	n, err := strconv.Atoi(f[16]) // field 19 of stat: nice
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPasswordsRunNicedOnTheirOwnThreads(t *testing.T) {
	if !Niceable {
		t.Skip("thread priorities are Linux-only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base := threadNice(t)
	if base >= 10 {
		t.Skipf("the test already runs at nice %d", base)
	}
	p, err := NewPasswords(bcrypt.MinCost, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 4 {
		var nice int
		if err := p.do(context.Background(), func() { nice = threadNice(t) }); err != nil {
			t.Fatal(err)
		}
		if nice != 10 {
			t.Fatalf("a password worker runs at nice %d, want 10", nice)
		}
	}
	if got := threadNice(t); got != base {
		t.Fatalf("the caller's thread went from nice %d to %d", base, got)
	}
}

func TestPasswordsWaiterGivesUpWithItsContext(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hold, held := make(chan struct{}), make(chan struct{})
	go p.do(context.Background(), func() { close(held); <-hold }) // the only worker is busy
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := p.Check(ctx, "", "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check while the worker is busy = %v, want the context's error", err)
	}
	close(hold)
	if ok, err := p.Check(context.Background(), "", "x"); err != nil || ok {
		t.Fatalf("Check against the dummy hash = %v, %v; want false, nil", ok, err)
	}
}

func TestPasswordsClosed(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // twice is harmless
	if _, err := p.Hash(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Hash after Close = %v, want ErrClosed", err)
	}
}

func TestPasswordsOnBusyCountsComputations(t *testing.T) {
	const workers = 3
	p, err := NewPasswords(bcrypt.MinCost, workers, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var running, peak, calls int // guarded by Passwords' busyMu
	p.OnBusy(func(delta int) {
		running += delta
		peak = max(peak, running)
		calls++
		if running < 0 || running > workers {
			t.Errorf("%d computations under way, with %d workers", running, workers)
		}
	})
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := p.Check(context.Background(), "", "x"); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 8 {
		<-done
	}
	p.busyMu.Lock()
	defer p.busyMu.Unlock()
	if running != 0 || calls != 16 || peak < 1 {
		t.Fatalf("after 8 checks: %d under way, %d calls, peak %d; want 0, 16, ≥1", running, calls, peak)
	}
}
