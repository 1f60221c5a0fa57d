package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sachet-server/sachet/domain"
)

// kindStatus maps each error kind to its status, once for the whole server.
var kindStatus = map[domain.Kind]int{
	domain.Internal:            http.StatusInternalServerError,
	domain.Invalid:             http.StatusBadRequest,
	domain.Unauthorized:        http.StatusUnauthorized,
	domain.Forbidden:           http.StatusForbidden,
	domain.NotFound:            http.StatusNotFound,
	domain.Conflict:            http.StatusConflict,
	domain.TooLarge:            http.StatusRequestEntityTooLarge,
	domain.Locked:              http.StatusLocked,
	domain.TooManyRequests:     http.StatusTooManyRequests,
	domain.Unavailable:         http.StatusServiceUnavailable,
	domain.InsufficientStorage: http.StatusInsufficientStorage,
	domain.UnsupportedType:     http.StatusUnsupportedMediaType,
	domain.Gone:                http.StatusGone,
}

// envelope is the body of every error response.
type envelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// RetryAfter is an error that also asks the client to wait.
type RetryAfter interface{ RetryAfterSeconds() int }

// errorHandler writes err as the JSON envelope. Messages of domain errors
// and of echo's own errors are shown; anything else is logged and answered
// with a generic 500, so internals never leak.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := statusAndMessage(err)
		if status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method, "path", c.Path(), "status", status, "err", err)
		}
		var ra RetryAfter
		if errors.As(err, &ra) {
			c.Response().Header().Set("Retry-After", fmt.Sprint(ra.RetryAfterSeconds()))
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, envelope{Status: "fail", Message: msg})
		}
		if err != nil {
			log.WarnContext(c.Request().Context(), "writing error response", "err", err)
		}
	}
}

func statusAndMessage(err error) (int, string) {
	var de *domain.Error
	if errors.As(err, &de) {
		return kindStatus[de.Kind], de.Message
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code, echoMessage(he)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the %d-byte limit", mbe.Limit)
	}
	return http.StatusInternalServerError, "Internal server error."
}

// echoMessage turns echo's terse errors (routing, binding) into sentences.
func echoMessage(he *echo.HTTPError) string {
	switch he.Code {
	case http.StatusNotFound:
		return "No such route."
	case http.StatusMethodNotAllowed:
		return "Method not allowed on this route."
	case http.StatusRequestEntityTooLarge:
		return "Request body too large."
	}
	if he.Code == http.StatusBadRequest {
		// Binder errors: say it is the body, and why, without Go internals.
		if he.Internal != nil {
			var ute interface{ Error() string }
			if errors.As(he.Internal, &ute) {
				return "invalid request body: " + fmt.Sprint(he.Message)
			}
		}
	}
	if s, ok := he.Message.(string); ok && s != "" {
		return s
	}
	return http.StatusText(he.Code)
}
