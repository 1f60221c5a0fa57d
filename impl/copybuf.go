package impl

import (
	"io"
	"net/http"
	"os"
	"sync"
)

// copyBufSize is the copy buffer of downloads whose content is not a
// local file (S3). net/http copies such a body 32 KiB at a time, one
// write system call each; 1 MiB gulps halve the CPU a download costs on
// loopback and raise the one-stream S3 rate (bench/README.md, S3). A
// local file never comes here: it goes by sendfile.
const copyBufSize = 1 << 20

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// pooledCopy reports whether a download from f should be copied through
// the pooled buffer rather than handed to the connection's ReadFrom
// (which sends an *os.File by sendfile).
func pooledCopy(f io.Reader) bool {
	_, isFile := f.(*os.File)
	return !isFile
}

// copyPooled copies r to w through a pooled 1 MiB buffer. w is wrapped so
// that io.CopyBuffer cannot hand the copy back to w's own ReadFrom.
func copyPooled(w http.ResponseWriter, r io.Reader) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	return io.CopyBuffer(writerOnly{w}, r, *bp)
}

type writerOnly struct{ io.Writer }

// nWriterTo is a download's reader that writes its next n bytes itself
// (s3store: spliced from S3's connection, or a pooled copy).
type nWriterTo interface {
	WriteNTo(w io.Writer, n int64) (int64, error)
}
