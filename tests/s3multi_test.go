package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/internal/s3test"
)

// Several `sachet serve` processes on one MariaDB and one bucket, with no
// sticky sessions: any chunk to any process. Each test runs its own
// versitygw, so that it can stop it.

// s3Procs starts n servers on one fresh MariaDB database, one data dir
// each (nothing is shared through the disk: content is in the bucket)
// and one prefix of srv's bucket. They share the signing key, as servers
// behind one load balancer must.
func s3Procs(t *testing.T, bin string, srv *s3test.Server, n int) []*sachetProc {
	t.Helper()
	env := append(srv.Env(s3Bucket, s3Prefix()),
		"SACHET_SECRET_KEY=s3-multi-process-test-key-0123456789abcdef")
	first := newSachet(t, bin, "mysql", env...)
	procs := []*sachetProc{first}
	for i := 1; i < n; i++ {
		q := first.peer()
		procs = append(procs, q)
	}
	return procs
}

func pcgBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

func hexSum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// checkServedEverywhere: every process serves data, whole, with the true
// SHA-256 as ETag and in the metadata.
func checkServedEverywhere(t *testing.T, procs []*sachetProc, id string, data []byte) {
	t.Helper()
	want := hexSum(data)
	for i, p := range procs {
		sum, size := p.served(id)
		if sum != want || size != int64(len(data)) {
			t.Errorf("process %d serves %d bytes, sha256 %s; want %d bytes, %s", i, size, sum, len(data), want)
		}
		if msum, msize := p.meta(id); msum != want || msize != int64(len(data)) {
			t.Errorf("process %d: metadata says %d bytes, sha256 %s; want %d, %s", i, msize, msum, len(data), want)
		}
	}
}

// TestS3ThreeProcesses: three processes take alternate chunks of a 256 MiB
// upload, one after another and then all at once; the content each then
// serves is byte-identical to what was sent. Sequentially the chunks are
// 8 MiB (multipart parts: completion copies nothing); in parallel 4 MiB
// (staged, then joined by the server that completes).
func TestS3ThreeProcesses(t *testing.T) {
	srv := s3test.Start(t, s3Bucket)
	bin := buildSachet(t)
	procs := s3Procs(t, bin, srv, 3)
	data := pcgBytes(256, 256<<20)

	t.Run("alternate chunks one after another", func(t *testing.T) {
		const n = 8 << 20
		id := procs[0].s.newShare(procs[0].s.admin, "seq.bin")
		total := chunkCount(len(data), n)
		for i := 0; i < total; i++ {
			want := 200
			if i == total-1 {
				want = 201
			}
			procs[i%3].sendChunkExpect("POST", id, "seq", data, n, i, want)
		}
		checkServedEverywhere(t, procs, id, data)
	})

	t.Run("alternate chunks in parallel", func(t *testing.T) {
		const n = 4 << 20
		id := procs[1].s.newShare(procs[1].s.admin, "par.bin")
		total := chunkCount(len(data), n)
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					p := procs[i%3]
					r, err := p.s.tryChunk("POST", id, p.s.admin, chunk{UUID: "par", Index: i, Total: total, Data: chunkOf(data, n, i)})
					mu.Lock()
					if err != nil {
						t.Errorf("chunk %d: %v", i, err)
					} else {
						statuses[r.Status]++
						if r.Status != 200 && r.Status != 201 {
							t.Errorf("chunk %d to process %d: %d %s", i, i%3, r.Status, r.Body)
						}
					}
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < total; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		if statuses[201] != 1 || statuses[200] != total-1 {
			t.Fatalf("answers %v: want exactly one 201 (completion claimed once) and %d 200s", statuses, total-1)
		}
		checkServedEverywhere(t, procs, id, data)
	})
}

// blockingBody sends head, then blocks until release is closed, then
// fails: a chunk whose client is still sending when its server dies.
type blockingBody struct {
	head    *bytes.Reader
	sent    chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	if b.head.Len() > 0 {
		return b.head.Read(p)
	}
	b.once.Do(func() { close(b.sent) })
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// TestS3KillOneProcess: kill -9 of one of three processes while a chunk
// streams into it, mid-upload; the others complete the upload when that
// chunk (and the rest) is re-sent to them, byte-identical.
func TestS3KillOneProcess(t *testing.T) {
	srv := s3test.Start(t, s3Bucket)
	bin := buildSachet(t)
	procs := s3Procs(t, bin, srv, 3)
	const n = 6 << 20
	data := pcgBytes(3, 10*n+12345)
	total := chunkCount(len(data), n)
	id := procs[0].s.newShare(procs[0].s.admin, "killed.bin")
	for i := 0; i < 5; i++ {
		procs[i%3].sendChunkExpect("POST", id, "k", data, n, i, 200)
	}

	// Chunk 5 streams into process 1, which dies half way through it.
	ct, body := chunk{UUID: "k", Index: 5, Total: total, Data: chunkOf(data, n, 5)}.form()
	bb := &blockingBody{head: bytes.NewReader(body[:len(body)/2]), sent: make(chan struct{}), release: make(chan struct{})}
	req, _ := http.NewRequest("POST", procs[1].url+"/files/"+id+"/content", bb)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+procs[1].s.admin)
	req.ContentLength = int64(len(body))
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: newCrashTransport()}).Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		done <- err
	}()
	select {
	case <-bb.sent:
	case <-time.After(30 * time.Second):
		t.Fatal("half of chunk 5 was not sent within 30 s")
	}
	procs[1].kill()
	// The client gives up on its body too (else net/http waits for it).
	close(bb.release)
	if err := <-done; err == nil {
		t.Fatal("the killed process answered")
	} else {
		t.Logf("chunk 5 to the killed process: %v", err)
	}
	alive := []*sachetProc{procs[0], procs[2]}
	for i := 5; i < total; i++ {
		want := 200
		if i == total-1 {
			want = 201
		}
		alive[i%2].sendChunkExpect("POST", id, "k", data, n, i, want)
	}
	checkServedEverywhere(t, alive, id, data)
}

// TestS3Outage: S3 goes away mid-upload. Chunks are then answered 503
// within a bound (S3_OUTAGE_BOUND), and so are downloads and /readyz;
// nothing acknowledged before is lost; when S3 is back the same server
// (not restarted) takes the remaining chunks and completes the upload.
func TestS3Outage(t *testing.T) {
	const bound = 30 * time.Second // connection refused is instant; retries with backoff take a few seconds
	srv := s3test.Start(t, s3Bucket)
	bin := buildSachet(t)
	p := s3Procs(t, bin, srv, 1)[0]
	const n = 5 << 20
	data := pcgBytes(5, 6*n+7)
	total := chunkCount(len(data), n)
	old := pcgBytes(6, 3000)
	oldID := p.s.newShare(p.s.admin, "old.bin")
	p.uploadAll("POST", oldID, "old", old, 1000)

	id := p.s.newShare(p.s.admin, "outage.bin")
	for i := 0; i < 3; i++ {
		p.sendChunkExpect("POST", id, "o", data, n, i, 200)
	}
	srv.Stop()
	for _, c := range []struct {
		what string
		do   func() reply
	}{
		{"a chunk", func() reply {
			return p.s.sendChunk("POST", id, p.s.admin, chunk{UUID: "o", Index: 3, Total: total, Data: chunkOf(data, n, 3)})
		}},
		{"a download", func() reply { return p.s.req("GET", "/files/"+oldID+"/content", p.s.admin, nil) }},
		{"readiness", func() reply { return p.s.req("GET", "/readyz", "", nil) }},
	} {
		p.s.allow5xx = true
		start := time.Now()
		r := c.do()
		took := time.Since(start)
		p.s.allow5xx = false
		t.Logf("%s with S3 down: %d in %v: %.200s", c.what, r.Status, took.Round(time.Millisecond), r.Body)
		if r.Status != 503 {
			t.Errorf("%s with S3 down: %d, want 503", c.what, r.Status)
		}
		if took > bound {
			t.Errorf("%s with S3 down took %v, over the %v bound", c.what, took, bound)
		}
	}

	srv.Restart()
	deadline := time.Now().Add(bound)
	for {
		r := p.s.req("GET", "/readyz", "", nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready %v after S3 came back: %d %s", bound, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 3; i < total; i++ {
		want := 200
		if i == total-1 {
			want = 201
		}
		p.sendChunkExpect("POST", id, "o", data, n, i, want)
	}
	checkServedEverywhere(t, []*sachetProc{p}, id, data)
	checkServedEverywhere(t, []*sachetProc{p}, oldID, old)
}

// TestS3LeavesNoObjects is TestUploadLeavesNoFiles for S3: completed
// uploads leave no staged chunk and no multipart upload; replaced content
// goes; deleting the shares leaves the prefix empty.
func TestS3LeavesNoObjects(t *testing.T) {
	srv := s3test.Start(t, s3Bucket)
	setS3CredsEnv()
	prefix := s3Prefix()
	mc, err := minio.New(srv.Addr, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	count := func(sub string) (objects, uploads int) {
		t.Helper()
		ctx := context.Background()
		for o := range mc.ListObjects(ctx, s3Bucket, minio.ListObjectsOptions{Prefix: prefix + sub, Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			objects++
		}
		for u := range mc.ListIncompleteUploads(ctx, s3Bucket, prefix+sub, true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			uploads++
		}
		return
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			prefix = s3Prefix()
			s := startWith(t, serverOpts{dialect: d, mutate: func(c *app.Config) {
				c.Storage = srv.Storage(s3Bucket, prefix)
				c.S3Endpoint, c.S3PathStyle = srv.Endpoint, true
			}})
			var ids []string
			for i := 0; i < 3; i++ {
				id := s.newShare(s.admin, "f.bin")
				ids = append(ids, id)
				s.uploadAs("POST", id, s.admin, "u", pcgBytes(uint64(i), 6<<20+100), 1<<20, []int{1, 0, 4, 3, 2, 6, 5})
			}
			s.uploadAs("PUT", ids[0], s.admin, "r", pcgBytes(9, 12<<20), 6<<20, nil) // parts
			s.uploadAs("PUT", ids[1], s.admin, "r", pcgBytes(10, 10), 3, nil)
			if objs, ups := count("chunks/"); objs != 0 || ups != 0 {
				t.Errorf("after completed uploads: %d staged chunks, %d multipart uploads left", objs, ups)
			}
			if objs, ups := count("blobs/"); objs != len(ids) || ups != 0 {
				t.Errorf("%d blobs and %d multipart uploads for %d initialized shares", objs, ups, len(ids))
			}
			// An unfinished upload's staged chunk and multipart upload go
			// with its share.
			id := s.newShare(s.admin, "mid.bin")
			expect(t, s.sendChunk("POST", id, s.admin, chunk{UUID: "mid", Index: 2, Total: 3, Data: []byte("ccc")}), 200)
			ids = append(ids, id)
			for _, id := range ids {
				expect(t, s.req("DELETE", "/files/"+id, s.admin, nil), 200)
			}
			if objs, ups := count(""); objs != 0 || ups != 0 {
				t.Errorf("after deleting every share: %d objects, %d multipart uploads left", objs, ups)
			}
		})
	}
}
