package orchestrator

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// The read side of VolumeService: list, get, status and options, served
// from the store (volume records, and the nodes' runtime entries for status).

func (s *volumes) list(ctx context.Context, kind storev1.Kind) ([]*storev1.Resource, error) {
	var md metadata.MD
	resp, err := s.store.Raw().List(ctx, &storev1.ListRequest{Kind: kind}, grpc.Header(&md))
	if err != nil {
		return nil, err
	}
	forwardStale(ctx, md)
	return resp.Resources, nil
}

// forwardStale passes on the store's note that a read was served without a
// Consul leader (and how stale it may be) to this call's caller.
func forwardStale(ctx context.Context, md metadata.MD) {
	if v := md.Get(grpcx.StaleHeader); len(v) > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs(grpcx.StaleHeader, v[0]))
	}
}

func (s *volumes) ListVolumes(ctx context.Context, _ *orchestratorv1.ListVolumesRequest) (*orchestratorv1.ListVolumesResponse, error) {
	rs, err := s.list(ctx, storev1.Kind_VOLUME)
	if err != nil {
		return nil, err
	}
	out := &orchestratorv1.ListVolumesResponse{Volumes: []*commonv1.Volume{}}
	for _, r := range rs {
		out.Volumes = append(out.Volumes, r.GetVolume())
	}
	return out, nil
}

func (s *volumes) GetVolume(ctx context.Context, req *orchestratorv1.GetVolumeRequest) (*commonv1.Volume, error) {
	var md metadata.MD
	resp, err := s.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: req.GetVolume()}}, grpc.Header(&md))
	forwardStale(ctx, md)
	if err != nil {
		if st := status.Convert(err); st.Code() == codes.InvalidArgument {
			// Name the path parameter, not the store's key field.
			return nil, errs.ToStatus(errs.InvalidField("volume", "%s", strings.TrimPrefix(st.Message(), "key.name: "))).Err()
		}
		return nil, err
	}
	return resp.Resource.GetVolume(), nil
}

func (s *volumes) GetVolumeStatus(ctx context.Context, req *orchestratorv1.GetVolumeStatusRequest) (*orchestratorv1.VolumeStatus, error) {
	vol, err := s.GetVolume(ctx, &orchestratorv1.GetVolumeRequest{Volume: req.GetVolume()})
	if err != nil {
		return nil, err
	}
	rt, err := s.list(ctx, storev1.Kind_RUNTIME)
	if err != nil {
		return nil, err
	}
	// A brick's state is what its node's servicemgr reports (kind "brick",
	// by brick id); a node that runs no daemons itself only has the port
	// its portmap recorded when the brick signed in (kind "port").
	type at struct{ node, path string }
	ports := map[at]*commonv1.RuntimeEntry{}
	bricks := map[string]*commonv1.RuntimeEntry{}
	shds := map[string]*commonv1.RuntimeEntry{}
	for _, r := range rt {
		switch e := r.GetRuntime(); e.Kind {
		case "port":
			ports[at{e.NodeId, e.BrickPath}] = e
		case "brick":
			bricks[e.BrickId] = e
		case "shd":
			shds[e.NodeId] = e
		}
	}
	out := &orchestratorv1.VolumeStatus{Volume: vol.Name, State: vol.State, Bricks: []*orchestratorv1.BrickStatus{},
		SelfHealDaemons: []*orchestratorv1.SelfHealDaemonStatus{}}
	nodes := map[string]bool{}
	for _, sv := range vol.Subvolumes {
		for _, b := range sv.Bricks {
			st := &orchestratorv1.BrickStatus{Id: b.Id, PeerId: b.PeerId, Host: b.Host, Path: b.Path}
			if e, ok := bricks[b.Id]; ok && e.NodeId == b.PeerId {
				st.Port, st.Pid, st.Online, st.State, st.Restarts = e.Port, e.Pid, e.Online, e.State, e.Restarts
			} else if e, ok := ports[at{b.PeerId, b.Path}]; ok {
				st.Port, st.Pid, st.Online = e.Port, e.Pid, e.Online
			}
			out.Bricks = append(out.Bricks, st)
			if !nodes[b.PeerId] {
				nodes[b.PeerId] = true
				if vol.Type != commonv1.VolumeType_DISTRIBUTE {
					sh := &orchestratorv1.SelfHealDaemonStatus{PeerId: b.PeerId}
					if e, ok := shds[b.PeerId]; ok {
						sh.Pid, sh.Online, sh.State = e.Pid, e.Online, e.State
					}
					out.SelfHealDaemons = append(out.SelfHealDaemons, sh)
				}
			}
		}
	}
	return out, nil
}

func (s *volumes) GetVolumeOptions(ctx context.Context, req *orchestratorv1.GetVolumeOptionsRequest) (*orchestratorv1.VolumeOptions, error) {
	vol, err := s.GetVolume(ctx, &orchestratorv1.GetVolumeRequest{Volume: req.GetVolume()})
	if err != nil {
		return nil, err
	}
	out := &orchestratorv1.VolumeOptions{Options: []*orchestratorv1.VolumeOption{}}
	seen := map[string]bool{}
	for _, o := range volgen.Options() {
		if seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		v, set := vol.Options[o.Key]
		if !set {
			v = o.Default
		}
		out.Options = append(out.Options, &orchestratorv1.VolumeOption{Key: o.Key, Value: v, Default: o.Default, Set: set})
	}
	return out, nil
}
