package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

func TestPrepareBrickOverGRPC(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("brick preparation needs root (trusted extended attributes)")
	}
	c := framework.Start(t, 1)
	n := c.Nodes[0]
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "node in the pool")
	conn, err := grpcx.Dial(n.Addr)
	require.NoError(t, err)
	defer conn.Close()
	sm := servicemgrv1.NewServiceManagerClient(conn)
	ctx := t.Context()
	dir := t.TempDir()

	// A brick of an existing volume on this node, from the store.
	existing := filepath.Join(dir, "gv0-b1")
	require.NoError(t, framework.CreateVolumeRecord(ctx, framework.StoreClient(t, c), "gv0", nodeID(t, n), n.Host, existing))

	vol := uuid.NewString()
	_, err = sm.PrepareBrick(ctx, &servicemgrv1.PrepareBrickRequest{VolumeId: vol, BrickPath: existing + "/inner", CreateDir: true, Force: true})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "is inside brick "+existing)

	_, err = sm.PrepareBrick(ctx, &servicemgrv1.PrepareBrickRequest{VolumeId: vol, BrickPath: filepath.Join(dir, "b2"), CreateDir: true})
	if err != nil {
		// /tmp may be on the root filesystem: that is refused unless forced.
		require.Contains(t, status.Convert(err).Message(), "root filesystem")
	}
	resp, err := sm.PrepareBrick(ctx, &servicemgrv1.PrepareBrickRequest{VolumeId: vol, BrickPath: filepath.Join(dir, "b2"), CreateDir: true, Force: true})
	require.NoError(t, err)
	require.True(t, resp.CreatedDir)
	id, err := framework.Getxattr(filepath.Join(dir, "b2"), "trusted.glusterfs.volume-id")
	require.NoError(t, err)
	require.Equal(t, strings.ReplaceAll(vol, "-", ""), hexOf(id))

	_, err = sm.UnprepareBrick(ctx, &servicemgrv1.UnprepareBrickRequest{VolumeId: vol, BrickPath: filepath.Join(dir, "b2"), RemoveDir: true})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "b2"))
	require.True(t, os.IsNotExist(err))
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
