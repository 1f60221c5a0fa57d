// Package importer brings a Python Sachet's users, anonymous permissions
// and shares (with their content) into this server: `sachet import`.
//
// The source is only read: its database is opened read-only and content
// files are copied, never moved. Every item is judged on its own, so a
// run never stops half way over one bad user or file: what cannot come
// across is reported as a problem, and the rest is imported. A second run
// skips what is already here and identical, and refuses (as a problem)
// a username or share id that exists here with other data, so running it
// again is always safe.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/sachet-server/sachet/domain"

	_ "time/tzdata" // --timezone names work on machines without a zoneinfo database
)

// Store is what the importer needs from the metadata store (db.Store).
type Store interface {
	UserByName(ctx context.Context, username string) (*domain.User, error)
	ImportUser(ctx context.Context, u *domain.User) error
	ShareByID(ctx context.Context, id string) (*domain.Share, error)
	ImportShare(ctx context.Context, sh *domain.Share) error
	FillImportedContent(ctx context.Context, id string, blob domain.Blob, modified time.Time) error
	DefaultPerms(ctx context.Context) (domain.Perm, error)
	SetDefaultPerms(ctx context.Context, p domain.Perm) error
}

// Options says how to import.
type Options struct {
	// Files is the Python server's content folder: the file of share ID
	// is Files/ID. OpenFiles finds it from what the operator names.
	Files fs.FS
	// FilesName is how messages name that folder.
	FilesName string
	// Location is the zone of the old server's naive timestamps.
	Location *time.Location
	// DryRun reads everything and writes nothing.
	DryRun bool
	// Out gets one line per item and the summary; Progress (nil: none)
	// gets a progress line now and then.
	Out, Progress io.Writer
	// ProgressEvery is the least time between progress lines (default 2 s).
	ProgressEvery time.Duration
	// Now is the clock for progress (default time.Now).
	Now func() time.Time
	// StaleAfter is this server's SACHET_STALE_AFTER (0: unknown): the
	// summary warns about imported shares without content that its
	// cleanup will delete, being older than that.
	StaleAfter time.Duration
}

// Report counts what an import did (or, in a dry run, would do).
type Report struct {
	UsersImported, UsersPresent, UsersRefused int
	SharesImported                            int // of which SharesUninitialized have no content
	SharesUninitialized                       int
	SharesFilled                              int // present but empty before; content added now
	SharesPresent, SharesRefused              int
	Bytes                                     int64 // content bytes copied
	Problems                                  []string
}

// pageSize is how many shares are read from the source at a time.
const pageSize = 500

// Run imports everything from src into store and blobs. It returns an
// error only when it cannot go on at all (the source cannot be read, ctx
// ends); everything else is a problem in the report, and the run goes on.
func Run(ctx context.Context, src *Source, store Store, blobs Blobs, opt Options) (*Report, error) {
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 2 * time.Second
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	r := &run{opt: opt, store: store, blobs: blobs, rep: &Report{}, owners: map[string]bool{}}
	r.last = opt.Now()
	r.started = r.last

	name, offset := opt.Location.String(), opt.Now().In(opt.Location).Format("-07:00")
	r.say("Naive timestamps of the old server are read as local time in %s (now UTC%s); set --timezone if that was not the old server's zone.", name, offset)
	if opt.DryRun {
		r.say("Dry run: nothing will be written.")
	}

	users, err := src.Users(ctx)
	if err != nil {
		return r.rep, err
	}
	for _, u := range users {
		if err := r.user(ctx, u); err != nil {
			return r.rep, err
		}
	}
	if err := r.settings(ctx, src); err != nil {
		return r.rep, err
	}

	r.total, err = src.CountShares(ctx)
	if err != nil {
		return r.rep, err
	}
	var after *PyShare
	for {
		page, err := src.Shares(ctx, after, pageSize)
		if err != nil {
			return r.rep, err
		}
		for i := range page {
			if err := r.share(ctx, page[i]); err != nil {
				return r.rep, err
			}
			r.done++
			r.progress(false)
		}
		if len(page) < pageSize {
			break
		}
		after = &page[len(page)-1]
	}
	r.progress(true)
	r.summary()
	return r.rep, nil
}

type run struct {
	opt    Options
	store  Store
	blobs  Blobs
	rep    *Report
	owners map[string]bool // usernames that shares may name: here, and this server's same account
	// stale counts shares imported without content: cleanup deletes them
	// once StaleAfter has passed since the import.
	stale int

	total, done int
	last        time.Time // of the last progress line
	started     time.Time // of the run: shares imported without content count their stale age from it
}

func (r *run) say(format string, args ...any) { fmt.Fprintf(r.opt.Out, format+"\n", args...) }

func (r *run) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.rep.Problems = append(r.rep.Problems, msg)
	r.say("PROBLEM %s", msg)
}

// verb is what is done, or would be in a dry run.
func (r *run) verb(done string) string {
	if r.opt.DryRun {
		return "would be " + done
	}
	return done
}

// progress writes a progress line when it is time, or at the end.
func (r *run) progress(final bool) {
	if r.opt.Progress == nil {
		return
	}
	now := r.opt.Now()
	if !final && now.Sub(r.last) < r.opt.ProgressEvery {
		return
	}
	r.last = now
	what := "copied"
	if r.opt.DryRun {
		what = "to copy"
	}
	fmt.Fprintf(r.opt.Progress, "import: shares %d/%d, %s %s\n", r.done, r.total, humanBytes(r.rep.Bytes), what)
}

// ---------------------------------------------------------------- users

func (r *run) user(ctx context.Context, pu PyUser) error {
	label := fmt.Sprintf("user %q", pu.Username)
	if err := domain.ValidateUsername(pu.Username); err != nil {
		r.rep.UsersRefused++
		r.problem("%s: not imported: %s; its shares are not imported either", label, domain.Message(err))
		return nil
	}
	date, err := parseNaive(pu.RegisterDate, r.opt.Location)
	if err != nil {
		r.rep.UsersRefused++
		r.problem("%s: not imported: register_date %q is not a date; its shares are not imported either", label, pu.RegisterDate)
		return nil
	}
	perms := domain.Perm(pu.Permissions) & domain.PermAll
	if pu.Permissions < 0 || int64(perms) != pu.Permissions {
		r.problem("%s: permission bits %#x are unknown and were dropped (kept: %v)", label, pu.Permissions&^int64(domain.PermAll), perms.Codes())
	}
	if _, err := bcrypt.Cost([]byte(pu.PasswordHash)); err != nil {
		// Imported all the same: an administrator can set a new password.
		r.problem("%s: the password hash is not a bcrypt hash, so no password will sign in as this user until an administrator sets one", label)
	}
	want := &domain.User{Username: pu.Username, PasswordHash: pu.PasswordHash, Perms: perms, RegisterDate: date}

	have, err := r.store.UserByName(ctx, pu.Username)
	switch {
	case err == nil:
		if diff := userDiff(have, want); diff != "" {
			r.rep.UsersRefused++
			r.problem("%s: not imported: a user of that name exists here with another %s; delete or rename it here first (its shares are not imported either)", label, diff)
			return nil
		}
		r.rep.UsersPresent++
		r.owners[pu.Username] = true
		r.say("%s: already here, identical: skipped", label)
		return nil
	case !domain.IsKind(err, domain.NotFound):
		return r.fatal(ctx, err, label)
	}

	if !r.opt.DryRun {
		if err := r.store.ImportUser(ctx, want); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.rep.UsersRefused++
			r.problem("%s: not imported: %s", label, errText(err))
			return nil
		}
	}
	r.rep.UsersImported++
	r.owners[pu.Username] = true
	r.say("%s: %s (permissions %v, registered %s)", label, r.verb("imported"), perms.Codes(), date.Format(time.RFC3339Nano))
	return nil
}

// userDiff names what differs between the user here and the old one.
func userDiff(have, want *domain.User) string {
	var d []string
	if have.PasswordHash != want.PasswordHash {
		d = append(d, "password")
	}
	if have.Perms != want.Perms {
		d = append(d, fmt.Sprintf("permissions (here %v, old %v)", have.Perms.Codes(), want.Perms.Codes()))
	}
	if !have.RegisterDate.Equal(want.RegisterDate.UTC().Truncate(time.Microsecond)) {
		d = append(d, fmt.Sprintf("registration date (here %s, old %s)",
			have.RegisterDate.UTC().Format(time.RFC3339Nano), want.RegisterDate.UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(d, ", ")
}

// ---------------------------------------------------------------- settings

func (r *run) settings(ctx context.Context, src *Source) error {
	const label = "anonymous permissions"
	raw, ok, err := src.DefaultPerms(ctx)
	if err != nil {
		return err
	}
	if !ok {
		r.say("%s: none stored by the old server; left as they are here", label)
		return nil
	}
	perms := domain.Perm(raw) & domain.PermAll
	if raw < 0 || int64(perms) != raw {
		r.problem("%s: permission bits %#x are unknown and were dropped (kept: %v)", label, raw&^int64(domain.PermAll), perms.Codes())
	}
	have, err := r.store.DefaultPerms(ctx)
	if err != nil {
		return r.fatal(ctx, err, label)
	}
	switch {
	case have == perms:
		r.say("%s: already %v here: skipped", label, perms.Codes())
	case have != 0:
		// Empty is this server's initial value; anything else was chosen here.
		r.problem("%s: not imported: they are %v here and %v on the old server; set them with PATCH /admin/settings", label, have.Codes(), perms.Codes())
	default:
		if !r.opt.DryRun {
			if err := r.store.SetDefaultPerms(ctx, perms); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.problem("%s: not imported: %s", label, errText(err))
				return nil
			}
		}
		r.say("%s: %s %v", label, r.verb("set to"), perms.Codes())
	}
	return nil
}

// ---------------------------------------------------------------- shares

func (r *run) share(ctx context.Context, ps PyShare) error {
	imported := false
	id, err := shareID(ps.RawID)
	if err != nil {
		r.rep.SharesRefused++
		r.problem("share %x: not imported: its id is not a UUID", ps.RawID)
		return nil
	}
	label := "share " + id
	created, err := parseNaive(ps.CreateDate, r.opt.Location)
	if err != nil {
		r.rep.SharesRefused++
		r.problem("%s: not imported: create_date %q is not a date", label, ps.CreateDate)
		return nil
	}
	if ps.Owner != nil && !r.owners[*ps.Owner] {
		r.rep.SharesRefused++
		r.problem("%s: not imported: its owner %q was not imported", label, *ps.Owner)
		return nil
	}
	name := cleanFileName(ps.FileName, id)
	if name != ps.FileName {
		r.problem("%s: file name %q is not allowed here (1–255 bytes of UTF-8, no '/', '\\' or control characters); imported as %q", label, ps.FileName, name)
	}
	want := &domain.Share{ID: id, FileName: name, Owner: ps.Owner, Locked: ps.Locked, CreateDate: created}

	have, err := r.store.ShareByID(ctx, id)
	switch {
	case err == nil:
		return r.presentShare(ctx, label, have, want, ps.Initialized)
	case !domain.IsKind(err, domain.NotFound):
		return r.fatal(ctx, err, label)
	}

	if ps.Initialized {
		c, why, err := r.copyContent(ctx, id)
		if err != nil {
			return err
		}
		if why != "" {
			// Said after the share's own line, once it is known to be imported.
			defer func() {
				if want.BlobID == nil && imported {
					r.problem("%s: %s uninitialized (no content): %s; restore the file and run the import again to add it", label, r.verb("imported"), why)
				}
			}()
		} else {
			want.Initialized = true
			want.Size, want.SHA256, want.BlobID, want.ModifiedAt = &c.blob.Size, &c.blob.SHA256, &c.blob.ID, &c.modified
		}
	}
	if !want.Initialized {
		// Old shares without content would be stale at once; they get the
		// stale age from now, like a new share, to have their files restored.
		want.ModifiedAt = &r.started
	}
	if !r.opt.DryRun {
		if err := r.store.ImportShare(ctx, want); err != nil {
			if want.BlobID != nil {
				_ = r.blobs.RemoveBlob(ctx, *want.BlobID)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.rep.SharesRefused++
			r.problem("%s: not imported: %s", label, errText(err))
			return nil
		}
	}
	r.rep.SharesImported++
	imported = true
	content := "no content"
	if want.Initialized {
		content = fmt.Sprintf("%d bytes", *want.Size)
		if !r.opt.DryRun {
			content += ", sha256 " + *want.SHA256
		}
		r.rep.Bytes += *want.Size
	} else {
		r.rep.SharesUninitialized++
		r.stale++
	}
	r.say("%s %q: %s (owner %s, %s, created %s, %s)", label, name, r.verb("imported"), ownerText(want.Owner),
		lockText(want.Locked), created.Format(time.RFC3339Nano), content)
	return nil
}

// presentShare judges a share whose id exists here already: identical
// (skipped), here without the content the old one has (content added),
// or different (refused).
func (r *run) presentShare(ctx context.Context, label string, have, want *domain.Share, initialized bool) error {
	var d []string
	if have.FileName != want.FileName {
		d = append(d, fmt.Sprintf("file name (here %q, old %q)", have.FileName, want.FileName))
	}
	if ownerText(have.Owner) != ownerText(want.Owner) {
		d = append(d, fmt.Sprintf("owner (here %s, old %s)", ownerText(have.Owner), ownerText(want.Owner)))
	}
	if have.Locked != want.Locked {
		d = append(d, fmt.Sprintf("lock state (here %s, old %s)", lockText(have.Locked), lockText(want.Locked)))
	}
	if !have.CreateDate.Equal(want.CreateDate.UTC().Truncate(time.Microsecond)) {
		d = append(d, fmt.Sprintf("creation date (here %s, old %s)", have.CreateDate.Format(time.RFC3339Nano), want.CreateDate.UTC().Format(time.RFC3339Nano)))
	}
	if !initialized && have.Initialized {
		d = append(d, "content (here some, old none)")
	}
	if len(d) == 0 && initialized && have.Initialized {
		size, sum, why, err := r.hashFile(ctx, want.ID)
		if err != nil {
			return err
		}
		switch {
		case why != "":
			// Nothing to compare with; what is here came from an earlier run.
			r.say("%s: already here; old content file unreadable (%s), the content here is kept", label, why)
		case have.Size == nil || have.SHA256 == nil || *have.Size != size || *have.SHA256 != sum:
			d = append(d, "content")
		}
	}
	if len(d) > 0 {
		r.rep.SharesRefused++
		r.problem("%s: not imported: a share with this id exists here with another %s", label, strings.Join(d, ", "))
		return nil
	}
	if !initialized || have.Initialized {
		r.rep.SharesPresent++
		r.say("%s: already here, identical: skipped", label)
		return nil
	}

	// Imported before without its content (the file was missing then).
	c, why, err := r.copyContent(ctx, want.ID)
	if err != nil {
		return err
	}
	if why != "" {
		r.rep.SharesPresent++
		r.problem("%s: already here without content, and still no content: %s", label, why)
		return nil
	}
	if !r.opt.DryRun {
		if err := r.store.FillImportedContent(ctx, want.ID, c.blob, c.modified); err != nil {
			_ = r.blobs.RemoveBlob(ctx, c.blob.ID)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.rep.SharesRefused++
			r.problem("%s: content not added: %s", label, errText(err))
			return nil
		}
	}
	r.rep.SharesFilled++
	r.rep.Bytes += c.blob.Size
	r.say("%s: already here without content: content %s (%d bytes)", label, r.verb("added"), c.blob.Size)
	return nil
}

// ---------------------------------------------------------------- content

type content struct {
	blob     domain.Blob
	modified time.Time
}

// openContent opens the old content file of share id and checks it is a
// regular file; why says what is wrong when it cannot be used.
func (r *run) openContent(id string) (f fs.File, fi fs.FileInfo, why string) {
	path := r.opt.FilesName + string(filepath.Separator) + id
	f, err := r.opt.Files.Open(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Sprintf("content file %s is missing", path)
	}
	if err != nil {
		return nil, nil, fmt.Sprintf("content file %s cannot be opened: %v", path, unwrapPath(err))
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Sprintf("content file %s cannot be read: %v", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Sprintf("content file %s is not a regular file", path)
	}
	return f, fi, ""
}

// copyContent copies share id's content file into a new blob. A file
// that is missing, unreadable, or shorter than it was when opened (cut
// off, or changed while being read) gives why instead; err only when ctx
// ends. A dry run reads nothing and reports the file's size.
func (r *run) copyContent(ctx context.Context, id string) (c content, why string, err error) {
	f, fi, why := r.openContent(id)
	if why != "" {
		return c, why, nil
	}
	defer f.Close()
	c.modified = fi.ModTime().UTC().Truncate(time.Microsecond)
	if r.opt.DryRun {
		c.blob.Size = fi.Size()
		return c, "", nil
	}
	src := &readTracker{r: f, run: r}
	blob, err := r.blobs.PutBlob(ctx, src)
	path := r.opt.FilesName + string(filepath.Separator) + id
	switch {
	case ctx.Err() != nil:
		return c, "", ctx.Err()
	case src.err != nil:
		return c, fmt.Sprintf("content file %s could not be read to the end: %v", path, unwrapPath(src.err)), nil
	case err != nil:
		return c, fmt.Sprintf("content could not be stored here: %s", errText(err)), nil
	case blob.Size != fi.Size():
		_ = r.blobs.RemoveBlob(ctx, blob.ID)
		return c, fmt.Sprintf("content file %s is truncated or changed while being read (%d bytes read, %d expected)", path, blob.Size, fi.Size()), nil
	}
	c.blob = blob
	return c, "", nil
}

// hashFile returns the size and SHA-256 of share id's old content file,
// to compare with what a previous run imported.
func (r *run) hashFile(ctx context.Context, id string) (size int64, sum, why string, err error) {
	f, fi, why := r.openContent(id)
	if why != "" {
		return 0, "", why, nil
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: f})
	if ctx.Err() != nil {
		return 0, "", "", ctx.Err()
	}
	if err != nil {
		return 0, "", fmt.Sprintf("content file cannot be read: %v", unwrapPath(err)), nil
	}
	if n != fi.Size() {
		return 0, "", fmt.Sprintf("content file is truncated or changed while being read (%d bytes read, %d expected)", n, fi.Size()), nil
	}
	return n, hex.EncodeToString(h.Sum(nil)), "", nil
}

// readTracker keeps the source's own read error apart from the blob
// store's write errors, and writes progress during a long copy.
type readTracker struct {
	r   io.Reader
	run *run
	err error
	n   int64
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	if err != nil && err != io.EOF {
		t.err = err
	}
	if t.run.opt.Progress != nil && t.run.opt.Now().Sub(t.run.last) >= t.run.opt.ProgressEvery {
		t.run.last = t.run.opt.Now()
		fmt.Fprintf(t.run.opt.Progress, "import: shares %d/%d, %s copied (%s of the current file)\n",
			t.run.done, t.run.total, humanBytes(t.run.rep.Bytes+t.n), humanBytes(t.n))
	}
	return n, err
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ---------------------------------------------------------------- summary

func (r *run) summary() {
	rep := r.rep
	head := "Imported"
	if r.opt.DryRun {
		head = "Dry run, nothing written. Would import"
	}
	r.say("")
	r.say("%s:", head)
	r.say("  users:  %d new, %d already here, %d refused", rep.UsersImported, rep.UsersPresent, rep.UsersRefused)
	r.say("  shares: %d new (%d of them without content), %d given their missing content, %d already here, %d refused",
		rep.SharesImported, rep.SharesUninitialized, rep.SharesFilled, rep.SharesPresent, rep.SharesRefused)
	r.say("  bytes:  %d (%s)", rep.Bytes, humanBytes(rep.Bytes))
	if r.stale > 0 {
		// The old server kept shares without content for ever; this one
		// deletes them once they are older than SACHET_STALE_AFTER.
		what := plural(r.stale, "imported share")
		if r.opt.DryRun {
			what = plural(r.stale, "share") + " to import"
		}
		r.say("Note: %s without content (never uploaded on the old server, or whose file was missing) %s kept for SACHET_STALE_AFTER (%v) from now, then cleanup deletes %s unless their content is added first (restore the files and run the import again).",
			what, map[bool]string{true: "is", false: "are"}[r.stale == 1], r.opt.StaleAfter, map[bool]string{true: "it", false: "them"}[r.stale == 1])
	}
	if len(rep.Problems) == 0 {
		r.say("No problems.")
		return
	}
	r.say("%s:", plural(len(rep.Problems), "problem"))
	for _, p := range rep.Problems {
		r.say("  - %s", p)
	}
}

// ---------------------------------------------------------------- helpers

// fatal turns a failure of this server's database into the end of the
// run: with the database down every item would fail the same way.
func (r *run) fatal(ctx context.Context, err error, label string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: %w", label, err)
}

// errText is the message of a domain error, or the error itself: this is
// an operator's terminal, not a client.
func errText(err error) string {
	if m := domain.Message(err); m != "" {
		return m
	}
	return err.Error()
}

// unwrapPath drops the *PathError wrapping, whose path the message says already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func ownerText(o *string) string {
	if o == nil {
		return "anonymous"
	}
	return fmt.Sprintf("%q", *o)
}

func lockText(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}

// shareID turns the old share_id (16 bytes, or a UUID's text) into the
// canonical lowercase hyphenated form.
func shareID(raw []byte) (string, error) {
	if len(raw) == 16 {
		u, err := uuid.FromBytes(raw)
		return u.String(), err
	}
	u, err := uuid.ParseBytes(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// naiveLayouts are the ways the old server's databases write a DATETIME.
var naiveLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseNaive reads a naive timestamp as local time in loc.
func parseNaive(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range naiveLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date: %q", s)
}

// cleanFileName makes an old file name acceptable here, changing no more
// than needed: '/', '\' and control characters become '_', invalid UTF-8
// becomes U+FFFD, and the result is cut to 255 bytes. An empty name
// becomes the share id, as a share created without one is named here.
func cleanFileName(name, id string) string {
	if domain.ValidateFileName(name) == nil {
		return name
	}
	var b strings.Builder
	for _, c := range strings.ToValidUTF8(name, "\uFFFD") {
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			c = '_'
		}
		if b.Len()+utf8.RuneLen(c) > 255 {
			break
		}
		b.WriteRune(c)
	}
	if b.Len() == 0 {
		return id
	}
	return b.String()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// OpenFiles opens the old server's storage for reading. dir is its
// SACHET_FILE_DIR (content in dir/files/) or that files folder itself.
func OpenFiles(dir string) (fs.FS, string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, "", fmt.Errorf("--files: %w", err)
	}
	if !fi.IsDir() {
		return nil, "", fmt.Errorf("--files: %s is not a directory", dir)
	}
	if sub := filepath.Join(dir, "files"); isDir(sub) {
		dir = sub
	}
	return os.DirFS(dir), dir, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
