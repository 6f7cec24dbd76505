package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

var consul *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &consul)) }

func vol(name string) *storev1.Resource {
	return &storev1.Resource{Body: &storev1.Resource_Volume{Volume: &commonv1.Volume{
		Name: name, Type: commonv1.VolumeType_REPLICATE, ReplicaCount: 3, State: commonv1.VolumeState_CREATED,
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Id: "b1", Host: "n1", Path: "/b/1"}}}},
		Options:    map[string]string{"performance.cache-size": "64MB"},
	}}}
}

func volKey(name string) *storev1.ResourceKey {
	return &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: name}
}

func requireCode(t *testing.T, err error, c codes.Code, contains ...string) {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, c, st.Code(), "error: %v", err)
	for _, s := range contains {
		require.Contains(t, st.Message(), s)
	}
}

func TestInvalidNames(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	cases := map[string]string{
		"":                      "must not be empty",
		strings.Repeat("a", 65): "limit is 64",
		"bad/name":              "outside [A-Za-z0-9_.-]",
		"sp ace":                "outside [A-Za-z0-9_.-]",
		"a..b":                  `".."`,
		"-lead":                 `start with "-"`,
	}
	for name, want := range cases {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(name)})
		requireCode(t, err, codes.InvalidArgument, "volume.name", want)
		st := status.Convert(err)
		require.Len(t, st.Details(), 1, "the field is named in the details")
		require.Equal(t, "volume.name", st.Details()[0].(*errdetails.BadRequest).FieldViolations[0].Field)
		_, err = c.Get(ctx, &storev1.GetRequest{Key: volKey(name)})
		requireCode(t, err, codes.InvalidArgument, "key.name")
	}
	_, err := c.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_PEER, Name: "not-a-uuid"}})
	requireCode(t, err, codes.InvalidArgument, "key.name", "not a UUID")
	_, err = c.Create(ctx, &storev1.CreateRequest{})
	requireCode(t, err, codes.InvalidArgument, "resource")
}

func TestCRUDAndConflicts(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()

	_, err := c.Get(ctx, &storev1.GetRequest{Key: volKey("gv0")})
	requireCode(t, err, codes.NotFound, "volume gv0 not found")

	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("gv0")})
	require.NoError(t, err)
	v1 := cr.ResourceVersion
	require.NotZero(t, v1)
	require.Equal(t, v1, cr.Resource.GetVolume().Version)
	require.NotEmpty(t, cr.Resource.GetVolume().Id, "the store assigns a volume id")

	_, err = c.Create(ctx, &storev1.CreateRequest{Resource: vol("gv0")})
	requireCode(t, err, codes.AlreadyExists, "volume gv0 already exists")

	got, err := c.Get(ctx, &storev1.GetRequest{Key: volKey("gv0")})
	require.NoError(t, err)
	require.Equal(t, v1, got.ResourceVersion)
	require.Equal(t, "64MB", got.Resource.GetVolume().Options["performance.cache-size"])

	upd := got.Resource
	upd.GetVolume().State = commonv1.VolumeState_STARTED
	ur, err := c.Update(ctx, &storev1.UpdateRequest{Resource: upd, ResourceVersion: v1})
	require.NoError(t, err)
	require.Greater(t, ur.ResourceVersion, v1)

	// A stale version is refused and nothing changes.
	upd.GetVolume().State = commonv1.VolumeState_STOPPED
	_, err = c.Update(ctx, &storev1.UpdateRequest{Resource: upd, ResourceVersion: v1})
	requireCode(t, err, codes.Aborted, "changed underneath you")
	now, err := c.Get(ctx, &storev1.GetRequest{Key: volKey("gv0")})
	require.NoError(t, err)
	require.Equal(t, commonv1.VolumeState_STARTED, now.Resource.GetVolume().State)
	require.Equal(t, ur.ResourceVersion, now.ResourceVersion)

	_, err = c.Update(ctx, &storev1.UpdateRequest{Resource: vol("nope"), ResourceVersion: 5})
	requireCode(t, err, codes.NotFound)
	_, err = c.Update(ctx, &storev1.UpdateRequest{Resource: upd})
	requireCode(t, err, codes.InvalidArgument, "resource_version")

	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("gv0"), ResourceVersion: v1})
	requireCode(t, err, codes.Aborted)
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("gv0"), ResourceVersion: now.ResourceVersion})
	require.NoError(t, err)
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("gv0")})
	requireCode(t, err, codes.NotFound)

	// Recreate after delete works.
	_, err = c.Create(ctx, &storev1.CreateRequest{Resource: vol("gv0")})
	require.NoError(t, err)
	l, err := c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME})
	require.NoError(t, err)
	require.Len(t, l.Resources, 1)
}

func TestListKeysOnly(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	for _, n := range []string{"b", "a", "c"} {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(n)})
		require.NoError(t, err)
	}
	_, err := c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("c")})
	require.NoError(t, err)
	full, err := c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME})
	require.NoError(t, err)

	l, err := c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME, KeysOnly: true})
	require.NoError(t, err)
	require.Empty(t, l.Resources)
	var names []string
	for _, k := range l.Keys {
		require.Equal(t, storev1.Kind_VOLUME, k.Kind)
		names = append(names, k.Name)
	}
	require.Equal(t, []string{"a", "b"}, names, "live volumes only: no deletion record, no compacted version")
	require.Equal(t, full.Version, l.Version)

	_, err = c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_RUNTIME, KeysOnly: true})
	requireCode(t, err, codes.InvalidArgument, "keys_only", "runtime entry")
	_, err = c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_LOCK, KeysOnly: true})
	requireCode(t, err, codes.InvalidArgument, "keys_only", "lock")
	_, err = c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME, KeysOnly: true, NodeId: "n1"})
	requireCode(t, err, codes.InvalidArgument, "node_id")
}

func TestApplyIsAtomic(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("exists")})
	require.NoError(t, err)

	_, err = c.Apply(ctx, &storev1.ApplyRequest{Operations: []*storev1.Operation{
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: vol("new1")}}},
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: vol("exists")}}},
	}})
	requireCode(t, err, codes.AlreadyExists, "operation 1 (volume exists)")
	_, err = c.Get(ctx, &storev1.GetRequest{Key: volKey("new1")})
	requireCode(t, err, codes.NotFound)

	ar, err := c.Apply(ctx, &storev1.ApplyRequest{Operations: []*storev1.Operation{
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: vol("new1")}}},
		{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: vol("new2")}}},
		{Op: &storev1.Operation_Delete{Delete: &storev1.DeleteRequest{Key: volKey("exists")}}},
	}})
	require.NoError(t, err)
	require.Len(t, ar.Results, 3)
	require.Equal(t, ar.Version, ar.Results[0].ResourceVersion, "one transaction, one version")
	require.Equal(t, ar.Version, ar.Results[1].ResourceVersion)

	var many []*storev1.Operation
	for i := range 130 {
		many = append(many, &storev1.Operation{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: vol(fmt.Sprintf("m%d", i))}}})
	}
	_, err = c.Apply(ctx, &storev1.ApplyRequest{Operations: many})
	requireCode(t, err, codes.InvalidArgument, "need 130 Consul operations; one transaction allows 128")
}

func TestValueTooLarge(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	r := vol("big")
	r.GetVolume().Options["x"] = strings.Repeat("y", 600*1024)
	_, err := c.Create(t.Context(), &storev1.CreateRequest{Resource: r}, grpc.MaxCallSendMsgSize(8<<20))
	requireCode(t, err, codes.InvalidArgument, "volume big encodes to", "kv_max_value_size")
	_, err = c.Get(t.Context(), &storev1.GetRequest{Key: volKey("big")})
	requireCode(t, err, codes.NotFound)
}

func TestConcurrentWritersOneWins(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("race")})
	require.NoError(t, err)
	version := cr.ResourceVersion
	for round := range 100 {
		var wg sync.WaitGroup
		results := make([]error, 2)
		versions := make([]uint64, 2)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := vol("race")
				r.GetVolume().Options["writer"] = fmt.Sprintf("%d-%d", round, w)
				resp, err := c.Update(ctx, &storev1.UpdateRequest{Resource: r, ResourceVersion: version})
				results[w] = err
				if err == nil {
					versions[w] = resp.ResourceVersion
				}
			}()
		}
		wg.Wait()
		wins := 0
		for w, err := range results {
			if err == nil {
				wins++
				version = versions[w]
			} else {
				requireCode(t, err, codes.Aborted, "changed underneath you")
			}
		}
		require.Equal(t, 1, wins, "round %d: exactly one writer wins", round)
	}
}

// collect reads a watch stream into a channel.
func collect(t *testing.T, stream storev1.StoreService_WatchClient) <-chan *storev1.WatchEvent {
	ch := make(chan *storev1.WatchEvent, 1000)
	go func() {
		defer close(ch)
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			ch <- ev
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan *storev1.WatchEvent) *storev1.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "watch stream ended")
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("no watch event in 15s")
		return nil
	}
}

func TestWatchOrderedAndResumable(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("w0")})
	require.NoError(t, err)

	stream, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}})
	require.NoError(t, err)
	ch := collect(t, stream)
	ev := next(t, ch)
	require.Equal(t, storev1.EventType_PUT, ev.Type, "since=0 delivers current resources first")
	require.Equal(t, "w0", ev.Key.Name)
	bm := next(t, ch)
	require.Equal(t, storev1.EventType_BOOKMARK, bm.Type)

	var last uint64
	for i := range 20 {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(fmt.Sprintf("v%d", i))})
		require.NoError(t, err)
	}
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("v3")})
	require.NoError(t, err)
	for i := range 20 {
		ev := next(t, ch)
		require.Equal(t, storev1.EventType_PUT, ev.Type)
		require.Equal(t, fmt.Sprintf("v%d", i), ev.Key.Name)
		require.Greater(t, ev.Version, last)
		last = ev.Version
	}
	del := next(t, ch)
	require.Equal(t, storev1.EventType_DELETE, del.Type)
	require.Equal(t, "v3", del.Key.Name)
	require.Greater(t, del.Version, last)

	// Resume from the middle: exactly what changed after that version.
	resume, err := c.Watch(ctx, &storev1.WatchRequest{Since: last})
	require.NoError(t, err)
	rch := collect(t, resume)
	ev = next(t, rch)
	require.Equal(t, storev1.EventType_DELETE, ev.Type)
	require.Equal(t, "v3", ev.Key.Name)
	require.Equal(t, storev1.EventType_BOOKMARK, next(t, rch).Type)
}

func TestRuntimeEntriesVanishWithSession(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	node := "2b0c7e2e-4f5b-4c56-9d67-1f5f3c0a7a11"
	rt := &storev1.Resource{Body: &storev1.Resource_Runtime{Runtime: &commonv1.RuntimeEntry{NodeId: node, Name: "brick.b1", Kind: "brick", Port: 49152, Pid: 42, Online: true}}}

	_, err := c.Create(ctx, &storev1.CreateRequest{Resource: rt})
	requireCode(t, err, codes.InvalidArgument, "session_id")
	sess, err := c.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: node, TtlSeconds: 10})
	require.NoError(t, err)
	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: rt, SessionId: sess.SessionId})
	require.NoError(t, err)

	stream, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_RUNTIME}, Since: cr.ResourceVersion})
	require.NoError(t, err)
	ch := collect(t, stream)
	require.Equal(t, storev1.EventType_BOOKMARK, next(t, ch).Type)

	l, err := c.List(ctx, &storev1.ListRequest{Kind: storev1.Kind_RUNTIME, NodeId: node})
	require.NoError(t, err)
	require.Len(t, l.Resources, 1)
	require.EqualValues(t, 49152, l.Resources[0].GetRuntime().Port)

	_, err = c.CloseSession(ctx, &storev1.CloseSessionRequest{SessionId: sess.SessionId})
	require.NoError(t, err)
	ev := next(t, ch)
	require.Equal(t, storev1.EventType_DELETE, ev.Type)
	require.Equal(t, "brick.b1", ev.Key.Name)
	_, err = c.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_RUNTIME, NodeId: node, Name: "brick.b1"}})
	requireCode(t, err, codes.NotFound)

	// A new session of the restarted node takes the entry over.
	sess2, err := c.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: node, TtlSeconds: 10})
	require.NoError(t, err)
	_, err = c.Create(ctx, &storev1.CreateRequest{Resource: rt, SessionId: sess2.SessionId})
	require.NoError(t, err)
	ev = next(t, ch)
	require.Equal(t, storev1.EventType_PUT, ev.Type)
}

func TestCompactedHistoryIsRefused(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, func(c *Config) {
		c.Retention = time.Second
		c.GCInterval = 200 * time.Millisecond
	})
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("gone")})
	require.NoError(t, err)
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: volKey("gone")})
	require.NoError(t, err)
	testutil.Await(t, 15*time.Second, func() bool {
		s, err := c.Watch(ctx, &storev1.WatchRequest{Since: cr.ResourceVersion})
		if err != nil {
			return false
		}
		_, err = s.Recv()
		return status.Code(err) == codes.OutOfRange
	}, "resuming from before a collected deletion is refused with OutOfRange")
}

func TestConsulDownFailsFastAndWatchResumes(t *testing.T) {
	own := testutil.NewConsul(t)
	_, conn := TestServer(t, own.HTTPAddr, func(c *Config) { c.RequestTimeout = 10 * time.Second })
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("before")})
	require.NoError(t, err)
	stream, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: cr.ResourceVersion})
	require.NoError(t, err)
	ch := collect(t, stream)
	require.Equal(t, storev1.EventType_BOOKMARK, next(t, ch).Type)

	own.Kill()
	// Well within the 10 s request timeout and the 30 s call deadline: the
	// answer is Unavailable, not DeadlineExceeded.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = c.Get(cctx, &storev1.GetRequest{Key: volKey("before")})
	requireCode(t, err, codes.Unavailable, "Consul unreachable")
	_, err = c.Create(cctx, &storev1.CreateRequest{Resource: vol("during")})
	requireCode(t, err, codes.Unavailable)

	require.NoError(t, own.Start())
	testutil.Await(t, 20*time.Second, func() bool {
		_, err := c.Get(ctx, &storev1.GetRequest{Key: volKey("before")})
		return err == nil
	}, "store works again after Consul restart")
	var names []string
	for i := range 5 {
		n := fmt.Sprintf("after%d", i)
		names = append(names, n)
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(n)})
		require.NoError(t, err)
	}
	var last uint64
	for _, n := range names {
		ev := next(t, ch)
		require.Equal(t, n, ev.Key.Name, "the open watch resumes with every event, in order")
		require.Greater(t, ev.Version, last)
		last = ev.Version
	}
}

func TestLeaderChangeAndNoQuorum(t *testing.T) {
	servers := testutil.NewConsulCluster(t, 3)
	leader := testutil.Leader(servers)
	require.NotNil(t, leader)
	var agent, other *testutil.Consul
	for _, s := range servers {
		switch {
		case s == leader:
		case agent == nil:
			agent = s
		default:
			other = s
		}
	}
	_, conn := TestServer(t, agent.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	cr, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("v0")})
	require.NoError(t, err)
	stream, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: cr.ResourceVersion})
	require.NoError(t, err)
	ch := collect(t, stream)
	require.Equal(t, storev1.EventType_BOOKMARK, next(t, ch).Type)

	// The leader dies: the other two elect a new one and writes go on.
	leader.Kill()
	testutil.Await(t, 30*time.Second, func() bool {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("v1")})
		return err == nil || status.Code(err) == codes.AlreadyExists
	}, "writes work again after a leader change")
	_, err = c.Create(ctx, &storev1.CreateRequest{Resource: vol("v2")})
	require.NoError(t, err)

	// A second server dies: no quorum. Writes fail with a clear error, not a
	// hang. (A write already in flight when quorum was lost may still be
	// applied once it is back: its caller was told its outcome is unknown.)
	other.Kill()
	attempt := 0
	testutil.Await(t, 30*time.Second, func() bool {
		attempt++
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(fmt.Sprintf("attempt%d", attempt))})
		return status.Code(err) == codes.Unavailable && strings.Contains(status.Convert(err).Message(), "no quorum")
	}, "writes fail with no quorum")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = c.Create(cctx, &storev1.CreateRequest{Resource: vol("refused")})
	requireCode(t, err, codes.Unavailable, "no quorum")
	_, err = c.Update(cctx, &storev1.UpdateRequest{Resource: vol("v0"), ResourceVersion: cr.ResourceVersion})
	requireCode(t, err, codes.Unavailable, "no quorum")

	// Reads still answer, saying how stale they may be.
	var md metadata.MD
	got0, err := c.Get(cctx, &storev1.GetRequest{Key: volKey("v0")}, grpc.Header(&md))
	require.NoError(t, err)
	require.Equal(t, cr.ResourceVersion, got0.ResourceVersion)
	require.NotEmpty(t, md.Get(grpcx.StaleHeader), "a read without a leader says it may be stale")
	md = nil
	_, err = c.List(cctx, &storev1.ListRequest{Kind: storev1.Kind_VOLUME}, grpc.Header(&md))
	require.NoError(t, err)
	require.NotEmpty(t, md.Get(grpcx.StaleHeader))

	// Quorum back: writes work, and the open watch has every change in order.
	require.NoError(t, errors.Join(leader.Start(), other.Start()))
	testutil.Await(t, 30*time.Second, func() bool {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol("v3")})
		return err == nil || status.Code(err) == codes.AlreadyExists
	}, "writes work once quorum is back")
	var last uint64
	for _, n := range []string{"v1", "v2", "v3"} {
		ev := next(t, ch)
		for strings.HasPrefix(ev.Key.Name, "attempt") {
			ev = next(t, ch)
		}
		require.Equal(t, n, ev.Key.Name)
		require.Greater(t, ev.Version, last)
		last = ev.Version
	}
	// A write refused for no quorum was not applied.
	_, err = c.Get(ctx, &storev1.GetRequest{Key: volKey("refused")})
	requireCode(t, err, codes.NotFound)
	md = nil
	got, err := c.Get(ctx, &storev1.GetRequest{Key: volKey("v0")}, grpc.Header(&md))
	require.NoError(t, err)
	require.Equal(t, cr.ResourceVersion, got.ResourceVersion)
	require.Empty(t, md.Get(grpcx.StaleHeader), "with a leader, reads are consistent")
}

func TestConsulRebuiltEndsWatchesWithOutOfRange(t *testing.T) {
	own := testutil.NewConsul(t)
	_, conn := TestServer(t, own.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	for i := range 20 {
		_, err := c.Create(ctx, &storev1.CreateRequest{Resource: vol(fmt.Sprintf("v%d", i))})
		require.NoError(t, err)
	}
	stream, err := c.Watch(ctx, &storev1.WatchRequest{Kinds: []storev1.Kind{storev1.Kind_VOLUME}})
	require.NoError(t, err)
	for {
		ev, err := stream.Recv()
		require.NoError(t, err)
		if ev.Type == storev1.EventType_BOOKMARK {
			break
		}
	}
	// Consul loses its data and comes back empty: its index goes backwards,
	// so versions no longer compare; the watch must end rather than lie.
	require.NoError(t, own.Wipe())
	require.NoError(t, own.Start())
	for {
		_, err := stream.Recv()
		if err != nil {
			requireCode(t, err, codes.OutOfRange, "history was reset")
			break
		}
	}
}

func TestLocksAreHeldBySessions(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	ctx := t.Context()
	lock := func(owner string) *storev1.Resource {
		return &storev1.Resource{Body: &storev1.Resource_Lock{Lock: &commonv1.Lock{Name: "volume.gv0", Owner: owner}}}
	}
	key := &storev1.ResourceKey{Kind: storev1.Kind_LOCK, Name: "volume.gv0"}
	_, err := c.Create(ctx, &storev1.CreateRequest{Resource: lock("a")})
	requireCode(t, err, codes.InvalidArgument, "session_id")

	a, err := c.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: "6f1d3c2a-5b4e-4d3c-9a8b-7c6d5e4f3a2b", TtlSeconds: 10})
	require.NoError(t, err)
	b, err := c.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: "7a2e4d3b-6c5f-4e4d-8b9c-8d7e6f5a4b3c", TtlSeconds: 10})
	require.NoError(t, err)
	got, err := c.Create(ctx, &storev1.CreateRequest{Resource: lock("a"), SessionId: a.SessionId})
	require.NoError(t, err)
	require.NotNil(t, got.Resource.GetLock().AcquiredAt)

	// Held: nobody else takes it.
	_, err = c.Create(ctx, &storev1.CreateRequest{Resource: lock("b"), SessionId: b.SessionId})
	requireCode(t, err, codes.AlreadyExists, "lock volume.gv0 already exists")

	// Released by its holder: free at once.
	_, err = c.Delete(ctx, &storev1.DeleteRequest{Key: key, ResourceVersion: got.ResourceVersion})
	require.NoError(t, err)
	got, err = c.Create(ctx, &storev1.CreateRequest{Resource: lock("b"), SessionId: b.SessionId})
	require.NoError(t, err)
	require.Equal(t, "b", got.Resource.GetLock().Owner)

	// Its holder's session ends: the lock reads as absent.
	_, err = c.CloseSession(ctx, &storev1.CloseSessionRequest{SessionId: b.SessionId})
	require.NoError(t, err)
	_, err = c.Get(ctx, &storev1.GetRequest{Key: key})
	requireCode(t, err, codes.NotFound)
}

func TestValueThatCannotBeEncodedIsInvalid(t *testing.T) {
	_, conn := TestServer(t, consul.HTTPAddr, nil)
	c := storev1.NewStoreServiceClient(conn)
	// A second before year 1 is outside protobuf's Timestamp range.
	tx := &commonv1.Transaction{Id: "6f1c1b4e-58a4-4c3c-9a35-5b7e1f0d2a11", Operation: "volume.create", Target: "volume/gv0",
		State: commonv1.TransactionState_RUNNING, StartedAt: timestamppb.New(time.Time{}.Add(-time.Second))}
	_, err := c.Create(t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Transaction{Transaction: tx}}})
	requireCode(t, err, codes.InvalidArgument, "Transaction cannot be stored", "out of range")
	_, err = c.Get(t.Context(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: tx.Id}})
	requireCode(t, err, codes.NotFound)
}
