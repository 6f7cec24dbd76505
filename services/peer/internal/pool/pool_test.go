package pool

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

const (
	clusterID = "c0000000-0000-4000-8000-000000000001"
	nodeA     = "a0000000-0000-4000-8000-000000000001"
)

type fakeStore struct {
	peers     map[string]*commonv1.Peer
	vols      []*commonv1.Volume
	createErr error
}

func (s *fakeStore) Cluster(context.Context) (*commonv1.Cluster, error) {
	return &commonv1.Cluster{Id: clusterID}, nil
}

func (s *fakeStore) Peer(_ context.Context, id string) (*commonv1.Peer, error) {
	if p, ok := s.peers[id]; ok {
		return p, nil
	}
	return nil, errs.New(errs.NotFound, "peer %s not found", id)
}

func (s *fakeStore) Peers(context.Context) ([]*commonv1.Peer, error) {
	var out []*commonv1.Peer
	for _, p := range s.peers {
		out = append(out, p)
	}
	return out, nil
}

func (s *fakeStore) CreatePeer(_ context.Context, p *commonv1.Peer) (*commonv1.Peer, error) {
	if s.createErr != nil {
		return nil, s.createErr
	}
	s.peers[p.Id] = p
	return p, nil
}

func (s *fakeStore) DeletePeer(_ context.Context, id string, _ uint64) error {
	delete(s.peers, id)
	return nil
}

func (s *fakeStore) Volumes(context.Context) ([]*commonv1.Volume, error) { return s.vols, nil }

type fakeNode struct {
	ident   *servicemgrv1.NodeIdentity
	err     error
	joined  string
	leaves  int
	joinErr error
}

func (n *fakeNode) Dial(string) (Node, error) { return n, nil }
func (n *fakeNode) Identity(context.Context) (*servicemgrv1.NodeIdentity, error) {
	return n.ident, n.err
}
func (n *fakeNode) Join(_ context.Context, c, _ string) error {
	if n.joinErr != nil {
		return n.joinErr
	}
	n.joined = c
	return nil
}
func (n *fakeNode) Leave(context.Context, string) error { n.leaves++; n.joined = ""; return nil }
func (n *fakeNode) Close() error                        { return nil }

type fakeHealth map[string]string

func (h fakeHealth) Connected(context.Context) (map[string]string, error) { return h, nil }

func setup() (*Pool, *fakeStore, *fakeNode) {
	st := &fakeStore{peers: map[string]*commonv1.Peer{}}
	n := &fakeNode{ident: &servicemgrv1.NodeIdentity{NodeId: nodeA, Name: "a", ApiVersion: APIVersion}}
	return New(Config{Store: st, Nodes: n, Health: fakeHealth{nodeA: "h:1"}}), st, n
}

func TestAddValidatesAndIsIdempotent(t *testing.T) {
	p, st, n := setup()
	ctx := t.Context()
	peer, err := p.Add(ctx, "127.1.1.1", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, peer.Id)
	require.Equal(t, "127.1.1.1", peer.Name)
	require.Equal(t, clusterID, n.joined)
	again, err := p.Add(ctx, "127.1.1.1:24013", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, again.Id)
	require.Len(t, st.peers, 1)
}

func TestAddRefusals(t *testing.T) {
	ctx := context.Background()
	p, _, n := setup()
	n.ident.ApiVersion = APIVersion + 1
	_, err := p.Add(ctx, "h", nil)
	require.True(t, errs.Is(err, errs.Precondition))
	require.ErrorContains(t, err, "speaks management API 2")

	p, _, n = setup()
	n.ident.ClusterId = "other"
	_, err = p.Add(ctx, "h", nil)
	require.True(t, errs.Is(err, errs.Precondition))
	require.ErrorContains(t, err, "already belongs to another cluster (other)")

	p, _, n = setup()
	n.err = errors.New("connection refused")
	_, err = p.Add(ctx, "h:1", nil)
	require.True(t, errs.Is(err, errs.Unavailable))
	require.ErrorContains(t, err, "node at h:1 is unreachable")
}

func TestAddUndoesJoinWhenRecordFails(t *testing.T) {
	p, st, n := setup()
	st.createErr = errs.New(errs.Unavailable, "consul down")
	_, err := p.Add(t.Context(), "h", nil)
	require.True(t, errs.Is(err, errs.Unavailable))
	require.Equal(t, 1, n.leaves, "the node's join is undone")
	require.Empty(t, n.joined)
	require.Empty(t, st.peers)
}

func TestRemoveRefusesBrickHolder(t *testing.T) {
	p, st, n := setup()
	_, err := p.Add(t.Context(), "h", nil)
	require.NoError(t, err)
	st.vols = []*commonv1.Volume{{Name: "gv0", Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{PeerId: nodeA}}}}}}
	err = p.Remove(t.Context(), "h", true)
	require.True(t, errs.Is(err, errs.Precondition))
	require.ErrorContains(t, err, "holds bricks of volume(s) gv0")
	st.vols = nil
	require.NoError(t, p.Remove(t.Context(), nodeA, false))
	require.Equal(t, 1, n.leaves)
	require.Empty(t, st.peers)
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"node1": "node1:24013", "node1:7": "node1:7", "10.0.0.1": "10.0.0.1:24013",
		"[fe80::1]:9": "[fe80::1]:9", "fe80::1": "[fe80::1]:24013",
	} {
		_, got, err := ParseAddress(in, 24013)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "bad host", "node1:0", "node1:x", "-x", "a_b"} {
		_, _, err := ParseAddress(bad, 24013)
		require.True(t, errs.Is(err, errs.Invalid), bad)
	}
}
