package framework

import (
	"context"
	"testing"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

// StoreClient dials the cluster's store over gRPC.
func StoreClient(tb testing.TB, c *Cluster) *storeclient.Client {
	tb.Helper()
	conn, err := grpcx.Dial(c.StoreAddr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return storeclient.New(conn)
}

// CreateVolumeRecord writes a one-brick volume record straight into the
// store, for tests that need a node to hold a brick before volume
// operations exist.
func CreateVolumeRecord(ctx context.Context, s *storeclient.Client, name, peerID, host, path string) error {
	v := &commonv1.Volume{Name: name, Type: commonv1.VolumeType_DISTRIBUTE, State: commonv1.VolumeState_CREATED,
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Id: "2f0b4c8e-9a51-4c2e-8f0d-6b1a7e3c5d90", PeerId: peerID, Host: host, Path: path}}}}}
	_, err := s.Raw().Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}})
	return err
}
