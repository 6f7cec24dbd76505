package gateway

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// storeReads serves the read routes of volumes straight from the store
// until the orchestrator owns them; the write routes answer 501 until then.
type storeReads struct {
	orchestratorv1.UnimplementedVolumeServiceServer
	store storev1.StoreServiceClient
}

func (s *storeReads) list(ctx context.Context, kind storev1.Kind) ([]*storev1.Resource, error) {
	resp, err := s.store.List(ctx, &storev1.ListRequest{Kind: kind})
	if err != nil {
		return nil, err
	}
	return resp.Resources, nil
}

func (s *storeReads) ListVolumes(ctx context.Context, _ *orchestratorv1.ListVolumesRequest) (*orchestratorv1.ListVolumesResponse, error) {
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

func (s *storeReads) GetVolume(ctx context.Context, req *orchestratorv1.GetVolumeRequest) (*commonv1.Volume, error) {
	resp, err := s.store.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: req.GetVolume()}})
	if err != nil {
		if st := status.Convert(err); st.Code() == codes.InvalidArgument {
			// Name the path parameter, not the store's key field.
			return nil, errs.ToStatus(errs.InvalidField("volume", "%s", trimField(st.Message(), "key.name: "))).Err()
		}
		return nil, err
	}
	return resp.Resource.GetVolume(), nil
}

func trimField(msg, prefix string) string {
	if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}
