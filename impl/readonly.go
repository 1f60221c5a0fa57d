package impl

import (
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

// The contract accepts a read-only field in a request body only with the
// value the resource already has, so a client can send back what it
// fetched; any other value is a 400 that says how the field does change.
// The gate has checked the fields' types; judging their values needs the
// resource, so it happens here, after 404, 403 and 423.

func readOnlyError(field, how string) error {
	return domain.Errorf(domain.Invalid, "invalid request body: field %q is read-only: %s", field, how)
}

// shareReadOnly is the read-only part of a share body.
type shareReadOnly struct {
	id          *gen.ShareId
	initialized *bool
	locked      *bool
	created     *time.Time
	size        nullable.Nullable[int64]
	sha256      nullable.Nullable[string]
}

func sharePatchReadOnly(b *gen.SharePatch) shareReadOnly {
	return shareReadOnly{b.ShareId, b.Initialized, b.Locked, b.CreateDate, b.Size, b.Sha256}
}

func sharePutReadOnly(b *gen.SharePut) shareReadOnly {
	return shareReadOnly{b.ShareId, b.Initialized, b.Locked, b.CreateDate, b.Size, b.Sha256}
}

func shareCreateReadOnly(b *gen.ShareCreate) shareReadOnly {
	return shareReadOnly{b.ShareId, b.Initialized, b.Locked, b.CreateDate, b.Size, b.Sha256}
}

// check compares the fields given with sh's, in the schema's order.
func (ro shareReadOnly) check(sh *domain.Share) error {
	switch {
	case ro.id != nil && ro.id.String() != sh.ID:
		return readOnlyError("share_id", "it is the id in the path, which never changes")
	case ro.created != nil && !ro.created.Equal(sh.CreateDate):
		return readOnlyError("create_date", "it is when the share was created")
	}
	return ro.checkState(sh)
}

// checkNew judges the fields of a share about to be created: it has no id
// or date yet, and has the state of every new share.
func (ro shareReadOnly) checkNew() error {
	switch {
	case ro.id != nil:
		return readOnlyError("share_id", "the server assigns it; it is in the answer's url")
	case ro.created != nil:
		return readOnlyError("create_date", "the server sets it")
	}
	return ro.checkState(&domain.Share{})
}

func (ro shareReadOnly) checkState(sh *domain.Share) error {
	const followsContent = "it follows the content, which PUT /files/{share_id}/content replaces"
	switch {
	case ro.initialized != nil && *ro.initialized != sh.Initialized:
		return readOnlyError("initialized", "it becomes true when the first upload completes (POST /files/{share_id}/content)")
	case ro.locked != nil && *ro.locked != sh.Locked:
		return readOnlyError("locked", "change it with POST /files/{share_id}/lock or POST /files/{share_id}/unlock")
	case !sameNullable(ro.size, sh.Size):
		return readOnlyError("size", followsContent)
	case !sameNullable(ro.sha256, sh.SHA256):
		return readOnlyError("sha256", followsContent)
	}
	return nil
}

// sameNullable reports whether a field that may be absent, null or a value
// is absent or equals v (nil: null).
func sameNullable[T comparable](n nullable.Nullable[T], v *T) bool {
	switch {
	case !n.IsSpecified():
		return true
	case n.IsNull():
		return v == nil
	}
	got, _ := n.Get() // specified and not null: Get cannot fail
	return v != nil && *v == got
}
