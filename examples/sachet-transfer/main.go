// Command sachet-transfer uploads a file to a Sachet server as a new share,
// in chunks, then downloads it back and checks it, with package client.
//
//	go run ./examples/sachet-transfer -server http://127.0.0.1:5000 -user alice file.pdf
//
// The password comes from $SACHET_PASSWORD, or -password. To fetch a share
// instead, resuming into an existing partial file:
//
//	go run ./examples/sachet-transfer -user alice -get SHARE_ID -o file.pdf
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/sachet-server/sachet/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sachet-transfer:", err)
		os.Exit(1)
	}
}

func run() error {
	server := flag.String("server", "http://127.0.0.1:5000", "the Sachet server")
	user := flag.String("user", "", "username (empty: anonymous)")
	password := flag.String("password", os.Getenv("SACHET_PASSWORD"), "password (default $SACHET_PASSWORD)")
	chunk := flag.Int64("chunk", client.DefaultChunkSize, "chunk size in bytes")
	get := flag.String("get", "", "download this share instead of uploading")
	out := flag.String("o", "", "with -get: the file to write (appended to, resuming, if it exists)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.New(*server)
	if err != nil {
		return err
	}
	if *user != "" {
		if _, err := c.Login(ctx, *user, *password); err != nil {
			return err
		}
		defer c.Logout(context.WithoutCancel(ctx)) // revoke the token we made
	}
	if *get != "" {
		return download(ctx, c, *get, *out)
	}
	if flag.NArg() != 1 {
		return fmt.Errorf("usage: sachet-transfer [flags] FILE  (or -get SHARE_ID -o FILE)")
	}
	return upload(ctx, c, flag.Arg(0), *chunk)
}

func upload(ctx context.Context, c *client.Client, path string, chunk int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	id, err := c.CreateShare(ctx, filepath.Base(path))
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := c.Upload(ctx, id, io.TeeReader(f, h), st.Size(), &client.UploadOptions{ChunkSize: chunk}); err != nil {
		return err
	}
	// Read it back and compare.
	back := sha256.New()
	if _, err := c.Download(ctx, id, back, nil); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), back.Sum(nil)) {
		return fmt.Errorf("share %s: downloaded content differs from %s", id, path)
	}
	fmt.Printf("share %s: %d bytes, sha256 %s\n", id, st.Size(), hex.EncodeToString(h.Sum(nil)))
	return nil
}

func download(ctx context.Context, c *client.Client, id, path string) error {
	if path == "" {
		d, err := c.Download(ctx, id, os.Stdout, nil)
		if err == nil {
			fmt.Fprintf(os.Stderr, "%d bytes\n", d.Written)
		}
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// Resume after the bytes the file already has. (A real tool would keep
	// the ETag from the first run and pass it too.)
	d, err := c.Download(ctx, id, f, &client.DownloadOptions{Offset: st.Size()})
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d of %d bytes written now\n", path, d.Written, d.Size)
	return f.Sync()
}
