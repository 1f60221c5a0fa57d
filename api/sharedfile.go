package api

// Detached downloads of one file share one descriptor. sendfile is given
// the offset to read from, so the senders never move a shared file
// position, and at ten thousand downloads of a popular share the server
// holds ten thousand sockets and one file, not twice ten thousand
// descriptors (the container's hard limit here is 20 000). Files are known
// by device and inode: while a descriptor is held the inode cannot be
// reused, so a replaced content (a new file) never shares the old one's.

import (
	"os"
	"sync"
)

type fileKey struct{ dev, ino uint64 }

type sharedFile struct {
	f    *os.File
	refs int
}

var sharedFiles struct {
	mu sync.Mutex
	m  map[fileKey]*sharedFile
}

// acquireFile returns a descriptor for f's file that outlives f's Close,
// shared with the other detached downloads of the same file; give it back
// with releaseFile.
func acquireFile(f *os.File) (*os.File, fileKey, error) {
	k, err := fileID(f)
	if err != nil {
		return nil, fileKey{}, err
	}
	sharedFiles.mu.Lock()
	defer sharedFiles.mu.Unlock()
	if s := sharedFiles.m[k]; s != nil {
		s.refs++
		return s.f, k, nil
	}
	d, err := dupFile(f)
	if err != nil {
		return nil, fileKey{}, err
	}
	if sharedFiles.m == nil {
		sharedFiles.m = make(map[fileKey]*sharedFile)
	}
	sharedFiles.m[k] = &sharedFile{f: d, refs: 1}
	return d, k, nil
}

// releaseFile gives back what acquireFile returned for k.
func releaseFile(k fileKey) {
	sharedFiles.mu.Lock()
	defer sharedFiles.mu.Unlock()
	s := sharedFiles.m[k]
	if s == nil {
		return
	}
	if s.refs--; s.refs == 0 {
		delete(sharedFiles.m, k)
		s.f.Close()
	}
}
