package impl

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/auth"
	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type linkStore interface {
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	CreateLink(ctx context.Context, l *domain.Link) error
	ShareLinks(ctx context.Context, shareID string) ([]domain.Link, error)
	LinkByTokenHash(ctx context.Context, hash string) (*domain.Link, error)
	RevokeLink(ctx context.Context, shareID, linkID string, now time.Time) error
	ClaimLinkDownload(ctx context.Context, l *domain.Link, now time.Time) error
}

// passwordHasher hashes and checks link passwords as user passwords are
// (auth.Passwords: bcrypt on a bounded worker pool).
type passwordHasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Check(ctx context.Context, hash, pw string) (bool, error)
}

// Links manages share links and serves what they point at.
type Links struct {
	store     linkStore
	content   *Content // the content route's download path, shared
	passwords passwordHasher
	throttle  *auth.Throttle
	trusted   []netip.Prefix
	now       func() time.Time
}

// NewLinks returns the link handlers. Downloads go through content's
// code path; wrong link passwords are charged to throttle like failed
// sign-ins (nil: not throttled), the client address read as for sign-ins.
func NewLinks(store linkStore, content *Content, passwords passwordHasher, throttle *auth.Throttle, trusted []netip.Prefix) *Links {
	return &Links{store: store, content: content, passwords: passwords, throttle: throttle, trusted: trusted, now: time.Now}
}

// A token is 24 random bytes in unpadded base64url: 32 URL-safe
// characters, 192 bits. Only its SHA-256 is stored.
const (
	linkTokenBytes = 24
	linkTokenLen   = 32
	linkIDBytes    = 8
)

func newLinkToken() (id, token, hash string, err error) {
	var raw [linkIDBytes + linkTokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", "", err
	}
	id = hex.EncodeToString(raw[:linkIDBytes])
	token = base64.RawURLEncoding.EncodeToString(raw[linkIDBytes:])
	return id, token, hashLinkToken(token), nil
}

func hashLinkToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether s can be a token, so that anything else
// is 404 without a database round trip.
func wellFormedToken(s string) bool {
	if len(s) != linkTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var (
	errNoLink        = domain.Errorf(domain.NotFound, "No such link.")
	errNotLinkOwner  = domain.Errorf(domain.Forbidden, "Only the share's owner or an ADMIN may manage its links.")
	errLinkPassword  = domain.Errorf(domain.Unauthorized, "This link needs a password: send it in the X-Sachet-Link-Password header.")
	errWrongPassword = domain.Errorf(domain.Unauthorized, "Wrong password for this link.")
)

// managedShare loads a share whose links the caller may manage: 404, then
// 403 unless the caller (signed in) owns it or has ADMIN.
func (h *Links) managedShare(ctx context.Context, id string) (*domain.Share, error) {
	sh, err := loadShare(ctx, h.store, id)
	if err != nil {
		return nil, err
	}
	c := domain.CallerFrom(ctx)
	if c.Anonymous() || !(c.Owns(sh.Owner) || c.Perms.Has(domain.PermAdmin)) {
		return nil, errNotLinkOwner
	}
	return sh, nil
}

// CreateShareLink makes a link to the share and returns its token this once.
func (h *Links) CreateShareLink(ctx context.Context, req gen.CreateShareLinkRequestObject) (gen.CreateShareLinkResponseObject, error) {
	sh, err := h.managedShare(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	l := &domain.Link{ShareID: sh.ID, CreatedBy: domain.CallerFrom(ctx).UserID}
	if b := req.Body; b != nil {
		if b.Label != nil {
			if err := domain.ValidateLinkLabel(*b.Label); err != nil {
				return nil, err
			}
			l.Label = b.Label
		}
		if b.ExpiresAt != nil {
			exp := b.ExpiresAt.UTC().Truncate(time.Microsecond)
			if !exp.After(h.now()) {
				return nil, domain.Errorf(domain.Invalid, "invalid request body: field \"expires_at\": must be in the future")
			}
			l.Expires = &exp
		}
		if b.MaxDownloads != nil {
			if *b.MaxDownloads < 1 {
				return nil, domain.Errorf(domain.Invalid, "invalid request body: field \"max_downloads\": must be at least 1")
			}
			l.MaxDownloads = b.MaxDownloads
		}
		if b.Password != nil {
			if err := domain.ValidatePassword(*b.Password); err != nil {
				return nil, err
			}
			if l.PasswordHash, err = h.passwords.Hash(ctx, *b.Password); err != nil {
				return nil, err
			}
		}
	}
	var token string
	if l.ID, token, l.TokenHash, err = newLinkToken(); err != nil {
		return nil, err
	}
	if err := h.store.CreateLink(ctx, l); err != nil {
		if domain.IsKind(err, domain.NotFound) { // deleted meanwhile
			return nil, errNoShare
		}
		return nil, err
	}
	url := "/links/" + token
	return gen.CreateShareLink201JSONResponse{LinkCreatedJSONResponse: gen.LinkCreatedJSONResponse{
		Body:    gen.LinkCreated{Status: "success", Url: url, Token: token, Link: linkOut(l, h.now())},
		Headers: gen.LinkCreatedResponseHeaders{Location: &url, CacheControl: "no-store"},
	}}, nil
}

// ListShareLinks lists the share's links, never their tokens.
func (h *Links) ListShareLinks(ctx context.Context, req gen.ListShareLinksRequestObject) (gen.ListShareLinksResponseObject, error) {
	sh, err := h.managedShare(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	links, err := h.store.ShareLinks(ctx, sh.ID)
	if err != nil {
		return nil, err
	}
	now := h.now()
	out := gen.ListShareLinks200JSONResponse{Body: gen.LinkList{Data: make([]gen.Link, len(links))},
		Headers: gen.ListShareLinks200ResponseHeaders{CacheControl: "no-store"}}
	for i := range links {
		out.Body.Data[i] = linkOut(&links[i], now)
	}
	return out, nil
}

// RevokeShareLink ends a link: it answers 410 from now on.
func (h *Links) RevokeShareLink(ctx context.Context, req gen.RevokeShareLinkRequestObject) (gen.RevokeShareLinkResponseObject, error) {
	sh, err := h.managedShare(ctx, req.ShareId)
	if err != nil {
		return nil, err
	}
	if err := h.store.RevokeLink(ctx, sh.ID, req.LinkId, h.now()); err != nil {
		return nil, err
	}
	return gen.RevokeShareLink200JSONResponse{SuccessJSONResponse: success("Link revoked.")}, nil
}

// open finds the link a token names and lets the request through it: 404
// for no such link, 410 when it no longer serves, then 401 when its
// password is missing or wrong, a wrong one charged to the sign-in
// throttle under the link's own name (429 past the limit, before any
// bcrypt work).
func (h *Links) open(ctx context.Context, token string, password *string) (*domain.Link, error) {
	if !wellFormedToken(token) {
		return nil, errNoLink
	}
	l, err := h.store.LinkByTokenHash(ctx, hashLinkToken(token))
	if domain.IsKind(err, domain.NotFound) {
		return nil, errNoLink
	} else if err != nil {
		return nil, err
	}
	if err := domain.GoneError(l.State(h.now())); err != nil {
		return nil, err
	}
	if l.PasswordHash == "" {
		return l, nil
	}
	if password == nil || *password == "" {
		return nil, errLinkPassword
	}
	return l, h.checkPassword(ctx, l, *password)
}

// checkPassword compares pw with the link's under the sign-in throttle,
// as Auth.throttled does for a user's: the link's id stands for the
// username (no username can contain ':').
func (h *Links) checkPassword(ctx context.Context, l *domain.Link, pw string) error {
	var addr netip.Addr
	if r, _ := ctx.Value(requestKey{}).(*http.Request); r != nil {
		addr = auth.ClientAddr(r, h.trusted)
	}
	att, err := h.throttle.Begin(ctx, "link:"+l.ID, addr)
	if err != nil {
		return err
	}
	ok, err := h.passwords.Check(ctx, l.PasswordHash, pw)
	switch {
	case err != nil:
		_ = att.Refund(context.WithoutCancel(ctx))
		return err
	case !ok:
		return errWrongPassword // the charge stands
	}
	return att.Succeeded(context.WithoutCancel(ctx))
}

// GetLink shows what a link serves, and nothing else of the share.
func (h *Links) GetLink(ctx context.Context, req gen.GetLinkRequestObject) (gen.GetLinkResponseObject, error) {
	l, err := h.open(ctx, req.Token, req.Params.XSachetLinkPassword)
	if err != nil {
		return nil, err
	}
	sh, err := loadShare(ctx, h.store, l.ShareID)
	if domain.IsKind(err, domain.NotFound) { // deleted since: its links went with it
		return nil, errNoLink
	} else if err != nil {
		return nil, err
	}
	info := gen.LinkInfo{
		FileName:      sh.FileName,
		Size:          nullable.NewNullNullable[int64](),
		ExpiresAt:     nullable.NewNullNullable[time.Time](),
		DownloadsLeft: nullable.NewNullNullable[int64](),
	}
	if sh.Size != nil {
		info.Size = nullable.NewNullableWithValue(*sh.Size)
	}
	if l.Expires != nil {
		info.ExpiresAt = nullable.NewNullableWithValue(*l.Expires)
	}
	if n := l.DownloadsLeft(); n != nil {
		info.DownloadsLeft = nullable.NewNullableWithValue(*n)
	}
	return gen.GetLink200JSONResponse{Body: info, Headers: gen.GetLink200ResponseHeaders{CacheControl: "no-store"}}, nil
}

// GetLinkContent serves the share's content through the link, by the
// content route's own code path; a download is claimed as the body starts
// (see claim).
func (h *Links) GetLinkContent(ctx context.Context, req gen.GetLinkContentRequestObject) (gen.GetLinkContentResponseObject, error) {
	return h.download(ctx, req.Token, req.Params.XSachetLinkPassword)
}

// HeadLinkContent is GetLinkContent without the body; it never counts.
func (h *Links) HeadLinkContent(ctx context.Context, req gen.HeadLinkContentRequestObject) (gen.HeadLinkContentResponseObject, error) {
	return h.download(ctx, req.Token, req.Params.XSachetLinkPassword)
}

func (h *Links) download(ctx context.Context, token string, password *string) (*download, error) {
	l, err := h.open(ctx, token, password)
	if err != nil {
		return nil, err
	}
	d, err := h.content.download(ctx, l.ShareID)
	if errors.Is(err, errNoShare) {
		return nil, errNoLink // the share was deleted since: its links went with it
	} else if err != nil {
		return nil, err
	}
	d.claim = func(status int, started bool) error {
		if !countsAsDownload(d.req, status, d.share.Size) {
			return nil
		}
		// The request's context: a client gone before its body started
		// must not spend a download. Once it has started, it counts.
		ctx := d.req.Context()
		if started {
			ctx = context.WithoutCancel(ctx)
		}
		return h.store.ClaimLinkDownload(ctx, l, h.now())
	}
	// Without a limit no concurrent download can refuse this one's claim,
	// so a large body need not wait for the claim's commit to start (only
	// its last bytes do): the link serves as fast as the content route.
	d.claimOverlaps = l.MaxDownloads == nil
	return d, nil
}

// countsAsDownload is the rule written in openapi.yaml: a GET answered
// 200 (the whole content), or 206 whose first range starts at byte 0 (a
// client transfer starts there once, however it then resumes). The Range
// header has been rewritten by checkRange in canonical form by now.
func countsAsDownload(r *http.Request, status int, size *int64) bool {
	if r.Method != http.MethodGet {
		return false
	}
	if status == http.StatusOK {
		return true
	}
	if status != http.StatusPartialContent {
		return false
	}
	_, set, _ := strings.Cut(r.Header.Get("Range"), "=")
	first, _, _ := strings.Cut(set, ",")
	start, end, _ := strings.Cut(strings.TrimSpace(first), "-")
	if start == "" { // a suffix: starts at 0 when it covers the whole content
		n, err := strconv.ParseInt(end, 10, 64)
		return err == nil && size != nil && n >= *size
	}
	return start == "0"
}

func linkOut(l *domain.Link, now time.Time) gen.Link {
	id, cd := l.ID, l.CreateDate
	sid := uuid.MustParse(l.ShareID)
	out := gen.Link{
		LinkId:        &id,
		ShareId:       &sid,
		CreateDate:    &cd,
		Label:         nullable.NewNullNullable[string](),
		ExpiresAt:     nullable.NewNullNullable[time.Time](),
		MaxDownloads:  nullable.NewNullNullable[int64](),
		DownloadsLeft: nullable.NewNullNullable[int64](),
		RevokedDate:   nullable.NewNullNullable[time.Time](),
		Downloads:     l.Downloads,
		HasPassword:   l.PasswordHash != "",
		State:         gen.LinkState(l.State(now)),
	}
	if l.Label != nil {
		out.Label = nullable.NewNullableWithValue(*l.Label)
	}
	if l.Expires != nil {
		out.ExpiresAt = nullable.NewNullableWithValue(*l.Expires)
	}
	if l.MaxDownloads != nil {
		out.MaxDownloads = nullable.NewNullableWithValue(*l.MaxDownloads)
	}
	if n := l.DownloadsLeft(); n != nil {
		out.DownloadsLeft = nullable.NewNullableWithValue(*n)
	}
	if l.Revoked != nil {
		out.RevokedDate = nullable.NewNullableWithValue(*l.Revoked)
	}
	return out
}

// The link routes answer with the content route's download, which no
// shared cache may keep and a browser must revalidate: a cache replaying
// the body would serve downloads the link never counted, and go on after
// it was revoked or used up. (A revalidation, 304, does not count.)
func (d *download) VisitGetLinkContentResponse(w http.ResponseWriter) error  { return d.serveLink(w) }
func (d *download) VisitHeadLinkContentResponse(w http.ResponseWriter) error { return d.serveLink(w) }

func (d *download) serveLink(w http.ResponseWriter) error {
	w.Header().Set("Cache-Control", "private, no-cache")
	return d.serve(w)
}
