package cli

import (
	"hash"
	"io"
	"os"
)

// hashBuf is the size of the buffers bytes are hashed from.
const hashBuf = 1 << 20

// pullSink is where a download goes: the file, the hash of the whole file
// and the progress display. As an io.ReaderFrom (which client.Download
// uses) it runs a pipeline of three goroutines over a ring of buffers:
// the caller's reads the connection, one writes to the file, one hashes
// what was written. Nothing is copied in between, reading the socket goes
// on while the file is written (curl -o does one after the other, and a
// copy through a single buffer as well), and the hashing overlaps both.
type pullSink struct {
	f *os.File
	h hash.Hash
	m meter
}

const (
	sinkBufs = 8       // buffers in the ring: what is read ahead of the file and the hash
	sinkBuf  = 1 << 20 // each filled before it is passed on: fewer hand-overs
)

// Write is the plain path, one step after the other.
func (s *pullSink) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.m.Add(int64(n))
	return n, err
}

// ReadFrom reads r to its end. It returns the bytes written to the file
// (all of them hashed) and r's error, or the file's.
func (s *pullSink) ReadFrom(r io.Reader) (written int64, err error) {
	free := make(chan []byte, sinkBufs)
	for range sinkBufs {
		free <- make([]byte, sinkBuf)
	}
	// Buffered for every buffer there is: a send never blocks.
	toWrite := make(chan []byte, sinkBufs)
	toHash := make(chan []byte, sinkBufs)
	stop := make(chan struct{}) // the file failed: stop reading
	var werr error
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		defer close(toHash)
		for b := range toWrite {
			if werr == nil {
				var n int
				n, werr = s.f.Write(b)
				written += int64(n)
				if werr != nil {
					close(stop)
				}
				s.m.Add(int64(n))
				b = b[:n]
			}
			if len(b) > 0 {
				toHash <- b
			} else {
				free <- b[:cap(b)]
			}
		}
	}()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			s.h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var rerr error
read:
	for {
		var b []byte
		select {
		case b = <-free:
		case <-stop:
			break read
		}
		n := 0
		for n < len(b) && rerr == nil {
			var k int
			k, rerr = r.Read(b[n:])
			n += k
		}
		if n > 0 {
			toWrite <- b[:n]
		} else {
			free <- b
		}
		if rerr != nil {
			break
		}
	}
	close(toWrite)
	<-wrote
	<-hashed
	switch {
	case werr != nil:
		return written, werr
	case rerr == io.EOF:
		return written, nil
	}
	return written, rerr
}
