package daemons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
)

func TestSelfHealArgs(t *testing.T) {
	p := SelfHealParams{VolfileServer: "127.1.1.1", NodeID: "5ccc569b-f176-435b-8e4e-c9dd68430311",
		RunDir: "/var/run/gluster", LogDir: "/var/log/glusterfs"}
	sock := p.SocketFile()
	require.Regexp(t, `^/var/run/gluster/[0-9a-f]{16}\.socket$`, sock)
	require.Equal(t, []string{
		"-s", "127.1.1.1",
		"--volfile-id", "gluster/glustershd",
		"-p", "/var/run/gluster/glustershd/glustershd.pid",
		"-l", "/var/log/glusterfs/glustershd.log",
		"-S", sock,
		"--xlator-option", "*replicate*.node-uuid=5ccc569b-f176-435b-8e4e-c9dd68430311",
		"--process-name", "glustershd-node",
		"--client-pid=-6",
		"-N",
	}, SelfHealArgs(p))

	p.VolfileServerPort = 24007
	require.NotContains(t, SelfHealArgs(p), "--volfile-server-port")
	p.VolfileServerPort = 34007
	require.Equal(t, []string{"-s", "127.1.1.1", "--volfile-server-port", "34007", "--volfile-id"}, SelfHealArgs(p)[:5])

	require.Equal(t, sock, p.SocketFile(), "the same run directory, the same socket")
	other := p
	other.RunDir = "/srv/node2/run"
	require.NotEqual(t, filepath.Base(sock), filepath.Base(other.SocketFile()))
}

func TestSelfHealSocketOfADeepRunDir(t *testing.T) {
	p := SelfHealParams{RunDir: "/" + strings.Repeat("deep/", 20) + "run"}
	s := p.SocketFile()
	require.LessOrEqual(t, len(s), maxSockPath)
	require.Equal(t, os.TempDir(), filepath.Dir(s))
	require.Regexp(t, `^glustershd-[0-9a-f]{16}\.socket$`, filepath.Base(s))
}

func TestSelfHealTopology(t *testing.T) {
	vol := func() *commonv1.Volume {
		return &commonv1.Volume{Name: "gv0", Id: "7d1c5c43-3c3e-4f8e-9a1e-2f6d8b9c0a11", Type: commonv1.VolumeType_REPLICATE,
			ReplicaCount: 2, Options: map[string]string{"network.ping-timeout": "42"},
			Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Host: "h1", Path: "/b1"}, {Host: "h2", Path: "/b2"}}}}}
	}
	base := SelfHealTopology([]*commonv1.Volume{vol()})
	require.Equal(t, "gv0 7d1c5c43-3c3e-4f8e-9a1e-2f6d8b9c0a11 REPLICATE replica=2 arbiter=0 disperse=0 redundancy=0 | h1:/b1 h2:/b2\n", base)

	opt := vol()
	opt.Options["network.ping-timeout"] = "10"
	require.Equal(t, base, SelfHealTopology([]*commonv1.Volume{opt}), "an option change needs no restart")

	moved := vol()
	moved.Subvolumes[0].Bricks[1].Path = "/b3"
	require.NotEqual(t, base, SelfHealTopology([]*commonv1.Volume{moved}), "a replaced brick does")
	grown := vol()
	grown.Subvolumes = append(grown.Subvolumes, &commonv1.Subvolume{Bricks: []*commonv1.Brick{{Host: "h1", Path: "/b4"}, {Host: "h2", Path: "/b5"}}})
	require.NotEqual(t, base, SelfHealTopology([]*commonv1.Volume{grown}), "an added replica set does")
	second := vol()
	second.Name = "gv1"
	require.NotEqual(t, base, SelfHealTopology([]*commonv1.Volume{vol(), second}), "another volume does")
	require.Empty(t, SelfHealTopology(nil))
}
