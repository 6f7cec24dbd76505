package orchestrator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/layout"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator/internal/txn"
)

// volumes serves VolumeService: every change runs as a transaction.
type volumes struct {
	orchestratorv1.UnimplementedVolumeServiceServer
	store         *storeclient.Client
	engine        *txn.Engine
	onlineTimeout time.Duration
	log           *zap.Logger
}

func target(volume string) string { return "volume/" + volume }

func volumeResource(v *commonv1.Volume) *storev1.Resource {
	return &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}
}

func volumeKey(name string) *storev1.ResourceKey {
	return &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: name}
}

// run executes plan; async answers at once (and marks the answer for 202).
func (s *volumes) run(ctx context.Context, plan txn.Plan, async bool) (*commonv1.Transaction, error) {
	t, err := s.engine.Execute(ctx, plan, async)
	if err == nil && async {
		_ = grpc.SetHeader(ctx, metadata.Pairs(grpcx.AcceptedHeader, "true"))
	}
	return t, err
}

// volume reads a volume for an operation, naming the path parameter in errors.
func (s *volumes) volume(ctx context.Context, name string) (*commonv1.Volume, error) {
	if err := layout.ValidateVolumeName(name); err != nil {
		return nil, err
	}
	return s.GetVolume(ctx, &orchestratorv1.GetVolumeRequest{Volume: name})
}

func (s *volumes) CreateVolume(ctx context.Context, req *orchestratorv1.CreateVolumeRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	// The peers (to place the bricks) and the volumes (is the name taken, are
	// the bricks free) are read at the same time, in one listing each.
	var others []*commonv1.Volume
	var othersErr error
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		others, othersErr = s.store.Volumes(ctx)
	}()
	peers, err := s.store.Peers(ctx)
	<-listed
	if err != nil {
		return nil, err
	}
	vol, warnings, err := layout.Create(req, peers, uuid.NewString)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		s.log.Warn("volume create", zap.String("volume", vol.Name), zap.String("warning", w))
	}
	if othersErr != nil {
		return nil, othersErr
	}
	for _, o := range others {
		if o.GetName() == vol.Name {
			return nil, errs.New(errs.AlreadyExists, "volume %s already exists", vol.Name)
		}
	}
	if err := layout.CheckBricksFree(vol, others); err != nil {
		return nil, err
	}
	var created *commonv1.Volume
	plan := txn.Plan{Operation: "volume.create", Target: target(vol.Name),
		Commit: func(context.Context) ([]*storev1.Operation, error) {
			return []*storev1.Operation{{Op: &storev1.Operation_Create{Create: &storev1.CreateRequest{Resource: volumeResource(vol)}}}}, nil
		},
		Committed: func(res []*storev1.OperationResult) { created = res[0].GetResource().GetVolume() }}
	for _, sv := range vol.Subvolumes {
		for _, b := range sv.Bricks {
			plan.Steps = append(plan.Steps, prepareStep(vol.Id, b, req.Force))
		}
	}
	t, err := s.run(ctx, plan, req.Async)
	if err != nil {
		return nil, err
	}
	out := &orchestratorv1.VolumeOperationResponse{TransactionId: t.Id, Volume: vol}
	if !req.Async && created != nil {
		out.Volume = created // as stored, with its version
	}
	return out, nil
}

// setState changes a volume's desired state in one transaction (the
// nodes' servicemgr make it so).
func (s *volumes) setState(ctx context.Context, vol *commonv1.Volume, op string, state commonv1.VolumeState, async bool) (*commonv1.Transaction, error) {
	v := cloneVolume(vol)
	v.State = state
	return s.change(ctx, op, vol, v, nil, async)
}

func (s *volumes) StartVolume(ctx context.Context, req *orchestratorv1.StartVolumeRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	if vol.State == commonv1.VolumeState_STARTED && !req.Force {
		return nil, errs.New(errs.Precondition, "volume %s is already started", vol.Name)
	}
	t, err := s.setState(ctx, vol, "volume.start", commonv1.VolumeState_STARTED, req.Async)
	if err != nil {
		return nil, err
	}
	if !req.Async {
		if err := s.awaitBricks(ctx, vol, true); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, vol.Name, t), nil
}

func (s *volumes) StopVolume(ctx context.Context, req *orchestratorv1.StopVolumeRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	if vol.State != commonv1.VolumeState_STARTED && !req.Force {
		return nil, errs.New(errs.Precondition, "volume %s is not started", vol.Name)
	}
	t, err := s.setState(ctx, vol, "volume.stop", commonv1.VolumeState_STOPPED, req.Async)
	if err != nil {
		return nil, err
	}
	if !req.Async {
		if err := s.awaitBricks(ctx, vol, false); err != nil {
			return nil, err
		}
	}
	return s.answer(ctx, vol.Name, t), nil
}

func (s *volumes) DeleteVolume(ctx context.Context, req *orchestratorv1.DeleteVolumeRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	if vol.State == commonv1.VolumeState_STARTED {
		return nil, errs.New(errs.Precondition, "volume %s is started; stop it first", vol.Name)
	}
	plan := txn.Plan{Operation: "volume.delete", Target: target(vol.Name),
		Commit: func(context.Context) ([]*storev1.Operation, error) {
			return []*storev1.Operation{{Op: &storev1.Operation_Delete{Delete: &storev1.DeleteRequest{Key: volumeKey(vol.Name), ResourceVersion: vol.Version}}}}, nil
		}}
	if req.CleanupBricks {
		for _, sv := range vol.Subvolumes {
			for _, b := range sv.Bricks {
				plan.Steps = append(plan.Steps, cleanupStep(vol.Id, b))
			}
		}
	}
	t, err := s.run(ctx, plan, req.Async)
	if err != nil {
		return nil, err
	}
	return &orchestratorv1.VolumeOperationResponse{TransactionId: t.Id, Volume: vol}, nil
}

// update writes a changed volume record in one transaction (change
// without node steps) and answers with the volume as it is now: as the
// commit wrote it, or (async) as the store has it.
func (s *volumes) update(ctx context.Context, op string, vol, changed *commonv1.Volume, async bool) (*orchestratorv1.VolumeOperationResponse, error) {
	plan := changePlan(op, vol, changed, nil)
	var written *commonv1.Volume
	if !async {
		plan.Committed = func(r []*storev1.OperationResult) {
			if len(r) > 0 {
				written = r[0].GetResource().GetVolume()
			}
		}
	}
	t, err := s.run(ctx, plan, async)
	if err != nil {
		return nil, err
	}
	if written != nil {
		return &orchestratorv1.VolumeOperationResponse{TransactionId: t.Id, Volume: written}, nil
	}
	return s.answer(ctx, vol.Name, t), nil
}

func (s *volumes) SetVolumeOptions(ctx context.Context, req *orchestratorv1.SetVolumeOptionsRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	changed, err := layout.SetOptions(vol, req.Options)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, "volume.set", vol, changed, req.Async)
}

func (s *volumes) ResetVolumeOption(ctx context.Context, req *orchestratorv1.ResetVolumeOptionRequest) (*orchestratorv1.VolumeOperationResponse, error) {
	vol, err := s.volume(ctx, req.Volume)
	if err != nil {
		return nil, err
	}
	changed, err := layout.ResetOption(vol, req.Key, false)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, "volume.reset", vol, changed, req.Async)
}

// answer is an operation's response: the volume as it is now.
func (s *volumes) answer(ctx context.Context, name string, t *commonv1.Transaction) *orchestratorv1.VolumeOperationResponse {
	out := &orchestratorv1.VolumeOperationResponse{TransactionId: t.Id}
	if v, err := s.store.Volume(ctx, name); err == nil {
		out.Volume = v
	}
	return out
}

// awaitBricks waits until every brick of vol is online (or, for a stop,
// none is running), and otherwise names the bricks that are not.
func (s *volumes) awaitBricks(ctx context.Context, vol *commonv1.Volume, online bool) error {
	what := "online"
	if !online {
		what = "stopped"
	}
	deadline := time.Now().Add(s.onlineTimeout)
	var lagging []string
	var lastErr error
	for {
		l, err := s.laggingBricks(ctx, vol, online)
		if err == nil {
			if len(l) == 0 {
				return nil
			}
			lagging = l
		} else {
			lastErr = err
		}
		waited := s.onlineTimeout - time.Until(deadline)
		if time.Now().After(deadline) || ctx.Err() != nil {
			if lagging == nil {
				return errs.Wrap(errs.Timeout, lastErr, "volume %s: cannot tell whether its bricks are %s: %v", vol.Name, what, lastErr)
			}
			return errs.New(errs.Timeout, "volume %s is %s, but after %s these bricks are not %s: %s",
				vol.Name, map[bool]string{true: "started", false: "stopped"}[online], waited.Round(time.Second), what, strings.Join(lagging, "; "))
		}
		select {
		case <-ctx.Done():
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// laggingBricks describes the bricks of vol whose daemon is not yet online
// (or, for !online, still running), from their nodes' runtime entries.
func (s *volumes) laggingBricks(ctx context.Context, vol *commonv1.Volume, online bool) ([]string, error) {
	rt, err := s.store.Runtime(ctx, "")
	if err != nil {
		return nil, err
	}
	byID := map[string]*commonv1.RuntimeEntry{}
	for _, e := range rt {
		if e.Kind == "brick" {
			byID[e.BrickId] = e
		}
	}
	var out []string
	for _, sv := range vol.Subvolumes {
		for _, b := range sv.Bricks {
			e, ok := byID[b.Id]
			switch {
			case online && (!ok || !e.Online):
				why := "its node has not reported it"
				if ok {
					why = e.State
					if e.LastExit != "" {
						why += ", last exit: " + e.LastExit
					}
				}
				out = append(out, fmt.Sprintf("%s:%s (%s)", b.Host, b.Path, why))
			case !online && ok && e.Pid != 0:
				out = append(out, fmt.Sprintf("%s:%s (pid %d, %s)", b.Host, b.Path, e.Pid, e.State))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func cloneVolume(v *commonv1.Volume) *commonv1.Volume { return proto.CloneOf(v) }
