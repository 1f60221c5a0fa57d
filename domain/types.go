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
}

// Upload is an unfinished chunked upload, identified by (ShareID, DZUUID).
type Upload struct {
	ID          int64
	ShareID     string
	DZUUID      string
	TotalChunks int
	CreatedAt   time.Time
}

// Chunk is one received chunk of an upload, stored as the file FileID.
type Chunk struct {
	UploadID int64
	Index    int
	FileID   string
	Size     int64
}

// Blob describes a finished content file in storage.
type Blob struct {
	ID     string
	Size   int64
	SHA256 string // lowercase hex
}
