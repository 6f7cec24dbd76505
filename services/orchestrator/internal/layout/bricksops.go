package layout

import (
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

// kindOf is the word gluster's messages use for a volume type's sets:
// "replicate", "disperse", or "" for distribute.
func kindOf(t commonv1.VolumeType) string {
	switch t {
	case commonv1.VolumeType_REPLICATE, commonv1.VolumeType_DISTRIBUTED_REPLICATE:
		return "replicate"
	case commonv1.VolumeType_DISPERSE, commonv1.VolumeType_DISTRIBUTED_DISPERSE:
		return "disperse"
	case commonv1.VolumeType_DISTRIBUTE:
		return ""
	}
	return "unknown"
}

// distributedType returns the type of a layout of t's kind with n subvolumes.
func distributedType(t commonv1.VolumeType, n int) commonv1.VolumeType {
	switch kindOf(t) {
	case "replicate":
		if n > 1 {
			return commonv1.VolumeType_DISTRIBUTED_REPLICATE
		}
		return commonv1.VolumeType_REPLICATE
	case "disperse":
		if n > 1 {
			return commonv1.VolumeType_DISTRIBUTED_DISPERSE
		}
		return commonv1.VolumeType_DISPERSE
	}
	return t
}

// labelled pairs each brick of the subvolumes with its entry: new bricks
// keep the label newEntries gave them, the others are named by id.
func labelled(vol *commonv1.Volume, news []entry) [][]entry {
	byID := map[string]entry{}
	for _, e := range news {
		byID[e.brick.GetId()] = e
	}
	var sets [][]entry
	for _, sv := range vol.GetSubvolumes() {
		var set []entry
		for _, b := range sv.GetBricks() {
			e, ok := byID[b.GetId()]
			if !ok {
				e = entry{brick: b, label: "brick " + b.GetId()}
			}
			set = append(set, e)
		}
		sets = append(sets, set)
	}
	return sets
}

// AddBricks returns a copy of vol with the bricks of req added, and the
// warnings gluster would ask to confirm. Two forms are supported, as in
// `gluster volume add-brick`:
//
//   - whole sets (replica_count 0 or the volume's own; a distribute volume's
//     is 1): the brick count must be a multiple of the set size, and a
//     replicate or disperse volume becomes distributed;
//   - a higher replica count on a distribute or replicate volume without
//     arbiter: exactly (new - old) bricks per existing set, appended to each
//     set in order (a distribute volume counts as replica 1).
//
// Lowering the replica count, raising it on an arbiter volume, combining a
// raise with new sets, and replica_count on a disperse volume are refused.
// A set in which a new brick shares a peer with another brick is refused
// (Precondition) unless req.force.
func AddBricks(vol *commonv1.Volume, req *orchestratorv1.AddBricksRequest, peers []*commonv1.Peer, newID func() string) (*commonv1.Volume, []string, error) {
	out, err := cloneVolume(vol)
	if err != nil {
		return nil, nil, err
	}
	if req == nil {
		return nil, nil, errs.New(errs.Invalid, "the add-brick request is missing")
	}
	kind := kindOf(out.GetType())
	if kind == "unknown" {
		return nil, nil, errs.New(errs.Precondition, "volume %s has no known type (%v)", out.GetName(), out.GetType())
	}
	bricks, err := newBricks("bricks", req.GetBricks(), peers, newID)
	if err != nil {
		return nil, nil, err
	}
	news := newEntries("bricks", bricks)
	if err := checkOverlap(append(existingEntries(vol), news...)); err != nil {
		return nil, nil, err
	}
	n, want := len(bricks), req.GetReplicaCount()
	var warnings []string
	switch kind {
	case "disperse":
		if want != 0 {
			return nil, nil, errs.InvalidField("replica_count", "volume %s is dispersed; it cannot become replicated-dispersed", out.GetName())
		}
		if err := addSets(out, bricks, int(out.GetDisperseCount()), "disperse"); err != nil {
			return nil, nil, err
		}
	default:
		have := out.GetReplicaCount()
		if kind == "" {
			have = 1
		}
		switch {
		case want == 0 || want == have:
			if err := addSets(out, bricks, int(have), "replica"); err != nil {
				return nil, nil, err
			}
		case want < have:
			return nil, nil, errs.InvalidField("replica_count", "volume %s has replica count %d; adding bricks cannot lower it to %d", out.GetName(), have, want)
		case out.GetArbiterCount() > 0:
			return nil, nil, errs.InvalidField("replica_count", "raising the replica count of arbiter volume %s is not supported", out.GetName())
		default:
			sets := len(out.GetSubvolumes())
			per := int(want - have)
			if n != per*sets {
				return nil, nil, errs.InvalidField("bricks", "raising the replica count from %d to %d takes %d new brick(s) per set, %d in all for %d set(s); got %d (add further sets in a separate request)",
					have, want, per, per*sets, sets, n)
			}
			for i, sv := range out.GetSubvolumes() {
				sv.Bricks = append(sv.Bricks, bricks[i*per:(i+1)*per]...)
			}
			if kind == "" {
				// gluster switches client-side io-threads off when a volume becomes replicated.
				if out.Options == nil {
					out.Options = map[string]string{}
				}
				if _, set := out.Options["performance.client-io-threads"]; !set {
					out.Options["performance.client-io-threads"] = "off"
				}
			}
			out.ReplicaCount = want
			out.Type = distributedType(commonv1.VolumeType_REPLICATE, sets)
			if want == 2 {
				warnings = append(warnings, SplitBrainWarning)
			}
		}
	}
	if k := kindOf(out.GetType()); k != "" {
		w, err := checkPlacement(k, labelled(out, news), req.GetForce())
		if err != nil {
			return nil, nil, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	if err := volgen.CheckVolume(out); err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}

// addSets appends bricks to vol as new subvolumes of size bricks each;
// setWord names such a set in the error.
func addSets(vol *commonv1.Volume, bricks []*commonv1.Brick, size int, setWord string) error {
	if size < 1 || len(bricks)%size != 0 {
		return errs.InvalidField("bricks", "the number of new bricks (%d) is not a multiple of the %s count (%d): add whole %s sets", len(bricks), setWord, size, setWord)
	}
	for i := 0; i < len(bricks); i += size {
		set := bricks[i : i+size]
		if vol.GetArbiterCount() == 1 {
			set[size-1].Arbiter = true
		}
		vol.Subvolumes = append(vol.Subvolumes, &commonv1.Subvolume{Bricks: set})
	}
	vol.Type = distributedType(vol.GetType(), len(vol.GetSubvolumes()))
	return nil
}

// RemoveBricks returns a copy of vol without the subvolume that holds brick
// req.brick: the brick itself on a distribute volume, its whole replica or
// disperse set otherwise; a distributed layout left with one set loses its
// "distributed". migrate reports whether the removed bricks may hold data
// that must first move to the others (always, unless the volume was never
// started). Removing every brick is refused, and so is removing a brick of
// a volume with a single set (lowering the replica or disperse count is not
// supported). req.force is the caller's: it does not change the layout.
func RemoveBricks(vol *commonv1.Volume, req *orchestratorv1.RemoveBrickRequest) (out *commonv1.Volume, migrate bool, err error) {
	out, err = cloneVolume(vol)
	if err != nil {
		return nil, false, err
	}
	if req.GetBrick() == "" {
		return nil, false, errs.InvalidField("brick", "must not be empty")
	}
	i, _, ok := findBrick(out, req.GetBrick())
	if !ok {
		return nil, false, errs.New(errs.NotFound, "brick %s is not a brick of volume %s", req.GetBrick(), out.GetName())
	}
	if len(out.GetSubvolumes()) == 1 {
		switch k := kindOf(out.GetType()); k {
		case "":
			return nil, false, errs.New(errs.Precondition, "brick %s is the only brick of volume %s; removing it would remove every brick (delete the volume instead)", req.GetBrick(), out.GetName())
		default:
			return nil, false, errs.New(errs.Precondition, "brick %s is in the only %s set of volume %s; removing the set would remove every brick, and lowering the %s count is not supported (replace the brick instead)",
				req.GetBrick(), setWord(k), out.GetName(), setWord(k))
		}
	}
	out.Subvolumes = append(out.Subvolumes[:i], out.Subvolumes[i+1:]...)
	out.Type = distributedType(out.GetType(), len(out.GetSubvolumes()))
	return out, out.GetState() != commonv1.VolumeState_CREATED, nil
}

// ReplaceBrick returns a copy of vol with brick req.brick replaced by a new
// brick (new id, same place in its set, same arbiter role), as gluster's
// `replace-brick … commit force` does; self-heal then fills it. Only
// replicate and disperse layouts allow it (Precondition otherwise). The new
// brick must not be, contain or be inside a brick of the volume, and must
// not share a peer with another brick of its set unless force, which the
// caller passes because ReplaceBrickRequest has no force field (yet). The
// warnings say what force let through.
func ReplaceBrick(vol *commonv1.Volume, req *orchestratorv1.ReplaceBrickRequest, peers []*commonv1.Peer, newID func() string, force bool) (*commonv1.Volume, []string, error) {
	out, err := cloneVolume(vol)
	if err != nil {
		return nil, nil, err
	}
	kind := kindOf(out.GetType())
	if kind == "" || kind == "unknown" {
		return nil, nil, errs.New(errs.Precondition, "replace-brick is not permitted on distribute-only volume %s; add the new brick and remove the old one instead", out.GetName())
	}
	if req.GetBrick() == "" {
		return nil, nil, errs.InvalidField("brick", "must not be empty")
	}
	i, j, ok := findBrick(out, req.GetBrick())
	if !ok {
		return nil, nil, errs.New(errs.NotFound, "brick %s is not a brick of volume %s", req.GetBrick(), out.GetName())
	}
	nb, err := newBrick("new_brick", req.GetNewBrick(), peers, newID)
	if err != nil {
		return nil, nil, err
	}
	old := out.GetSubvolumes()[i].GetBricks()[j]
	if nb.GetPeerId() == old.GetPeerId() && nb.GetPath() == old.GetPath() {
		return nil, nil, errs.InvalidField("new_brick", "%s:%s is the brick being replaced", nb.GetHost(), nb.GetPath())
	}
	ne := entry{brick: nb, label: "new_brick", isNew: true}
	if err := checkOverlap(append(existingEntries(vol), ne)); err != nil {
		return nil, nil, err
	}
	nb.Arbiter = old.GetArbiter()
	out.Subvolumes[i].Bricks[j] = nb
	var warnings []string
	w, err := checkPlacement(kind, labelled(out, []entry{ne})[i:i+1], force)
	if err != nil {
		return nil, nil, err
	}
	if w != "" {
		warnings = append(warnings, w)
	}
	if err := volgen.CheckVolume(out); err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}
