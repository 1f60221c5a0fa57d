package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Passwords hashes and checks passwords on worker threads of its own, at a
// lower CPU priority than the rest of the process where the system allows
// (see lowerPriority). Alone, a burst of logins has every worker and every
// core; next to other requests the kernel hands the cores to those first,
// so a login flood cannot starve them. A computation already under way is
// not what delays them: the scheduler is.
type Passwords struct {
	cost  int
	dummy []byte // compared against when the user does not exist
	jobs  chan *pwJob
	stop  chan struct{}
	once  sync.Once // closes stop

	busyMu sync.Mutex
	onBusy func(delta int) // see OnBusy
}

type pwJob struct {
	run  func()
	done chan struct{}
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("auth: passwords closed")

// NewPasswords prepares a hasher with the given bcrypt cost and starts
// `workers` worker threads, niced by `nice` (0: the process's priority).
// Close stops them.
func NewPasswords(cost, workers, nice int) (*Passwords, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, errors.New("bcrypt cost must be between 4 and 31")
	}
	var pw [32]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword(pw[:16], cost)
	if err != nil {
		return nil, err
	}
	p := &Passwords{cost: cost, dummy: dummy, jobs: make(chan *pwJob), stop: make(chan struct{})}
	for range max(1, workers) {
		go p.work(nice)
	}
	return p, nil
}

// Close stops the workers once they finish what they are computing.
func (p *Passwords) Close() { p.once.Do(func() { close(p.stop) }) }

// OnBusy has f told, in order, each time a worker starts (+1) or ends (-1)
// a computation. Call it before the first Hash or Check.
func (p *Passwords) OnBusy(f func(delta int)) { p.onBusy = f }

func (p *Passwords) busy(delta int) {
	if p.onBusy == nil {
		return
	}
	p.busyMu.Lock()
	defer p.busyMu.Unlock()
	p.onBusy(delta)
}

func (p *Passwords) work(nice int) {
	// Never unlocked: the thread keeps its priority to itself and ends
	// with this goroutine.
	runtime.LockOSThread()
	if nice > 0 {
		lowerPriority(nice)
	}
	for {
		select {
		case j := <-p.jobs:
			p.busy(+1)
			j.run()
			p.busy(-1)
			close(j.done)
		case <-p.stop:
			return
		}
	}
}

// do runs fn on a worker. A caller whose ctx ends stops waiting, and does
// not look at what fn sets.
func (p *Passwords) do(ctx context.Context, fn func()) error {
	select {
	case <-p.stop:
		return ErrClosed
	default:
	}
	j := &pwJob{run: fn, done: make(chan struct{})}
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return ErrClosed
	}
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hash returns the bcrypt hash of pw. The caller has validated pw's length.
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	var h []byte
	var err error
	if derr := p.do(ctx, func() { h, err = bcrypt.GenerateFromPassword([]byte(pw), p.cost) }); derr != nil {
		return "", derr
	}
	return string(h), err
}

// Check reports whether pw matches hash. An empty hash (no such user) is
// checked against a dummy hash, so both failures take the same time.
// Passwords over bcrypt's 72-byte limit never match.
func (p *Passwords) Check(ctx context.Context, hash, pw string) (bool, error) {
	h := []byte(hash)
	if len(h) == 0 {
		h = p.dummy
	}
	tooLong := len(pw) > 72
	if tooLong {
		pw = pw[:72] // still spend the time
	}
	var err error
	if derr := p.do(ctx, func() { err = bcrypt.CompareHashAndPassword(h, []byte(pw)) }); derr != nil {
		return false, derr
	}
	return err == nil && len(hash) > 0 && !tooLong, nil
}
