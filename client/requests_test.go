package client_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sachet-server/sachet/client"
	"github.com/sachet-server/sachet/gen"
)

func TestUploadToRequest(t *testing.T) {
	url := start(t)
	ctx := context.Background()
	owner := login(t, url, "admin", "admin-pw")
	maxFiles := 1
	req, err := owner.CreateUploadRequest(ctx, gen.UploadRequestCreate{MaxFiles: &maxFiles})
	if err != nil {
		t.Fatal(err)
	}
	anon, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	data := content(300_000)
	id, err := anon.UploadToRequest(ctx, req.Token, "in.bin", bytes.NewReader(data), int64(len(data)), &client.UploadOptions{ChunkSize: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := owner.Download(ctx, id, &got, nil); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download through the owner: %v (equal %v)", err, bytes.Equal(got.Bytes(), data))
	}
	// max_files is spent: 410.
	if _, err := anon.UploadToRequest(ctx, req.Token, "more.bin", bytes.NewReader(data), int64(len(data)), nil); client.StatusOf(err) != 410 {
		t.Fatalf("second file: %v, want 410", err)
	}
	if err := owner.RevokeUploadRequest(ctx, req.Request.RequestId); err != nil {
		t.Fatal(err)
	}
}
