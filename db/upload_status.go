package db

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// UploadStatus reports which chunks of the unfinished upload (shareID,
// dzuuid) are held, and their bytes. NotFound when there is no such
// upload: never started, completed, aborted or cleaned up. dzuuid is
// compared as bytes, exactly as GetOrCreateUpload stores it.
func (s *Store) UploadStatus(ctx context.Context, shareID, dzuuid string) (*domain.UploadStatus, error) {
	if len(dzuuid) < 1 || len(dzuuid) > maxName {
		return nil, uploadNotFound() // no upload can have this id
	}
	// One statement, so the upload and its chunks are one snapshot even
	// while chunks arrive.
	var rows []struct {
		Total     int           `db:"total_chunks"`
		CreatedAt timestamp     `db:"created_at"`
		Index     sql.NullInt64 `db:"idx"`
		Size      sql.NullInt64 `db:"size"`
	}
	err := s.r.SelectContext(ctx, &rows, `SELECT u.total_chunks, u.created_at, c.idx, c.size
		FROM uploads u LEFT JOIN chunks c ON c.upload_id = u.id
		WHERE u.share_id = ? AND u.dzuuid = ? ORDER BY c.idx`, shareID, []byte(dzuuid))
	if err != nil {
		return nil, fail(err, "upload status")
	}
	if len(rows) == 0 {
		return nil, uploadNotFound()
	}
	st := &domain.UploadStatus{DZUUID: dzuuid, TotalChunks: rows[0].Total, CreatedAt: rows[0].CreatedAt.Time}
	idx := make([]int, 0, len(rows))
	for _, r := range rows {
		if !r.Index.Valid { // the LEFT JOIN's row of an upload with no chunk yet
			continue
		}
		idx = append(idx, int(r.Index.Int64))
		st.BytesHeld += r.Size.Int64
	}
	st.Held = domain.IndexRanges(idx)
	st.Received = len(idx)
	return st, nil
}

// AbortUpload deletes the unfinished upload (shareID, dzuuid) with its
// chunk rows, and returns the chunk and assembly file ids for the caller
// to delete. NotFound when there is no such upload; Conflict while it is
// being completed (its last chunk has arrived and a live process is
// joining it: the content is about to change, and pulling the chunks out
// from under the join would fail it half-way).
func (s *Store) AbortUpload(ctx context.Context, shareID, dzuuid string) (files []string, err error) {
	if len(dzuuid) < 1 || len(dzuuid) > maxName {
		return nil, uploadNotFound()
	}
	err = s.inTx(ctx, "abort upload", func(tx *sqlx.Tx) error {
		files = nil
		var u struct {
			ID        int64          `db:"id"`
			ClaimedBy sql.NullString `db:"claimed_by"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT id, claimed_by FROM uploads WHERE share_id = ? AND dzuuid = ?`+s.forUpdate,
			shareID, []byte(dzuuid)); err != nil {
			return notFound(err, "abort upload", uploadGone)
		}
		held, err := s.claimHeld(ctx, tx, u.ClaimedBy)
		if err != nil {
			return err
		}
		if held {
			return domain.Errorf(domain.Conflict, "the upload is being completed: its last chunk has arrived")
		}
		files, err = s.deleteUploadRows(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
