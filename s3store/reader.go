package s3store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync"

	"github.com/minio/minio-go/v7"
)

// rangeReader reads an object with ranged GETs. It starts with the whole
// object's body open at offset 0 (Open); Seek only moves the offset, and a
// Read away from the open body opens a new one from there. So
// http.ServeContent (which seeks to learn the size, then to each range)
// streams a whole download from the first GET, and sends one GET per
// range it serves.
type rangeReader struct {
	ctx     context.Context
	s       *Store
	key     string
	size    int64
	off     int64
	body    *bufBody
	bodyOff int64        // where body is
	conn    *net.TCPConn // body's connection, when it may be spliced (splice.go)
}

func (r *rangeReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("s3store: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("s3store: negative position")
	}
	r.off = offset
	return offset, nil
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body != nil && r.bodyOff != r.off {
		r.body.Close()
		r.body = nil
	}
	if r.body == nil {
		if err := r.openAt(r.off); err != nil {
			return 0, err
		}
	}
	if max := r.size - r.off; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff += int64(n)
	if err == io.EOF && r.off < r.size {
		err = fmt.Errorf("s3store: %s ended at %d of %d bytes: %w", r.key, r.off, r.size, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		r.body.Close()
		r.body, r.conn = nil, nil
		return n, r.s.fail(err, "reading content")
	}
	return n, err
}

// openAt replaces the body with a GET of the object from off to its end.
func (r *rangeReader) openAt(off int64) error {
	if r.body != nil {
		r.body.Close()
		r.body, r.conn = nil, nil
	}
	var opts minio.GetObjectOptions
	if off > 0 {
		if err := opts.SetRange(off, 0); err != nil {
			return err
		}
	}
	body, _, conn, err := r.s.getBody(r.ctx, r.key, opts, r.size-off)
	if err != nil {
		return r.s.fail(err, "reading content")
	}
	r.body, r.bodyOff, r.conn = newBufBody(body), off, conn
	return nil
}

func (r *rangeReader) Close() error {
	if r.body != nil {
		err := r.body.Close()
		r.body, r.conn = nil, nil
		return err
	}
	return nil
}

// bodyBuf is the read buffer of a download's GET body. http.ServeContent
// reads it 32 KiB at a time (io.Copy's buffer, behind its LimitReader);
// reading the socket in larger gulps made one-stream downloads faster on
// the bench: medians 377 → 469 MiB/s over 12 interleaved runs on a loaded
// machine, 584 → 652 MiB/s over 3 on a quieter one (bench/README.md, S3).
// Pooled, so a Range request does not allocate a fresh buffer.
const bodyBuf = 256 << 10

var bodyBufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bodyBuf) }}

// bufBody is a GET body read through a pooled bufio.Reader, returned to
// the pool on Close.
type bufBody struct {
	*bufio.Reader
	body io.ReadCloser
}

func newBufBody(body io.ReadCloser) *bufBody {
	br := bodyBufPool.Get().(*bufio.Reader)
	br.Reset(body)
	return &bufBody{Reader: br, body: body}
}

func (b *bufBody) Close() error {
	err := b.body.Close()
	if b.Reader != nil {
		b.Reader.Reset(nil)
		bodyBufPool.Put(b.Reader)
		b.Reader = nil
	}
	return err
}

// segment is a byte range of an object.
type segment struct {
	key       string
	off, size int64
}

// segmentsReader streams segments back to back, one ranged GET each,
// failing if one is shorter than it should be, and adds what it reads to
// h if set. net/http may still be reading a request body after the
// request returned (the server answered early), so Read and Close are
// serialised, and a closed reader reads nothing more.
type segmentsReader struct {
	ctx    context.Context
	s      *Store
	h      hash.Hash
	mu     sync.Mutex
	closed bool
	segs   []segment
	cur    io.ReadCloser
	left   int64 // of the current segment
}

func (r *segmentsReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errors.New("s3store: read after close")
	}
	n, err := r.read(p)
	if r.h != nil && n > 0 {
		r.h.Write(p[:n])
	}
	return n, err
}

func (r *segmentsReader) read(p []byte) (int, error) {
	for r.cur == nil || r.left == 0 {
		if r.cur != nil {
			r.cur.Close()
			r.cur = nil
		}
		if len(r.segs) == 0 {
			return 0, io.EOF
		}
		sg := r.segs[0]
		r.segs = r.segs[1:]
		if sg.size == 0 {
			continue
		}
		var opts minio.GetObjectOptions
		if err := opts.SetRange(sg.off, sg.off+sg.size-1); err != nil {
			return 0, err
		}
		body, _, _, err := r.s.core.GetObject(r.ctx, r.s.bucket, sg.key, opts)
		if err != nil {
			return 0, r.s.fail(err, "reading a chunk")
		}
		r.cur, r.left = body, sg.size
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.cur.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, fmt.Errorf("s3store: a chunk is %d bytes short: %w", r.left, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	if err != nil {
		return n, r.s.fail(err, "reading a chunk")
	}
	return n, nil
}

func (r *segmentsReader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}
