package db

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// DeleteStale is cleanup's database half. It deletes
//   - uninitialized shares created before `before`, locked or not, unless an
//     upload to them was active (received a chunk or was claimed) since
//     `before`: a slow first upload is not pulled from under its client;
//   - uploads inactive since `before` (no chunk received, and not claimed,
//     since then), with their chunks;
//
// and returns the storage names to remove: chunk and assembly files and
// any blob. Each
// share or upload goes in its own short transaction, re-checked under lock,
// so cleanup never holds locks on many rows and never deletes something
// that became active meanwhile. On error, files still lists what was
// deleted before it, and the caller should remove those too.
func (s *Store) DeleteStale(ctx context.Context, before time.Time) (files []string, err error) {
	b := ts(before)
	// An uninitialized share is stale when nothing touched it for the
	// stale age: modified_at, when set (sachet import sets it on shares it
	// brings over without content, so they get the same grace as new
	// ones), else its creation.
	var shareIDs []string
	if err := s.r.SelectContext(ctx, &shareIDs, `SELECT share_id FROM shares
		WHERE initialized = ? AND COALESCE(modified_at, create_date) < ? AND NOT EXISTS (
			SELECT 1 FROM uploads WHERE uploads.share_id = shares.share_id
			AND (updated_at >= ? OR claimed_at >= ?))
		ORDER BY create_date, share_id`, false, b, b, b); err != nil {
		return nil, fail(err, "delete stale")
	}
	for _, id := range shareIDs {
		var got []string
		err := s.inTx(ctx, "delete stale share", func(tx *sqlx.Tx) error {
			got = nil
			var stale int
			if err := tx.GetContext(ctx, &stale, `SELECT COUNT(*) FROM shares
				WHERE share_id = ? AND initialized = ? AND COALESCE(modified_at, create_date) < ?`+s.forUpdate, id, false, b); err != nil || stale == 0 {
				return err // gone, or initialized meanwhile
			}
			var active int
			if err := tx.GetContext(ctx, &active, `SELECT COUNT(*) FROM uploads
				WHERE share_id = ? AND (updated_at >= ? OR claimed_at >= ?)`+s.forUpdate, id, b, b); err != nil || active > 0 {
				return err
			}
			var err error
			got, err = s.deleteShareTx(ctx, tx, id, true)
			return err
		})
		s.cache.shares.forget(id)
		s.listChanged(true)
		if err != nil {
			return files, err
		}
		files = append(files, got...)
	}

	var uploadIDs []int64
	if err := s.r.SelectContext(ctx, &uploadIDs, `SELECT id FROM uploads
		WHERE updated_at < ? AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id`, b, b); err != nil {
		return files, fail(err, "delete stale")
	}
	for _, id := range uploadIDs {
		var got []string
		err := s.inTx(ctx, "delete stale upload", func(tx *sqlx.Tx) error {
			got = nil
			var stale int
			if err := tx.GetContext(ctx, &stale, `SELECT COUNT(*) FROM uploads
				WHERE id = ? AND updated_at < ? AND (claimed_at IS NULL OR claimed_at < ?)`+s.forUpdate, id, b, b); err != nil || stale == 0 {
				return err
			}
			var err error
			got, err = s.deleteUploadRows(ctx, tx, id)
			return err
		})
		if err != nil {
			return files, err
		}
		files = append(files, got...)
	}
	return files, nil
}

// FileReferenced reports whether a share's blob, an upload's chunk or an
// upload's assembly file is the storage file fileID, so that a sweep of storage can remove orphans (left
// by a crash between a commit and the file deletions). A file written but
// not yet recorded (PutChunk, FinishUpload still to come) is unreferenced
// too: sweep only files older than any request can take.
func (s *Store) FileReferenced(ctx context.Context, fileID string) (bool, error) {
	var n int
	err := s.r.GetContext(ctx, &n, `SELECT CASE WHEN
		EXISTS (SELECT 1 FROM shares WHERE blob_id = ?) OR EXISTS (SELECT 1 FROM chunks WHERE file_id = ?)
		OR EXISTS (SELECT 1 FROM uploads WHERE assembly_id = ?)
		THEN 1 ELSE 0 END`, fileID, fileID, fileID)
	if err != nil {
		return false, fail(err, "file referenced")
	}
	return n == 1, nil
}
