// Package registry is a node's brick port map: which brick path listens on
// which port, as bricks sign in and out, and free ports for bricks about to
// start.
package registry

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
)

// Entry is one brick's registration.
type Entry struct {
	// Brick is the brick path exactly as the brick signs in.
	Brick string
	// Port is the port the brick listens on.
	Port int
	// PID is the brick process, as it reported it.
	PID int
	// Conn identifies the management connection it signed in on (0: none).
	Conn uint64
}

// Registry is the port map of one node.
type Registry struct {
	base, max int
	free      func(port int) bool

	mu      sync.Mutex
	byBrick map[string]*Entry
	handed  map[int]string // ports allocated for bricks not signed in yet
	changed chan struct{}  // closed (and replaced) when List's answer changes
}

// Changed returns a channel that is closed at the next change of the
// registrations (what List returns).
func (r *Registry) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// notify wakes everyone waiting on Changed (called with r.mu held).
func (r *Registry) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// New returns a registry handing out ports in [base, max].
func New(base, max int) (*Registry, error) {
	if base < 1 || max > 65535 || base > max {
		return nil, fmt.Errorf("brick port range %d-%d is not valid", base, max)
	}
	return &Registry{base: base, max: max, free: canBind, byBrick: map[string]*Entry{}, handed: map[int]string{}, changed: make(chan struct{})}, nil
}

// canBind says whether port can be bound on every address right now.
func canBind(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Allocate picks a port for brick: starting at a random port of the range
// and walking up (wrapping), the first one that no brick holds and that can
// be bound now. The brick's previous mapping is dropped.
func (r *Registry) Allocate(brick string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byBrick, brick)
	for p, b := range r.handed {
		if b == brick {
			delete(r.handed, p)
		}
	}
	used := map[int]bool{}
	for _, e := range r.byBrick {
		used[e.Port] = true
	}
	n := r.max - r.base + 1
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		p := r.base + (start+i)%n
		if used[p] || r.handed[p] != "" || !r.free(p) {
			continue
		}
		r.handed[p] = brick
		return p, nil
	}
	return 0, fmt.Errorf("no free port in %d-%d for brick %s", r.base, r.max, brick)
}

// SignIn records that brick listens on port.
func (r *Registry) SignIn(brick string, port, pid int, conn uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.handed, port)
	if e, ok := r.byBrick[brick]; !ok || e.Port != port || e.PID != pid {
		defer r.notify()
	}
	r.byBrick[brick] = &Entry{Brick: brick, Port: port, PID: pid, Conn: conn}
}

// SignOut removes brick's registration; it reports whether there was one.
func (r *Registry) SignOut(brick string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byBrick[brick]
	delete(r.byBrick, brick)
	if ok {
		r.notify()
	}
	return ok
}

// Port returns the port brick listens on.
func (r *Registry) Port(brick string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byBrick[brick]
	if !ok {
		return 0, false
	}
	return e.Port, true
}

// PortOf is Port for a brick path held in bytes, without allocating.
func (r *Registry) PortOf(brick []byte) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byBrick[string(brick)]
	if !ok {
		return 0, false
	}
	return e.Port, true
}

// Detach forgets connection conn on its entries but keeps the entries:
// bricks re-sign-in when they reconnect.
func (r *Registry) Detach(conn uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.byBrick {
		if e.Conn == conn {
			e.Conn = 0
		}
	}
}

// List returns every registration, by brick path.
func (r *Registry) List() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, 0, len(r.byBrick))
	for _, e := range r.byBrick {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Brick < out[j].Brick })
	return out
}
