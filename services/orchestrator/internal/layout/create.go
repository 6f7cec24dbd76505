package layout

import (
	"fmt"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

// SplitBrainWarning is the warning for a replica 2 layout, which gluster asks
// the operator to confirm.
const SplitBrainWarning = "replica 2 volumes are prone to split-brain; use replica 3 or an arbiter " +
	"(replica_count 3, arbiter_count 1) to avoid it. See https://docs.gluster.org/en/latest/Administrator-Guide/Split-brain-and-ways-to-deal-with-it/"

// shape is a volume's type and counts.
type shape struct {
	typ                                    commonv1.VolumeType
	replica, arbiter, disperse, redundancy uint32
}

// setSize is the number of bricks in one subvolume.
func (s shape) setSize() int {
	switch {
	case s.replica > 1:
		return int(s.replica)
	case s.disperse > 0:
		return int(s.disperse)
	}
	return 1
}

// kind is the word gluster's placement message uses for the layout, or ""
// for distribute, where placement does not matter.
func (s shape) kind() string {
	switch {
	case s.replica > 1:
		return "replicate"
	case s.disperse > 0:
		return "disperse"
	}
	return ""
}

// Create checks a create request and returns the volume it describes, in
// state CREATED, with the warnings gluster would ask the operator to
// confirm. Bricks and the volume get ids from newID; peers are the pool, in
// which every BrickSpec.peer must be found by id, name or address.
//
// The type follows from the counts as in `gluster volume create`: none gives
// DISTRIBUTE; replica_count gives REPLICATE, or DISTRIBUTED_REPLICATE with
// more bricks than one set; disperse_count and/or redundancy_count give
// DISPERSE or DISTRIBUTED_DISPERSE. Consecutive bricks form a set. A set with
// two bricks on one peer is refused (Precondition) unless req.force.
func Create(req *orchestratorv1.CreateVolumeRequest, peers []*commonv1.Peer, newID func() string) (*commonv1.Volume, []string, error) {
	if req == nil {
		return nil, nil, errs.New(errs.Invalid, "the create request is missing")
	}
	if err := ValidateVolumeName(req.GetName()); err != nil {
		return nil, nil, err
	}
	if err := checkCreateCounts(req); err != nil {
		return nil, nil, err
	}
	bricks, err := newBricks("bricks", req.GetBricks(), peers, newID)
	if err != nil {
		return nil, nil, err
	}
	entries := newEntries("bricks", bricks)
	if err := checkOverlap(entries); err != nil {
		return nil, nil, err
	}
	sh, warnings, err := createShape(req, len(bricks))
	if err != nil {
		return nil, nil, err
	}
	opts, err := mergeOptions(volgen.DefaultOptions(sh.typ), req.GetOptions())
	if err != nil {
		return nil, nil, err
	}
	size := sh.setSize()
	var sets [][]entry
	for i := 0; i < len(entries); i += size {
		sets = append(sets, entries[i:i+size])
	}
	if k := sh.kind(); k != "" {
		w, err := checkPlacement(k, sets, req.GetForce())
		if err != nil {
			return nil, nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	vol := &commonv1.Volume{
		Id:              newID(),
		Name:            req.GetName(),
		Type:            sh.typ,
		State:           commonv1.VolumeState_CREATED,
		ReplicaCount:    sh.replica,
		ArbiterCount:    sh.arbiter,
		DisperseCount:   sh.disperse,
		RedundancyCount: sh.redundancy,
		Options:         opts,
		Transport:       "tcp",
	}
	for _, set := range sets {
		sv := &commonv1.Subvolume{}
		for j, e := range set {
			e.brick.Arbiter = sh.arbiter == 1 && j == size-1
			sv.Bricks = append(sv.Bricks, e.brick)
		}
		vol.Subvolumes = append(vol.Subvolumes, sv)
	}
	if err := volgen.CheckVolume(vol); err != nil {
		return nil, nil, err
	}
	return vol, warnings, nil
}

// checkCreateCounts refuses count combinations gluster refuses whatever the bricks.
func checkCreateCounts(req *orchestratorv1.CreateVolumeRequest) error {
	r, a := req.GetReplicaCount(), req.GetArbiterCount()
	switch {
	case r == 1:
		return errs.InvalidField("replica_count", "must be at least 2, got 1 (leave it out for a distribute volume)")
	case r > 0 && (req.GetDisperseCount() > 0 || req.GetRedundancyCount() > 0):
		return errs.InvalidField("replica_count", "cannot be combined with disperse_count or redundancy_count: replicated-dispersed volumes are not supported")
	case a > 0 && (r != 3 || a != 1):
		return errs.InvalidField("arbiter_count", "only replica_count 3 with arbiter_count 1 is supported, the third brick of each set being the arbiter "+
			"(gluster's \"replica 2 arbiter 1\" is the same layout); got replica_count %d, arbiter_count %d", r, a)
	}
	return nil
}

// createShape derives the type and counts of a new volume of n bricks, with
// the warnings gluster asks to confirm.
func createShape(req *orchestratorv1.CreateVolumeRequest, n int) (shape, []string, error) {
	r, d, red := req.GetReplicaCount(), req.GetDisperseCount(), req.GetRedundancyCount()
	switch {
	case r > 1:
		if n%int(r) != 0 {
			return shape{}, nil, errs.InvalidField("bricks", "the number of bricks (%d) is not a multiple of replica_count (%d)", n, r)
		}
		sh := shape{typ: commonv1.VolumeType_REPLICATE, replica: r, arbiter: req.GetArbiterCount()}
		if n > int(r) {
			sh.typ = commonv1.VolumeType_DISTRIBUTED_REPLICATE
		}
		var warnings []string
		if r == 2 {
			warnings = append(warnings, SplitBrainWarning)
		}
		return sh, warnings, nil
	case d > 0 || red > 0:
		return disperseShape(d, red, n)
	}
	return shape{typ: commonv1.VolumeType_DISTRIBUTE}, nil, nil
}

// disperseShape applies gluster's disperse rules: disperse defaults to the
// number of bricks, is at least 3 and divides it; redundancy is at least 1
// and less than half of disperse, and is chosen as gluster does when omitted.
func disperseShape(d, red uint32, n int) (shape, []string, error) {
	if d == 0 {
		d = uint32(n)
		if d < 3 {
			return shape{}, nil, errs.InvalidField("disperse_count", "not given, so it is the number of bricks, %d, but it must be at least 3", d)
		}
	}
	if d < 3 {
		return shape{}, nil, errs.InvalidField("disperse_count", "must be at least 3, got %d", d)
	}
	if n%int(d) != 0 {
		return shape{}, nil, errs.InvalidField("bricks", "the number of bricks (%d) is not a multiple of disperse_count (%d)", n, d)
	}
	var warnings []string
	if red == 0 {
		r, optimal := AutoRedundancy(d)
		red = r
		if optimal {
			warnings = append(warnings, fmt.Sprintf("redundancy_count not given: using %d, the optimal redundancy for disperse %d", r, d))
		} else {
			warnings = append(warnings, fmt.Sprintf("redundancy_count not given: disperse %d has no optimal redundancy (one that leaves a power of two of data bricks); using 1", d))
		}
	} else if 2*uint64(red) >= uint64(d) {
		return shape{}, nil, errs.InvalidField("redundancy_count", "must be at least 1 and less than %d for a disperse %d volume, got %d", (d+1)/2, d, red)
	} else if !powerOfTwo(d - red) {
		warnings = append(warnings, fmt.Sprintf("disperse %d with redundancy %d is not optimal on most workloads: %d data bricks is not a power of two", d, red, d-red))
	}
	sh := shape{typ: commonv1.VolumeType_DISPERSE, disperse: d, redundancy: red}
	if n > int(d) {
		sh.typ = commonv1.VolumeType_DISTRIBUTED_DISPERSE
	}
	return sh, warnings, nil
}

// AutoRedundancy returns the redundancy gluster chooses for a disperse set
// of d bricks when none is given: the one that leaves a power of two of data
// bricks while staying below half of d (optimal), else 1.
func AutoRedundancy(d uint32) (redundancy uint32, optimal bool) {
	for p := uint64(1); p < uint64(d); p *= 2 {
		if 2*p > uint64(d) {
			return d - uint32(p), true
		}
	}
	return 1, false
}

// powerOfTwo reports whether n is a power of two.
func powerOfTwo(n uint32) bool { return n > 0 && n&(n-1) == 0 }
