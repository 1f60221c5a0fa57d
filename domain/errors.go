package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the client. The HTTP layer maps each kind
// to one status code, once; everything else is an internal error whose
// text never reaches a client.
type Kind int

const (
	Internal            Kind = iota // a bug or an unexpected failure (500)
	Invalid                         // the request is malformed (400)
	Unauthorized                    // authentication failed (401)
	Forbidden                       // authenticated but not allowed (403)
	NotFound                        // the addressed resource does not exist (404)
	Conflict                        // the resource's state forbids it: duplicate, still referenced (409)
	TooLarge                        // a size limit was exceeded (413)
	Locked                          // the share is locked, or in the wrong content state (423)
	TooManyRequests                 // throttled (429)
	Unavailable                     // a dependency such as the database is down (503)
	InsufficientStorage             // the disk is full or read-only (507)
	UnsupportedType                 // a request body of a media type the route does not take (415)
	Gone                            // the resource existed but no longer serves: expired, revoked or exhausted (410)
)

// Error is an error with a Kind and a message meant for the client.
type Error struct {
	Kind    Kind
	Message string
	Err     error // optional cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind with a client-facing message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error of the given kind that keeps err as its cause.
func Wrap(kind Kind, err error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err's kind is k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message returns the client-facing message of err, or "" when err is not
// an *Error (its text must then not be shown).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
