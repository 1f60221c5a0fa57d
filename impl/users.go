package impl

import (
	"context"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/sachet-server/sachet/domain"
	"github.com/sachet-server/sachet/gen"
)

type userStore interface {
	CreateUser(ctx context.Context, u *domain.User) error
	UserByName(ctx context.Context, username string) (*domain.User, error)
	UpdateUser(ctx context.Context, u *domain.User) error
	DeleteUser(ctx context.Context, username string) error
	ListUsers(ctx context.Context, limit, offset int) ([]domain.User, int, error)
	Usage(ctx context.Context, owner string) (int64, error)
}

type hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// Users manages accounts. The gate has already checked ADMIN where the
// spec asks for it.
type Users struct {
	store     userStore
	passwords hasher
}

// NewUsers returns the user handlers.
func NewUsers(store userStore, passwords hasher) *Users {
	return &Users{store: store, passwords: passwords}
}

var errNoUser = domain.Errorf(domain.NotFound, "No such user.")

// ListUsers pages through users by registration time, then name.
func (h *Users) ListUsers(ctx context.Context, req gen.ListUsersRequestObject) (gen.ListUsersResponseObject, error) {
	pg := pageIn(req.Params.Page, req.Params.PerPage)
	limit, offset := pg.limitOffset()
	users, total, err := h.store.ListUsers(ctx, limit, offset)
	if err != nil {
		return nil, err
	}
	out := gen.ListUsers200JSONResponse{Data: make([]gen.User, len(users))}
	for i := range users {
		out.Data[i] = userOut(&users[i])
	}
	out.Pages, out.Next, out.Prev = pg.links(total)
	return out, nil
}

// CreateUser registers a new account.
func (h *Users) CreateUser(ctx context.Context, req gen.CreateUserRequestObject) (gen.CreateUserResponseObject, error) {
	b := req.Body
	if err := domain.ValidateUsername(b.Username); err != nil {
		return nil, err
	}
	if b.RegisterDate != nil {
		return nil, readOnlyError("register_date", "the server sets it when the user is created")
	}
	if b.Password == nil {
		return nil, domain.Errorf(domain.Invalid, "invalid request body: property \"password\" is missing")
	}
	if err := domain.ValidatePassword(*b.Password); err != nil {
		return nil, err
	}
	u := &domain.User{Username: b.Username}
	if b.Permissions != nil {
		p, err := permsIn(*b.Permissions)
		if err != nil {
			return nil, err
		}
		u.Perms = p
	}
	hash, err := h.passwords.Hash(ctx, *b.Password)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = hash
	if err := h.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return gen.CreateUser201JSONResponse{CreatedJSONResponse: created("/users/" + u.Username)}, nil
}

// GetUser shows a user to itself or to ADMIN. Others get 403 whether or
// not the user exists, so names can't be probed.
func (h *Users) GetUser(ctx context.Context, req gen.GetUserRequestObject) (gen.GetUserResponseObject, error) {
	c := domain.CallerFrom(ctx)
	isAdmin := c.Perms.Has(domain.PermAdmin)
	if !isAdmin && (c.Anonymous() || c.Username != req.Username) {
		if c.Anonymous() {
			return nil, domain.Errorf(domain.Unauthorized, "Authentication required to read a user.")
		}
		return nil, domain.Errorf(domain.Forbidden, "You may only read your own user.")
	}
	u, err := h.store.UserByName(ctx, req.Username)
	if domain.IsKind(err, domain.NotFound) {
		// 403, not 404, for admins too: the reference server answers so,
		// and the web UI shows "Invalid user" only on 403 (a blank page on
		// 404).
		return nil, errUnknownUser
	} else if err != nil {
		return nil, err
	}
	out := userOut(u)
	used, err := h.store.Usage(ctx, u.Username)
	if err != nil {
		return nil, err
	}
	out.UsedBytes = &used
	return gen.GetUser200JSONResponse(out), nil
}

// errUnknownUser answers a look-up of a user that does not exist.
var errUnknownUser = domain.Errorf(domain.Forbidden, "No such user.")

// userChange is a validated PATCH or PUT of a user.
type userChange struct {
	username *string
	password *string
	perms    *gen.Permissions
	// registered is the read-only register_date, if given.
	registered *time.Time
	quota      nullable.Nullable[gen.UserQuota] // absent: unchanged
	used       *int64                           // the read-only used_bytes, if given
}

func (h *Users) update(ctx context.Context, name string, ch userChange) error {
	u, err := h.store.UserByName(ctx, name)
	if domain.IsKind(err, domain.NotFound) {
		return errNoUser
	} else if err != nil {
		return err
	}
	if ch.username != nil && *ch.username != name {
		return readOnlyError("username", "users can't be renamed; create a user with the new name instead")
	}
	if ch.registered != nil && !ch.registered.Equal(u.RegisterDate) {
		return readOnlyError("register_date", "it is when the user registered")
	}
	if ch.used != nil {
		used, err := h.store.Usage(ctx, name)
		if err != nil {
			return err
		}
		if *ch.used != used {
			return readOnlyError("used_bytes", "it is the size of the content of the shares the user owns")
		}
	}
	if ch.quota.IsSpecified() {
		u.Quota = nil
		if !ch.quota.IsNull() {
			q, _ := ch.quota.Get()
			if q < 0 {
				return domain.Errorf(domain.Invalid, "invalid request body: field \"quota\" must not be negative")
			}
			u.Quota = &q
		}
	}
	if ch.perms != nil {
		if u.Perms, err = permsIn(*ch.perms); err != nil {
			return err
		}
	}
	if ch.password != nil {
		if err := domain.ValidatePassword(*ch.password); err != nil {
			return err
		}
		if u.PasswordHash, err = h.passwords.Hash(ctx, *ch.password); err != nil {
			return err
		}
	}
	return h.store.UpdateUser(ctx, u)
}

// PatchUser changes the given fields of a user.
func (h *Users) PatchUser(ctx context.Context, req gen.PatchUserRequestObject) (gen.PatchUserResponseObject, error) {
	b := req.Body
	if err := h.update(ctx, req.Username, userChange{username: b.Username, password: b.Password, perms: b.Permissions, registered: b.RegisterDate, quota: b.Quota, used: b.UsedBytes}); err != nil {
		return nil, err
	}
	return gen.PatchUser200JSONResponse{SuccessJSONResponse: success("User updated.")}, nil
}

// PutUser replaces a user's password and permissions.
func (h *Users) PutUser(ctx context.Context, req gen.PutUserRequestObject) (gen.PutUserResponseObject, error) {
	b := req.Body
	if b.Password == nil {
		return nil, domain.Errorf(domain.Invalid, "invalid request body: property \"password\" is missing")
	}
	if err := h.update(ctx, req.Username, userChange{username: &b.Username, password: b.Password, perms: &b.Permissions, registered: b.RegisterDate, quota: b.Quota, used: b.UsedBytes}); err != nil {
		return nil, err
	}
	return gen.PutUser200JSONResponse{SuccessJSONResponse: success("User updated.")}, nil
}

// DeleteUser removes an account that owns no shares.
func (h *Users) DeleteUser(ctx context.Context, req gen.DeleteUserRequestObject) (gen.DeleteUserResponseObject, error) {
	err := h.store.DeleteUser(ctx, req.Username)
	if domain.IsKind(err, domain.NotFound) {
		return nil, errNoUser
	} else if err != nil {
		return nil, err
	}
	return gen.DeleteUser200JSONResponse{SuccessJSONResponse: success("User deleted.")}, nil
}

// reservedLookup is GetUser for a name its POST route reserves. No user can
// have it, so the answer is always an error: 401/403 from GetUser's rule,
// else 404.
func (h *Users) reservedLookup(ctx context.Context, name string) error {
	if _, err := h.GetUser(ctx, gen.GetUserRequestObject{Username: name}); err != nil {
		return err
	}
	return errUnknownUser // unreachable unless a reserved name was stored by other means
}

// GetUserNamedLogin is the user look-up GET /users/login.
func (h *Users) GetUserNamedLogin(ctx context.Context, _ gen.GetUserNamedLoginRequestObject) (gen.GetUserNamedLoginResponseObject, error) {
	return nil, h.reservedLookup(ctx, "login")
}

// GetUserNamedLogout is the user look-up GET /users/logout.
func (h *Users) GetUserNamedLogout(ctx context.Context, _ gen.GetUserNamedLogoutRequestObject) (gen.GetUserNamedLogoutResponseObject, error) {
	return nil, h.reservedLookup(ctx, "logout")
}

// GetUserNamedExtend is the user look-up GET /users/extend.
func (h *Users) GetUserNamedExtend(ctx context.Context, _ gen.GetUserNamedExtendRequestObject) (gen.GetUserNamedExtendResponseObject, error) {
	return nil, h.reservedLookup(ctx, "extend")
}

// GetUserNamedPassword is the user look-up GET /users/password.
func (h *Users) GetUserNamedPassword(ctx context.Context, _ gen.GetUserNamedPasswordRequestObject) (gen.GetUserNamedPasswordResponseObject, error) {
	return nil, h.reservedLookup(ctx, "password")
}
