package db

import (
	"sync"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

func mkLink(t *testing.T, s *Store, sh *domain.Share, by *domain.User, id string, max *int64, exp *time.Time) *domain.Link {
	t.Helper()
	l := &domain.Link{ID: id, ShareID: sh.ID, CreatedBy: by.ID, TokenHash: "hash-of-" + id, MaxDownloads: max, Expires: exp}
	must(t, s.CreateLink(ctx, l))
	return l
}

// TestLinkClaimExpiryInstant: a download claimed at the expiry instant
// exactly is refused (the link has expired), one a microsecond before is
// counted.
func TestLinkClaimExpiryInstant(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		u := mkUser(t, s, "ann")
		sh := mkShare(t, s, 1, &u.Username)
		exp := t0.Add(time.Hour)
		l1 := mkLink(t, s, sh, u, "l1", nil, &exp)
		must(t, s.ClaimLinkDownload(ctx, l1, exp.Add(-time.Microsecond)))
		err := s.ClaimLinkDownload(ctx, l1, exp)
		wantMessage(t, err, domain.Gone, "This link has expired.")
		l, err := s.LinkByTokenHash(ctx, "hash-of-l1")
		must(t, err)
		if l.Downloads != 1 {
			t.Errorf("downloads %d, want 1", l.Downloads)
		}
	})
}

// TestLinkClaimConcurrent: of many parallel claims on a link with three
// downloads, exactly three succeed, the rest are Gone (exhausted).
func TestLinkClaimConcurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		u := mkUser(t, s, "ann")
		sh := mkShare(t, s, 1, &u.Username)
		l1 := mkLink(t, s, sh, u, "l1", ptr(int64(3)), nil)
		var mu sync.Mutex
		ok, gone := 0, 0
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				err := s.ClaimLinkDownload(ctx, l1, t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case domain.IsKind(err, domain.Gone):
					gone++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 3 || gone != 13 {
			t.Errorf("%d claims counted and %d gone, want 3 and 13", ok, gone)
		}
	})
}

// TestLinkRevokeAndCascade: a revoked link refuses claims and keeps its
// first revocation time; deleting the share, or the user who made a link,
// removes the links.
func TestLinkRevokeAndCascade(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ann, bob := mkUser(t, s, "ann"), mkUser(t, s, "bob")
		sh := mkShare(t, s, 1, &ann.Username)
		l1 := mkLink(t, s, sh, ann, "l1", nil, nil)
		mkLink(t, s, sh, bob, "l2", nil, nil)
		must(t, s.RevokeLink(ctx, sh.ID, "l1", t0))
		must(t, s.RevokeLink(ctx, sh.ID, "l1", t0.Add(time.Hour))) // again: still 200, first time kept
		wantKind(t, s.RevokeLink(ctx, shareID(2), "l1", t0), domain.NotFound)
		wantMessage(t, s.ClaimLinkDownload(ctx, l1, t0), domain.Gone, "This link has been revoked.")
		l, err := s.LinkByTokenHash(ctx, "hash-of-l1")
		must(t, err)
		if l.Revoked == nil || !l.Revoked.Equal(t0) {
			t.Errorf("revoked %v, want %v", l.Revoked, t0)
		}
		must(t, s.DeleteUser(ctx, "bob"))
		if _, err := s.LinkByTokenHash(ctx, "hash-of-l2"); !domain.IsKind(err, domain.NotFound) {
			t.Errorf("link of a deleted user: %v, want NotFound", err)
		}
		if _, err := s.DeleteShare(ctx, sh.ID); err != nil {
			t.Fatal(err)
		}
		links, err := s.ShareLinks(ctx, sh.ID)
		must(t, err)
		if len(links) != 0 {
			t.Errorf("%d links left after the share was deleted", len(links))
		}
		wantKind(t, s.ClaimLinkDownload(ctx, l1, t0), domain.NotFound)
	})
}
