package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// Appending in-order chunks to an upload's assembly file. A request that
// receives chunk next_index takes the append lease (TakeAppendLease),
// streams the chunk onto the file at assembled_len, makes it durable, and
// then records it (CommitAppend: the chunk row points into the assembly,
// assembled_len and next_index move on, the lease is freed), or gives up
// (ReleaseAppend). The lease and a completion claim exclude each other, so
// the file is never written while it is being joined. A lease whose holder
// is gone (its process died; or, in this process, the request ended without
// releasing it) is abandoned and may be taken over, like a claim.

// TakeAppendLease takes the append lease of the upload for chunk index, if
// index is the one its assembly file expects next, no live request holds
// the lease and the upload is not being completed; ok reports whether it
// did. newAssemblyID becomes the upload's assembly file id if it has none
// yet (the caller creates the file). NotFound if the upload is gone.
func (s *Store) TakeAppendLease(ctx context.Context, uploadID int64, index int, newAssemblyID string) (lease *domain.Append, ok bool, err error) {
	if err := checkLen("assembly id", newAssemblyID, 1, maxName); err != nil {
		return nil, false, err
	}
	var listed uint64 // the lease listed by an attempt of ours, which may have been rolled back
	err = s.inTx(ctx, "take append lease", func(tx *sqlx.Tx) error {
		lease, ok = nil, false
		if listed != 0 {
			s.endLease(uploadID, listed)
			listed = 0
		}
		var u struct {
			Total        int            `db:"total_chunks"`
			ClaimedBy    sql.NullString `db:"claimed_by"`
			AppendBy     sql.NullString `db:"append_by"`
			AssemblyID   sql.NullString `db:"assembly_id"`
			AssembledLen int64          `db:"assembled_len"`
			NextIndex    int            `db:"next_index"`
			HashState    []byte         `db:"hash_state"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT total_chunks, claimed_by, append_by, assembly_id, assembled_len, next_index, hash_state
			FROM uploads WHERE id = ?`+s.forUpdate, uploadID); err != nil {
			return notFound(err, "take append lease", uploadGone)
		}
		if index != u.NextIndex || index < 0 || index >= u.Total {
			return nil
		}
		if free, err := s.uploadFree(ctx, tx, uploadID, u.ClaimedBy, u.AppendBy); err != nil || !free {
			return err
		}
		asm := u.AssemblyID.String
		if !u.AssemblyID.Valid {
			asm = newAssemblyID
		}
		now := ts(s.now())
		// An abandoned completion claim is cleared too: the upload is open
		// again, as PutChunk would have it.
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET append_by = ?, append_at = ?, assembly_id = ?, updated_at = ?,
			claimed_by = NULL, claimed_at = NULL
			WHERE id = ? AND next_index = ? AND (append_by IS NULL OR append_by = ?) AND (claimed_by IS NULL OR claimed_by = ?)`,
			s.token, now, asm, now, uploadID, index, u.AppendBy.String, u.ClaimedBy.String)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		// Listed before the commit, under the row's lock: whoever reads
		// the row next sees a live lease.
		listed = s.listLease(uploadID)
		lease = &domain.Append{UploadID: uploadID, AssemblyID: asm, Index: index, Offset: u.AssembledLen, HashState: u.HashState, Gen: listed}
		ok = true
		return nil
	})
	if err != nil {
		if listed != 0 {
			s.endLease(uploadID, listed)
		}
		return nil, false, err
	}
	return lease, ok, nil
}

// CommitAppend records that the lease's chunk, size bytes, is durable in
// the assembly file at the lease's offset, and frees the lease. hashState
// is the SHA-256 state of the file's bytes up to the chunk's end (nil: not
// known). A chunk of
// that index stored in a file of its own is replaced, and its file id
// returned for the caller to delete. NotFound if the upload is gone;
// Unavailable if the lease was lost (taken over as abandoned). Either way the
// lease is no longer held.
func (s *Store) CommitAppend(ctx context.Context, lease *domain.Append, size int64, hashState []byte) (replacedFileID string, err error) {
	return s.CommitAppendPart(ctx, lease, "", size, hashState)
}

// CommitAppendPart is CommitAppend for a chunk that the blob store stored
// under a name of its own, fileID, rather than inside the assembly file
// ("": inside it). The chunk row keeps its offset in the upload's
// in-order stream either way.
func (s *Store) CommitAppendPart(ctx context.Context, lease *domain.Append, fileID string, size int64, hashState []byte) (replacedFileID string, err error) {
	if fileID == "" {
		fileID = lease.AssemblyID
	}
	if err := checkLen("file id", fileID, 1, maxName); err != nil {
		return "", err
	}
	if size < 0 {
		return "", domain.Errorf(domain.Invalid, "chunk size must not be negative")
	}
	defer s.endLease(lease.UploadID, lease.Gen)
	err = s.inTx(ctx, "commit append", func(tx *sqlx.Tx) error {
		replacedFileID = ""
		var u struct {
			AppendBy     sql.NullString `db:"append_by"`
			AssemblyID   sql.NullString `db:"assembly_id"`
			AssembledLen int64          `db:"assembled_len"`
			NextIndex    int            `db:"next_index"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT append_by, assembly_id, assembled_len, next_index
			FROM uploads WHERE id = ?`+s.forUpdate, lease.UploadID); err != nil {
			return notFound(err, "commit append", uploadGone)
		}
		if u.AppendBy.String != s.token || u.NextIndex != lease.Index || u.AssembledLen != lease.Offset || u.AssemblyID.String != lease.AssemblyID {
			// Not Conflict, which callers take for "being completed, with
			// every chunk in": this chunk is not recorded.
			return domain.Errorf(domain.Unavailable, "the chunk was not recorded (its append was taken over): send it again")
		}
		var old struct {
			FileID string        `db:"file_id"`
			Off    sql.NullInt64 `db:"assembly_off"`
		}
		err := tx.GetContext(ctx, &old, `SELECT file_id, assembly_off FROM chunks WHERE upload_id = ? AND idx = ?`, lease.UploadID, lease.Index)
		received := 0
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO chunks (upload_id, idx, file_id, size, assembly_off) VALUES (?, ?, ?, ?, ?)`,
				lease.UploadID, lease.Index, fileID, size, lease.Offset); err != nil {
				return err
			}
			received = 1
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE chunks SET file_id = ?, size = ?, assembly_off = ? WHERE upload_id = ? AND idx = ?`,
				fileID, size, lease.Offset, lease.UploadID, lease.Index); err != nil {
				return err
			}
			if old.FileID != fileID && !inAssembly(old.Off, old.FileID, u.AssemblyID) {
				replacedFileID = old.FileID
			}
		}
		if len(hashState) > 255 {
			hashState = nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE uploads SET received = received + ?, assembled_len = ?, next_index = ?, hash_state = ?,
			append_by = NULL, append_at = NULL, updated_at = ? WHERE id = ?`,
			received, lease.Offset+size, lease.Index+1, hashState, ts(s.now()), lease.UploadID)
		return err
	})
	if err != nil {
		return "", err
	}
	return replacedFileID, nil
}

// ReleaseAppend frees the lease without recording anything: the append
// failed, and the bytes past the lease's offset are dead. An upload gone
// meanwhile is not an error.
func (s *Store) ReleaseAppend(ctx context.Context, lease *domain.Append) error {
	defer s.endLease(lease.UploadID, lease.Gen)
	return s.inTx(ctx, "release append lease", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE uploads SET append_by = NULL, append_at = NULL
			WHERE id = ? AND append_by = ? AND next_index = ?`, lease.UploadID, s.token, lease.Index)
		return err
	})
}

// listLease lists a new append lease of the upload as held by a request
// of this Store and returns its generation.
func (s *Store) listLease(uploadID int64) uint64 {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	s.leaseGen++
	s.leases[uploadID] = s.leaseGen
	return s.leaseGen
}

// endLease unlists the lease of generation gen. It runs after the
// transaction that freed the lease in the database, so another request may
// already hold the next lease of the upload: that one stays listed.
func (s *Store) endLease(uploadID int64, gen uint64) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.leases[uploadID] == gen {
		delete(s.leases, uploadID)
	}
}

// uploadFree reports whether neither a completion claim (claimedBy) nor
// an append lease (appendBy) holds the upload, so this Store may take one:
// they exclude each other. When free, it makes sure others can see that
// this Store, the next holder, lives.
func (s *Store) uploadFree(ctx context.Context, tx *sqlx.Tx, uploadID int64, claimedBy, appendBy sql.NullString) (bool, error) {
	if held, err := s.claimHeld(ctx, tx, claimedBy); err != nil || held {
		return false, err
	}
	if held, err := s.leaseHeld(ctx, tx, uploadID, appendBy); err != nil || held {
		return false, err
	}
	if err := s.ensureAlive(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// leaseHeld reports whether the append lease of the upload recorded as by
// is still held: by a request of this Store that has not ended, or (MySQL)
// by a Store whose process lives. In SQLite a lease by another Store is a
// previous life of this server's, as for claims (see claimHeld).
func (s *Store) leaseHeld(ctx context.Context, tx *sqlx.Tx, uploadID int64, by sql.NullString) (bool, error) {
	if by.Valid && by.String == s.token {
		s.leaseMu.Lock()
		defer s.leaseMu.Unlock()
		_, held := s.leases[uploadID]
		return held, nil
	}
	return s.claimHeld(ctx, tx, by)
}
