package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sachet-server/sachet/domain"
)

// class is what a driver error means to the store, whatever the dialect.
type class int

const (
	classOther       class = iota
	classUnique            // a UNIQUE or PRIMARY KEY constraint was violated
	classForeignKey        // a FOREIGN KEY constraint was violated, either side
	classRetry             // deadlock, lock wait timeout, SQLITE_BUSY: run the transaction again
	classUnavailable       // the database cannot be reached or used right now
	classFull              // the database's disk is full or read-only
)

// MySQL/MariaDB server error numbers the store reacts to.
const (
	myDupEntry         = 1062
	myDupEntryWithKey  = 1586
	myNoReferencedRow  = 1216
	myRowIsReferenced  = 1217
	myRowIsReferenced2 = 1451
	myNoReferencedRow2 = 1452
	myLockWaitTimeout  = 1205
	myDeadlock         = 1213
	myDiskFull         = 1021
	myRecordFileFull   = 1114
	myConCount         = 1040
	myDBAccessDenied   = 1044
	myAccessDenied     = 1045
	myBadDB            = 1049
	myServerShutdown   = 1053
	myOptionPrevents   = 1290 // e.g. --read-only on a replica after failover
	myReadOnlyMode     = 1836
	myConnKilled       = 1927 // MariaDB
	myQueryInterrupted = 1317
)

// classify reduces a driver error to a class. It looks through wrapping, so
// it also sees the cause of a *domain.Error.
func classify(err error) class {
	if err == nil {
		return classOther
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case myDupEntry, myDupEntryWithKey:
			return classUnique
		case myNoReferencedRow, myNoReferencedRow2, myRowIsReferenced, myRowIsReferenced2:
			return classForeignKey
		case myDeadlock, myLockWaitTimeout:
			return classRetry
		case myDiskFull, myRecordFileFull:
			return classFull
		case myConCount, myDBAccessDenied, myAccessDenied, myBadDB, myServerShutdown,
			myOptionPrevents, myReadOnlyMode, myConnKilled:
			return classUnavailable
		}
		return classOther
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return classUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return classForeignKey
		default:
			switch code & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
				return classRetry
			case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
				return classFull
			case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOTADB:
				return classUnavailable
			}
		}
		return classOther
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return classUnavailable
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return classUnavailable
	}
	// database/sql's "sql: database is closed" has no exported sentinel.
	if msg := err.Error(); strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "database is closed") {
		return classUnavailable
	}
	return classOther
}

// fail turns whatever a query returned into an error for the caller:
// domain errors pass through, driver errors become domain errors, so no
// caller ever has to know a driver type. op names the operation for logs.
func fail(err error, op string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Keeps the chain, so errors.Is(err, context.Canceled) still holds.
		return domain.Wrap(domain.Unavailable, err, "database request abandoned")
	}
	switch classify(err) {
	case classUnavailable:
		return domain.Wrap(domain.Unavailable, err, "database unavailable")
	case classRetry:
		// Only reached once the transaction's retries are used up.
		return domain.Wrap(domain.Unavailable, err, "database busy, try again")
	case classFull:
		return domain.Wrap(domain.InsufficientStorage, err, "database storage is full or read-only")
	}
	return domain.Wrap(domain.Internal, err, "db: %s", op)
}

// notFound maps sql.ErrNoRows to a NotFound error with msg, anything else
// through fail.
func notFound(err error, op, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.NotFound, format, args...)
	}
	return fail(err, op)
}
