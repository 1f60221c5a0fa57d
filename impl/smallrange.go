package impl

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sachet-server/sachet/blob"
	"github.com/sachet-server/sachet/domain"
)

// Small ranges (issue 14, item 4). A 4 KiB range through http.ServeContent
// costs an open, a stat, three seeks, a header write, a sendfile and a
// close. When the store can share open files (blob.SharedOpener: the
// filesystem keeps a blob open for a second), a plain GET of one small
// range is answered from one pread into a pooled buffer and one Write
// instead. Anything else (several ranges, conditional headers, HEAD, a
// large range) keeps the ServeContent path, so its semantics stay the
// reference.

// smallRangeMax is the largest range read into memory (≤ 64 KiB per
// request in flight, pooled).
const smallRangeMax = 64 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallRangeMax); return &b }}

// smallRangeRequest reports whether r is a GET of exactly one range of at
// most smallRangeMax bytes, whatever the content's size (bytes=a-b or
// bytes=-n), with no conditional header.
func smallRangeRequest(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	h := r.Header
	for _, k := range []string{"If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := h[k]; ok {
			return false
		}
	}
	v := h.Values("Range")
	if len(v) != 1 {
		return false
	}
	unit, spec, ok := strings.Cut(v[0], "=")
	if !ok || strings.TrimSpace(unit) != "bytes" || strings.Contains(spec, ",") {
		return false
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return false
	}
	if first == "" {
		n, ok := digits(last)
		return ok && n <= smallRangeMax
	}
	a, ok1 := digits(first)
	b, ok2 := digits(last)
	return ok1 && ok2 && b >= a && b-a < smallRangeMax
}

// openShared is openContent (same retries) for a small range: the blob
// comes from the store's shared-file cache.
func (h *Content) openShared(ctx context.Context, so blob.SharedOpener, id string) (*domain.Share, blob.ReadAtCloser, int64, error) {
	for attempt := 0; ; attempt++ {
		sh, err := loadShare(ctx, h.store, id)
		if err != nil {
			return nil, nil, 0, err
		}
		if !sh.Initialized || sh.BlobID == nil {
			if attempt == 0 {
				h.store.ForgetShare(id) // as in openContent: the row may be a stale cached one
				continue
			}
			return nil, nil, 0, domain.Errorf(domain.NotFound, "The share has no content yet.")
		}
		f, size, err := so.OpenShared(ctx, *sh.BlobID)
		if err == nil {
			return sh, f, size, nil
		}
		if !domain.IsKind(err, domain.NotFound) || attempt == 2 {
			return nil, nil, 0, err
		}
		h.store.ForgetShare(id)
	}
}

// smallDownload returns the download of a small range with its blob
// shared, or nil when r is not one or the store cannot share files.
func (h *Content) smallDownload(ctx context.Context, r *http.Request, id string) (*download, error) {
	so, ok := h.blobs.(blob.SharedOpener)
	if !ok || !smallRangeRequest(r) {
		return nil, nil
	}
	sh, f, size, err := h.openShared(ctx, so, id)
	if err != nil {
		return nil, err
	}
	// file serves ServeContent should the vetted range not qualify after
	// all (no sendfile then, but the same answer).
	return &download{req: r, share: sh, at: f, file: readSeekAt{io.NewSectionReader(f, 0, size), f}}, nil
}

type readSeekAt struct {
	*io.SectionReader
	io.Closer
}

// serveSmall answers the request's one vetted range (checkRange has put
// it in canonical form, clamped to size) from one pread. It reports false,
// having written nothing, when the range is not a single small one.
func (d *download) serveSmall(w http.ResponseWriter, mod time.Time, size int64) bool {
	spec, ok := strings.CutPrefix(d.req.Header.Get("Range"), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return false
	}
	first, last, _ := strings.Cut(spec, "-")
	var start, end int64
	if first == "" {
		n, ok := digits(last)
		if !ok {
			return false
		}
		start, end = size-n, size-1
	} else {
		var ok1, ok2 bool
		start, ok1 = digits(first)
		end, ok2 = size-1, true
		if last != "" {
			end, ok2 = digits(last)
		}
		if !ok1 || !ok2 {
			return false
		}
	}
	n := end - start + 1
	if start < 0 || end >= size || n <= 0 || n > smallRangeMax {
		return false
	}
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	buf := (*bp)[:n]
	if k, _ := d.at.ReadAt(buf, start); k != len(buf) {
		// A short read is the disk's failure (or a blob cut under us): the
		// envelope, as ServeContent's read errors get.
		w.WriteHeader(http.StatusInternalServerError)
		return true
	}
	h := w.Header()
	if !mod.IsZero() && !mod.Equal(time.Unix(0, 0)) { // as ServeContent
		h.Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(buf)
	return true
}
