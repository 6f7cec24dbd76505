package servicemgr

import (
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/identity"
)

// A volume's brick specs are made again only when its version moves; the
// specs of the other volumes are the ones made before.
func TestBrickSpecsAreRemadeOnlyForChangedVolumes(t *testing.T) {
	const node = "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"
	ident, err := identity.Open(t.TempDir(), node)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.RunDir, cfg.LogDir = t.TempDir(), t.TempDir()
	r := &reconciler{s: &Server{cfg: cfg, ident: ident}}
	vol := func(name string, version uint64, state commonv1.VolumeState) *commonv1.Volume {
		return &commonv1.Volume{Name: name, Id: name + "-id", Version: version, State: state, Type: commonv1.VolumeType_DISTRIBUTE,
			Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{
				{Id: name + "-b1", Host: "n1", Path: "/b/" + name, PeerId: node},
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
