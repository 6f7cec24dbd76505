package volgen

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// DefaultWorkDir is glusterd's working directory, used in paths written into brick volfiles.
const DefaultWorkDir = "/var/lib/glusterd"

// Params carries what the volfiles need beyond the volume model.
type Params struct {
	// Username is the volume's internal login (glusterd's `username=` in vols/<vol>/info).
	Username string
	// Password is the volume's internal password (glusterd's `password=`).
	Password string
	// Trusted selects the trusted client volfile, which carries Username and Password.
	Trusted bool
	// WorkDir is the glusterd-like working directory; "" means DefaultWorkDir.
	WorkDir string
	// QuotaVersion is the volume's quota version, written into the marker xlator.
	QuotaVersion int
	// FilesystemIDs maps a brick id to the id of the filesystem it sits on
	// (st_dev); bricks of the volume on one peer with equal ids share a disk.
	// A brick with no entry counts as alone on its filesystem.
	FilesystemIDs map[string]string
}

// workDir returns the working directory to use.
func (p Params) workDir() string {
	if p.WorkDir == "" {
		return DefaultWorkDir
	}
	return strings.TrimRight(p.WorkDir, "/")
}

// DefaultOptions returns the options glusterd stores on a new volume of this
// type at create time (they show under "Options Reconfigured"); a volume
// created by glusterd-ng should carry them so its volfiles match glusterd's.
func DefaultOptions(t commonv1.VolumeType) map[string]string {
	opts := map[string]string{
		"storage.fips-mode-rchecksum": "on",
		"transport.address-family":    "inet",
		"nfs.disable":                 "on",
	}
	if t == commonv1.VolumeType_REPLICATE || t == commonv1.VolumeType_DISTRIBUTED_REPLICATE {
		opts["cluster.granular-entry-heal"] = "on"
		opts["performance.client-io-threads"] = "off"
	}
	return opts
}

// BrickVolfileID returns the volfile-id a brick process is started with and
// fetches its volfile by: <volume>.<brick host>.<brick path without the
// leading slash, every other slash turned into a dash>.
func BrickVolfileID(vol *commonv1.Volume, brick *commonv1.Brick) string {
	return vol.GetName() + "." + brick.GetHost() + "." + DashedPath(brick.GetPath())
}

// DashedPath returns a brick path in the form glusterd uses in file names and
// volfile ids: "/tmp/golden/b1" becomes "tmp-golden-b1".
func DashedPath(p string) string {
	return strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "-")
}

// ClientVolfileName returns the file name glusterd stores the client volfile under.
func ClientVolfileName(vol *commonv1.Volume, trusted bool) string {
	if trusted {
		return "trusted-" + vol.GetName() + ".tcp-fuse.vol"
	}
	return vol.GetName() + ".tcp-fuse.vol"
}

// SelfHealVolfileName returns the file name of the volume's self-heal daemon volfile.
func SelfHealVolfileName(vol *commonv1.Volume) string {
	return vol.GetName() + "-shd.vol"
}

// volumeName is the set of names glusterd accepts for a volume.
var volumeName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)

// unsupportedToggles are options that add xlators volgen does not generate;
// CheckVolume refuses a volume that turns them on.
var unsupportedToggles = []string{
	"features.uss", "features.shard", "network.compression", "debug.trace",
	"debug.error-gen", "debug.delay-gen", "features.sdfs", "features.cloudsync",
	"features.tag-namespaces", "performance.parallel-readdir", "features.quota",
	"features.inode-quota",
}

// CheckVolume reports whether volgen can generate volfiles for vol: a valid
// name, a layout that matches its type and counts, sound bricks and known options.
func CheckVolume(vol *commonv1.Volume) error {
	if vol == nil {
		return errs.New(errs.Invalid, "volume is missing")
	}
	if !volumeName.MatchString(vol.GetName()) {
		return errs.InvalidField("name", "volume name %q must be 1-64 letters, digits, '_' or '-'", vol.GetName())
	}
	if err := checkLayout(vol); err != nil {
		return fmt.Errorf("volume %s: %w", vol.GetName(), err)
	}
	if err := checkOptions(vol); err != nil {
		return fmt.Errorf("volume %s: %w", vol.GetName(), err)
	}
	return nil
}

// checkLayout checks type, counts, subvolume shapes and bricks.
func checkLayout(vol *commonv1.Volume) error {
	if t := vol.GetTransport(); t != "" && t != "tcp" {
		return errs.InvalidField("transport", "transport %q is not supported, only tcp", t)
	}
	subs := vol.GetSubvolumes()
	if len(subs) == 0 {
		return errs.InvalidField("subvolumes", "volume has no bricks")
	}
	var setSize int
	switch vol.GetType() {
	case commonv1.VolumeType_DISTRIBUTE:
		setSize = 0
	case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISTRIBUTED_REPLICATE:
		if vol.GetReplicaCount() < 2 {
			return errs.InvalidField("replica_count", "replica count must be at least 2, got %d", vol.GetReplicaCount())
		}
		if a := vol.GetArbiterCount(); a > 1 || (a == 1 && vol.GetReplicaCount() != 3) {
			return errs.InvalidField("arbiter_count", "only replica 3 arbiter 1 is supported, got replica %d arbiter %d", vol.GetReplicaCount(), a)
		}
		setSize = int(vol.GetReplicaCount())
	case commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		d, r := vol.GetDisperseCount(), vol.GetRedundancyCount()
		if d < 3 || r < 1 || 2*r >= d {
			return errs.InvalidField("disperse_count", "disperse %d redundancy %d: need at least 3 bricks and 1 <= redundancy < half of them", d, r)
		}
		setSize = int(d)
	default:
		return errs.InvalidField("type", "unknown volume type %v", vol.GetType())
	}
	switch vol.GetType() {
	case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISPERSE:
		if len(subs) != 1 {
			return errs.InvalidField("subvolumes", "a %v volume has exactly one subvolume, got %d", vol.GetType(), len(subs))
		}
	case commonv1.VolumeType_DISTRIBUTED_REPLICATE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		if len(subs) < 2 {
			return errs.InvalidField("subvolumes", "a %v volume has at least two subvolumes, got %d", vol.GetType(), len(subs))
		}
	}
	seen := map[string]bool{}
	for i, sv := range subs {
		if setSize > 0 && len(sv.GetBricks()) != setSize {
			return errs.InvalidField("subvolumes", "subvolume %d has %d bricks, want %d", i, len(sv.GetBricks()), setSize)
		}
		for j, b := range sv.GetBricks() {
			if err := checkBrick(b); err != nil {
				return fmt.Errorf("subvolume %d brick %d: %w", i, j, err)
			}
			id := b.GetHost() + ":" + b.GetPath()
			if seen[id] {
				return errs.InvalidField("subvolumes", "brick %s is listed twice", id)
			}
			seen[id] = true
			wantArbiter := vol.GetArbiterCount() == 1 && j == setSize-1
			if b.GetArbiter() != wantArbiter {
				return errs.InvalidField("subvolumes", "brick %s: arbiter flag must be set on exactly the last brick of each replica set of an arbiter volume", id)
			}
		}
	}
	return nil
}

// checkBrick checks one brick's host and path.
func checkBrick(b *commonv1.Brick) error {
	if b == nil {
		return errs.InvalidField("bricks", "brick is missing")
	}
	h := b.GetHost()
	if h == "" || strings.ContainsAny(h, " \t\n/:\"#") {
		return errs.InvalidField("host", "brick host %q is not a host name or address", h)
	}
	p := b.GetPath()
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" || strings.ContainsAny(p, " \t\n\"#") {
		return errs.InvalidField("path", "brick path %q must be a clean absolute path without spaces, quotes or '#'", p)
	}
	return nil
}

// checkOptions validates every option and refuses options that need xlators
// volgen does not generate.
func checkOptions(vol *commonv1.Volume) error {
	for _, k := range sortedKeys(vol.GetOptions()) {
		if err := Validate(k, vol.GetOptions()[k]); err != nil {
			return err
		}
	}
	for _, k := range unsupportedToggles {
		if enabled(vol.GetOptions(), k) {
			return errs.InvalidField(k, "option %s=%s is not supported by the volfile generator yet", k, vol.GetOptions()[k])
		}
	}
	if !enabled(vol.GetOptions(), "features.acl") {
		return errs.InvalidField("features.acl", "disabling features.acl is not supported by the volfile generator yet")
	}
	return nil
}

// bricks returns the volume's bricks in volume order.
func bricks(vol *commonv1.Volume) []*commonv1.Brick {
	var out []*commonv1.Brick
	for _, sv := range vol.GetSubvolumes() {
		out = append(out, sv.GetBricks()...)
	}
	return out
}
