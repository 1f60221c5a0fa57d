package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sachet-server/sachet/gen"
)

// DefaultChunkSize is the chunk size Upload uses unless told otherwise:
// 8 MiB, far below the server's default limit (256 MiB).
const DefaultChunkSize = 8 << 20

// UploadOptions tune Upload. The zero value is fine.
type UploadOptions struct {
	// ChunkSize is the bytes per request; DefaultChunkSize when 0.
	ChunkSize int64
	// UploadID is the upload's id (dzuuid); random when empty. Reusing it
	// after a crash lets the server keep the chunks it already has.
	UploadID string
	// Replace replaces existing content (PUT) instead of setting the
	// first (POST).
	Replace bool
	// requestToken sends the chunks through an upload request's link
	// (UploadToRequest) instead of /files/{id}/content.
	requestToken string
}

// Upload sends size bytes from r as the share's content, one chunk per
// request; a chunk that fails on the network or with a 5xx is sent again.
// A negative size means unknown: r is then first copied to a temporary
// file to learn it (the protocol needs the chunk count up front).
func (c *Client) Upload(ctx context.Context, shareID string, r io.Reader, size int64, opts *UploadOptions) error {
	var o UploadOptions
	if opts != nil {
		o = *opts
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.UploadID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.UploadID = hex.EncodeToString(b[:])
	}
	if size < 0 {
		f, err := os.CreateTemp("", "sachet-upload-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if size, err = io.Copy(f, r); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r = f
	}
	total := (size + o.ChunkSize - 1) / o.ChunkSize
	if total == 0 {
		total = 1
	}
	buf := make([]byte, min(o.ChunkSize, max(size, 1)))
	for i := int64(0); i < total; i++ {
		n := min(o.ChunkSize, size-i*o.ChunkSize)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return fmt.Errorf("client: reading chunk %d of %d: %w", i, total, err)
		}
		status, err := c.sendChunk(ctx, shareID, chunk{
			uploadID: o.UploadID, index: i, total: total, offset: i * o.ChunkSize,
			chunkSize: o.ChunkSize, fileSize: size, data: buf[:n], requestToken: o.requestToken,
		}, o.Replace)
		if err != nil {
			return err
		}
		last := i == total-1
		if last != (status == http.StatusCreated) {
			return fmt.Errorf("client: chunk %d of %d answered %d", i, total, status)
		}
	}
	return nil
}

type chunk struct {
	uploadID             string
	index, total, offset int64
	chunkSize, fileSize  int64
	data                 []byte
	// sha256 (dzchunksha256) and fileSHA256 (dzfilesha256) are sent when
	// not "": the server checks them (see the Chunk schema).
	sha256, fileSHA256 string
	requestToken       string // see UploadOptions.requestToken
	// written, if set, is called when the transport has taken the whole
	// body (it closes the body then, or when the request failed); it may
	// be called more than once (once per attempt).
	written func()
}

// body is the chunk as Dropzone sends it, as a reader of n bytes: the
// form fields and the file part's header, the data itself (not copied:
// the 8 MiB chunks went through a growing bytes.Buffer before, which cost
// more allocation and copying than hashing them), and the closing
// boundary.
func (ch chunk) body() (contentType string, body io.Reader, n int64, err error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, f := range [][2]string{
		{"dzuuid", ch.uploadID},
		{"dzchunkindex", strconv.FormatInt(ch.index, 10)},
		{"dztotalchunks", strconv.FormatInt(ch.total, 10)},
		{"dzchunksize", strconv.FormatInt(ch.chunkSize, 10)},
		{"dztotalfilesize", strconv.FormatInt(ch.fileSize, 10)},
		{"dzchunkbyteoffset", strconv.FormatInt(ch.offset, 10)},
		// Before the file part: the server checks the chunk as it streams.
		{"dzchunksha256", ch.sha256},
		{"dzfilesha256", ch.fileSHA256},
	} {
		if f[1] == "" {
			continue
		}
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return "", nil, 0, err
		}
	}
	if _, err := mw.CreateFormFile("upload", "blob"); err != nil {
		return "", nil, 0, err
	}
	split := head.Len() // what follows is the closing boundary
	if err := mw.Close(); err != nil {
		return "", nil, 0, err
	}
	b := head.Bytes()
	n = int64(len(b) + len(ch.data))
	body = io.MultiReader(bytes.NewReader(b[:split]), bytes.NewReader(ch.data), bytes.NewReader(b[split:]))
	if ch.written != nil {
		// A ReadCloser is given to the transport as it is, and it
		// closes it once it has written all of it (or failed).
		body = closeNotifier{body, ch.written}
	}
	return mw.FormDataContentType(), body, n, nil
}

type closeNotifier struct {
	io.Reader
	closed func()
}

func (c closeNotifier) Close() error {
	c.closed()
	return nil
}

// sendChunk sends one chunk, again after network errors and 5xx answers.
func (c *Client) sendChunk(ctx context.Context, shareID string, ch chunk, replace bool) (int, error) {
	for try := 0; ; try++ {
		ct, body, n, err := ch.body()
		if err != nil {
			return 0, err
		}
		// http.NewRequest learns the length of a few reader types only;
		// without it the body would go chunked. GetBody lets the
		// transport send it again on a fresh connection when a kept-alive
		// one turns out to be closed.
		length := func(_ context.Context, req *http.Request) error {
			req.ContentLength = n
			req.GetBody = func() (io.ReadCloser, error) {
				_, b, _, err := ch.body()
				if rc, ok := b.(io.ReadCloser); ok {
					return rc, err
				}
				return io.NopCloser(b), err
			}
			return nil
		}
		var resp *http.Response
		switch {
		case ch.requestToken != "":
			resp, err = c.api.UploadRequestFileContentWithBody(ctx, ch.requestToken, shareID, ct, body, length)
		case replace:
			resp, err = c.api.ReplaceShareContentWithBody(ctx, shareID, ct, body, length)
		default:
			resp, err = c.api.UploadShareContentWithBody(ctx, shareID, ct, body, length)
		}
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
				return resp.StatusCode, nil
			case resp.StatusCode < 500:
				return 0, apiError(resp, data)
			default:
				err = apiError(resp, data)
			}
		}
		if try >= c.retries || ctx.Err() != nil {
			return 0, fmt.Errorf("client: chunk %d of %d: %w", ch.index, ch.total, err)
		}
		if err := c.wait(ctx, try); err != nil {
			return 0, err
		}
	}
}

func (c *Client) wait(ctx context.Context, try int) error {
	t := time.NewTimer(c.backoff << try)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrContentChanged means the content was replaced while a download was
// being resumed: the bytes already written belong to the old content.
var ErrContentChanged = errors.New("client: the share's content changed during the download")

// downloadBuf is the size of the buffer a download copies through.
const downloadBuf = 1 << 20

// DownloadOptions tune Download. The zero value downloads everything.
type DownloadOptions struct {
	// Offset is where to start: the caller already has the bytes before
	// it (e.g. a partial file being appended to).
	Offset int64
	// ETag, with Offset, is the ETag of the content those bytes came from
	// (Download reports it); a content replaced since then fails with
	// ErrContentChanged instead of being spliced onto them.
	ETag string
}

// Downloaded describes what Download wrote.
type Downloaded struct {
	Written            int64  // bytes written to w by this call
	Size               int64  // the whole content's size
	ETag               string // the content's ETag
	ContentType        string
	ContentDisposition string
}

// Download writes the share's content, from opts.Offset on, to w. When the
// connection breaks it asks for the rest with Range and If-Range, up to
// the client's retries in a row without progress.
func (c *Client) Download(ctx context.Context, shareID string, w io.Writer, opts *DownloadOptions) (*Downloaded, error) {
	var o DownloadOptions
	if opts != nil {
		o = *opts
	}
	d := &Downloaded{ETag: o.ETag, Size: -1}
	offset := o.Offset
	fails := 0
	for {
		if d.Size >= 0 && offset >= d.Size {
			return d, nil
		}
		params := &gen.GetShareContentParams{}
		if offset > 0 {
			rng := fmt.Sprintf("bytes=%d-", offset)
			params.Range = &rng
			if d.ETag != "" {
				etag := d.ETag
				params.IfRange = &etag
			}
		}
		n, done, err := c.downloadOnce(ctx, shareID, params, offset, w, d)
		offset += n
		d.Written += n
		if done || err == nil && d.Size >= 0 && offset >= d.Size {
			return d, err
		}
		if n > 0 {
			fails = 0
		}
		if fails >= c.retries || ctx.Err() != nil {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return d, fmt.Errorf("client: download stopped at byte %d: %w", offset, err)
		}
		if err := c.wait(ctx, fails); err != nil {
			return d, err
		}
		fails++
	}
}

// writeError marks an error of the destination, which no retry can help.
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

type destination struct{ w io.Writer }

func (d destination) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil {
		err = writeError{err}
	}
	return n, err
}

// downloadOnce makes one request and copies its body. done means no retry
// can help (finished, or an answer that is final).
func (c *Client) downloadOnce(ctx context.Context, shareID string, params *gen.GetShareContentParams, offset int64, w io.Writer, d *Downloaded) (n int64, done bool, err error) {
	resp, err := c.api.GetShareContent(ctx, shareID, params)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 {
			return 0, true, ErrContentChanged
		}
		d.Size = resp.ContentLength
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != offset {
			return 0, true, fmt.Errorf("client: asked for bytes from %d, got Content-Range %q", offset, resp.Header.Get("Content-Range"))
		}
		d.Size = size
	case http.StatusRequestedRangeNotSatisfiable:
		// Nothing after offset: done if offset is the end.
		if _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && size == offset {
			d.Size = size
			return 0, true, nil
		}
		return 0, true, &Error{Status: resp.StatusCode, Message: "offset past the end of the content"}
	default:
		data, _ := io.ReadAll(resp.Body)
		return 0, resp.StatusCode < 500, apiError(resp, data)
	}
	if etag := resp.Header.Get("ETag"); etag != "" {
		if d.ETag != "" && d.ETag != etag {
			return 0, true, ErrContentChanged
		}
		d.ETag = etag
	}
	d.ContentType = resp.Header.Get("Content-Type")
	d.ContentDisposition = resp.Header.Get("Content-Disposition")
	// A large buffer: fewer, larger reads and writes (io.Copy's own is
	// 32 KiB), which is most of what a download costs the client.
	n, err = io.CopyBuffer(destination{w}, resp.Body, make([]byte, downloadBuf))
	var we writeError
	if errors.As(err, &we) {
		return n, true, we.error
	}
	if err == nil && d.Size < 0 { // no length given: the body was all of it
		d.Size = offset + n
		return n, true, nil
	}
	return n, false, err
}

// parseContentRange reads "bytes START-END/SIZE" or "bytes */SIZE".
func parseContentRange(v string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, total, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	size, err := strconv.ParseInt(total, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if rng == "*" {
		return -1, size, true
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err = strconv.ParseInt(first, 10, 64)
	return start, size, err == nil
}
