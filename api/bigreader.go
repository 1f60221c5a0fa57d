package api

// Large reads under mime/multipart, for upload throughput.

import (
	"bufio"
	"io"
	"net/http"
	"sync"
)

// bigReader buffers an upload's body in large reads. mime/multipart reads
// through a 4 KiB bufio.Reader of its own, which made every read from the
// connection 4 KiB: a third of an upload's CPU went to read syscalls.
// Behind this buffer its refills are copies, and the connection is read in
// up to bigReadSize at a time.
type bigReader struct {
	br *bufio.Reader // nil once closed
	rc io.Closer
}

const bigReadSize = 256 << 10

// bigReaders keeps the buffers: one per upload in flight, reused.
var bigReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bigReadSize) }}

func newBigReader(rc io.ReadCloser) *bigReader {
	br := bigReaders.Get().(*bufio.Reader)
	br.Reset(rc)
	return &bigReader{br: br, rc: rc}
}

func (b *bigReader) Read(p []byte) (int, error) {
	if b.br == nil {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.br.Read(p)
}

// Close hands the buffer back. net/http calls it once the handler has
// returned, when nothing reads any more.
func (b *bigReader) Close() error {
	if b.br == nil {
		return nil
	}
	err := b.rc.Close()
	b.br.Reset(nil)
	bigReaders.Put(b.br)
	b.br = nil
	return err
}
