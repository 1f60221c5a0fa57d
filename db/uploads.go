package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// An upload's life: GetOrCreateUpload, PutChunk for each chunk (any order,
// concurrently, re-sends replace), then ClaimCompletion after each chunk.
// The one caller that wins the claim joins the chunk files and calls
// FinishUpload, or ReleaseCompletion if joining failed. In MySQL every
// transaction here locks the upload's row first (after the share's, when it
// needs both), so chunk writes, claims and deletes of one upload run one at
// a time and in one lock order; in SQLite write transactions run one at a
// time anyway.

type uploadRow struct {
	ID          int64          `db:"id"`
	ShareID     string         `db:"share_id"`
	DZUUID      []byte         `db:"dzuuid"`
	TotalChunks int            `db:"total_chunks"`
	CreatedAt   timestamp      `db:"created_at"`
	AssemblyID  sql.NullString `db:"assembly_id"`
}

// uploadGone's message reaches clients, who know uploads by dzuuid, not
// by our id: it says why an upload they were sending to may have vanished.
const uploadGone = "upload not found: it was completed, deleted or expired"

func uploadNotFound() error { return domain.Errorf(domain.NotFound, uploadGone) }

// GetOrCreateUpload returns the upload (shareID, dzuuid), creating it with
// totalChunks chunks if absent; concurrent callers get the same one. dzuuid
// is any 1-255 bytes, compared exactly ("a" and "A" are two uploads).
// NotFound if the share does not exist; Invalid if totalChunks differs from
// the existing upload's or is below 1.
func (s *Store) GetOrCreateUpload(ctx context.Context, shareID, dzuuid string, totalChunks int) (*domain.Upload, error) {
	if err := checkLen("dzuuid", dzuuid, 1, maxName); err != nil {
		return nil, err
	}
	if totalChunks < 1 {
		return nil, domain.Errorf(domain.Invalid, "dztotalchunks must be at least 1")
	}
	// dzuuid travels as bytes: in MySQL a string would be checked as
	// utf8mb4, and in SQLite it would be TEXT, never equal to the BLOB.
	key := []byte(dzuuid)
	insert := `INSERT INTO uploads (share_id, dzuuid, total_chunks, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (share_id, dzuuid) DO NOTHING`
	if s.dialect == DialectMySQL {
		// Not INSERT IGNORE: that would also turn a missing share (a
		// foreign key error) into a silent warning.
		insert = `INSERT INTO uploads (share_id, dzuuid, total_chunks, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE id = id`
	}
	var r uploadRow
	// Every chunk but an upload's first finds its row: one plain read
	// then, instead of a transaction of four round trips (begin, insert,
	// locking read, commit). The row read is committed, as the
	// transaction's would be; a row deleted right after is the same race
	// as one deleted right after the transaction commits.
	err := s.r.GetContext(ctx, &r, `SELECT id, share_id, dzuuid, total_chunks, created_at, assembly_id FROM uploads
		WHERE share_id = ? AND dzuuid = ?`, shareID, key)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.inTx(ctx, "get or create upload", func(tx *sqlx.Tx) error {
			now := ts(s.now())
			_, err := tx.ExecContext(ctx, insert, shareID, key, totalChunks, now, now)
			if classify(err) == classForeignKey {
				return shareNotFound(shareID)
			}
			if err != nil {
				return err
			}
			err = tx.GetContext(ctx, &r, `SELECT id, share_id, dzuuid, total_chunks, created_at, assembly_id FROM uploads
			WHERE share_id = ? AND dzuuid = ?`+s.forUpdate, shareID, key)
			if err != nil {
				return notFound(err, "get or create upload", "share %s not found", shareID)
			}
			// Created by this statement (or by a racer for the same upload in
			// the same microsecond, which the count then simply includes):
			// the owner's budget decides whether it may stay.
			if s.maxOpenUploads > 0 && ts(r.CreatedAt.Time) == now {
				return s.checkOpenUploads(ctx, tx, shareID)
			}
			return nil
		})
	} else if err != nil {
		err = fail(err, "get or create upload")
	}
	if err != nil {
		return nil, err
	}
	if r.TotalChunks != totalChunks {
		return nil, domain.Errorf(domain.Invalid, "dztotalchunks %d does not match this upload's %d", totalChunks, r.TotalChunks)
	}
	return &domain.Upload{
		ID:          r.ID,
		ShareID:     r.ShareID,
		DZUUID:      string(r.DZUUID),
		TotalChunks: r.TotalChunks,
		CreatedAt:   r.CreatedAt.Time,
		Handle:      r.AssemblyID.String,
	}, nil
}

// SetUploadHandle records handle as the upload's blob-store handle
// (blob.Store.Begin) unless it has one already, and returns the one
// recorded: when two requests race to begin an upload, both learn the
// winner's handle, and the loser removes its own. The handle lives in
// assembly_id: for the filesystem store it is the assembly file's id.
// NotFound if the upload is gone.
func (s *Store) SetUploadHandle(ctx context.Context, uploadID int64, handle string) (string, error) {
	if err := checkLen("upload handle", handle, 1, maxName); err != nil {
		return "", err
	}
	var got sql.NullString
	err := s.inTx(ctx, "set upload handle", func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &got, `SELECT assembly_id FROM uploads WHERE id = ?`+s.forUpdate, uploadID); err != nil {
			return notFound(err, "set upload handle", uploadGone)
		}
		if got.Valid {
			return nil
		}
		got = sql.NullString{String: handle, Valid: true}
		_, err := tx.ExecContext(ctx, `UPDATE uploads SET assembly_id = ? WHERE id = ? AND assembly_id IS NULL`, handle, uploadID)
		return err
	})
	if err != nil {
		return "", err
	}
	return got.String, nil
}

// SetUploadChecksum records sum, the SHA-256 (lowercase hex) the client
// says the upload's whole file has, for ClaimUpload to hand to the
// completion. Sent with several chunks it must be the same each time:
// Invalid otherwise, recording nothing. NotFound if the upload is gone.
func (s *Store) SetUploadChecksum(ctx context.Context, uploadID int64, sum string) error {
	if err := checkLen("file checksum", sum, 64, 64); err != nil {
		return err
	}
	return s.inTx(ctx, "set upload checksum", func(tx *sqlx.Tx) error {
		var got sql.NullString
		if err := tx.GetContext(ctx, &got, `SELECT file_sha256 FROM uploads WHERE id = ?`+s.forUpdate, uploadID); err != nil {
			return notFound(err, "set upload checksum", uploadGone)
		}
		if got.Valid {
			if got.String != sum {
				return domain.Errorf(domain.Invalid, "dzfilesha256 %s differs from the %s sent with an earlier chunk of this upload", sum, got.String)
			}
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE uploads SET file_sha256 = ? WHERE id = ? AND file_sha256 IS NULL`, sum, uploadID)
		return err
	})
}

// SetMaxOpenUploads bounds the unfinished uploads of each share owner
// (anonymous users, who own the shares with no owner, share one budget):
// GetOrCreateUpload refuses to create one more with TooManyRequests. 0, the
// default, is no bound. Call it before the Store is shared.
func (s *Store) SetMaxOpenUploads(n int) { s.maxOpenUploads = max(0, n) }

// checkOpenUploads runs in the transaction that just created an upload of
// share shareID, and fails it (undoing the creation) when the share's owner
// now has more than maxOpenUploads. Uploads are counted by their share's
// owner, who is the uploader: only owners may upload. In MySQL the owner's
// row (the settings row for anonymous users) is locked first, so that
// concurrent creations for one owner count one after another; the reads
// before it are locking ones, so the count's snapshot is taken after the
// lock. SQLite runs write transactions one at a time anyway.
func (s *Store) checkOpenUploads(ctx context.Context, tx *sqlx.Tx, shareID string) error {
	forShare := ""
	if s.dialect == DialectMySQL {
		forShare = " LOCK IN SHARE MODE" // the insert's foreign key check holds this lock already
	}
	var owner sql.NullString
	if err := tx.GetContext(ctx, &owner, `SELECT owner_name FROM shares WHERE share_id = ?`+forShare, shareID); err != nil {
		return notFound(err, "count open uploads", "share %s not found", shareID)
	}
	if s.dialect == DialectMySQL {
		var err error
		if owner.Valid {
			var id int64
			err = tx.GetContext(ctx, &id, `SELECT id FROM users WHERE username = ? FOR UPDATE`, owner.String)
		} else {
			// Readers take a missing settings row for the defaults, which
			// this row holds: creating it changes nothing but gives the
			// anonymous budget a row to lock.
			_, err = tx.ExecContext(ctx, `INSERT INTO settings (id, default_permissions) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = id`)
		}
		if err != nil {
			return notFound(err, "count open uploads", "user %q not found", owner.String)
		}
	}
	q := `SELECT COUNT(*) FROM uploads u JOIN shares s ON s.share_id = u.share_id WHERE s.owner_name IS NULL`
	args := []any{}
	if owner.Valid {
		q = `SELECT COUNT(*) FROM uploads u JOIN shares s ON s.share_id = u.share_id WHERE s.owner_name = ?`
		args = append(args, owner.String)
	}
	var n int
	if err := tx.GetContext(ctx, &n, q, args...); err != nil {
		return err
	}
	if n > s.maxOpenUploads {
		who := "anonymous users already have"
		if owner.Valid {
			who = fmt.Sprintf("user %q already has", owner.String)
		}
		return domain.Errorf(domain.TooManyRequests,
			"%s %d unfinished uploads, the most allowed at a time: complete one (or let it expire) before starting another",
			who, s.maxOpenUploads)
	}
	return nil
}

// PutChunk records chunk c.Index of upload c.UploadID as the file c.FileID.
// When a chunk of that index was already there it is replaced, and its file
// id returned for the caller to delete ("" otherwise, or when it is the same
// file). NotFound if the upload is gone (its share was deleted, or it was
// finished or cleaned up); Conflict while it is being completed; Invalid if
// the index is outside [0, total chunks).
func (s *Store) PutChunk(ctx context.Context, c domain.Chunk) (replacedFileID string, err error) {
	if err := checkLen("file id", c.FileID, 1, maxName); err != nil {
		return "", err
	}
	if c.Size < 0 {
		return "", domain.Errorf(domain.Invalid, "chunk size must not be negative")
	}
	err = s.inTx(ctx, "put chunk", func(tx *sqlx.Tx) error {
		replacedFileID = ""
		var u struct {
			Total      int            `db:"total_chunks"`
			ClaimedBy  sql.NullString `db:"claimed_by"`
			AssemblyID sql.NullString `db:"assembly_id"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT total_chunks, claimed_by, assembly_id FROM uploads WHERE id = ?`+s.forUpdate, c.UploadID); err != nil {
			return notFound(err, "put chunk", uploadGone)
		}
		held, err := s.claimHeld(ctx, tx, u.ClaimedBy)
		if err != nil {
			return err
		}
		if held {
			return domain.Errorf(domain.Conflict, "upload is being completed")
		}
		if u.ClaimedBy.Valid { // abandoned by a dead process: the upload is open again
			if _, err := tx.ExecContext(ctx, `UPDATE uploads SET claimed_by = NULL, claimed_at = NULL WHERE id = ?`, c.UploadID); err != nil {
				return err
			}
		}
		if c.Index < 0 || c.Index >= u.Total {
			return domain.Errorf(domain.Invalid, "dzchunkindex %d is out of range for %d chunks", c.Index, u.Total)
		}
		now := ts(s.now())
		// No FOR UPDATE here: the upload's row lock already excludes every
		// other writer of its chunks, and a locking read of a missing row
		// would take a gap lock that deadlocks with other uploads' inserts.
		var old struct {
			FileID string        `db:"file_id"`
			Off    sql.NullInt64 `db:"assembly_off"`
		}
		err = tx.GetContext(ctx, &old, `SELECT file_id, assembly_off FROM chunks WHERE upload_id = ? AND idx = ?`, c.UploadID, c.Index)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO chunks (upload_id, idx, file_id, size) VALUES (?, ?, ?, ?)`,
				c.UploadID, c.Index, c.FileID, c.Size); err != nil {
				return err
			}
			// received counts distinct indexes, so that ClaimCompletion
			// need not count chunk rows (up to 100 000) on every chunk.
			_, err = tx.ExecContext(ctx, `UPDATE uploads SET received = received + 1, updated_at = ? WHERE id = ?`, now, c.UploadID)
			return err
		case err != nil:
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chunks SET file_id = ?, size = ?, assembly_off = NULL WHERE upload_id = ? AND idx = ?`,
			c.FileID, c.Size, c.UploadID, c.Index); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE uploads SET updated_at = ? WHERE id = ?`, now, c.UploadID); err != nil {
			return err
		}
		// A chunk replaced in the assembly file stays there as dead bytes:
		// the file holds other chunks, and completion no longer uses it
		// for this one. An appended chunk with a name of its own (a
		// store that appends by storing parts) goes like any other.
		if old.FileID != c.FileID && !inAssembly(old.Off, old.FileID, u.AssemblyID) {
			replacedFileID = old.FileID
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return replacedFileID, nil
}

// ClaimCompletion is ClaimUpload returning only the chunks, in index
// order. The upload service uses ClaimUpload; this is the store's tests'
// view of a claim.
func (s *Store) ClaimCompletion(ctx context.Context, uploadID int64) (chunks []domain.Chunk, claimed bool, err error) {
	c, claimed, err := s.ClaimUpload(ctx, uploadID)
	if err != nil || !claimed {
		return nil, claimed, err
	}
	return c.Chunks, true, nil
}

// ClaimUpload claims the upload for joining if it is complete (it has all
// its chunks) and not claimed already: it then returns the upload's chunks
// and assembly file, and claimed=true. Otherwise claimed=false. However
// many callers race, exactly one wins, and PutChunk refuses the upload from
// then on. The winner must end the claim with FinishUpload, DeleteUpload or
// ReleaseCompletion. A claim whose holder died (crashed mid-join) is
// abandoned: the upload can then be claimed again, and PutChunk accepts
// chunks for it, so a client re-sending its last chunk completes it. An
// upload is not claimed while a live request holds its append lease (that
// request tries again once it has appended); an abandoned lease is cleared
// by the claim. NotFound if the upload is gone.
func (s *Store) ClaimUpload(ctx context.Context, uploadID int64) (c *domain.Completion, claimed bool, err error) {
	// Asked after every chunk, and for all but the last the answer is
	// "chunks missing": one plain read says so, with no transaction. The
	// request whose chunk completes the count reads it after its own
	// commit and goes on to the locking transaction below, which decides.
	var n struct {
		Total    int `db:"total_chunks"`
		Received int `db:"received"`
	}
	if err := s.r.GetContext(ctx, &n, `SELECT total_chunks, received FROM uploads WHERE id = ?`, uploadID); err == nil && n.Received != n.Total {
		return nil, false, nil
	}
	err = s.inTx(ctx, "claim completion", func(tx *sqlx.Tx) error {
		c, claimed = nil, false
		var u struct {
			Total        int            `db:"total_chunks"`
			Received     int            `db:"received"`
			ClaimedBy    sql.NullString `db:"claimed_by"`
			AppendBy     sql.NullString `db:"append_by"`
			AssemblyID   sql.NullString `db:"assembly_id"`
			AssembledLen int64          `db:"assembled_len"`
			HashState    []byte         `db:"hash_state"`
			FileSHA256   sql.NullString `db:"file_sha256"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT total_chunks, received, claimed_by, append_by, assembly_id, assembled_len, hash_state, file_sha256
			FROM uploads WHERE id = ?`+s.forUpdate, uploadID); err != nil {
			return notFound(err, "claim completion", uploadGone)
		}
		if u.Received != u.Total {
			return nil // the common case: chunks still missing
		}
		if free, err := s.uploadFree(ctx, tx, uploadID, u.ClaimedBy, u.AppendBy); err != nil || !free {
			return err
		}
		// The condition and the claim are one statement, a compare-and-set
		// on claimed_by (free, or the abandoned holder just read): whatever
		// the isolation level, only one UPDATE can match.
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET claimed_by = ?, claimed_at = ?, append_by = NULL, append_at = NULL
			WHERE id = ? AND (claimed_by IS NULL OR claimed_by = ?) AND (append_by IS NULL OR append_by = ?) AND received = total_chunks`,
			s.token, ts(s.now()), uploadID, u.ClaimedBy.String, u.AppendBy.String)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		var rows []chunkRow
		if err := tx.SelectContext(ctx, &rows, `SELECT upload_id, idx, file_id, size, assembly_off FROM chunks
			WHERE upload_id = ? ORDER BY idx`, uploadID); err != nil {
			return err
		}
		if len(rows) != u.Total {
			return domain.Errorf(domain.Internal, "upload %d: has %d chunk rows, counted %d", uploadID, len(rows), u.Total)
		}
		c = &domain.Completion{Chunks: make([]domain.Chunk, len(rows)), AssemblyID: u.AssemblyID.String, AssembledLen: u.AssembledLen, HashState: u.HashState,
			FileSHA256: u.FileSHA256.String}
		for i, r := range rows {
			if r.Index != i {
				return domain.Errorf(domain.Internal, "upload %d: chunk %d missing", uploadID, i)
			}
			c.Chunks[i] = domain.Chunk{UploadID: r.UploadID, Index: r.Index, FileID: r.FileID, Size: r.Size,
				InAssembly: r.Off.Valid, Offset: r.Off.Int64}
		}
		claimed = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return c, claimed, nil
}

type chunkRow struct {
	UploadID int64         `db:"upload_id"`
	Index    int           `db:"idx"`
	FileID   string        `db:"file_id"`
	Size     int64         `db:"size"`
	Off      sql.NullInt64 `db:"assembly_off"`
}

// ReleaseCompletion ends a claim without finishing, after a failed join, so
// that the client can re-send chunks and complete again. NotFound if the
// upload is gone.
func (s *Store) ReleaseCompletion(ctx context.Context, uploadID int64) error {
	return s.inTx(ctx, "release completion", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET claimed_by = NULL, claimed_at = NULL WHERE id = ?`, uploadID)
		if err != nil {
			return err
		}
		return mustAffect(res, uploadNotFound())
	})
}

// FinishUpload publishes blob as share shareID's content and forgets the
// upload, in one transaction: the share gets blob's id, size and hash, is
// initialized and modified at now; the upload and its chunk rows go (the
// caller holds the chunk file ids from ClaimCompletion and deletes the
// files). It returns the previous blob id ("" if none) for the caller to
// delete. NotFound if the share is gone, Locked if it is locked; on error
// nothing changes and the caller still holds the claim.
func (s *Store) FinishUpload(ctx context.Context, uploadID int64, shareID string, blob domain.Blob, now time.Time) (oldBlobID string, err error) {
	if err := checkLen("blob id", blob.ID, 1, maxName); err != nil {
		return "", err
	}
	if err := checkLen("sha256", blob.SHA256, 0, 64); err != nil {
		return "", err
	}
	if blob.Size < 0 {
		return "", domain.Errorf(domain.Invalid, "blob size must not be negative")
	}
	defer s.cache.shares.forget(shareID)
	defer s.listChanged(false)
	err = s.inTx(ctx, "finish upload", func(tx *sqlx.Tx) error {
		oldBlobID = ""
		var r struct {
			Locked bool           `db:"locked"`
			BlobID sql.NullString `db:"blob_id"`
		}
		if err := tx.GetContext(ctx, &r, `SELECT locked, blob_id FROM shares WHERE share_id = ?`+s.forUpdate, shareID); err != nil {
			return notFound(err, "finish upload", "share %s not found", shareID)
		}
		if r.Locked {
			return shareLocked(shareID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE shares SET blob_id = ?, size = ?, sha256 = ?, initialized = ?, modified_at = ?
			WHERE share_id = ?`, blob.ID, blob.Size, blob.SHA256, true, ts(now), shareID); err != nil {
			return err
		}
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, `SELECT id FROM uploads WHERE id = ? AND share_id = ?`+s.forUpdate, uploadID, shareID); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.deleteUploadRows(ctx, tx, id); err != nil {
				return err
			}
		}
		if r.BlobID.Valid && r.BlobID.String != blob.ID {
			oldBlobID = r.BlobID.String
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return oldBlobID, nil
}

// DeleteUpload deletes the upload and its chunk rows and returns the chunk
// and assembly file ids for the caller to delete. NotFound if it is gone.
func (s *Store) DeleteUpload(ctx context.Context, uploadID int64) (files []string, err error) {
	err = s.inTx(ctx, "delete upload", func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM uploads WHERE id = ?`+s.forUpdate, uploadID); err != nil {
			return notFound(err, "delete upload", uploadGone)
		}
		files, err = s.deleteUploadRows(ctx, tx, uploadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// deleteUploadRows deletes an upload whose row the transaction has locked,
// with its chunks, and returns the chunk file ids and its assembly file's.
// The upload's lock keeps its chunks still, so the read needs no lock of
// its own.
func (s *Store) deleteUploadRows(ctx context.Context, tx *sqlx.Tx, uploadID int64) ([]string, error) {
	var asm sql.NullString
	if err := tx.GetContext(ctx, &asm, `SELECT assembly_id FROM uploads WHERE id = ?`, uploadID); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var files []string
	// Chunks inside the assembly file go with it; any other is named.
	if err := tx.SelectContext(ctx, &files, `SELECT file_id FROM chunks WHERE upload_id = ?
		AND (assembly_off IS NULL OR file_id <> ?) ORDER BY idx`, uploadID, asm.String); err != nil {
		return nil, err
	}
	if asm.Valid {
		files = append(files, asm.String)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE upload_id = ?`, uploadID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, uploadID); err != nil {
		return nil, err
	}
	return files, nil
}

// claimHeld reports whether the claim recorded as by is still held: by this
// Store, or, in MySQL, by a Store whose instance lock is still taken, that
// is, whose process lives. In SQLite a claim by any other Store counts as
// abandoned: one serving process per SQLite file (several processes need
// MySQL), so another token there is a previous life of this server. Were
// two servers run on one SQLite file anyway, the worst case is a second
// join of the same chunks, whose result is the same content.
func (s *Store) claimHeld(ctx context.Context, tx *sqlx.Tx, by sql.NullString) (bool, error) {
	switch {
	case !by.Valid:
		return false, nil
	case by.String == s.token:
		return true, nil
	case s.dialect != DialectMySQL:
		return false, nil
	}
	var holder sql.NullInt64
	err := tx.GetContext(ctx, &holder, `SELECT IS_USED_LOCK(?)`, instanceLock(by.String))
	return holder.Valid, err
}

// inAssembly reports whether a chunk row at off (assembly_off) with file
// fileID lives inside the upload's assembly file asm, with no name of its
// own.
func inAssembly(off sql.NullInt64, fileID string, asm sql.NullString) bool {
	return off.Valid && asm.Valid && fileID == asm.String
}
