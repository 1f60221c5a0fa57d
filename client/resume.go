package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/sachet-server/sachet/gen"
)

// UploadStatus asks which chunks of the unfinished upload uploadID (the
// dzuuid) to the share the server holds. An upload the server does not
// hold (never started, completed, aborted, expired) is an *Error with
// Status 404.
func (c *Client) UploadStatus(ctx context.Context, shareID, uploadID string) (*gen.UploadStatus, error) {
	r, err := c.api.GetUploadStatusWithResponse(ctx, shareID, uploadID)
	if err != nil {
		return nil, err
	}
	if r.JSON200 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON200, nil
}

// AbortUpload deletes the unfinished upload uploadID with the chunks the
// server holds of it.
func (c *Client) AbortUpload(ctx context.Context, shareID, uploadID string) error {
	r, err := c.api.AbortUploadWithResponse(ctx, shareID, uploadID)
	if err != nil {
		return err
	}
	if r.StatusCode() != http.StatusOK {
		return apiError(r.HTTPResponse, r.Body)
	}
	return nil
}

// Held expands a status's ranges into a set of chunk indexes.
func Held(st *gen.UploadStatus) map[int64]bool {
	held := map[int64]bool{}
	if st == nil {
		return held
	}
	for _, r := range st.Chunks {
		if len(r) != 2 {
			continue
		}
		for i := r[0]; i <= r[1]; i++ {
			held[int64(i)] = true
		}
	}
	return held
}

// ParallelOptions tune UploadParallel. The zero value is fine.
type ParallelOptions struct {
	// ChunkSize is the bytes per request; DefaultChunkSize when 0.
	ChunkSize int64
	// UploadID is the upload's id (dzuuid); random when empty. Reusing it
	// lets the server keep the chunks it already has.
	UploadID string
	// Streams is how many chunks are in flight at once; 4 when 0.
	Streams int
	// Replace replaces existing content (PUT) instead of setting the
	// first (POST).
	Replace bool
	// Skip names chunk indexes not to send: the server holds them already
	// (see UploadStatus and Held).
	Skip map[int64]bool
	// ChunkSHA256 sends each chunk's SHA-256 with it (dzchunksha256): the
	// server refuses a chunk damaged on the way (400), keeping nothing,
	// and the upload stops with that error: a rerun resumes it.
	ChunkSHA256 bool
	// FileSHA256, if set, gives the whole file's SHA-256 (lowercase hex),
	// sent with the chunk of the last index (dzfilesha256): the server
	// checks the joined content against it before completing the upload.
	// It is called just before that chunk is sent, which waits for it.
	FileSHA256 func(ctx context.Context) (string, error)
	// FileHash, if set, is fed every byte of the content in order, the
	// chunks in Skip too (they are read for it, not sent): the file is
	// read once, hashing overlapping with sending, instead of a second
	// pass over it. Its sum is sent with the chunk of the last index as
	// dzfilesha256 (so it must be a SHA-256; FileSHA256 is not called),
	// and the caller reads it with Sum once UploadParallel returned nil.
	FileHash hash.Hash
	// Sent, if set, is called with each chunk's size once the server has
	// acknowledged it; it may be called from several goroutines at once.
	Sent func(n int64)
	// ReadAfterSend reads (and hashes, for FileHash) the next chunk only
	// once the previous one's body has been handed to the connection,
	// instead of while it is being sent. With one stream to a server on
	// the same machine this moves the client's hashing out of the
	// transfer, where the sending and the receiving already keep two
	// cores busy, into the server's fsync and commit of the chunk, when
	// both wait for the disk. Over a network the transfer is what takes
	// the time, and hashing meanwhile is better: leave it off.
	ReadAfterSend bool
}

// DefaultStreams is how many chunks UploadParallel sends at once unless
// told otherwise.
const DefaultStreams = 4

// Chunks is the chunk count of size bytes in chunks of chunkSize: at
// least 1, since an empty file is one empty chunk.
func Chunks(size, chunkSize int64) int64 {
	return max(1, (size+chunkSize-1)/chunkSize)
}

// UploadParallel sends the size bytes of r as the share's content, several
// chunks at a time, skipping the chunks in opts.Skip. Each chunk that fails
// on the network or with a 5xx is sent again (see WithRetries); the first
// chunk that fails for good stops the others. It reports whether a chunk
// it sent completed the upload (201): when every chunk it sent was
// acknowledged but none completed it (all were in opts.Skip, or a re-sent
// chunk raced the completion), the caller checks the share.
func (c *Client) UploadParallel(ctx context.Context, shareID string, r io.ReaderAt, size int64, opts *ParallelOptions) (completed bool, err error) {
	var o ParallelOptions
	if opts != nil {
		o = *opts
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Streams <= 0 {
		o.Streams = DefaultStreams
	}
	if o.UploadID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.UploadID = hex.EncodeToString(b[:])
	}
	if size < 0 {
		return false, errors.New("client: UploadParallel needs the size")
	}
	total := Chunks(size, o.ChunkSize)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done     atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	// One reader (this goroutine) reads the chunks in order, feeding
	// FileHash, and hands them to Streams senders; Streams+1 buffers
	// circulate, so the next chunk is read (and hashed) while the others
	// are on the wire, and memory is (Streams+1) × ChunkSize whatever the
	// file's size.
	type job struct {
		index    int64
		data     []byte
		fileHash string
		written  chan struct{} // closed once the body is on its way (ReadAfterSend)
	}
	jobs := make(chan job)
	free := make(chan []byte, o.Streams+1)
	bufSize := min(o.ChunkSize, max(size, 1))
	for range o.Streams + 1 {
		free <- make([]byte, bufSize)
	}
	for w := 0; w < o.Streams; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ch := chunk{
					uploadID: o.UploadID, index: j.index, total: total, offset: j.index * o.ChunkSize,
					chunkSize: o.ChunkSize, fileSize: size, data: j.data, fileSHA256: j.fileHash,
				}
				var once sync.Once
				written := func() {
					if j.written != nil {
						once.Do(func() { close(j.written) })
					}
				}
				ch.written = written
				// Hashed here, not by the reader: with several streams
				// the chunks' sums are computed in parallel, and with one
				// stream this overlaps the reader's file hash.
				if o.ChunkSHA256 {
					sum := sha256.Sum256(ch.data)
					ch.sha256 = hex.EncodeToString(sum[:])
				}
				if j.index == total-1 && o.FileHash == nil && o.FileSHA256 != nil {
					sum, err := o.FileSHA256(ctx)
					if err != nil {
						fail(err)
						return
					}
					ch.fileSHA256 = sum
				}
				status, err := c.sendChunk(ctx, shareID, ch, o.Replace)
				written() // in case the transport never closed a body
				free <- j.data[:cap(j.data)]
				if err != nil {
					fail(err)
					return
				}
				if status == http.StatusCreated {
					done.Store(true)
				}
				if o.Sent != nil {
					o.Sent(int64(len(j.data)))
				}
			}
		}()
	}
feed:
	for i := int64(0); i < total; i++ {
		skip := o.Skip[i]
		if skip && o.FileHash == nil {
			continue
		}
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
			break feed
		}
		off := i * o.ChunkSize
		n := min(o.ChunkSize, size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
			fail(fmt.Errorf("client: reading chunk %d of %d: %w", i, total, err))
			break
		}
		j := job{index: i, data: buf[:n]}
		if o.ReadAfterSend {
			j.written = make(chan struct{})
		}
		if o.FileHash != nil {
			o.FileHash.Write(j.data)
			if i == total-1 {
				j.fileHash = hex.EncodeToString(o.FileHash.Sum(nil))
			}
		}
		if skip {
			free <- buf
			continue
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
		if j.written != nil {
			select {
			case <-j.written:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return false, firstErr
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return done.Load(), nil
}

// AsError is the *Error for an API answer the caller did not expect, for
// callers of API(): the status and the server's message.
func AsError(resp *http.Response, body []byte) error { return apiError(resp, body) }
