//go:build unix

// Package fdlimit raises the process's open-file limit. Every connection
// and every download in flight holds a descriptor; the usual soft limit
// (1024) caps a server at a few hundred slow downloads, where the hard
// limit the administrator set is often far higher.
package fdlimit

import "syscall"

// Raise sets the soft RLIMIT_NOFILE to the hard limit and returns the
// limits before and after.
func Raise() (before, after uint64, err error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, 0, err
	}
	before = r.Cur
	if r.Cur >= r.Max {
		return before, r.Cur, nil
	}
	r.Cur = r.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return before, before, err
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return before, 0, err
	}
	return before, r.Cur, nil
}
