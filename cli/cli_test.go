package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"reflect"
	"syscall"
	"testing"

	"github.com/sachet-server/sachet/client"
)

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		name     string
		args     []string
		operands []string
		json     bool
		out      string
	}{
		{"FlagsFirst", []string{"--json", "-o", "x", "a", "b"}, []string{"a", "b"}, true, "x"},
		{"FlagsBetween", []string{"a", "--json", "b", "-o", "x"}, []string{"a", "b"}, true, "x"},
		{"FlagsLast", []string{"a", "b", "-o=x"}, []string{"a", "b"}, false, "x"},
		{"DashDashEnds", []string{"a", "--", "--json", "-o"}, []string{"a", "--json", "-o"}, false, ""},
		{"None", nil, nil, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			j := fs.Bool("json", false, "")
			o := fs.String("o", "", "")
			got, err := parse(fs, c.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.operands) || *j != c.json || *o != c.out {
				t.Errorf("parse(%q) = %q json=%v o=%q; want %q json=%v o=%q", c.args, got, *j, *o, c.operands, c.json, c.out)
			}
		})
	}
}

func TestShareRef(t *testing.T) {
	const id = "9ae90f06-a751-409c-a9fe-8277575b9914"
	for _, c := range []struct {
		name, in, id, server string
		bad                  bool
	}{
		{"ID", id, id, "", false},
		{"URL", "http://h:5000/files/" + id, id, "http://h:5000", false},
		{"ContentURL", "https://h/files/" + id + "/content", id, "https://h", false},
		{"URLUnderPrefix", "https://h/sachet/files/" + id + "/", id, "https://h/sachet", false},
		{"NotAShareURL", "http://h/users/x", "", "", true},
		{"PathAsID", "a/b", "", "", true},
		{"Empty", "", "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			gotID, gotServer, err := shareRef(c.in)
			if (err != nil) != c.bad || gotID != c.id || gotServer != c.server {
				t.Errorf("shareRef(%q) = %q, %q, %v", c.in, gotID, gotServer, err)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"Other", bg, errors.New("x"), ExitError},
		{"Usage", bg, usagef("bad"), ExitUsage},
		{"NotLoggedIn", bg, fmt.Errorf("push: %w", errNotLoggedIn), ExitAuth},
		{"Unauthorized", bg, &client.Error{Status: 401}, ExitAuth},
		{"Forbidden", bg, fmt.Errorf("push f: %w", &client.Error{Status: 403}), ExitForbidden},
		{"NotFound", bg, &client.Error{Status: 404}, ExitNotFound},
		{"Locked", bg, &client.Error{Status: 423}, ExitConflict},
		{"Conflict", bg, &client.Error{Status: 409}, ExitConflict},
		{"ServerError", bg, &client.Error{Status: 503}, ExitUnavailable},
		{"Network", bg, &net.OpError{Op: "dial", Err: errors.New("refused")}, ExitUnavailable},
		{"HTTPClient", bg, &url.Error{Op: "Get", URL: "http://h", Err: io.ErrUnexpectedEOF}, ExitUnavailable},
		{"NoSuchFile", bg, &fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, ExitError},
		{"Mismatch", bg, verifyError{"sha"}, ExitVerify},
		{"ContentChanged", bg, client.ErrContentChanged, ExitVerify},
		{"Interrupted", canceled, context.Canceled, ExitInterrupted},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := exitCode(c.ctx, c.err); got != c.want {
				t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
			}
		})
	}
}

func TestXDGDirs(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	r := &runner{env: Env{Getenv: func(k string) string { return env[k] }}}
	if d, _ := r.configDir(); d != "/home/u/.config/sachet" {
		t.Errorf("config dir %q", d)
	}
	if d, _ := r.stateDir(); d != "/home/u/.local/state/sachet" {
		t.Errorf("state dir %q", d)
	}
	env["XDG_CONFIG_HOME"], env["XDG_STATE_HOME"] = "/c", "relative/ignored"
	if d, _ := r.configDir(); d != "/c/sachet" {
		t.Errorf("config dir %q", d)
	}
	if d, _ := r.stateDir(); d != "/home/u/.local/state/sachet" {
		t.Errorf("state dir with a relative XDG_STATE_HOME: %q", d)
	}
}

func TestCredentialStaysWithItsServer(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": dir}
	r := &runner{env: Env{Getenv: func(k string) string { return env[k] }}}
	if _, err := r.saveCredentials(&credentials{Server: "http://a:5000", Kind: "token", Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, server, urlServer string
		wantServer, wantToken   string
	}{
		{"LoggedIn", "", "", "http://a:5000", "tok"},
		{"URLOfTheSameServer", "", "http://a:5000/", "http://a:5000", "tok"},
		{"URLOfAnotherServer", "", "http://evil:5000", "http://evil:5000", ""},
		{"ExplicitServer", "http://proxy:1", "http://evil:5000", "http://proxy:1", "tok"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rr := *r
			rr.server, rr.urlServer = c.server, c.urlServer
			cl, server, err := rr.connect(true)
			if err != nil {
				t.Fatal(err)
			}
			if server != c.wantServer || cl.Token() != c.wantToken {
				t.Errorf("server %q token %q, want %q %q", server, cl.Token(), c.wantServer, c.wantToken)
			}
		})
	}
}
