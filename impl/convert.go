package impl

import (
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

func permsOut(p domain.Perm) gen.Permissions {
	codes := p.Codes()
	out := make(gen.Permissions, len(codes))
	for i, c := range codes {
		out[i] = gen.Permission(c)
	}
	return out
}

func permsIn(ps gen.Permissions) (domain.Perm, error) {
	codes := make([]string, len(ps))
	for i, p := range ps {
		codes[i] = string(p)
	}
	p, err := domain.ParsePerms(codes)
	if err != nil {
		return 0, domain.Errorf(domain.Invalid, "invalid request body: field \"permissions\": %s", domain.Message(err))
	}
	return p, nil
}

func userOut(u *domain.User) gen.User {
	rd := u.RegisterDate
	out := gen.User{Username: u.Username, Permissions: permsOut(u.Perms), RegisterDate: &rd}
	out.Quota.SetNull()
	if u.Quota != nil {
		out.Quota.Set(*u.Quota)
	}
	return out
}

func shareOut(s *domain.Share) gen.Share {
	id := uuid.MustParse(s.ID)
	cd := s.CreateDate
	out := gen.Share{
		ShareId:     &id,
		FileName:    s.FileName,
		Initialized: &s.Initialized,
		Locked:      &s.Locked,
		CreateDate:  &cd,
		OwnerName:   nullable.NewNullNullable[string](),
		Size:        nullable.NewNullNullable[int64](),
		Sha256:      nullable.NewNullNullable[string](),
	}
	if s.Owner != nil {
		out.OwnerName = nullable.NewNullableWithValue(*s.Owner)
	}
	if s.Size != nil {
		out.Size = nullable.NewNullableWithValue(*s.Size)
	}
	if s.SHA256 != nil {
		out.Sha256 = nullable.NewNullableWithValue(*s.SHA256)
	}
	out.ExpiresAt = nullable.NewNullNullable[gen.ShareExpiresAt]()
	if s.ExpiresAt != nil {
		out.ExpiresAt = nullable.NewNullableWithValue(*s.ExpiresAt)
	}
	return out
}

func success(msg string) gen.SuccessJSONResponse {
	return gen.SuccessJSONResponse{Status: "success", Message: msg}
}

func created(url string) gen.CreatedJSONResponse {
	return gen.CreatedJSONResponse{
		Body:    gen.Created{Status: "success", Url: url},
		Headers: gen.CreatedResponseHeaders{Location: &url},
	}
}

// page is a validated pagination request.
type page struct{ number, size int }

func pageIn(p *int, pp *int) page {
	pg := page{number: 1, size: 15}
	if p != nil {
		pg.number = *p
	}
	if pp != nil {
		pg.size = *pp
	}
	return pg
}

func (p page) limitOffset() (int, int) {
	off := (int64(p.number) - 1) * int64(p.size)
	if off > 1<<40 { // far past any real table: an empty page, no overflow
		off = 1 << 40
	}
	return p.size, int(off)
}

// links computes pages, next and prev for a page of total items. A page
// past the end links back to the last page.
func (p page) links(total int) (pages int, next, prev nullable.Nullable[int]) {
	pages = (total + p.size - 1) / p.size
	next, prev = nullable.NewNullNullable[int](), nullable.NewNullNullable[int]()
	if p.number < pages {
		next = nullable.NewNullableWithValue(p.number + 1)
	}
	switch {
	case p.number > pages && pages > 0:
		prev = nullable.NewNullableWithValue(pages)
	case p.number > 1 && p.number <= pages:
		prev = nullable.NewNullableWithValue(p.number - 1)
	}
	return pages, next, prev
}

// canonicalShareID accepts only the lowercase hyphenated UUID form that
// Sachet issues; anything else addresses no share.
func canonicalShareID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return "", errNoShare
	}
	return id, nil
}

var errNoShare = domain.Errorf(domain.NotFound, "No such share.")
