package db

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

// Appending in-order chunks to an upload's assembly file. A request that
// receives chunk next_index takes the append lease (TakeAppendLease),
// streams the chunk onto the file at assembled_len, makes it durable, and
// then records it (CommitAppend: the chunk row points into the assembly,
// assembled_len and next_index move on, the lease is freed), or gives up
// (ReleaseAppend). The lease and a completion claim exclude each other, so
// the file is never written while it is being joined.
//
// The lease itself is not a row. Writing one would cost a durable commit
// (a log flush) per chunk on top of the chunk's fdatasync and the commit
// that records it, and a lease need not survive a crash: its holder does
// not either. It is an entry in this Store's leases (which excludes the
// other requests of this process) and, in MySQL, the upload's named lock
// on the Store's instance connection (appendLock; it excludes other
// processes, and the server frees it when the holder's process dies).
// Both are taken and checked under the upload row's lock, in the same
// transactions as before, so a claim and a lease still exclude each
// other. A lease held in uploads.append_by (by an older version of this
// code) is still honoured while its holder lives.

// heldLease is a listed append lease: its generation, and the
// CONNECTION_ID() whose named lock holds it for other processes (MySQL;
// 0 when none was taken).
type heldLease struct {
	gen  uint64
	conn int64
}

// leaseTouchAfter: taking a lease writes nothing, unless the upload's
// updated_at is older than this. Then it is set to now (one durable
// commit), so cleanup (which deletes uploads idle for SACHET_STALE_AFTER,
// a day by default) does not take an upload whose append has just begun.
const leaseTouchAfter = time.Minute

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
			UpdatedAt    timestamp      `db:"updated_at"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT total_chunks, claimed_by, append_by, assembly_id, assembled_len, next_index, hash_state, updated_at
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
		now := s.now()
		if !u.AssemblyID.Valid || u.ClaimedBy.Valid || u.AppendBy.Valid || u.UpdatedAt.Time.Before(now.Add(-leaseTouchAfter)) {
			// The rare cases that write: the first append names the
			// assembly file; an abandoned completion claim (or an old
			// lease row) is cleared, so the upload is open again, as
			// PutChunk would have it; an upload idle for a while is
			// marked active for cleanup.
			res, err := tx.ExecContext(ctx, `UPDATE uploads SET assembly_id = ?, updated_at = ?,
				claimed_by = NULL, claimed_at = NULL, append_by = NULL, append_at = NULL
				WHERE id = ? AND next_index = ? AND (append_by IS NULL OR append_by = ?) AND (claimed_by IS NULL OR claimed_by = ?)`,
				asm, ts(now), uploadID, index, u.AppendBy.String, u.ClaimedBy.String)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return err
			}
		}
		// Listed and locked under the row's lock, before the commit:
		// whoever reads the row next sees a live lease.
		var taken bool
		var err error
		if listed, taken, err = s.listLease(ctx, uploadID); err != nil || !taken {
			return err
		}
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
			AssemblyID   sql.NullString `db:"assembly_id"`
			AssembledLen int64          `db:"assembled_len"`
			NextIndex    int            `db:"next_index"`
		}
		if err := tx.GetContext(ctx, &u, `SELECT assembly_id, assembled_len, next_index
			FROM uploads WHERE id = ?`+s.forUpdate, lease.UploadID); err != nil {
			return notFound(err, "commit append", uploadGone)
		}
		held, err := s.stillHeld(ctx, tx, lease)
		if err != nil {
			return err
		}
		if !held || u.NextIndex != lease.Index || u.AssembledLen != lease.Offset || u.AssemblyID.String != lease.AssemblyID {
			// Not Conflict, which callers take for "being completed, with
			// every chunk in": this chunk is not recorded.
			return domain.Errorf(domain.Unavailable, "the chunk was not recorded (its append was taken over): send it again")
		}
		var old struct {
			FileID string        `db:"file_id"`
			Off    sql.NullInt64 `db:"assembly_off"`
		}
		err = tx.GetContext(ctx, &old, `SELECT file_id, assembly_off FROM chunks WHERE upload_id = ? AND idx = ?`, lease.UploadID, lease.Index)
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
// meanwhile is not an error. Nothing about the lease is in the database
// (see TakeAppendLease), so this writes nothing there.
func (s *Store) ReleaseAppend(ctx context.Context, lease *domain.Append) error {
	s.endLease(lease.UploadID, lease.Gen)
	return nil
}

// appendLock names the MySQL lock that holds an upload's append lease for
// other processes (see TakeAppendLease).
func (s *Store) appendLock(uploadID int64) string {
	return s.alive.prefix + strconv.FormatInt(uploadID, 10)
}

// listLease takes an append lease of the upload for a request of this
// Store: it lists it, and in MySQL takes the upload's named lock on the
// instance connection. It returns the lease's generation; taken is false
// (and nothing is listed) when another process holds the lock. Run it
// under the upload row's lock, after leaseHeld said the lease is free.
func (s *Store) listLease(ctx context.Context, uploadID int64) (gen uint64, taken bool, err error) {
	s.leaseMu.Lock()
	s.leaseGen++
	gen = s.leaseGen
	s.leases[uploadID] = heldLease{gen: gen}
	s.leaseMu.Unlock()
	if s.alive.db == nil {
		return gen, true, nil
	}
	// An entry is locked once: the lock is reentrant on one connection,
	// and each entry releases it once (endLease), so a late release of an
	// earlier entry never frees a later one.
	s.alive.mu.Lock()
	var got sql.NullInt64
	var conn int64
	if c := s.alive.conn; c != nil {
		conn = s.alive.connID
		err = c.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, s.appendLock(uploadID)).Scan(&got)
	} else {
		err = domain.Errorf(domain.Unavailable, "database unavailable: lost the instance connection")
	}
	s.alive.mu.Unlock()
	if err != nil || got.Int64 != 1 {
		s.leaseMu.Lock()
		delete(s.leases, uploadID) // nothing to release: the lock is not ours
		s.leaseMu.Unlock()
		return 0, false, err
	}
	s.leaseMu.Lock()
	if l, ok := s.leases[uploadID]; ok && l.gen == gen {
		s.leases[uploadID] = heldLease{gen: gen, conn: conn}
		s.leaseMu.Unlock()
		return gen, true, nil
	}
	s.leaseMu.Unlock()
	// Unlisted meanwhile (cannot happen under the row lock; be safe).
	s.unlock(uploadID, conn)
	return 0, false, nil
}

// endLease unlists the lease of generation gen, and releases its lock. It
// runs after the transaction that recorded (or gave up) the append; a
// later lease of the upload stays listed and locked.
func (s *Store) endLease(uploadID int64, gen uint64) {
	s.leaseMu.Lock()
	l, ok := s.leases[uploadID]
	if ok && l.gen == gen {
		delete(s.leases, uploadID)
	}
	s.leaseMu.Unlock()
	if ok && l.gen == gen && l.conn != 0 {
		s.unlock(uploadID, l.conn)
	}
}

// unlock releases the upload's append lock once, if conn (the instance
// connection that took it) is still the Store's: a lost connection took
// its locks with it.
func (s *Store) unlock(uploadID int64, conn int64) {
	s.alive.mu.Lock()
	defer s.alive.mu.Unlock()
	if c := s.alive.conn; c != nil && s.alive.connID == conn {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.ExecContext(ctx, `DO RELEASE_LOCK(?)`, s.appendLock(uploadID)); err != nil {
			// Unknown whether it was released: drop the connection, and
			// every lock on it, rather than keep one forever. Live
			// leases then fail to commit (stillHeld), and are sent again.
			c.Close()
			s.alive.conn = nil
		}
	}
}

// stillHeld reports, under the upload row's lock, whether lease is still
// this Store's: listed with its generation and, in MySQL, its named lock
// still held by the connection that took it.
func (s *Store) stillHeld(ctx context.Context, tx *sqlx.Tx, lease *domain.Append) (bool, error) {
	s.leaseMu.Lock()
	l, ok := s.leases[lease.UploadID]
	s.leaseMu.Unlock()
	if !ok || l.gen != lease.Gen {
		return false, nil
	}
	if s.alive.db == nil {
		return true, nil
	}
	var holder sql.NullInt64
	if err := tx.GetContext(ctx, &holder, `SELECT IS_USED_LOCK(?)`, s.appendLock(lease.UploadID)); err != nil {
		return false, err
	}
	return holder.Valid && holder.Int64 == l.conn, nil
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

// leaseHeld reports whether a live request holds the upload's append
// lease: one of this Store (listed), or (MySQL) one of another process
// (the upload's named lock held by another connection). In SQLite only
// this process serves the file (see claimHeld). by is uploads.append_by,
// where older versions of this code kept the lease: honoured likewise.
func (s *Store) leaseHeld(ctx context.Context, tx *sqlx.Tx, uploadID int64, by sql.NullString) (bool, error) {
	s.leaseMu.Lock()
	_, mine := s.leases[uploadID]
	s.leaseMu.Unlock()
	if mine {
		return true, nil
	}
	if s.alive.db != nil {
		var holder sql.NullInt64
		if err := tx.GetContext(ctx, &holder, `SELECT IS_USED_LOCK(?)`, s.appendLock(uploadID)); err != nil {
			return false, err
		}
		s.alive.mu.Lock()
		me := s.alive.connID
		s.alive.mu.Unlock()
		if holder.Valid && holder.Int64 != me {
			return true, nil
		}
	}
	if by.Valid && by.String != s.token {
		return s.claimHeld(ctx, tx, by)
	}
	return false, nil
}
