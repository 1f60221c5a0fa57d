// Command sachet runs the Sachet file-share server and its operator
// commands, all from one configuration (flags, each with a SACHET_*
// environment variable).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/sachet-server/sachet/app"
	"github.com/sachet-server/sachet/cli"
	"github.com/sachet-server/sachet/domain"
)

const usage = `usage: sachet <command> [flags]

client commands (login, logout, push, pull, ls, rm, lock, unlock): run "sachet help"

commands:
  serve                                   run the server
  user create --username NAME [--password-file FILE|-] [--admin]
                                          create a user (prompts for the password;
                                          --password PW works too, but shows it to ps)
  user delete NAME [--yes]                delete a user (flags before or after NAME)
  import --files DIR [--timezone ZONE] [--dry-run] SOURCE
                                          bring users, settings and shares over from a
                                          Python Sachet (SOURCE: its SQLite file or a MySQL DSN)
  cleanup                                 delete stale uploads, shares and orphan files
  migrate                                 bring the database schema up to date

Every command takes the configuration flags; run "sachet serve -h" to list them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && cli.IsCommand(os.Args[1]) { // the client: login, push, pull, ...
		code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
		stop()
		os.Exit(code)
	}
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sachet:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	if cmd == "user" {
		if len(args) == 0 {
			fmt.Fprint(stderr, usage)
			return errors.New("user needs create or delete")
		}
		cmd, args = "user "+args[0], args[1:]
	}
	fs := flag.NewFlagSet("sachet "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	load := app.BindFlags(fs, getenv)
	var (
		username = new(string)
		password = new(string)
		pwFile   = new(string)
		admin    = new(bool)
		yes      = new(bool)
		imp      importFlags
	)
	switch cmd {
	case "serve", "cleanup", "migrate":
	case "user create":
		username = fs.String("username", "", "the new user's name")
		password = fs.String("password", "", "the password (visible to other local users in the process list: prefer --password-file, or the prompt)")
		pwFile = fs.String("password-file", "", `read the password from this file ("-": standard input); one trailing newline is dropped`)
		admin = fs.Bool("admin", false, "grant the ADMIN permission")
	case "user delete":
		yes = fs.Bool("yes", false, "do not ask for confirmation")
	case "import":
		imp.bind(fs)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	args, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if cmd == "import" {
		if err := imp.source(args); err != nil {
			return err
		}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	// The log leaves from a goroutine of its own (logwriter.go) only to a
	// file: a file takes writes from any goroutine, while a writer handed
	// in (a test's buffer, which may also be stdout) is written from the
	// calling goroutines, as before.
	var logOut io.Writer = stderr
	if f, ok := stderr.(*os.File); ok {
		lw := newLogWriter(f)
		defer lw.Close()
		logOut = lw
	}
	log := newLogger(cfg.LogFormat, logOut)

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()

	switch cmd {
	case "migrate":
		fmt.Fprintln(stdout, "database schema is up to date")
		return nil
	case "cleanup":
		r, err := a.Cleanup(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %d expired shares' files, %d stale files, %d orphan files, %d expired token records\n", r.ExpiredFiles, r.StaleFiles, r.OrphanFiles, r.RevokedTokens)
		return nil
	case "user create":
		return userCreate(ctx, a, *username, *password, *pwFile, *admin, stdin, stdout, stderr)
	case "user delete":
		return userDelete(ctx, a, args, *yes, stdin, stdout, stderr)
	case "import":
		return imp.run(ctx, a, cfg.StaleAfter, stdout, stderr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("invalid SACHET_ADDR %q: %w", cfg.Addr, err)
	}
	log.Info("sachet serving", "addr", "http://"+ln.Addr().String(), "database", a.Store.Dialect(), "data_dir", cfg.DataDir)
	err = a.Serve(ctx, ln)
	log.Info("sachet stopped")
	return err
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func userCreate(ctx context.Context, a *app.App, username, password, pwFile string, admin bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if username == "" {
		return errors.New("user create needs --username")
	}
	if pwFile != "" {
		if password != "" {
			return errors.New("give --password or --password-file, not both")
		}
		var err error
		if password, err = readPasswordFile(pwFile, stdin); err != nil {
			return err
		}
	}
	if password == "" {
		var err error
		if password, err = promptPassword(stdin, stderr); err != nil {
			return err
		}
	}
	var perms domain.Perm
	if admin {
		perms = domain.PermAdmin // like the reference server: ADMIN only
	}
	if err := a.CreateUser(ctx, username, password, perms); err != nil {
		if m := domain.Message(err); m != "" {
			return errors.New(m)
		}
		return err
	}
	fmt.Fprintf(stdout, "created user %q\n", username)
	return nil
}

// promptPassword reads a password without echo from a terminal, or one
// line from a pipe.
func promptPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		b2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", errors.New("the passwords differ")
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password given: use --password or type it at the prompt")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func userDelete(ctx context.Context, a *app.App, args []string, yes bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return errors.New("user delete needs exactly one user name")
	}
	name := args[0]
	if !yes {
		fmt.Fprintf(stderr, "Delete user %q? [y/N] ", name)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("not deleted")
		}
	}
	if err := a.DeleteUser(ctx, name); err != nil {
		if m := domain.Message(err); m != "" {
			return errors.New(m)
		}
		return err
	}
	fmt.Fprintf(stdout, "deleted user %q\n", name)
	return nil
}

// parseInterleaved parses flags wherever they are among the arguments
// ("user delete alice --yes" as well as "user delete --yes alice"), where
// the flag package stops at the first non-flag. It returns the other
// arguments in order; everything after "--" is one of them.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" {
			return append(rest, left...), nil
		}
		rest, args = append(rest, left[0]), left[1:]
	}
}

// maxPasswordFile bounds what --password-file reads: a password is at most
// 72 bytes, so anything near this is the wrong file.
const maxPasswordFile = 4096

// readPasswordFile reads a password from path, or from stdin for "-", so
// that it never appears on a command line. One trailing newline (LF or
// CRLF), as editors and echo add, is not part of it; other whitespace is.
func readPasswordFile(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordFile+1))
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	if len(b) > maxPasswordFile {
		return "", fmt.Errorf("--password-file: longer than %d bytes, which no password is", maxPasswordFile)
	}
	pw := string(b)
	if p, ok := strings.CutSuffix(pw, "\n"); ok {
		pw = strings.TrimSuffix(p, "\r")
	}
	if pw == "" {
		return "", errors.New("--password-file: the password is empty")
	}
	return pw, nil
}
