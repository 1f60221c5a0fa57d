package domain

import "time"

// User is an account. ID is unique for the lifetime of the database: a user
// deleted and created again under the same name gets a new ID, so tokens of
// the old account (which carry the ID) stop working for good.
type User struct {
	ID           int64
	Username     string
	PasswordHash string // bcrypt
	Perms        Perm
	RegisterDate time.Time // UTC, microsecond precision
	// Quota is the user's storage quota in bytes: nil means the server's
	// default, 0 unlimited.
	Quota *int64
}

// Share is a file share's metadata. Owner nil means anonymous users own it.
// Size, SHA256, BlobID and ModifiedAt are set once content exists.
type Share struct {
	ID          string // canonical lowercase UUIDv4
	FileName    string
	Owner       *string
	Initialized bool
	Locked      bool
	CreateDate  time.Time // UTC, microsecond precision
	Size        *int64
	SHA256      *string // lowercase hex
	BlobID      *string // storage name of the current content
	ModifiedAt  *time.Time
	// ExpiresAt, when set, is when the share stops serving: from then on
	// it reads as missing, and cleanup purges it with its content.
	ExpiresAt *time.Time
}

// Upload is an unfinished chunked upload, identified by (ShareID, DZUUID).
type Upload struct {
	ID          int64
	ShareID     string
	DZUUID      string
	TotalChunks int
	CreatedAt   time.Time
	// Handle is the blob store's name for the upload (blob.Store.Begin),
	// "" until one is recorded (SetUploadHandle).
	Handle string
}

// Chunk is one received chunk of an upload, stored as the file FileID.
type Chunk struct {
	UploadID int64
	Index    int
	FileID   string
	Size     int64
	// InAssembly: the chunk was appended to its upload's assembly file,
	// FileID, at Offset, rather than stored in a file of its own.
	InAssembly bool
	Offset     int64
}

// Append is an append lease on an upload's assembly file: the right to
// append chunk Index at Offset of the file AssemblyID (see
// db.Store.TakeAppendLease).
type Append struct {
	UploadID   int64
	AssemblyID string
	Index      int
	Offset     int64
	// HashState is the SHA-256 state of the file's first Offset bytes
	// (crypto/sha256's binary marshalling), nil if not known.
	HashState []byte
	// Gen tells this lease from a later one of the same upload taken in
	// the same process, so that ending one never frees the other.
	Gen uint64
}

// Completion is what the request that completes an upload joins: every
// chunk in index order, and the upload's assembly file (AssemblyID, "" if
// none) with its AssembledLen durable bytes.
type Completion struct {
	Chunks       []Chunk
	AssemblyID   string
	AssembledLen int64
	HashState    []byte // of the assembly's AssembledLen bytes, as in Append
	// FileSHA256 is the whole file's SHA-256 (lowercase hex) the client
	// sent with a chunk, "" if none: the joined content must have it.
	FileSHA256 string
}

// Blob describes a finished content file in storage.
type Blob struct {
	ID     string
	Size   int64
	SHA256 string // lowercase hex
}

// TokenStatus is the store's word on a token whose signature checked out.
// A user's session epoch advances whenever their sessions are ended; a
// token carries the epoch its user had when it was issued.
type TokenStatus struct {
	// Revoked: the token was revoked by id, or its user's sessions were
	// ended after it was issued.
	Revoked bool
	// Epoch is the session epoch that tokens renewed from this one carry:
	// the token's own, or the user's current one for the token a password
	// change kept.
	Epoch int64
}

// ShareUpdate is a change to a share's metadata. Only the fields it sets
// are written, so two changes of different fields never undo each other.
type ShareUpdate struct {
	FileName *string // nil: unchanged
	SetOwner bool    // whether Owner is the new owner
	Owner    *string // the new owner when SetOwner; nil: anonymous users
	// CheckOwner makes the change conditional on the share still being
	// owned by WasOwner (nil: anonymous users), the owner the caller's
	// right to change it was judged against.
	CheckOwner bool
	WasOwner   *string
	// SetExpiry: ExpiresAt is the new expiry (nil: never).
	SetExpiry bool
	ExpiresAt *time.Time
}

// UploadRequest is a link through which someone without an account
// uploads files into new shares owned by Owner. Nil limits are unlimited.
type UploadRequest struct {
	ID        string
	Owner     string
	Label     *string
	MaxFiles  *int
	MaxBytes  *int64
	ExpiresAt *time.Time
	FilesUsed int
	BytesUsed int64 // content of the shares created through it (read only)
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Gone judges whether r still serves at now: nil, or a Gone
// error saying why. files also requires a file (and a byte) left to start
// a new file with.
func (r *UploadRequest) Gone(now time.Time, files bool) error {
	switch {
	case r.RevokedAt != nil:
		return Errorf(Gone, "This upload request has been revoked.")
	case r.ExpiresAt != nil && !r.ExpiresAt.After(now):
		return Errorf(Gone, "This upload request has expired.")
	case files && r.MaxFiles != nil && r.FilesUsed >= *r.MaxFiles:
		return Errorf(Gone, "This upload request has taken all the %d files it allows.", *r.MaxFiles)
	case files && r.MaxBytes != nil && r.BytesUsed >= *r.MaxBytes:
		return Errorf(Gone, "This upload request has taken all the %d bytes it allows.", *r.MaxBytes)
	}
	return nil
}
