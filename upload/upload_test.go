package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

const share = "share-1"

// rig is a world of fake processes over one fake blob store.
type rig struct {
	w     *world
	blobs *fakeBlobs
}

func newRig() *rig {
	w := newWorld()
	w.addShare(share)
	return &rig{w: w, blobs: newFakeBlobs(func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now })}
}

// proc starts a fake process: its rows (own token) and its Manager.
func (r *rig) proc(token string, limits Limits) (*fakeRows, *Manager) {
	rows := r.w.process(token)
	return rows, New(rows, r.blobs, limits, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// send is one chunk request: the fields before the bytes (fieldsFirst) or
// after them.
func send(m *Manager, dz string, index, total int, data []byte, fieldsFirst bool) (bool, error) {
	ctx := context.Background()
	key := Key{DZUUID: dz, Index: index, Total: total}
	var k *Key
	if fieldsFirst {
		k = &key
	}
	p, err := m.Receive(ctx, share, k, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		m.Discard(ctx, p)
		return false, err
	}
	return m.Commit(ctx, p, key, "")
}

// chunks cuts n distinct chunks of various sizes.
func chunks(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte('a' + i)}, 10+i*3)
	}
	return out
}

// content returns the share's content and checks its recorded size and
// hash against it.
func (r *rig) content(t *testing.T) []byte {
	t.Helper()
	r.w.mu.Lock()
	sh := r.w.shares[share]
	b, has := sh.blob, sh.has
	r.w.mu.Unlock()
	if !has {
		t.Fatal("the share has no content")
	}
	rd, size, err := r.blobs.Open(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rd)
	sum := sha256.Sum256(data)
	if size != b.Size || int64(len(data)) != b.Size || hex.EncodeToString(sum[:]) != b.SHA256 {
		t.Fatalf("blob %s: %d bytes read, size %d recorded, sha256 %s recorded", b.ID, len(data), b.Size, b.SHA256)
	}
	return data
}

// clean checks that the store holds only the share's blob and that no
// upload row is left.
func (r *rig) clean(t *testing.T) {
	t.Helper()
	r.w.mu.Lock()
	sh := r.w.shares[share]
	uploads := len(r.w.uploads)
	r.w.mu.Unlock()
	want := []string(nil)
	if sh.has {
		want = []string{sh.blob.ID}
	}
	if got := r.blobs.stored(); !reflect.DeepEqual(got, want) {
		t.Errorf("the store holds %v, want only %v", got, want)
	}
	if uploads != 0 {
		t.Errorf("%d upload rows left", uploads)
	}
}

func TestOrders(t *testing.T) {
	for _, tc := range []struct {
		name        string
		order       []int
		fieldsFirst bool
		named       bool // parts with IDs of their own, consumed by completion (S3's shape)
		appends     int  // parts the stream took
	}{
		{"in order", []int{0, 1, 2, 3, 4}, true, false, 5},
		{"in order, S3-shaped", []int{0, 1, 2, 3, 4}, true, true, 5},
		{"out of order", []int{3, 1, 4, 0, 2}, true, false, 1}, // 0 only: 1 came before it
		{"out of order, S3-shaped", []int{3, 1, 4, 0, 2}, true, true, 1},
		{"in order after the first", []int{0, 2, 1}, true, false, 2},
		{"reversed", []int{4, 3, 2, 1, 0}, true, false, 1},
		{"bytes before fields", []int{0, 1, 2, 3, 4}, false, false, 0},
		{"one chunk", []int{0}, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			r.blobs.named, r.blobs.consume = tc.named, tc.named
			_, m := r.proc("A", Limits{})
			data := chunks(len(tc.order))
			for i, idx := range tc.order {
				done, err := send(m, "dz", idx, len(tc.order), data[idx], tc.fieldsFirst)
				if err != nil {
					t.Fatalf("chunk %d: %v", idx, err)
				}
				if last := i == len(tc.order)-1; done != last {
					t.Fatalf("chunk %d (request %d): completed=%v", idx, i, done)
				}
			}
			if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
				t.Fatalf("content %q, want %q", got, want)
			}
			if r.blobs.appends != tc.appends || r.blobs.appends+r.blobs.puts != len(tc.order) || r.blobs.completes != 1 {
				t.Errorf("appends %d (want %d), puts %d, completes %d", r.blobs.appends, tc.appends, r.blobs.puts, r.blobs.completes)
			}
			r.clean(t)
		})
	}
}

func TestResentChunkReplaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sends []int // chunk indexes in order; the first send of resent carries wrong bytes
		again int
	}{
		{"appended chunk re-sent", []int{0, 1, 0, 2}, 0},
		{"stored chunk re-sent", []int{2, 0, 2, 1}, 2},
		{"stored chunk re-sent twice", []int{2, 2, 2, 0, 1}, 2},
	} {
		for _, named := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/named=%v", tc.name, named), func(t *testing.T) {
				r := newRig()
				r.blobs.named = named
				_, m := r.proc("A", Limits{})
				data := chunks(3)
				seen := false
				var last bool
				for i, idx := range tc.sends {
					b := data[idx]
					if idx == tc.again && !seen {
						b, seen = bytes.Repeat([]byte("X"), len(b)+5), true
					}
					done, err := send(m, "dz", idx, 3, b, true)
					if err != nil {
						t.Fatalf("send %d: %v", i, err)
					}
					last = done
				}
				if !last {
					t.Fatal("the last send did not complete the upload")
				}
				if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
					t.Fatalf("content %q, want %q (the re-sent chunk must replace the first)", got, want)
				}
				r.clean(t)
			})
		}
	}
}

// Every chunk sent twice at once, by two processes: exactly one request
// completes the upload, once.
func TestConcurrentCompletionClaimedOnce(t *testing.T) {
	for round := 0; round < 20; round++ {
		r := newRig()
		rowsA, a := r.proc("A", Limits{})
		rowsB, b := r.proc("B", Limits{})
		const n = 6
		data := chunks(n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		completed := 0
		var errs []error
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			for j, m := range []*Manager{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					done, err := send(m, "dz", i, n, data[i], (i+j)%2 == 0)
					mu.Lock()
					defer mu.Unlock()
					if done {
						completed++
					}
					if err != nil {
						errs = append(errs, err)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			// A lost append lease (taken over) asks the client to re-send;
			// nothing else may fail.
			if !domain.IsKind(err, domain.Unavailable) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		// Every index is sent twice. Rarely, all six second copies arrive
		// after the first completion: they are a new upload of the same
		// dzuuid (HTTP refuses it, the share having content now) and
		// complete it once too. So each completion is answered to exactly
		// one request, and at most the one per set of copies.
		if finished := rowsA.finished + rowsB.finished; completed < 1 || completed > 2 || completed != finished {
			t.Fatalf("round %d: %d requests completed, %d FinishUpload, want each completion answered once", round, completed, finished)
		}
		if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
			t.Fatalf("round %d: content %q, want %q", round, got, want)
		}
		// A re-send that arrived after the completion starts a new upload
		// of the same dzuuid (HTTP refuses it earlier, once the share has
		// content); cleanup takes it when it is stale.
		r.w.mu.Lock()
		r.w.now = r.w.now.Add(time.Hour)
		now := r.w.now
		r.w.mu.Unlock()
		if _, _, err := a.Cleanup(context.Background(), now, now); err != nil {
			t.Fatal(err)
		}
		r.clean(t)
	}
}

func TestStaleClaimTakenOver(t *testing.T) {
	ctx := context.Background()
	r := newRig()
	rowsA, a := r.proc("A", Limits{})
	_, b := r.proc("B", Limits{})
	data := chunks(3)
	for i := 0; i < 2; i++ {
		if _, err := send(a, "dz", i, 3, data[i], true); err != nil {
			t.Fatal(err)
		}
	}
	// A records the last chunk and claims the upload, then dies mid-join.
	p, err := a.Receive(ctx, share, nil, bytes.NewReader(data[2]), -1)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := rowsA.GetOrCreateUpload(ctx, share, "dz", 3)
	if _, err := rowsA.PutChunk(ctx, domain.Chunk{UploadID: up.ID, Index: 2, FileID: p.part.ID, Size: p.part.Size}); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := rowsA.ClaimUpload(ctx, up.ID); err != nil || !claimed {
		t.Fatalf("A's claim: %v %v", claimed, err)
	}
	// While A lives, a re-sent chunk is accepted and dropped: A completes.
	if done, err := send(b, "dz", 2, 3, data[2], true); err != nil || done {
		t.Fatalf("re-send while the claim is held: completed=%v err=%v", done, err)
	}
	r.w.crash("A")
	// The client re-sends its last chunk to B, which takes the claim over.
	done, err := send(b, "dz", 2, 3, data[2], true)
	if err != nil || !done {
		t.Fatalf("re-send after the crash: completed=%v err=%v", done, err)
	}
	if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
		t.Fatalf("content %q, want %q", got, want)
	}
	r.clean(t)
}

func TestStaleLeaseTakenOver(t *testing.T) {
	ctx := context.Background()
	r := newRig()
	rowsA, a := r.proc("A", Limits{})
	_, b := r.proc("B", Limits{})
	data := chunks(2)
	// A takes the lease for chunk 0, appends part of it, and dies.
	up, err := a.open(ctx, share, Key{DZUUID: "dz", Index: 0, Total: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, ok, err := rowsA.TakeAppendLease(ctx, up.ID, 0, up.Handle)
	if err != nil || !ok {
		t.Fatalf("A's lease: %v %v", ok, err)
	}
	if _, _, err := r.blobs.Append(ctx, up.Handle, 0, streamOf(l), bytes.NewReader([]byte("half a chu")), -1, 0, 0); err != nil {
		t.Fatal(err)
	}
	// While A lives, B stores chunk 0 on its own.
	if done, err := send(b, "dz", 0, 2, data[0], true); err != nil || done {
		t.Fatalf("chunk 0 while A appends: completed=%v err=%v", done, err)
	}
	if r.blobs.appends != 1 || r.blobs.puts != 1 {
		t.Fatalf("appends %d puts %d: B must not append under A's live lease", r.blobs.appends, r.blobs.puts)
	}
	r.w.crash("A")
	// B takes the abandoned lease: the re-sent chunk 0 replaces what A left.
	if done, err := send(b, "dz", 0, 2, data[0], true); err != nil || done {
		t.Fatalf("chunk 0 after the crash: completed=%v err=%v", done, err)
	}
	if r.blobs.appends != 2 {
		t.Fatalf("appends %d: B did not take the abandoned lease over", r.blobs.appends)
	}
	if done, err := send(b, "dz", 1, 2, data[1], true); err != nil || !done {
		t.Fatalf("chunk 1: completed=%v err=%v", done, err)
	}
	if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
		t.Fatalf("content %q, want %q", got, want)
	}
	r.clean(t)
}

// streamOf is the recorded stream a lease appends after.
func streamOf(l *domain.Append) blob.Stream {
	return blob.Stream{Len: l.Offset, Hash: l.HashState}
}

func TestDiscard(t *testing.T) {
	ctx := context.Background()
	for _, fieldsFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("fieldsFirst=%v", fieldsFirst), func(t *testing.T) {
			r := newRig()
			_, m := r.proc("A", Limits{})
			data := chunks(2)
			key := Key{DZUUID: "dz", Index: 0, Total: 2}
			var k *Key
			if fieldsFirst {
				k = &key
			}
			p, err := m.Receive(ctx, share, k, bytes.NewReader(data[0]), -1)
			if err != nil {
				t.Fatal(err)
			}
			m.Discard(ctx, p) // e.g. a field after the file part was refused
			for i := range data {
				if _, err := send(m, "dz", i, 2, data[i], true); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
				t.Fatalf("content %q, want %q", got, want)
			}
			if fieldsFirst && r.blobs.appends != 3 {
				t.Errorf("appends %d, want 3: the discarded append must free the lease and the offset", r.blobs.appends)
			}
			r.clean(t)
		})
	}
}

func TestCommitKeyChanged(t *testing.T) {
	ctx := context.Background()
	r := newRig()
	_, m := r.proc("A", Limits{})
	p, err := m.Receive(ctx, share, &Key{DZUUID: "dz", Index: 0, Total: 2}, bytes.NewReader([]byte("abc")), 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Commit(ctx, p, Key{DZUUID: "dz", Index: 1, Total: 2}, ""); !domain.IsKind(err, domain.Invalid) {
		t.Fatalf("got %v, want Invalid", err)
	}
	if got := r.blobs.stored(); len(got) != 0 {
		t.Errorf("the refused chunk left %v", got)
	}
	// The upload's stream is free again, from offset 0.
	if _, err := send(m, "dz", 0, 2, []byte("abc"), true); err != nil || r.blobs.appends != 2 {
		t.Fatalf("chunk 0 again: %v, %d appends (want 2)", err, r.blobs.appends)
	}
}

func TestCompletionFailures(t *testing.T) {
	ctx := context.Background()
	transient := errors.New("disk hiccup")
	for _, tc := range []struct {
		name    string
		limits  Limits
		setup   func(r *rig)
		kind    domain.Kind
		dropped bool // the upload is gone; else a re-send completes it
	}{
		{"too large", Limits{MaxFileSize: 30}, nil, domain.TooLarge, true},
		{"transient", Limits{}, func(r *rig) { r.blobs.failComplete = transient }, domain.Internal, false},
		{"parts consumed", Limits{}, func(r *rig) {
			for _, id := range r.blobs.stored() {
				if len(id) > 4 && id[:4] == "part" {
					r.blobs.Remove(ctx, id)
				}
			}
		}, domain.Conflict, true},
		// Between the claim and the publication (under the world's lock).
		{"share locked", Limits{}, func(r *rig) { r.w.beforeFinish = func() { r.w.shares[share].locked = true } }, domain.Locked, true},
		{"share gone", Limits{}, func(r *rig) { r.w.beforeFinish = func() { delete(r.w.shares, share) } }, domain.NotFound, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			_, m := r.proc("A", tc.limits)
			data := chunks(3)
			// Out of order, so that parts are stored on their own and the
			// file size is only known at completion.
			for _, i := range []int{2, 1} {
				if _, err := send(m, "dz", i, 3, data[i], true); err != nil {
					t.Fatal(err)
				}
			}
			if tc.setup != nil {
				tc.setup(r)
			}
			_, err := send(m, "dz", 0, 3, data[0], true)
			if domain.KindOf(err) != tc.kind || err == nil {
				t.Fatalf("got %v, want kind %v", err, tc.kind)
			}
			r.w.mu.Lock()
			left := len(r.w.uploads)
			r.w.mu.Unlock()
			if tc.dropped {
				if left != 0 {
					t.Fatalf("%d uploads left: the upload must be dropped", left)
				}
				if got := r.blobs.stored(); len(got) != 0 {
					t.Errorf("the dropped upload left %v", got)
				}
				return
			}
			r.blobs.failComplete = nil
			if done, err := send(m, "dz", 0, 3, data[0], true); err != nil || !done {
				t.Fatalf("re-send after a failed completion: completed=%v err=%v", done, err)
			}
			if got, want := r.content(t), bytes.Join(data, nil); !bytes.Equal(got, want) {
				t.Fatalf("content %q, want %q", got, want)
			}
			r.clean(t)
		})
	}
}

func TestCleanup(t *testing.T) {
	ctx := context.Background()
	r := newRig()
	_, m := r.proc("A", Limits{})
	data := chunks(3)
	// A finished upload (its blob stays), an abandoned one, and an orphan.
	for i := range data {
		if _, err := send(m, "done", i, 3, data[i], true); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{0, 2} {
		if _, err := send(m, "abandoned", i, 3, data[i], true); err != nil {
			t.Fatal(err)
		}
	}
	orphan, err := r.blobs.Put(ctx, "", -1, bytes.NewReader([]byte("crash leftover")), -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.w.mu.Lock()
	r.w.now = r.w.now.Add(48 * time.Hour)
	now := r.w.now
	r.w.mu.Unlock()
	// A part being written now is not an orphan yet.
	fresh, err := r.blobs.Put(ctx, "", -1, bytes.NewReader([]byte("in flight")), -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	stale, orphans, err := m.Cleanup(ctx, now.Add(-24*time.Hour), now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if stale != 2 || orphans != 1 { // the abandoned upload's stream and its stored part; the orphan
		t.Errorf("removed %d stale and %d orphans, want 2 and 1", stale, orphans)
	}
	r.w.mu.Lock()
	blobID := r.w.shares[share].blob.ID
	left := len(r.w.uploads)
	r.w.mu.Unlock()
	if got, want := r.blobs.stored(), []string{blobID, fresh.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("after cleanup the store holds %v, want %v (not %s)", got, want, orphan.ID)
	}
	if left != 0 {
		t.Errorf("%d upload rows left", left)
	}
}

// TestFileChecksum: a whole-file SHA-256 given with any chunk is checked
// when the upload completes, whichever request completes it. A mismatch
// leaves the share's content as it was and drops the upload with all it
// stored (on S3 the completion consumed the parts); a second, different
// sum for one upload is refused and keeps that chunk out.
func TestFileChecksum(t *testing.T) {
	data := chunks(3)
	file := bytes.Join(data, nil)
	right := fmt.Sprintf("%x", sha256.Sum256(file))
	wrong := fmt.Sprintf("%x", sha256.Sum256([]byte("something else")))
	commit := func(m *Manager, idx int, sum string) (bool, error) {
		ctx := context.Background()
		k := Key{DZUUID: "dz", Index: idx, Total: 3}
		p, err := m.Receive(ctx, share, &k, bytes.NewReader(data[idx]), -1)
		if err != nil {
			m.Discard(ctx, p)
			return false, err
		}
		return m.Commit(ctx, p, k, sum)
	}
	for _, tc := range []struct {
		name   string
		order  []int
		sumOn  int // the request (not index) that carries the sum
		sum    string
		named  bool
		wantOK bool
	}{
		{"right, on the last request", []int{0, 1, 2}, 2, right, false, true},
		{"right, on the first request", []int{2, 0, 1}, 0, right, false, true},
		{"wrong, on the last request", []int{0, 1, 2}, 2, wrong, false, false},
		{"wrong, on an early request", []int{1, 0, 2}, 0, wrong, false, false},
		{"wrong, S3-shaped", []int{0, 1, 2}, 1, wrong, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			r.blobs.named, r.blobs.consume = tc.named, tc.named
			_, m := r.proc("A", Limits{})
			var err error
			for i, idx := range tc.order {
				sum := ""
				if i == tc.sumOn {
					sum = tc.sum
				}
				var done bool
				done, err = commit(m, idx, sum)
				if i < len(tc.order)-1 && (err != nil || done) {
					t.Fatalf("chunk %d: done %v, %v", idx, done, err)
				}
				if i == len(tc.order)-1 && tc.wantOK && (err != nil || !done) {
					t.Fatalf("last chunk: done %v, %v", done, err)
				}
			}
			if tc.wantOK {
				if got := r.content(t); !bytes.Equal(got, file) {
					t.Fatalf("content %q", got)
				}
			} else {
				if !domain.IsKind(err, domain.Invalid) {
					t.Fatalf("mismatch: %v, want Invalid", err)
				}
				r.w.mu.Lock()
				has := r.w.shares[share].has
				r.w.mu.Unlock()
				if has {
					t.Fatal("the share has content after a mismatch")
				}
			}
			r.clean(t)
		})
	}

	t.Run("a different sum later is refused", func(t *testing.T) {
		r := newRig()
		_, m := r.proc("A", Limits{})
		if _, err := commit(m, 0, right); err != nil {
			t.Fatal(err)
		}
		if _, err := commit(m, 1, wrong); !domain.IsKind(err, domain.Invalid) {
			t.Fatalf("second sum: %v, want Invalid", err)
		}
		// Chunk 1 was not kept: the upload completes only once it is sent
		// again, and with the first sum checked.
		if done, err := commit(m, 2, ""); err != nil || done {
			t.Fatalf("chunk 2: %v %v", done, err)
		}
		if done, err := commit(m, 1, right); err != nil || !done {
			t.Fatalf("chunk 1 again: %v %v", done, err)
		}
		if got := r.content(t); !bytes.Equal(got, file) {
			t.Fatalf("content %q", got)
		}
		r.clean(t)
	})
}
