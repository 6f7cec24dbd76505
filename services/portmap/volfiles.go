package portmap

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// volumeSource is what the volfile server needs of the store.
type volumeSource interface {
	Volume(ctx context.Context, name string) (*commonv1.Volume, error)
	Cluster(ctx context.Context) (*commonv1.Cluster, error)
}

// volfiles answers volfile-ids (GETSPEC keys) with generated volfiles. It
// keeps each answer until the volume changes (the store's change feed calls
// Invalidate), so a GETSPEC costs no store round trip, and it keeps serving
// the last good answer while the store cannot be reached.
type volfiles struct {
	src     volumeSource
	workDir string

	mu       sync.Mutex
	lastGood map[string]served
	fresh    map[string]bool   // cache keys valid until their volume changes
	gens     map[string]uint64 // per volume, bumped by Invalidate
	live     bool              // the change feed is following the store
	secret   []byte
}

// SetLive says whether the change feed is following the store; answers are
// cached only while it is, and everything cached is dropped when it starts
// or stops.
func (v *volfiles) SetLive(live bool) {
	v.Invalidate("")
	v.mu.Lock()
	v.live = live
	v.mu.Unlock()
}

// served is one volfile handed out, with the volume it belongs to.
type served struct {
	volume string
	data   []byte
}

func newVolfiles(src volumeSource, workDir string) *volfiles {
	return &volfiles{src: src, workDir: workDir, lastGood: map[string]served{}, fresh: map[string]bool{}, gens: map[string]uint64{}}
}

// Forget drops everything kept for a deleted volume, including the last
// good answers, so a store outage never brings its volfiles back.
func (v *volfiles) Forget(volume string) {
	v.Invalidate(volume)
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, out := range v.lastGood {
		if out.volume == volume {
			delete(v.lastGood, k)
		}
	}
}

// Invalidate drops the cached answers of volume (all volumes when empty):
// the next GETSPEC generates them again from the store.
func (v *volfiles) Invalidate(volume string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.fresh {
		if volume == "" || v.lastGood[k].volume == volume {
			delete(v.fresh, k)
		}
	}
	if volume == "" {
		for name := range v.gens {
			v.gens[name]++
		}
		return
	}
	v.gens[volume]++
}

// credentials derives a volume's internal brick login from the cluster
// secret, so it is stable, per volume, and never stored or shown.
func credentials(secret []byte, volumeID string) (user, pass string) {
	derive := func(what string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(what + "/" + volumeID))
		u, _ := uuid.FromBytes(m.Sum(nil)[:16])
		return u.String()
	}
	return derive("username"), derive("password")
}

// resolve maps a GETSPEC key to the volume and the kind of volfile:
// "shd/<vol>" is the self-heal daemon's; otherwise one leading "/" is
// dropped and a volume name means the client volfile, and
// "<vol>.<host>.<dashed path>" a brick's.
func resolveKey(key string) (volume, kind string) {
	if i := strings.Index(key, "shd/"); i >= 0 {
		return key[i+len("shd/"):], "shd"
	}
	key = strings.TrimPrefix(key, "/")
	if vol, _, found := strings.Cut(key, "."); found {
		return vol, "brick"
	}
	return key, "client"
}

// Get returns the volfile for key; trusted selects the client volfile with
// the volume's internal credentials.
func (v *volfiles) Get(ctx context.Context, key string, trusted bool) (served, error) {
	cacheKey := fmt.Sprintf("%t|%s", trusted, key)
	name, _ := resolveKey(key)
	v.mu.Lock()
	if v.fresh[cacheKey] {
		out := v.lastGood[cacheKey]
		v.mu.Unlock()
		return out, nil
	}
	gen := v.gens[name]
	v.mu.Unlock()
	out, err := v.generate(ctx, key, trusted)
	if errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Timeout) || errs.Is(err, errs.NoQuorum) {
		v.mu.Lock()
		last, ok := v.lastGood[cacheKey]
		v.mu.Unlock()
		if ok {
			return last, nil
		}
	}
	if err != nil {
		return served{}, err
	}
	v.mu.Lock()
	v.lastGood[cacheKey] = out
	if v.live && v.gens[name] == gen {
		// Nothing changed the volume while it was read: valid until it does.
		v.fresh[cacheKey] = true
	}
	v.mu.Unlock()
	return out, nil
}

// clusterSecret reads the cluster's secret once; it never changes.
func (v *volfiles) clusterSecret(ctx context.Context) ([]byte, error) {
	v.mu.Lock()
	secret := v.secret
	v.mu.Unlock()
	if secret != nil {
		return secret, nil
	}
	cluster, err := v.src.Cluster(ctx)
	if err != nil {
		return nil, err
	}
	if len(cluster.AuthSecret) == 0 {
		return nil, errs.New(errs.Unavailable, "the cluster record has no secret yet")
	}
	v.mu.Lock()
	v.secret = cluster.AuthSecret
	v.mu.Unlock()
	return cluster.AuthSecret, nil
}

func (v *volfiles) generate(ctx context.Context, key string, trusted bool) (served, error) {
	name, kind := resolveKey(key)
	if name == "" {
		return served{}, errs.New(errs.NotFound, "empty volfile-id")
	}
	vol, err := v.src.Volume(ctx, name)
	if errs.Is(err, errs.Invalid) {
		return served{}, errs.Wrap(errs.NotFound, err, "no volume for volfile-id %q", key)
	}
	if err != nil {
		return served{}, err
	}
	secret, err := v.clusterSecret(ctx)
	if err != nil {
		return served{}, err
	}
	p := volgen.Params{WorkDir: v.workDir, Trusted: trusted}
	p.Username, p.Password = credentials(secret, vol.Id)
	switch kind {
	case "shd":
		data := volgen.SelfHeal(vol, p)
		if data == nil {
			return served{}, errs.New(errs.NotFound, "volume %s has no self-heal daemon", name)
		}
		return served{name, data}, nil
	case "client":
		return served{name, volgen.Client(vol, p)}, nil
	}
	want := strings.TrimPrefix(key, "/")
	for _, sv := range vol.Subvolumes {
		for _, b := range sv.Bricks {
			if volgen.BrickVolfileID(vol, b) == want {
				return served{name, volgen.Brick(vol, b, p)}, nil
			}
		}
	}
	return served{}, errs.New(errs.NotFound, "volume %s has no brick for volfile-id %q", name, key)
}
