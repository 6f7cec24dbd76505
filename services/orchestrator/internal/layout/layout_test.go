package layout

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
)

// testPeers is a pool of six peers; node6 has no address, so its bricks are
// known by its name.
func testPeers() []*commonv1.Peer {
	return []*commonv1.Peer{
		{Id: "p1", Name: "node1", Addresses: []string{"127.1.1.1", "10.0.0.1"}},
		{Id: "p2", Name: "node2", Addresses: []string{"127.1.1.2"}},
		{Id: "p3", Name: "node3", Addresses: []string{"127.1.1.3"}},
		{Id: "p4", Name: "node4", Addresses: []string{"127.1.1.4"}},
		{Id: "p5", Name: "node5", Addresses: []string{"127.1.1.5"}},
		{Id: "p6", Name: "node6"},
	}
}

// ids returns a newID that counts: id-1, id-2, …
func ids() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("id-%d", n)
	}
}

// specs turns "peer:/path" words into brick specs.
func specs(words ...string) []*orchestratorv1.BrickSpec {
	out := make([]*orchestratorv1.BrickSpec, len(words))
	for i, w := range words {
		peer, path, _ := strings.Cut(w, ":")
		out[i] = &orchestratorv1.BrickSpec{Peer: peer, Path: path}
	}
	return out
}

// wantErr checks an error's kind, request field ("" for none) and that its
// public message contains each of msgs.
func wantErr(t *testing.T, err error, kind errs.Kind, field string, msgs ...string) {
	t.Helper()
	require.Error(t, err)
	var e *errs.Error
	require.True(t, errors.As(err, &e), "not a domain error: %v", err)
	require.Equal(t, kind, e.Kind, "kind of %q", e.Message)
	require.Equal(t, field, e.Field, "field of %q", e.Message)
	for _, m := range msgs {
		require.Contains(t, e.Message, m)
	}
}

// layoutOf renders a volume's subvolumes as "peer:/path" words, a
// trailing "*" marking the arbiter, sets separated by "|".
func layoutOf(vol *commonv1.Volume) string {
	var sets []string
	for _, sv := range vol.GetSubvolumes() {
		var ws []string
		for _, b := range sv.GetBricks() {
			w := b.GetPeerId() + ":" + b.GetPath()
			if b.GetArbiter() {
				w += "*"
			}
			ws = append(ws, w)
		}
		sets = append(sets, strings.Join(ws, " "))
	}
	return strings.Join(sets, " | ")
}

// mustCreate builds a volume with Create (force, so placement does not matter).
func mustCreate(t *testing.T, req *orchestratorv1.CreateVolumeRequest) *commonv1.Volume {
	t.Helper()
	req.Force = true
	n := 0
	vol, _, err := Create(req, testPeers(), func() string {
		n++
		return fmt.Sprintf("%s-%d", req.GetName(), n)
	})
	require.NoError(t, err)
	return vol
}
