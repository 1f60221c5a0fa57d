package blob

import (
	"io"

	"github.com/sachet-server/sachet/domain"
)

// Exact returns a reader of exactly size bytes of r, for a store that
// streams a chunk of known size (Put's and Append's size argument)
// straight to where it is kept. r ending short, or having more, is a
// domain.Invalid error. The bytes that complete size are held back until
// r is known to end there (its next read is io.EOF, and an error a
// validating reader gives at its end, such as a checksum mismatch, comes
// out instead): so a receiver that was promised size bytes never gets
// them all from a stream that turns out to be wrong, and keeps nothing.
func Exact(r io.Reader, size int64) io.Reader {
	return &exact{r: r, left: size, size: size}
}

type exact struct {
	r          io.Reader
	left, size int64
	err        error // sticky
}

func (e *exact) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		// Only for size 0; otherwise the read that reached size has
		// already seen r's end.
		if err := e.atEnd(); err != nil {
			e.err = err
			return 0, err
		}
		e.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		if err == nil || err == io.EOF {
			if err == nil {
				err = e.atEnd()
			}
			if err == io.EOF || err == nil {
				e.err = io.EOF
				return n, nil
			}
		}
		e.err = err
		return 0, err // the last bytes are held back
	case err == io.EOF:
		e.err = domain.Errorf(domain.Invalid, "the chunk ended after %d of its %d bytes", e.size-e.left, e.size)
		return n, e.err
	case err != nil:
		e.err = err
		return n, err
	}
	return n, nil
}

// atEnd reads r once more past size: nil (or io.EOF) when it ends there.
func (e *exact) atEnd() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return domain.Errorf(domain.Invalid, "the chunk is longer than its %d bytes", e.size)
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
