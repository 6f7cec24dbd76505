// Package glusterd runs stock GlusterFS glusterd instances as a benchmark
// baseline: several glusterd on one host, each bound to its own loopback
// address (127.1.1.N) with its own working, run and log directories, the way
// GlusterFS's own test framework (tests/cluster.rc) runs a multi-node cluster
// on one machine.
//
// Each instance is launched in the foreground (-N) in its own process group,
// so Stop can end it and anything it spawned (glusterd runs gsyncd several
// times while it initialises) without leaving orphans behind.
//
// The working directory (glusterd.info, peers/, vols/, ...) is per instance,
// and so are the run directory, the CLI socket and every log
// (logging-directory plus the CLI's --log-file). Two things the options cannot
// reach, so by default (Isolate) each glusterd runs in a private mount
// namespace with per-instance directories bind-mounted over the global ones:
//
//   - glusterd 10 hardcodes /var/lib/glusterd/ss_brick and /run/gluster/snaps
//     (created at every start), and gsyncd, which glusterd runs at start and
//     the gluster CLI runs on every invocation (`gsyncd --version`), writes
//     /var/lib/glusterd/geo-replication/gsyncd_template.conf (the CLI is
//     therefore run inside glusterd's namespace too, with nsenter);
//   - glusterd resolves the address of every incoming peer connection back to
//     a name (getnameinfo), so with an unreachable or slow DNS server each peer
//     addition can stall for the resolver timeout (5 s here, intermittently). A
//     private /etc/hosts that maps each 127.1.1.N to itself answers those
//     lookups locally with the answer glusterd would use anyway (the address).
package glusterd

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AddrPrefix is the loopback prefix; instance N listens on AddrPrefix+N.
const AddrPrefix = "127.1.1."

// MgmtPort is glusterd's management port. Every instance uses it, each on its
// own address; the CLI's "peer probe" has no port argument, so it cannot be
// moved per instance.
const MgmtPort = 24007

// MaxInstances is how many instances fit in 127.1.1.1 .. 127.1.1.254.
const MaxInstances = 254

// maxSockPath is the room in sockaddr_un.sun_path (108 bytes with its NUL).
const maxSockPath = 107

var (
	// PollInterval is the pause between two readiness or peer-state polls.
	PollInterval = 20 * time.Millisecond
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	StopTimeout = 5 * time.Second
	// StartParallelism bounds how many instances StartCluster launches at
	// once; glusterd's start-up is CPU bound (it runs gsyncd, a Python
	// program, about ten times), so more than a few per core only adds
	// contention.
	StartParallelism = 2 * runtime.NumCPU()
	// Isolate is the default for Instance.Isolate (see the package comment).
	Isolate = true
)

// nsScript runs inside the new mount namespace: bind the private hosts file
// and directories, then exec the program (glusterd keeps the same pid).
const nsScript = `set -e
hosts=$1; ns=$2; shift 2
mount --bind "$hosts" /etc/hosts
mkdir -p /var/lib/glusterd /run/gluster /var/log/glusterfs "$ns/var-lib-glusterd" "$ns/run-gluster" "$ns/var-log-glusterfs"
mount --bind "$ns/var-lib-glusterd" /var/lib/glusterd
mount --bind "$ns/run-gluster" /run/gluster
mount --bind "$ns/var-log-glusterfs" /var/log/glusterfs
exec "$@"`

// binary finds a GlusterFS program on PATH or in /usr/sbin (not on every
// user's PATH).
func binary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin (Debian: apt-get install glusterfs-server glusterfs-client)", name)
}

// Available reports why stock glusterd cannot be run here, or nil if it can:
// the glusterd and gluster binaries must exist, the process must be root
// (glusterd creates /var/lib/glusterd/ss_brick and /run/gluster/snaps
// unconditionally and binds peer connections to ports below 1024), and
// 127.1.1.1 must be bindable.
func Available() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("stock glusterd baseline runs on Linux only (this is %s)", runtime.GOOS)
	}
	for _, name := range []string{"glusterd", "gluster"} {
		if _, err := binary(name); err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("stock glusterd needs root: it creates /var/lib/glusterd/ss_brick and /run/gluster/snaps whatever its options say")
	}
	l, err := net.Listen("tcp", AddrPrefix+"1:0")
	if err != nil {
		return fmt.Errorf("cannot bind loopback address %s1: %w", AddrPrefix, err)
	}
	_ = l.Close()
	if Isolate {
		if _, err := exec.LookPath("nsenter"); err != nil {
			return fmt.Errorf("nsenter (util-linux) is needed to run the CLI of an isolated glusterd (or set glusterd.Isolate = false): %w", err)
		}
		// Bind /etc/hosts over itself in a throwaway namespace.
		cmd := exec.Command("/bin/sh", "-c", "mount --bind /etc/hosts /etc/hosts")
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cannot run glusterd in a private mount namespace (set glusterd.Isolate = false to run without): %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Version returns the first line of `glusterd --version`, e.g. "glusterfs 10.3".
func Version() (string, error) {
	bin, err := binary("glusterd")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("glusterd --version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line), nil
}

// Instance is one glusterd on 127.1.1.Index (or the address given to
// NewInstanceAt) with everything it writes under Dir.
type Instance struct {
	Index    int    // 1-based; the address is 127.1.1.Index unless NewInstanceAt set another
	Addr     string // 127.1.1.Index, or NewInstanceAt's address
	Dir      string // <base>/<Index>
	WorkDir  string // management.working-directory (glusterd.info, peers/, vols/)
	RunDir   string // management.run-directory (pid files of the services it would spawn)
	LogDir   string // management.logging-directory (cmd_history.log, bricks/, geo-replication/)
	SockFile string // management.glusterd-sockfile, where the CLI talks to it
	LogFile  string // glusterd's own log (-l)
	PidFile  string // --pid-file
	CLILog   string // the gluster CLI's --log-file
	OutFile  string // glusterd's stdout and stderr
	// Isolate runs glusterd in a private mount namespace with HostsFile on
	// /etc/hosts and NSDir/<name> on /var/lib/glusterd, /run/gluster and
	// /var/log/glusterfs. Set before Start.
	Isolate   bool
	NSDir     string
	HostsFile string

	GlusterdBin string
	GlusterBin  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	waitErr error
}

// NewInstance describes instance index (1..254) under baseDir. It starts
// nothing and creates nothing.
func NewInstance(baseDir string, index int) (*Instance, error) {
	if index < 1 || index > MaxInstances {
		return nil, fmt.Errorf("instance index %d out of range 1..%d", index, MaxInstances)
	}
	base, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, err
	}
	gd, err := binary("glusterd")
	if err != nil {
		return nil, err
	}
	cli, err := binary("gluster")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, strconv.Itoa(index))
	in := &Instance{
		Index:       index,
		Addr:        AddrPrefix + strconv.Itoa(index),
		Dir:         dir,
		WorkDir:     filepath.Join(dir, "wd"),
		RunDir:      filepath.Join(dir, "run"),
		LogDir:      filepath.Join(dir, "log"),
		SockFile:    filepath.Join(dir, "run", "glusterd.socket"),
		LogFile:     filepath.Join(dir, "log", "glusterd.log"),
		PidFile:     filepath.Join(dir, "glusterd.pid"),
		CLILog:      filepath.Join(dir, "log", "cli.log"),
		OutFile:     filepath.Join(dir, "glusterd.out"),
		Isolate:     Isolate,
		NSDir:       filepath.Join(dir, "ns"),
		HostsFile:   filepath.Join(dir, "ns", "hosts"),
		GlusterdBin: gd,
		GlusterBin:  cli,
	}
	if len(in.SockFile) > maxSockPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, more than a unix socket allows (%d): use a shorter base directory", in.SockFile, len(in.SockFile), maxSockPath)
	}
	return in, nil
}

// NewInstanceAt is NewInstance with the instance listening on addr, any
// IPv4 loopback address (e.g. 127.1.5.1, away from the 127.1.1.x the tests
// use), instead of 127.1.1.index; index still names its directory.
func NewInstanceAt(baseDir string, index int, addr string) (*Instance, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("instance address %q is not an IPv4 loopback address", addr)
	}
	in, err := NewInstance(baseDir, index)
	if err != nil {
		return nil, err
	}
	in.Addr = ip.String()
	return in, nil
}

// Args is glusterd's command line (without the program name).
func (in *Instance) Args() []string {
	return []string{
		"-N", // stay in the foreground: we own the process
		"--xlator-option", "management.working-directory=" + in.WorkDir,
		"--xlator-option", "management.transport.socket.bind-address=" + in.Addr,
		"--xlator-option", "management.run-directory=" + in.RunDir,
		"--xlator-option", "management.glusterd-sockfile=" + in.SockFile,
		"--xlator-option", "management.logging-directory=" + in.LogDir,
		"--log-file=" + in.LogFile,
		"--pid-file=" + in.PidFile,
	}
}

// argv is the program and arguments Start runs.
func (in *Instance) argv() []string {
	return in.wrap(append([]string{in.GlusterdBin}, in.Args()...))
}

// wrap prefixes argv with the namespace script when the instance is isolated.
func (in *Instance) wrap(argv []string) []string {
	if !in.Isolate {
		return argv
	}
	return append([]string{"/bin/sh", "-c", nsScript, "glusterd-ns", in.HostsFile, in.NSDir}, argv...)
}

// command builds the glusterd exec.Cmd, in a new mount namespace when
// isolated. Go makes / recursively private in that namespace, so the bind
// mounts stay invisible outside and vanish with the process.
func (in *Instance) command() *exec.Cmd {
	argv := in.argv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if in.Isolate {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	}
	return cmd
}

// CommandLine is the command line Start runs, for reports; when isolated it
// is the namespace wrapper (with its script elided) followed by glusterd's.
func (in *Instance) CommandLine() string {
	a := in.argv()
	if in.Isolate {
		a = append([]string{"[unshare(CLONE_NEWNS)]", a[0], a[1], "'<bind mounts; exec>'"}, a[3:]...)
	}
	return strings.Join(a, " ")
}

// writeHosts writes the private /etc/hosts: the real one plus every
// instance address mapped to itself.
func (in *Instance) writeHosts() error {
	if err := os.MkdirAll(in.NSDir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	if orig, err := os.ReadFile("/etc/hosts"); err == nil {
		b.Write(orig)
		b.WriteString("\n")
	} else {
		b.WriteString("127.0.0.1 localhost\n")
	}
	b.WriteString("# glusterd bench: answer reverse lookups of the instance addresses locally\n")
	prefixes := []string{AddrPrefix}
	// An instance placed elsewhere (NewInstanceAt) has its peers in its own /24.
	if p := in.Addr[:strings.LastIndexByte(in.Addr, '.')+1]; p != AddrPrefix {
		prefixes = append(prefixes, p)
	}
	for _, p := range prefixes {
		for k := 1; k <= MaxInstances; k++ {
			fmt.Fprintf(&b, "%s%d %s%d\n", p, k, p, k)
		}
	}
	return os.WriteFile(in.HostsFile, []byte(b.String()), 0o644)
}

// PID is glusterd's process id, 0 when it is not running.
func (in *Instance) PID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cmd == nil || in.cmd.Process == nil {
		return 0
	}
	return in.cmd.Process.Pid
}

// exited reports whether the started process has ended, with its wait error.
func (in *Instance) exited() (bool, error) {
	in.mu.Lock()
	done := in.done
	in.mu.Unlock()
	if done == nil {
		return true, errors.New("not started")
	}
	select {
	case <-done:
		in.mu.Lock()
		defer in.mu.Unlock()
		return true, in.waitErr
	default:
		return false, nil
	}
}

// Start launches glusterd and waits (bounded by ctx) until it answers
// `gluster pool list` on its socket. On failure the process is stopped and the
// error carries the end of its log.
func (in *Instance) Start(ctx context.Context) error {
	in.mu.Lock()
	if in.cmd != nil {
		in.mu.Unlock()
		return fmt.Errorf("instance %d already started", in.Index)
	}
	in.mu.Unlock()

	// A system glusterd (glusterd.service listens on *:24007) or an orphan
	// from an earlier run would make this one fail to bind; say so plainly.
	l, err := net.Listen("tcp", net.JoinHostPort(in.Addr, strconv.Itoa(MgmtPort)))
	if err != nil {
		return fmt.Errorf("instance %d: %s:%d is taken (a system glusterd on *:%d, or one left running?): %w", in.Index, in.Addr, MgmtPort, MgmtPort, err)
	}
	_ = l.Close()

	for _, d := range []string{in.WorkDir, in.RunDir, in.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(in.OutFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if in.Isolate {
		if err := in.writeHosts(); err != nil {
			out.Close()
			return err
		}
	}
	cmd := in.command()
	cmd.Dir = in.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr.Setpgid = true              // its own group, so Stop reaches gsyncd children too
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // and it dies with us if we are killed
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("instance %d: start glusterd: %w", in.Index, err)
	}
	done := make(chan struct{})
	in.mu.Lock()
	in.cmd, in.done, in.waitErr = cmd, done, nil
	in.mu.Unlock()
	go func() {
		err := cmd.Wait()
		out.Close()
		in.mu.Lock()
		in.waitErr = err
		in.mu.Unlock()
		close(done)
	}()

	if err := in.waitReady(ctx); err != nil {
		_ = in.Stop()
		return fmt.Errorf("instance %d (%s): %w%s", in.Index, in.Addr, err, in.logTail())
	}
	return nil
}

// waitReady waits for the CLI socket to accept connections, then for
// `pool list` to succeed (the CLI blocks while glusterd finishes its init).
func (in *Instance) waitReady(ctx context.Context) error {
	for {
		if gone, err := in.exited(); gone {
			return fmt.Errorf("glusterd exited during start-up: %v", err)
		}
		c, err := net.DialTimeout("unix", in.SockFile, time.Second)
		if err == nil {
			c.Close()
			if _, err := in.Pool(ctx); err == nil {
				return nil
			} else if ctx.Err() != nil {
				return fmt.Errorf("not ready: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(PollInterval):
		}
	}
}

func (in *Instance) logTail() string {
	var s string
	for _, f := range []string{in.OutFile, in.LogFile} {
		b, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 8 {
			lines = lines[len(lines)-8:]
		}
		s += "\n--- " + f + " (end) ---\n" + strings.Join(lines, "\n")
	}
	return s
}

// Stop ends glusterd (SIGTERM to its process group, SIGKILL after
// StopTimeout), waits for it, and kills anything still running whose command
// line names this instance's directory (e.g. a brick process, which would have
// left the group with setsid). Stopping a stopped instance is a no-op.
func (in *Instance) Stop() error {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pgid := cmd.Process.Pid
	var errs []error
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("instance %d: glusterd pid %d did not exit after SIGKILL", in.Index, pgid))
		}
	}
	// Members of the group that outlived the leader (none expected).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	pids, err := Processes(in.Dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	in.mu.Lock()
	if in.cmd == cmd {
		in.cmd, in.done = nil, nil
	}
	in.mu.Unlock()
	return errors.Join(errs...)
}

// CLIArgs is the gluster command line CLI runs (before any namespace wrapper).
func (in *Instance) CLIArgs(args ...string) []string {
	return append([]string{in.GlusterBin, "--mode=script", "--glusterd-sock=" + in.SockFile, "--log-file=" + in.CLILog}, args...)
}

// CLI runs `gluster --mode=script --glusterd-sock=<socket> --log-file=<cli
// log> args...` against this instance and returns its standard output. A
// non-zero exit is an error carrying both outputs. When isolated it runs in
// glusterd's mount namespace (through nsenter): every gluster invocation runs
// `gsyncd --version`, which creates
// /var/lib/glusterd/geo-replication/gsyncd_template.conf.
func (in *Instance) CLI(ctx context.Context, args ...string) (string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	argv := in.CLIArgs(args...)
	if in.Isolate {
		pid := in.PID()
		if pid == 0 {
			return "", fmt.Errorf("instance %d: not running (an isolated instance's CLI runs in glusterd's namespace)", in.Index)
		}
		argv = append([]string{"nsenter", fmt.Sprintf("--mount=/proc/%d/ns/mnt", pid), "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String() + "\n" + stdout.String())
		return stdout.String(), fmt.Errorf("instance %d: gluster %s: %w: %s", in.Index, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// Peer is one entry of `gluster --xml peer status` or `pool list`.
type Peer struct {
	UUID      string   `xml:"uuid"`
	Hostname  string   `xml:"hostname"`
	Hostnames []string `xml:"hostnames>hostname"`
	Connected int      `xml:"connected"`
	State     int      `xml:"state"`
	StateStr  string   `xml:"stateStr"`
}

// InCluster is the XML form of "State: Peer in Cluster (Connected)".
func (p Peer) InCluster() bool { return p.Connected == 1 && p.StateStr == "Peer in Cluster" }

type cliOutput struct {
	OpRet    int    `xml:"opRet"`
	OpErrno  int    `xml:"opErrno"`
	OpErrstr string `xml:"opErrstr"`
	Output   string `xml:"output"`
	Peers    []Peer `xml:"peerStatus>peer"`
}

func (in *Instance) xmlCLI(ctx context.Context, args ...string) (*cliOutput, error) {
	out, err := in.CLI(ctx, append([]string{"--xml"}, args...)...)
	if err != nil {
		return nil, err
	}
	var o cliOutput
	if err := xml.Unmarshal([]byte(out), &o); err != nil {
		return nil, fmt.Errorf("instance %d: gluster %s: parse XML: %w", in.Index, strings.Join(args, " "), err)
	}
	if o.OpRet != 0 {
		return &o, fmt.Errorf("instance %d: gluster %s: opRet %d errno %d: %s", in.Index, strings.Join(args, " "), o.OpRet, o.OpErrno, o.OpErrstr)
	}
	return &o, nil
}

// Peers is `gluster peer status`: the other members as this instance sees them.
func (in *Instance) Peers(ctx context.Context) ([]Peer, error) {
	o, err := in.xmlCLI(ctx, "peer", "status")
	if err != nil {
		return nil, err
	}
	return o.Peers, nil
}

// Pool is `gluster pool list`: the peers plus this instance (as "localhost").
func (in *Instance) Pool(ctx context.Context) ([]Peer, error) {
	o, err := in.xmlCLI(ctx, "pool", "list")
	if err != nil {
		return nil, err
	}
	return o.Peers, nil
}

// UUID is the identity glusterd keeps in <working dir>/glusterd.info
// ("UUID=..."). glusterd generates it on first need (in practice the first
// CLI request), so it is there once Start has returned.
func (in *Instance) UUID() (string, error) {
	b, err := os.ReadFile(filepath.Join(in.WorkDir, "glusterd.info"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "UUID="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no UUID in %s", filepath.Join(in.WorkDir, "glusterd.info"))
}

// Memory is a process's resident memory in bytes.
type Memory struct {
	RSS int64 // VmRSS: resident, shared library pages counted in full
	PSS int64 // Pss: shared pages divided among the processes that map them
}

// Memory reads glusterd's RSS and PSS from /proc.
func (in *Instance) Memory() (Memory, error) {
	pid := in.PID()
	if pid == 0 {
		return Memory{}, fmt.Errorf("instance %d not running", in.Index)
	}
	var m Memory
	var err error
	if m.RSS, err = procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"); err != nil {
		return m, err
	}
	m.PSS, err = procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	return m, err
}

func procKB(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("%s: no %s line", path, key)
}

// Processes lists the pids of running processes whose command line mentions
// dir (as a path: dir itself or dir/...), e.g. the glusterd, gsyncd or gluster
// processes of instances under that directory. Zombies are left out.
func Processes(dir string) ([]int, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 { // gone, or a zombie/kernel thread
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if mentions(arg, dir) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

func mentions(arg, dir string) bool {
	for i := strings.Index(arg, dir); i >= 0; {
		end := i + len(dir)
		if end == len(arg) || arg[end] == '/' {
			return true
		}
		j := strings.Index(arg[end:], dir)
		if j < 0 {
			return false
		}
		i = end + j
	}
	return false
}
