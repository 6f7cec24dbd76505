package servicemgr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	servicemgrv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/servicemgr/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/services/servicemgr/internal/supervisor"
)

// defaultStatedumpDir is where GlusterFS daemons write statedumps unless
// the volume sets server.statedump-path.
const defaultStatedumpDir = "/var/run/gluster"

// statedumpWait bounds how long a daemon gets to write its dump.
const statedumpWait = 15 * time.Second

// statedump sends SIGUSR1 to the running daemons req selects and waits for
// each one's dump file (<name>.<pid>.dump.<time> in dir) to be complete.
func statedump(ctx context.Context, daemons []supervisor.Status, dir string, req *servicemgrv1.StatedumpRequest) ([]*servicemgrv1.StatedumpFile, error) {
	var targets []supervisor.Status
	for _, st := range daemons {
		switch {
		case st.Kind == kindBrick && st.Volume == req.Volume && (req.BrickId == "" || req.BrickId == st.BrickID):
		case st.Kind == kindShd && req.SelfHeal:
		default:
			continue
		}
		if st.PID == 0 {
			return nil, errs.New(errs.Precondition, "daemon %s is %s, not running", st.Name, st.State)
		}
		targets = append(targets, st)
	}
	if len(targets) == 0 {
		what := "no brick of volume " + req.Volume
		if req.BrickId != "" {
			what = "no brick " + req.BrickId + " of volume " + req.Volume
		}
		return nil, errs.New(errs.NotFound, "%s runs on this node", what)
	}
	// glusterfs writes into the directory but does not create it.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "create the statedump directory %s", dir)
	}
	since := time.Now().Add(-time.Second)
	for _, st := range targets {
		if err := syscall.Kill(st.PID, syscall.SIGUSR1); err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "signal daemon %s (pid %d)", st.Name, st.PID)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, statedumpWait)
	defer cancel()
	out := make([]*servicemgrv1.StatedumpFile, 0, len(targets))
	for _, st := range targets {
		path, err := awaitDump(ctx, dir, st.PID, since)
		if err != nil {
			return nil, errs.Wrap(errs.Timeout, err, "daemon %s (pid %d) wrote no statedump into %s", st.Name, st.PID, dir)
		}
		out = append(out, &servicemgrv1.StatedumpFile{Daemon: st.Name, Pid: int32(st.PID), Path: path})
	}
	return out, nil
}

// awaitDump waits for the newest dump of pid in dir written after since to
// stop growing.
func awaitDump(ctx context.Context, dir string, pid int, since time.Time) (string, error) {
	var last string
	var lastSize int64 = -1
	for {
		matches, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("*.%d.dump.*", pid)))
		var newest string
		var newestAt time.Time
		var size int64
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err == nil && fi.ModTime().After(since) && fi.ModTime().After(newestAt) {
				newest, newestAt, size = m, fi.ModTime(), fi.Size()
			}
		}
		if newest != "" && newest == last && size == lastSize && size > 0 {
			return newest, nil
		}
		last, lastSize = newest, size
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
