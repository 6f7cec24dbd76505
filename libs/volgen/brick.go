package volgen

import (
	"strconv"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// Brick returns the volfile of one brick process, bottom-up: storage/posix on
// the brick directory, the arbiter xlator on an arbiter brick, the brick-side
// feature xlators, io-stats named after the brick path (the name clients ask
// for as remote-subvolume) and protocol/server <vol>-server on top.
func Brick(vol *commonv1.Volume, brick *commonv1.Brick, p Params) []byte {
	name := vol.GetName()
	dir := brick.GetPath()
	g := &graph{}
	add := func(suffix, typ string) *xlator {
		var sub []*xlator
		if len(g.xlators) > 0 {
			sub = []*xlator{g.top()}
		}
		return g.add(newXlator(name+"-"+suffix, typ, sub...))
	}

	posix := add("posix", "storage/posix")
	posix.set("directory", dir)
	posix.set("volume-id", vol.GetId())
	if brick.GetArbiter() {
		add("arbiter", "features/arbiter")
	}
	trash := add("trash", "features/trash")
	trash.set("trash-dir", ".trashcan")
	trash.set("brick-path", dir)
	trash.set("trash-internal-op", "off")
	changelog := add("changelog", "features/changelog")
	changelog.set("changelog-brick", dir)
	changelog.set("changelog-dir", dir+"/.glusterfs/changelogs")
	changelog.set("changelog-notification", "off")
	add("bitrot-stub", "features/bitrot-stub").set("export", dir)
	add("access-control", "features/access-control")
	add("locks", "features/locks")
	add("worm", "features/worm")
	add("read-only", "features/read-only").set("read-only", "off")
	add("leases", "features/leases")
	add("upcall", "features/upcall")
	add("io-threads", "performance/io-threads")
	add("selinux", "features/selinux")
	marker := add("marker", "features/marker")
	marker.set("volume-uuid", vol.GetId())
	marker.set("timestamp-file", p.workDir()+"/vols/"+name+"/marker.tstamp")
	marker.set("quota-version", strconv.Itoa(p.QuotaVersion))
	add("barrier", "features/barrier")
	index := add("index", "features/index")
	index.set("index-base", dir+"/.glusterfs/indices")
	// The index xlator tracks files with pending heals: AFR's changelog xattrs
	// for replicate (and plain distribute) volumes, EC's dirty xattr for disperse.
	switch vol.GetType() {
	case commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		index.set("xattrop64-watchlist", "trusted.ec.dirty")
	default:
		index.set("xattrop-dirty-watchlist", "trusted.afr.dirty")
		index.set("xattrop-pending-watchlist", "trusted.afr."+name+"-")
	}
	quota := add("quota", "features/quota")
	quota.set("volume-uuid", name)
	quota.set("server-quota", "off")

	stats := g.add(newXlator(dir, "debug/io-stats", g.top()))
	stats.set("unique-id", dir)
	stats.set("volume-id", vol.GetId())
	stats.set("log-level", "INFO")
	stats.set("threads", "16")

	server := g.add(newXlator(name+"-server", "protocol/server", stats))
	server.set("transport-type", "tcp")
	if af, ok := vol.GetOptions()["transport.address-family"]; ok {
		server.set("transport.address-family", af)
	}
	if p.Username != "" {
		server.set("auth.login."+dir+".allow", p.Username)
		server.set("auth.login."+p.Username+".password", p.Password)
	}
	server.set("auth-path", dir)
	allow := "*"
	if v, ok := vol.GetOptions()["auth.allow"]; ok {
		allow = v
	}
	server.set("auth.addr."+dir+".allow", quoteValue(allow))

	applyOptions(g, vol, brickGraph, dir)
	// posix divides statfs results by the number of this volume's bricks
	// that share the filesystem, so df does not count one disk several times.
	posix.set("shared-brick-count", strconv.Itoa(sharedBrickCount(vol, brick, p)))
	return g.render()
}

// sharedBrickCount counts the volume's bricks on brick's peer whose
// filesystem id equals brick's; 1 when the id is unknown.
func sharedBrickCount(vol *commonv1.Volume, brick *commonv1.Brick, p Params) int {
	fsid, ok := p.FilesystemIDs[brick.GetId()]
	if !ok || fsid == "" {
		return 1
	}
	n := 0
	for _, b := range bricks(vol) {
		if b.GetPeerId() == brick.GetPeerId() && b.GetHost() == brick.GetHost() && p.FilesystemIDs[b.GetId()] == fsid {
			n++
		}
	}
	return max(n, 1)
}
