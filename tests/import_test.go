package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/importer"
	"github.com/sachet-server/sachet/importer/pyfixture"
)

// TestImportFromPython imports a Python Sachet (its SQLite database and
// storage folder, in the old formats) into a running server on each
// database, and checks through the API what came across: old passwords,
// permissions, registration dates, anonymous permissions, every share's
// metadata and bytes. A dry run before changes nothing, a rerun changes
// nothing, and a rerun after the missing file is restored adds its content.
func TestImportFromPython(t *testing.T) {
	eachDB(t, func(t *testing.T, s *server) {
		ctx := context.Background()
		fx := pyfixture.New()
		if err := fx.Write(t.TempDir()); err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		src, err := importer.OpenSource(ctx, fx.DB)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		files, filesName, err := importer.OpenFiles(fx.FilesDir)
		if err != nil {
			t.Fatal(err)
		}
		run := func(dry bool) (*importer.Report, string) {
			t.Helper()
			var out, prog bytes.Buffer
			rep, err := importer.Run(ctx, src, s.App.Store, importer.StoreBlobs{Store: s.App.Blobs}, importer.Options{
				Files: files, FilesName: filesName, Location: loc, DryRun: dry, Out: &out, Progress: &prog,
			})
			if err != nil {
				t.Fatalf("import: %v\n%s", err, out.String())
			}
			if !strings.Contains(prog.String(), "import: shares 8/8") {
				t.Errorf("progress = %q, want a final line", prog.String())
			}
			return rep, out.String()
		}
		missing := fx.Shares[4]
		if !missing.Missing {
			t.Fatal("fixture changed: share 4 should be the one with a missing file")
		}

		before := snapshot(t, s)
		rep, out := run(true)
		if rep.UsersImported != 4 || rep.SharesImported != 8 || rep.SharesUninitialized != 3 || len(rep.Problems) != 1 {
			t.Errorf("dry run report = %+v\n%s", rep, out)
		}
		if after := snapshot(t, s); after != before {
			t.Fatalf("the dry run changed something:\nbefore %s\nafter  %s", before, after)
		}

		rep, out = run(false)
		var wantBytes int64
		for _, sh := range fx.Shares {
			wantBytes += int64(len(sh.Content))
		}
		if rep.UsersImported != 4 || rep.SharesImported != 8 || rep.SharesUninitialized != 3 || rep.Bytes != wantBytes ||
			rep.UsersRefused+rep.SharesRefused != 0 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], missing.ID+" is missing") {
			t.Fatalf("report = %+v\n%s", rep, out)
		}
		t.Logf("import output:\n%s", out)

		// Users: old passwords, permissions, registration dates.
		for _, u := range fx.Users {
			tok := s.login(u.Name, u.Password)
			who := expect(t, s.req("GET", "/whoami", tok, nil), 200).JSON(t)
			if who["username"] != u.Name || !sameCodes(who["permissions"], domain.Perm(u.Perms).Codes()) {
				t.Errorf("whoami as %s = %v, want permissions %v", u.Name, who, domain.Perm(u.Perms).Codes())
			}
			got := expect(t, s.req("GET", "/users/"+u.Name, s.admin, nil), 200).JSON(t)
			if want := naiveUTC(t, u.RegisterDate, loc); !sameTime(got["register_date"], want) {
				t.Errorf("%s register_date = %v, want %s", u.Name, got["register_date"], want)
			}
			expect(t, s.req("POST", "/users/login", "", map[string]string{"username": u.Name, "password": u.Password + "x"}), 401)
		}

		// Anonymous permissions.
		who := expect(t, s.req("GET", "/whoami", "", nil), 200).JSON(t)
		if who["username"] != nil || !sameCodes(who["permissions"], domain.Perm(fx.AnonPerms).Codes()) {
			t.Errorf("anonymous whoami = %v, want %v", who, domain.Perm(fx.AnonPerms).Codes())
		}
		settings := expect(t, s.req("GET", "/admin/settings", s.admin, nil), 200).JSON(t)
		if !sameCodes(settings["default_permissions"], domain.Perm(fx.AnonPerms).Codes()) {
			t.Errorf("settings = %v", settings)
		}

		// Shares: metadata and bytes.
		for _, sh := range fx.Shares {
			checkImportedShare(t, s, sh, loc, sh.Initialized && !sh.Missing)
		}

		// Cleanup keeps the shares imported without content (their old
		// creation dates are long past the stale age) so that their files
		// can still be restored: the stale age counts from the import.
		if _, err := s.App.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		for _, sh := range fx.Shares {
			checkImportedShare(t, s, sh, loc, sh.Initialized && !sh.Missing)
		}

		// A rerun changes nothing and says the one problem again.
		before = snapshot(t, s)
		rep, out = run(false)
		if rep.UsersPresent != 4 || rep.SharesPresent != 8 || rep.UsersImported+rep.SharesImported+rep.SharesFilled != 0 ||
			rep.Bytes != 0 || len(rep.Problems) != 1 {
			t.Errorf("rerun report = %+v\n%s", rep, out)
		}
		if after := snapshot(t, s); after != before {
			t.Fatalf("the rerun changed something:\nbefore %s\nafter  %s", before, after)
		}

		// The missing file comes back: the next run adds it, and no problem is left.
		content := []byte("%PDF-1.4 found it after all\n")
		if err := os.WriteFile(filepath.Join(fx.FilesDir, "files", missing.ID), content, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, out = run(false)
		if rep.SharesFilled != 1 || rep.SharesPresent != 7 || rep.Bytes != int64(len(content)) || len(rep.Problems) != 0 {
			t.Errorf("run after restoring the file: %+v\n%s", rep, out)
		}
		missing.Content, missing.Missing = content, false
		checkImportedShare(t, s, missing, loc, true)
		rep, out = run(false)
		if rep.SharesPresent != 8 || len(rep.Problems) != 0 {
			t.Errorf("last rerun: %+v\n%s", rep, out)
		}
	})
}

// checkImportedShare compares share sh as the API serves it with the old one.
func checkImportedShare(t *testing.T, s *server, sh pyfixture.Share, loc *time.Location, withContent bool) {
	t.Helper()
	got := expect(t, s.req("GET", "/files/"+sh.ID, s.admin, nil), 200).JSON(t)
	var owner any
	if sh.Owner != nil {
		owner = *sh.Owner
	}
	want := map[string]any{
		"share_id": sh.ID, "file_name": sh.FileName, "owner_name": owner, "locked": sh.Locked,
		"initialized": withContent, "size": nil, "sha256": nil,
	}
	if want := naiveUTC(t, sh.CreateDate, loc); !sameTime(got["create_date"], want) {
		t.Errorf("share %s: create_date = %v, want %s", sh.ID, got["create_date"], want)
	}
	if withContent {
		sum := sha256.Sum256(sh.Content)
		want["size"], want["sha256"] = float64(len(sh.Content)), hex.EncodeToString(sum[:])
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("share %s: %s = %#v, want %#v", sh.ID, k, got[k], v)
		}
	}
	r := s.content(sh.ID, s.admin)
	if !withContent {
		expect(t, r, 404)
		return
	}
	expect(t, r, 200)
	if !bytes.Equal(r.Body, sh.Content) {
		t.Errorf("share %s: content differs (%d bytes, want %d)", sh.ID, len(r.Body), len(sh.Content))
	}
}

// naiveUTC is the instant of the old naive local time.
func naiveUTC(t *testing.T, naive string, loc *time.Location) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05.999999", naive, loc)
	if err != nil {
		t.Fatalf("bad fixture date %q", naive)
	}
	return v
}

// sameTime reports whether the API's date (RFC 3339, UTC) is want.
func sameTime(got any, want time.Time) bool {
	s, _ := got.(string)
	v, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && strings.HasSuffix(s, "Z") && v.Equal(want)
}

func sameCodes(got any, want []string) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != want[i] {
			return false
		}
	}
	return true
}

// snapshot is everything an import could change, as the API and the
// blob directory show it.
func snapshot(t *testing.T, s *server) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/users?per_page=100", "/files?per_page=100", "/admin/settings"} {
		b.Write(expect(t, s.req("GET", path, s.admin, nil), 200).Body)
	}
	// What the store holds: the files under blobs/, or on S3 the bucket
	// under the server's prefix (s3Listing).
	var names []string
	if onS3() {
		for _, sub := range []string{"blobs", "chunks", "assembly"} {
			l, _ := s3Listing(t, s.Cfg.Storage, s.Cfg.S3Endpoint, sub)
			for _, n := range l {
				names = append(names, sub+"/"+n)
			}
		}
	} else if err := filepath.Walk(filepath.Join(s.Cfg.DataDir, "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			names = append(names, strings.TrimPrefix(p, s.Cfg.DataDir))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	j, _ := json.Marshal(names)
	b.Write(j)
	return b.String()
}
