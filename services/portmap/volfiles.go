package portmap

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/daemons"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// volumeSource is what the volfile server needs of the store.
type volumeSource interface {
	Volume(ctx context.Context, name string) (*commonv1.Volume, error)
	Volumes(ctx context.Context) ([]*commonv1.Volume, error)
	Cluster(ctx context.Context) (*commonv1.Cluster, error)
}

// volfiles answers volfile-ids (GETSPEC keys) with generated volfiles. It
// keeps each answer until the volume changes (the store's change feed calls
// Invalidate), so a GETSPEC costs no store round trip, and it keeps serving
// the last good answer while the store cannot be reached.
type volfiles struct {
	src     volumeSource
	workDir string
	nodeID  string // the node whose self-heal daemon gluster/glustershd serves

	mu       sync.Mutex
	lastGood map[cacheKey]served
	fresh    map[cacheKey]bool // cache keys valid until their volume changes
	gens     map[string]uint64 // per volume, bumped by Invalidate
	anyGen   uint64            // bumped by every Invalidate: node-wide answers depend on all volumes
	live     bool              // the change feed is following the store
	secret   []byte
	// sections keeps each volume's part of the node-wide self-heal graph
	// by name, made from the volume at one version, so a change of one
	// volume renders that volume's part alone.
	sections map[string]keptSection
	// nodeWide is the last node-wide self-heal answer made and the
	// sections it was made of: sections that are all the same (the same
	// kept text) give the same answer without assembling it again.
	nodeWide struct {
		sections []volgen.SelfHealSection
		out      served
	}
}

// keptSection is a volume's rendered self-heal section and the volume
// (ID and resource version) it was made from.
type keptSection struct {
	id      string
	version uint64
	section volgen.SelfHealSection
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

// cacheKey is what a GETSPEC answer depends on besides the store.
type cacheKey struct {
	trusted bool
	key     string
}

// served is one volfile handed out, with the volume it belongs to; a
// node-wide volfile (gluster/glustershd) belongs to no one volume but
// depends on every volume, and names the volumes it holds.
type served struct {
	volume   string
	data     []byte
	nodeWide bool
	volumes  []string
	// topology is the node-wide self-heal graph's shape
	// (daemons.SelfHealTopology): the daemon's servicemgr restarts it when
	// that changes, so it is not told to fetch a graph of another shape.
	topology string
	// reply is the encoded gf_getspec_rsp carrying data, made once per
	// volfile version and sent as is to every process that asks for it.
	reply []byte
}

// uses reports whether the volfile holds or may come to hold volume's sections.
func (s served) uses(volume string) bool {
	return s.volume == volume || s.nodeWide
}

func newVolfiles(src volumeSource, workDir, nodeID string) *volfiles {
	return &volfiles{src: src, workDir: workDir, nodeID: nodeID, lastGood: map[cacheKey]served{}, fresh: map[cacheKey]bool{}, gens: map[string]uint64{}, sections: map[string]keptSection{}}
}

// Forget drops everything kept for a deleted volume, including the last
// good answers, so a store outage never brings its volfiles back.
func (v *volfiles) Forget(volume string) {
	v.Invalidate(volume)
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, out := range v.lastGood {
		if out.volume == volume || slices.Contains(out.volumes, volume) {
			delete(v.lastGood, k)
			delete(v.fresh, k) // made valid again since Invalidate: no longer
		}
	}
}

// Invalidate drops the cached answers of volume (all volumes when empty),
// and the node-wide ones, which any volume's change may alter: the next
// GETSPEC generates them again from the store.
func (v *volfiles) Invalidate(volume string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.fresh {
		if volume == "" || v.lastGood[k].uses(volume) {
			delete(v.fresh, k)
		}
	}
	v.anyGen++
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
// "gluster/glustershd" is the node's self-heal daemon's, over all its
// volumes; "shd/<vol>" is one volume's self-heal daemon's; otherwise one
// leading "/" is dropped and a volume name means the client volfile, and
// "<vol>.<host>.<dashed path>" a brick's.
func resolveKey(key string) (volume, kind string) {
	if strings.TrimPrefix(key, "/") == volgen.NodeSelfHealVolfileID {
		return "", "nodeshd"
	}
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
	ck := cacheKey{trusted: trusted, key: key}
	name, kind := resolveKey(key)
	// The generation that must not move while the answer is made: the
	// volume's, or for a node-wide answer every volume's.
	genOf := func() uint64 {
		if kind == "nodeshd" {
			return v.anyGen
		}
		return v.gens[name]
	}
	v.mu.Lock()
	if out, ok := v.lastGood[ck]; ok && v.fresh[ck] {
		v.mu.Unlock()
		return out, nil
	}
	gen := genOf()
	v.mu.Unlock()
	out, err := v.generate(ctx, key, trusted)
	if errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Timeout) || errs.Is(err, errs.NoQuorum) {
		v.mu.Lock()
		last, ok := v.lastGood[ck]
		v.mu.Unlock()
		if ok {
			return last, nil
		}
	}
	if err != nil {
		return served{}, err
	}
	if out.reply == nil {
		out.reply = gluster.NewGetSpecReply(string(out.data)).Marshal()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	current := v.live && genOf() == gen
	if cur, ok := v.lastGood[ck]; ok && v.fresh[ck] && !current {
		// A change came while this answer was made, and an answer made
		// after it is already kept: that one is newer, and stays.
		return cur, nil
	}
	v.lastGood[ck] = out
	if current {
		// Nothing changed the volume while it was read: valid until it does.
		v.fresh[ck] = true
	}
	return out, nil
}

// Cached returns key's answer if the cache holds a valid one, without
// touching the store. The key is in bytes (as decoded from the call), and
// Cached does not allocate.
func (v *volfiles) Cached(key []byte, trusted bool) (out served, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// The key is converted inside each index expression, which Go does
	// without allocating.
	if !v.fresh[cacheKey{trusted: trusted, key: string(key)}] {
		return served{}, false
	}
	out, ok = v.lastGood[cacheKey{trusted: trusted, key: string(key)}]
	return out, ok
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
	if kind == "nodeshd" {
		return v.generateNodeSelfHeal(ctx)
	}
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
		return served{volume: name, data: data}, nil
	case "client":
		return served{volume: name, data: volgen.Client(vol, p)}, nil
	}
	want := strings.TrimPrefix(key, "/")
	for _, sv := range vol.Subvolumes {
		for _, b := range sv.Bricks {
			if volgen.BrickVolfileID(vol, b) == want {
				return served{volume: name, data: volgen.Brick(vol, b, p)}, nil
			}
		}
	}
	return served{}, errs.New(errs.NotFound, "volume %s has no brick for volfile-id %q", name, key)
}

// generateNodeSelfHeal makes the volfile of this node's one self-heal
// daemon: the self-heal sections of every volume volgen.NodeSelfHealVolumes
// selects for the node, each with its volume's login (the daemon is always
// trusted, as for shd/<vol>). Not found when no volume qualifies.
func (v *volfiles) generateNodeSelfHeal(ctx context.Context) (served, error) {
	all, err := v.src.Volumes(ctx)
	if err != nil {
		return served{}, err
	}
	vols := volgen.NodeSelfHealVolumes(all, v.nodeID)
	if len(vols) == 0 {
		return served{}, errs.New(errs.NotFound, "no started replicate or disperse volume has a brick on node %s", v.nodeID)
	}
	secret, err := v.clusterSecret(ctx)
	if err != nil {
		return served{}, err
	}
	sections := make([]volgen.SelfHealSection, len(vols))
	names := make([]string, len(vols))
	for i, vol := range vols {
		sections[i], names[i] = v.selfHealSection(vol, secret), vol.Name
	}
	v.mu.Lock()
	for name := range v.sections {
		if _, found := slices.BinarySearch(names, name); !found {
			delete(v.sections, name)
		}
	}
	last := v.nodeWide
	v.mu.Unlock()
	if last.out.data != nil && slices.EqualFunc(last.sections, sections, sameSection) {
		return last.out, nil
	}
	// Assembled without the lock, which GETSPECs answered from the cache take.
	out := served{data: volgen.JoinNodeSelfHeal(sections), nodeWide: true, volumes: names, topology: daemons.SelfHealTopology(vols)}
	out.reply = gluster.NewGetSpecReply(string(out.data)).Marshal()
	v.mu.Lock()
	v.nodeWide.sections, v.nodeWide.out = sections, out
	v.mu.Unlock()
	return out, nil
}

// sameSection says whether two sections are the same kept one: the same
// text (by identity, not by content) and the same rest.
func sameSection(a, b volgen.SelfHealSection) bool {
	sameText := len(a.Text) == len(b.Text) && (len(a.Text) == 0 || &a.Text[0] == &b.Text[0])
	return sameText && sameBesideText(a, b)
}

// sameBesideText says whether two sections agree in everything but their
// text: volume, top blocks and log level.
func sameBesideText(a, b volgen.SelfHealSection) bool {
	return a.Volume == b.Volume && a.LogLevel == b.LogLevel && slices.Equal(a.Tops, b.Tops)
}

// selfHealSection returns vol's part of the node-wide self-heal graph: the
// kept one while the volume is at the version it was made from, else a new
// one, kept in its place. A volume without a version (never read from the
// store) is rendered every time.
func (v *volfiles) selfHealSection(vol *commonv1.Volume, secret []byte) volgen.SelfHealSection {
	v.mu.Lock()
	kept, ok := v.sections[vol.Name]
	v.mu.Unlock()
	if ok && vol.Version != 0 && kept.version == vol.Version && kept.id == vol.Id {
		return kept.section
	}
	p := volgen.Params{WorkDir: v.workDir, Trusted: true}
	p.Username, p.Password = credentials(secret, vol.Id)
	section := volgen.NodeSelfHealSection(vol, p)
	if ok && bytes.Equal(kept.section.Text, section.Text) && sameBesideText(kept.section, section) {
		// The volume changed, but not its section (an option the daemon
		// does not use): the kept text stays, so the node-wide answer
		// made of it is reused.
		section = kept.section
	}
	if vol.Version != 0 {
		v.mu.Lock()
		v.sections[vol.Name] = keptSection{id: vol.Id, version: vol.Version, section: section}
		v.mu.Unlock()
	}
	return section
}
