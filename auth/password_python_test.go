package auth

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPasswordsCheckPythonHash: hashes written by the Python Sachet
// (Flask-Bcrypt over pyca/bcrypt, "$2b$" prefix) verify as they are, so
// `sachet import` carries them untouched. The vector is pyca/bcrypt's own
// published test vector, i.e. made by the library the old server used.
func TestPasswordsCheckPythonHash(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const hash = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"
	for _, c := range []struct {
		pw   string
		want bool
	}{{"Kk4DQuMMfZL9o", true}, {"Kk4DQuMMfZL9O", false}, {"", false}} {
		ok, err := p.Check(context.Background(), hash, c.pw)
		if err != nil || ok != c.want {
			t.Errorf("Check(%q) = %v, %v; want %v", c.pw, ok, err, c.want)
		}
	}
}
