// Package client is a thin convenience layer over Sachet's generated Go
// client (package gen, from openapi.yaml). It adds what the contract alone
// doesn't give a caller:
//
//   - token handling: Login keeps the token and every request sends it;
//   - chunked uploads of an io.Reader (Dropzone's protocol), each chunk
//     retried on network errors and 5xx answers;
//   - downloads to an io.Writer that resume with Range (and If-Range, so a
//     replaced content is never spliced onto the old one) when the
//     connection drops, or from an offset the caller already has.
//
// For everything else, API returns the generated client; it sends the
// token too:
//
//	c, _ := client.New("http://127.0.0.1:5000")
//	if _, err := c.Login(ctx, "alice", "pw"); err != nil { ... }
//	r, err := c.API().GetShareWithResponse(ctx, id)
//	// r.JSON200 is a *gen.Share
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sachet-server/sachet/gen"
)

// Client talks to one Sachet server as one caller. It is safe for
// concurrent use.
type Client struct {
	api     *gen.ClientWithResponses
	hc      gen.HttpRequestDoer
	retries int
	backoff time.Duration

	mu    sync.RWMutex
	token string
}

// Option configures a Client.
type Option func(*Client) error

// WithHTTPClient sends requests through hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithToken starts with a token, e.g. one kept from an earlier Login.
func WithToken(token string) Option {
	return func(c *Client) error { c.token = token; return nil }
}

// WithRetries sets how often a chunk upload or an interrupted download is
// retried (default 3), waiting backoff, then twice that, and so on, between
// tries (default 200ms).
func WithRetries(retries int, backoff time.Duration) Option {
	return func(c *Client) error {
		if retries < 0 || backoff < 0 {
			return errors.New("client: negative retries or backoff")
		}
		c.retries, c.backoff = retries, backoff
		return nil
	}
}

// New returns a client for the server at baseURL, e.g.
// "http://127.0.0.1:5000".
func New(baseURL string, opts ...Option) (*Client, error) {
	c := &Client{hc: http.DefaultClient, retries: 3, backoff: 200 * time.Millisecond}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	api, err := gen.NewClientWithResponses(strings.TrimRight(baseURL, "/"),
		gen.WithHTTPClient(c.hc), gen.WithRequestEditorFn(c.authorize))
	if err != nil {
		return nil, err
	}
	c.api = api
	return c, nil
}

// API is the generated client. It sends the current token.
func (c *Client) API() *gen.ClientWithResponses { return c.api }

// Token is the current token; "" when anonymous.
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken replaces the token; "" makes the client anonymous.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

func (c *Client) authorize(_ context.Context, req *http.Request) error {
	if t := c.Token(); t != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	return nil
}

// Login signs in, keeps the token for later requests and returns it.
func (c *Client) Login(ctx context.Context, username, password string) (string, error) {
	r, err := c.api.LoginWithResponse(ctx, gen.LoginJSONRequestBody{Username: username, Password: password})
	if err != nil {
		return "", err
	}
	if r.JSON200 == nil {
		return "", apiError(r.HTTPResponse, r.Body)
	}
	c.SetToken(r.JSON200.AuthToken)
	return r.JSON200.AuthToken, nil
}

// Logout revokes the current token and forgets it.
func (c *Client) Logout(ctx context.Context) error {
	t := c.Token()
	if t == "" {
		return nil
	}
	r, err := c.api.LogoutWithResponse(ctx, gen.LogoutJSONRequestBody{Token: t})
	if err != nil {
		return err
	}
	if r.StatusCode() != http.StatusOK {
		return apiError(r.HTTPResponse, r.Body)
	}
	c.SetToken("")
	return nil
}

// Whoami is the caller as the server sees it, with its permissions.
func (c *Client) Whoami(ctx context.Context) (*gen.Whoami, error) {
	r, err := c.api.WhoamiWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	if r.JSON200 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON200, nil
}

// CreateShare creates an empty share and returns its id. An empty
// fileName lets the server name it after its id.
func (c *Client) CreateShare(ctx context.Context, fileName string) (string, error) {
	var body gen.CreateShareJSONRequestBody
	if fileName != "" {
		body.FileName = &fileName
	}
	r, err := c.api.CreateShareWithResponse(ctx, body)
	if err != nil {
		return "", err
	}
	if r.JSON201 == nil {
		return "", apiError(r.HTTPResponse, r.Body)
	}
	return ShareID(r.JSON201.Url), nil
}

// Share reads a share's metadata.
func (c *Client) Share(ctx context.Context, shareID string) (*gen.Share, error) {
	r, err := c.api.GetShareWithResponse(ctx, shareID)
	if err != nil {
		return nil, err
	}
	if r.JSON200 == nil {
		return nil, apiError(r.HTTPResponse, r.Body)
	}
	return r.JSON200, nil
}

// ShareID is the id at the end of a share's url ("/files/<id>").
func ShareID(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// Error is an error answer from the API.
type Error struct {
	Status  int    // HTTP status
	Message string // the server's message
}

func (e *Error) Error() string { return fmt.Sprintf("sachet: %d %s", e.Status, e.Message) }

// StatusOf is the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func apiError(resp *http.Response, body []byte) error {
	if resp == nil {
		return errors.New("sachet: no response")
	}
	e := &Error{Status: resp.StatusCode}
	var env gen.Error
	if json.Unmarshal(body, &env) == nil && env.Message != "" {
		e.Message = env.Message
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
