package servicemgr

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/identity"
)

// testNode is the node id of testReconciler's node.
const testNode = "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"

// testReconciler is a reconciler of node testNode with no supervisor, for
// the specs it makes.
func testReconciler(t *testing.T) *reconciler {
	ident, err := identity.Open(t.TempDir(), testNode)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.RunDir, cfg.LogDir = t.TempDir(), t.TempDir()
	return &reconciler{s: &Server{cfg: cfg, ident: ident}, vols: map[string]*commonv1.Volume{}}
}

// A volume's brick specs are made again only when its version moves; the
// specs of the other volumes are the ones made before.
func TestBrickSpecsAreRemadeOnlyForChangedVolumes(t *testing.T) {
	r := testReconciler(t)
	vol := func(name string, version uint64, state commonv1.VolumeState) *commonv1.Volume {
		return &commonv1.Volume{Name: name, Id: name + "-id", Version: version, State: state, Type: commonv1.VolumeType_DISTRIBUTE,
			Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{
				{Id: name + "-b1", Host: "n1", Path: "/b/" + name, PeerId: testNode},
				{Id: name + "-b2", Host: "n2", Path: "/b/" + name, PeerId: "other"},
			}}}}
	}
	created := commonv1.VolumeState_CREATED
	first := r.specs([]*commonv1.Volume{vol("a", 10, created), vol("b", 11, created)})
	require.Len(t, first, 3, "a brick each here, and the self-heal daemon")
	require.False(t, first[0].Run || first[1].Run)

	aSpecs, bSpecs := &r.made["a"].specs[0], &r.made["b"].specs[0]
	again := r.specs([]*commonv1.Volume{vol("a", 10, created), vol("b", 12, commonv1.VolumeState_STARTED)})
	require.Len(t, again, 3)
	require.Equal(t, first[0].Name, again[0].Name)
	require.Same(t, aSpecs, &r.made["a"].specs[0], "a's specs are the ones made before")
	require.NotSame(t, bSpecs, &r.made["b"].specs[0], "b's are made again")
	require.False(t, again[0].Run, "a unchanged")
	require.True(t, again[1].Run, "b's new version is read: started")

	// A volume that went away is forgotten.
	r.specs([]*commonv1.Volume{vol("b", 12, commonv1.VolumeState_STARTED)})
	require.NotContains(t, r.made, "a")
	require.EqualValues(t, 12, r.made["b"].version)
}

func TestSelfHealDaemonRestartWaitsForTheTopologyToSettle(t *testing.T) {
	clock := time.Unix(1000, 0)
	s := shdSettling{settle: time.Minute, now: func() time.Time { return clock }}
	defer s.stop()
	recheck := func() {}
	require.Equal(t, "A", s.topology(true, "A", recheck), "starting takes the topology at once")
	require.Equal(t, "A", s.topology(true, "AB", recheck), "a change of the running daemon's waits")
	require.NotNil(t, s.timer, "a recheck is due when it has held")
	clock = clock.Add(30 * time.Second)
	require.Equal(t, "A", s.topology(true, "ABC", recheck), "another change: the wait starts again")
	clock = clock.Add(59 * time.Second)
	require.Equal(t, "A", s.topology(true, "ABC", recheck))
	clock = clock.Add(time.Second)
	require.Equal(t, "ABC", s.topology(true, "ABC", recheck), "held for the settle time: taken")
	require.Nil(t, s.timer)

	require.Equal(t, "ABC", s.topology(true, "ABCD", recheck))
	require.Equal(t, "ABC", s.topology(true, "ABC", recheck), "back to the running topology: nothing to do")
	require.Nil(t, s.timer)
	require.Equal(t, "", s.topology(false, "", recheck), "stopping is at once")
	require.Equal(t, "X", s.topology(true, "X", recheck), "and so is starting again")
}

func TestSelfHealDaemonSettleTimerAppliesAgain(t *testing.T) {
	s := shdSettling{settle: 20 * time.Millisecond}
	rechecked := make(chan struct{}, 1)
	recheck := func() {
		select {
		case rechecked <- struct{}{}:
		default:
		}
	}
	require.Equal(t, "A", s.topology(true, "A", recheck))
	require.Equal(t, "A", s.topology(true, "AB", recheck))
	select {
	case <-rechecked:
	case <-time.After(10 * time.Second):
		t.Fatal("no recheck once the topology had held")
	}
	require.Equal(t, "AB", s.topology(true, "AB", recheck))
}

// A volume change that leaves this node's daemons as they were (an option
// set, or any change of a volume with no brick here) is recorded without
// applying every volume's daemons again; one that touches them is applied.
func TestOnlyChangesOfThisNodesDaemonsAreApplied(t *testing.T) {
	r := testReconciler(t)
	vol := func(name string, version uint64, state commonv1.VolumeState, here bool, opts map[string]string) *commonv1.Volume {
		peer := "other"
		if here {
			peer = testNode
		}
		return &commonv1.Volume{Name: name, Id: name + "-id", Version: version, State: state, Type: commonv1.VolumeType_REPLICATE,
			ReplicaCount: 2, Options: opts, Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{
				{Id: name + "-b1", Host: "n1", Path: "/b/" + name, PeerId: peer},
				{Id: name + "-b2", Host: "n2", Path: "/b/" + name, PeerId: "third"},
			}}}}
	}
	started, stopped := commonv1.VolumeState_STARTED, commonv1.VolumeState_STOPPED
	for _, v := range []*commonv1.Volume{vol("a", 10, started, true, nil), vol("far", 11, started, false, nil)} {
		require.True(t, r.put(v), "a volume not seen before is applied")
	}
	r.specs([]*commonv1.Volume{r.vols["a"], r.vols["far"]})

	require.False(t, r.put(vol("a", 10, started, true, nil)), "the same version again")
	require.False(t, r.put(vol("a", 12, started, true, map[string]string{"performance.quick-read": "off"})), "an option set")
	require.EqualValues(t, 12, r.made["a"].version, "the new version is kept")
	require.Equal(t, "off", r.vols["a"].Options["performance.quick-read"])
	require.True(t, r.put(vol("a", 13, stopped, true, nil)), "a stop changes whether its brick runs")

	require.False(t, r.put(vol("far", 14, stopped, false, nil)), "no brick here: nothing to do")
	require.True(t, r.put(vol("far", 15, started, true, nil)), "a brick here now")
	r.specs([]*commonv1.Volume{r.vols["a"], r.vols["far"]})

	require.True(t, r.remove("far"), "its brick here goes")
	r.specs([]*commonv1.Volume{r.vols["a"]})
	require.True(t, r.put(vol("gone", 16, started, false, nil)))
	r.specs([]*commonv1.Volume{r.vols["a"], r.vols["gone"]})
	require.False(t, r.remove("gone"), "never had a brick here")
	require.NotContains(t, r.vols, "gone")
	require.NotContains(t, r.made, "gone")
}
