package volgen

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// clientPerfStack lists the optional client-side xlators from the bottom up,
// each with the option that switches it on and the suffix of its block name.
// Only write-behind, open-behind, quick-read, md-cache and io-threads occur in
// the golden files; the places of read-ahead, readdir-ahead, io-cache and
// nl-cache are not verified against glusterd output.
var clientPerfStack = []struct {
	toggle string
	typ    string
	suffix string
}{
	{"performance.write-behind", "performance/write-behind", "write-behind"},
	{"performance.read-ahead", "performance/read-ahead", "read-ahead"},
	{"performance.readdir-ahead", "performance/readdir-ahead", "readdir-ahead"},
	{"performance.io-cache", "performance/io-cache", "io-cache"},
	{"performance.open-behind", "performance/open-behind", "open-behind"},
	{"performance.quick-read", "performance/quick-read", "quick-read"},
	{"performance.nl-cache", "performance/nl-cache", "nl-cache"},
	{"performance.stat-prefetch", "performance/md-cache", "md-cache"},
	{"performance.client-io-threads", "performance/io-threads", "io-threads"},
}

// Client returns the FUSE/gfapi client volfile: one protocol/client per
// brick, the replicate or disperse sets, DHT, utime, the performance
// xlators, and io-stats named after the volume on top. p.Trusted adds the
// volume's username and password to every protocol/client block.
func Client(vol *commonv1.Volume, p Params) []byte {
	g := &graph{}
	clients := addClients(g, vol, p, p.Trusted)
	sets := addSets(g, vol, clients)
	top := g.add(newXlator(vol.GetName()+"-dht", "cluster/distribute", sets...))
	if enabled(vol.GetOptions(), "features.ctime") {
		top = g.add(newXlator(vol.GetName()+"-utime", "features/utime", top))
	}
	for _, px := range clientPerfStack {
		if enabled(vol.GetOptions(), px.toggle) {
			top = g.add(newXlator(vol.GetName()+"-"+px.suffix, px.typ, top))
		}
	}
	stats := g.add(newXlator(vol.GetName(), "debug/io-stats", top))
	stats.set("log-level", "INFO")
	stats.set("threads", "16")
	applyOptions(g, vol, clientGraph, "")
	// The FUSE/gfapi client sends the caller's supplementary groups with each call.
	for _, c := range clients {
		c.set("send-gids", "true")
	}
	return g.render()
}

// ClientName returns the name of the protocol/client block of the brick
// with id brickID in vol's graphs, <vol>-client-<index in volume order>
// (replicate keeps the brick's changelog under it), and whether vol has
// that brick.
func ClientName(vol *commonv1.Volume, brickID string) (string, bool) {
	for i, b := range bricks(vol) {
		if b.GetId() == brickID {
			return vol.GetName() + "-client-" + strconv.Itoa(i), true
		}
	}
	return "", false
}

// SetName returns the name of the replicate or disperse block of vol's
// subvolume i (<vol>-replicate-<i>, <vol>-disperse-<i>), as the client and
// self-heal graphs name it, or "" for a distribute volume.
func SetName(vol *commonv1.Volume, i int) string {
	switch vol.GetType() {
	case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISTRIBUTED_REPLICATE:
		return fmt.Sprintf("%s-replicate-%d", vol.GetName(), i)
	case commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		return fmt.Sprintf("%s-disperse-%d", vol.GetName(), i)
	}
	return ""
}

// addClients adds one protocol/client block per brick, named
// <vol>-client-<index in volume order>; replicate keeps its changelog under
// these names, so they must never change.
func addClients(g *graph, vol *commonv1.Volume, p Params, withLogin bool) []*xlator {
	var out []*xlator
	for i, b := range bricks(vol) {
		c := g.add(newXlator(vol.GetName()+"-client-"+strconv.Itoa(i), "protocol/client"))
		c.set("ping-timeout", "42")
		c.set("remote-host", b.GetHost())
		c.set("remote-subvolume", b.GetPath())
		c.set("transport-type", "tcp")
		if af, ok := vol.GetOptions()["transport.address-family"]; ok {
			c.set("transport.address-family", af)
		}
		if withLogin && p.Username != "" {
			c.set("username", p.Username)
			c.set("password", p.Password)
		}
		out = append(out, c)
	}
	return out
}

// addSets adds the replicate or disperse block of each subvolume and returns
// what DHT sits on: those blocks, or the clients of a distribute volume.
func addSets(g *graph, vol *commonv1.Volume, clients []*xlator) []*xlator {
	var sets []*xlator
	next := 0
	for i, sv := range vol.GetSubvolumes() {
		members := clients[next : next+len(sv.GetBricks())]
		next += len(sv.GetBricks())
		switch vol.GetType() {
		case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISTRIBUTED_REPLICATE:
			x := g.add(newXlator(SetName(vol, i), "cluster/replicate", members...))
			names := make([]string, len(members))
			for j, m := range members {
				names[j] = m.name
			}
			x.set("afr-pending-xattr", strings.Join(names, ","))
			x.set("volume-id", vol.GetId())
			if vol.GetArbiterCount() > 0 {
				x.set("arbiter-count", strconv.Itoa(int(vol.GetArbiterCount())))
			}
			sets = append(sets, x)
		case commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
			x := g.add(newXlator(SetName(vol, i), "cluster/disperse", members...))
			x.set("redundancy", strconv.Itoa(int(vol.GetRedundancyCount())))
			sets = append(sets, x)
		default:
			sets = append(sets, members...)
		}
	}
	return sets
}

// sortedKeys returns m's keys in sorted order.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
