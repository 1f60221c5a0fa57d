package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/internal/s3test"
)

// TestS3Measure measures the S3 store against the same versitygw used
// directly: one 256 MiB file put and got straight through minio-go, then
// uploaded through `sachet serve` (MariaDB) in 8 MiB chunks (multipart
// parts) and in 1 MiB chunks (staged, joined at completion), and
// downloaded. It reports rates, how long the completing chunk took (the
// join), and the server's peak RSS. Not run by default (it is a
// measurement, not a test):
//
//	SACHET_S3_MEASURE=1 go test -count=1 -v -run TestS3Measure ./tests/
func TestS3Measure(t *testing.T) {
	if os.Getenv("SACHET_S3_MEASURE") == "" {
		t.Skip("a measurement: set SACHET_S3_MEASURE=1 to run it")
	}
	const size = 256 << 20
	srv := s3test.Start(t, s3Bucket)
	bin := buildSachet(t)
	p := s3Procs(t, bin, srv, 1)[0]
	data := pcgBytes(42, size)
	mib := func(d time.Duration) string { return fmt.Sprintf("%.0f MiB/s", float64(size)/(1<<20)/d.Seconds()) }

	mc, err := minio.New(srv.Addr, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, threads := range []uint{1, 4} {
		start := time.Now()
		if _, err := mc.PutObject(ctx, s3Bucket, "direct/f", bytes.NewReader(data), size,
			minio.PutObjectOptions{PartSize: 8 << 20, NumThreads: threads}); err != nil {
			t.Fatal(err)
		}
		putDirect := time.Since(start)
		t.Logf("direct put (minio-go, 8 MiB parts, %d stream(s)): %v (%s)", threads, putDirect.Round(time.Millisecond), mib(putDirect))
	}
	start := time.Now()
	o, err := mc.GetObject(ctx, s3Bucket, "direct/f", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		t.Fatal(err)
	}
	o.Close()
	getDirect := time.Since(start)
	t.Logf("direct get (minio-go, one stream): %v (%s)", getDirect.Round(time.Millisecond), mib(getDirect))

	for _, n := range []int{8 << 20, 1 << 20} {
		id := p.s.newShare(p.s.admin, "m.bin")
		total := chunkCount(size, n)
		start := time.Now()
		var last time.Duration
		for i := 0; i < total; i++ {
			want := 200
			if i == total-1 {
				want = 201
			}
			c0 := time.Now()
			p.sendChunkExpect("POST", id, "m", data, n, i, want)
			last = time.Since(c0)
		}
		up := time.Since(start)
		start = time.Now()
		sum, got := p.served(id)
		down := time.Since(start)
		if got != size || sum != hexSum(data) {
			t.Fatalf("served %d bytes %s", got, sum)
		}
		t.Logf("through sachet, %d MiB chunks: upload %v (%s; the completing chunk took %v), download %v (%s)",
			n>>20, up.Round(time.Millisecond), mib(up), last.Round(time.Millisecond), down.Round(time.Millisecond), mib(down))
	}
	t.Logf("sachet serve peak RSS (VmHWM): %s", vmHWM(t, p.cmd.Process.Pid))
}

func vmHWM(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}
