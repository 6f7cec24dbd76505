package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/layout"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/txn"
)

// Brick operations: add-brick, remove-brick and replace-brick … commit
// force, each one transaction whose commit is the volume record with its
// new layout (check-and-set on the version it was computed from). Nodes
// follow the record: servicemgr starts bricks that enter it and stops those
// that leave it, and the portmap hands clients the new graph.

// replicated says whether vol's sets are replicate sets.
func replicated(vol *commonv1.Volume) bool {
	return vol.GetType() == commonv1.VolumeType_REPLICATE || vol.GetType() == commonv1.VolumeType_DISTRIBUTED_REPLICATE
}

// bricksVolume is vol with only the given bricks, one set: what
// awaitBricks waits for.
func bricksVolume(vol *commonv1.Volume, bricks []*commonv1.Brick) *commonv1.Volume {
	return &commonv1.Volume{Id: vol.Id, Name: vol.Name, Subvolumes: []*commonv1.Subvolume{{Bricks: bricks}}}
}

// renumbered lists the bricks of before that keep their place in after's
// sets but not their protocol/client name, which is their place in the
// volume (<vol>-client-<n>). Replicate keeps each brick's changelog (the
// heals it owes the others) under those names, so on a replicate volume
// that may have pending heals such a change makes them point at the wrong
// brick. Bricks that are not in after are not listed.
func renumbered(before, after *commonv1.Volume) []*commonv1.Brick {
	if !replicated(before) {
		// Distribute and disperse keep nothing under the names.
		return nil
	}
	var out []*commonv1.Brick
	for _, sv := range before.GetSubvolumes() {
		for _, b := range sv.GetBricks() {
			was, _ := volgen.ClientName(before, b.GetId())
			is, ok := volgen.ClientName(after, b.GetId())
			if ok && was != is {
				out = append(out, b)
			}
		}
	}
	return out
}

// renumberingRisk explains renumbered bricks to the operator.
func renumberingRisk(vol *commonv1.Volume, moved []*commonv1.Brick) string {
	names := make([]string, len(moved))
	for i, b := range moved {
		names[i] = b.Host + ":" + b.Path
	}
	return fmt.Sprintf("this change renumbers %d brick(s) of volume %s (%s): replicate keeps the heals a brick owes under its number, so heals pending on those sets now would be lost or sent the wrong way; "+
		"make sure no heals are pending on them", len(moved), vol.Name, strings.Join(names, ", "))
}

// prepareSteps are the prepare-brick steps of bricks, then, when the
// volume is started and replicated, a mark-brick-for-heal step for each
// one that must be healed in full (after: the volume as it will be).
func prepareSteps(after *commonv1.Volume, bricks []*commonv1.Brick, force, heal, replaced bool) ([]*commonv1.TransactionStep, error) {
	var steps []*commonv1.TransactionStep
	for _, b := range bricks {
		steps = append(steps, prepareStep(after.Id, b, force))
	}
	if !heal {
		return steps, nil
	}
	for _, b := range bricks {
		s, err := markStep(after, b, replaced)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// healSteps are the roll-forward heal-full steps for the sets of after
// that gained the bricks added: one per node that holds another brick of
// those sets, with the pid its self-heal daemon has before the change (the
// step waits for the daemon restarted for the new layout).
func (s *volumes) healSteps(ctx context.Context, after *commonv1.Volume, added []*commonv1.Brick) ([]*commonv1.TransactionStep, error) {
	isNew := map[string]bool{}
	for _, b := range added {
		isNew[b.Id] = true
	}
	rt, err := s.store.Runtime(ctx, "")
	if err != nil {
		return nil, err
	}
	pids := map[string]int32{}
	for _, e := range rt {
		if e.Kind == "shd" {
			pids[e.NodeId] = e.Pid
		}
	}
	var nodes []string
	sets := map[string][]string{}
	for i, sv := range after.Subvolumes {
		if !slices.ContainsFunc(sv.Bricks, func(b *commonv1.Brick) bool { return isNew[b.Id] }) {
			continue
		}
		set := volgen.SetName(after, i)
		for _, b := range sv.Bricks {
			if isNew[b.Id] || slices.Contains(sets[b.PeerId], set) {
				continue
			}
			if len(sets[b.PeerId]) == 0 {
				nodes = append(nodes, b.PeerId)
			}
			sets[b.PeerId] = append(sets[b.PeerId], set)
		}
	}
	var steps []*commonv1.TransactionStep
	for _, n := range nodes {
		steps = append(steps, healStep(n, after.Name, sets[n], pids[n]))
	}
	return steps, nil
}

// change runs plan's steps and commits changed in place of vol (check-and-set).
func (s *volumes) change(ctx context.Context, op string, vol, changed *commonv1.Volume, steps []*commonv1.TransactionStep, async bool) (*commonv1.Transaction, error) {
	return s.run(ctx, changePlan(op, vol, changed, steps), async)
}

// changePlan is the plan of change: steps, then the record's update.
func changePlan(op string, vol, changed *commonv1.Volume, steps []*commonv1.TransactionStep) txn.Plan {
	return txn.Plan{Operation: op, Target: target(vol.Name), Steps: steps,
		Commit: func(context.Context) ([]*storev1.Operation, error) {
			return []*storev1.Operation{{Op: &storev1.Operation_Update{Update: &storev1.UpdateRequest{Resource: volumeResource(changed), ResourceVersion: vol.Version}}}}, nil
		}}
}

// AddBricks adds whole sets, or raises the replica count, as `gluster
// volume add-brick` does. New bricks are prepared on their nodes; on a
// started volume their nodes start them once the record has them, and the
// answer waits until they are online. Bricks that raise the replica count
// of a started volume are healed in full: before the commit each one is
// marked (its set blames it for everything, see MarkBrickForHeal in
// servicemgr), after it the nodes holding the other bricks of each set
// start a full heal (HealFull). DHT does not spread existing directories
// over new sets (there is no rebalance yet); new directories use every set.
func (s *volumes) AddBricks(ctx context.Context, req *orchestratorv1.AddBricksRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	peers, err := s.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	changed, warnings, err := layout.AddBricks(vol, req, peers, uuid.NewString)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		s.log.Warn("add-brick", zap.String("volume", vol.Name), zap.String("warning", w))
	}
	others, err := s.store.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	if err := layout.CheckBricksFree(changed, others); err != nil {
		return nil, err
	}
	added, _ := layout.Diff(vol, changed)
	raised := replicated(changed) && changed.ReplicaCount > max(vol.ReplicaCount, 1)
	if raised && vol.State == commonv1.VolumeState_STOPPED {
		return nil, errs.New(errs.Precondition, "volume %s is stopped: raising its replica count needs it started, so that the new bricks can be marked for healing through the running ones; start it first", vol.Name)
	}
	if moved := renumbered(vol, changed); len(moved) > 0 && vol.State != commonv1.VolumeState_CREATED {
		if !req.Force {
			return nil, errs.New(errs.Precondition, "%s, then repeat with force", renumberingRisk(vol, moved))
		}
		s.log.Warn("add-brick renumbers bricks of a replicated volume (forced)", zap.String("volume", vol.Name), zap.Int("bricks", len(moved)))
	}
	heal := raised && vol.State == commonv1.VolumeState_STARTED
	steps, err := prepareSteps(changed, added, req.Force, heal, false)
	if err != nil {
		return nil, err
	}
	if heal {
		after, err := s.healSteps(ctx, changed, added)
		if err != nil {
			return nil, err
		}
		steps = append(steps, after...)
	}
	t, err := s.change(ctx, "volume.add-brick", vol, changed, steps, req.Async)
	if err != nil {
		return nil, err
	}
	if !req.Async && vol.State == commonv1.VolumeState_STARTED {
		if err := s.awaitBricks(ctx, bricksVolume(vol, added), true); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, vol.Name, t), nil
}

// RemoveBrick removes the replica or disperse set (or the distribute
// brick) that holds a brick. Moving its data to the other sets first
// (rebalance) is not implemented: on a volume that may hold data it is
// refused unless force, which removes the set without migrating. The
// bricks' directories and data stay on their nodes (as with glusterd); the
// nodes stop their processes once the record no longer has them, and the
// answer waits for that.
func (s *volumes) RemoveBrick(ctx context.Context, req *orchestratorv1.RemoveBrickRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	changed, migrate, err := layout.RemoveBricks(vol, req)
	if err != nil {
		return nil, err
	}
	_, removed := layout.Diff(vol, changed)
	moved := renumbered(vol, changed)
	if migrate && !req.Force {
		names := make([]string, len(removed))
		for i, b := range removed {
			names[i] = b.Host + ":" + b.Path
		}
		msg := fmt.Sprintf("removing brick %s from volume %s removes %s; its data would have to be migrated to the remaining bricks first (rebalance), which is not implemented yet. "+
			"force removes them WITHOUT migrating their data: files on them become unreachable through the volume (they stay on the bricks)",
			req.Brick, vol.Name, strings.Join(names, ", "))
		if len(moved) > 0 {
			msg += "; also, " + renumberingRisk(vol, moved)
		}
		return nil, errs.New(errs.Precondition, "%s", msg)
	}
	if migrate {
		s.log.Warn("remove-brick without data migration (forced)", zap.String("volume", vol.Name), zap.Int("bricks", len(removed)), zap.Int("renumbered", len(moved)))
	}
	t, err := s.change(ctx, "volume.remove-brick", vol, changed, nil, req.Async)
	if err != nil {
		return nil, err
	}
	if !req.Async && vol.State == commonv1.VolumeState_STARTED {
		if err := s.awaitBricks(ctx, bricksVolume(vol, removed), false); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, vol.Name, t), nil
}

// ReplaceBrick puts a new brick in an old one's place, as `gluster volume
// replace-brick … commit force` does, on a replicate or disperse volume.
// The new brick is prepared on its node. On a started volume it is then
// healed in full: on replicate it is first marked (the rest of its set
// blames it for everything, as glusterd does), so that the self-heal
// daemons, restarted for the new layout, start healing it from their
// index; disperse checks the root of a set whose bricks came up by itself.
// After the commit the nodes holding the other bricks of the set start a
// full heal, which reaches every directory in one pass (the index alone
// can stall for cluster.heal-timeout between directory levels). The answer
// waits until the new brick is online and the full heal has started; the
// heal itself runs in the background. Like glusterd, a stopped volume is
// refused: the mark needs the running bricks.
func (s *volumes) ReplaceBrick(ctx context.Context, req *orchestratorv1.ReplaceBrickRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.GetVolume())
	if err != nil {
		return nil, err
	}
	if vol.State == commonv1.VolumeState_STOPPED {
		return nil, errs.New(errs.Precondition, "volume %s is stopped: replace-brick needs it started, so that the new brick can be marked for healing through the running ones; start it first", vol.Name)
	}
	peers, err := s.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	changed, warnings, err := layout.ReplaceBrick(vol, req, peers, uuid.NewString, req.Force)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		s.log.Warn("replace-brick", zap.String("volume", vol.Name), zap.String("warning", w))
	}
	others, err := s.store.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	if err := layout.CheckBricksFree(changed, others); err != nil {
		return nil, err
	}
	added, _ := layout.Diff(vol, changed)
	started := vol.State == commonv1.VolumeState_STARTED
	steps, err := prepareSteps(changed, added, req.Force, started && replicated(vol), true)
	if err != nil {
		return nil, err
	}
	if started {
		after, err := s.healSteps(ctx, changed, added)
		if err != nil {
			return nil, err
		}
		steps = append(steps, after...)
	}
	t, err := s.change(ctx, "volume.replace-brick", vol, changed, steps, req.Async)
	if err != nil {
		return nil, err
	}
	if !req.Async && started {
		if err := s.awaitBricks(ctx, bricksVolume(vol, added), true); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, vol.Name, t), nil
}
