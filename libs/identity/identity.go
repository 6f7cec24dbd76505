// Package identity keeps a storage node's identity in its state directory:
// its UUID, created once, and the cluster it belongs to.
package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/uuid"
)

// FileName is the identity file inside the state directory.
const FileName = "node.json"

// Identity is what a node knows about itself across restarts.
type Identity struct {
	// NodeID is the node's UUID.
	NodeID string `json:"node_id"`
	// ClusterID is the cluster the node belongs to; empty when none.
	ClusterID string `json:"cluster_id,omitempty"`
	// SessionID is the store session the node last held its identity with,
	// so that after a crash it can take its own identity back at once.
	SessionID string `json:"session_id,omitempty"`
}

// Store is the identity file of one state directory.
type Store struct {
	mu   sync.Mutex
	path string
	id   Identity
}

// Open reads the identity in dir, creating it (with nodeID, or a new UUID
// when nodeID is empty) the first time. A nodeID that differs from the one
// already kept is refused: a node's identity never changes.
func Open(dir, nodeID string) (*Store, error) {
	if nodeID != "" {
		if u, err := uuid.Parse(nodeID); err != nil || u.String() != nodeID {
			return nil, fmt.Errorf("node id %q is not a lower-case UUID", nodeID)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	s := &Store{path: filepath.Join(dir, FileName)}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fresh := nodeID
		if fresh == "" {
			fresh = uuid.NewString()
		}
		// Several services of one node may start together: the first to
		// link its file in place creates the identity, the others read it.
		created, err := s.create(Identity{NodeID: fresh})
		if err != nil {
			return nil, err
		}
		if created {
			return s, nil
		}
		if b, err = os.ReadFile(s.path); err != nil {
			return nil, fmt.Errorf("read node identity: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("read node identity: %w", err)
	}
	if err := json.Unmarshal(b, &s.id); err != nil {
		return nil, fmt.Errorf("node identity %s is corrupt: %w", s.path, err)
	}
	if _, err := uuid.Parse(s.id.NodeID); err != nil {
		return nil, fmt.Errorf("node identity %s has no valid node id", s.path)
	}
	if nodeID != "" && nodeID != s.id.NodeID {
		return nil, fmt.Errorf("--node-id %s differs from the id %s kept in %s; a node's id never changes", nodeID, s.id.NodeID, s.path)
	}
	return s, nil
}

// Get returns the current identity.
func (s *Store) Get() Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Update changes the identity with fn and writes it durably.
func (s *Store) Update(fn func(*Identity)) (Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.id
	fn(&next)
	if err := s.save(next); err != nil {
		return s.id, err
	}
	s.id = next
	return next, nil
}

// create writes id as the identity unless one exists; it reports whether it did.
func (s *Store) create(id Identity) (bool, error) {
	tmp, err := s.writeTemp(id)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, s.path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("install node identity: %w", err)
	}
	s.id = id
	return true, nil
}

// writeTemp writes id durably to a new temporary file beside the identity.
func (s *Store) writeTemp(id Identity) (string, error) {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), FileName+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write node identity: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("write node identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("sync node identity: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// save writes id atomically: a temporary file, fsync, rename.
func (s *Store) save(id Identity) error {
	tmp, err := s.writeTemp(id)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install node identity: %w", err)
	}
	return nil
}
