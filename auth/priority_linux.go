package auth

import "golang.org/x/sys/unix"

// lowerPriority nices the calling thread (Linux priorities are per
// thread). Raising one's niceness needs no privilege; a failure leaves the
// thread at the process's priority, which is only slower to yield.
func lowerPriority(nice int) {
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
}

// Niceable reports whether lowerPriority has an effect here.
const Niceable = true
