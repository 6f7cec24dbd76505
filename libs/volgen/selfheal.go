package volgen

import (
	"bytes"
	"slices"
	"strings"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// NodeSelfHealVolfileID is the volfile-id (GETSPEC key) of a node's one
// self-heal daemon, which serves every volume NodeSelfHealVolumes selects;
// glusterd served its node-wide self-heal graph under this key before 7.0
// multiplexed the daemon.
const NodeSelfHealVolfileID = "gluster/glustershd"

// nodeSelfHealName names the top xlator of the node-wide self-heal graph.
const nodeSelfHealName = "glustershd"

// SelfHeal returns the self-heal daemon volfile of a replicate or disperse
// volume (served for volfile-id shd/<vol>), or nil for a distribute volume.
// It is the client graph without DHT and performance xlators, with the heal
// options forced on and io-stats named after the volume on top.
func SelfHeal(vol *commonv1.Volume, p Params) []byte {
	if !healable(vol) {
		return nil
	}
	g, sets := selfHealSections(vol, p, shdGraph)
	stats := g.add(newXlator(vol.GetName(), "debug/io-stats", sets...))
	stats.set("log-level", daemonLogLevel(vol))
	stats.set("threads", "16")
	return g.render()
}

// selfHealSections builds a volume's part of a self-heal graph: one
// protocol/client per brick (always with the volume's login: the daemon is
// trusted), the replicate or disperse sets with the volume's options and the
// daemon's forced ones, marked as the daemon's. It returns the graph and the
// sets, which the caller puts under its io-stats.
func selfHealSections(vol *commonv1.Volume, p Params, kind graphKind) (*graph, []*xlator) {
	g := &graph{}
	clients := addClients(g, vol, p, true)
	sets := addSets(g, vol, clients)
	applyOptions(g, vol, kind, "")
	// Marks the graph as the daemon's, so replicate and disperse crawl the index and heal.
	for _, s := range sets {
		s.set("iam-self-heal-daemon", "yes")
	}
	return g, sets
}

// SelfHealVolume is one volume of a node-wide self-heal graph with the
// parameters of its own sections (its login differs from other volumes').
type SelfHealVolume struct {
	Volume *commonv1.Volume
	Params Params
}

// NodeSelfHeal returns the volfile of a node's one self-heal daemon (served
// for NodeSelfHealVolfileID): the sections SelfHeal writes for each
// replicate or disperse volume, by volume name, then a debug/io-stats named
// glustershd whose subvolumes are every volume's replicate or disperse
// blocks, as glusterd wrote gluster/glustershd before multiplexing. It
// returns nil when no volume has a self-heal graph.
//
// Each volume's sections carry that volume's own options and login. A
// block's name is its volume's name followed by -client-N, -replicate-N or
// -disperse-N; N is a number and the three words hold no dash, so a block
// name read from the right gives back its volume: two volumes never share
// a block name, and no block but the top is named glustershd. Volume names
// are unique in the store; a name given twice is served once (the first).
//
// Two things differ from the volume's own shd/<vol> graph: a volume that
// sets cluster.self-heal-daemon or cluster.disperse-self-heal-daemon keeps
// that value (off leaves the volume in the graph but pauses its healing, as
// the daemon of glusterd 10 is detached from it), and the one io-stats logs
// at the most verbose cluster.daemon-log-level of the volumes, since the
// level is the whole process's.
func NodeSelfHeal(vols []SelfHealVolume) []byte {
	sorted := slices.Clone(vols)
	slices.SortStableFunc(sorted, func(a, b SelfHealVolume) int {
		return strings.Compare(a.Volume.GetName(), b.Volume.GetName())
	})
	sections := make([]SelfHealSection, 0, len(sorted))
	for i, v := range sorted {
		if i > 0 && sorted[i-1].Volume.GetName() == v.Volume.GetName() {
			continue
		}
		sections = append(sections, NodeSelfHealSection(v.Volume, v.Params))
	}
	return JoinNodeSelfHeal(sections)
}

// SelfHealSection is one volume's part of the node-wide self-heal graph,
// rendered on its own so that a caller can keep it while the volume does
// not change and assemble the graph from kept parts (JoinNodeSelfHeal).
type SelfHealSection struct {
	// Volume is the volume's name.
	Volume string
	// Text is the volume's blocks in volfile syntax; empty for a volume
	// without a self-heal graph.
	Text []byte
	// Tops names the volume's replicate or disperse blocks, the subvolumes
	// of the graph's top.
	Tops []string
	// LogLevel is the volume's cluster.daemon-log-level.
	LogLevel string
}

// NodeSelfHealSection renders vol's part of the node-wide self-heal graph
// (see NodeSelfHeal), with p's login; the section of a volume without a
// self-heal graph is empty.
func NodeSelfHealSection(vol *commonv1.Volume, p Params) SelfHealSection {
	out := SelfHealSection{Volume: vol.GetName()}
	if !healable(vol) {
		return out
	}
	g, sets := selfHealSections(vol, p, nodeShdGraph)
	out.Text = g.render()
	for _, s := range sets {
		out.Tops = append(out.Tops, s.name)
	}
	out.LogLevel = daemonLogLevel(vol)
	return out
}

// JoinNodeSelfHeal assembles the node-wide self-heal volfile from the
// sections of distinct volumes sorted by name, byte for byte what
// NodeSelfHeal returns for those volumes; nil when no section has blocks.
func JoinNodeSelfHeal(sections []SelfHealSection) []byte {
	size := 0
	for _, s := range sections {
		size += len(s.Text) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size+256))
	var tops []*xlator
	level := ""
	for _, s := range sections {
		if len(s.Text) == 0 {
			continue
		}
		b.Write(s.Text)
		b.WriteByte('\n')
		for _, name := range s.Tops {
			tops = append(tops, &xlator{name: name})
		}
		if level == "" || logVerbosity(s.LogLevel) > logVerbosity(level) {
			level = s.LogLevel
		}
	}
	if len(tops) == 0 {
		return nil
	}
	top := &graph{}
	stats := top.add(newXlator(nodeSelfHealName, "debug/io-stats", tops...))
	stats.set("log-level", level)
	stats.set("threads", "16")
	b.Write(top.render())
	return b.Bytes()
}

// NodeSelfHealVolumes returns, sorted by name, the volumes whose heals the
// self-heal daemon of node nodeID serves: started replicate or disperse
// volumes (distributed or not, arbiter included) with at least one brick on
// the node. The daemon heals from the index of local bricks only, so a node
// without bricks of a volume has nothing to heal in it. The portmap serves
// their NodeSelfHeal graph; the service manager runs the daemon while the
// list is not empty.
func NodeSelfHealVolumes(vols []*commonv1.Volume, nodeID string) []*commonv1.Volume {
	var out []*commonv1.Volume
	for _, v := range vols {
		if v.GetState() != commonv1.VolumeState_STARTED || !healable(v) {
			continue
		}
		if slices.ContainsFunc(bricks(v), func(b *commonv1.Brick) bool { return b.GetPeerId() == nodeID }) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *commonv1.Volume) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// healable reports whether the volume has a self-heal graph: replicate
// (arbiter included) and disperse volumes, distributed or not.
func healable(vol *commonv1.Volume) bool {
	switch vol.GetType() {
	case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISTRIBUTED_REPLICATE,
		commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		return true
	}
	return false
}

// daemonLogLevel is the volume's cluster.daemon-log-level, set or default.
func daemonLogLevel(vol *commonv1.Volume) string {
	if o, ok := Lookup("cluster.daemon-log-level"); ok {
		return effective(vol.GetOptions(), o)
	}
	return "INFO"
}

// logVerbosity orders log levels from silent (NONE) to most verbose (TRACE).
func logVerbosity(level string) int {
	return slices.Index([]string{"NONE", "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "TRACE"}, strings.ToUpper(level))
}
