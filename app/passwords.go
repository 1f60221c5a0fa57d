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

// newPasswords gives bcrypt one low-priority worker thread per CPU. Those
// workers hold a Go P while they compute, so the runtime gets as many
// more Ps: requests then wait for the kernel, which prefers them, rather
// than for the Go scheduler's 10 ms preemption, which does not know the
// difference. An explicit GOMAXPROCS is left alone.
func newPasswords(cost int) (*auth.Passwords, error) {
	procs.Do(func() {
		procs.cpus = runtime.GOMAXPROCS(0) // the CPUs this process may use
		if auth.Niceable && os.Getenv("GOMAXPROCS") == "" {
			runtime.GOMAXPROCS(2 * procs.cpus)
		}
	})
	return auth.NewPasswords(cost, procs.cpus, passwordNice)
}

// procs is the process-wide GOMAXPROCS adjustment, made once however many
// Apps a process (a test) opens.
var procs struct {
	sync.Once
	cpus int
}
