package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// world is the state every fake process shares: the database and which
// processes live. It stands in for MySQL and its named locks.
type world struct {
	mu      sync.Mutex
	nextID  int64
	shares  map[string]*fakeShare
	uploads map[int64]*fakeUpload
	alive   map[string]bool // process tokens whose process lives
	now     time.Time
	// beforeFinish, if set, runs (under mu) when FinishUpload starts.
	beforeFinish func()
}

type fakeShare struct {
	locked bool
	blob   domain.Blob
	has    bool
}

type fakeUpload struct {
	id           int64
	shareID      string
	dzuuid       string
	total        int
	handle       string
	chunks       map[int]domain.Chunk
	claimedBy    string
	appendBy     string
	nextIndex    int
	assembledLen int64
	hash         []byte
	fileSHA256   string
	updated      time.Time
}

func newWorld() *world {
	return &world{shares: map[string]*fakeShare{}, uploads: map[int64]*fakeUpload{}, alive: map[string]bool{},
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// fakeRows is one process's view of the world: Rows with its own token,
// like a db.Store.
type fakeRows struct {
	w      *world
	token  string
	leases map[int64]bool // append leases held by live requests of this process
	// finished counts FinishUpload calls that published a blob.
	finished int
}

var _ Rows = (*fakeRows)(nil)

func (w *world) process(token string) *fakeRows {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.alive[token] = true
	return &fakeRows{w: w, token: token, leases: map[int64]bool{}}
}

func (w *world) crash(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.alive[token] = false
}

func (w *world) addShare(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.shares[id] = &fakeShare{}
}

func (r *fakeRows) claimHeld(by string) bool {
	return by != "" && (by == r.token || r.w.alive[by])
}

func (r *fakeRows) leaseHeld(id int64, by string) bool {
	if by == "" {
		return false
	}
	if by == r.token {
		return r.leases[id]
	}
	return r.w.alive[by]
}

func (r *fakeRows) GetOrCreateUpload(_ context.Context, shareID, dzuuid string, total int) (*domain.Upload, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.w.shares[shareID] == nil {
		return nil, domain.Errorf(domain.NotFound, "share %s not found", shareID)
	}
	var u *fakeUpload
	for _, x := range r.w.uploads {
		if x.shareID == shareID && x.dzuuid == dzuuid {
			u = x
		}
	}
	if u == nil {
		r.w.nextID++
		u = &fakeUpload{id: r.w.nextID, shareID: shareID, dzuuid: dzuuid, total: total, chunks: map[int]domain.Chunk{}, updated: r.w.now}
		r.w.uploads[u.id] = u
	}
	if u.total != total {
		return nil, domain.Errorf(domain.Invalid, "dztotalchunks %d does not match this upload's %d", total, u.total)
	}
	return &domain.Upload{ID: u.id, ShareID: shareID, DZUUID: dzuuid, TotalChunks: total, Handle: u.handle}, nil
}

func (r *fakeRows) upload(id int64) (*fakeUpload, error) {
	u := r.w.uploads[id]
	if u == nil {
		return nil, domain.Errorf(domain.NotFound, "upload not found")
	}
	return u, nil
}

func (r *fakeRows) SetUploadHandle(_ context.Context, id int64, handle string) (string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return "", err
	}
	if u.handle == "" {
		u.handle = handle
	}
	return u.handle, nil
}

func (r *fakeRows) inAssembly(u *fakeUpload, c domain.Chunk) bool {
	return c.InAssembly && c.FileID == u.handle
}

func (r *fakeRows) PutChunk(_ context.Context, c domain.Chunk) (string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(c.UploadID)
	if err != nil {
		return "", err
	}
	if r.claimHeld(u.claimedBy) {
		return "", domain.Errorf(domain.Conflict, "upload is being completed")
	}
	u.claimedBy = ""
	if c.Index < 0 || c.Index >= u.total {
		return "", domain.Errorf(domain.Invalid, "index out of range")
	}
	u.updated = r.w.now
	old, ok := u.chunks[c.Index]
	c.InAssembly, c.Offset = false, 0
	u.chunks[c.Index] = c
	if ok && old.FileID != c.FileID && !r.inAssembly(u, old) {
		return old.FileID, nil
	}
	return "", nil
}

func (r *fakeRows) TakeAppendLease(_ context.Context, id int64, index int, newAsm string) (*domain.Append, bool, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return nil, false, err
	}
	if index != u.nextIndex || index >= u.total || r.claimHeld(u.claimedBy) || r.leaseHeld(id, u.appendBy) {
		return nil, false, nil
	}
	if u.handle == "" {
		u.handle = newAsm
	}
	u.appendBy, u.claimedBy = r.token, ""
	r.leases[id] = true
	return &domain.Append{UploadID: id, AssemblyID: u.handle, Index: index, Offset: u.assembledLen, HashState: u.hash}, true, nil
}

func (r *fakeRows) CommitAppendPart(_ context.Context, l *domain.Append, fileID string, size int64, hash []byte) (string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	delete(r.leases, l.UploadID)
	u, err := r.upload(l.UploadID)
	if err != nil {
		return "", err
	}
	if u.appendBy != r.token || u.nextIndex != l.Index || u.assembledLen != l.Offset || u.handle != l.AssemblyID {
		return "", domain.Errorf(domain.Unavailable, "the chunk was not recorded (its append was taken over): send it again")
	}
	if fileID == "" {
		fileID = l.AssemblyID
	}
	old, ok := u.chunks[l.Index]
	u.chunks[l.Index] = domain.Chunk{UploadID: l.UploadID, Index: l.Index, FileID: fileID, Size: size, InAssembly: true, Offset: l.Offset}
	u.assembledLen, u.nextIndex, u.hash, u.appendBy, u.updated = l.Offset+size, l.Index+1, hash, "", r.w.now
	if ok && old.FileID != fileID && !r.inAssembly(u, old) {
		return old.FileID, nil
	}
	return "", nil
}

func (r *fakeRows) ReleaseAppend(_ context.Context, l *domain.Append) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	delete(r.leases, l.UploadID)
	if u := r.w.uploads[l.UploadID]; u != nil && u.appendBy == r.token && u.nextIndex == l.Index {
		u.appendBy = ""
	}
	return nil
}

func (r *fakeRows) ClaimUpload(_ context.Context, id int64) (*domain.Completion, bool, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return nil, false, err
	}
	if len(u.chunks) != u.total || r.claimHeld(u.claimedBy) || r.leaseHeld(id, u.appendBy) {
		return nil, false, nil
	}
	u.claimedBy, u.appendBy = r.token, ""
	c := &domain.Completion{AssemblyID: u.handle, AssembledLen: u.assembledLen, HashState: u.hash, FileSHA256: u.fileSHA256}
	for i := 0; i < u.total; i++ {
		c.Chunks = append(c.Chunks, u.chunks[i])
	}
	return c, true, nil
}

func (r *fakeRows) SetUploadChecksum(_ context.Context, id int64, sum string) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return err
	}
	if u.fileSHA256 != "" && u.fileSHA256 != sum {
		return domain.Errorf(domain.Invalid, "dzfilesha256 differs")
	}
	u.fileSHA256 = sum
	return nil
}

func (r *fakeRows) ReleaseCompletion(_ context.Context, id int64) error {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return err
	}
	u.claimedBy = ""
	return nil
}

func (r *fakeRows) FinishUpload(_ context.Context, id int64, shareID string, b domain.Blob, _ time.Time) (string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if f := r.w.beforeFinish; f != nil {
		f()
	}
	sh := r.w.shares[shareID]
	if sh == nil {
		return "", domain.Errorf(domain.NotFound, "share %s not found", shareID)
	}
	if sh.locked {
		return "", domain.Errorf(domain.Locked, "share %s is locked", shareID)
	}
	old := ""
	if sh.has && sh.blob.ID != b.ID {
		old = sh.blob.ID
	}
	sh.blob, sh.has = b, true
	delete(r.w.uploads, id)
	r.finished++
	return old, nil
}

// files is what deleting an upload's rows hands to the blob store.
func (r *fakeRows) files(u *fakeUpload) []string {
	var ids []string
	for _, c := range u.chunks {
		if !r.inAssembly(u, c) {
			ids = append(ids, c.FileID)
		}
	}
	if u.handle != "" {
		ids = append(ids, u.handle)
	}
	return ids
}

func (r *fakeRows) DeleteUpload(_ context.Context, id int64) ([]string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	u, err := r.upload(id)
	if err != nil {
		return nil, err
	}
	delete(r.w.uploads, id)
	return r.files(u), nil
}

func (r *fakeRows) DeleteStale(_ context.Context, before time.Time) ([]string, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	var ids []string
	for id, u := range r.w.uploads {
		if u.updated.Before(before) && !r.claimHeld(u.claimedBy) {
			ids = append(ids, r.files(u)...)
			delete(r.w.uploads, id)
		}
	}
	return ids, nil
}

func (r *fakeRows) FileReferenced(_ context.Context, id string) (bool, error) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for _, sh := range r.w.shares {
		if sh.has && sh.blob.ID == id {
			return true, nil
		}
	}
	for _, u := range r.w.uploads {
		if u.handle == id {
			return true, nil
		}
		for _, c := range u.chunks {
			if c.FileID == id {
				return true, nil
			}
		}
	}
	return false, nil
}

// fakeBlobs is an in-memory blob.Store shaped like the filesystem's: an
// upload's appended parts live in its stream (no ID of their own), the
// others are objects. consume makes Complete use the parts up, as S3's
// CompleteMultipartUpload does.
type fakeBlobs struct {
	mu      sync.Mutex
	n       int
	objects map[string][]byte    // parts put on their own, and blobs
	streams map[string][]byte    // upload handle -> appended bytes
	written map[string]time.Time // id -> when written, for Sweep
	consume bool
	// named makes Append store each part as an object of its own, as S3
	// does, instead of in the upload's stream.
	named bool
	now   func() time.Time
	// completes counts successful Completes; appends and puts count
	// parts stored each way.
	completes, appends, puts int
	failComplete             error
}

var _ blob.Store = (*fakeBlobs)(nil)

func newFakeBlobs(now func() time.Time) *fakeBlobs {
	return &fakeBlobs{objects: map[string][]byte{}, streams: map[string][]byte{}, written: map[string]time.Time{}, now: now}
}

func (b *fakeBlobs) id(kind string) string {
	b.n++
	return fmt.Sprintf("%s%d", kind, b.n)
}

func (b *fakeBlobs) Begin(context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id("up"), nil
}

func readMax(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err == nil && int64(len(data)) > max {
		err = domain.Errorf(domain.TooLarge, "chunk exceeds the %d-byte chunk size limit", max)
	}
	return data, err
}

func (b *fakeBlobs) Put(_ context.Context, _ string, index int, r io.Reader, size, max int64) (blob.Part, error) {
	if size >= 0 {
		r = blob.Exact(r, size)
	}
	data, err := readMax(r, max)
	if err != nil {
		return blob.Part{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.id("part")
	b.objects[id], b.written[id] = data, b.now()
	b.puts++
	return blob.Part{Index: index, Size: int64(len(data)), ID: id}, nil
}

func (b *fakeBlobs) Append(_ context.Context, handle string, index int, s blob.Stream, r io.Reader, size, max, maxTotal int64) (blob.Part, []byte, error) {
	if size >= 0 {
		r = blob.Exact(r, size)
	}
	data, err := readMax(r, max)
	if err != nil {
		return blob.Part{}, nil, err
	}
	if maxTotal > 0 && s.Len+int64(len(data)) > maxTotal {
		return blob.Part{}, nil, domain.Errorf(domain.TooLarge, "file too large")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	next := []byte(fmt.Sprint(s.Len + int64(len(data))))
	if b.named {
		id := b.id("part")
		b.objects[id], b.written[id] = data, b.now()
		b.appends++
		return blob.Part{Index: index, Size: int64(len(data)), ID: id, Appended: true, Offset: s.Len}, next, nil
	}
	st := b.streams[handle]
	if int64(len(st)) < s.Len {
		return blob.Part{}, nil, fmt.Errorf("stream %s has %d bytes, %d recorded", handle, len(st), s.Len)
	}
	// What an unrecorded append left past s.Len goes first.
	b.streams[handle] = append(st[:s.Len:s.Len], data...)
	b.written[handle] = b.now()
	b.appends++
	// The fake's hash state is the length hashed so far: enough to check
	// that it is carried along.
	return blob.Part{Index: index, Size: int64(len(data)), Appended: true, Offset: s.Len}, next, nil
}

func (b *fakeBlobs) Unappend(_ context.Context, handle string, p blob.Part) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.ID != "" {
		delete(b.objects, p.ID)
		return nil
	}
	if st := b.streams[handle]; int64(len(st)) > p.Offset {
		b.streams[handle] = st[:p.Offset]
	}
	return nil
}

func (b *fakeBlobs) Complete(_ context.Context, handle string, parts []blob.Part, s blob.Stream, maxTotal int64) (domain.Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failComplete != nil {
		return domain.Blob{}, b.failComplete
	}
	var all bytes.Buffer
	for _, p := range parts {
		var data []byte
		if p.ID == "" {
			st, ok := b.streams[handle]
			if !ok || int64(len(st)) < p.Offset+p.Size {
				return domain.Blob{}, domain.Errorf(domain.NotFound, "part %d gone", p.Index)
			}
			data = st[p.Offset : p.Offset+p.Size]
		} else {
			d, ok := b.objects[p.ID]
			if !ok {
				return domain.Blob{}, domain.Errorf(domain.NotFound, "part %d gone", p.Index)
			}
			data = d
		}
		if int64(len(data)) != p.Size {
			return domain.Blob{}, fmt.Errorf("part %d has %d bytes, %d recorded", p.Index, len(data), p.Size)
		}
		all.Write(data)
	}
	if maxTotal > 0 && int64(all.Len()) > maxTotal {
		return domain.Blob{}, domain.Errorf(domain.TooLarge, "file too large")
	}
	if b.consume {
		delete(b.streams, handle)
		for _, p := range parts {
			delete(b.objects, p.ID)
		}
	}
	id := b.id("blob")
	sum := sha256.Sum256(all.Bytes())
	b.objects[id], b.written[id] = all.Bytes(), b.now()
	b.completes++
	return domain.Blob{ID: id, Size: int64(all.Len()), SHA256: hex.EncodeToString(sum[:])}, nil
}

func (b *fakeBlobs) Open(_ context.Context, id string) (io.ReadSeekCloser, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.objects[id]
	if !ok {
		return nil, 0, domain.Errorf(domain.NotFound, "content not found")
	}
	return nopCloser{bytes.NewReader(d)}, int64(len(d)), nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func (b *fakeBlobs) Remove(_ context.Context, ids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		delete(b.objects, id)
		delete(b.streams, id)
		delete(b.written, id)
	}
	return nil
}

func (b *fakeBlobs) Sweep(ctx context.Context, olderThan time.Time, referenced func(context.Context, string) (bool, error)) (int, error) {
	b.mu.Lock()
	var old []string
	for id, at := range b.written {
		if at.Before(olderThan) {
			old = append(old, id)
		}
	}
	b.mu.Unlock()
	n := 0
	for _, id := range old {
		ref, err := referenced(ctx, id)
		if err != nil {
			return n, err
		}
		if !ref {
			b.Remove(ctx, id)
			n++
		}
	}
	return n, nil
}

func (b *fakeBlobs) Writable(context.Context) error { return nil }

// stored lists every id the store holds, sorted.
func (b *fakeBlobs) stored() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id := range b.objects {
		ids = append(ids, id)
	}
	for id, st := range b.streams {
		if len(st) == 0 {
			continue // an empty assembly file holds nothing
		}
		ids = append(ids, "stream:"+id)
	}
	sort.Strings(ids)
	return ids
}
