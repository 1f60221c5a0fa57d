package app

import (
	"os"
	"runtime"
	"sync"

	"github.com/sachet-server/sachet/auth"
)

// passwordNice is how far below the rest of the process bcrypt runs: at
// nice 10 the kernel gives a waiting request about ten times bcrypt's
// share of a core, and logins still progress under full load.
const passwordNice = 10

// newPasswords gives bcrypt one low-priority worker thread per CPU. A
// worker holds a Go P while it computes, so while it does the runtime gets
// one more P: requests then wait for the kernel, which prefers them, rather
// than for the Go scheduler's 10 ms preemption, which does not know the
// difference. With no login under way GOMAXPROCS is back to the CPUs (more
// Ps than cores costs plain requests 10-15 %). An explicit GOMAXPROCS is
// left alone.
func newPasswords(cost int) (*auth.Passwords, error) {
	procs.once.Do(func() {
		procs.cpus = runtime.GOMAXPROCS(0) // the CPUs this process may use
		procs.adjust = auth.Niceable && os.Getenv("GOMAXPROCS") == ""
	})
	p, err := auth.NewPasswords(cost, procs.cpus, passwordNice)
	if err != nil {
		return nil, err
	}
	if procs.adjust {
		p.OnBusy(procs.busy)
	}
	return p, nil
}

// procs is the process-wide GOMAXPROCS adjustment, shared by however many
// Apps a process (a test) opens.
var procs procAdjust

type procAdjust struct {
	once   sync.Once
	cpus   int
	adjust bool

	mu      sync.Mutex
	running int // bcrypt computations under way, over every App
}

// busy counts a bcrypt computation starting (+1) or ending (-1), and sets
// GOMAXPROCS to the CPUs plus those under way. Changing it briefly stops
// the world (tens of microseconds), twice per password check that takes
// hundreds of milliseconds.
func (a *procAdjust) busy(delta int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.running += delta
	runtime.GOMAXPROCS(a.cpus + a.running)
}
