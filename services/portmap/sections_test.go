package portmap

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// The node-wide self-heal volfile is assembled from sections kept by
// volume version: a change of one volume renders that volume's section
// alone, the others are reused as they are, a change that leaves every
// section as it was reuses the last answer, a volume that leaves the graph
// is no longer kept, and the result is always what volgen makes of the
// whole set.
func TestNodeSelfHealSectionsAreKeptByVersion(t *testing.T) {
	me := "0c7e7c1e-0000-4000-8000-00000000a11e"
	started := commonv1.VolumeState_STARTED
	a := healVolume("a", commonv1.VolumeType_REPLICATE, started, me, "x", "y")
	b := healVolume("b", commonv1.VolumeType_DISPERSE, started, "x", me, "y")
	c := healVolume("c", commonv1.VolumeType_REPLICATE, started, "x", "y", me)
	a.Version, b.Version, c.Version = 10, 11, 12
	src := &countingSource{vols: []*commonv1.Volume{a, b, c}}
	v := newVolfiles(src, volgen.DefaultWorkDir, me)
	v.secret = []byte("secret")

	whole := func() string {
		var members []volgen.SelfHealVolume
		for _, vol := range volgen.NodeSelfHealVolumes(src.vols, me) {
			p := volgen.Params{Trusted: true, WorkDir: volgen.DefaultWorkDir}
			p.Username, p.Password = credentials(v.secret, vol.Id)
			members = append(members, volgen.SelfHealVolume{Volume: vol, Params: p})
		}
		return string(volgen.NodeSelfHeal(members))
	}
	text := func(name string) *byte { return &v.sections[name].section.Text[0] }
	// generate makes the volfile of vols, which must be what volgen makes
	// of them.
	generate := func(vols ...*commonv1.Volume) served {
		src.vols = vols
		out, err := v.generateNodeSelfHeal(t.Context())
		require.NoError(t, err)
		require.Equal(t, whole(), string(out.data))
		return out
	}
	// next is vol at a new version, changed by edit.
	next := func(vol *commonv1.Volume, version uint64, edit func(*commonv1.Volume)) *commonv1.Volume {
		vol = proto.Clone(vol).(*commonv1.Volume)
		edit(vol)
		vol.Version = version
		return vol
	}

	out := generate(a, b, c)
	require.Len(t, v.sections, 3)
	keptA, keptB := text("a"), text("b")

	// b changes (a new version): its section alone is rendered again.
	b = next(b, 20, func(v *commonv1.Volume) { v.Options["network.ping-timeout"] = "9" })
	out = generate(a, b, c)
	require.Equal(t, 3, strings.Count(string(out.data), "option ping-timeout 9\n"), "b's three clients")
	require.Same(t, keptA, text("a"), "a unchanged: its kept section is reused")
	require.NotSame(t, keptB, text("b"), "b changed: rendered again")

	// a changes an option the daemon's graph does not carry: a new
	// version, the same section, and the same answer as before, not
	// assembled again.
	before := &out.data[0]
	a = next(a, 25, func(v *commonv1.Volume) { v.Options["performance.quick-read"] = "off" })
	out = generate(a, b, c)
	require.Same(t, keptA, text("a"), "a's section is unchanged: the kept text stays")
	require.Same(t, before, &out.data[0], "the node-wide answer is reused")
	require.NotEmpty(t, out.reply)

	// c stops: it leaves the graph and is no longer kept. A volume without
	// a version is rendered but not kept.
	c = next(c, 30, func(v *commonv1.Volume) { v.State = commonv1.VolumeState_STOPPED })
	d := healVolume("d", commonv1.VolumeType_REPLICATE, started, me, "x", "y")
	out = generate(a, b, c, d)
	require.NotSame(t, before, &out.data[0], "a new answer")
	require.NotContains(t, string(out.data), "c-replicate-0")
	require.Contains(t, string(out.data), "    subvolumes a-replicate-0 b-disperse-0 d-replicate-0\n")
	require.ElementsMatch(t, []string{"a", "b"}, slices.Collect(maps.Keys(v.sections)))
}
