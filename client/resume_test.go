package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/sachet-server/sachet/client"
)

// TestUploadParallelResume sends some chunks, asks the server which it
// holds, and sends only the rest, several at a time.
func TestUploadParallelResume(t *testing.T) {
	ctx := context.Background()
	url := start(t)
	c := login(t, url, "admin", "admin-pw")
	id, err := c.CreateShare(ctx, "data.bin")
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 64 << 10
	data := make([]byte, 10*chunk+123) // 11 chunks, the last short
	rand.NewChaCha8([32]byte{1}).Read(data)
	const dz = "parallel-upload"

	// A first run that only got chunks 0, 1 and 5 through.
	skip := map[int64]bool{}
	for i := int64(0); i < 11; i++ {
		skip[i] = i != 0 && i != 1 && i != 5
	}
	done, err := c.UploadParallel(ctx, id, bytes.NewReader(data), int64(len(data)), &client.ParallelOptions{ChunkSize: chunk, UploadID: dz, Skip: skip})
	if err != nil || done {
		t.Fatalf("first run: done=%v err=%v", done, err)
	}
	st, err := c.UploadStatus(ctx, id, dz)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Chunks, [][]int{{0, 1}, {5, 5}}; !reflect.DeepEqual(got, want) {
		t.Errorf("chunks = %v, want %v", got, want)
	}
	if got, want := st.BytesHeld, int64(3*chunk); got != want {
		t.Errorf("bytes_held = %d, want %d", got, want)
	}

	var sent atomic.Int64
	done, err = c.UploadParallel(ctx, id, bytes.NewReader(data), int64(len(data)), &client.ParallelOptions{
		ChunkSize: chunk, UploadID: dz, Streams: 3, Skip: client.Held(st), Sent: func(n int64) { sent.Add(n) },
	})
	if err != nil || !done {
		t.Fatalf("second run: done=%v err=%v", done, err)
	}
	if got, want := sent.Load(), int64(len(data)-3*chunk); got != want {
		t.Errorf("second run sent %d bytes, want %d", got, want)
	}
	sh, err := c.Share(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, _ := sh.Sha256.Get(); got != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 = %s", got)
	}
	if _, err := c.UploadStatus(ctx, id, dz); client.StatusOf(err) != 404 {
		t.Errorf("status of a completed upload: %v, want 404", err)
	}
}

func TestAbortUpload(t *testing.T) {
	ctx := context.Background()
	c := login(t, start(t), "admin", "admin-pw")
	id, err := c.CreateShare(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 3000)
	skip := map[int64]bool{2: true}
	if _, err := c.UploadParallel(ctx, id, bytes.NewReader(data), 3000, &client.ParallelOptions{ChunkSize: 1000, UploadID: "a", Skip: skip}); err != nil {
		t.Fatal(err)
	}
	if err := c.AbortUpload(ctx, id, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadStatus(ctx, id, "a"); client.StatusOf(err) != 404 {
		t.Errorf("status after abort: %v, want 404", err)
	}
	if err := c.AbortUpload(ctx, id, "a"); client.StatusOf(err) != 404 {
		t.Errorf("second abort: %v, want 404", err)
	}
}
