package api

import (
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sachet-server/sachet/api/mpguard"
	"github.com/sachet-server/sachet/domain"
)

// guardMultipart bounds every multipart body's part headers and part count
// (mpguard) before mime/multipart, which the generated handler creates,
// can buffer them. The body is only read by the handler, after the checks
// that come first (401, 403, 404, 423); when it then broke a bound, the
// handler's error, whatever it says (a parse error, an interrupted
// upload), becomes a 400 naming the bound.
func guardMultipart(lim mpguard.Limits) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || !strings.HasPrefix(mt, "multipart/") {
				return next(c) // not multipart: mime/multipart refuses it itself
			}
			g := mpguard.NewReader(r.Body, params["boundary"], lim)
			r.Body = guardedBody{Reader: g, Closer: r.Body}
			err = next(c)
			if gerr := g.Err(); err != nil && gerr != nil {
				return domain.Wrap(domain.Invalid, err, "%s", gerr.Error())
			}
			return err
		}
	}
}

type guardedBody struct {
	io.Reader
	io.Closer
}
