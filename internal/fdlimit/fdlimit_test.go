//go:build unix

package fdlimit

import (
	"syscall"
	"testing"
)

// TestRaise: the soft limit ends at the hard limit, from below it too.
func TestRaise(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Max > 64 {
		low := syscall.Rlimit{Cur: 64, Max: orig.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
			t.Fatal(err)
		}
	}
	before, after, err := Raise()
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if after != orig.Max || now.Cur != orig.Max {
		t.Errorf("after Raise: reported %d, soft limit %d, want the hard limit %d", after, now.Cur, orig.Max)
	}
	if orig.Max > 64 && before != 64 {
		t.Errorf("before: %d, want 64", before)
	}
	// A second call has nothing to do.
	if b, a, err := Raise(); err != nil || b != a {
		t.Errorf("second Raise: %d → %d, %v", b, a, err)
	}
}
