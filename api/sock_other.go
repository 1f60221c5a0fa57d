//go:build !linux

package api

import "syscall"

func setNotsentLowat(syscall.RawConn, int) {}

// bytesAcked is unknown outside Linux: the watchdog then keeps its
// deadline-per-slice behaviour.
func bytesAcked(syscall.RawConn) (uint64, bool) { return 0, false }

func waitWritable(syscall.RawConn) (bool, error) { return false, nil }

func sendRoom(syscall.RawConn, int) (int64, bool) { return 0, false }
