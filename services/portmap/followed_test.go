package portmap

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
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

// gatedSource answers Volumes from a sequence of listings; a listing
// with a gate waits for it to close before answering.
type gatedSource struct {
	countingSource
	mu       sync.Mutex
	listings [][]*commonv1.Volume
	gates    []chan struct{}
	reading  chan int // which listing began
}

func (g *gatedSource) Volumes(context.Context) ([]*commonv1.Volume, error) {
	g.mu.Lock()
	i := g.lists
	g.lists++
	g.mu.Unlock()
	g.reading <- i
	if g.gates[i] != nil {
		<-g.gates[i]
	}
	return g.listings[i], nil
}

func (g *gatedSource) Cluster(context.Context) (*commonv1.Cluster, error) {
	return &commonv1.Cluster{AuthSecret: []byte("secret")}, nil
}

// An answer made from volumes read before a change, finishing after an
// answer made from volumes read after it, does not replace the newer one.
func TestLateAnswerDoesNotReplaceANewerOne(t *testing.T) {
	const node = "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"
	started := commonv1.VolumeState_STARTED
	one := []*commonv1.Volume{healVolume("rep", commonv1.VolumeType_REPLICATE, started, node, "x", "y")}
	two := append(slices.Clone(one), healVolume("disp", commonv1.VolumeType_DISPERSE, started, "x", "y", node))
	gate := make(chan struct{})
	src := &gatedSource{listings: [][]*commonv1.Volume{one, two, two}, gates: []chan struct{}{gate, nil, nil}, reading: make(chan int, 3)}
	v := newVolfiles(src, volgen.DefaultWorkDir, node)
	v.SetLive(true)
	ctx := t.Context()

	late := make(chan served)
	go func() {
		out, err := v.Get(ctx, volgen.NodeSelfHealVolfileID, true)
		assert.NoError(t, err)
		late <- out
	}()
	require.Equal(t, 0, <-src.reading, "the first answer is reading the volumes")
	v.Invalidate("disp") // the feed delivers disp meanwhile
	newer, err := v.Get(ctx, volgen.NodeSelfHealVolfileID, true)
	require.NoError(t, err)
	require.Contains(t, string(newer.data), "disp-disperse-0")
	close(gate)
	<-late

	got, err := v.Get(ctx, volgen.NodeSelfHealVolfileID, true)
	require.NoError(t, err)
	require.Equal(t, string(newer.data), string(got.data), "the newer answer is kept")
	require.Len(t, src.reading, 1, "and served from the cache")
}
