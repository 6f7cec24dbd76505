package layout

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

// ResolvePeer finds the peer ref names: its id, else its name, else one of
// its addresses. Each way is tried over all peers before the next, so an id
// or name never loses to another peer's address. An unknown ref is NotFound.
func ResolvePeer(peers []*commonv1.Peer, ref string) (*commonv1.Peer, error) {
	if ref == "" {
		return nil, errs.InvalidField("peer", "must not be empty")
	}
	for _, match := range []func(*commonv1.Peer) bool{
		func(p *commonv1.Peer) bool { return p.GetId() == ref },
		func(p *commonv1.Peer) bool { return p.GetName() == ref },
		func(p *commonv1.Peer) bool {
			for _, a := range p.GetAddresses() {
				if a == ref {
					return true
				}
			}
			return false
		},
	} {
		var found *commonv1.Peer
		for _, p := range peers {
			if p == nil || !match(p) {
				continue
			}
			if found != nil && found.GetId() != p.GetId() {
				return nil, errs.New(errs.Invalid, "%q names two peers (%s and %s); use a peer id", ref, peerName(found), peerName(p))
			}
			found = p
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, errs.New(errs.NotFound, "peer %s is not in the pool", ref)
}

// peerName is how errors name a peer: its name, else its id.
func peerName(p *commonv1.Peer) string {
	if p.GetName() != "" {
		return p.GetName()
	}
	return p.GetId()
}

// brickHost returns the host a brick on p is known by: the peer's first
// address, or its name when it has none. GlusterFS puts the host into volfile
// ids and volfiles, so it must be a plain host name or IPv4 address.
func brickHost(p *commonv1.Peer) (string, error) {
	host := p.GetName()
	if addrs := p.GetAddresses(); len(addrs) > 0 {
		host = addrs[0]
	}
	if host == "" || strings.ContainsAny(host, " \t\r\n/:\"#") {
		return "", errs.New(errs.Precondition, "peer %s is known by %q, which cannot be a brick host: GlusterFS needs a host name or IPv4 address", peerName(p), host)
	}
	return host, nil
}

// checkBrickPath checks that p is a clean absolute path GlusterFS can carry
// in a volfile; field names the request field in the error.
func checkBrickPath(field, p string) error {
	switch {
	case p == "":
		return errs.InvalidField(field, "must not be empty")
	case !path.IsAbs(p):
		return errs.InvalidField(field, "%q is not an absolute path", p)
	case path.Clean(p) != p:
		return errs.InvalidField(field, "%q is not a clean path; write it as %q", p, path.Clean(p))
	case p == "/":
		return errs.InvalidField(field, "the root directory cannot be a brick")
	case strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '#' }) >= 0:
		return errs.InvalidField(field, "%q contains a space, a control character, '\"' or '#'", p)
	}
	return nil
}

// newBrick turns one BrickSpec into a brick with a new id; field is the
// request field it came from ("bricks[2]", "new_brick").
func newBrick(field string, spec *orchestratorv1.BrickSpec, peers []*commonv1.Peer, newID func() string) (*commonv1.Brick, error) {
	if spec == nil {
		return nil, errs.InvalidField(field, "is missing")
	}
	if spec.GetPeer() == "" {
		return nil, errs.InvalidField(field+".peer", "must not be empty")
	}
	p, err := ResolvePeer(peers, spec.GetPeer())
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, &errs.Error{Kind: e.Kind, Field: field + ".peer", Message: field + ".peer: " + e.Message}
		}
		return nil, err
	}
	if err := checkBrickPath(field+".path", spec.GetPath()); err != nil {
		return nil, err
	}
	host, err := brickHost(p)
	if err != nil {
		return nil, err
	}
	return &commonv1.Brick{Id: newID(), PeerId: p.GetId(), Host: host, Path: spec.GetPath()}, nil
}

// newBricks resolves every spec of a request field ("bricks") in order.
func newBricks(field string, specs []*orchestratorv1.BrickSpec, peers []*commonv1.Peer, newID func() string) ([]*commonv1.Brick, error) {
	if len(specs) == 0 {
		return nil, errs.InvalidField(field, "at least one brick is needed")
	}
	out := make([]*commonv1.Brick, 0, len(specs))
	for i, s := range specs {
		b, err := newBrick(fmt.Sprintf("%s[%d]", field, i), s, peers, newID)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// entry is a brick with the words that name it in errors: the request field
// of a new brick ("bricks[2]") or "brick <id>" of one the volume has.
type entry struct {
	brick *commonv1.Brick
	label string
	isNew bool
}

// newEntries labels new bricks by their request field.
func newEntries(field string, bricks []*commonv1.Brick) []entry {
	out := make([]entry, len(bricks))
	for i, b := range bricks {
		out[i] = entry{brick: b, label: fmt.Sprintf("%s[%d]", field, i), isNew: true}
	}
	return out
}

// existingEntries labels the bricks a volume already has.
func existingEntries(vol *commonv1.Volume) []entry {
	var out []entry
	for _, b := range allBricks(vol) {
		out = append(out, entry{brick: b, label: "brick " + b.GetId() + " of volume " + vol.GetName()})
	}
	return out
}

// nests reports whether one of two paths is inside the other.
func nests(a, b string) bool {
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// checkOverlap refuses a new brick that is the same directory as, or nests
// in or around, another brick of the same peer in entries. Existing bricks
// are not compared with each other.
func checkOverlap(entries []entry) error {
	for j, nb := range entries {
		if !nb.isNew {
			continue
		}
		for i, ob := range entries {
			if i == j || (ob.isNew && i > j) || ob.brick.GetPeerId() != nb.brick.GetPeerId() {
				continue
			}
			where := nb.brick.GetHost() + ":" + nb.brick.GetPath()
			switch {
			case ob.brick.GetPath() == nb.brick.GetPath() && ob.isNew:
				return errs.InvalidField(nb.label+".path", "%s is given twice (also %s)", where, ob.label)
			case ob.brick.GetPath() == nb.brick.GetPath():
				return errs.InvalidField(nb.label+".path", "%s is already %s", where, ob.label)
			case nests(ob.brick.GetPath(), nb.brick.GetPath()):
				return errs.InvalidField(nb.label+".path", "%s and %s (%s) nest in each other on one peer; bricks must not", where, ob.brick.GetPath(), ob.label)
			}
		}
	}
	return nil
}

// checkPlacement refuses, unless force, a set in which a new brick shares a
// peer with another brick of the set, as gluster does; with force it returns
// a warning instead. kind is "replicate" or "disperse".
func checkPlacement(kind string, sets [][]entry, force bool) (string, error) {
	var first string
	bad := 0
	for _, set := range sets {
		found := false
		for j := 0; j < len(set) && !found; j++ {
			for i := 0; i < j; i++ {
				if (set[i].isNew || set[j].isNew) && set[i].brick.GetPeerId() == set[j].brick.GetPeerId() {
					if first == "" {
						first = fmt.Sprintf("%s and %s are both on %s", set[i].label, set[j].label, set[j].brick.GetHost())
					}
					found = true
					break
				}
			}
		}
		if found {
			bad++
		}
	}
	if bad == 0 {
		return "", nil
	}
	if !force {
		return "", errs.New(errs.Precondition, "multiple bricks of a %s volume are on the same peer (%s). This setup is not optimal: the bricks of a %s set should be on different peers for the best fault tolerance. Use force to override this behavior", kind, first, setWord(kind))
	}
	return fmt.Sprintf("%d %s set(s) have several bricks on one peer (%s); accepted because of force, but losing that peer loses all of them", bad, setWord(kind), first), nil
}

// setWord names a subvolume of a volume kind: "replica" or "disperse".
func setWord(kind string) string {
	if kind == "replicate" {
		return "replica"
	}
	return kind
}

// allBricks returns a volume's bricks in volume order.
func allBricks(vol *commonv1.Volume) []*commonv1.Brick {
	var out []*commonv1.Brick
	for _, sv := range vol.GetSubvolumes() {
		out = append(out, sv.GetBricks()...)
	}
	return out
}

// findBrick returns the subvolume and position of the brick with id.
func findBrick(vol *commonv1.Volume, id string) (int, int, bool) {
	for i, sv := range vol.GetSubvolumes() {
		for j, b := range sv.GetBricks() {
			if b.GetId() == id {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// Diff returns the bricks of after that before lacks and the bricks of before
// that after lacks, by brick id, in volume order: what an operation asks the
// nodes to prepare and to clean up.
func Diff(before, after *commonv1.Volume) (added, removed []*commonv1.Brick) {
	in := func(vol *commonv1.Volume) map[string]bool {
		m := map[string]bool{}
		for _, b := range allBricks(vol) {
			m[b.GetId()] = true
		}
		return m
	}
	was, is := in(before), in(after)
	for _, b := range allBricks(after) {
		if !was[b.GetId()] {
			added = append(added, b)
		}
	}
	for _, b := range allBricks(before) {
		if !is[b.GetId()] {
			removed = append(removed, b)
		}
	}
	return added, removed
}

// CheckBricksFree refuses vol if one of its bricks is the same directory as,
// or nests in or around, a brick of another volume on the same peer, as
// glusterd does ("Brick may be containing or be contained by an existing
// brick"). Volumes with vol's id or name are skipped. Force does not
// override this: two volumes would share data.
func CheckBricksFree(vol *commonv1.Volume, others []*commonv1.Volume) error {
	for _, o := range others {
		if o == nil || (o.GetId() != "" && o.GetId() == vol.GetId()) || o.GetName() == vol.GetName() {
			continue
		}
		for _, ob := range allBricks(o) {
			for _, b := range allBricks(vol) {
				if b.GetPeerId() != ob.GetPeerId() {
					continue
				}
				if b.GetPath() == ob.GetPath() || nests(b.GetPath(), ob.GetPath()) {
					return errs.New(errs.Precondition, "brick %s:%s is not available: it is, contains or is inside brick %s:%s of volume %s",
						b.GetHost(), b.GetPath(), ob.GetHost(), ob.GetPath(), o.GetName())
				}
			}
		}
	}
	return nil
}
