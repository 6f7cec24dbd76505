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

func TestCreateLayouts(t *testing.T) {
	type counts struct{ replica, arbiter, disperse, redundancy uint32 }
	tests := []struct {
		name     string
		req      *orchestratorv1.CreateVolumeRequest
		typ      commonv1.VolumeType
		counts   counts
		layout   string
		warnings []string
	}{
		{
			name:   "distribute",
			req:    &orchestratorv1.CreateVolumeRequest{Bricks: specs("node1:/b", "node1:/c", "node2:/b")},
			typ:    commonv1.VolumeType_DISTRIBUTE,
			layout: "p1:/b | p1:/c | p2:/b",
		},
		{
			name:   "one brick",
			req:    &orchestratorv1.CreateVolumeRequest{Bricks: specs("127.1.1.3:/b")},
			typ:    commonv1.VolumeType_DISTRIBUTE,
			layout: "p3:/b",
		},
		{
			name:   "replicate",
			req:    &orchestratorv1.CreateVolumeRequest{ReplicaCount: 3, Bricks: specs("node1:/b", "p2:/b", "127.1.1.3:/b")},
			typ:    commonv1.VolumeType_REPLICATE,
			counts: counts{replica: 3},
			layout: "p1:/b p2:/b p3:/b",
		},
		{
			name:   "distributed replicate: consecutive bricks form a set",
			req:    &orchestratorv1.CreateVolumeRequest{ReplicaCount: 3, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			typ:    commonv1.VolumeType_DISTRIBUTED_REPLICATE,
			counts: counts{replica: 3},
			layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b",
		},
		{
			name:     "replica 2 warns of split-brain",
			req:      &orchestratorv1.CreateVolumeRequest{ReplicaCount: 2, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			typ:      commonv1.VolumeType_DISTRIBUTED_REPLICATE,
			counts:   counts{replica: 2},
			layout:   "p1:/b p2:/b | p3:/b p4:/b",
			warnings: []string{SplitBrainWarning},
		},
		{
			name:   "arbiter: the third brick of each set",
			req:    &orchestratorv1.CreateVolumeRequest{ReplicaCount: 3, ArbiterCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			typ:    commonv1.VolumeType_DISTRIBUTED_REPLICATE,
			counts: counts{replica: 3, arbiter: 1},
			layout: "p1:/b p2:/b p3:/b* | p4:/b p5:/b p6:/b*",
		},
		{
			name:   "disperse",
			req:    &orchestratorv1.CreateVolumeRequest{DisperseCount: 3, RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b")},
			typ:    commonv1.VolumeType_DISPERSE,
			counts: counts{disperse: 3, redundancy: 1},
			layout: "p1:/b p2:/b p3:/b",
		},
		{
			name:   "distributed disperse",
			req:    &orchestratorv1.CreateVolumeRequest{DisperseCount: 3, RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			typ:    commonv1.VolumeType_DISTRIBUTED_DISPERSE,
			counts: counts{disperse: 3, redundancy: 1},
			layout: "p1:/b p2:/b p3:/b | p4:/b p5:/b p6:/b",
		},
		{
			name:     "redundancy omitted: the optimal one",
			req:      &orchestratorv1.CreateVolumeRequest{DisperseCount: 6, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b", "node6:/b")},
			typ:      commonv1.VolumeType_DISPERSE,
			counts:   counts{disperse: 6, redundancy: 2},
			layout:   "p1:/b p2:/b p3:/b p4:/b p5:/b p6:/b",
			warnings: []string{"redundancy_count not given: using 2, the optimal redundancy for disperse 6"},
		},
		{
			name:     "redundancy omitted: none optimal, so 1",
			req:      &orchestratorv1.CreateVolumeRequest{DisperseCount: 4, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			typ:      commonv1.VolumeType_DISPERSE,
			counts:   counts{disperse: 4, redundancy: 1},
			layout:   "p1:/b p2:/b p3:/b p4:/b",
			warnings: []string{"redundancy_count not given: disperse 4 has no optimal redundancy (one that leaves a power of two of data bricks); using 1"},
		},
		{
			name:   "disperse omitted: the number of bricks",
			req:    &orchestratorv1.CreateVolumeRequest{RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b", "node5:/b")},
			typ:    commonv1.VolumeType_DISPERSE,
			counts: counts{disperse: 5, redundancy: 1},
			layout: "p1:/b p2:/b p3:/b p4:/b p5:/b",
		},
		{
			name:     "redundancy that is not optimal",
			req:      &orchestratorv1.CreateVolumeRequest{DisperseCount: 4, RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			typ:      commonv1.VolumeType_DISPERSE,
			counts:   counts{disperse: 4, redundancy: 1},
			layout:   "p1:/b p2:/b p3:/b p4:/b",
			warnings: []string{"disperse 4 with redundancy 1 is not optimal on most workloads: 3 data bricks is not a power of two"},
		},
		{
			name:     "one peer's bricks in different sets",
			req:      &orchestratorv1.CreateVolumeRequest{ReplicaCount: 2, Bricks: specs("node1:/a", "node2:/a", "node1:/b", "node2:/b")},
			typ:      commonv1.VolumeType_DISTRIBUTED_REPLICATE,
			counts:   counts{replica: 2},
			layout:   "p1:/a p2:/a | p1:/b p2:/b",
			warnings: []string{SplitBrainWarning},
		},
		{
			name:   "placement overridden by force",
			req:    &orchestratorv1.CreateVolumeRequest{ReplicaCount: 3, Force: true, Bricks: specs("node1:/a", "node1:/b", "node2:/a", "node3:/a", "node4:/a", "node5:/a", "node1:/c", "node1:/d", "node1:/e")},
			typ:    commonv1.VolumeType_DISTRIBUTED_REPLICATE,
			counts: counts{replica: 3},
			layout: "p1:/a p1:/b p2:/a | p3:/a p4:/a p5:/a | p1:/c p1:/d p1:/e",
			warnings: []string{"2 replica set(s) have several bricks on one peer (bricks[0] and bricks[1] are both on 127.1.1.1); " +
				"accepted because of force, but losing that peer loses all of them"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Name = "gv0"
			before := proto.Clone(tt.req)
			vol, warnings, err := Create(tt.req, testPeers(), ids())
			require.NoError(t, err)
			require.True(t, proto.Equal(before, tt.req), "the request is not changed")
			require.Equal(t, tt.typ, vol.GetType())
			require.Equal(t, tt.counts, counts{vol.GetReplicaCount(), vol.GetArbiterCount(), vol.GetDisperseCount(), vol.GetRedundancyCount()})
			require.Equal(t, tt.layout, layoutOf(vol))
			require.Equal(t, tt.warnings, warnings)
			require.Equal(t, "gv0", vol.GetName())
			require.Equal(t, commonv1.VolumeState_CREATED, vol.GetState())
			require.Equal(t, "tcp", vol.GetTransport())
			require.Equal(t, volgen.DefaultOptions(tt.typ), vol.GetOptions())
			require.NoError(t, volgen.CheckVolume(vol))
		})
	}
}

func TestCreateIDsAndHosts(t *testing.T) {
	req := &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: specs("10.0.0.1:/b", "node2:/b", "p6:/b")}
	vol, _, err := Create(req, testPeers(), ids())
	require.NoError(t, err)
	b := vol.GetSubvolumes()[0].GetBricks()
	require.Equal(t, []string{"id-1", "id-2", "id-3"}, []string{b[0].GetId(), b[1].GetId(), b[2].GetId()})
	require.Equal(t, "id-4", vol.GetId())
	require.Equal(t, []string{"127.1.1.1", "127.1.1.2", "node6"}, []string{b[0].GetHost(), b[1].GetHost(), b[2].GetHost()})
	require.Equal(t, []string{"p1", "p2", "p6"}, []string{b[0].GetPeerId(), b[1].GetPeerId(), b[2].GetPeerId()})
}

func TestCreateOptions(t *testing.T) {
	req := &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: specs("node1:/b", "node2:/b", "node3:/b"),
		Options: map[string]string{"performance.cache-size": "64MB", "nfs.disable": "off"}}
	vol, _, err := Create(req, testPeers(), ids())
	require.NoError(t, err)
	want := volgen.DefaultOptions(commonv1.VolumeType_REPLICATE)
	want["performance.cache-size"] = "64MB"
	want["nfs.disable"] = "off"
	require.Equal(t, want, vol.GetOptions())
}

func TestCreateErrors(t *testing.T) {
	three := specs("node1:/b", "node2:/b", "node3:/b")
	tests := []struct {
		name  string
		req   *orchestratorv1.CreateVolumeRequest
		kind  errs.Kind
		field string
		msg   string
	}{
		{"bad name", &orchestratorv1.CreateVolumeRequest{Name: "a.b", Bricks: three},
			errs.Invalid, "name", `contains '.'`},
		{"reserved name", &orchestratorv1.CreateVolumeRequest{Name: "all", Bricks: three},
			errs.Invalid, "name", "reserved"},
		{"no bricks", &orchestratorv1.CreateVolumeRequest{Name: "gv0"},
			errs.Invalid, "bricks", "bricks: at least one brick is needed"},
		{"nil brick", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: []*orchestratorv1.BrickSpec{nil}},
			errs.Invalid, "bricks[0]", "bricks[0]: is missing"},
		{"unknown peer", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b", "node9:/b")},
			errs.NotFound, "bricks[1].peer", "bricks[1].peer: peer node9 is not in the pool"},
		{"relative path", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b", "node2:b")},
			errs.Invalid, "bricks[1].path", `bricks[1].path: "b" is not an absolute path`},
		{"unclean path", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b/")},
			errs.Invalid, "bricks[0].path", `write it as "/b"`},
		{"brick twice", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b", "node2:/b", "127.1.1.1:/b")},
			errs.Invalid, "bricks[2].path", "127.1.1.1:/b is given twice (also bricks[0])"},
		{"nested bricks", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/b", "node1:/b/c")},
			errs.Invalid, "bricks[1].path", "nest in each other"},
		{"replica 1", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 1, Bricks: three},
			errs.Invalid, "replica_count", "replica_count: must be at least 2, got 1"},
		{"replica and disperse", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, DisperseCount: 3, Bricks: three},
			errs.Invalid, "replica_count", "replicated-dispersed volumes are not supported"},
		{"replica and redundancy", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, RedundancyCount: 1, Bricks: three},
			errs.Invalid, "replica_count", "cannot be combined"},
		{"arbiter without replica", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ArbiterCount: 1, Bricks: three},
			errs.Invalid, "arbiter_count", "only replica_count 3 with arbiter_count 1 is supported"},
		{"arbiter 2", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, ArbiterCount: 2, Bricks: three},
			errs.Invalid, "arbiter_count", "got replica_count 3, arbiter_count 2"},
		{"replica 2 arbiter 1", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, ArbiterCount: 1, Bricks: three},
			errs.Invalid, "arbiter_count", `gluster's "replica 2 arbiter 1" is the same layout`},
		{"bricks not a multiple of replica", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			errs.Invalid, "bricks", "bricks: the number of bricks (4) is not a multiple of replica_count (3)"},
		{"fewer bricks than replica", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: specs("node1:/b", "node2:/b")},
			errs.Invalid, "bricks", "(2) is not a multiple of replica_count (3)"},
		{"disperse 2", &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 2, Bricks: specs("node1:/b", "node2:/b")},
			errs.Invalid, "disperse_count", "disperse_count: must be at least 3, got 2"},
		{"redundancy alone with two bricks", &orchestratorv1.CreateVolumeRequest{Name: "gv0", RedundancyCount: 1, Bricks: specs("node1:/b", "node2:/b")},
			errs.Invalid, "disperse_count", "not given, so it is the number of bricks, 2, but it must be at least 3"},
		{"bricks not a multiple of disperse", &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 3, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			errs.Invalid, "bricks", "the number of bricks (4) is not a multiple of disperse_count (3)"},
		{"redundancy too high", &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 4, RedundancyCount: 2, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			errs.Invalid, "redundancy_count", "redundancy_count: must be at least 1 and less than 2 for a disperse 4 volume, got 2"},
		{"redundancy alone too high", &orchestratorv1.CreateVolumeRequest{Name: "gv0", RedundancyCount: 2, Bricks: specs("node1:/b", "node2:/b", "node3:/b", "node4:/b")},
			errs.Invalid, "redundancy_count", "less than 2 for a disperse 4 volume"},
		{"huge redundancy", &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 3, RedundancyCount: 1 << 31, Bricks: three},
			errs.Invalid, "redundancy_count", "less than 2 for a disperse 3 volume"},
		{"unknown option", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: three, Options: map[string]string{"performance.cache-sise": "64MB"}},
			errs.Invalid, "options", `options: unknown volume option "performance.cache-sise"; did you mean "performance.cache-size"`},
		{"bad option value", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: three, Options: map[string]string{"network.ping-timeout": "2000"}},
			errs.Invalid, "options", `invalid value "2000" for volume option "network.ping-timeout": want a value between 0 and 1013 s`},
		{"option not for a volume", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: three, Options: map[string]string{"cluster.brick-multiplex": "enable"}},
			errs.Invalid, "options", "cluster-wide option"},
		{"option volgen cannot write", &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: three, Options: map[string]string{"features.shard": "on"}},
			errs.Invalid, "features.shard", "not supported by the volfile generator"},
		{"replica set on one peer", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, Bricks: specs("node1:/a", "node2:/a", "node3:/a", "127.1.1.3:/b")},
			errs.Precondition, "", "multiple bricks of a replicate volume are on the same peer (bricks[2] and bricks[3] are both on 127.1.1.3). " +
				"This setup is not optimal: the bricks of a replica set should be on different peers for the best fault tolerance. Use force to override this behavior"},
		{"arbiter on a data brick's peer", &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, ArbiterCount: 1, Bricks: specs("node1:/a", "node2:/a", "node1:/arb")},
			errs.Precondition, "", "bricks[0] and bricks[2] are both on 127.1.1.1"},
		{"disperse set on one peer", &orchestratorv1.CreateVolumeRequest{Name: "gv0", DisperseCount: 3, Bricks: specs("node1:/a", "node1:/b", "node1:/c")},
			errs.Precondition, "", "multiple bricks of a disperse volume are on the same peer (bricks[0] and bricks[1] are both on 127.1.1.1)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol, warnings, err := Create(tt.req, testPeers(), ids())
			wantErr(t, err, tt.kind, tt.field, tt.msg)
			require.Nil(t, vol)
			require.Nil(t, warnings)
		})
	}
	_, _, err := Create(nil, testPeers(), ids())
	wantErr(t, err, errs.Invalid, "", "the create request is missing")
}

func TestAutoRedundancy(t *testing.T) {
	// Observed from gluster 10.3's CLI: the redundancy it picks and whether
	// it calls it optimal.
	tests := []struct {
		disperse, redundancy uint32
		optimal              bool
	}{
		{3, 1, true}, {4, 1, false}, {5, 1, true}, {6, 2, true}, {7, 3, true},
		{8, 1, false}, {9, 1, true}, {10, 2, true}, {12, 4, true}, {16, 1, false}, {20, 4, true},
	}
	for _, tt := range tests {
		r, optimal := AutoRedundancy(tt.disperse)
		require.Equal(t, tt.redundancy, r, "disperse %d", tt.disperse)
		require.Equal(t, tt.optimal, optimal, "disperse %d", tt.disperse)
	}
	r, _ := AutoRedundancy(1<<32 - 1)
	require.Equal(t, uint32(1<<32-1-1<<31), r, "no overflow at the top of the range")
}
