// Package cli is the client half of the sachet binary: login, push, pull,
// ls, rm, lock, unlock, key and link against a Sachet server, built on package client
// (and through it the generated client in gen). It writes results to
// stdout (or JSON with --json, for scripts), progress and errors to
// stderr, and says what went wrong through its exit status.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strings"

	"github.com/sachet-server/sachet/client"
)

// Exit statuses, documented in the help text: a script can tell "log in
// again" from "no such share" from "the bytes are wrong" without parsing
// messages.
const (
	ExitOK          = 0
	ExitError       = 1 // anything not below
	ExitUsage       = 2 // bad command line
	ExitAuth        = 3 // not logged in, or the token was refused (401)
	ExitForbidden   = 4 // the server refused: a permission is missing (403)
	ExitNotFound    = 5 // no such share (404)
	ExitConflict    = 6 // the share's state forbids it: locked, already has content (409, 423)
	ExitVerify      = 7 // SHA-256 mismatch, or the file changed while it was pushed
	ExitUnavailable = 8 // the server could not be reached, or failed (5xx)
	ExitInterrupted = 130
)

// Env is what a command may touch of the process, so tests can give it
// their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// commands maps each client command to its implementation.
var commands = map[string]func(ctx context.Context, r *runner, args []string) error{
	"login":  login,
	"logout": logout,
	"push":   push,
	"pull":   pull,
	"ls":     ls,
	"rm":     rm,
	"lock":   lock,
	"unlock": unlock,
	"key":    key,
	"link":   link,
	"help":   help,
}

// IsCommand reports whether name is one of the client's commands, for the
// binary's dispatch.
func IsCommand(name string) bool {
	_, ok := commands[name]
	return ok || name == "--help" || name == "-h"
}

const usage = `usage: sachet <command> [flags] [args]

Client commands (talk to a server over HTTP):
  login URL [--username NAME] [--password-file FILE | --key KEY]
                    sign in and keep the token in $XDG_CONFIG_HOME/sachet/
                    (default ~/.config/sachet, mode 0600). The password is
                    prompted for without echo, or read from FILE ("-": stdin).
                    --key stores an API key (sachet_…) as the credential
                    instead: it is sent like a token, with the key's
                    permissions (see "key create").
  logout            revoke the kept token and forget it
  push FILE...      create a share per file and upload it in parallel chunks;
                    prints each share's URL. Run it again after an
                    interruption and it sends only the chunks the server
                    lacks. The last chunk carries the file's SHA-256,
                    which the server checks before it keeps the upload,
                    and each chunk its own (--chunk-sha256), checked
                    before the server keeps the chunk; the file's SHA-256
                    is checked again against the share's at the end. The
                    file is read once, hashed as it is sent. Flags:
                    --streams N (chunks at once), --chunk-sha256[=false]
                    (per-chunk sums: a SHA-256 pass more on each end),
                    --chunk-size BYTES (8 MiB), --name NAME (one file
                    only). Defaults: 4 streams with per-chunk sums; to a
                    server on loopback (localhost, 127.0.0.1, ::1), where
                    nothing on the way can damage a chunk and CPU is the
                    limit, 1 stream without them (the fastest there).
  pull ID|URL [-o FILE]
                    download a share's content (default: its file name, in
                    the current directory). Interrupted, it leaves FILE.part;
                    run it again and it resumes with Range + If-Range.
                    Verifies the SHA-256, hashed as the bytes arrive.
                    --fsync flushes the file to the disk before it gets
                    its name; by default, as with curl -o, the kernel
                    writes it back in its own time.
  ls                list the shares (needs LIST)
  rm ID|URL...      delete shares
  lock ID|URL...    lock shares
  unlock ID|URL...  unlock shares
  key create NAME [--permissions CODES] [--expires TIME|DURATION]
                    make an API key for scripts, with some of your
                    permissions (comma-separated, e.g. CREATE,READ; default
                    all of yours) and an optional expiry (2027-01-01T00:00:00Z
                    or 720h). Prints the secret, shown only this once.
  key ls [--user NAME]
                    list the keys (an admin may name another user)
  key rm KEY_ID... [--user NAME]
                    revoke keys
  link create ID|URL [--expires TIME|DURATION] [--max-downloads N]
                    [--password-file FILE] [--label TEXT]
                    make a public link to a share (yours, or any as ADMIN):
                    anyone with it downloads the content at <link>/content,
                    no account needed. Prints the link, shown only this once.
                    A password is sent by downloaders in the
                    X-Sachet-Link-Password header.
  link ls ID|URL    list the share's links with their state and downloads
  link rm ID|URL LINK_ID...
                    revoke links (they answer 410 from then on)
  help              this text

Flags every client command takes, anywhere on the line:
  --json            print results as JSON on stdout (errors as JSON on stderr)
  --server URL      talk to this server instead of the one logged in to
                    (with the kept token); also SACHET_URL
  --no-progress     no progress output at all

Progress goes to stderr: a bar with bytes, rate and ETA on a terminal,
plain lines otherwise. State for resuming lives in $XDG_STATE_HOME/sachet/
(default ~/.local/state/sachet).

Exit status:
  0  success
  1  any other error
  2  bad command line
  3  not logged in, or the server refused the credential (401): log in again
  4  permission missing (403)
  5  no such share, key or link (404)
  6  the share's state forbids it: locked, or already has content (409, 423)
  7  verification failed: SHA-256 mismatch, or the file changed during a push
  8  the server could not be reached, or failed (5xx): worth retrying
  130  interrupted

Server commands: serve, user create|delete, cleanup, migrate (see "sachet serve -h").
`

// runner carries one invocation's environment and global flags.
type runner struct {
	env    Env
	json   bool
	server string // --server / SACHET_URL
	// urlServer is the server of a share given as a URL; the kept
	// credential goes there only if it is the server logged in to.
	urlServer  string
	noProgress bool
}

// Main runs one client command and returns the exit status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	r := &runner{env: env, server: env.Getenv("SACHET_URL")}
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	// --json may come anywhere; it decides how errors are printed, so it
	// is read before the command's own parsing.
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "--json" || a == "-json" {
			r.json = true
		}
	}
	// Not documented for users: a CPU profile (or a trace, below) of the command, to see where
	// a transfer's time goes (bench/README.md, issue 13 item 5).
	if path := env.Getenv("SACHET_CLI_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if path := env.Getenv("SACHET_CLI_TRACE"); path != "" { // an execution trace, for the waits
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			defer func() { trace.Stop(); f.Close() }()
		}
	}
	err := commands[args[0]](ctx, r, args[1:])
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	code := exitCode(ctx, err)
	if code == ExitInterrupted {
		err = errors.New("interrupted: run the same command again to resume")
	}
	var q quiet
	switch {
	case errors.As(err, &q): // already reported, one line per failure
	case r.json:
		_ = json.NewEncoder(env.Stderr).Encode(map[string]any{"error": err.Error(), "exit_status": code})
	default:
		fmt.Fprintln(env.Stderr, "sachet:", message(err))
	}
	return code
}

// message is err's text without the client package's own "sachet: "
// prefixes, which read twice after ours.
func message(err error) string {
	return strings.ReplaceAll(err.Error(), "sachet: ", "")
}

// usageError marks a bad command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// verifyError marks bytes that are not what they should be.
type verifyError struct{ msg string }

func (e verifyError) Error() string { return e.msg }

// exitCode classifies err into one of the documented statuses.
func exitCode(ctx context.Context, err error) int {
	var ue usageError
	var ve verifyError
	// Not net.Error: a syscall.Errno such as ENOENT satisfies it too.
	var ue2 *url.Error
	var oe *net.OpError
	switch status := client.StatusOf(err); {
	case ctx.Err() != nil:
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ve), errors.Is(err, client.ErrContentChanged):
		return ExitVerify
	case errors.Is(err, errNotLoggedIn), status == 401:
		return ExitAuth
	case status == 403:
		return ExitForbidden
	case status == 404:
		return ExitNotFound
	case status == 409, status == 423:
		return ExitConflict
	case status >= 500, errors.As(err, &oe), errors.As(err, &ue2):
		return ExitUnavailable
	}
	return ExitError
}

// flags returns a flag set with the flags every client command takes.
func (r *runner) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sachet "+name, flag.ContinueOnError)
	fs.SetOutput(r.env.Stderr)
	fs.BoolVar(&r.json, "json", r.json, "print results as JSON")
	fs.StringVar(&r.server, "server", r.server, "server URL (default: the one logged in to)")
	fs.BoolVar(&r.noProgress, "no-progress", false, "no progress output")
	fs.Usage = func() { fmt.Fprint(r.env.Stderr, usage) }
	return fs
}

// parse parses args with flags and operands interleaved (push a -json b):
// stdlib flag stops at the first operand, so it is resumed after each.
// "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return operands, nil
		}
		// fs.Parse consumed a "--" itself when it stopped there.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(operands, rest...), nil
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// out prints a result: v as JSON with --json, else text.
func (r *runner) out(v any, text string) {
	if r.json {
		_ = json.NewEncoder(r.env.Stdout).Encode(v)
		return
	}
	if text != "" {
		fmt.Fprint(r.env.Stdout, text)
		if !strings.HasSuffix(text, "\n") {
			fmt.Fprintln(r.env.Stdout)
		}
	}
}

func help(_ context.Context, r *runner, _ []string) error {
	fmt.Fprint(r.env.Stdout, usage)
	return nil
}
