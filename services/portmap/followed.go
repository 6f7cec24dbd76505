package portmap

import (
	"context"
	"slices"
	"strings"
	"sync"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

// followedVolumes is the volume source the volfile server reads: every
// volume as the change feed last delivered it while the feed is followed,
// and the store otherwise. Only the node-wide self-heal volfile, which
// spans every volume and is rebuilt whenever any of them changes, reads
// the followed copy; it would otherwise list every volume from the store
// on each change of any one. A single volume is always read from the store,
// so a volfile-id asked for right after a change gets the change even
// before the feed delivers it.
type followedVolumes struct {
	store volumeSource

	mu        sync.Mutex
	following bool
	vols      map[string]*commonv1.Volume
}

func newFollowedVolumes(store volumeSource) *followedVolumes {
	return &followedVolumes{store: store, vols: map[string]*commonv1.Volume{}}
}

// Reset replaces the followed copy with a listing and stops using it until
// Follow says the feed has caught up.
func (f *followedVolumes) Reset(vols []*commonv1.Volume) {
	m := make(map[string]*commonv1.Volume, len(vols))
	for _, v := range vols {
		m[v.Name] = v
	}
	f.mu.Lock()
	f.vols, f.following = m, false
	f.mu.Unlock()
}

// Put records a volume's new state from the feed.
func (f *followedVolumes) Put(v *commonv1.Volume) {
	f.mu.Lock()
	f.vols[v.Name] = v
	f.mu.Unlock()
}

// Delete records a volume's deletion from the feed.
func (f *followedVolumes) Delete(name string) {
	f.mu.Lock()
	delete(f.vols, name)
	f.mu.Unlock()
}

// Follow says whether the copy is current (the feed is followed and has
// delivered its backlog).
func (f *followedVolumes) Follow(on bool) {
	f.mu.Lock()
	f.following = on
	f.mu.Unlock()
}

// Volume reads one volume from the store.
func (f *followedVolumes) Volume(ctx context.Context, name string) (*commonv1.Volume, error) {
	return f.store.Volume(ctx, name)
}

// Volumes returns every volume, sorted by name: the followed copy while it
// is current, else a listing from the store.
func (f *followedVolumes) Volumes(ctx context.Context) ([]*commonv1.Volume, error) {
	f.mu.Lock()
	if f.following {
		out := make([]*commonv1.Volume, 0, len(f.vols))
		for _, v := range f.vols {
			out = append(out, v)
		}
		f.mu.Unlock()
		slices.SortFunc(out, func(a, b *commonv1.Volume) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	}
	f.mu.Unlock()
	return f.store.Volumes(ctx)
}

// Cluster reads the cluster record from the store.
func (f *followedVolumes) Cluster(ctx context.Context) (*commonv1.Cluster, error) {
	return f.store.Cluster(ctx)
}
