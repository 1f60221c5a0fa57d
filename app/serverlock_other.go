//go:build !unix

package app

// lockSQLiteServer has no portable equivalent of flock(2) here: running a
// second server on one SQLite file is left to the operator to avoid.
func lockSQLiteServer(string) (func(), error) { return func() {}, nil }
