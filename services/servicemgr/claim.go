package servicemgr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/identity"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// nodeEntry is the name of the runtime entry a node holds its id with.
const nodeEntry = "node"

// ErrDuplicateNode says another live node holds this node's id.
type ErrDuplicateNode struct {
	NodeID    string
	Addresses []string
	Hostname  string
}

// Error names the node that holds the id.
func (e *ErrDuplicateNode) Error() string {
	return fmt.Sprintf("node id %s is already in use by the node %q at %s; every node needs its own state directory and id",
		e.NodeID, e.Hostname, strings.Join(e.Addresses, ", "))
}

// claim takes this node's id in the store: a runtime entry bound to a new
// session. A live entry of another process means another node has the same
// id, and the claim fails with ErrDuplicateNode; an entry left by this
// node's own previous run (same session, same addresses) is taken over.
// It retries while the store cannot be reached.
func (s *Server) claim(ctx context.Context) error {
	backoff := 200 * time.Millisecond
	for {
		err := s.claimOnce(ctx)
		if err == nil {
			return nil
		}
		var dup *ErrDuplicateNode
		if ctx.Err() != nil || errors.As(err, &dup) {
			return err
		}
		s.log.Warn("cannot claim the node id in the store yet; retrying", log.Err(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Server) claimOnce(ctx context.Context) error {
	id := s.ident.Get()
	entry := &commonv1.RuntimeEntry{NodeId: id.NodeID, Name: nodeEntry, Kind: "node", State: "running",
		Addresses: s.cfg.AddressList(), Hostname: s.cfg.Name, Online: true}
	held, err := s.store.RuntimeEntry(ctx, id.NodeID, nodeEntry)
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return err
	case id.SessionID != "" && slices.Equal(held.Addresses, entry.Addresses):
		// Our own previous run crashed and its session has not expired yet.
		s.log.Info("taking over the node id from this node's previous run")
		if err := s.store.CloseSession(ctx, id.SessionID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	default:
		return &ErrDuplicateNode{NodeID: id.NodeID, Addresses: held.Addresses, Hostname: held.Hostname}
	}
	sess, err := s.store.OpenSession(ctx, id.NodeID, s.cfg.SessionTTL)
	if err != nil {
		return err
	}
	if _, err := s.ident.Update(func(i *identity.Identity) { i.SessionID = sess }); err != nil {
		return err
	}
	if _, err := s.store.PutRuntime(ctx, entry, sess, 0); err != nil {
		_ = s.store.CloseSession(ctx, sess)
		if errs.Is(err, errs.AlreadyExists) {
			return s.claimOnce(ctx)
		}
		return err
	}
	s.mu.Lock()
	s.session = sess
	s.mu.Unlock()
	s.log.Info("claimed node id", log.Node(id.NodeID), zap.Strings("addresses", entry.Addresses))
	return nil
}

// keepSession renews the session until ctx ends; when the session is lost
// (the node was cut off longer than its TTL) it claims the id again.
func (s *Server) keepSession(ctx context.Context) {
	t := time.NewTicker(s.cfg.SessionTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		sess := s.session
		s.mu.Unlock()
		err := s.store.RenewSession(ctx, sess)
		switch {
		case err == nil:
		case errs.Is(err, errs.NotFound):
			s.log.Warn("node session was lost; claiming the node id again")
			if err := s.claim(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("cannot claim the node id again", log.Err(err))
				s.fatal(err)
				return
			}
		default:
			s.log.Warn("renewing the node session failed", log.Err(err))
		}
	}
}

// release ends the session at a clean stop, so the node's runtime state goes at once.
func (s *Server) release() {
	s.mu.Lock()
	sess := s.session
	s.mu.Unlock()
	if sess == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.store.CloseSession(ctx, sess); err != nil {
		s.log.Warn("closing the node session failed", log.Err(err))
	}
}
