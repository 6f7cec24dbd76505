package framework

// The self-heal daemon (stock glusterfs) and the heal index of bricks.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
)

// GetSpec asks the volfile server at addr ("host:port") for the volfile of
// key, as a GlusterFS process does at start (HNDSK GETSPEC on a fresh
// connection), and returns the reply: OpRet is the volfile's length, or -1
// with OpErrno.
func GetSpec(ctx context.Context, addr, key string) (gluster.GetSpecReply, error) {
	var reply gluster.GetSpecReply
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return reply, err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	call := &sunrpc.CallMsg{XID: 1, RPCVers: 2, Program: gluster.HandshakeProgram, Version: gluster.HandshakeVersion,
		Procedure: gluster.HandshakeProcGetSpec, Cred: sunrpc.NewAuthGlusterFSv2(), Args: (&gluster.GetSpecRequest{Key: key}).Marshal()}
	if err := sunrpc.WriteRecord(nc, call.Marshal()); err != nil {
		return reply, err
	}
	rr := sunrpc.NewRecordReader(nc, 0)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return reply, err
		}
		m, err := sunrpc.DecodeMessage(rec)
		if err != nil {
			return reply, err
		}
		if m.Reply == nil || m.Reply.XID != call.XID {
			continue // a callback
		}
		if m.Reply.AcceptStat != sunrpc.Success {
			return reply, fmt.Errorf("GETSPEC %s: %v", key, m.Reply.AcceptStat)
		}
		return reply, reply.Unmarshal(m.Reply.Results)
	}
}

// PendingHeals lists the entries of a brick's heal index
// (<brick>/.glusterfs/indices/xattrop) other than the xattrop-<uuid> base
// file the others are hard links to: one gfid per file or directory that
// replicate or disperse still has to heal. A brick without an index yet has
// none pending.
func PendingHeals(brick string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(brick, ".glusterfs", "indices", "xattrop"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "xattrop-") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// SelfHealProc is a running (or finished) self-heal daemon.
type SelfHealProc struct {
	// Bin and Args are the program and its arguments.
	Bin  string
	Args []string
	// LogFile is the daemon's log (its -l); OutFile its standard output and error.
	LogFile, OutFile string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// StartSelfHeal runs the self-heal daemon, `glusterfs args...` (args must
// keep it in the foreground, -N, and name its log with -l logFile), stopped
// at test cleanup. It creates the directories of logFile and of the pid file
// (-p); glusterfs removes a stale unix socket (-S) itself. It returns once
// the daemon has its graph (the log shows "Final graph:"), or with an error
// (and the process, for its Log) if it ends first or ctx ends (without a
// deadline, after 60s).
func StartSelfHeal(ctx context.Context, tb testing.TB, args []string, logFile string) (*SelfHealProc, error) {
	tb.Helper()
	EnsureGluster(tb)
	bin, err := GlusterBinary("glusterfs")
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	dirs := []string{filepath.Dir(logFile)}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-p" {
			dirs = append(dirs, filepath.Dir(args[i+1]))
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	p := &SelfHealProc{Bin: bin, Args: args, LogFile: logFile, OutFile: strings.TrimSuffix(logFile, ".log") + ".out", done: make(chan struct{})}
	var logStart int64
	if st, err := os.Stat(logFile); err == nil {
		logStart = st.Size()
	}
	out, err := os.OpenFile(p.OutFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start glusterfs: %w", err)
	}
	go func() {
		err := p.cmd.Wait()
		out.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("---- self-heal daemon (%s) log ----\n%s", p.CommandLine(), tail(p.Log(), 6000))
		}
	})
	for {
		if graphActive(logFile, logStart) {
			return p, nil
		}
		select {
		case <-p.done:
			return p, fmt.Errorf("self-heal daemon exited (%v) before it had a graph; log:\n%s", p.exitErr(), tail(p.Log(), 3000))
		case <-ctx.Done():
			return p, fmt.Errorf("self-heal daemon has no graph: %w; log:\n%s", ctx.Err(), tail(p.Log(), 3000))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// CommandLine is the daemon's command line, for logs and reports.
func (p *SelfHealProc) CommandLine() string { return p.Bin + " " + strings.Join(p.Args, " ") }

// Pid is the daemon's process id.
func (p *SelfHealProc) Pid() int { return p.cmd.Process.Pid }

// Wait waits up to timeout for the daemon to end and returns its exit error
// (nil for status 0), or an error if it is still running.
func (p *SelfHealProc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		return fmt.Errorf("self-heal daemon %d still running after %s", p.Pid(), timeout)
	}
}

// Exited reports whether the daemon has ended.
func (p *SelfHealProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop stops the daemon (SIGTERM, SIGKILL after 15s) and waits for it.
func (p *SelfHealProc) Stop() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *SelfHealProc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Log returns the daemon's log, followed by its standard output and error
// if it wrote any.
func (p *SelfHealProc) Log() string {
	lg, _ := os.ReadFile(p.LogFile)
	if out, _ := os.ReadFile(p.OutFile); len(strings.TrimSpace(string(out))) > 0 {
		return string(lg) + "\n---- stdout/stderr ----\n" + string(out)
	}
	return string(lg)
}
