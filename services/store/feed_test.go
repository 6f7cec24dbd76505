package store

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

func peer(i int) *storev1.Resource {
	return &storev1.Resource{Body: &storev1.Resource_Peer{Peer: &commonv1.Peer{
		Id: fmt.Sprintf("7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e%02d", i), Name: fmt.Sprintf("node%d", i), Addresses: []string{"127.1.1.1"},
	}}}
}

type change struct {
	typ  storev1.EventType
	name string
	ver  uint64
}

// requireChanges reads events until want's last one, and checks they are
// want's, in order, only a change superseded by a later one of the same
// resource missing (the feed delivers each resource's latest state).
func requireChanges(t *testing.T, ch <-chan *storev1.WatchEvent, want []change) {
	t.Helper()
	i := 0
	for i < len(want) {
		ev := next(t, ch)
		require.Equal(t, storev1.Kind_VOLUME, ev.Key.GetKind(), "only volumes: %v", ev)
		got := change{ev.Type, ev.Key.Name, ev.Version}
		for i < len(want) && want[i] != got {
			superseded := false
			for _, later := range want[i+1:] {
				superseded = superseded || later.name == want[i].name
			}
			require.True(t, superseded, "missing %v (got %v)", want[i], got)
			i++
		}
		require.Less(t, i, len(want), "unexpected %v", got)
		i++
	}
}

// A watch of one kind follows that kind's directory only; it still gets
// every change of its kind, deletions included, in version order, live and
// when resuming, while other kinds change around it.
func TestKindWatchFollowsItsKindOnly(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()

	vols, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}})
	require.NoError(t, err)
	vch := collect(t, vols)
	require.Equal(t, storev1.EventType_BOOKMARK, next(t, vch).Type, "an empty kind's watch opens")
	all, err := c.Watch(ctx, &storev1.WatchRequest{})
	require.NoError(t, err)
	ach := collect(t, all)
	for ev := next(t, ach); ev.Type != storev1.EventType_BOOKMARK; ev = next(t, ach) {
	}

	var want []change
	var first uint64
	for i := range 5 {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: peer(i)})
		require.NoError(t, err)
		cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(fmt.Sprintf("k%d", i))})
		require.NoError(t, err)
		want = append(want, change{storev1.EventType_PUT, fmt.Sprintf("k%d", i), cr.ResourceVersion})
		if i == 0 {
			first = cr.ResourceVersion
		}
	}
	del, err := c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("k1")})
	require.NoError(t, err)
	want = append(want, change{storev1.EventType_DELETE, "k1", del.Version})
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_PEER, Name: peer(2).GetPeer().Id}})
	require.NoError(t, err)
	again, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("k1")})
	require.NoError(t, err)
	want = append(want, change{storev1.EventType_PUT, "k1", again.ResourceVersion})

	requireChanges(t, vch, want)
	// The whole-tree watch sees both kinds, in one order.
	seen := map[storev1.Kind]bool{}
	var last uint64
	for last < again.ResourceVersion {
		ev := next(t, ach)
		require.GreaterOrEqual(t, ev.Version, last)
		last = ev.Version
		seen[ev.Key.GetKind()] = true
	}
	require.True(t, seen[storev1.Kind_PEER] && seen[storev1.Kind_VOLUME], "the whole-tree watch sees both kinds: %v", seen)

	// Resuming after the first create: each volume's latest change, the
	// deletion of k1 (from its record in the volumes' directory) before
	// its re-creation.
	resume, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: first})
	require.NoError(t, err)
	rch := collect(t, resume)
	requireChanges(t, rch, want[1:])
	bm := next(t, rch)
	require.Equal(t, storev1.EventType_BOOKMARK, bm.Type)

	l, err := c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME})
	require.NoError(t, err)
	require.Len(t, l.Resources, 5, "deletion records and the compacted key are not volumes")
	require.Equal(t, l.Version, bm.Version, "a listing's version is the version its kind's watch reached")
}

// Deletion records of the earlier layout (one directory for every kind)
// are removed at start, and every kind's compacted version moves past them,
// so a watch resuming from before them lists again instead of missing one.
func TestLegacyDeletionRecordsAreMigrated(t *testing.T) {
	prefix := "legacy-" + time.Now().Format("150405.000000000") + "/"
	kv := consul.Client.KV()
	_, err := kv.Put(&api.KVPair{Key: prefix + "v1/meta/compacted", Value: []byte("3")}, nil)
	require.NoError(t, err)
	_, err = kv.Put(&api.KVPair{Key: prefix + "v1/tombstones/volumes/old", Value: []byte(`{"deleted_at":"2026-12-06T00:00:00Z"}`)}, nil)
	require.NoError(t, err)
	tomb, _, err := kv.Get(prefix+"v1/tombstones/volumes/old", nil)
	require.NoError(t, err)

	_, conn := TestServer(t, consul.HTTPAddr, func(c *Config) {
		c.KVPrefix = prefix
		c.GCInterval = 100 * time.Millisecond
	})
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	testutil.Await(t, 15*time.Second, func() bool {
		keys, _, err := kv.Keys(prefix+"v1/", "", nil)
		require.NoError(t, err)
		for _, k := range keys {
			if k == prefix+"v1/meta/compacted" || k == prefix+"v1/tombstones/volumes/old" {
				return false
			}
		}
		return true
	}, "the earlier layout's keys are removed")
	for _, dir := range []string{"peers", "volumes", "transactions", "runtime", "locks"} {
		e, _, err := kv.Get(prefix+"v1/"+dir+"/-compacted", nil)
		require.NoError(t, err)
		require.NotNil(t, e, dir)
		v, err := strconv.ParseUint(string(e.Value), 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, v, tomb.ModifyIndex, dir)
	}

	s, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: tomb.ModifyIndex - 1})
	require.NoError(t, err)
	_, err = s.Recv()
	require.Equal(t, codes.OutOfRange, status.Code(err), "resuming from before the migrated records: %v", err)

	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("fresh")})
	require.NoError(t, err)
	s, err = c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: cr.ResourceVersion - 1})
	require.NoError(t, err)
	ch := collect(t, s)
	ev := next(t, ch)
	require.Equal(t, "fresh", ev.Key.GetName())
}
