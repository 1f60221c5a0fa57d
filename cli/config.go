package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sachet-server/sachet/client"
)

// credentials is what login keeps: one server and the credential for it.
type credentials struct {
	Server   string `json:"server"`
	Username string `json:"username,omitempty"`
	// Kind is "token" (a JWT from login) or "key" (an API key, sent the
	// same way).
	Kind  string `json:"kind"`
	Token string `json:"token"`
}

var errNotLoggedIn = errors.New(`not logged in: run "sachet login URL" first`)

// configDir is $XDG_CONFIG_HOME/sachet, or ~/.config/sachet.
func (r *runner) configDir() (string, error) {
	return xdgDir(r.env.Getenv, "XDG_CONFIG_HOME", ".config")
}

// stateDir is $XDG_STATE_HOME/sachet, or ~/.local/state/sachet: resume
// state, which may be lost without harm (the transfer starts over).
func (r *runner) stateDir() (string, error) {
	return xdgDir(r.env.Getenv, "XDG_STATE_HOME", filepath.Join(".local", "state"))
}

func xdgDir(getenv func(string) string, variable, fallback string) (string, error) {
	// The XDG spec says a relative path is invalid and to be ignored.
	if d := getenv(variable); filepath.IsAbs(d) {
		return filepath.Join(d, "sachet"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("no $%s and no home directory: %w", variable, err)
		}
	}
	return filepath.Join(home, fallback, "sachet"), nil
}

const credentialsFile = "credentials.json"

func (r *runner) loadCredentials() (*credentials, error) {
	dir, err := r.configDir()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, credentialsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNotLoggedIn
	}
	if err != nil {
		return nil, err
	}
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w (log in again)", filepath.Join(dir, credentialsFile), err)
	}
	return &c, nil
}

// saveCredentials writes the credential readable by its owner only: the
// directory 0700, the file 0600, replaced atomically.
func (r *runner) saveCredentials(c *credentials) (string, error) {
	dir, err := r.configDir()
	if err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, credentialsFile)
	return path, writePrivate(path, data)
}

func (r *runner) removeCredentials() error {
	dir, err := r.configDir()
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(dir, credentialsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// writePrivate writes data to path through a temporary file renamed over
// it, so a crash never leaves half a file; mode 0600 in a 0700 directory.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// MkdirAll leaves an existing directory's mode alone; ours must not
	// be readable by others.
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// connect returns a client for the server: --server/SACHET_URL if given,
// else the one logged in to, with the kept credential. anonymous allows
// running without one (the server may grant anonymous users permissions).
func (r *runner) connect(anonymous bool) (*client.Client, string, error) {
	creds, err := r.loadCredentials()
	if err != nil && !(anonymous && errors.Is(err, errNotLoggedIn)) {
		return nil, "", err
	}
	server, sendCreds := r.server, creds != nil
	switch {
	case server != "": // chosen by the user: a proxy, another name for the server
	case r.urlServer != "":
		server = r.urlServer
		// Never hand the credential to a server it was not made for.
		sendCreds = creds != nil && strings.TrimRight(server, "/") == strings.TrimRight(creds.Server, "/")
	case creds == nil:
		return nil, "", errNotLoggedIn
	default:
		server = creds.Server
	}
	server = strings.TrimRight(server, "/")
	opts := []client.Option{
		// No overall timeout: a chunk or a download takes as long as it
		// needs; the transport's own timeouts catch a dead connection.
		client.WithHTTPClient(&http.Client{Transport: http.DefaultTransport}),
		client.WithRetries(5, 500*time.Millisecond),
	}
	if sendCreds {
		opts = append(opts, client.WithToken(creds.Token))
	}
	c, err := client.New(server, opts...)
	return c, server, err
}

// stateFile is where the resume state of one local file lives: named by a
// hash of the server and the file's absolute path, so reruns from another
// directory find it.
func (r *runner) stateFile(kind, server, path string) (string, error) {
	dir, err := r.stateDir()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(server + "\x00" + abs))
	return filepath.Join(dir, kind, hex.EncodeToString(h[:16])+".json"), nil
}

func readState(path string, v any) bool {
	data, err := os.ReadFile(path)
	return err == nil && json.Unmarshal(data, v) == nil
}

func writeState(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writePrivate(path, data)
}
