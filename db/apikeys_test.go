package db

import (
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

func mkKey(t *testing.T, s *Store, u *domain.User, id, name string) *domain.APIKey {
	t.Helper()
	k := &domain.APIKey{ID: id, UserID: u.ID, Name: name, SecretHash: "hash-of-" + id, Perms: domain.PermRead}
	must(t, s.CreateAPIKey(ctx, k))
	return k
}

func lastUsed(t *testing.T, s *Store, userID int64) *time.Time {
	t.Helper()
	keys, err := s.APIKeys(ctx, userID)
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	return keys[0].LastUsed
}

// TestAPIKeyTouchAtMostOncePerMinute: a busy key costs one write a minute,
// across processes too, not one per request.
func TestAPIKeyTouchAtMostOncePerMinute(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t, d)
			a := openStore(t, dsn)
			must(t, a.Migrate(ctx))
			b := openStore(t, dsn) // a second process on the same database
			u := mkUser(t, a, "ann")
			mkKey(t, a, u, "0123456789abcdef", "ci")
			if got := lastUsed(t, a, u.ID); got != nil {
				t.Fatalf("last used %v before any use", got)
			}
			must(t, a.TouchAPIKey(ctx, "0123456789abcdef", t0))
			steps := []struct {
				store *Store
				at    time.Duration
				want  time.Duration
			}{
				{a, 30 * time.Second, 0},                    // within the minute: skipped in memory
				{b, 30 * time.Second, 0},                    // the other process: skipped by the update's condition
				{b, time.Minute, time.Minute},               // a minute on: recorded
				{a, time.Minute + time.Second, time.Minute}, // a remembers nothing so recent, the row does
			}
			for i, st := range steps {
				must(t, st.store.TouchAPIKey(ctx, "0123456789abcdef", t0.Add(st.at)))
				got := lastUsed(t, a, u.ID)
				if want := t0.Add(st.want); got == nil || !got.Equal(want) {
					t.Errorf("step %d: last used %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestAPIKeyStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		u := mkUser(t, s, "bo")
		other := mkUser(t, s, "cy")
		k := mkKey(t, s, u, "00000000000000aa", "ci")
		if k.CreateDate.IsZero() {
			t.Error("CreateDate not set")
		}
		wantKind(t, s.CreateAPIKey(ctx, &domain.APIKey{ID: "00000000000000ab", UserID: u.ID, Name: "ci", SecretHash: "h"}), domain.Conflict)
		mkKey(t, s, other, "00000000000000ac", "ci") // names are per user

		got, holder, err := s.APIKeyHolder(ctx, k.ID)
		must(t, err)
		if got.SecretHash != k.SecretHash || got.Perms != domain.PermRead || holder.Username != "bo" || holder.Perms != u.Perms {
			t.Errorf("holder %+v %+v", got, holder)
		}
		// Someone else's key is not one's own to delete.
		wantKind(t, s.DeleteAPIKey(ctx, other.ID, k.ID), domain.NotFound)
		// Permissions of the user are seen at once (the cache is forgotten).
		u.Perms = domain.PermList
		must(t, s.UpdateUser(ctx, u))
		if _, holder, _ = s.APIKeyHolder(ctx, k.ID); holder.Perms != domain.PermList {
			t.Errorf("user permissions %v after the update, want LIST", holder.Perms)
		}
		must(t, s.DeleteAPIKey(ctx, u.ID, k.ID))
		_, _, err = s.APIKeyHolder(ctx, k.ID)
		wantKind(t, err, domain.NotFound)
		// The user's other keys go with the user.
		mkKey(t, s, other, "00000000000000ad", "second")
		must(t, s.DeleteUser(ctx, "cy"))
		_, _, err = s.APIKeyHolder(ctx, "00000000000000ad")
		wantKind(t, err, domain.NotFound)
		wantKind(t, s.CreateAPIKey(ctx, &domain.APIKey{ID: "00000000000000ae", UserID: other.ID, Name: "late", SecretHash: "h"}), domain.NotFound)
	})
}

func TestAPIKeyLimitPerUser(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		u := mkUser(t, s, "dee")
		for i := range domain.MaxAPIKeysPerUser {
			id := "k" + time.Duration(i).String()
			must(t, s.CreateAPIKey(ctx, &domain.APIKey{ID: id, UserID: u.ID, Name: id, SecretHash: "h"}))
		}
		wantKind(t, s.CreateAPIKey(ctx, &domain.APIKey{ID: "one-too-many", UserID: u.ID, Name: "x", SecretHash: "h"}), domain.Conflict)
	})
}
