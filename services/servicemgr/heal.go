package servicemgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/daemons"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr/internal/supervisor"
)

// Replicate's virtual xattrs for an empty brick (GlusterFS's
// GF_AFR_REPLACE_BRICK and GF_AFR_ADD_BRICK). Set on the root of a mount
// with the new brick's protocol/client name as value, they make replicate
// mark, under locks on the root, the brick's set as holding every entry and
// the metadata the new brick lacks. The self-heal daemons find the root in
// their heal index and heal the whole tree into the new brick from there.
const (
	replaceBrickXattr = "trusted.replace-brick"
	addBrickXattr     = "trusted.add-brick"
)

// addReplicaMountPID is GF_CLIENT_PID_ADD_REPLICA_MOUNT: replicate honours
// the two xattrs only from a client started with this pid.
const addReplicaMountPID = "-12"

// fuseSuperMagic is the f_type statfs reports for a FUSE mount.
const fuseSuperMagic = 0x65735546

// markMountExit bounds how long the private mount's client gets to exit
// after the lazy unmount.
const markMountExit = 5 * time.Second

// markTimeout bounds a mark when the caller set no deadline.
const markTimeout = time.Minute

func (h *handler) MarkBrickForHeal(ctx context.Context, req *servicemgrv1.MarkBrickForHealRequest) (*servicemgrv1.MarkBrickForHealResponse, error) {
	if err := h.authorize(ctx, "MarkBrickForHeal"); err != nil {
		return nil, err
	}
	vol := req.GetVolume()
	if vol == nil || vol.GetName() == "" {
		return nil, errs.InvalidField("volume", "must be given")
	}
	if vol.GetType() != commonv1.VolumeType_REPLICATE && vol.GetType() != commonv1.VolumeType_DISTRIBUTED_REPLICATE {
		return nil, errs.New(errs.Precondition, "volume %s is %v: only replicate heals a brick from this mark", vol.GetName(), vol.GetType())
	}
	if err := volgen.CheckVolume(vol); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "volume %s: %s", vol.GetName(), err.Error())
	}
	client, ok := volgen.ClientName(vol, req.GetBrickId())
	if !ok {
		return nil, errs.New(errs.NotFound, "brick %s is not a brick of volume %s", req.GetBrickId(), vol.GetName())
	}
	key, op := addBrickXattr, "add-brick"
	if req.GetReplaced() {
		key, op = replaceBrickXattr, "replace-brick"
	}
	m := markMount{glusterfs: h.s.cfg.Glusterfs, runDir: h.s.cfg.RunDir,
		logFile: filepath.Join(h.s.cfg.LogDir, vol.GetName()+"-"+op+"-mount.log")}
	// The client volfile any host gets (no login), as glusterd's add-brick
	// uses: the record with the new brick may not be committed yet, so the
	// portmap cannot serve it.
	if err := m.setRootXattr(ctx, volgen.Client(vol, volgen.Params{}), key, client); err != nil {
		return nil, err
	}
	h.s.log.Info("marked a new brick for heal", zap.String("volume", vol.GetName()), zap.String("brick_id", req.GetBrickId()),
		zap.String("client", client), zap.String("xattr", key))
	return &servicemgrv1.MarkBrickForHealResponse{Client: client}, nil
}

// markMount is a private FUSE mount of a volume that lives only long
// enough to set one xattr on its root.
type markMount struct {
	glusterfs string
	runDir    string
	logFile   string
}

// setRootXattr mounts volfile with the add-replica client pid, sets key to
// value on the root (retried until the graph's bricks answer or ctx ends),
// and unmounts.
func (m markMount) setRootXattr(ctx context.Context, volfile []byte, key, value string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, markTimeout)
		defer cancel()
	}
	for _, d := range []string{m.runDir, filepath.Dir(m.logFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return errs.Wrap(errs.Internal, err, "cannot create %s", d)
		}
	}
	dir, err := os.MkdirTemp(m.runDir, "mnt-")
	if err != nil {
		return errs.Wrap(errs.Internal, err, "cannot create a mount point under %s", m.runDir)
	}
	defer os.Remove(dir)
	vf := dir + ".vol"
	if err := os.WriteFile(vf, volfile, 0o600); err != nil {
		return errs.Wrap(errs.Internal, err, "cannot write %s", vf)
	}
	defer os.Remove(vf)

	var out bytes.Buffer
	cmd := exec.Command(m.glusterfs, "--volfile", vf, "--client-pid", addReplicaMountPID, "-l", m.logFile, "-N", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: a signal to servicemgr's group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return errs.Wrap(errs.Internal, err, "cannot run %s", m.glusterfs)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// Lazily, as glusterd does: the client exits once the mount is gone.
		_ = unix.Unmount(dir, unix.MNT_DETACH)
		select {
		case <-exited:
		case <-time.After(markMountExit):
			_ = cmd.Process.Kill()
			<-exited
			// A killed client may have mounted after the first unmount.
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	}()

	why := func(kind errs.Kind, what string, cause error) error {
		return errs.Wrap(kind, cause, "%s: %v (client log %s: %s)", what, cause, m.logFile, lastLines(m.logFile, out.String(), 3))
	}
	var last error
	for {
		var st unix.Statfs_t
		mounted := unix.Statfs(dir, &st) == nil && st.Type == fuseSuperMagic
		if mounted {
			// Only on the mount: the bare directory would take the xattr too.
			last = unix.Setxattr(dir, key, []byte(value), 0)
			switch {
			case last == nil:
				return nil
			case errors.Is(last, unix.EPERM), errors.Is(last, unix.EINVAL), errors.Is(last, unix.ENOTSUP):
				// Refused, not a graph still connecting: no point in retrying.
				return why(errs.Internal, fmt.Sprintf("setting %s on the volume's root was refused", key), last)
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return why(errs.Unavailable, "the volume's client exited before the mark was set", fmt.Errorf("%v", err))
		case <-ctx.Done():
			if !mounted {
				return why(errs.Unavailable, "the volume could not be mounted in time", ctx.Err())
			}
			return why(errs.Unavailable, fmt.Sprintf("setting %s on the volume's root failed", key), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lastLines returns the last n error or warning lines of a GlusterFS log
// file, or of out when the file has none, on one line.
func lastLines(logFile, out string, n int) string {
	b, err := os.ReadFile(logFile)
	var lines []string
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "] E [") || strings.Contains(l, "] W [") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
	}
	if len(lines) == 0 {
		lines = strings.Split(strings.TrimSpace(out), "\n")
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "empty"
	}
	return s
}

// The self-heal daemon's side of glusterd's brick-operations program.
const (
	// brickOpXlatorOp is GLUSTERD_BRICK_XLATOR_OP: pass an operation to
	// named translators of the daemon's graph.
	brickOpXlatorOp = 3
	// shdOpHealFull is GF_SHD_OP_HEAL_FULL: crawl the local bricks of a set
	// and heal everything on them into the others.
	shdOpHealFull = 2
	// The answers replicate and disperse give per brick of a set.
	statusStarted = "Started self-heal"
	statusRemote  = "Brick is remote"
)

func (h *handler) HealFull(ctx context.Context, req *servicemgrv1.HealFullRequest) (*servicemgrv1.HealFullResponse, error) {
	if err := h.authorize(ctx, "HealFull"); err != nil {
		return nil, err
	}
	if len(req.GetSets()) == 0 {
		return nil, errs.InvalidField("sets", "name at least one replicate or disperse set")
	}
	for _, s := range req.GetSets() {
		if !strings.HasPrefix(s, req.GetVolume()+"-replicate-") && !strings.HasPrefix(s, req.GetVolume()+"-disperse-") {
			return nil, errs.InvalidField("sets", "%q is not a replicate or disperse set of volume %q", s, req.GetVolume())
		}
	}
	if h.s.sup == nil {
		return nil, errs.New(errs.Precondition, "this node runs no daemons (servicemgr was started with --daemons=false)")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, markTimeout)
		defer cancel()
	}
	sock := daemons.SelfHealParams{RunDir: h.s.cfg.RunDir}.SocketFile()
	var last string
	for {
		st, ok := h.s.sup.Status(shdName)
		switch {
		case !ok || st.PID == 0 || st.State != supervisor.Running:
			last = fmt.Sprintf("the self-heal daemon is %s", st.State)
			if !ok {
				last = "this node runs no self-heal daemon"
			}
		case st.PID == int(req.GetPreviousPid()):
			last = fmt.Sprintf("the self-heal daemon (pid %d) has not been restarted for the new layout yet", st.PID)
		default:
			status, err := xlatorOp(ctx, sock, shdOpHealFull, req.GetSets())
			if err == nil {
				var waiting []string
				if waiting, err = healStarted(req.GetSets(), status); err == nil && len(waiting) == 0 {
					h.s.log.Info("full heal started", zap.String("volume", req.GetVolume()), zap.Strings("sets", req.GetSets()), zap.Int("pid", st.PID))
					return &servicemgrv1.HealFullResponse{Status: describe(req.GetSets(), status)}, nil
				}
				if err == nil {
					last = "waiting for " + strings.Join(waiting, "; ")
				}
			}
			if err != nil {
				last = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			return nil, errs.New(errs.Unavailable, "volume %s: the self-heal daemon did not start a full heal of %s: %s",
				req.GetVolume(), strings.Join(req.GetSets(), ", "), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// healStarted reads a heal answer: an error when a set is not in the
// daemon's graph or has no brick here, and the bricks it still waits for
// (not connected, or too few up to heal).
func healStarted(sets []string, status map[string]string) (waiting []string, err error) {
	for i, set := range sets {
		local := false
		for j := 0; ; j++ {
			s, ok := status[fmt.Sprintf("%d-%d-status", i, j)]
			if !ok {
				if j == 0 {
					return nil, errs.New(errs.Precondition, "set %s is not in this node's self-heal graph", set)
				}
				break
			}
			switch s {
			case statusStarted:
				local = true
			case statusRemote:
			default:
				waiting = append(waiting, fmt.Sprintf("%s brick %d: %s", set, j, s))
			}
		}
		if !local && len(waiting) == 0 {
			return nil, errs.New(errs.Precondition, "set %s has no brick on this node", set)
		}
	}
	return waiting, nil
}

// describe lists a heal answer as "<set> brick <n>: <status>".
func describe(sets []string, status map[string]string) []string {
	var out []string
	for i, set := range sets {
		for j := 0; ; j++ {
			s, ok := status[fmt.Sprintf("%d-%d-status", i, j)]
			if !ok {
				break
			}
			out = append(out, fmt.Sprintf("%s brick %d: %s", set, j, s))
		}
	}
	return out
}

// xlatorOp sends op for the translators xlators to the GlusterFS daemon
// listening on the UNIX socket sock (glusterd's brick-operations program,
// GLUSTERD_BRICK_XLATOR_OP, as `gluster volume heal` does) and returns the
// string values of its answer. The request names translator i "xl-<i>"
// and gives it the id i, which the answer's keys ("<i>-<brick>-status")
// carry.
func xlatorOp(ctx context.Context, sock string, op int, xlators []string) (map[string]string, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the self-heal daemon at %s: %w", sock, err)
	}
	defer nc.Close()
	dl, _ := ctx.Deadline()
	if t := time.Now().Add(10 * time.Second); dl.IsZero() || t.Before(dl) {
		dl = t
	}
	_ = nc.SetDeadline(dl)

	var in gluster.Dict
	add := func(k, v string) { in.Pairs = append(in.Pairs, gluster.Pair{Key: k, Value: append([]byte(v), 0)}) }
	add("xl-op", strconv.Itoa(op))
	add("count", strconv.Itoa(len(xlators)))
	for i, x := range xlators {
		add("xl-"+strconv.Itoa(i), x)
		add(x, strconv.Itoa(i))
	}
	e := xdr.NewEncoder(nil)
	e.String("")             // name
	e.Int32(brickOpXlatorOp) // op
	e.Opaque(in.Marshal())   // input
	e.Opaque(nil)            // dict
	call := &sunrpc.CallMsg{XID: 1, RPCVers: sunrpc.RPCVersion, Program: gluster.BrickOpsProgram, Version: gluster.BrickOpsVersion,
		Procedure: brickOpXlatorOp, Cred: sunrpc.NewAuthGlusterFSv2(), Args: e.Bytes()}
	if err := sunrpc.WriteRecord(nc, call.Marshal()); err != nil {
		return nil, fmt.Errorf("send to the self-heal daemon: %w", err)
	}
	rr := sunrpc.NewRecordReader(nc, 0)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return nil, fmt.Errorf("read the self-heal daemon's answer: %w", err)
		}
		m, err := sunrpc.DecodeMessage(rec)
		if err != nil {
			return nil, fmt.Errorf("decode the self-heal daemon's answer: %w", err)
		}
		if m.Reply == nil || m.Reply.XID != call.XID {
			continue
		}
		if m.Reply.AcceptStat != sunrpc.Success {
			return nil, fmt.Errorf("the self-heal daemon refused the call: %v", m.Reply.AcceptStat)
		}
		return decodeBrickOpReply(m.Reply.Results)
	}
}

// decodeBrickOpReply decodes gd1_mgmt_brick_op_rsp: op_ret, op_errno, the
// output dict and op_errstr.
func decodeBrickOpReply(b []byte) (map[string]string, error) {
	dec := xdr.NewDecoder(b)
	ret, err := dec.Int32()
	if err != nil {
		return nil, err
	}
	errno, err := dec.Int32()
	if err != nil {
		return nil, err
	}
	raw, err := dec.Opaque(gluster.MaxDictLen)
	if err != nil {
		return nil, err
	}
	msg, err := dec.String(gluster.MaxNameLen)
	if err != nil {
		return nil, err
	}
	out, err := gluster.DecodeDict(raw)
	if err != nil {
		return nil, err
	}
	vals := map[string]string{}
	for _, p := range out.Pairs {
		vals[p.Key] = string(bytes.TrimRight(p.Value, "\x00"))
	}
	// A set with no local brick answers op_ret -1 with its statuses; only
	// an answer without any is a failure of the call itself.
	if ret != 0 && len(vals) == 0 {
		return nil, fmt.Errorf("the self-heal daemon answered %d (errno %d): %s", ret, errno, msg)
	}
	return vals, nil
}
