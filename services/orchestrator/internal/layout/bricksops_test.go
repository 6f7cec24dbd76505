package layout

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

// Volumes the brick operations start from.
var (
	dist2  = &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b", "node2:/b")}
	rep2   = &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, Bricks: specs("node1:/b", "node2:/b")}
	rep3   = &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: specs("node1:/b", "node2:/b", "node3:/b")}
	drep22 = &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")}
	arb3   = &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, ArbiterCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b")}
	disp3  = &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 3, RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b")}
	ddisp6 = &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 3, RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b", "node6:/b")}
)

// from builds a fresh volume from a create request, leaving the request alone.
func from(t *testing.T, req *orchestratorv1.CreateVolumeRequest) *commonv1.Volume {
	t.Helper()
	return mustCreate(t, proto.Clone(req).(*orchestratorv1.CreateVolumeRequest))
}

func TestAddBricks(t *testing.T) {
	tests := []struct {
		name     string
		from     *orchestratorv1.CreateVolumeRequest
		req      *orchestratorv1.AddBricksRequest
		typ      commonv1.VolumeType
		replica  uint32
		layout   string
		warnings []string
	}{
		{name: "distribute: any number of bricks", from: dist2,
			req: &orchestratorv1.AddBricksRequest{Bricks: specs("node3:/b")},
			typ: commonv1.VolumeType_DISTRIBUTE, layout: "p1:/b | p2:/b | p3:/b"},
		{name: "distribute: replica 1 is its own count", from: dist2,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 1, Bricks: specs("node1:/c", "node3:/b")},
			typ: commonv1.VolumeType_DISTRIBUTE, layout: "p1:/b | p2:/b | p1:/c | p3:/b"},
		{name: "distribute to replica 2", from: dist2,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 2, Bricks: specs("node3:/b", "node4:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 2, layout: "p1:/b p3:/b | p2:/b p4:/b",
			warnings: []string{SplitBrainWarning}},
		{name: "distribute to replica 3", from: dist2,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 3, layout: "p1:/b p3:/b p4:/b | p2:/b p5:/b p6:/b"},
		{name: "one brick to replicate", from: &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b")},
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node2:/b", "node3:/b")},
			typ: commonv1.VolumeType_REPLICATE, replica: 3, layout: "p1:/b p2:/b p3:/b"},
		{name: "replicate: a whole set", from: rep3,
			req: &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 3, layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b"},
		{name: "replicate: the same replica count", from: rep3,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node4:/b", "node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 3, layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b"},
		{name: "replica 2 to 3", from: rep2,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node3:/b")},
			typ: commonv1.VolumeType_REPLICATE, replica: 3, layout: "p1:/b p2:/b p3:/b"},
		{name: "2x2 to 2x3", from: drep22,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 3, layout: "p1:/b p2:/b p5:/b | p3:/b p4:/b p6:/b"},
		{name: "arbiter: new sets get their arbiter", from: arb3,
			req: &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_REPLICATE, replica: 3, layout: "p1:/b p2:/b p3:/b* | p4:/b p5:/b p6:/b*"},
		{name: "disperse: a whole set", from: disp3,
			req: &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node6:/b")},
			typ: commonv1.VolumeType_DISTRIBUTED_DISPERSE, layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b"},
		{name: "distributed disperse: two more sets", from: ddisp6,
			req: &orchestratorv1.AddBricksRequest{Bricks: specs("node1:/c", "node2:/c", "node3:/c", "node4:/c", "node5:/c", "node6:/c")},
			typ: commonv1.VolumeType_DISTRIBUTED_DISPERSE, layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b | p1:/c p2:/c p3:/c | p4:/c p5:/c p6:/c"},
		{name: "forced placement", from: rep2,
			req: &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Force: true, Bricks: specs("node1:/c")},
			typ: commonv1.VolumeType_REPLICATE, replica: 3, layout: "p1:/b p2:/b p1:/c",
			warnings: []string{"1 replica set(s) have several bricks on one peer (brick gv0-1 and bricks[0] are both on 127.1.1.1); accepted because of force, but losing that peer loses all of them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := from(t, tt.from)
			before := proto.Clone(vol)
			out, warnings, err := AddBricks(vol, tt.req, testPeers(), ids())
			require.NoError(t, err)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
			require.Equal(t, tt.typ, out.GetType())
			require.Equal(t, tt.replica, out.GetReplicaCount())
			require.Equal(t, tt.layout, layoutOf(out))
			require.Equal(t, tt.warnings, warnings)
			require.Equal(t, vol.GetDisperseCount(), out.GetDisperseCount())
			require.Equal(t, vol.GetRedundancyCount(), out.GetRedundancyCount())
			require.Equal(t, vol.GetArbiterCount(), out.GetArbiterCount())
			require.Equal(t, vol.GetId(), out.GetId())
			require.NoError(t, volgen.CheckVolume(out))
			added, removed := Diff(vol, out)
			require.Len(t, added, len(tt.req.GetBricks()))
			require.Empty(t, removed)
		})
	}
}

func TestAddBricksOptions(t *testing.T) {
	// gluster turns client-side io-threads off when a volume becomes replicated.
	out, _, err := AddBricks(from(t, dist2), &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node3:/b", "node4:/b", "node5:/b", "node6:/b")}, testPeers(), ids())
	require.NoError(t, err)
	want := volgen.DefaultOptions(commonv1.VolumeType_DISTRIBUTE)
	want["performance.client-io-threads"] = "off"
	require.Equal(t, want, out.GetOptions())

	vol := from(t, dist2)
	vol.Options["performance.client-io-threads"] = "on"
	out, _, err = AddBricks(vol, &orchestratorv1.AddBricksRequest{ReplicaCount: 2, Bricks: specs("node3:/b", "node4:/b")}, testPeers(), ids())
	require.NoError(t, err)
	require.Equal(t, "on", out.GetOptions()["performance.client-io-threads"], "the operator's value stays")

	out, _, err = AddBricks(from(t, rep3), &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node6:/b")}, testPeers(), ids())
	require.NoError(t, err)
	require.Equal(t, volgen.DefaultOptions(commonv1.VolumeType_REPLICATE), out.GetOptions(), "new sets leave options alone")
}

func TestAddBricksErrors(t *testing.T) {
	tests := []struct {
		name  string
		from  *orchestratorv1.CreateVolumeRequest
		req   *orchestratorv1.AddBricksRequest
		kind  errs.Kind
		field string
		msg   string
	}{
		{"no bricks", rep3, &orchestratorv1.AddBricksRequest{},
			errs.Invalid, "bricks", "bricks: at least one brick is needed"},
		{"unknown peer", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node7:/b", "node6:/b")},
			errs.NotFound, "bricks[1].peer", "peer node7 is not in the pool"},
		{"bad path", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node6:b")},
			errs.Invalid, "bricks[2].path", "not an absolute path"},
		{"brick already in the volume", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node1:/b")},
			errs.Invalid, "bricks[2].path", "127.1.1.1:/b is already brick gv0-1 of volume gv0"},
		{"brick inside one of the volume", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node1:/b/c")},
			errs.Invalid, "bricks[2].path", "nest in each other"},
		{"brick twice", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node4:/b", "node5:/b")},
			errs.Invalid, "bricks[1].path", "is given twice (also bricks[0])"},
		{"part of a set", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b")},
			errs.Invalid, "bricks", "bricks: the number of new bricks (2) is not a multiple of the replica count (3): add whole replica sets"},
		{"part of a disperse set", disp3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b")},
			errs.Invalid, "bricks", "the number of new bricks (2) is not a multiple of the disperse count (3): add whole disperse sets"},
		{"replica on disperse", disp3, &orchestratorv1.AddBricksRequest{ReplicaCount: 2, Bricks: specs("node4:/b", "node5:/b", "node6:/b")},
			errs.Invalid, "replica_count", "replica_count: volume gv0 is dispersed; it cannot become replicated-dispersed"},
		{"lower replica", rep3, &orchestratorv1.AddBricksRequest{ReplicaCount: 2, Bricks: specs("node4:/b", "node5:/b")},
			errs.Invalid, "replica_count", "replica_count: volume gv0 has replica count 3; adding bricks cannot lower it to 2"},
		{"raise arbiter", arb3, &orchestratorv1.AddBricksRequest{ReplicaCount: 4, Bricks: specs("node4:/b")},
			errs.Invalid, "replica_count", "raising the replica count of arbiter volume gv0 is not supported"},
		{"raise with too few bricks", drep22, &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node5:/b")},
			errs.Invalid, "bricks", "bricks: raising the replica count from 2 to 3 takes 1 new brick(s) per set, 2 in all for 2 set(s); got 1 (add further sets in a separate request)"},
		{"raise and a new set at once", rep2, &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			errs.Invalid, "bricks", "takes 1 new brick(s) per set, 1 in all for 1 set(s); got 4"},
		{"new set on one peer", rep3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node4:/c", "node6:/b")},
			errs.Precondition, "", "multiple bricks of a replicate volume are on the same peer (bricks[0] and bricks[1] are both on 127.1.1.4)"},
		{"raised set on one peer", rep2, &orchestratorv1.AddBricksRequest{ReplicaCount: 3, Bricks: specs("node2:/c")},
			errs.Precondition, "", "(brick gv0-2 and bricks[0] are both on 127.1.1.2)"},
		{"disperse set on one peer", disp3, &orchestratorv1.AddBricksRequest{Bricks: specs("node4:/b", "node5:/b", "node5:/c")},
			errs.Precondition, "", "multiple bricks of a disperse volume are on the same peer (bricks[1] and bricks[2] are both on 127.1.1.5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := from(t, tt.from)
			before := proto.Clone(vol)
			out, warnings, err := AddBricks(vol, tt.req, testPeers(), ids())
			wantErr(t, err, tt.kind, tt.field, tt.msg)
			require.Nil(t, out)
			require.Nil(t, warnings)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
		})
	}
	_, _, err := AddBricks(from(t, rep3), nil, testPeers(), ids())
	wantErr(t, err, errs.Invalid, "", "the add-brick request is missing")
	_, _, err = AddBricks(&commonv1.Volume{Name: "odd"}, &orchestratorv1.AddBricksRequest{Bricks: specs("node1:/b")}, testPeers(), ids())
	wantErr(t, err, errs.Precondition, "", "volume odd has no known type")
}

func TestRemoveBricks(t *testing.T) {
	tests := []struct {
		name   string
		from   *orchestratorv1.CreateVolumeRequest
		brick  string
		typ    commonv1.VolumeType
		layout string
	}{
		{"distribute: the brick", dist2, "gv0-2", commonv1.VolumeType_DISTRIBUTE, "p1:/b"},
		{"distributed replicate: the brick's set", drep22, "gv0-4", commonv1.VolumeType_REPLICATE, "p1:/b p2:/b"},
		{"distributed disperse: the brick's set", ddisp6, "gv0-2", commonv1.VolumeType_DISPERSE, "p4:/b p5:/b p6:/b"},
		{"three sets stay distributed", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, ArbiterCount: 1,
			Bricks: specs("node1:/a", "node2:/a", "node3:/a", "node4:/a", "node5:/a", "node6:/a", "node1:/b", "node2:/b", "node3:/b")},
			"gv0-6", commonv1.VolumeType_DISTRIBUTED_REPLICATE, "p1:/a p2:/a p3:/a* | p1:/b p2:/b p3:/b*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := from(t, tt.from)
			before := proto.Clone(vol)
			out, migrate, err := RemoveBricks(vol, &orchestratorv1.RemoveBrickRequest{Volume: "gv0", Brick: tt.brick})
			require.NoError(t, err)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
			require.False(t, migrate, "a volume never started holds no data")
			require.Equal(t, tt.typ, out.GetType())
			require.Equal(t, tt.layout, layoutOf(out))
			require.NoError(t, volgen.CheckVolume(out))

			for _, state := range []commonv1.VolumeState{commonv1.VolumeState_STARTED, commonv1.VolumeState_STOPPED} {
				vol.State = state
				_, migrate, err = RemoveBricks(vol, &orchestratorv1.RemoveBrickRequest{Brick: tt.brick, Force: true})
				require.NoError(t, err)
				require.True(t, migrate, "a volume that has run may hold data on the bricks (%v)", state)
			}
		})
	}
}

func TestRemoveBricksErrors(t *testing.T) {
	tests := []struct {
		name  string
		from  *orchestratorv1.CreateVolumeRequest
		brick string
		kind  errs.Kind
		field string
		msg   string
	}{
		{"no brick", drep22, "", errs.Invalid, "brick", "brick: must not be empty"},
		{"unknown brick", drep22, "nope", errs.NotFound, "", "brick nope is not a brick of volume gv0"},
		{"last brick", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b")}, "gv0-1",
			errs.Precondition, "", "brick gv0-1 is the only brick of volume gv0; removing it would remove every brick (delete the volume instead)"},
		{"replicate", rep3, "gv0-2",
			errs.Precondition, "", "brick gv0-2 is in the only replica set of volume gv0; removing the set would remove every brick, and lowering the replica count is not supported (replace the brick instead)"},
		{"disperse", disp3, "gv0-1",
			errs.Precondition, "", "in the only disperse set of volume gv0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, migrate, err := RemoveBricks(from(t, tt.from), &orchestratorv1.RemoveBrickRequest{Brick: tt.brick, Force: true})
			wantErr(t, err, tt.kind, tt.field, tt.msg)
			require.Nil(t, out)
			require.False(t, migrate)
		})
	}
	_, _, err := RemoveBricks(nil, &orchestratorv1.RemoveBrickRequest{Brick: "b"})
	wantErr(t, err, errs.Internal, "", "volume is missing")
	_, _, err = RemoveBricks(from(t, rep3), nil)
	wantErr(t, err, errs.Invalid, "brick", "brick: must not be empty")
}

func TestReplaceBrick(t *testing.T) {
	tests := []struct {
		name     string
		from     *orchestratorv1.CreateVolumeRequest
		brick    string
		new      string
		force    bool
		layout   string
		warnings []string
	}{
		{name: "replicate", from: rep3, brick: "gv0-2", new: "node4:/b", layout: "p1:/b p4:/b p3:/b"},
		{name: "same peer, other path", from: rep3, brick: "gv0-2", new: "node2:/c", layout: "p1:/b p2:/c p3:/b"},
		{name: "arbiter keeps its role", from: arb3, brick: "gv0-3", new: "node6:/arb", layout: "p1:/b p2:/b p6:/arb*"},
		{name: "data brick of an arbiter set", from: arb3, brick: "gv0-1", new: "node6:/b", layout: "p6:/b p2:/b p3:/b*"},
		{name: "distributed replicate", from: drep22, brick: "gv0-3", new: "node5:/b", layout: "p1:/b p2:/b | p5:/b p4:/b"},
		{name: "a peer of another set", from: drep22, brick: "gv0-3", new: "node1:/c", layout: "p1:/b p2:/b | p1:/c p4:/b"},
		{name: "disperse", from: disp3, brick: "gv0-1", new: "127.1.1.5:/b", layout: "p5:/b p2:/b p3:/b"},
		{name: "distributed disperse", from: ddisp6, brick: "gv0-6", new: "p1:/c", layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p1:/c"},
		{name: "placement overridden by force", from: rep3, brick: "gv0-2", new: "node1:/c", force: true, layout: "p1:/b p1:/c p3:/b",
			warnings: []string{"1 replica set(s) have several bricks on one peer (brick gv0-1 and new_brick are both on 127.1.1.1); accepted because of force, but losing that peer loses all of them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := from(t, tt.from)
			vol.State = commonv1.VolumeState_STARTED
			before := proto.Clone(vol)
			out, warnings, err := ReplaceBrick(vol, &orchestratorv1.ReplaceBrickRequest{Volume: "gv0", Brick: tt.brick, NewBrick: specs(tt.new)[0]}, testPeers(), ids(), tt.force)
			require.NoError(t, err)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
			require.Equal(t, tt.layout, layoutOf(out))
			require.Equal(t, tt.warnings, warnings)
			require.Equal(t, vol.GetType(), out.GetType())
			require.NoError(t, volgen.CheckVolume(out))
			added, removed := Diff(vol, out)
			require.Len(t, added, 1)
			require.Equal(t, "id-1", added[0].GetId())
			require.Len(t, removed, 1)
			require.Equal(t, tt.brick, removed[0].GetId())
		})
	}
}

func TestReplaceBrickErrors(t *testing.T) {
	tests := []struct {
		name  string
		from  *orchestratorv1.CreateVolumeRequest
		req   *orchestratorv1.ReplaceBrickRequest
		kind  errs.Kind
		field string
		msg   string
	}{
		{"distribute", dist2, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node3:/b")[0]},
			errs.Precondition, "", "replace-brick is not permitted on distribute-only volume gv0; add the new brick and remove the old one instead"},
		{"no brick", rep3, &orchestratorv1.ReplaceBrickRequest{NewBrick: specs("node4:/b")[0]},
			errs.Invalid, "brick", "brick: must not be empty"},
		{"unknown brick", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "nope", NewBrick: specs("node4:/b")[0]},
			errs.NotFound, "", "brick nope is not a brick of volume gv0"},
		{"no new brick", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1"},
			errs.Invalid, "new_brick", "new_brick: is missing"},
		{"unknown peer", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node9:/b")[0]},
			errs.NotFound, "new_brick.peer", "new_brick.peer: peer node9 is not in the pool"},
		{"bad path", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node4:/b/../c")[0]},
			errs.Invalid, "new_brick.path", `write it as "/c"`},
		{"itself", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("127.1.1.1:/b")[0]},
			errs.Invalid, "new_brick", "new_brick: 127.1.1.1:/b is the brick being replaced"},
		{"another brick of the volume", drep22, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node3:/b")[0]},
			errs.Invalid, "new_brick.path", "127.1.1.3:/b is already brick gv0-3 of volume gv0"},
		{"inside the old brick", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node1:/b/new")[0]},
			errs.Invalid, "new_brick.path", "127.1.1.1:/b/new and /b (brick gv0-1 of volume gv0) nest in each other"},
		{"peer of its set", rep3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-1", NewBrick: specs("node2:/c")[0]},
			errs.Precondition, "", "multiple bricks of a replicate volume are on the same peer (new_brick and brick gv0-2 are both on 127.1.1.2)"},
		{"peer of its disperse set", disp3, &orchestratorv1.ReplaceBrickRequest{Brick: "gv0-3", NewBrick: specs("node1:/c")[0]},
			errs.Precondition, "", "multiple bricks of a disperse volume are on the same peer (brick gv0-1 and new_brick are both on 127.1.1.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := from(t, tt.from)
			before := proto.Clone(vol)
			out, warnings, err := ReplaceBrick(vol, tt.req, testPeers(), ids(), false)
			wantErr(t, err, tt.kind, tt.field, tt.msg)
			require.Nil(t, out)
			require.Nil(t, warnings)
			require.True(t, proto.Equal(before, vol), "the input is not changed")
		})
	}
	_, _, err := ReplaceBrick(nil, &orchestratorv1.ReplaceBrickRequest{}, testPeers(), ids(), false)
	wantErr(t, err, errs.Internal, "", "volume is missing")
}
