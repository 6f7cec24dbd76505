package layout

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

func TestResolvePeer(t *testing.T) {
	peers := append(testPeers(),
		// A peer whose name is another peer's address, and two peers that
		// share an address: ids and names win, shared addresses are ambiguous.
		&commonv1.Peer{Id: "p7", Name: "127.1.1.2", Addresses: []string{"192.168.0.7"}},
		&commonv1.Peer{Id: "p8", Name: "node8", Addresses: []string{"192.168.0.9"}},
		&commonv1.Peer{Id: "p9", Name: "node9", Addresses: []string{"192.168.0.9"}},
	)
	tests := []struct {
		ref, wantID string
		kind        errs.Kind
		msg         string
	}{
		{ref: "p3", wantID: "p3"},
		{ref: "node3", wantID: "p3"},
		{ref: "127.1.1.3", wantID: "p3"},
		{ref: "10.0.0.1", wantID: "p1"}, // any address, not only the first
		{ref: "127.1.1.2", wantID: "p7"},
		{ref: "node10", kind: errs.NotFound, msg: "peer node10 is not in the pool"},
		{ref: "192.168.0.9", kind: errs.Invalid, msg: `"192.168.0.9" names two peers (node8 and node9); use a peer id`},
		{ref: "", kind: errs.Invalid, msg: "peer: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			p, err := ResolvePeer(peers, tt.ref)
			if tt.msg == "" {
				require.NoError(t, err)
				require.Equal(t, tt.wantID, p.GetId())
				return
			}
			require.Error(t, err)
			require.True(t, errs.Is(err, tt.kind), "kind of %v", err)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

func TestCheckBrickPath(t *testing.T) {
	tests := []struct {
		path, want string
	}{
		{"/bricks/gv0/b1", ""},
		{"/b", ""},
		{"/data/my-brick_1.d", ""},
		{"", "p: must not be empty"},
		{"bricks/b1", `p: "bricks/b1" is not an absolute path`},
		{"/bricks/b1/", `p: "/bricks/b1/" is not a clean path; write it as "/bricks/b1"`},
		{"/bricks/../b1", `write it as "/b1"`},
		{"/bricks//b1", `write it as "/bricks/b1"`},
		{"/", "p: the root directory cannot be a brick"},
		{"/my brick", `"/my brick" contains a space, a control character, '"' or '#'`},
		{"/a\tb", "contains a space"},
		{"/a\x01b", "control character"},
		{`/a"b`, "contains a space"},
		{"/a#b", "contains a space"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := checkBrickPath("p", tt.path)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			wantErr(t, err, errs.Invalid, "p", tt.want)
		})
	}
}

func TestNewBrick(t *testing.T) {
	b, err := newBrick("bricks[0]", &orchestratorv1.BrickSpec{Peer: "10.0.0.1", Path: "/b"}, testPeers(), ids())
	require.NoError(t, err)
	require.Equal(t, "id-1", b.GetId())
	require.Equal(t, "p1", b.GetPeerId())
	require.Equal(t, "127.1.1.1", b.GetHost(), "the host is the peer's first address, whichever named it")

	b, err = newBrick("bricks[0]", &orchestratorv1.BrickSpec{Peer: "p6", Path: "/b"}, testPeers(), ids())
	require.NoError(t, err)
	require.Equal(t, "node6", b.GetHost(), "a peer without addresses is known by its name")

	_, err = newBrick("bricks[2]", &orchestratorv1.BrickSpec{Peer: "nodeX", Path: "/b"}, testPeers(), ids())
	wantErr(t, err, errs.NotFound, "bricks[2].peer", "bricks[2].peer: peer nodeX is not in the pool")
	_, err = newBrick("bricks[2]", &orchestratorv1.BrickSpec{Path: "/b"}, testPeers(), ids())
	wantErr(t, err, errs.Invalid, "bricks[2].peer", "bricks[2].peer: must not be empty")
	_, err = newBrick("bricks[2]", &orchestratorv1.BrickSpec{Peer: "node1", Path: "b"}, testPeers(), ids())
	wantErr(t, err, errs.Invalid, "bricks[2].path", "not an absolute path")
	_, err = newBrick("new_brick", nil, testPeers(), ids())
	wantErr(t, err, errs.Invalid, "new_brick", "new_brick: is missing")

	v6 := []*commonv1.Peer{{Id: "p1", Name: "node1", Addresses: []string{"fd00::1"}}}
	_, err = newBrick("bricks[0]", &orchestratorv1.BrickSpec{Peer: "node1", Path: "/b"}, v6, ids())
	wantErr(t, err, errs.Precondition, "", `peer node1 is known by "fd00::1", which cannot be a brick host`)
}

func TestCheckOverlap(t *testing.T) {
	brick := func(peer, path string) *commonv1.Brick {
		return &commonv1.Brick{Id: peer + path, PeerId: peer, Host: "h" + peer, Path: path}
	}
	existing := entry{brick: brick("p1", "/data/a"), label: "brick X of volume gv0"}
	tests := []struct {
		name    string
		entries []entry
		field   string
		msg     string
	}{
		{"distinct", []entry{existing, {brick("p1", "/data/b"), "bricks[0]", true}, {brick("p2", "/data/a"), "bricks[1]", true}}, "", ""},
		{"prefix is not nesting", []entry{{brick("p1", "/data/a"), "bricks[0]", true}, {brick("p1", "/data/ab"), "bricks[1]", true}}, "", ""},
		{"twice", []entry{{brick("p1", "/b"), "bricks[0]", true}, {brick("p2", "/b"), "bricks[1]", true}, {brick("p1", "/b"), "bricks[2]", true}},
			"bricks[2].path", "bricks[2].path: hp1:/b is given twice (also bricks[0])"},
		{"already in the volume", []entry{existing, {brick("p1", "/data/a"), "bricks[0]", true}},
			"bricks[0].path", "hp1:/data/a is already brick X of volume gv0"},
		{"inside", []entry{{brick("p1", "/data"), "bricks[0]", true}, {brick("p1", "/data/a/b"), "bricks[1]", true}},
			"bricks[1].path", "hp1:/data/a/b and /data (bricks[0]) nest in each other on one peer"},
		{"around an existing brick", []entry{existing, {brick("p1", "/data"), "bricks[0]", true}},
			"bricks[0].path", "hp1:/data and /data/a (brick X of volume gv0) nest"},
		{"existing bricks are not compared", []entry{existing, {brick("p1", "/data/a"), "brick Y", false}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOverlap(tt.entries)
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			wantErr(t, err, errs.Invalid, tt.field, tt.msg)
		})
	}
}

func TestDiff(t *testing.T) {
	before := mustCreate(t, &orchestratorv1.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, Bricks: specs("node1:/a", "node2:/a", "node1:/b", "node2:/b")})
	added, removed := Diff(before, before)
	require.Empty(t, added)
	require.Empty(t, removed)

	after, _, err := RemoveBricks(before, &orchestratorv1.RemoveBrickRequest{Brick: "gv0-1"})
	require.NoError(t, err)
	added, removed = Diff(before, after)
	require.Empty(t, added)
	require.Equal(t, []string{"127.1.1.1:/a", "127.1.1.2:/a"}, hostPaths(removed))
	added, removed = Diff(after, before)
	require.Equal(t, []string{"127.1.1.1:/a", "127.1.1.2:/a"}, hostPaths(added))
	require.Empty(t, removed)
}

// hostPaths renders bricks as host:path.
func hostPaths(bricks []*commonv1.Brick) []string {
	var out []string
	for _, b := range bricks {
		out = append(out, b.GetHost()+":"+b.GetPath())
	}
	return out
}

func TestCheckBricksFree(t *testing.T) {
	gv0 := mustCreate(t, &orchestratorv1.CreateVolumeRequest{Name: "gv0", Bricks: specs("node1:/data/gv0", "node2:/data/gv0")})
	tests := []struct {
		name   string
		bricks []string
		msg    string
	}{
		{"other paths", []string{"node1:/data/gv1", "node2:/data/gv1"}, ""},
		{"same path on another peer", []string{"node3:/data/gv0"}, ""},
		{"same brick", []string{"node3:/x", "node2:/data/gv0"}, "brick 127.1.1.2:/data/gv0 is not available: it is, contains or is inside brick 127.1.1.2:/data/gv0 of volume gv0"},
		{"inside", []string{"node1:/data/gv0/sub"}, "brick 127.1.1.1:/data/gv0/sub is not available"},
		{"around", []string{"node1:/data"}, "brick 127.1.1.1:/data is not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := mustCreate(t, &orchestratorv1.CreateVolumeRequest{Name: "gv1", Bricks: specs(tt.bricks...)})
			err := CheckBricksFree(vol, []*commonv1.Volume{nil, gv0, vol})
			if tt.msg == "" {
				require.NoError(t, err)
				return
			}
			wantErr(t, err, errs.Precondition, "", tt.msg)
		})
	}
	require.NoError(t, CheckBricksFree(gv0, []*commonv1.Volume{gv0}), "a volume does not collide with itself")
}
