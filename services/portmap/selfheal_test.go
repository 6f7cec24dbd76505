package portmap

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// healVolume is a volume of type typ in state with one brick on each of
// peers, in one replica or disperse set.
func healVolume(name string, typ commonv1.VolumeType, state commonv1.VolumeState, peers ...string) *commonv1.Volume {
	v := &commonv1.Volume{Id: uuid.NewString(), Name: name, Type: typ,
		State: state, Transport: "tcp", Options: volgen.DefaultOptions(typ)}
	switch typ {
	case commonv1.VolumeType_REPLICATE:
		v.ReplicaCount = uint32(len(peers))
	case commonv1.VolumeType_DISPERSE:
		v.DisperseCount, v.RedundancyCount = uint32(len(peers)), 1
	}
	sv := &commonv1.Subvolume{}
	for i, p := range peers {
		sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: fmt.Sprintf("%s-b%d", name, i), PeerId: p,
			Host: "127.1.1." + fmt.Sprint(i+1), Path: fmt.Sprintf("/bricks/%s/b%d", name, i)})
	}
	v.Subvolumes = []*commonv1.Subvolume{sv}
	return v
}

func createVolume(t *testing.T, store storev1.StoreServiceClient, v *commonv1.Volume) {
	t.Helper()
	_, err := store.Create(t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
	require.NoError(t, err)
}

// updateVolume applies change to the stored volume name.
func updateVolume(t *testing.T, store storev1.StoreServiceClient, name string, change func(*commonv1.Volume)) {
	t.Helper()
	got, err := store.Get(t.Context(), &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: name}})
	require.NoError(t, err)
	change(got.Resource.GetVolume())
	_, err = store.Update(t.Context(), &storev1.UpdateRequest{Resource: got.Resource, ResourceVersion: got.ResourceVersion})
	require.NoError(t, err)
}

func (c *rpcClient) getSpec(key string) gluster.GetSpecReply {
	res, calls := c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Key: key})
	require.Empty(c.t, calls, "no callback expected while fetching %s", key)
	var spec gluster.GetSpecReply
	require.NoError(c.t, spec.Unmarshal(res))
	return spec
}

// fetchSpecs reads the FETCHSPEC callbacks that have arrived, waiting up to
// wait for each next one.
func (c *rpcClient) fetchSpecs(wait time.Duration) int {
	n := 0
	for {
		select {
		case m, ok := <-c.seen:
			require.True(c.t, ok, "connection closed")
			require.NotNil(c.t, m.Call, "a callback, not a reply")
			require.Equal(c.t, gluster.CallbackProgram, m.Call.Program)
			require.Equal(c.t, gluster.CallbackProcFetchSpec, m.Call.Procedure)
			n++
		case <-time.After(wait):
			return n
		}
	}
}

// awaitFetchSpec waits for one FETCHSPEC callback.
func (c *rpcClient) awaitFetchSpec(what string) {
	c.t.Helper()
	select {
	case m, ok := <-c.seen:
		require.True(c.t, ok, "connection closed")
		require.NotNil(c.t, m.Call, "a callback, not a reply")
		require.Equal(c.t, gluster.CallbackProcFetchSpec, m.Call.Procedure)
	case <-time.After(15 * time.Second):
		c.t.Fatalf("no FETCHSPEC after %s", what)
	}
}

func TestNodeSelfHealVolfile(t *testing.T) {
	s, store := start(t)
	ctx := t.Context()
	me, other := s.nodeID, "0c7e7c1e-0000-4000-8000-00000000beef"
	c := dial(t, s.MgmtAddr())

	// No volume yet: the error every unknown key gets.
	spec := c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, gluster.GetSpecReply{OpRet: -1, OpErrno: int32(syscall.ENOENT)}, spec)

	started, stopped := commonv1.VolumeState_STARTED, commonv1.VolumeState_STOPPED
	createVolume(t, store, healVolume("dist", commonv1.VolumeType_DISTRIBUTE, started, me))
	createVolume(t, store, healVolume("elsewhere", commonv1.VolumeType_REPLICATE, started, other, other, other))
	createVolume(t, store, healVolume("later", commonv1.VolumeType_REPLICATE, stopped, other, me, other))
	spec = c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, int32(-1), spec.OpRet, "no started replicate or disperse volume has a brick here")
	require.Equal(t, int32(syscall.ENOENT), spec.OpErrno)

	createVolume(t, store, healVolume("rep", commonv1.VolumeType_REPLICATE, started, me, other, other))
	createVolume(t, store, healVolume("disp", commonv1.VolumeType_DISPERSE, started, other, other, me))

	// The graph of the volumes with a brick here, each with its own login,
	// byte for byte what volgen makes of them.
	want := func(names ...string) string {
		secret, err := s.rpc.vols.clusterSecret(ctx)
		require.NoError(t, err)
		var members []volgen.SelfHealVolume
		for _, n := range names {
			got, err := store.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: n}})
			require.NoError(t, err)
			v := got.Resource.GetVolume()
			p := volgen.Params{Trusted: true, WorkDir: volgen.DefaultWorkDir}
			p.Username, p.Password = credentials(secret, v.Id)
			members = append(members, volgen.SelfHealVolume{Volume: v, Params: p})
		}
		return string(volgen.NodeSelfHeal(members))
	}
	// It is made from the volumes as the change feed delivers them: once
	// the feed has brought all five, it holds both.
	testutil.Await(t, 10*time.Second, func() bool {
		s.followed.mu.Lock()
		defer s.followed.mu.Unlock()
		return s.followed.following && len(s.followed.vols) == 5
	}, "the feed has delivered every volume")
	got := c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, want("disp", "rep"), got.Spec)
	require.Equal(t, int32(len(got.Spec)), got.OpRet)
	require.Contains(t, got.Spec, "volume glustershd\n    type debug/io-stats\n")
	require.Contains(t, got.Spec, "    subvolumes disp-disperse-0 rep-replicate-0\n")
	require.NotContains(t, got.Spec, "elsewhere")
	require.NotContains(t, got.Spec, "later-")
	require.NotContains(t, got.Spec, "dist-")

	// Trusted whoever asks, like shd/<vol>.
	remote, err := s.rpc.vols.Get(ctx, volgen.NodeSelfHealVolfileID, false)
	require.NoError(t, err)
	require.Equal(t, got.Spec, string(remote.data))
	require.Equal(t, 6, strings.Count(got.Spec, "    option username "))

	// shd/<vol> is served as before.
	shd := dial(t, s.MgmtAddr()).getSpec("shd/rep")
	require.Contains(t, shd.Spec, "volume rep\n    type debug/io-stats\n")
	require.NotContains(t, shd.Spec, "disp-")

	// A second process follows another volume's client volfile: its
	// FETCHSPEC shows that every change before it has been dealt with.
	barrier := dial(t, s.MgmtAddr())
	require.Positive(t, barrier.getSpec("/dist").OpRet)

	// noFetchSpec checks that c is sent no FETCHSPEC for what changed: the
	// barrier's volume changes after it, and c's follower has had a second
	// more than the barrier's.
	barrierValue := 0
	noFetchSpec := func(what string) {
		t.Helper()
		barrierValue++
		updateVolume(t, store, "dist", func(v *commonv1.Volume) { v.Options["network.ping-timeout"] = strconv.Itoa(10 + barrierValue) })
		barrier.awaitFetchSpec("the barrier volume changed")
		require.Zero(t, c.fetchSpecs(time.Second), "no FETCHSPEC: %s", what)
	}

	// A volume that is not in the graph changes: nothing to fetch. Then one
	// joins (it starts): the graph changes shape, for which the node's
	// servicemgr restarts the daemon, so it is not told to fetch; the new
	// process gets the new graph. Then one in the graph changes an option:
	// a FETCHSPEC, and the graph of the same shape with the new option.
	updateVolume(t, store, "elsewhere", func(v *commonv1.Volume) { v.Options["network.ping-timeout"] = "7" })
	updateVolume(t, store, "later", func(v *commonv1.Volume) { v.State = started })
	noFetchSpec("a volume with a brick here started: the daemon is restarted")
	got = c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, want("disp", "later", "rep"), got.Spec)
	require.Contains(t, got.Spec, "    subvolumes disp-disperse-0 later-replicate-0 rep-replicate-0\n")
	updateVolume(t, store, "rep", func(v *commonv1.Volume) { v.Options["network.ping-timeout"] = "9" })
	c.awaitFetchSpec("an option of a served volume changed")
	got = c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, want("disp", "later", "rep"), got.Spec)
	require.Equal(t, 3, strings.Count(got.Spec, "option ping-timeout 9\n"), "rep's three clients")
	noFetchSpec("the volume that changed is not served here")

	// Volumes stop or go: the graph shrinks (the daemon is restarted, not
	// told), and with none left the key is unknown again.
	updateVolume(t, store, "rep", func(v *commonv1.Volume) { v.State = stopped })
	noFetchSpec("a served volume stopped: the daemon is restarted")
	got = c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, want("disp", "later"), got.Spec)
	for _, name := range []string{"disp", "later"} {
		_, err := store.Delete(ctx, &storev1.DeleteRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: name}})
		require.NoError(t, err)
	}
	noFetchSpec("the served volumes were deleted")
	got = c.getSpec(volgen.NodeSelfHealVolfileID)
	require.Equal(t, gluster.GetSpecReply{OpRet: -1, OpErrno: int32(syscall.ENOENT)}, got)
}

func TestResolveNodeSelfHealKey(t *testing.T) {
	for key, want := range map[string][2]string{
		"gluster/glustershd":  {"", "nodeshd"},
		"/gluster/glustershd": {"", "nodeshd"},
		"shd/gv0":             {"gv0", "shd"},
		"glustershd":          {"glustershd", "client"},
		"gv0.h.bricks-b1":     {"gv0", "brick"},
	} {
		name, kind := resolveKey(key)
		require.Equal(t, want, [2]string{name, kind}, key)
	}
}
