//go:build unix

package app

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// lockSQLiteServer makes sure only one `sachet serve` uses a SQLite
// database file. Several servers on one SQLite file are not safe: an
// upload's completion claim and append lease tell a live holder from a
// dead one by the holder's MySQL session, which SQLite has no equivalent
// of, so one server would take the other's live claims for abandoned ones.
// The one-shot commands (user create, cleanup, migrate) do not take this
// lock and may run beside a server, as on MySQL.
//
// The lock is flock(2) on a file next to the database: the kernel drops it
// when the process dies, however it dies, so a crash never leaves a stale
// lock behind. release undoes it.
func lockSQLiteServer(database string) (release func(), err error) {
	path, ok := strings.CutPrefix(database, "sqlite:")
	if !ok {
		return func() {}, nil
	}
	path, _, _ = strings.Cut(path, "?")
	lockPath := path + ".serve-lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("SQLite server lock %s: %w", lockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sachet serve is already using the SQLite database %s: "+
				"SQLite is for a single server; to run several, give them one MySQL/MariaDB database (SACHET_DATABASE=mysql:...)", path)
		}
		return nil, fmt.Errorf("SQLite server lock %s: %w", lockPath, err)
	}
	return func() { f.Close() }, nil // closing the file drops the lock
}
