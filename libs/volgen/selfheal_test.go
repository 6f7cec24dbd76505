package volgen

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// healLayouts are the golden layouts with a self-heal graph and distinct
// volume names (rep3-options is rep3 again).
var healLayouts = []string{"rep3", "arb3", "drep4", "disp3", "ddisp6"}

// blockHeader matches the first line of every block of a volfile.
var blockHeader = regexp.MustCompile(`(?m)^volume (\S+)$`)

// splitTop cuts a volfile before its last block and returns the blocks
// below it, and the top block's subvolumes.
func splitTop(t *testing.T, volfile string) (below string, subvols string) {
	t.Helper()
	i := strings.LastIndex(volfile, "\nvolume ")
	require.Positive(t, i)
	top := volfile[i+1:]
	m := regexp.MustCompile(`(?m)^    subvolumes (.*)$`).FindStringSubmatch(top)
	require.NotNil(t, m, "top block has subvolumes")
	return volfile[:i+1], m[1]
}

// nodeTop is the top block NodeSelfHeal writes.
func nodeTop(level, subvols string) string {
	return "volume glustershd\n    type debug/io-stats\n    option threads 16\n    option log-level " + level +
		"\n    subvolumes " + subvols + "\nend-volume\n"
}

func TestNodeSelfHealOfOneVolumeIsItsGoldenGraphUnderGlustershd(t *testing.T) {
	for _, layout := range append(healLayouts, "rep3-options") {
		t.Run(layout, func(t *testing.T) {
			f := loadFixture(t, layout)
			below, subvols := splitTop(t, string(golden(t, f, "glusterd-vols/"+SelfHealVolfileName(f.vol))))
			got := NodeSelfHeal([]SelfHealVolume{{f.vol, f.params}})
			require.Equal(t, below+nodeTop("INFO", subvols), string(got))
		})
	}
}

func TestNodeSelfHealCombinesVolumesByName(t *testing.T) {
	var in []SelfHealVolume
	var want strings.Builder
	var tops []string
	for _, layout := range []string{"arb3", "ddisp6", "disp3", "drep4", "rep3"} { // by name
		f := loadFixture(t, layout)
		below, subvols := splitTop(t, string(golden(t, f, "glusterd-vols/"+SelfHealVolfileName(f.vol))))
		want.WriteString(below)
		tops = append(tops, subvols)
		in = append(in, SelfHealVolume{f.vol, f.params})
	}
	want.WriteString(nodeTop("INFO", strings.Join(tops, " ")))
	got := NodeSelfHeal(in)
	require.Equal(t, want.String(), string(got))

	// Any order in, the same bytes out.
	for i := range 5 {
		shuffled := slices.Clone(in)
		slices.Reverse(shuffled)
		shuffled[0], shuffled[i] = shuffled[i], shuffled[0]
		require.Equal(t, got, NodeSelfHeal(shuffled))
	}
	require.Equal(t, "rep3-replicate-0", regexp.MustCompile(`\S+$`).FindString(strings.Join(tops, " ")))
}

func TestNodeSelfHealAppliesEachVolumesOwnOptions(t *testing.T) {
	rep := loadFixture(t, "rep3")
	disp := loadFixture(t, "disp3")
	rep.vol.Options["network.ping-timeout"] = "10"
	rep.vol.Options["cluster.self-heal-daemon"] = "off"
	rep.vol.Options["cluster.data-self-heal"] = "off" // forced on for the daemon
	disp.vol.Options["cluster.daemon-log-level"] = "DEBUG"
	disp.vol.Options["cluster.heal-timeout"] = "300"
	disp.vol.Options["disperse.shd-max-threads"] = "4"
	out := string(NodeSelfHeal([]SelfHealVolume{{rep.vol, rep.params}, {disp.vol, disp.params}}))

	blocks := map[string]string{}
	for _, b := range strings.SplitAfter(out, "end-volume\n") {
		if m := blockHeader.FindStringSubmatch(b); m != nil {
			blocks[m[1]] = b
		}
	}
	for i := range 3 {
		rc, dc := blocks[fmt.Sprintf("rep3-client-%d", i)], blocks[fmt.Sprintf("disp3-client-%d", i)]
		require.Contains(t, rc, "option ping-timeout 10\n")
		require.Contains(t, dc, "option ping-timeout 42\n")
		require.Contains(t, rc, "option username "+rep.params.Username+"\n")
		require.Contains(t, rc, "option password "+rep.params.Password+"\n")
		require.Contains(t, dc, "option username "+disp.params.Username+"\n")
		require.Contains(t, dc, "option password "+disp.params.Password+"\n")
	}
	r, d := blocks["rep3-replicate-0"], blocks["disp3-disperse-0"]
	require.Contains(t, r, "option self-heal-daemon off\n", "a volume may pause its own healing")
	require.Contains(t, r, "option data-self-heal on\n", "the daemon heals data whatever the volume says")
	require.NotContains(t, r, "heal-timeout")
	require.NotContains(t, r, "shd-max-threads")
	require.Contains(t, d, "option self-heal-daemon enable\n")
	require.Contains(t, d, "option shd-max-threads 4\n")
	require.Contains(t, d, "option heal-timeout 300\n")
	require.Contains(t, blocks["glustershd"], "option log-level DEBUG\n", "the most verbose daemon log level")
	require.Contains(t, blocks["glustershd"], "subvolumes disp3-disperse-0 rep3-replicate-0\n")

	// The volume's own shd/<vol> graph is unchanged: the daemon switch stays forced on there.
	require.Contains(t, string(SelfHeal(rep.vol, rep.params)), "option self-heal-daemon enable\n")
}

func TestNodeSelfHealNamesNeverClash(t *testing.T) {
	var in []SelfHealVolume
	blocks := 1 // glustershd
	for _, name := range []string{"v", "v-client", "v-client-0", "v-replicate-0", "v-disperse", "glustershd", "client", "v-1"} {
		f := loadFixture(t, "drep4")
		if strings.HasSuffix(name, "disperse") || name == "glustershd" {
			f = loadFixture(t, "ddisp6")
		}
		f.vol.Name = name
		in = append(in, SelfHealVolume{f.vol, f.params})
		blocks += len(bricks(f.vol)) + len(f.vol.Subvolumes)
	}
	out := string(NodeSelfHeal(in))
	var names []string
	for _, m := range blockHeader.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	require.Len(t, names, blocks)
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	require.Len(t, slices.Compact(sorted), len(names), "every block name is unique")
	require.Equal(t, "glustershd", names[len(names)-1])
	require.Equal(t, 1, strings.Count(out, "volume glustershd\n"))
}

func TestNodeSelfHealSkipsVolumesWithoutHealGraph(t *testing.T) {
	dist := loadFixture(t, "dist3")
	require.Nil(t, NodeSelfHeal(nil))
	require.Nil(t, NodeSelfHeal([]SelfHealVolume{{dist.vol, dist.params}}))
	rep := loadFixture(t, "rep3")
	twice := loadFixture(t, "rep3-options")
	with := NodeSelfHeal([]SelfHealVolume{{dist.vol, dist.params}, {rep.vol, rep.params}, {twice.vol, twice.params}})
	require.Equal(t, NodeSelfHeal([]SelfHealVolume{{rep.vol, rep.params}}), with, "distribute left out, a repeated name served once (the first)")
}

func TestNodeSelfHealVolumes(t *testing.T) {
	vol := func(name string, typ commonv1.VolumeType, state commonv1.VolumeState, peers ...string) *commonv1.Volume {
		v := &commonv1.Volume{Name: name, Type: typ, State: state}
		sv := &commonv1.Subvolume{}
		for i, p := range peers {
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{PeerId: p, Host: p, Path: fmt.Sprintf("/b/%s/%d", name, i)})
		}
		v.Subvolumes = []*commonv1.Subvolume{sv}
		return v
	}
	started := commonv1.VolumeState_STARTED
	vols := []*commonv1.Volume{
		vol("zrep", commonv1.VolumeType_REPLICATE, started, "n2", "n1", "n3"),
		vol("disp", commonv1.VolumeType_DISPERSE, started, "n1", "n1", "n1"),
		vol("ddisp", commonv1.VolumeType_DISTRIBUTED_DISPERSE, started, "n3", "n1", "n2"),
		vol("drep", commonv1.VolumeType_DISTRIBUTED_REPLICATE, started, "n1", "n2"),
		vol("elsewhere", commonv1.VolumeType_REPLICATE, started, "n2", "n3"),
		vol("stopped", commonv1.VolumeType_REPLICATE, commonv1.VolumeState_STOPPED, "n1", "n2"),
		vol("created", commonv1.VolumeType_DISPERSE, commonv1.VolumeState_CREATED, "n1", "n2", "n3"),
		vol("dist", commonv1.VolumeType_DISTRIBUTE, started, "n1"),
	}
	var names []string
	for _, v := range NodeSelfHealVolumes(vols, "n1") {
		names = append(names, v.Name)
	}
	require.Equal(t, []string{"ddisp", "disp", "drep", "zrep"}, names)
	require.Empty(t, NodeSelfHealVolumes(vols, "n4"))
	require.Empty(t, NodeSelfHealVolumes(nil, "n1"))
}
