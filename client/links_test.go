package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sachet-server/sachet/client"
)

func TestLinks(t *testing.T) {
	ctx := context.Background()
	url := start(t)
	admin := login(t, url, "admin", "admin-pw")
	id, err := admin.CreateShare(ctx, "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	data := content(5000)
	if err := admin.Upload(ctx, id, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	l, err := admin.CreateLink(ctx, id, client.LinkOptions{Label: "pal", ExpiresAt: exp, MaxDownloads: 2, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if tok := client.LinkToken(l.Url); tok != l.Token || client.LinkToken(url+l.Url+"/content") != l.Token {
		t.Errorf("LinkToken(%q) = %q, want %q", l.Url, tok, l.Token)
	}

	// Anyone with the token: an anonymous client.
	anon, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.LinkInfo(ctx, l.Token, ""); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("no password: %v, want 401", err)
	}
	info, err := anon.LinkInfo(ctx, l.Token, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := info.Size.Get(); info.FileName != "notes.txt" || size != 5000 {
		t.Errorf("info %+v", info)
	}
	if left, _ := info.DownloadsLeft.Get(); left != 2 {
		t.Errorf("downloads left %d, want 2", left)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url+l.Url+"/content", nil)
	req.Header.Set("X-Sachet-Link-Password", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("content: %d, %d bytes", resp.StatusCode, len(got))
	}

	links, err := admin.Links(ctx, id)
	if err != nil || len(links) != 1 || links[0].Downloads != 1 || !links[0].HasPassword {
		t.Fatalf("links %+v, %v", links, err)
	}
	if err := admin.RevokeLink(ctx, id, *links[0].LinkId); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.LinkInfo(ctx, l.Token, "pw"); client.StatusOf(err) != http.StatusGone {
		t.Errorf("revoked: %v, want 410", err)
	}
	if err := admin.RevokeLink(ctx, id, "nope"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("unknown link: %v, want 404", err)
	}
}
