package storage

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/sachet-server/sachet/domain"
)

// An upload's assembly file, in assembly/, receives its chunks that arrive
// in order, appended as they stream in, so that they are written once: at
// completion the file gains the chunks that came out of order and becomes
// the blob by a hard link, not a copy. The caller (the database) records
// how many bytes of it are durable; anything past that is left-over of an
// interrupted append and is cut off before the next one. Only one writer
// per assembly file at a time: the caller serialises them.

// NewID returns a fresh storage id, for an assembly file that
// AppendAssembly will create.
func NewID() string { return newID() }

// AppendAssembly streams r onto the assembly file id at offset at and
// returns how many bytes it appended, and the SHA-256 state (see
// HashState) of the file's bytes up to their end, given hashState, that of
// the first at bytes (ignored when at is 0; nil: not known, and none is
// returned). The file is first cut to at bytes;
// it is created when at is 0 and it does not exist. The appended bytes are
// durable when AppendAssembly returns. More than maxChunk bytes from r, or
// the file growing past maxTotal, is a TooLarge error (<= 0: no limit),
// found after reading at most one byte too many. On any error, including a
// read error from r and ctx being cancelled, the file is cut back to at.
func (f *FS) AppendAssembly(ctx context.Context, id string, at int64, r io.Reader, maxChunk, maxTotal int64, hashState []byte) (n int64, state []byte, err error) {
	if !validID(id) {
		return 0, nil, domain.Errorf(domain.Invalid, "invalid assembly id %q", id)
	}
	if at < 0 {
		return 0, nil, domain.Errorf(domain.Invalid, "invalid assembly offset %d", at)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	var h hash.Hash
	if at == 0 {
		h = sha256.New()
	} else {
		h = resumeHash(hashState, at)
	}
	n, err = f.appendAssembly(ctx, id, at, r, maxChunk, maxTotal, h)
	if err != nil {
		return 0, nil, err
	}
	if h != nil {
		state, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
	}
	return n, state, nil
}

// resumeHash is a SHA-256 continuing from state, the state after size
// bytes, or nil if state is not that (nil, from another implementation, or
// of another length: crypto/sha256's state ends with the length hashed).
func resumeHash(state []byte, size int64) hash.Hash {
	if len(state) < 8 || binary.BigEndian.Uint64(state[len(state)-8:]) != uint64(size) {
		return nil
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil
	}
	return h
}

// appendAssembly is AppendAssembly; h, if not nil, takes the bytes appended.
func (f *FS) appendAssembly(ctx context.Context, id string, at int64, r io.Reader, maxChunk, maxTotal int64, h hash.Hash) (n int64, err error) {
	p := filepath.Join(f.assembly, id)
	created := false
	file, err := os.OpenFile(p, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) && at == 0 {
		file, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		created = err == nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("storage: assembly file %s is missing, %d bytes expected: %w", id, at, err)
	}
	if err != nil {
		return 0, storageErr(err)
	}
	t := &tempFile{file: file, id: id, path: p, off: at, kick: at, wb: !f.opt.noWriteback}
	cut := false // set once the file is known to hold at bytes
	defer func() {
		if err != nil && cut {
			// Best effort: the next append cuts the file anyway.
			_ = file.Truncate(at)
		}
		file.Close()
	}()
	fi, err := file.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() < at {
		return 0, fmt.Errorf("storage: assembly file %s has %d bytes, %d expected", id, fi.Size(), at)
	}
	if fi.Size() > at {
		if err := file.Truncate(at); err != nil {
			return 0, storageErr(err)
		}
	}
	cut = true
	if _, err := file.Seek(at, io.SeekStart); err != nil {
		return 0, err
	}

	// limit: bytes of r to read at most, one more than allowed; -1: none.
	limit := int64(-1)
	if maxChunk > 0 && maxChunk < math.MaxInt64 {
		limit = maxChunk + 1
	}
	fileLimit := int64(-1)
	if maxTotal > 0 && maxTotal < math.MaxInt64 {
		fileLimit = maxTotal - at + 1
		if fileLimit < 1 {
			fileLimit = 1
		}
		if limit < 0 || fileLimit < limit {
			limit = fileLimit
		}
	}
	tooLarge := func() error {
		if fileLimit >= 0 && limit == fileLimit {
			return tooLargeFile(maxTotal)
		}
		return domain.Errorf(domain.TooLarge, "chunk exceeds the %d-byte chunk size limit", maxChunk)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b := buf
		if limit >= 0 && int64(len(b)) > limit-n {
			b = b[:limit-n]
		}
		m, rerr := fill(r, b)
		if limit >= 0 && n+int64(m) >= limit {
			return 0, tooLarge()
		}
		if m > 0 {
			if err := t.write(b[:m]); err != nil {
				return 0, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, fmt.Errorf("storage: reading chunk: %w", rerr)
		}
	}
	// The bytes are hashed back from the page cache while the disk makes
	// them durable: the hash costs no time of its own.
	synced := make(chan error, 1)
	go func() { synced <- datasync(file) }()
	if h != nil {
		if _, err := io.CopyBuffer(h, io.NewSectionReader(file, at, n), buf); err != nil {
			h = nil // only an optimisation: completion hashes the file then
		}
	}
	if err := <-synced; err != nil {
		return 0, storageErr(err)
	}
	if created {
		// The name must survive a crash as long as the bytes do.
		if err := syncDir(f.assembly); err != nil {
			return 0, storageErr(err)
		}
	}
	return n, nil
}

// FinishAssembly turns the assembly file id into a blob: the file is cut
// to prefix bytes (the chunks appended in order), the chunk files rest are
// appended to it, in order, and the whole is hashed (the prefix from
// hashState, its SHA-256 state, when that is known), made durable and
// linked into blobs/ under a new id, sharing the assembly's inode: the
// prefix is never copied. maxTotal > 0 limits the blob's size (TooLarge,
// before anything is changed). The assembly file and the chunks are left
// in place; the caller removes them once the blob is recorded, and must
// not append to the assembly again unless it discards the blob.
func (f *FS) FinishAssembly(ctx context.Context, id string, prefix int64, rest []string, maxTotal int64, hashState []byte) (domain.Blob, error) {
	if !validID(id) {
		return domain.Blob{}, domain.Errorf(domain.Invalid, "invalid assembly id %q", id)
	}
	for _, c := range rest {
		if !validID(c) {
			return domain.Blob{}, domain.Errorf(domain.Invalid, "invalid chunk id %q", c)
		}
	}
	if err := ctx.Err(); err != nil {
		return domain.Blob{}, err
	}
	segs, total, err := f.chunkSegments(rest, prefix, maxTotal)
	if err != nil {
		return domain.Blob{}, err
	}
	p := filepath.Join(f.assembly, id)
	file, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return domain.Blob{}, fmt.Errorf("storage: assembly file: %w", err)
	}
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	fi, err := file.Stat()
	if err != nil {
		return domain.Blob{}, err
	}
	if fi.Size() < prefix {
		return domain.Blob{}, fmt.Errorf("storage: assembly file %s has %d bytes, %d expected", id, fi.Size(), prefix)
	}
	if err := file.Truncate(prefix); err != nil {
		return domain.Blob{}, storageErr(err)
	}
	if !f.opt.noPrealloc && total > prefix {
		if err := preallocate(file, total); err != nil {
			return domain.Blob{}, storageErr(err)
		}
	}
	t := &tempFile{file: file, id: id, path: p, off: prefix, kick: prefix, wb: !f.opt.noWriteback}
	h, hash := resumeHash(hashState, prefix), segs
	if h == nil {
		h, hash = sha256.New(), append([]Segment{{ID: id, Assembly: true, Size: prefix}}, segs...)
	}
	sum, err := f.copyAndHash(ctx, t, segs, hash, h)
	if err != nil {
		return domain.Blob{}, err
	}
	if t.off != total {
		return domain.Blob{}, fmt.Errorf("storage: chunks changed size while joining (%d bytes, expected %d)", t.off, total)
	}
	if err := file.Sync(); err != nil {
		return domain.Blob{}, storageErr(err)
	}
	err = file.Close()
	file = nil
	if err != nil {
		return domain.Blob{}, storageErr(err)
	}
	blob := newID()
	dst := filepath.Join(f.blobs, blob)
	if err := os.Link(p, dst); err != nil {
		return domain.Blob{}, storageErr(err)
	}
	if err := syncDir(f.blobs); err != nil {
		os.Remove(dst)
		return domain.Blob{}, storageErr(err)
	}
	return domain.Blob{ID: blob, Size: total, SHA256: sum}, nil
}

// CutAssembly cuts the assembly file id back to at bytes, discarding an
// append that will not be recorded. A missing file is not an error. The
// caller must hold the upload's append lease.
func (f *FS) CutAssembly(id string, at int64) error {
	if !validID(id) {
		return domain.Errorf(domain.Invalid, "invalid assembly id %q", id)
	}
	err := os.Truncate(filepath.Join(f.assembly, id), at)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
