package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sachet-server/sachet/client"
)

// pullState ties a partial file (FILE.part) to the content it holds the
// start of: If-Range with its ETag makes sure the rest comes from the
// same content, never from a replacement spliced onto the old bytes.
type pullState struct {
	Server  string `json:"server"`
	ShareID string `json:"share_id"`
	ETag    string `json:"etag"`
	Size    int64  `json:"size"`
}

// pullResult is one pulled share, as printed.
type pullResult struct {
	ShareID       string `json:"share_id"`
	File          string `json:"file"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	ResumedFrom   int64  `json:"resumed_from"`   // bytes already in FILE.part
	BytesReceived int64  `json:"bytes_received"` // content bytes fetched by this run
}

func pull(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("pull")
	out := fs.String("o", "", "write to this file (default: the share's file name, in the current directory)")
	doSync := fs.Bool("fsync", false, "flush the file to the disk before it gets its name (like curl, the default leaves that to the kernel)")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return usagef("pull needs one share id or URL")
	}
	id, server, err := shareRef(operands[0])
	if err != nil {
		return err
	}
	r.urlServer = server
	c, server, err := r.connect(true)
	if err != nil {
		return err
	}
	sh, err := c.Share(ctx, id)
	if err != nil {
		return err
	}
	if sh.Initialized == nil || !*sh.Initialized {
		return &client.Error{Status: 404, Message: "the share has no content yet"}
	}
	want, _ := sh.Sha256.Get()
	size, _ := sh.Size.Get()
	dest := *out
	if dest == "" {
		// The server's name for it, never a path: a share named
		// "../../.bashrc" lands in the current directory as ".bashrc".
		dest = filepath.Base(filepath.Clean("/" + strings.ReplaceAll(sh.FileName, `\`, "/")))
		if dest == "/" || dest == "." {
			dest = id
		}
	}
	statePath, err := r.stateFile("pull", server, dest)
	if err != nil {
		return err
	}
	part := dest + ".part"
	var res *pullResult
	// Twice at most: a partial file of content replaced since is dropped
	// and the download starts over, once.
	for attempt := 0; ; attempt++ {
		res, err = r.pullOnce(ctx, c, server, id, size, part, statePath, *doSync)
		if errors.Is(err, client.ErrContentChanged) && attempt == 0 {
			fmt.Fprintln(r.env.Stderr, "sachet: the share's content changed since the partial download; starting over")
			_ = os.Remove(part)
			_ = os.Remove(statePath)
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	sum := res.SHA256 // of the whole file: the bytes resumed from, then those written
	if sum != want {
		// The bytes are wrong; keeping them would only resume onto them.
		_ = os.Remove(part)
		_ = os.Remove(statePath)
		return verifyError{fmt.Sprintf("SHA-256 mismatch: got %s, the server says %s; the partial file was removed", sum, want)}
	}
	if err := os.Rename(part, dest); err != nil {
		return err
	}
	_ = os.Remove(statePath)
	res.File = dest
	r.out(res, dest)
	return nil
}

// pullOnce downloads into part, resuming it when the state says it holds
// the start of this share's current content, and returns the SHA-256 of
// the whole file. With doSync the file is fsynced before it is closed.
func (r *runner) pullOnce(ctx context.Context, c *client.Client, server, id string, size int64, part, statePath string, doSync bool) (*pullResult, error) {
	var st pullState
	var offset int64
	if readState(statePath, &st) && st.Server == server && st.ShareID == id && st.Size == size && st.ETag != "" {
		if fi, err := os.Stat(part); err == nil && fi.Size() <= size {
			offset = fi.Size()
		}
	}
	if offset == 0 {
		// Learn the ETag before the first byte lands, so that a pull
		// killed at any point resumes against the right content.
		resp, err := c.API().HeadShareContentWithResponse(ctx, id, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode() != 200 {
			return nil, client.AsError(resp.HTTPResponse, resp.Body)
		}
		st = pullState{Server: server, ShareID: id, ETag: resp.HTTPResponse.Header.Get("ETag"), Size: size}
		if err := writeState(statePath, &st); err != nil {
			return nil, fmt.Errorf("keeping the resume state: %w", err)
		}
	}
	// Whatever lies past offset is not trusted (offset is its size, or
	// 0). Starting afresh, the old file is removed rather than truncated
	// to 0: on ext4 a truncation to 0 (even of an empty file) marks the
	// file for the "replace by truncate" heuristic (auto_da_alloc), and
	// its close then starts the writeback of all of it, which made the
	// pull wait for the disk where curl -o (a new file, never truncated)
	// leaves that to the kernel: 0.5-0.6x of curl in the bench.
	if offset == 0 {
		if err := os.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if fi.Size() > offset {
		if err := f.Truncate(offset); err != nil {
			return nil, err
		}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	// Hashed as it is written (the bytes kept from an earlier run first),
	// on another goroutine: no second pass over the file at the end.
	h := newAsyncHash(sha256.New())
	defer h.finish()
	if offset > 0 {
		if err := hashPrefix(h, part, offset); err != nil {
			return nil, err
		}
	}
	m := r.meter("pull "+filepath.Base(strings.TrimSuffix(part, ".part")), size, offset)
	d, err := c.Download(ctx, id, io.MultiWriter(f, h, meterWriter{m}), &client.DownloadOptions{Offset: offset, ETag: st.ETag})
	m.Done(err == nil)
	if err != nil {
		return nil, err
	}
	if doSync {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &pullResult{ShareID: id, Size: size, SHA256: hex.EncodeToString(h.finish()), ResumedFrom: offset, BytesReceived: d.Written}, nil
}

// hashPrefix writes the first n bytes of the file at path to w.
func hashPrefix(w io.Writer, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := io.CopyBuffer(w, io.LimitReader(f, n), make([]byte, hashBuf))
	if err == nil && got != n {
		err = fmt.Errorf("%s: %d bytes, expected %d", path, got, n)
	}
	return err
}

type meterWriter struct{ m meter }

func (w meterWriter) Write(p []byte) (int, error) {
	w.m.Add(int64(len(p)))
	return len(p), nil
}

// readerSHA256 is the SHA-256 (hex) of what r reads.
func readerSHA256(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, hashBuf)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
