package auth

import (
	"context"
	"crypto/rand"
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords. At most `slots` bcrypt
// computations run at once, so a login flood queues instead of starving
// every other request of CPU.
type Passwords struct {
	cost  int
	dummy []byte // compared against when the user does not exist
	slots chan struct{}
}

// NewPasswords prepares a hasher with the given bcrypt cost.
func NewPasswords(cost, slots int) (*Passwords, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, errors.New("bcrypt cost must be between 4 and 31")
	}
	if slots < 1 {
		slots = 1
	}
	var pw [32]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword(pw[:16], cost)
	if err != nil {
		return nil, err
	}
	return &Passwords{cost: cost, dummy: dummy, slots: make(chan struct{}, slots)}, nil
}

func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Passwords) release() { <-p.slots }

// Hash returns the bcrypt hash of pw. The caller has validated pw's length.
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), p.cost)
	return string(h), err
}

// Check reports whether pw matches hash. An empty hash (no such user) is
// checked against a dummy hash, so both failures take the same time.
// Passwords over bcrypt's 72-byte limit never match.
func (p *Passwords) Check(ctx context.Context, hash, pw string) (bool, error) {
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	h := []byte(hash)
	if len(h) == 0 {
		h = p.dummy
	}
	tooLong := len(pw) > 72
	if tooLong {
		pw = pw[:72] // still spend the time
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(pw))
	return err == nil && len(hash) > 0 && !tooLong, nil
}
