package volgen

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// TestClientAndSetNamesMatchTheGraph checks ClientName and SetName against
// the blocks Client writes: each brick's client block points at the brick,
// and each set's block lists its bricks' clients.
func TestClientAndSetNamesMatchTheGraph(t *testing.T) {
	vol := &commonv1.Volume{Id: "6f1c2a4e-9a43-4b41-8d0e-1f2a3b4c5d6e", Name: "gv0", Type: commonv1.VolumeType_DISTRIBUTED_REPLICATE,
		ReplicaCount: 2, Transport: "tcp", Options: DefaultOptions(commonv1.VolumeType_DISTRIBUTED_REPLICATE)}
	for s := range 2 {
		sv := &commonv1.Subvolume{}
		for b := range 2 {
			id := string(rune('a'+s*2+b)) + "-id"
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: id, Host: "node" + string(rune('1'+b)), Path: "/bricks/" + id})
		}
		vol.Subvolumes = append(vol.Subvolumes, sv)
	}
	graph := string(Client(vol, Params{}))
	for i, sv := range vol.Subvolumes {
		set := SetName(vol, i)
		require.Contains(t, graph, "volume "+set+"\n    type cluster/replicate\n")
		var members []string
		for _, b := range sv.Bricks {
			name, ok := ClientName(vol, b.Id)
			require.True(t, ok)
			block := graph[strings.Index(graph, "volume "+name+"\n"):]
			block = block[:strings.Index(block, "end-volume")]
			require.Contains(t, block, "option remote-subvolume "+b.Path+"\n")
			members = append(members, name)
		}
		require.Contains(t, graph, "option afr-pending-xattr "+strings.Join(members, ",")+"\n")
	}
	_, ok := ClientName(vol, "nope")
	require.False(t, ok)
	require.Empty(t, SetName(&commonv1.Volume{Name: "d", Type: commonv1.VolumeType_DISTRIBUTE}, 0))
	require.Equal(t, "e-disperse-1", SetName(&commonv1.Volume{Name: "e", Type: commonv1.VolumeType_DISTRIBUTED_DISPERSE}, 1))
}
