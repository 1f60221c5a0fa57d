package client

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sachet-server/sachet/gen"
)

// LinkOptions are a new share link's optional limits. Zero values mean
// none.
type LinkOptions struct {
	Label        string
	ExpiresAt    time.Time
	MaxDownloads int64
	Password     string // sent to the server once, kept there as a hash
}

// CreateLink makes a public link to the share (its owner or an ADMIN) and
// returns it with its token, which the server shows only this once. The
// link's public path is the answer's Url ("/links/<token>").
func (c *Client) CreateLink(ctx context.Context, shareID string, o LinkOptions) (*gen.LinkCreated, error) {
	var body gen.LinkCreate
	if o.Label != "" {
		body.Label = &o.Label
	}
	if !o.ExpiresAt.IsZero() {
		t := o.ExpiresAt.UTC()
		body.ExpiresAt = &t
	}
	if o.MaxDownloads > 0 {
		body.MaxDownloads = &o.MaxDownloads
	}
	if o.Password != "" {
		body.Password = &o.Password
	}
	r, err := c.api.CreateShareLinkWithResponse(ctx, shareID, body)
	if err != nil {
		return nil, err
	}
	if r.JSON201 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON201, nil
}

// Links lists the share's links, revoked ones included, newest first.
func (c *Client) Links(ctx context.Context, shareID string) ([]gen.Link, error) {
	r, err := c.api.ListShareLinksWithResponse(ctx, shareID)
	if err != nil {
		return nil, err
	}
	if r.JSON200 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON200.Data, nil
}

// RevokeLink ends one of the share's links: it answers 410 from then on.
func (c *Client) RevokeLink(ctx context.Context, shareID, linkID string) error {
	r, err := c.api.RevokeShareLinkWithResponse(ctx, shareID, linkID)
	if err != nil {
		return err
	}
	if r.StatusCode() != http.StatusOK {
		return apiError(r.HTTPResponse, r.Body)
	}
	return nil
}

// LinkInfo is what the link with token serves (name, size, expiry,
// downloads left), as anyone holding the token sees it; password is ""
// for a link without one. A revoked, expired or used-up link is an
// *Error with Status 410.
func (c *Client) LinkInfo(ctx context.Context, token, password string) (*gen.LinkInfo, error) {
	var params gen.GetLinkParams
	if password != "" {
		params.XSachetLinkPassword = &password
	}
	r, err := c.api.GetLinkWithResponse(ctx, token, &params)
	if err != nil {
		return nil, err
	}
	if r.JSON200 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON200, nil
}

// LinkToken is the token at the end of a link's url or path
// (".../links/<token>", optionally followed by "/content").
func LinkToken(url string) string {
	url = strings.TrimSuffix(strings.TrimSuffix(url, "/"), "/content")
	return url[strings.LastIndexByte(url, '/')+1:]
}
