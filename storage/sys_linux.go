//go:build linux

package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves size bytes for f without changing its length.
// Filesystems that cannot do it are not an error.
func preallocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}

// startWriteback asks the kernel to begin writing the range out now, without
// waiting for it. Best effort: the final fsync is what guarantees durability.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// copyRange copies up to n bytes from src at soff to dst at doff inside the
// kernel (a reflink on filesystems that can share extents).
func copyRange(src *os.File, soff int64, dst *os.File, doff int64, n int64) (int64, error) {
	var done int64
	for done < n {
		so, do := soff+done, doff+done
		m, err := unix.CopyFileRange(int(src.Fd()), &so, int(dst.Fd()), &do, int(n-done), 0)
		done += int64(m)
		if err == unix.EINTR {
			continue
		}
		if done == 0 && (err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EXDEV || err == unix.EINVAL) {
			// Some filesystems (older FUSE, NFS) cannot; the bytes still
			// have to move.
			return copyUser(src, soff, dst, doff, n)
		}
		if err != nil {
			return done, &os.LinkError{Op: "copy_file_range", Old: src.Name(), New: dst.Name(), Err: err}
		}
		if m == 0 {
			break
		}
	}
	return done, nil
}

// renameNoReplace moves oldpath to newpath, failing rather than replacing an
// existing file: a colliding id must never destroy stored content.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// The filesystem has no RENAME_NOREPLACE; a hard link also refuses
		// to replace.
		if err = os.Link(oldpath, newpath); err != nil {
			return err
		}
		return os.Remove(oldpath)
	}
	if err != nil {
		return &os.LinkError{Op: "renameat2", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// datasync makes f's data, and the metadata needed to read it back (its
// size), durable.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
