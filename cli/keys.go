package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sachet-server/sachet/client"
	"github.com/sachet-server/sachet/gen"
)

// key manages the signed-in user's API keys (/users/{username}/keys):
// create, ls, rm. The user is the one the kept credential names (asked of
// /whoami, so it works when that credential is itself a key), or --user
// for an admin.
func key(ctx context.Context, r *runner, args []string) error {
	if len(args) == 0 {
		return usagef("key needs a subcommand: create, ls or rm")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return keyCreate(ctx, r, args)
	case "ls", "list":
		return keyList(ctx, r, args)
	case "rm", "revoke":
		return keyRemove(ctx, r, args)
	}
	return usagef("key: unknown subcommand %q: create, ls or rm", sub)
}

// keyUser is --user, or the caller's own name.
func keyUser(ctx context.Context, c *client.Client, user string) (string, error) {
	if user != "" {
		return user, nil
	}
	w, err := c.Whoami(ctx)
	if err != nil {
		return "", err
	}
	name, err := w.Username.Get()
	if err != nil || name == "" {
		// The server answered as to an anonymous caller.
		return "", errNotLoggedIn
	}
	return name, nil
}

// keyJSON is a key as the client prints it with --json.
type keyJSON struct {
	KeyID        string     `json:"key_id"`
	Name         string     `json:"name"`
	Permissions  []string   `json:"permissions"`
	CreateDate   *time.Time `json:"create_date,omitempty"`
	ExpireDate   *time.Time `json:"expire_date"`
	LastUsedDate *time.Time `json:"last_used_date"`
}

func keyToJSON(k gen.ApiKey) keyJSON {
	j := keyJSON{Name: k.Name, CreateDate: k.CreateDate, Permissions: []string{}}
	if k.KeyId != nil {
		j.KeyID = *k.KeyId
	}
	for _, p := range k.Permissions {
		j.Permissions = append(j.Permissions, string(p))
	}
	if v, err := k.ExpireDate.Get(); err == nil {
		j.ExpireDate = &v
	}
	if v, err := k.LastUsedDate.Get(); err == nil {
		j.LastUsedDate = &v
	}
	return j
}

func keyCreate(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("key create")
	perms := fs.String("permissions", "", "comma-separated permission codes, e.g. CREATE,READ (default: all of yours)")
	expires := fs.String("expires", "", "when the key stops working: an RFC 3339 time, or a duration from now such as 720h (default: never)")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return usagef(`key create needs the key's name, e.g. sachet key create "nightly backup" --permissions CREATE,READ`)
	}
	body := gen.ApiKeyCreate{Name: operands[0], Permissions: gen.Permissions{}}
	if *expires != "" {
		t, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		body.ExpireDate = &t
	}
	c, _, err := r.connect(false)
	if err != nil {
		return err
	}
	w, err := c.Whoami(ctx)
	if err != nil {
		return err
	}
	user, err := w.Username.Get()
	if err != nil || user == "" {
		return errNotLoggedIn
	}
	if *perms == "" {
		body.Permissions = w.Permissions
	} else {
		for _, p := range strings.Split(*perms, ",") {
			if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
				body.Permissions = append(body.Permissions, gen.Permission(p))
			}
		}
	}
	resp, err := c.API().CreateApiKeyWithResponse(ctx, user, body)
	if err != nil {
		return err
	}
	if resp.JSON201 == nil {
		return client.AsError(resp.HTTPResponse, resp.Body)
	}
	k := resp.JSON201
	if r.json {
		r.out(map[string]any{"secret": k.Secret, "url": k.Url, "key": keyToJSON(k.Key)}, "")
		return nil
	}
	// The secret alone on stdout, so that KEY=$(sachet key create …) works;
	// the rest on stderr.
	kj := keyToJSON(k.Key)
	fmt.Fprintf(r.env.Stderr, "Created API key %s (%q, %s) for %s. Its secret is shown this once:\n",
		kj.KeyID, kj.Name, strings.Join(kj.Permissions, ","), user)
	r.out(nil, k.Secret)
	return nil
}

// parseExpiry reads --expires: an RFC 3339 time, or a duration from now.
func parseExpiry(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, usagef("--expires %q is neither an RFC 3339 time (2027-01-01T00:00:00Z) nor a positive duration (720h)", v)
	}
	return now.Add(d).UTC().Truncate(time.Second), nil
}

func keyList(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("key ls")
	user := fs.String("user", "", "list this user's keys (admins; default: yours)")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 0 {
		return usagef("key ls takes no arguments")
	}
	c, _, err := r.connect(false)
	if err != nil {
		return err
	}
	name, err := keyUser(ctx, c, *user)
	if err != nil {
		return err
	}
	resp, err := c.API().ListApiKeysWithResponse(ctx, name)
	if err != nil {
		return err
	}
	if resp.JSON200 == nil {
		return client.AsError(resp.HTTPResponse, resp.Body)
	}
	all := []keyJSON{}
	for _, k := range resp.JSON200.Data {
		all = append(all, keyToJSON(k))
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
	fmt.Fprintln(tw, "KEY ID\tNAME\tPERMISSIONS\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.Name, strings.Join(k.Permissions, ","),
			day(k.CreateDate, ""), day(k.ExpireDate, "never"), day(k.LastUsedDate, "never"))
	}
	return tw.Flush()
}

func keyRemove(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("key rm")
	user := fs.String("user", "", "revoke this user's keys (admins; default: yours)")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) == 0 {
		return usagef("key rm needs at least one key id (see sachet key ls)")
	}
	c, _, err := r.connect(false)
	if err != nil {
		return err
	}
	name, err := keyUser(ctx, c, *user)
	if err != nil {
		return err
	}
	// Each key in turn, going on after a failure; the first one decides
	// the exit status (as rm does for shares).
	var first error
	for _, id := range operands {
		err := func() error {
			resp, err := c.API().DeleteApiKeyWithResponse(ctx, name, id)
			if err != nil {
				return err
			}
			if resp.StatusCode() != 200 {
				return client.AsError(resp.HTTPResponse, resp.Body)
			}
			return nil
		}()
		res := map[string]any{"key_id": id, "command": "key rm", "ok": err == nil}
		text := "revoked: " + id
		if err != nil {
			res["error"] = err.Error()
			if first == nil {
				first = err
			}
			if !r.json {
				fmt.Fprintln(r.env.Stderr, "sachet: key rm "+id+": "+message(err))
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
