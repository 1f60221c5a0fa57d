package cli

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/sachet-server/sachet/client"
	"github.com/sachet-server/sachet/gen"
)

// link manages a share's public links (/files/{id}/links): create, ls,
// rm. The share is named by id or URL, as for rm and lock.
func link(ctx context.Context, r *runner, args []string) error {
	if len(args) == 0 {
		return usagef("link needs a subcommand: create, ls or rm")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return linkCreate(ctx, r, args)
	case "ls", "list":
		return linkList(ctx, r, args)
	case "rm", "revoke":
		return linkRemove(ctx, r, args)
	}
	return usagef("link: unknown subcommand %q: create, ls or rm", sub)
}

// linkJSON is a link as the client prints it with --json.
type linkJSON struct {
	LinkID        string     `json:"link_id"`
	ShareID       string     `json:"share_id"`
	Label         *string    `json:"label"`
	CreateDate    *time.Time `json:"create_date,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at"`
	MaxDownloads  *int64     `json:"max_downloads"`
	Downloads     int64      `json:"downloads"`
	DownloadsLeft *int64     `json:"downloads_left"`
	HasPassword   bool       `json:"has_password"`
	State         string     `json:"state"`
}

func linkToJSON(l gen.Link) linkJSON {
	j := linkJSON{CreateDate: l.CreateDate, Downloads: l.Downloads, HasPassword: l.HasPassword, State: string(l.State)}
	if l.LinkId != nil {
		j.LinkID = *l.LinkId
	}
	if l.ShareId != nil {
		j.ShareID = l.ShareId.String()
	}
	if v, err := l.Label.Get(); err == nil {
		j.Label = &v
	}
	if v, err := l.ExpiresAt.Get(); err == nil {
		j.ExpiresAt = &v
	}
	if v, err := l.MaxDownloads.Get(); err == nil {
		j.MaxDownloads = &v
	}
	if v, err := l.DownloadsLeft.Get(); err == nil {
		j.DownloadsLeft = &v
	}
	return j
}

// linkShare resolves a share operand and connects to its server, with the
// kept credential (managing links needs one).
func (r *runner) linkShare(ref string) (*client.Client, string, string, error) {
	id, server, err := shareRef(ref)
	if err != nil {
		return nil, "", "", err
	}
	rr := *r
	rr.urlServer = server
	c, base, err := rr.connect(false)
	return c, id, base, err
}

func linkCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("link create")
	label := fs.String("label", "", "a note for you, shown by link ls")
	expires := fs.String("expires", "", "when the link stops serving: an RFC 3339 time, or a duration from now such as 72h (default: never)")
	maxDownloads := fs.Int64("max-downloads", 0, "how many downloads the link serves (default: no limit)")
	passwordFile := fs.String("password-file", "", `protect the link with the password in this file ("-": stdin); never on the command line`)
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return usagef("link create needs one share id or URL, e.g. sachet link create ID --expires 72h --max-downloads 1")
	}
	if *maxDownloads < 0 {
		return usagef("--max-downloads must be positive")
	}
	o := client.LinkOptions{Label: *label, MaxDownloads: *maxDownloads}
	if *expires != "" {
		if o.ExpiresAt, err = parseExpiry(*expires, time.Now()); err != nil {
			return err
		}
	}
	if *passwordFile != "" {
		if o.Password, err = r.readPassword(bufio.NewReader(r.env.Stdin), *passwordFile); err != nil {
			return err
		}
	}
	c, id, base, err := r.linkShare(operands[0])
	if err != nil {
		return err
	}
	l, err := c.CreateLink(ctx, id, o)
	if err != nil {
		return err
	}
	url := base + l.Url
	if r.json {
		r.out(map[string]any{"url": url, "token": l.Token, "link": linkToJSON(l.Link)}, "")
		return nil
	}
	// The link alone on stdout, so that URL=$(sachet link create …) works.
	lj := linkToJSON(l.Link)
	fmt.Fprintf(r.env.Stderr, "Created link %s to share %s; it is shown this once (content at <link>/content):\n", lj.LinkID, id)
	r.out(nil, url)
	return nil
}

func linkList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("link ls")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return usagef("link ls needs one share id or URL")
	}
	c, id, _, err := r.linkShare(operands[0])
	if err != nil {
		return err
	}
	links, err := c.Links(ctx, id)
	if err != nil {
		return err
	}
	all := []linkJSON{}
	for _, l := range links {
		all = append(all, linkToJSON(l))
	}
	if r.json {
		r.out(all, "")
		return nil
	}
	day := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format("2006-01-02 15:04")
	}
	tw := tabwriter.NewWriter(r.env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK ID\tSTATE\tDOWNLOADS\tEXPIRES\tPASSWORD\tLABEL")
	for _, l := range all {
		dl := strconv.FormatInt(l.Downloads, 10)
		if l.MaxDownloads != nil {
			dl += "/" + strconv.FormatInt(*l.MaxDownloads, 10)
		}
		pw, label := "no", ""
		if l.HasPassword {
			pw = "yes"
		}
		if l.Label != nil {
			label = *l.Label
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.LinkID, l.State, dl, day(l.ExpiresAt, "never"), pw, label)
	}
	return tw.Flush()
}

func linkRemove(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("link rm")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) < 2 {
		return usagef("link rm needs a share id or URL and at least one link id (see sachet link ls)")
	}
	c, id, _, err := r.linkShare(operands[0])
	if err != nil {
		return err
	}
	// Each link in turn, going on after a failure; the first one decides
	// the exit status (as key rm does).
	var first error
	for _, lid := range operands[1:] {
		err := c.RevokeLink(ctx, id, lid)
		res := map[string]any{"link_id": lid, "share_id": id, "command": "link rm", "ok": err == nil}
		if err != nil {
			res["error"] = err.Error()
			if first == nil {
				first = err
			}
			if !r.json {
				fmt.Fprintln(r.env.Stderr, "sachet: link rm "+lid+": "+message(err))
				continue
			}
		}
		r.out(res, "revoked: "+lid)
	}
	if first != nil && !r.json {
		return quiet{first}
	}
	return first
}
