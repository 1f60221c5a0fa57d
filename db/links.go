package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sachet-server/sachet/domain"
)

type linkRow struct {
	ID           string         `db:"link_id"`
	ShareID      string         `db:"share_id"`
	CreatedBy    int64          `db:"created_by"`
	TokenHash    string         `db:"token_hash"`
	Label        sql.NullString `db:"label"`
	PasswordHash sql.NullString `db:"password_hash"`
	ExpiresAt    nullTimestamp  `db:"expires_at"`
	MaxDownloads sql.NullInt64  `db:"max_downloads"`
	Downloads    int64          `db:"downloads"`
	CreatedAt    timestamp      `db:"created_at"`
	RevokedAt    nullTimestamp  `db:"revoked_at"`
}

const linkColumns = `link_id, share_id, created_by, token_hash, label, password_hash, expires_at, max_downloads, downloads, created_at, revoked_at`

func (r linkRow) domain() *domain.Link {
	l := &domain.Link{
		ID:           r.ID,
		ShareID:      r.ShareID,
		CreatedBy:    r.CreatedBy,
		TokenHash:    r.TokenHash,
		Label:        nullStringPtr(r.Label),
		PasswordHash: r.PasswordHash.String,
		Expires:      r.ExpiresAt.ptr(),
		Downloads:    r.Downloads,
		CreateDate:   r.CreatedAt.Time,
		Revoked:      r.RevokedAt.ptr(),
	}
	if r.MaxDownloads.Valid {
		n := r.MaxDownloads.Int64
		l.MaxDownloads = &n
	}
	return l
}

func nullString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullInt(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

// CreateLink stores l, setting l.CreateDate (now, UTC, microseconds). The
// caller makes the id and token hash and checks the fields. A share that
// does not exist (deleted meanwhile) or a creator that does not is
// NotFound; a share with domain.MaxLinksPerShare links is Conflict.
func (s *Store) CreateLink(ctx context.Context, l *domain.Link) error {
	if err := checkLen("link id", l.ID, 1, 32); err != nil {
		return err
	}
	if err := checkLen("token hash", l.TokenHash, 1, 64); err != nil {
		return err
	}
	now := utc(s.now())
	var pw any
	if l.PasswordHash != "" {
		pw = l.PasswordHash
	}
	err := s.inTx(ctx, "create link", func(tx *sqlx.Tx) error {
		// Lock the share, so concurrent creations count one after another
		// and a concurrent DeleteShare either ran first or waits.
		var id string
		if err := tx.GetContext(ctx, &id, `SELECT share_id FROM shares WHERE share_id = ?`+s.forUpdate, l.ShareID); err != nil {
			return notFound(err, "create link", "No such share.")
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM share_links WHERE share_id = ?`, l.ShareID); err != nil {
			return err
		}
		if n >= domain.MaxLinksPerShare {
			return domain.Errorf(domain.Conflict, "The share has %d links, the most allowed.", n)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO share_links (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL)`,
			l.ID, l.ShareID, l.CreatedBy, l.TokenHash, nullString(l.Label), pw,
			nullTime(l.Expires), nullInt(l.MaxDownloads), ts(now))
		if classify(err) == classForeignKey {
			return domain.Errorf(domain.NotFound, "No such share or user.")
		}
		return err
	})
	if err != nil {
		return err
	}
	l.CreateDate = now
	return nil
}

// ShareLinks returns the share's links, revoked ones included, newest
// first.
func (s *Store) ShareLinks(ctx context.Context, shareID string) ([]domain.Link, error) {
	var rows []linkRow
	err := s.r.SelectContext(ctx, &rows, `SELECT `+linkColumns+` FROM share_links
		WHERE share_id = ? ORDER BY created_at DESC, link_id`, shareID)
	if err != nil {
		return nil, fail(err, "list links")
	}
	out := make([]domain.Link, len(rows))
	for i, r := range rows {
		out[i] = *r.domain()
	}
	return out, nil
}

// LinkByTokenHash returns the link whose token hashes to hash; NotFound
// when there is none. The answer is cached (see DefaultCacheTTL), as a
// share's is, so a link's metadata costs what a share's does: this
// process forgets it when it revokes a link, counts a download of a link
// with a limit or deletes a user; other processes see those within the TTL. Counting stays exact
// whatever the cache says: ClaimLinkDownload decides in the database. A
// link whose share was deleted may linger here within the TTL, but the
// share read that follows finds nothing.
func (s *Store) LinkByTokenHash(ctx context.Context, hash string) (*domain.Link, error) {
	r, err := cachedRead(s, s.cache.links, hash, func() (linkRow, error) {
		var r linkRow
		err := s.getHot(ctx, &r, `SELECT `+linkColumns+` FROM share_links WHERE token_hash = ?`, hash)
		return r, err
	})
	if err != nil {
		return nil, notFound(err, "link by token", "No such link.")
	}
	return r.domain(), nil
}

// RevokeLink marks the share's link linkID revoked at now (a revoked link
// keeps its first revocation time); NotFound when the share has no such
// link.
func (s *Store) RevokeLink(ctx context.Context, shareID, linkID string, now time.Time) error {
	defer s.cache.links.forgetAll() // after the commit, like every forget
	return s.inTx(ctx, "revoke link", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE share_links SET revoked_at = COALESCE(revoked_at, ?)
			WHERE link_id = ? AND share_id = ?`, ts(utc(now)), linkID, shareID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			return err
		}
		// MySQL counts only changed rows: an already revoked link is 0.
		var found int
		err = tx.GetContext(ctx, &found, `SELECT COUNT(*) FROM share_links WHERE link_id = ? AND share_id = ?`, linkID, shareID)
		if err == nil && found == 0 {
			return domain.Errorf(domain.NotFound, "The share has no such link.")
		}
		return err
	})
}

// ClaimLinkDownload counts one download of link l at now, atomically:
// only while the link is not revoked, not expired and has downloads left,
// so concurrent claims on a link with one download left succeed exactly
// once. A refused claim is the Gone error of the link's state; a link gone
// altogether (its share deleted) is NotFound.
//
// The claim is one UPDATE committed on its own (a single round trip and
// one durable commit), read back only when refused. A counted download of
// a link with a limit makes this process forget the link's cached row (its
// downloads left changed). One without a limit does not: nothing read from
// the cache shows its count (its state and downloads left do not depend
// on it; ShareLinks reads the database), so every download need not read
// the link again.
func (s *Store) ClaimLinkDownload(ctx context.Context, l *domain.Link, now time.Time) error {
	now = utc(now)
	var n int64
	err := s.retrying(ctx, "claim link download", func() error {
		res, err := s.w.ExecContext(ctx, `UPDATE share_links SET downloads = downloads + 1
			WHERE link_id = ? AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > ?)
			AND (max_downloads IS NULL OR downloads < max_downloads)`, l.ID, ts(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if l.MaxDownloads != nil && err == nil && n > 0 {
		s.cache.links.forget(l.TokenHash) // after the commit, like every forget
	}
	if err != nil || n > 0 {
		return err
	}
	var r linkRow
	err = s.w.GetContext(ctx, &r, `SELECT `+linkColumns+` FROM share_links WHERE link_id = ?`, l.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.NotFound, "No such link.")
	} else if err != nil {
		return fail(err, "claim link download")
	}
	// The row explains the refusal; the cached one, if any, is stale.
	s.cache.links.forget(l.TokenHash)
	if gone := domain.GoneError(r.domain().State(now)); gone != nil {
		return gone
	}
	// Not refused by any rule the row shows: the clocks disagree by a
	// hair at the expiry instant; the link has expired.
	return domain.GoneError(domain.LinkExpired)
}
