package orchestrator

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/txn"
)

// Step kinds, the names transaction steps are journaled under.
const (
	stepPrepareBrick = "prepare-brick"
	stepCleanupBrick = "cleanup-brick"
	// stepMarkBrickForHeal has replicate heal a new, empty brick in full.
	stepMarkBrickForHeal = "mark-brick-for-heal"
	// stepHealFull starts a full heal of sets on a node that holds some of
	// their bricks (after the commit).
	stepHealFull = "heal-full"
)

// nodes reaches each storage node's servicemgr, found in Consul's catalog
// by node id.
type nodes struct {
	consul *api.Client

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // by address
}

// client returns node's service manager.
func (n *nodes) client(ctx context.Context, nodeID string) (servicemgrv1.ServiceManagerClient, error) {
	addr, found, err := discovery.NodeInstance(ctx, n.consul, "servicemgr", nodeID)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot look up node %s", nodeID)
	}
	if !found {
		return nil, errs.New(errs.Unavailable, "node %s is disconnected: its servicemgr is not up", nodeID)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	conn, ok := n.conns[addr]
	if !ok {
		if conn, err = grpcx.Dial(addr); err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "dial node %s at %s", nodeID, addr)
		}
		n.conns[addr] = conn
	}
	return servicemgrv1.NewServiceManagerClient(conn), nil
}

func (n *nodes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.Close()
	}
}

// prepareStep is the journal entry that prepares one brick.
func prepareStep(volumeID string, b *commonv1.Brick, force bool) *commonv1.TransactionStep {
	return &commonv1.TransactionStep{Name: stepPrepareBrick, NodeId: b.PeerId, Args: map[string]string{
		"volume_id": volumeID, "brick_path": b.Path, "force": strconv.FormatBool(force)}}
}

// cleanupStep is the roll-forward entry that cleans up one deleted brick.
func cleanupStep(volumeID string, b *commonv1.Brick) *commonv1.TransactionStep {
	return &commonv1.TransactionStep{Name: stepCleanupBrick, NodeId: b.PeerId, AfterCommit: true,
		Args: map[string]string{"volume_id": volumeID, "brick_path": b.Path}}
}

// markStep is the journal entry that has replicate heal new brick b of
// vol (the volume as it will be) in full: replaced for replace-brick,
// otherwise a brick that raises the replica count. It runs on b's node,
// which has just prepared b.
func markStep(vol *commonv1.Volume, b *commonv1.Brick, replaced bool) (*commonv1.TransactionStep, error) {
	rec, err := protojson.Marshal(vol)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot encode volume %s for its journal", vol.Name)
	}
	return &commonv1.TransactionStep{Name: stepMarkBrickForHeal, NodeId: b.PeerId, Args: map[string]string{
		"volume_id": vol.Id, "brick_id": b.Id, "brick_path": b.Path, "replaced": strconv.FormatBool(replaced),
		"volume": string(rec)}}, nil
}

// healStep is the roll-forward entry that has node's self-heal daemon
// heal sets of volume in full once it runs the new layout; shdPID is the
// daemon's pid before the change (0 when none ran).
func healStep(node, volume string, sets []string, shdPID int32) *commonv1.TransactionStep {
	return &commonv1.TransactionStep{Name: stepHealFull, NodeId: node, AfterCommit: true, Args: map[string]string{
		"volume": volume, "sets": strings.Join(sets, ","), "previous_pid": strconv.Itoa(int(shdPID))}}
}

// actions are the node steps transactions are made of, each with its undo.
func (n *nodes) actions() map[string]txn.Action {
	return map[string]txn.Action{
		stepPrepareBrick: {
			Do: func(ctx context.Context, s *commonv1.TransactionStep) error {
				c, err := n.client(ctx, s.NodeId)
				if err != nil {
					s.Args[txn.ArgNotApplied] = "true"
					return err
				}
				resp, err := c.PrepareBrick(ctx, &servicemgrv1.PrepareBrickRequest{VolumeId: s.Args["volume_id"],
					BrickPath: s.Args["brick_path"], CreateDir: true, Force: s.Args["force"] == "true"})
				if err != nil {
					err = errs.FromStatus(err)
					if refused(err) {
						// PrepareBrick undoes its own work when it refuses.
						s.Args[txn.ArgNotApplied] = "true"
					}
					return err
				}
				// Only what this step created is removed by its undo.
				s.Args["created_dir"] = strconv.FormatBool(resp.CreatedDir)
				return nil
			},
			Undo: func(ctx context.Context, s *commonv1.TransactionStep) error {
				c, err := n.client(ctx, s.NodeId)
				if err != nil {
					return err
				}
				_, err = c.UnprepareBrick(ctx, &servicemgrv1.UnprepareBrickRequest{VolumeId: s.Args["volume_id"],
					BrickPath: s.Args["brick_path"], RemoveDir: s.Args["created_dir"] == "true"})
				return errs.FromStatus(err)
			},
			// Bricks are prepared independently: no two of a volume are
			// the same directory or nest on one peer (the layout refuses it).
			Parallel: true,
		},
		stepCleanupBrick: {
			Do: func(ctx context.Context, s *commonv1.TransactionStep) error {
				c, err := n.client(ctx, s.NodeId)
				if err != nil {
					return err
				}
				_, err = c.CleanupBrick(ctx, &servicemgrv1.CleanupBrickRequest{VolumeId: s.Args["volume_id"], BrickPath: s.Args["brick_path"]})
				if err = errs.FromStatus(err); errs.Is(err, errs.NotFound) {
					return nil // the directory is gone already
				}
				return err
			},
			// Each cleanup is one brick directory of its own.
			Parallel: true,
		},
		// The mark has no undo: if the transaction rolls back, the set
		// blames a brick name it does not have (add), or the brick that
		// stays in place (replace), which its next heal of the root then
		// merely checks against the others.
		stepMarkBrickForHeal: {
			Do: func(ctx context.Context, s *commonv1.TransactionStep) error {
				vol := &commonv1.Volume{}
				if err := protojson.Unmarshal([]byte(s.Args["volume"]), vol); err != nil {
					s.Args[txn.ArgNotApplied] = "true"
					return errs.Wrap(errs.Internal, err, "the journal's volume record does not decode")
				}
				c, err := n.client(ctx, s.NodeId)
				if err != nil {
					s.Args[txn.ArgNotApplied] = "true"
					return err
				}
				resp, err := c.MarkBrickForHeal(ctx, &servicemgrv1.MarkBrickForHealRequest{Volume: vol,
					BrickId: s.Args["brick_id"], Replaced: s.Args["replaced"] == "true"})
				if err != nil {
					return errs.FromStatus(err)
				}
				s.Args["client"] = resp.Client
				return nil
			},
		},
		stepHealFull: {
			Do: func(ctx context.Context, s *commonv1.TransactionStep) error {
				c, err := n.client(ctx, s.NodeId)
				if err != nil {
					return err
				}
				pid, _ := strconv.Atoi(s.Args["previous_pid"])
				resp, err := c.HealFull(ctx, &servicemgrv1.HealFullRequest{Volume: s.Args["volume"],
					Sets: strings.Split(s.Args["sets"], ","), PreviousPid: int32(pid)})
				if err != nil {
					return errs.FromStatus(err)
				}
				s.Args["status"] = strings.Join(resp.Status, "; ")
				return nil
			},
		},
	}
}

// refused says whether a node action answered with a refusal (it checked
// and changed nothing), as opposed to failing at an unknown point.
func refused(err error) bool {
	switch errs.KindOf(err) {
	case errs.Invalid, errs.Precondition, errs.AlreadyExists, errs.NotFound:
		return true
	}
	return false
}
