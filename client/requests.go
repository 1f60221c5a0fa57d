package client

import (
	"context"
	"io"

	"github.com/sachet-server/sachet/gen"
)

// CreateUploadRequest makes an upload request: a link through which
// anyone uploads files into new shares owned by the caller, within the
// limits in r. The answer's Token (and UploadUrl) is shown only this once.
func (c *Client) CreateUploadRequest(ctx context.Context, r gen.UploadRequestCreate) (*gen.UploadRequestCreated, error) {
	resp, err := c.api.CreateUploadRequestWithResponse(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.JSON201 == nil {
		return nil, apiError(resp.HTTPResponse, resp.Body)
	}
	return resp.JSON201, nil
}

// RevokeUploadRequest ends an upload request's link.
func (c *Client) RevokeUploadRequest(ctx context.Context, requestID string) error {
	resp, err := c.api.RevokeUploadRequestWithResponse(ctx, requestID)
	if err != nil {
		return err
	}
	if resp.JSON200 == nil {
		return apiError(resp.HTTPResponse, resp.Body)
	}
	return nil
}

// UploadToRequest uploads size bytes from r as a new file through the
// upload request whose token is token (no account needed), and returns
// the new share's id. opts as for Upload (Replace does not apply).
func (c *Client) UploadToRequest(ctx context.Context, token, fileName string, r io.Reader, size int64, opts *UploadOptions) (string, error) {
	var body gen.CreateRequestFileJSONRequestBody
	if fileName != "" {
		body.FileName = &fileName
	}
	resp, err := c.api.CreateRequestFileWithResponse(ctx, token, body)
	if err != nil {
		return "", err
	}
	if resp.JSON201 == nil {
		return "", apiError(resp.HTTPResponse, resp.Body)
	}
	id := ShareID(resp.JSON201.Url)
	var o UploadOptions
	if opts != nil {
		o = *opts
	}
	o.Replace, o.requestToken = false, token
	return id, c.Upload(ctx, id, r, size, &o)
}
