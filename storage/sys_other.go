//go:build !linux

package storage

import "os"

func preallocate(f *os.File, size int64) error { return nil }

func startWriteback(f *os.File, off, n int64) {}

func copyRange(src *os.File, soff int64, dst *os.File, doff int64, n int64) (int64, error) {
	return copyUser(src, soff, dst, doff, n)
}

func renameNoReplace(oldpath, newpath string) error {
	// A hard link refuses to replace an existing file, unlike os.Rename.
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	return os.Remove(oldpath)
}

func datasync(f *os.File) error { return f.Sync() }
