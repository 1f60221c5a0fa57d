package db

import (
	"fmt"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

// TestCacheSeesOwnWritesAtOnce warms every cache, makes one kind of write
// through the same Store, and reads again: with an hour-long TTL, only the
// write's own forgetting can make the second read right.
func TestCacheSeesOwnWritesAtOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		s.SetCacheTTL(time.Hour)
		n := 100
		// fresh makes a user with a token and a share, and warms the caches.
		fresh := func(t *testing.T) (user string, sh *domain.Share) {
			n++
			user = fmt.Sprintf("cache-user-%d", n)
			mkUser(t, s, user)
			sh = mkShare(t, s, n, nil)
			if _, _, err := s.TokenHolder(ctx, user, "jti-"+user); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ShareByID(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DefaultPerms(ctx); err != nil {
				t.Fatal(err)
			}
			return user, sh
		}
		share := func(t *testing.T, id string) *domain.Share {
			t.Helper()
			got, err := s.ShareByID(ctx, id)
			must(t, err)
			return got
		}
		cases := []struct {
			name  string
			write func(t *testing.T, user string, sh *domain.Share)
			check func(t *testing.T, user string, sh *domain.Share)
		}{
			{"rename a share", func(t *testing.T, _ string, sh *domain.Share) {
				must(t, s.UpdateShareMeta(ctx, sh.ID, "renamed.txt", nil))
			}, func(t *testing.T, _ string, sh *domain.Share) {
				if got := share(t, sh.ID); got.FileName != "renamed.txt" {
					t.Fatalf("file name %q after the rename", got.FileName)
				}
			}},
			{"give a share an owner", func(t *testing.T, user string, sh *domain.Share) {
				must(t, s.UpdateShareMeta(ctx, sh.ID, sh.FileName, &user))
			}, func(t *testing.T, user string, sh *domain.Share) {
				if got := share(t, sh.ID); got.Owner == nil || *got.Owner != user {
					t.Fatalf("owner %v, want %s", got.Owner, user)
				}
			}},
			{"lock a share", func(t *testing.T, _ string, sh *domain.Share) {
				must(t, s.SetLocked(ctx, sh.ID, true))
			}, func(t *testing.T, _ string, sh *domain.Share) {
				if !share(t, sh.ID).Locked {
					t.Fatal("not locked after SetLocked")
				}
			}},
			{"finish an upload", func(t *testing.T, _ string, sh *domain.Share) {
				up, err := s.GetOrCreateUpload(ctx, sh.ID, "dz", 1)
				must(t, err)
				_, err = s.FinishUpload(ctx, up.ID, sh.ID, domain.Blob{ID: "blob-" + sh.ID[:8], Size: 42, SHA256: "ab"}, t0)
				must(t, err)
			}, func(t *testing.T, _ string, sh *domain.Share) {
				got := share(t, sh.ID)
				if !got.Initialized || got.Size == nil || *got.Size != 42 || got.BlobID == nil {
					t.Fatalf("after FinishUpload: initialized %v size %v blob %v", got.Initialized, got.Size, got.BlobID)
				}
			}},
			{"delete a share", func(t *testing.T, _ string, sh *domain.Share) {
				_, err := s.DeleteShare(ctx, sh.ID)
				must(t, err)
			}, func(t *testing.T, _ string, sh *domain.Share) {
				_, err := s.ShareByID(ctx, sh.ID)
				wantKind(t, err, domain.NotFound)
			}},
			{"clean up a stale share", func(t *testing.T, _ string, _ *domain.Share) {
				_, err := s.DeleteStale(ctx, time.Now().Add(time.Hour))
				must(t, err)
			}, func(t *testing.T, _ string, sh *domain.Share) {
				_, err := s.ShareByID(ctx, sh.ID)
				wantKind(t, err, domain.NotFound)
			}},
			{"change a user's permissions", func(t *testing.T, user string, _ *domain.Share) {
				must(t, s.UpdateUser(ctx, &domain.User{Username: user, PasswordHash: "x", Perms: domain.PermAll}))
			}, func(t *testing.T, user string, _ *domain.Share) {
				u, _, err := s.TokenHolder(ctx, user, "jti-"+user)
				must(t, err)
				if u.Perms != domain.PermAll {
					t.Fatalf("perms %v after UpdateUser", u.Perms)
				}
			}},
			{"revoke a token", func(t *testing.T, user string, _ *domain.Share) {
				must(t, s.RevokeToken(ctx, "jti-"+user, t0.Add(time.Hour)))
			}, func(t *testing.T, user string, _ *domain.Share) {
				_, revoked, err := s.TokenHolder(ctx, user, "jti-"+user)
				must(t, err)
				if !revoked {
					t.Fatal("token not revoked after RevokeToken")
				}
			}},
			{"delete a user", func(t *testing.T, user string, _ *domain.Share) {
				must(t, s.DeleteUser(ctx, user))
			}, func(t *testing.T, user string, _ *domain.Share) {
				_, _, err := s.TokenHolder(ctx, user, "jti-"+user)
				wantKind(t, err, domain.NotFound)
			}},
			{"set the anonymous permissions", func(t *testing.T, _ string, _ *domain.Share) {
				must(t, s.SetDefaultPerms(ctx, domain.PermRead|domain.PermList))
			}, func(t *testing.T, _ string, _ *domain.Share) {
				p, err := s.DefaultPerms(ctx)
				must(t, err)
				if p != domain.PermRead|domain.PermList {
					t.Fatalf("default perms %v", p)
				}
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				user, sh := fresh(t)
				c.write(t, user, sh)
				c.check(t, user, sh)
			})
		}
	})
}

// TestCacheTTLBoundsOtherProcesses: a change made through another Store
// (another process) is not seen while the entry is young, is seen once
// the TTL passes, and at once with the cache off.
func TestCacheTTLBoundsOtherProcesses(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			other := openStore(t, dsn)
			must(t, other.Migrate(ctx))
			s := openStore(t, dsn)
			sh := mkShare(t, other, 1, nil)
			rename := func(name string) { must(t, other.UpdateShareMeta(ctx, sh.ID, name, nil)) }
			name := func() string {
				got, err := s.ShareByID(ctx, sh.ID)
				must(t, err)
				return got.FileName
			}

			s.SetCacheTTL(200 * time.Millisecond)
			warmed := time.Now()
			if got := name(); got != sh.FileName {
				t.Fatalf("first read %q", got)
			}
			rename("elsewhere.txt")
			if got := name(); got != sh.FileName && time.Since(warmed) < 150*time.Millisecond {
				t.Fatalf("read %q within the TTL: the cache did not serve it", got)
			}
			time.Sleep(time.Until(warmed.Add(250 * time.Millisecond)))
			if got := name(); got != "elsewhere.txt" {
				t.Fatalf("read %q after the TTL, want the other process's change", got)
			}

			s.SetCacheTTL(0)
			rename("at-once.txt")
			if got := name(); got != "at-once.txt" {
				t.Fatalf("read %q with the cache off", got)
			}
		})
	}
}

// TestCachedSharesAreCopies: a caller changing what it got does not change
// what the next caller gets.
func TestCachedSharesAreCopies(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		s.SetCacheTTL(time.Hour)
		owner := "copy-owner"
		mkUser(t, s, owner)
		sh := mkShare(t, s, 1, &owner)
		a, err := s.ShareByID(ctx, sh.ID)
		must(t, err)
		a.FileName = "scribbled"
		*a.Owner = "scribbled"
		b, err := s.ShareByID(ctx, sh.ID)
		must(t, err)
		if b.FileName != sh.FileName || *b.Owner != owner {
			t.Fatalf("second read %q owned by %q, want %q owned by %q", b.FileName, *b.Owner, sh.FileName, owner)
		}
	})
}

func TestReadCache(t *testing.T) {
	now := time.Now()
	later := now.Add(time.Hour)
	t.Run("a read that began before a write is not kept", func(t *testing.T) {
		c := newReadCache[string, int]()
		gen := c.begin()
		c.forget("other key") // any write in between
		c.put("k", 1, gen, later)
		if _, ok := c.get("k", now); ok {
			t.Fatal("stored a value read before a forget")
		}
		c.put("k", 2, c.begin(), later)
		if v, ok := c.get("k", now); !ok || v != 2 {
			t.Fatalf("get = %v, %v after a clean read", v, ok)
		}
	})
	t.Run("entries expire", func(t *testing.T) {
		c := newReadCache[string, int]()
		c.put("k", 1, c.begin(), now.Add(time.Second))
		if _, ok := c.get("k", now.Add(time.Second)); ok {
			t.Fatal("entry served at its expiry")
		}
	})
	t.Run("forgetAll", func(t *testing.T) {
		c := newReadCache[int, int]()
		for i := range 10 {
			c.put(i, i, c.begin(), later)
		}
		c.forgetAll()
		for i := range 10 {
			if _, ok := c.get(i, now); ok {
				t.Fatalf("entry %d survived forgetAll", i)
			}
		}
	})
	t.Run("memory is bounded", func(t *testing.T) {
		c := newReadCache[int, int]()
		for i := range 3*maxCached + 7 {
			c.put(i, i, c.begin(), later)
			if len(c.m) > maxCached {
				t.Fatalf("%d entries, bound %d", len(c.m), maxCached)
			}
		}
	})
}
