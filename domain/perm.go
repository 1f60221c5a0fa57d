package domain

import "fmt"

// Perm is a set of permissions stored as a bit mask. The bit values are
// Sachet's and are also the order in which permission lists are serialised.
type Perm uint32

const (
	PermCreate Perm = 1 << iota // create shares and upload their first content
	PermModify                  // change contents and metadata of shares one owns
	PermDelete                  // delete any share
	PermLock                    // lock and unlock any share
	PermList                    // list all shares
	PermAdmin                   // manage users and server settings
	PermRead                    // read any share's metadata and content
)

// permCodes is in serialisation order.
var permCodes = [...]struct {
	perm Perm
	code string
}{
	{PermCreate, "CREATE"},
	{PermModify, "MODIFY"},
	{PermDelete, "DELETE"},
	{PermLock, "LOCK"},
	{PermList, "LIST"},
	{PermAdmin, "ADMIN"},
	{PermRead, "READ"},
}

// PermAll is every permission Sachet knows.
const PermAll = PermCreate | PermModify | PermDelete | PermLock | PermList | PermAdmin | PermRead

// ParsePerm returns the permission named by code, or false.
func ParsePerm(code string) (Perm, bool) {
	for _, pc := range permCodes {
		if pc.code == code {
			return pc.perm, true
		}
	}
	return 0, false
}

// ParsePerms turns a list of codes into a set. Duplicates collapse; an
// unknown code is an Invalid error naming it.
func ParsePerms(codes []string) (Perm, error) {
	var p Perm
	for _, c := range codes {
		q, ok := ParsePerm(c)
		if !ok {
			return 0, Errorf(Invalid, "unknown permission %q", c)
		}
		p |= q
	}
	return p, nil
}

// Has reports whether p includes every permission in q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// Codes lists p's codes in serialisation order; never nil.
func (p Perm) Codes() []string {
	out := make([]string, 0, len(permCodes))
	for _, pc := range permCodes {
		if p&pc.perm != 0 {
			out = append(out, pc.code)
		}
	}
	return out
}

// String is the code of a single permission, or the list of a set.
func (p Perm) String() string {
	c := p.Codes()
	if len(c) == 1 {
		return c[0]
	}
	return fmt.Sprint(c)
}
