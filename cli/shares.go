package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sachet-server/sachet/client"
	"github.com/sachet-server/sachet/gen"
)

// shareRef reads a share given as an id or a URL ("…/files/<id>[/content]").
// A URL names its server, which then overrides the logged-in one.
func shareRef(ref string) (id, server string, err error) {
	if !strings.Contains(ref, "://") {
		if ref == "" || strings.ContainsAny(ref, "/?#") {
			return "", "", usagef("%q is not a share id or URL", ref)
		}
		return ref, "", nil
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return "", "", usagef("%q is not a share URL", ref)
	}
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/content")
	i := strings.LastIndex(p, "/files/")
	if i < 0 || strings.Contains(p[i+len("/files/"):], "/") || len(p) == i+len("/files/") {
		return "", "", usagef("%q is not a share URL (…/files/<id>)", ref)
	}
	return p[i+len("/files/"):], u.Scheme + "://" + u.Host + p[:i], nil
}

// shareJSON is a share as the client prints it with --json.
type shareJSON struct {
	ShareID     string     `json:"share_id"`
	FileName    string     `json:"file_name"`
	Owner       *string    `json:"owner_name"`
	Initialized bool       `json:"initialized"`
	Locked      bool       `json:"locked"`
	CreateDate  *time.Time `json:"create_date,omitempty"`
	Size        *int64     `json:"size"`
	SHA256      *string    `json:"sha256"`
}

func toJSON(s gen.Share) shareJSON {
	j := shareJSON{FileName: s.FileName, CreateDate: s.CreateDate}
	if s.ShareId != nil {
		j.ShareID = s.ShareId.String()
	}
	if v, err := s.OwnerName.Get(); err == nil {
		j.Owner = &v
	}
	if s.Initialized != nil {
		j.Initialized = *s.Initialized
	}
	if s.Locked != nil {
		j.Locked = *s.Locked
	}
	if v, err := s.Size.Get(); err == nil {
		j.Size = &v
	}
	if v, err := s.Sha256.Get(); err == nil {
		j.SHA256 = &v
	}
	return j
}

func ls(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("ls")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 0 {
		return usagef("ls takes no arguments")
	}
	c, _, err := r.connect(true)
	if err != nil {
		return err
	}
	all := []shareJSON{}
	per := gen.PerPage(100)
	for page := 1; ; page++ {
		p := gen.Page(page)
		resp, err := c.API().ListSharesWithResponse(ctx, &gen.ListSharesParams{Page: &p, PerPage: &per})
		if err != nil {
			return err
		}
		if resp.JSON200 == nil {
			return client.AsError(resp.HTTPResponse, resp.Body)
		}
		for _, s := range resp.JSON200.Data {
			all = append(all, toJSON(s))
		}
		if resp.JSON200.Next.IsNull() || !resp.JSON200.Next.IsSpecified() {
			break
		}
	}
	if r.json {
		r.out(all, "")
		return nil
	}
	tw := tabwriter.NewWriter(r.env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSIZE\tSTATE\tCREATED")
	for _, s := range all {
		sz, state := "-", "empty"
		if s.Size != nil {
			sz = size(*s.Size)
		}
		if s.Initialized {
			state = "ready"
		}
		if s.Locked {
			state += ",locked"
		}
		created := ""
		if s.CreateDate != nil {
			created = s.CreateDate.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ShareID, s.FileName, sz, state, created)
	}
	return tw.Flush()
}

// eachShare runs op on every share named on the command line, going on
// after a failure; the first failure decides the exit status.
func eachShare(ctx context.Context, r *runner, name string, args []string, op func(c *client.Client, id string) error) error {
	fs := r.flags(name)
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) == 0 {
		return usagef("%s needs at least one share id or URL", name)
	}
	var first error
	for _, ref := range operands {
		err := func() error {
			id, server, err := shareRef(ref)
			if err != nil {
				return err
			}
			rr := *r
			rr.urlServer = server
			c, _, err := rr.connect(true)
			if err != nil {
				return err
			}
			return op(c, id)
		}()
		res := map[string]any{"share_id": ref, "command": name, "ok": err == nil}
		text := fmt.Sprintf("%s: %s", name, ref)
		if err != nil {
			res["error"] = err.Error()
			text += ": " + message(err)
			if first == nil {
				first = err
			}
			if !r.json {
				fmt.Fprintln(r.env.Stderr, "sachet:", text)
				continue
			}
		}
		r.out(res, text)
	}
	if first != nil && !r.json {
		return quiet{first}
	}
	return first
}

// quiet is an error already reported to the user: Main prints it once
// more only as the exit status's reason.
type quiet struct{ error }

func (q quiet) Unwrap() error { return q.error }

func rm(ctx context.Context, r *runner, args []string) error {
	return eachShare(ctx, r, "rm", args, func(c *client.Client, id string) error {
		resp, err := c.API().DeleteShareWithResponse(ctx, id)
		if err != nil {
			return err
		}
		if resp.StatusCode() != 200 {
			return client.AsError(resp.HTTPResponse, resp.Body)
		}
		return nil
	})
}

func lock(ctx context.Context, r *runner, args []string) error {
	return eachShare(ctx, r, "lock", args, func(c *client.Client, id string) error {
		resp, err := c.API().LockShareWithResponse(ctx, id)
		if err != nil {
			return err
		}
		if resp.StatusCode() != 200 {
			return client.AsError(resp.HTTPResponse, resp.Body)
		}
		return nil
	})
}

func unlock(ctx context.Context, r *runner, args []string) error {
	return eachShare(ctx, r, "unlock", args, func(c *client.Client, id string) error {
		resp, err := c.API().UnlockShareWithResponse(ctx, id)
		if err != nil {
			return err
		}
		if resp.StatusCode() != 200 {
			return client.AsError(resp.HTTPResponse, resp.Body)
		}
		return nil
	})
}
