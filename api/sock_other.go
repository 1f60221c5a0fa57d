//go:build !linux

package api

import (
	"errors"
	"os"
	"syscall"
)

func setNotsentLowat(syscall.RawConn, int) {}

// bytesAcked is unknown outside Linux: the watchdog then keeps its
// deadline-per-slice behaviour.
func bytesAcked(syscall.RawConn) (uint64, bool) { return 0, false }

func waitWritable(syscall.RawConn) (bool, error) { return false, nil }

func sendRoom(syscall.RawConn, int) (int64, bool) { return 0, false }

// canSendfile: downloads are not detached here (detach.go).
const canSendfile = false

func sendfileSock(syscall.RawConn, int, *int64, int64) (int64, error) {
	return 0, errors.ErrUnsupported
}

func dupFile(*os.File) (*os.File, error) { return nil, errors.ErrUnsupported }

func fileID(*os.File) (fileKey, error) { return fileKey{}, errors.ErrUnsupported }

func waitReadable(syscall.RawConn) bool { return false }
