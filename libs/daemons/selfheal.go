// Package daemons holds the command lines of the GlusterFS daemons a
// storage node runs, each checked against stock GlusterFS 10.3 by an
// end-to-end test (e2e/shd_test.go for the self-heal daemon).
package daemons

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
)

// GlusterfsBinary is the stock GlusterFS client program; the self-heal
// daemon is one of its roles.
const GlusterfsBinary = "/usr/sbin/glusterfs"

// SelfHealVolfileID is the volfile-id of a node's one self-heal daemon: the
// portmap answers it with the node-wide graph of every volume
// volgen.NodeSelfHealVolumes selects for the node.
const SelfHealVolfileID = volgen.NodeSelfHealVolfileID

// SelfHealProcessName is the name the daemon gives itself (--process-name).
// It must not be "glustershd": glusterfs 10 treats a process of that name
// as glusterd's multiplexed self-heal daemon, which needs the GETSPEC reply
// to carry a per-volume pid file and otherwise throws the graph away and
// idles without healing (observed with 10.3: "glusterfs_update_mux_pid ...
// invalid argument: dict").
const SelfHealProcessName = "glustershd-node"

// selfHealClientPID is GF_CLIENT_PID_SELF_HEALD: bricks and the cluster
// xlators recognise the self-heal daemon's requests by it.
const selfHealClientPID = "-6"

// mgmtPort is GlusterFS's default management port, left off the command line.
const mgmtPort = 24007

// maxSockPath is the longest unix socket path (sun_path is 108 bytes with its NUL).
const maxSockPath = 107

// SelfHealParams is what a node's self-heal daemon command line is made of.
type SelfHealParams struct {
	// VolfileServer is the address of this node's portmap (its management
	// RPC), which serves the graph and the bricks' ports.
	VolfileServer string
	// VolfileServerPort is the portmap's management port; 0 means 24007.
	VolfileServerPort int
	// NodeID is the node's UUID (the peer id its bricks carry).
	NodeID string
	// RunDir holds the pid file and the daemon's unix socket (glusterd:
	// /var/run/gluster).
	RunDir string
	// LogDir holds the daemon's log (glusterd: /var/log/glusterfs).
	LogDir string
}

// PidFile is where the daemon writes and locks its pid:
// <RunDir>/glustershd/glustershd.pid. Its directory must exist.
func (p SelfHealParams) PidFile() string {
	return filepath.Join(p.RunDir, "glustershd", "glustershd.pid")
}

// LogFile is the daemon's log, <LogDir>/glustershd.log, as glusterd names
// it. Its directory must exist.
func (p SelfHealParams) LogFile() string {
	return filepath.Join(p.LogDir, "glustershd.log")
}

// SocketFile is the daemon's unix socket: <RunDir>/<16 hex digits>.socket,
// the digits a hash of the run directory and the daemon's name, like
// glusterd's hashed socket names; in the system temporary directory when
// RunDir is too deep for a unix socket path.
func (p SelfHealParams) SocketFile() string {
	sum := sha256.Sum256([]byte(filepath.Join(p.RunDir, "glustershd")))
	name := hex.EncodeToString(sum[:8]) + ".socket"
	if s := filepath.Join(p.RunDir, name); len(s) <= maxSockPath {
		return s
	}
	return filepath.Join(os.TempDir(), "glustershd-"+name)
}

// SelfHealArgs returns the arguments (after the program, GlusterfsBinary) of
// a node's one self-heal daemon, which heals every replicate and disperse
// volume with bricks on the node from one node-wide graph:
//
//	-s <VolfileServer> [--volfile-server-port <port>]
//	    where the graph comes from: the node's own portmap. The port is
//	    left out when it is 24007. The protocol/client xlators find the
//	    bricks' ports through the portmap of each brick's host.
//	--volfile-id gluster/glustershd
//	    the node-wide graph (volgen.NodeSelfHeal). A FETCHSPEC from the
//	    portmap brings option changes in place; a changed set of volumes or
//	    bricks makes glusterfs build a second graph beside the first, so
//	    the daemon is restarted then instead (see SelfHealTopology).
//	-p <RunDir>/glustershd/glustershd.pid
//	    the pid file, locked while the daemon runs: a second daemon with the
//	    same pid file exits at once.
//	-l <LogDir>/glustershd.log
//	    the log, named as glusterd names it.
//	-S <RunDir>/<hash>.socket
//	    the daemon's end of glusterd's brick-operations program ("Gluster
//	    Brick operations": translator ops such as a full heal, status,
//	    terminate); servicemgr's HealFull sends the full-heal
//	    translator op there.
//	    glusterfs removes a stale socket file itself; a daemon that cannot
//	    listen on it exits.
//	--xlator-option *replicate*.node-uuid=<NodeID>
//	    as glusterd passes it. AFR in 10.3 still declares the option but
//	    decides which bricks are local (and crawls only their index) from
//	    each brick's pathinfo; disperse has no such option, and glusterd
//	    passes none for it.
//	--process-name glustershd-node
//	    the name bricks show for this client. Not "glustershd": see
//	    SelfHealProcessName.
//	--client-pid=-6
//	    marks every request as the self-heal daemon's (GF_CLIENT_PID_SELF_HEALD),
//	    which bricks and replicate/disperse treat accordingly.
//	-N
//	    stays in the foreground, for the supervisor: no fork, no daemon
//	    parent waiting for the graph.
//
// The directories of PidFile and LogFile must exist. Without -N and
// --process-name, and with --volfile-id shd/<vol> and a pid file per
// volume, this is glusterd 10.3's command line; the node-wide volfile-id
// and the process name are what make one process serve every volume
// without glusterd's attach RPC.
func SelfHealArgs(p SelfHealParams) []string {
	args := []string{"-s", p.VolfileServer}
	if p.VolfileServerPort != 0 && p.VolfileServerPort != mgmtPort {
		args = append(args, "--volfile-server-port", strconv.Itoa(p.VolfileServerPort))
	}
	return append(args,
		"--volfile-id", SelfHealVolfileID,
		"-p", p.PidFile(),
		"-l", p.LogFile(),
		"-S", p.SocketFile(),
		"--xlator-option", "*replicate*.node-uuid="+p.NodeID,
		"--process-name", SelfHealProcessName,
		"--client-pid="+selfHealClientPID,
		"-N",
	)
}

// SelfHealTopology describes the shape of the node-wide self-heal graph of
// vols (as volgen.NodeSelfHealVolumes returns them, by name): each volume's
// name, id, type, counts and bricks, one line per volume
// (SelfHealTopologyOf). The daemon must be restarted when it changes;
// option changes leave it alone (they reach the running daemon as a
// FETCHSPEC).
func SelfHealTopology(vols []*commonv1.Volume) string {
	var b strings.Builder
	for _, v := range vols {
		b.WriteString(SelfHealTopologyOf(v))
	}
	return b.String()
}

// SelfHealTopologyOf is one volume's line of SelfHealTopology, newline
// included; it depends on the volume alone.
func SelfHealTopologyOf(v *commonv1.Volume) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s replica=%d arbiter=%d disperse=%d redundancy=%d", v.GetName(), v.GetId(), v.GetType(),
		v.GetReplicaCount(), v.GetArbiterCount(), v.GetDisperseCount(), v.GetRedundancyCount())
	for _, sv := range v.GetSubvolumes() {
		b.WriteString(" |")
		for _, br := range sv.GetBricks() {
			b.WriteString(" " + br.GetHost() + ":" + br.GetPath())
		}
	}
	b.WriteString("\n")
	return b.String()
}
