package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sachet-server/sachet/importer/pyfixture"
)

// TestImportCommand runs `sachet import` as the binary does, on the
// Python fixture: flags before or after the source, the exit error when
// there were problems, usage errors.
func TestImportCommand(t *testing.T) {
	fx := pyfixture.New()
	if err := fx.Write(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	env := map[string]string{"SACHET_DATA_DIR": dataDir, "SACHET_BCRYPT_COST": "4"}
	getenv := func(k string) string { return env[k] }
	sachet := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--files", fx.FilesDir}, "exactly one source"},
		{[]string{"import", fx.DB}, "needs --files"},
		{[]string{"import", "--files", fx.FilesDir, fx.DB, "other.db"}, "exactly one source"},
		{[]string{"import", "--files", fx.FilesDir, "--timezone", "Mars/Olympus", fx.DB}, `unknown zone "Mars/Olympus"`},
		{[]string{"import", "--files", filepath.Join(fx.FilesDir, "nope"), fx.DB}, "--files"},
		{[]string{"import", "--files", fx.FilesDir, filepath.Join(t.TempDir(), "none.db")}, "no such file"},
		{[]string{"import", "--files", fx.FilesDir, "postgresql://u@h/db"}, "only SQLite and MySQL"},
	} {
		if _, _, err := sachet(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}

	out, _, err := sachet("import", "--dry-run", "--files", fx.FilesDir, fx.DB, "--timezone", "UTC")
	if err == nil || err.Error() != "import: 1 problem (listed above)" || !strings.Contains(out, "Dry run, nothing written") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, progress, err := sachet("import", fx.DB, "--files", fx.FilesDir, "--timezone", "UTC")
	if err == nil || !strings.Contains(out, "users:  4 new") || !strings.Contains(out, "shares: 8 new (3 of them without content)") ||
		!strings.Contains(progress, "import: shares 8/8") {
		t.Fatalf("import: %v\n%s\n%s", err, out, progress)
	}
	out, _, err = sachet("import", fx.DB, "--files", fx.FilesDir, "--timezone", "UTC")
	if err == nil || !strings.Contains(out, "users:  0 new, 4 already here") || !strings.Contains(out, "8 already here") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
}
