package portmap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"
)

// A change made while the portmap does not follow the store's change feed
// yet (it answers GETSPEC from the store meanwhile, as after a start before
// the store could be found) reaches the process that fetched the old
// volfile as soon as the feed is followed.
func TestChangeBeforeTheFeedIsFollowedReachesProcesses(t *testing.T) {
	s, store := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); s.lis.Close(); s.storeConn.Close() })
	go s.acceptMgmt(ctx)
	_, err := store.Create(t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: testVolume("gv0")}}})
	require.NoError(t, err)

	c := dial(t, s.MgmtAddr())
	require.Contains(t, c.getSpec("/gv0").Spec, "type performance/quick-read")
	updateVolume(t, store, "gv0", func(v *commonv1.Volume) { v.Options["performance.quick-read"] = "off" })
	go s.watchVolumes(ctx)
	c.awaitFetchSpec("the change made before the feed was followed")
	require.NotContains(t, c.getSpec("/gv0").Spec, "type performance/quick-read", "the new volfile has no quick-read")
}

// A process that does not fetch after a FETCHSPEC is sent another one.
func TestUnheededFetchSpecIsRepeated(t *testing.T) {
	s, store := start(t)
	_, err := store.Create(t.Context(), &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: testVolume("gv0")}}})
	require.NoError(t, err)
	c := dial(t, s.MgmtAddr())
	require.Contains(t, c.getSpec("/gv0").Spec, "type performance/quick-read")
	updateVolume(t, store, "gv0", func(v *commonv1.Volume) { v.Options["performance.quick-read"] = "off" })
	c.awaitFetchSpec("the option change")
	c.awaitFetchSpec("the process did not fetch after the first")
	require.NotContains(t, c.getSpec("/gv0").Spec, "type performance/quick-read")
}
