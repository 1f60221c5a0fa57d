package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// TestUploadParallelFileHash: with FileHash the file is hashed as it is
// read, chunks the server holds included (read, not sent), and the sum
// goes with the last chunk (dzfilesha256), which the server checks: a
// wrong one is refused.
func TestUploadParallelFileHash(t *testing.T) {
	ctx := context.Background()
	c := login(t, start(t), "admin", "admin-pw")
	const chunk = 64 << 10
	data := make([]byte, 7*chunk+5) // 8 chunks, the last short
	rand.NewChaCha8([32]byte{2}).Read(data)
	want := sha256.Sum256(data)
	for _, tc := range []struct {
		streams       int
		readAfterSend bool // each chunk read once the previous body is sent
	}{{1, false}, {3, false}, {1, true}, {3, true}} {
		streams := tc.streams
		t.Run(fmt.Sprintf("%dstreams/readAfterSend=%v", streams, tc.readAfterSend), func(t *testing.T) {
			id, err := c.CreateShare(ctx, "hashed.bin")
			if err != nil {
				t.Fatal(err)
			}
			dz := fmt.Sprint("hashed-", streams, tc.readAfterSend)
			// A first run got chunks 2 and 3 through.
			first := map[int64]bool{}
			for i := int64(0); i < 8; i++ {
				first[i] = i != 2 && i != 3
			}
			if _, err := c.UploadParallel(ctx, id, bytes.NewReader(data), int64(len(data)), &client.ParallelOptions{ChunkSize: chunk, UploadID: dz, Skip: first}); err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			var sent atomic.Int64
			done, err := c.UploadParallel(ctx, id, bytes.NewReader(data), int64(len(data)), &client.ParallelOptions{
				ChunkSize: chunk, UploadID: dz, Streams: streams, Skip: map[int64]bool{2: true, 3: true},
				FileHash: h, ChunkSHA256: streams == 3, Sent: func(n int64) { sent.Add(n) },
				ReadAfterSend: tc.readAfterSend,
			})
			if err != nil || !done {
				t.Fatalf("done=%v err=%v", done, err)
			}
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Errorf("FileHash sum %x, want %x (skipped chunks hashed too)", got, want)
			}
			if got, want := sent.Load(), int64(len(data)-2*chunk); got != want {
				t.Errorf("sent %d bytes, want %d", got, want)
			}
			sh, err := c.Share(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := sh.Sha256.Get(); got != hex.EncodeToString(want[:]) {
				t.Errorf("share sha256 = %s", got)
			}
		})
	}
	t.Run("WrongSumRefused", func(t *testing.T) {
		id, err := c.CreateShare(ctx, "wrong.bin")
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		h.Write([]byte("not the file")) // the sum sent will not match
		_, err = c.UploadParallel(ctx, id, bytes.NewReader(data), int64(len(data)), &client.ParallelOptions{ChunkSize: chunk, FileHash: h})
		if client.StatusOf(err) != 400 {
			t.Fatalf("err = %v, want a 400", err)
		}
		if sh, err := c.Share(ctx, id); err != nil || (sh.Initialized != nil && *sh.Initialized) {
			t.Errorf("share after a refused sum: %+v, %v", sh, err)
		}
	})
}
