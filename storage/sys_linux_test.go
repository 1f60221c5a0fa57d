package storage

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// dropCache evicts a file's pages from the page cache.
func dropCache(tb testing.TB, path string) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		tb.Fatal(err)
	}
}
