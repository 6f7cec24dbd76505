package portmap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// countingSource is a volume source that counts its listings.
type countingSource struct {
	vols  []*commonv1.Volume
	lists int
}

func (c *countingSource) Volume(_ context.Context, name string) (*commonv1.Volume, error) {
	for _, v := range c.vols {
		if v.Name == name {
			return v, nil
		}
	}
	return nil, nil
}

func (c *countingSource) Volumes(context.Context) ([]*commonv1.Volume, error) {
	c.lists++
	return c.vols, nil
}

func (c *countingSource) Cluster(context.Context) (*commonv1.Cluster, error) { return nil, nil }

func names(vols []*commonv1.Volume) []string {
	out := []string{}
	for _, v := range vols {
		out = append(out, v.Name)
	}
	return out
}

// The node-wide listing comes from the feed's copy only while the feed is
// followed; otherwise, and for a single volume, from the store.
func TestFollowedVolumesAnswerFromTheFeedOnlyWhileFollowed(t *testing.T) {
	ctx := t.Context()
	src := &countingSource{vols: []*commonv1.Volume{{Name: "a"}, {Name: "b"}}}
	f := newFollowedVolumes(src)
	got, err := f.Volumes(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, names(got))
	require.Equal(t, 1, src.lists)

	f.Reset([]*commonv1.Volume{{Name: "b"}, {Name: "a"}})
	f.Put(&commonv1.Volume{Name: "c"})
	_, _ = f.Volumes(ctx)
	require.Equal(t, 2, src.lists, "not followed until the feed has caught up")

	f.Follow(true)
	f.Delete("a")
	f.Put(&commonv1.Volume{Name: "0"})
	got, err = f.Volumes(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"0", "b", "c"}, names(got), "the feed's copy, sorted by name")
	require.Equal(t, 2, src.lists)

	v, err := f.Volume(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "a", v.GetName(), "one volume is read from the store, which may be ahead of the feed")

	f.Follow(false)
	_, _ = f.Volumes(ctx)
	require.Equal(t, 3, src.lists)
}
