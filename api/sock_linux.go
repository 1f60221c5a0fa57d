package api

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setNotsentLowat caps the bytes a socket holds unsent at n: writes then
// wait (and poll reports it not writable) while more than that is queued,
// so a slow download parks with little in the kernel and is woken when
// the peer has taken most of it.
func setNotsentLowat(rc syscall.RawConn, n int) {
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n)
	})
}

// bytesAcked is how many bytes the peer has acknowledged on the socket
// (TCP_INFO tcpi_bytes_acked): it moves only while the client reads.
func bytesAcked(rc syscall.RawConn) (uint64, bool) {
	var acked uint64
	var err error
	cerr := rc.Control(func(fd uintptr) {
		var ti *unix.TCPInfo
		ti, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			acked = ti.Bytes_acked
		}
	})
	return acked, cerr == nil && err == nil
}

// waitWritable parks the goroutine, in the runtime's poller and not in a
// thread, until the socket can take more (under TCP_NOTSENT_LOWAT) or the
// write deadline passes. waited says whether it had to wait at all.
//
// The zero-timeout poll(2) both tests writability and arms the kernel's
// wake-up (it marks the socket as wanting space), so the poller's
// edge-triggered EPOLLOUT does come when the queue drains.
func waitWritable(rc syscall.RawConn) (waited bool, err error) {
	calls := 0
	err = rc.Write(func(fd uintptr) bool {
		calls++
		p := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		for {
			n, e := unix.Poll(p[:], 0)
			if e == unix.EINTR {
				continue
			}
			// An error, or a socket in error or hung up: let the write
			// that follows report it.
			return e != nil || n > 0 && p[0].Revents != 0
		}
	})
	return calls > 1, err
}

// soMeminfo is SO_MEMINFO (asm-generic), and the indexes of its array
// (include/uapi/linux/sock_diag.h) this file reads.
const (
	soMeminfo        = 55
	skMeminfoSndbuf  = 3
	skMeminfoWQueued = 5
	skMeminfoVars    = 9
)

// sendRoom estimates how many more bytes the socket takes before a write
// would wait: the send buffer's free space (SO_MEMINFO: the buffer size
// against what is queued, in the same units) and the room left below the
// TCP_NOTSENT_LOWAT mark (TCP_INFO's unsent bytes). ok is false when
// unknown.
func sendRoom(rc syscall.RawConn, lowat int) (room int64, ok bool) {
	cerr := rc.Control(func(fd uintptr) {
		var mi [skMeminfoVars]uint32
		l := uint32(unsafe.Sizeof(mi))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, soMeminfo, uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&l)), 0)
		if e != 0 {
			return
		}
		room = int64(mi[skMeminfoSndbuf]) - int64(mi[skMeminfoWQueued])
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			room = min(room, int64(lowat)-int64(ti.Notsent_bytes))
		}
		ok = true
	})
	return max(room, 0), ok && cerr == nil
}

// canSendfile: sendfileSock works here.
const canSendfile = true

// sendfileSock sends up to n bytes of the file src from *off to the
// socket, parking in the runtime's poller while the socket cannot take
// more (below TCP_NOTSENT_LOWAT), until the write deadline. It returns
// once some bytes went; *off moves past them.
func sendfileSock(rc syscall.RawConn, src int, off *int64, n int64) (int64, error) {
	sent := 0
	var serr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			sent, serr = unix.Sendfile(int(fd), src, off, int(n))
			if serr != unix.EINTR {
				return serr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = serr
	}
	if sent < 0 {
		sent = 0
	}
	return int64(sent), err
}

// dupFile is a second descriptor for f's open file, which outlives f's
// Close.
func dupFile(f *os.File) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	cerr := sc.Control(func(fd uintptr) {
		nfd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// fileID is f's device and inode.
func fileID(f *os.File) (fileKey, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileKey{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, os.ErrInvalid
	}
	return fileKey{st.Dev, st.Ino}, nil
}

// waitReadable parks in the runtime's poller until the socket has a byte
// to read (left there: peeked) or the read deadline passes; false on the
// deadline, the peer's end of stream or an error.
func waitReadable(rc syscall.RawConn) bool {
	n := 0
	var e error
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			n, _, e = unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if e != unix.EINTR {
				return e != unix.EAGAIN
			}
		}
	})
	return err == nil && e == nil && n > 0
}
