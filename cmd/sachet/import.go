package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/importer"
)

// importFlags are `sachet import`'s own flags; the logic is in package
// importer.
type importFlags struct {
	files    *string
	timezone *string
	dryRun   *bool
	src      string
}

func (f *importFlags) bind(fs *flag.FlagSet) {
	f.files = fs.String("files", "", "the Python Sachet's storage folder (its SACHET_FILE_DIR, or the files/ folder in it)")
	f.timezone = fs.String("timezone", "", "the zone of the old server's naive timestamps, e.g. Europe/Paris (default: this machine's)")
	f.dryRun = fs.Bool("dry-run", false, "read everything and say what would be done, writing nothing")
}

// source takes the one positional argument, parsing flags that follow it.
// source takes the one positional argument, which may stand before or
// after the flags (sachet import DB --files DIR).
func (f *importFlags) source(pos []string) error {
	if len(pos) != 1 {
		return errors.New("import needs exactly one source: the Python Sachet's SQLite file or MySQL DSN (mysql:user:pw@tcp(host:3306)/db)")
	}
	f.src = pos[0]
	if *f.files == "" {
		return errors.New("import needs --files: the Python Sachet's storage folder")
	}
	return nil
}

func (f *importFlags) run(ctx context.Context, a *app.App, staleAfter time.Duration, stdout, stderr io.Writer) error {
	loc := time.Local
	if *f.timezone != "" {
		var err error
		if loc, err = time.LoadLocation(*f.timezone); err != nil {
			return fmt.Errorf("--timezone: unknown zone %q", *f.timezone)
		}
	}
	files, filesName, err := importer.OpenFiles(*f.files)
	if err != nil {
		return err
	}
	src, err := importer.OpenSource(ctx, f.src)
	if err != nil {
		return err
	}
	defer src.Close()
	rep, err := importer.Run(ctx, src, a.Store, importer.StoreBlobs{Store: a.Blobs}, importer.Options{
		Files: files, FilesName: filesName, Location: loc, DryRun: *f.dryRun,
		Out: stdout, Progress: stderr, StaleAfter: staleAfter,
	})
	if err != nil {
		return fmt.Errorf("import stopped: %w", err)
	}
	switch n := len(rep.Problems); n {
	case 0:
		return nil
	case 1:
		return errors.New("import: 1 problem (listed above)")
	default:
		return fmt.Errorf("import: %d problems (listed above)", n)
	}
}
