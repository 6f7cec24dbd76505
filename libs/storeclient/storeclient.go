// Package storeclient is the typed client of the store service that other
// services use: resources in and out as their own messages, errors as
// domain errors (libs/errs).
package storeclient

import (
	"context"
	"time"

	"google.golang.org/grpc"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// Client calls the store service.
type Client struct {
	store storev1.StoreServiceClient
}

// New returns a client over conn (dialed to the store, e.g. "consul:///store").
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{store: storev1.NewStoreServiceClient(conn)}
}

// Raw returns the generated client, for Apply and Watch.
func (c *Client) Raw() storev1.StoreServiceClient { return c.store }

func key(kind storev1.Kind, name string) *storev1.ResourceKey {
	return &storev1.ResourceKey{Kind: kind, Name: name}
}

func (c *Client) get(ctx context.Context, k *storev1.ResourceKey) (*storev1.Resource, error) {
	r, err := c.store.Get(ctx, &storev1.GetRequest{Key: k})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return r.Resource, nil
}

func (c *Client) list(ctx context.Context, kind storev1.Kind, node string) ([]*storev1.Resource, error) {
	r, err := c.store.List(ctx, &storev1.ListRequest{Kind: kind, NodeId: node})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return r.Resources, nil
}

// Cluster reads the cluster record.
func (c *Client) Cluster(ctx context.Context) (*commonv1.Cluster, error) {
	r, err := c.get(ctx, key(storev1.Kind_CLUSTER, ""))
	if err != nil {
		return nil, err
	}
	return r.GetCluster(), nil
}

// Peer reads one peer by id.
func (c *Client) Peer(ctx context.Context, id string) (*commonv1.Peer, error) {
	r, err := c.get(ctx, key(storev1.Kind_PEER, id))
	if err != nil {
		return nil, err
	}
	return r.GetPeer(), nil
}

// Peers lists every peer.
func (c *Client) Peers(ctx context.Context) ([]*commonv1.Peer, error) {
	rs, err := c.list(ctx, storev1.Kind_PEER, "")
	if err != nil {
		return nil, err
	}
	out := make([]*commonv1.Peer, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.GetPeer())
	}
	return out, nil
}

// CreatePeer writes a new peer record.
func (c *Client) CreatePeer(ctx context.Context, p *commonv1.Peer) (*commonv1.Peer, error) {
	r, err := c.store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Peer{Peer: p}}})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return r.Resource.GetPeer(), nil
}

// DeletePeer removes a peer record if it is still at version.
func (c *Client) DeletePeer(ctx context.Context, id string, version uint64) error {
	_, err := c.store.Delete(ctx, &storev1.DeleteRequest{Key: key(storev1.Kind_PEER, id), ResourceVersion: version})
	return errs.FromStatus(err)
}

// Volume reads one volume by name.
func (c *Client) Volume(ctx context.Context, name string) (*commonv1.Volume, error) {
	r, err := c.get(ctx, key(storev1.Kind_VOLUME, name))
	if err != nil {
		return nil, err
	}
	return r.GetVolume(), nil
}

// Volumes lists every volume.
func (c *Client) Volumes(ctx context.Context) ([]*commonv1.Volume, error) {
	rs, err := c.list(ctx, storev1.Kind_VOLUME, "")
	if err != nil {
		return nil, err
	}
	out := make([]*commonv1.Volume, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.GetVolume())
	}
	return out, nil
}

// Runtime lists one node's runtime entries (all nodes' when node is empty).
func (c *Client) Runtime(ctx context.Context, node string) ([]*commonv1.RuntimeEntry, error) {
	rs, err := c.list(ctx, storev1.Kind_RUNTIME, node)
	if err != nil {
		return nil, err
	}
	out := make([]*commonv1.RuntimeEntry, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.GetRuntime())
	}
	return out, nil
}

// RuntimeEntry reads one runtime entry of a node.
func (c *Client) RuntimeEntry(ctx context.Context, node, name string) (*commonv1.RuntimeEntry, error) {
	r, err := c.get(ctx, &storev1.ResourceKey{Kind: storev1.Kind_RUNTIME, NodeId: node, Name: name})
	if err != nil {
		return nil, err
	}
	return r.GetRuntime(), nil
}

// PutRuntime creates a runtime entry bound to session (version 0) or
// updates it at version; it returns the entry with its new version.
func (c *Client) PutRuntime(ctx context.Context, e *commonv1.RuntimeEntry, session string, version uint64) (*commonv1.RuntimeEntry, error) {
	res := &storev1.Resource{Body: &storev1.Resource_Runtime{Runtime: e}}
	if version == 0 {
		r, err := c.store.Create(ctx, &storev1.CreateRequest{Resource: res, SessionId: session})
		if err != nil {
			return nil, errs.FromStatus(err)
		}
		return r.Resource.GetRuntime(), nil
	}
	r, err := c.store.Update(ctx, &storev1.UpdateRequest{Resource: res, ResourceVersion: version, SessionId: session})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	return r.Resource.GetRuntime(), nil
}

// RuntimeWrite is one runtime entry for PutRuntimes, with the version it is
// written at (0: created).
type RuntimeWrite struct {
	Entry   *commonv1.RuntimeEntry
	Version uint64
}

// PutRuntimes writes runtime entries bound to session in one store Apply
// (one Consul transaction), each created or updated as PutRuntime does; all
// are written or none. It returns the entries with their new versions, in
// order. Each entry takes two of a transaction's operations.
func (c *Client) PutRuntimes(ctx context.Context, writes []RuntimeWrite, session string) ([]*commonv1.RuntimeEntry, error) {
	ops := make([]*storev1.Operation, len(writes))
	for i, w := range writes {
		res := &storev1.Resource{Body: &storev1.Resource_Runtime{Runtime: w.Entry}}
		if w.Version == 0 {
			ops[i] = &storev1.Operation{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: res, SessionId: session}}}
		} else {
			ops[i] = &storev1.Operation{Op: &storev1.Operation_Update{Update: &storev1.UpdateRequest{Resource: res, ResourceVersion: w.Version, SessionId: session}}}
		}
	}
	r, err := c.store.Apply(ctx, &storev1.ApplyRequest{Operations: ops})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	out := make([]*commonv1.RuntimeEntry, len(r.Results))
	for i, res := range r.Results {
		out[i] = res.Resource.GetRuntime()
	}
	return out, nil
}

// UpsertRuntime writes a runtime entry bound to session whatever version
// it holds now (only its node writes it): created when missing, replaced
// otherwise. version is the caller's last known version (0: none); when it
// is stale, the current one is read and the write tried again. It returns
// the entry with its new version.
func (c *Client) UpsertRuntime(ctx context.Context, e *commonv1.RuntimeEntry, session string, version uint64) (*commonv1.RuntimeEntry, error) {
	for attempt := 0; ; attempt++ {
		got, err := c.PutRuntime(ctx, e, session, version)
		if attempt == 3 || !(errs.Is(err, errs.Conflict) || errs.Is(err, errs.AlreadyExists) || errs.Is(err, errs.NotFound)) {
			return got, err
		}
		// The entry changed (or vanished) since version: start from what is there.
		cur, err := c.RuntimeEntry(ctx, e.NodeId, e.Name)
		switch {
		case err == nil:
			version = cur.Version
		case errs.Is(err, errs.NotFound):
			version = 0
		default:
			return nil, err
		}
	}
}

// DeleteRuntime removes a node's runtime entry.
func (c *Client) DeleteRuntime(ctx context.Context, node, name string) error {
	_, err := c.store.Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_RUNTIME, NodeId: node, Name: name}})
	return errs.FromStatus(err)
}

// OpenSession starts a node session with the given TTL.
func (c *Client) OpenSession(ctx context.Context, node string, ttl time.Duration) (string, error) {
	r, err := c.store.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: node, TtlSeconds: uint32(ttl / time.Second)})
	if err != nil {
		return "", errs.FromStatus(err)
	}
	return r.SessionId, nil
}

// OpenLockSession starts a session for holding locks: once it has ended,
// no other session can take its locks for lockDelay.
func (c *Client) OpenLockSession(ctx context.Context, node string, ttl, lockDelay time.Duration) (string, error) {
	r, err := c.store.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: node, TtlSeconds: uint32(ttl / time.Second),
		LockDelaySeconds: uint32(lockDelay / time.Second)})
	if err != nil {
		return "", errs.FromStatus(err)
	}
	return r.SessionId, nil
}

// RenewSession keeps a node session alive; NotFound when it has ended.
func (c *Client) RenewSession(ctx context.Context, id string) error {
	_, err := c.store.RenewSession(ctx, &storev1.RenewSessionRequest{SessionId: id})
	return errs.FromStatus(err)
}

// CloseSession ends a node session.
func (c *Client) CloseSession(ctx context.Context, id string) error {
	_, err := c.store.CloseSession(ctx, &storev1.CloseSessionRequest{SessionId: id})
	return errs.FromStatus(err)
}
