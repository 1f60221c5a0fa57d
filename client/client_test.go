package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/client"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

// start boots the real server in-process, as tests/harness_test.go does,
// on SQLite with an "admin" holding every permission, and returns its URL.
func start(t *testing.T) string {
	t.Helper()
	cfg := app.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Database = "sqlite:" + cfg.DataDir + "/sachet.db"
	cfg.BcryptCost = 4
	cfg.Addr = "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	if err := a.CreateUser(context.Background(), "admin", "admin-pw", domain.PermAll); err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String()
}

func login(t *testing.T, url, user, pw string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(context.Background(), user, pw); err != nil {
		t.Fatal(err)
	}
	return c
}

// content is n bytes that differ at every offset modulo 251.
func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func TestSession(t *testing.T) {
	ctx := context.Background()
	url := start(t)
	admin := login(t, url, "admin", "admin-pw")

	me, err := admin.Whoami(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := me.Username.Get(); name != "admin" || len(me.Permissions) != 7 {
		t.Fatalf("whoami = %+v", me)
	}

	// The generated client, through the same token.
	perms := gen.Permissions{gen.CREATE, gen.READ, gen.MODIFY}
	pw := "bob-pw"
	r, err := admin.API().CreateUserWithResponse(ctx, gen.CreateUserJSONRequestBody{Username: "bob", Password: &pw, Permissions: &perms})
	if err != nil || r.StatusCode() != http.StatusCreated {
		t.Fatalf("create user: %v %s", err, r.Body)
	}

	bob := login(t, url, "bob", "bob-pw")
	id, err := bob.CreateShare(ctx, "data.bin")
	if err != nil {
		t.Fatal(err)
	}
	data := content(100_000)
	// Unknown size: spooled, then 3 chunks (40 000 + 40 000 + 20 000).
	if err := bob.Upload(ctx, id, bytes.NewReader(data), -1, &client.UploadOptions{ChunkSize: 40_000}); err != nil {
		t.Fatal(err)
	}
	share, err := bob.Share(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if size, _ := share.Size.Get(); size != int64(len(data)) || share.Initialized == nil || !*share.Initialized {
		t.Fatalf("share = %+v", share)
	}
	if h, _ := share.Sha256.Get(); h != hex.EncodeToString(sum[:]) {
		t.Fatalf("sha256 %s", h)
	}

	var got bytes.Buffer
	d, err := bob.Download(ctx, id, &got, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) || d.Written != int64(len(data)) || d.Size != int64(len(data)) || d.ETag == "" {
		t.Fatalf("download: %d bytes, %+v", got.Len(), d)
	}
	if !strings.Contains(d.ContentDisposition, "data.bin") {
		t.Errorf("Content-Disposition %q", d.ContentDisposition)
	}

	// Resume a partial download from an offset, with the ETag it had.
	var rest bytes.Buffer
	d2, err := bob.Download(ctx, id, &rest, &client.DownloadOptions{Offset: 60_000, ETag: d.ETag})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rest.Bytes(), data[60_000:]) || d2.Written != 40_000 || d2.Size != int64(len(data)) {
		t.Fatalf("resumed: %d bytes, %+v", rest.Len(), d2)
	}
	// Nothing left to fetch at the end.
	if d3, err := bob.Download(ctx, id, io.Discard, &client.DownloadOptions{Offset: int64(len(data))}); err != nil || d3.Written != 0 {
		t.Fatalf("at the end: %+v, %v", d3, err)
	}

	// Replaced content: resuming with the old ETag must not splice.
	if err := bob.Upload(ctx, id, bytes.NewReader([]byte("something else entirely")), 23, &client.UploadOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Download(ctx, id, io.Discard, &client.DownloadOptions{Offset: 5, ETag: d.ETag}); !errors.Is(err, client.ErrContentChanged) {
		t.Fatalf("resume after replace: %v, want ErrContentChanged", err)
	}

	// Logout revokes the token.
	old := bob.Token()
	if err := bob.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	stale, _ := client.New(url, client.WithToken(old))
	if _, err := stale.Whoami(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("whoami with a revoked token: %v", err)
	}
	if me, err := bob.Whoami(ctx); err != nil || me.Username.IsSpecified() && !me.Username.IsNull() {
		t.Fatalf("after logout: %+v %v", me, err)
	}
}

// flaky cuts the first few content downloads after cut bytes, and fails
// the first try of every chunk upload with a connection error.
type flaky struct {
	cut       int64
	downloads atomic.Int32
	uploads   atomic.Int32
	ranges    []string
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	isContent := strings.HasSuffix(req.URL.Path, "/content")
	if isContent && req.Method == http.MethodPost && f.uploads.Add(1)%2 == 1 {
		return nil, errors.New("connection reset (simulated)")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !isContent || req.Method != http.MethodGet {
		return resp, err
	}
	f.ranges = append(f.ranges, req.Header.Get("Range"))
	if f.downloads.Add(1) <= 3 {
		resp.Body = &cutBody{rc: resp.Body, left: f.cut}
	}
	return resp, nil
}

type cutBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

func TestRetriesAndResume(t *testing.T) {
	ctx := context.Background()
	url := start(t)
	f := &flaky{cut: 30_000}
	c := login(t, url, "admin", "admin-pw",
		client.WithHTTPClient(&http.Client{Transport: f}), client.WithRetries(3, time.Millisecond))
	id, err := c.CreateShare(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	data := content(100_000)
	// Every chunk's first try fails; each is sent again.
	if err := c.Upload(ctx, id, bytes.NewReader(data), int64(len(data)), &client.UploadOptions{ChunkSize: 35_000}); err != nil {
		t.Fatal(err)
	}
	if n := f.uploads.Load(); n != 6 {
		t.Errorf("%d chunk requests, want 6 (3 chunks, each twice)", n)
	}
	// The body breaks after 30 000 bytes three times: resumed each time.
	var got bytes.Buffer
	d, err := c.Download(ctx, id, &got, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) || d.Written != int64(len(data)) {
		t.Fatalf("got %d bytes, %+v", got.Len(), d)
	}
	want := []string{"", "bytes=30000-", "bytes=60000-", "bytes=90000-"}
	if strings.Join(f.ranges, ",") != strings.Join(want, ",") {
		t.Errorf("ranges %q, want %q", f.ranges, want)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	url := start(t)
	c, _ := client.New(url)
	if _, err := c.Login(ctx, "admin", "wrong"); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("bad password: %v", err)
	}
	c = login(t, url, "admin", "admin-pw")
	_, err := c.Download(ctx, "00000000-0000-4000-8000-000000000000", io.Discard, nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Message == "" {
		t.Fatalf("missing share: %v", err)
	}
}
