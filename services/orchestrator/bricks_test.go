package orchestrator

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// testVolume is a volume of typ with sets of the given sizes; brick ids are
// "b<n>" in volume order.
func testVolume(typ commonv1.VolumeType, sizes ...int) *commonv1.Volume {
	v := &commonv1.Volume{Name: "gv0", Type: typ}
	n := 0
	for _, size := range sizes {
		sv := &commonv1.Subvolume{}
		for range size {
			n++
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: fmt.Sprintf("b%d", n), Host: "h", Path: fmt.Sprintf("/b%d", n)})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	return v
}

func ids(bricks []*commonv1.Brick) []string {
	var out []string
	for _, b := range bricks {
		out = append(out, b.Id)
	}
	return out
}

func TestRenumbered(t *testing.T) {
	rep2x2 := testVolume(commonv1.VolumeType_DISTRIBUTED_REPLICATE, 2, 2)

	// Raising the replica count appends a brick to each set: the second set moves.
	raised := proto.CloneOf(rep2x2)
	raised.Subvolumes[0].Bricks = append(raised.Subvolumes[0].Bricks, &commonv1.Brick{Id: "n1"})
	raised.Subvolumes[1].Bricks = append(raised.Subvolumes[1].Bricks, &commonv1.Brick{Id: "n2"})
	require.Equal(t, []string{"b3", "b4"}, ids(renumbered(rep2x2, raised)))

	// One set: the new brick goes last, nothing moves.
	rep2 := testVolume(commonv1.VolumeType_REPLICATE, 2)
	one := proto.CloneOf(rep2)
	one.Subvolumes[0].Bricks = append(one.Subvolumes[0].Bricks, &commonv1.Brick{Id: "n1"})
	require.Empty(t, renumbered(rep2, one))

	// Removing the last set moves nothing; removing the first moves the second.
	last := proto.CloneOf(rep2x2)
	last.Subvolumes = last.Subvolumes[:1]
	require.Empty(t, renumbered(rep2x2, last))
	first := proto.CloneOf(rep2x2)
	first.Subvolumes = first.Subvolumes[1:]
	require.Equal(t, []string{"b3", "b4"}, ids(renumbered(rep2x2, first)))

	// A new set at the end moves nothing.
	added := proto.CloneOf(rep2x2)
	added.Subvolumes = append(added.Subvolumes, &commonv1.Subvolume{Bricks: []*commonv1.Brick{{Id: "n1"}, {Id: "n2"}}})
	require.Empty(t, renumbered(rep2x2, added))

	// Distribute and disperse keep nothing under the names.
	dist := testVolume(commonv1.VolumeType_DISTRIBUTE, 1, 1)
	toRep := testVolume(commonv1.VolumeType_DISTRIBUTED_REPLICATE, 2, 2)
	require.Empty(t, renumbered(dist, toRep))
	disp := testVolume(commonv1.VolumeType_DISTRIBUTED_DISPERSE, 3, 3)
	dispFirst := proto.CloneOf(disp)
	dispFirst.Subvolumes = dispFirst.Subvolumes[1:]
	require.Empty(t, renumbered(disp, dispFirst))
}
