package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ioBuf is the size of the buffers that move file bytes in the load
// generator: one per stream, reused, never a whole file.
const ioBuf = 256 << 10

// newHTTPClient returns a client tuned for loopback load: enough idle
// connections for every worker, no compression, large socket buffers, no
// proxy.
func newHTTPClient(conc int) *http.Client {
	conc = max(conc, 64)
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4 * conc,
		MaxIdleConnsPerHost:   2 * conc,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       ioBuf,
		ReadBufferSize:        ioBuf,
		ResponseHeaderTimeout: 10 * time.Minute,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// tally counts every request the generator makes and keeps a few failure
// messages.
type tally struct {
	reqs, fails atomic.Int64
	mu          sync.Mutex
	samples     []string
}

func (t *tally) ok() { t.reqs.Add(1) }

func (t *tally) fail(err error) {
	t.reqs.Add(1)
	t.fails.Add(1)
	t.mu.Lock()
	if len(t.samples) < 20 {
		t.samples = append(t.samples, err.Error())
	}
	t.mu.Unlock()
}

func (t *tally) record(err error) error {
	if err != nil {
		t.fail(err)
	} else {
		t.ok()
	}
	return err
}

// api talks to one sachet server.
type api struct {
	hc    *http.Client
	base  string // http://127.0.0.1:port
	token string
	t     *tally
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// drain reads and discards the rest of a body, returning the byte count.
func drain(r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var n int64
	for {
		k, err := r.Read(*bp)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil). A status other than want is an error. It is not counted in the
// tally: callers decide.
func (a *api) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, snippet(b))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	_, err = drain(resp.Body)
	return err
}

// get sends a GET (with the token) and discards the body, checking status.
func (a *api) get(ctx context.Context, path string, want int) error {
	return a.call(ctx, http.MethodGet, path, nil, want, nil)
}

func (a *api) login(ctx context.Context, user, pw string) (string, error) {
	var out struct {
		AuthToken string `json:"auth_token"`
	}
	a2 := *a
	a2.token = ""
	if err := a2.call(ctx, http.MethodPost, "/users/login", map[string]string{"username": user, "password": pw}, http.StatusOK, &out); err != nil {
		return "", err
	}
	if out.AuthToken == "" {
		return "", errors.New("login: no auth_token in the answer")
	}
	return out.AuthToken, nil
}

func (a *api) createShare(ctx context.Context, name string) (string, error) {
	var out struct {
		URL string `json:"url"`
	}
	err := a.call(ctx, http.MethodPost, "/files", map[string]string{"file_name": name}, http.StatusCreated, &out)
	a.t.record(err)
	if err != nil {
		return "", err
	}
	id, ok := strings.CutPrefix(out.URL, "/files/")
	if !ok || id == "" {
		err = fmt.Errorf("POST /files: unexpected url %q", out.URL)
		a.t.fail(err)
		return "", err
	}
	return id, nil
}

func (a *api) deleteShare(ctx context.Context, id string) error {
	return a.t.record(a.call(ctx, http.MethodDelete, "/files/"+id, nil, http.StatusOK, nil))
}

type shareInfo struct {
	ShareID     string  `json:"share_id"`
	Initialized bool    `json:"initialized"`
	Size        *int64  `json:"size"`
	SHA256      *string `json:"sha256"`
}

func (a *api) share(ctx context.Context, id string) (shareInfo, error) {
	var s shareInfo
	err := a.t.record(a.call(ctx, http.MethodGet, "/files/"+id, nil, http.StatusOK, &s))
	return s, err
}

type page struct {
	Data  []json.RawMessage `json:"data"`
	Pages int               `json:"pages"`
}

func (a *api) listPage(ctx context.Context, pg, per int) (page, error) {
	var p page
	err := a.t.record(a.call(ctx, http.MethodGet, fmt.Sprintf("/files?page=%d&per_page=%d", pg, per), nil, http.StatusOK, &p))
	return p, err
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// uploader sends a file of pseudo-random bytes with the Dropzone chunked
// protocol. It owns one I/O buffer; use one per concurrent upload.
type uploader struct {
	a   *api
	buf []byte
}

func newUploader(a *api) *uploader { return &uploader{a: a, buf: make([]byte, ioBuf)} }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func dzuuid() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// upload sends size bytes of the stream seeded with seed to the share, in
// chunks of chunk bytes, one after the other, and checks that every chunk
// but the last is answered 200 and the last 201. With verify it returns
// the hex SHA-256 of what it sent.
func (u *uploader) upload(ctx context.Context, id string, size, chunk int64, seed uint64, verify bool) (string, error) {
	total := int64(1)
	if size > 0 {
		total = (size + chunk - 1) / chunk
	}
	var h hash.Hash
	if verify {
		h = sha256.New()
	}
	gen := newPRNG(seed)
	uuid := dzuuid()
	for i := int64(0); i < total; i++ {
		n := min(chunk, size-i*chunk)
		fields := [][2]string{
			{"dzuuid", uuid},
			{"dzchunkindex", strconv.FormatInt(i, 10)},
			{"dztotalchunks", strconv.FormatInt(total, 10)},
			{"dzchunksize", strconv.FormatInt(chunk, 10)},
			{"dztotalfilesize", strconv.FormatInt(size, 10)},
			{"dzchunkbyteoffset", strconv.FormatInt(i*chunk, 10)},
		}
		want := http.StatusOK
		if i == total-1 {
			want = http.StatusCreated
		}
		err := u.a.t.record(u.chunk(ctx, "/files/"+id+"/content", fields, n, gen, h, want))
		if err != nil {
			return "", fmt.Errorf("chunk %d/%d: %w", i, total, err)
		}
	}
	if h == nil {
		return "", nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeParts(mw *multipart.Writer, fields [][2]string) (io.Writer, error) {
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	return mw.CreateFormFile("upload", "bench.bin")
}

// chunk posts one chunk. The multipart body is produced by a goroutine
// into an io.Pipe as the transport sends it; its length is computed up
// front (as a browser's FormData upload has one).
func (u *uploader) chunk(ctx context.Context, path string, fields [][2]string, n int64, gen *prng, h hash.Hash, want int) error {
	var cw countWriter
	dry := multipart.NewWriter(&cw)
	if _, err := writeParts(dry, fields); err != nil {
		return err
	}
	if err := dry.Close(); err != nil {
		return err
	}
	length := cw.n + n

	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		mw := multipart.NewWriter(pw)
		if err := mw.SetBoundary(dry.Boundary()); err != nil {
			pw.CloseWithError(err)
			return
		}
		part, err := writeParts(mw, fields)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		for left := n; left > 0; {
			b := u.buf[:min(int64(len(u.buf)), left)]
			gen.fill(b)
			if h != nil {
				h.Write(b)
			}
			if _, err := part.Write(b); err != nil {
				pw.CloseWithError(err)
				return
			}
			left -= int64(len(b))
		}
		if err := mw.Close(); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.Close()
	}()
	defer func() {
		pr.Close() // unblocks the producer if the request ended early
		<-done
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.a.base+path, pr)
	if err != nil {
		return err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", dry.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.a.token)
	resp, err := u.a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, snippet(b))
	}
	return nil
}

// download GETs a whole file (url is absolute; token may be empty) and
// checks its length; with h it hashes the bytes. buf is the caller's.
func download(ctx context.Context, hc *http.Client, url, token string, want int64, buf []byte, h hash.Hash) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, snippet(b))
	}
	if resp.ContentLength != want {
		return fmt.Errorf("GET %s: Content-Length %d, want %d", url, resp.ContentLength, want)
	}
	var got int64
	for {
		k, err := resp.Body.Read(buf)
		got += int64(k)
		if h != nil && k > 0 {
			h.Write(buf[:k])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("GET %s: after %d bytes: %w", url, got, err)
		}
	}
	if got != want {
		return fmt.Errorf("GET %s: %d bytes, want %d", url, got, want)
	}
	return nil
}

// getRange GETs bytes [off, off+n) and checks the 206 and the length.
func getRange(ctx context.Context, hc *http.Client, url, token string, off, n int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("GET %s Range %d+%d: status %d: %s", url, off, n, resp.StatusCode, snippet(b))
	}
	got, err := drain(resp.Body)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("GET %s Range %d+%d: %d bytes", url, off, n, got)
	}
	return nil
}
