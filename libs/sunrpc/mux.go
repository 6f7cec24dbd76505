package sunrpc

import (
	"context"
	"sync"
)

// Mux routes calls to handlers by program, version and procedure, and answers
// PROG_UNAVAIL, PROG_MISMATCH or PROC_UNAVAIL for anything not registered.
type Mux struct {
	mu    sync.RWMutex
	progs map[uint32]map[uint32]map[uint32]Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux {
	return &Mux{progs: make(map[uint32]map[uint32]map[uint32]Handler)}
}

// Handle registers h for one procedure of one program version, replacing any earlier handler.
func (m *Mux) Handle(prog, vers, proc uint32, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	versions, ok := m.progs[prog]
	if !ok {
		versions = make(map[uint32]map[uint32]Handler)
		m.progs[prog] = versions
	}
	procs, ok := versions[vers]
	if !ok {
		procs = make(map[uint32]Handler)
		versions[vers] = procs
	}
	procs[proc] = h
}

// HandleFunc registers f for one procedure of one program version.
func (m *Mux) HandleFunc(prog, vers, proc uint32, f func(ctx context.Context, conn *Conn, call *CallMsg) *ReplyMsg) {
	m.Handle(prog, vers, proc, HandlerFunc(f))
}

// ServeRPC dispatches call to its handler or returns the matching RPC-level error reply.
func (m *Mux) ServeRPC(ctx context.Context, conn *Conn, call *CallMsg) *ReplyMsg {
	m.mu.RLock()
	versions, ok := m.progs[call.Program]
	if !ok {
		m.mu.RUnlock()
		return NewErrorReply(call, ProgUnavail)
	}
	procs, ok := versions[call.Version]
	if !ok {
		low, high := ^uint32(0), uint32(0)
		for v := range versions {
			low, high = min(low, v), max(high, v)
		}
		m.mu.RUnlock()
		return NewProgMismatchReply(call, low, high)
	}
	h, ok := procs[call.Procedure]
	m.mu.RUnlock()
	if !ok {
		return NewErrorReply(call, ProcUnavail)
	}
	return h.ServeRPC(ctx, conn, call)
}
