package domain

// RetryLater is an error that also asks the client to wait Seconds before
// trying again (the HTTP layer sends Retry-After).
type RetryLater struct {
	Err     *Error
	Seconds int
}

func (e *RetryLater) Error() string { return e.Err.Error() }

// Unwrap returns the *Error, so KindOf and Message see it.
func (e *RetryLater) Unwrap() error { return e.Err }

// RetryAfterSeconds is the wait the client is asked for.
func (e *RetryLater) RetryAfterSeconds() int { return e.Seconds }

// OutOfFiles is the error for a file the process could not open because
// it holds as many descriptors as it may (EMFILE) or the system does
// (ENFILE): every connection and download in flight holds one, so this is
// load, gone when some finish — 503 with Retry-After, never 500.
func OutOfFiles(err error) error {
	return &RetryLater{
		Err:     &Error{Kind: Unavailable, Message: "The server has too many files open; try again shortly.", Err: err},
		Seconds: 1,
	}
}
