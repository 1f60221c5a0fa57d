package db

import (
	"strings"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
)

func TestImportUser(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		// A date in the past, with a zone and nanoseconds: kept as UTC microseconds.
		date := time.Date(2023, 5, 8, 18, 57, 27, 982479123, time.FixedZone("x", 2*3600))
		u := &domain.User{Username: "alice", PasswordHash: "$2b$04$abcdefghijklmnopqrstuv", Perms: domain.PermRead | domain.PermList, RegisterDate: date}
		must(t, s.ImportUser(ctx, u))
		if u.ID == 0 {
			t.Fatal("ID not set")
		}
		got, err := s.UserByName(ctx, "alice")
		must(t, err)
		want := time.Date(2023, 5, 8, 16, 57, 27, 982479000, time.UTC)
		if !got.RegisterDate.Equal(want) || got.RegisterDate.Location() != time.UTC {
			t.Errorf("register date = %v, want %v", got.RegisterDate, want)
		}
		if got.PasswordHash != u.PasswordHash || got.Perms != u.Perms || got.ID != u.ID {
			t.Errorf("got %+v, want %+v", got, u)
		}
		// Users list in registration order: the imported date counts.
		mkUser(t, s, "zed")
		list, _, err := s.ListUsers(ctx, 10, 0)
		must(t, err)
		if len(list) != 2 || list[0].Username != "alice" {
			t.Errorf("list = %+v, want alice first", list)
		}

		wantKind(t, s.ImportUser(ctx, &domain.User{Username: "alice", PasswordHash: "x", RegisterDate: date}), domain.Conflict)
		wantKind(t, s.ImportUser(ctx, &domain.User{Username: strings.Repeat("a", 65), RegisterDate: date}), domain.Invalid)
		wantKind(t, s.ImportUser(ctx, &domain.User{Username: "b", PasswordHash: strings.Repeat("h", 256), RegisterDate: date}), domain.Invalid)
	})
}

func TestImportShare(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		s.SetCacheTTL(time.Minute) // the list cache must see the import
		mkUser(t, s, "alice")
		newer := mkShare(t, s, 1, nil) // created now
		if _, _, err := s.ListShares(ctx, 10, 0); err != nil {
			t.Fatal(err)
		}

		created := time.Date(2023, 5, 20, 23, 5, 31, 546561999, time.UTC)
		mod := time.Date(2023, 5, 21, 1, 2, 3, 4000, time.UTC)
		withContent := &domain.Share{
			ID: shareID(2), FileName: "notes.txt", Owner: ptr("alice"), Initialized: true, Locked: true,
			CreateDate: created, Size: ptr(int64(5)), SHA256: ptr(strings.Repeat("a", 64)), BlobID: ptr("blob2"), ModifiedAt: &mod,
		}
		must(t, s.ImportShare(ctx, withContent))
		empty := &domain.Share{ID: shareID(3), FileName: "later.bin", CreateDate: created.Add(time.Second)}
		must(t, s.ImportShare(ctx, empty))

		got, err := s.ShareByID(ctx, shareID(2))
		must(t, err)
		if !got.CreateDate.Equal(created.Truncate(time.Microsecond)) || !got.Locked || !got.Initialized ||
			*got.Owner != "alice" || *got.Size != 5 || *got.BlobID != "blob2" || !got.ModifiedAt.Equal(mod) {
			t.Errorf("got %+v", got)
		}
		list, total, err := s.ListShares(ctx, 10, 0)
		must(t, err)
		if total != 3 || list[0].ID != shareID(2) || list[1].ID != shareID(3) || list[2].ID != newer.ID {
			t.Errorf("list = %v (total %d), want imported shares first in creation order", list, total)
		}

		for name, sh := range map[string]*domain.Share{
			"duplicate":            {ID: shareID(2), FileName: "x", CreateDate: created},
			"no such owner":        {ID: shareID(4), FileName: "x", Owner: ptr("nobody"), CreateDate: created},
			"content without blob": {ID: shareID(5), FileName: "x", Initialized: true, CreateDate: created},
		} {
			err := s.ImportShare(ctx, sh)
			want := map[string]domain.Kind{"duplicate": domain.Conflict, "no such owner": domain.Invalid, "content without blob": domain.Invalid}[name]
			if domain.KindOf(err) != want {
				t.Errorf("%s: err = %v, want kind %v", name, err, want)
			}
		}

		// Content for the empty one, once; never for one that has content.
		blob := domain.Blob{ID: "blob3", Size: 7, SHA256: strings.Repeat("b", 64)}
		must(t, s.FillImportedContent(ctx, shareID(3), blob, mod))
		got, err = s.ShareByID(ctx, shareID(3))
		must(t, err)
		if !got.Initialized || *got.BlobID != "blob3" || *got.Size != 7 || *got.SHA256 != blob.SHA256 || !got.ModifiedAt.Equal(mod) {
			t.Errorf("after fill: %+v", got)
		}
		wantKind(t, s.FillImportedContent(ctx, shareID(3), blob, mod), domain.Conflict)
		wantKind(t, s.FillImportedContent(ctx, shareID(2), blob, mod), domain.Conflict)
		wantKind(t, s.FillImportedContent(ctx, shareID(9), blob, mod), domain.NotFound)
	})
}
