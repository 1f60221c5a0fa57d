package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Modes of everything Sachet keeps: content, metadata and the signing key
// are the server's alone, whatever the umask or an older version left.
const (
	privateFile = 0o600
	privateDir  = 0o700
)

// secureDataDir makes the data dir and everything in it private: directories
// 0700, files 0600, including ones that already exist. It creates the SQLite
// database file (empty, 0600) when it does not exist yet, because SQLite
// creates it with the umask's mode and gives its WAL and shared-memory
// files, created and deleted as it runs, the database file's mode. A data
// dir that was readable by others is logged, as it may have leaked already.
func secureDataDir(cfg Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, privateDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		err := os.Chmod(cfg.DataDir, privateDir)
		log.Warn("the data directory was readable by its group or others; what it held may have been read",
			"path", cfg.DataDir, "mode", fmt.Sprintf("%#o", m), "now", fmt.Sprintf("%#o", privateDir), "chmod_err", err)
	}
	if path := sqlitePath(cfg.Database); path != "" {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateFile)
		if err == nil {
			err = f.Close()
		} else if errors.Is(err, fs.ErrExist) {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("database file: %w", err)
		}
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			if err := chmodIf(path+suffix, privateFile); err != nil {
				return fmt.Errorf("database file: %w", err)
			}
		}
	}
	// The whole tree: blobs, the key, whatever else an operator or an older
	// version put there. A symlink is left alone (it is not ours to chmod).
	return filepath.WalkDir(cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while we walk (a finished upload's chunk)
				return nil
			}
			return err
		}
		switch {
		case p == cfg.DataDir:
			return nil
		case d.IsDir():
			return chmodIf(p, privateDir)
		case d.Type().IsRegular():
			return chmodIf(p, privateFile)
		}
		return nil
	})
}

// chmodIf sets path's permission bits to mode unless they are already, or
// it does not exist.
func chmodIf(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode || fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// sqlitePath is the database file of a "sqlite:<path>[?params]" DSN, or ""
// for MySQL.
func sqlitePath(dsn string) string {
	rest, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return ""
	}
	path, _, _ := strings.Cut(rest, "?")
	path = strings.TrimPrefix(path, "file:")
	if path == "" || path == ":memory:" {
		return ""
	}
	return path
}
