package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sachet-server/sachet/client"
)

// pushState is what a rerun of an interrupted push needs to find its
// upload again. It is only trusted while the file is unchanged (same size
// and modification time) and the chunking is the same.
type pushState struct {
	Server    string `json:"server"`
	File      string `json:"file"`
	ShareID   string `json:"share_id"`
	UploadID  string `json:"dzuuid"`
	Size      int64  `json:"size"`
	MtimeNS   int64  `json:"mtime_ns"`
	ChunkSize int64  `json:"chunk_size"`
}

// pushResult is one pushed file, as printed.
type pushResult struct {
	File          string `json:"file"`
	ShareID       string `json:"share_id"`
	URL           string `json:"url"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	Resumed       bool   `json:"resumed"`
	ChunksTotal   int64  `json:"chunks_total"`
	ChunksSkipped int64  `json:"chunks_skipped"` // held by the server already
	BytesSent     int64  `json:"bytes_sent"`     // file bytes sent by this run
}

type pushOptions struct {
	streams   int
	chunkSize int64
	name      string
	chunkSHA  optBool
	local     bool // the server is on this machine
}

// optBool is a boolean flag that knows whether it was given.
type optBool struct{ set, v bool }

func (b *optBool) String() string {
	if b == nil || !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.v)
}

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

func (b *optBool) IsBoolFlag() bool { return true }

// Defaults that depend on where the server is. To a server on this
// machine (bench/README.md, "Issue 13 item 5"):
//   - one stream is the fastest: there is no round trip or window to hide,
//     the cores are shared with the server, and chunks that arrive out of
//     order are staged and copied again when the server joins them, where
//     in-order chunks are appended;
//   - no per-chunk SHA-256: no wire lies between that could damage a
//     chunk, and each sum costs a SHA-256 pass on both ends (a third more
//     CPU in all); the whole file's sum is still sent, checked by the server
//     before it keeps the upload, and checked again against the share's.
//
// Over a real network, parallel chunks hide the round trips and a single
// connection's window, and a chunk damaged on the way is refused and sent
// again alone instead of failing the whole upload at its end.
const (
	loopbackStreams = 1
	remoteStreams   = client.DefaultStreams
)

// isLoopback says whether the server URL names this machine.
func isLoopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func push(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("push")
	var o pushOptions
	fs.IntVar(&o.streams, "streams", 0, "chunks sent at once (default, or 0: 1 to a server on loopback, 4 elsewhere)")
	fs.Int64Var(&o.chunkSize, "chunk-size", client.DefaultChunkSize, "bytes per chunk")
	fs.Var(&o.chunkSHA, "chunk-sha256", "send each chunk's SHA-256 for the server to check (default: yes, except to a server on loopback; the whole file's is always sent and checked)")
	fs.StringVar(&o.name, "name", "", "the share's file name (default: the file's base name; one file only)")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(files) == 0:
		return usagef("push needs at least one file")
	case o.name != "" && len(files) > 1:
		return usagef("--name names one file, but %d were given", len(files))
	case o.streams < 0 || o.streams > 64:
		return usagef("--streams must be 1 to 64")
	case o.chunkSize < 1:
		return usagef("--chunk-size must be positive")
	}
	c, server, err := r.connect(true)
	if err != nil {
		return err
	}
	local := isLoopback(server)
	o.local = local
	if o.streams == 0 {
		o.streams = remoteStreams
		if local {
			o.streams = loopbackStreams
		}
	}
	if !o.chunkSHA.set {
		o.chunkSHA.v = !local
	}
	var first error
	for _, file := range files {
		res, err := r.pushOne(ctx, c, server, file, o)
		if err != nil {
			err = fmt.Errorf("push %s: %w", file, err)
			if first == nil {
				first = err
			}
			if ctx.Err() != nil {
				break
			}
			if len(files) > 1 {
				// Report each failure as it happens; the first one sets
				// the exit status.
				fmt.Fprintln(r.env.Stderr, "sachet:", message(err))
			}
			continue
		}
		r.out(res, res.URL)
	}
	if first != nil && len(files) > 1 {
		return quiet{first}
	}
	return first
}

func (r *runner) pushOne(ctx context.Context, c *client.Client, server, file string, o pushOptions) (*pushResult, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, usagef("%s is not a regular file", file)
	}
	statePath, err := r.stateFile("push", server, file)
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	total := client.Chunks(size, o.chunkSize)
	res := &pushResult{File: file, Size: size, ChunksTotal: total}

	// The file's SHA-256 goes with the last chunk (dzfilesha256, checked
	// by the server before it completes the upload) and is compared with
	// the share's at the end. The upload computes it as it reads the file,
	// once and in order; only a push that finds its upload already
	// completed reads the file just to hash it.
	h := sha256.New()
	var hashSum string
	fileSum := func(context.Context) (string, error) {
		if hashSum == "" {
			return "", errors.New("the file's SHA-256 is not known yet")
		}
		return hashSum, nil
	}

	st, held, done, err := r.resumePush(ctx, c, statePath, server, file, fi, o.chunkSize)
	if err != nil {
		return nil, err
	}
	if st == nil {
		name := o.name
		if name == "" {
			name = filepath.Base(file)
		}
		id, err := c.CreateShare(ctx, name)
		if err != nil {
			return nil, err
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		st = &pushState{Server: server, File: file, ShareID: id, UploadID: hex.EncodeToString(b[:]),
			Size: size, MtimeNS: fi.ModTime().UnixNano(), ChunkSize: o.chunkSize}
		// Written before the first chunk goes, so that a push killed at
		// any point after this can be resumed.
		if err := writeState(statePath, st); err != nil {
			return nil, fmt.Errorf("keeping the resume state: %w", err)
		}
	} else {
		res.Resumed = true
	}
	res.ShareID, res.URL = st.ShareID, server+"/files/"+st.ShareID

	if !done {
		var heldBytes int64
		for i := range held {
			heldBytes += min(o.chunkSize, size-i*o.chunkSize)
		}
		res.ChunksSkipped = int64(len(held))
		m := r.meter("push "+filepath.Base(file), size, heldBytes)
		var sent atomic.Int64
		_, err := c.UploadParallel(ctx, st.ShareID, f, size, &client.ParallelOptions{
			ChunkSize: o.chunkSize, UploadID: st.UploadID, Streams: o.streams, Skip: held,
			ChunkSHA256: o.chunkSHA.v, FileHash: h,
			Sent: func(n int64) { sent.Add(n); m.Add(n) },
			// On loopback the cores are shared with the server: hash
			// while it flushes a chunk, not while it receives one.
			ReadAfterSend: o.local && o.streams == 1,
		})
		m.Done(err == nil)
		res.BytesSent = sent.Load()
		if err != nil {
			return nil, pushError(err, file, fi)
		}
		hashSum = hex.EncodeToString(h.Sum(nil))
		if err := r.finishPush(ctx, c, st, f, size, total, o.chunkSHA.v, fileSum); err != nil {
			return nil, pushError(err, file, fi)
		}
	} else {
		if hashSum, err = readerSHA256(io.NewSectionReader(f, 0, size)); err != nil {
			return nil, err
		}
	}

	sh, err := c.Share(ctx, st.ShareID)
	if err != nil {
		return nil, err
	}
	if after, err := os.Stat(file); err != nil || after.Size() != size || !after.ModTime().Equal(fi.ModTime()) {
		return nil, verifyError{"the file changed while it was being pushed; push it again"}
	}
	sum, err := fileSum(ctx)
	if err != nil {
		return nil, err
	}
	got, _ := sh.Sha256.Get()
	if got != sum {
		return nil, verifyError{fmt.Sprintf("SHA-256 mismatch: the file's is %s, the server's %q", sum, got)}
	}
	res.SHA256 = sum
	_ = os.Remove(statePath)
	return res, nil
}

// resumePush looks for an interrupted push of the file. It returns its
// state and the chunks the server holds, or done when the upload had
// completed (the push was interrupted after its last chunk); a nil state
// means start afresh.
func (r *runner) resumePush(ctx context.Context, c *client.Client, statePath, server, file string, fi os.FileInfo, chunkSize int64) (st *pushState, held map[int64]bool, done bool, err error) {
	var s pushState
	if !readState(statePath, &s) || s.Server != server || s.Size != fi.Size() ||
		s.MtimeNS != fi.ModTime().UnixNano() || s.ChunkSize != chunkSize || s.ShareID == "" || s.UploadID == "" {
		return nil, nil, false, nil
	}
	sh, err := c.Share(ctx, s.ShareID)
	if client.StatusOf(err) == 404 {
		return nil, nil, false, nil // the share went: start afresh
	}
	if err != nil {
		return nil, nil, false, err
	}
	if sh.Initialized != nil && *sh.Initialized {
		return &s, nil, true, nil
	}
	us, err := c.UploadStatus(ctx, s.ShareID, s.UploadID)
	switch {
	case client.StatusOf(err) == 404:
		// No chunk arrived, or cleanup removed the upload: all to send.
		return &s, map[int64]bool{}, false, nil
	case err != nil:
		return nil, nil, false, err
	case int64(us.TotalChunks) != client.Chunks(s.Size, s.ChunkSize):
		return nil, nil, false, nil
	}
	return &s, client.Held(us), false, nil
}

// finishPush makes sure the upload completed. Every chunk was acknowledged,
// but the one that completed it may have been sent by an earlier run that
// died before the join finished: the server then holds every chunk and
// re-sending the last one completes it.
func (r *runner) finishPush(ctx context.Context, c *client.Client, st *pushState, f io.ReaderAt, size, total int64, chunkSHA bool, fileSum func(context.Context) (string, error)) error {
	sh, err := c.Share(ctx, st.ShareID)
	if err != nil {
		return err
	}
	if sh.Initialized != nil && *sh.Initialized {
		return nil
	}
	us, err := c.UploadStatus(ctx, st.ShareID, st.UploadID)
	if err != nil {
		if client.StatusOf(err) == 404 {
			return errors.New("the server no longer holds the upload (completed by someone else, aborted, or expired); push again")
		}
		return err
	}
	held := client.Held(us)
	skip := make(map[int64]bool, len(held))
	for i := range held {
		skip[i] = true
	}
	delete(skip, total-1)
	completed, err := c.UploadParallel(ctx, st.ShareID, f, size, &client.ParallelOptions{
		ChunkSize: st.ChunkSize, UploadID: st.UploadID, Streams: 1, Skip: skip,
		ChunkSHA256: chunkSHA, FileSHA256: fileSum,
	})
	if err != nil {
		return err
	}
	if !completed {
		sh, err := c.Share(ctx, st.ShareID)
		if err != nil {
			return err
		}
		if sh.Initialized == nil || !*sh.Initialized {
			return errors.New("every chunk was sent, but the upload did not complete; push again")
		}
	}
	return nil
}

// pushError says what a refused upload means for the file. The server
// refuses the chunk that would complete the upload when the joined bytes
// do not have the SHA-256 the push sent (dzfilesha256), and a chunk that
// does not have its own (dzchunksha256): the file changed while it was
// read, or the bytes were damaged on the way. Either is a verification
// failure (exit status 7), not a mere bad request.
func pushError(err error, file string, before os.FileInfo) error {
	if client.StatusOf(err) != 400 {
		return err
	}
	if after, serr := os.Stat(file); serr == nil && (after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime())) {
		return verifyError{"the file changed while it was being pushed, and the server refused it; push it again"}
	}
	var ae *client.Error
	if errors.As(err, &ae) && strings.Contains(ae.Message, "SHA-256 mismatch") {
		return verifyError{"the server refused the upload: " + ae.Message}
	}
	return err
}
