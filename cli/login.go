package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sachet-server/sachet/client"
)

func login(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("login")
	username := fs.String("username", "", "user name (prompted for when absent)")
	passwordFile := fs.String("password-file", "", `read the password from this file ("-": stdin) instead of prompting`)
	key := fs.String("key", "", "keep this API key (sachet_…) as the credential instead of signing in")
	operands, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return usagef("login needs the server's URL, e.g. sachet login http://127.0.0.1:5000")
	}
	server := strings.TrimRight(operands[0], "/")
	if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("login: %q is not an http(s) URL", operands[0])
	}
	if *key != "" {
		path, err := r.saveCredentials(&credentials{Server: server, Kind: "key", Token: *key})
		if err != nil {
			return err
		}
		r.out(map[string]any{"server": server, "kind": "key", "credentials": path},
			fmt.Sprintf("Kept the API key for %s in %s.", server, path))
		return nil
	}
	in := bufio.NewReader(r.env.Stdin)
	if *username == "" {
		fmt.Fprint(r.env.Stderr, "Username: ")
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return usagef("no user name given: use --username")
		}
		*username = strings.TrimSpace(line)
	}
	password, err := r.readPassword(in, *passwordFile)
	if err != nil {
		return err
	}
	c, err := client.New(server)
	if err != nil {
		return err
	}
	token, err := c.Login(ctx, *username, password)
	if err != nil {
		return err
	}
	path, err := r.saveCredentials(&credentials{Server: server, Username: *username, Kind: "token", Token: token})
	if err != nil {
		return err
	}
	r.out(map[string]any{"server": server, "username": *username, "kind": "token", "credentials": path},
		fmt.Sprintf("Logged in to %s as %s; the token is kept in %s.", server, *username, path))
	return nil
}

// readPassword reads from file ("-": stdin, first line), else prompts
// without echo on a terminal, else reads a line from stdin (a pipe).
func (r *runner) readPassword(in *bufio.Reader, file string) (string, error) {
	firstLine := func(rd io.Reader) (string, error) {
		line, err := bufio.NewReader(rd).ReadString('\n')
		if err != nil && line == "" {
			return "", usagef("no password given")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	switch {
	case file == "-":
		return firstLine(in)
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return firstLine(f)
	}
	if f, ok := r.env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(r.env.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(r.env.Stderr)
		return string(b), err
	}
	fmt.Fprint(r.env.Stderr, "Password: ")
	return firstLine(in)
}

func logout(ctx context.Context, r *runner, args []string) error {
	fs := r.flags("logout")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, server, err := r.connect(false)
	if err != nil {
		return err
	}
	// A token the server no longer takes is as good as revoked: forget it.
	if err := c.Logout(ctx); err != nil && client.StatusOf(err) != 400 && client.StatusOf(err) != 401 {
		return err
	}
	if err := r.removeCredentials(); err != nil {
		return err
	}
	r.out(map[string]any{"server": server, "logged_out": true}, "Logged out of "+server+".")
	return nil
}
