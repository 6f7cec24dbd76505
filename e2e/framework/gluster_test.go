package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: bricks set trusted.* xattrs, FUSE mounts and stock glusterd need root")
	}
}

// stockGlusterd is an unmodified GlusterFS glusterd on one loopback address,
// the reference volfile server and portmap while ours is not ready. Its
// working, run and log directories are its own (under Dir). When mount
// namespaces work, it runs in a private one with its own directories bound
// over /var/lib/glusterd, /run/gluster and /var/log/glusterfs (glusterd 10
// writes there whatever its options say, and so does the CLI through
// gsyncd) and a private /etc/hosts mapping Addr to itself (glusterd looks up
// the name of every peer address). tools/bench/glusterd does the same for the
// benchmark; it is not imported here, to keep e2e independent of tools.
type stockGlusterd struct {
	t    *testing.T
	Addr string
	Port int // management port (24007 unless told otherwise)
	Dir  string

	WorkDir, RunDir, LogDir, SockFile, LogFile, PidFile, CLILog, OutFile string

	isolate bool
	cmd     *exec.Cmd
	done    chan struct{}
}

const stockNSScript = `set -e
hosts=$1; ns=$2; shift 2
mount --bind "$hosts" /etc/hosts
mkdir -p "$ns/var-lib-glusterd" "$ns/run-gluster" "$ns/var-log-glusterfs"
mkdir -p /var/lib/glusterd /run/gluster /var/log/glusterfs
mount --bind "$ns/var-lib-glusterd" /var/lib/glusterd
mount --bind "$ns/run-gluster" /run/gluster
mount --bind "$ns/var-log-glusterfs" /var/log/glusterfs
exec "$@"`

// canUnshareMounts reports whether a process can get a private mount
// namespace with a bind mount in it.
func canUnshareMounts() bool {
	if _, err := exec.LookPath("nsenter"); err != nil {
		return false
	}
	cmd := exec.Command("/bin/sh", "-c", "mount --bind /etc/hosts /etc/hosts")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd.Run() == nil
}

// startStockGlusterd starts glusterd on addr (port 0: 24007) and waits until
// its CLI answers. It is stopped at cleanup, with every process left that
// names its directory (the bricks it started).
func startStockGlusterd(ctx context.Context, t *testing.T, addr string, port int) *stockGlusterd {
	t.Helper()
	bin, err := GlusterBinary("glusterd")
	if err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		port = GlusterMgmtPort
	}
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("%s:%d is taken (a glusterd left running?): %v", addr, port, err)
	}
	l.Close()
	dir := t.TempDir()
	g := &stockGlusterd{
		t: t, Addr: addr, Port: port, Dir: dir,
		WorkDir:  filepath.Join(dir, "wd"),
		RunDir:   filepath.Join(dir, "run"),
		LogDir:   filepath.Join(dir, "log"),
		SockFile: filepath.Join(dir, "run", "glusterd.socket"),
		LogFile:  filepath.Join(dir, "log", "glusterd.log"),
		PidFile:  filepath.Join(dir, "glusterd.pid"),
		CLILog:   filepath.Join(dir, "log", "cli.log"),
		OutFile:  filepath.Join(dir, "glusterd.out"),
		isolate:  canUnshareMounts(),
		done:     make(chan struct{}),
	}
	for _, d := range []string{g.WorkDir, g.RunDir, g.LogDir, filepath.Join(dir, "ns")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	argv := []string{bin, "-N",
		"--xlator-option", "management.working-directory=" + g.WorkDir,
		"--xlator-option", "management.transport.socket.bind-address=" + addr,
		"--xlator-option", "management.run-directory=" + g.RunDir,
		"--xlator-option", "management.glusterd-sockfile=" + g.SockFile,
		"--xlator-option", "management.logging-directory=" + g.LogDir,
	}
	if port != GlusterMgmtPort {
		argv = append(argv, "--xlator-option", "management.transport.socket.listen-port="+strconv.Itoa(port))
	}
	argv = append(argv, "-p", g.PidFile, "-l", g.LogFile)
	t.Logf("stock glusterd: %s (private mount namespace: %v)", strings.Join(argv, " "), g.isolate)
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if g.isolate {
		hosts, _ := os.ReadFile("/etc/hosts")
		hosts = append(hosts, fmt.Sprintf("\n%s %s\n", addr, addr)...)
		hostsFile := filepath.Join(dir, "ns", "hosts")
		if err := os.WriteFile(hostsFile, hosts, 0o644); err != nil {
			t.Fatal(err)
		}
		argv = append([]string{"/bin/sh", "-c", stockNSScript, "glusterd-ns", hostsFile, filepath.Join(dir, "ns")}, argv...)
		attr.Unshareflags = syscall.CLONE_NEWNS
	}
	out, err := os.Create(g.OutFile)
	if err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Dir = dir
	g.cmd.Stdout, g.cmd.Stderr = out, out
	g.cmd.SysProcAttr = attr
	if err := g.cmd.Start(); err != nil {
		out.Close()
		t.Fatal(err)
	}
	go func() {
		_ = g.cmd.Wait()
		out.Close()
		close(g.done)
	}()
	t.Cleanup(g.stop)
	for {
		if c, err := net.Dial("unix", g.SockFile); err == nil {
			c.Close()
			if _, err := g.cli(ctx, "pool", "list"); err == nil {
				return g
			}
		}
		select {
		case <-g.done:
			t.Fatalf("glusterd exited during start-up\n%s", g.logTail())
		case <-ctx.Done():
			t.Fatalf("glusterd not ready: %v\n%s", ctx.Err(), g.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (g *stockGlusterd) logTail() string {
	lg, _ := os.ReadFile(g.LogFile)
	out, _ := os.ReadFile(g.OutFile)
	return "---- glusterd output ----\n" + tail(string(out), 1500) + "\n---- glusterd log ----\n" + tail(string(lg), 3000)
}

// cli runs the gluster CLI against this glusterd (in its mount namespace).
func (g *stockGlusterd) cli(ctx context.Context, args ...string) (string, error) {
	gluster, err := GlusterBinary("gluster")
	if err != nil {
		return "", err
	}
	argv := append([]string{gluster, "--mode=script", "--glusterd-sock=" + g.SockFile, "--log-file=" + g.CLILog}, args...)
	if g.isolate {
		argv = append([]string{"nsenter", fmt.Sprintf("--mount=/proc/%d/ns/mnt", g.cmd.Process.Pid), "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("gluster %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()+stdout.String()))
	}
	return stdout.String(), nil
}

func (g *stockGlusterd) mustCLI(ctx context.Context, args ...string) string {
	g.t.Helper()
	out, err := g.cli(ctx, args...)
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

// volumeID reads the volume's UUID from `gluster --xml volume info`.
func (g *stockGlusterd) volumeID(ctx context.Context, vol string) string {
	g.t.Helper()
	out := g.mustCLI(ctx, "--xml", "volume", "info", vol)
	m := regexp.MustCompile(`<id>([0-9a-f-]{36})</id>`).FindStringSubmatch(out)
	if m == nil {
		g.t.Fatalf("no volume id in:\n%s", out)
	}
	return m[1]
}

// uuid is glusterd's node UUID (glusterd.info).
func (g *stockGlusterd) uuid() string {
	g.t.Helper()
	b, err := os.ReadFile(filepath.Join(g.WorkDir, "glusterd.info"))
	if err != nil {
		g.t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^UUID=(\S+)`).FindSubmatch(b)
	if m == nil {
		g.t.Fatalf("no UUID in glusterd.info:\n%s", b)
	}
	return string(m[1])
}

// stop ends glusterd (SIGTERM to its group, SIGKILL after 5s) and then every
// process whose command line names its directory: the bricks it started
// (they leave its process group).
func (g *stockGlusterd) stop() {
	pgid := g.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-g.done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for _, pid := range processesMentioning(g.Dir) {
		g.t.Logf("stopping leftover process %d of glusterd %s", pid, g.Addr)
		killAndWait(pid, 5*time.Second)
	}
	if g.t.Failed() {
		g.t.Logf("glusterd %s:%d\n%s", g.Addr, g.Port, g.logTail())
	}
}

// processesMentioning lists the live processes with dir (or a path under it)
// in their command line.
func processesMentioning(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if arg == dir || strings.Contains(arg, dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// brickProcessArgs finds the glusterfsd serving brick and returns its
// arguments (without the program) and pid.
func brickProcessArgs(brick string) ([]string, int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if filepath.Base(argv[0]) == "glusterfsd" && slices.Contains(argv, "--brick-name") && argv[slices.Index(argv, "--brick-name")+1] == brick {
			return argv[1:], pid
		}
	}
	return nil, 0
}

func argValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func await(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGlusterStockVolume proves the mount, data and gfapi helpers (and the
// brick command line) against an unmodified glusterd that starts its own
// brick: a 1-brick distribute volume served from 127.1.1.201:24007.
func TestGlusterStockVolume(t *testing.T) {
	requireRoot(t)
	EnsureGluster(t)
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()

	g := startStockGlusterd(ctx, t, "127.1.1.201", 0)
	t.Logf("glusterd ready after %s", time.Since(t0).Round(time.Millisecond))
	brick := filepath.Join(g.Dir, "bricks", "b1")
	if err := os.MkdirAll(filepath.Dir(brick), 0o755); err != nil {
		t.Fatal(err)
	}
	g.mustCLI(ctx, "volume", "create", "gv0", g.Addr+":"+brick, "force")
	g.mustCLI(ctx, "volume", "start", "gv0")
	t.Logf("volume gv0 started after %s", time.Since(t0).Round(time.Millisecond))

	// The brick glusterd started has the command line BrickArgs builds for
	// the same values, but for the socket name and our -N.
	args, brickPid := brickProcessArgs(brick)
	if args == nil {
		t.Fatal("no glusterfsd process for " + brick)
	}
	t.Logf("stock glusterd's brick (pid %d): glusterfsd %s", brickPid, strings.Join(args, " "))
	port, err := strconv.Atoi(argValue(args, "--brick-port"))
	if err != nil {
		t.Fatalf("brick port: %v", err)
	}
	_, ours, err := BrickArgs(BrickSpec{VolumeName: "gv0", VolumeID: g.volumeID(ctx, "gv0"), Host: g.Addr, Path: brick,
		Port: port, NodeUUID: g.uuid(), LogDir: g.LogDir, RunDir: g.RunDir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := argValue(ours, "-S"), argValue(args, "-S"); filepath.Ext(got) != ".socket" || filepath.Ext(want) != ".socket" {
		t.Errorf("socket names: ours %s, glusterd's %s", got, want)
	}
	norm := func(a []string) []string {
		a = slices.Clone(a)
		if i := slices.Index(a, "-S"); i >= 0 {
			a[i+1] = "<socket>"
		}
		return slices.DeleteFunc(a, func(s string) bool { return s == "-N" })
	}
	if !slices.Equal(norm(ours), norm(args)) {
		t.Errorf("brick command line differs from glusterd's:\n ours:      %s\n glusterd: %s", strings.Join(norm(ours), " "), strings.Join(norm(args), " "))
	}
	if v, _ := Getxattr(brick, XattrVolumeID); !bytes.Equal(v, mustUUID(t, g.volumeID(ctx, "gv0"))) {
		t.Errorf("brick volume-id xattr %x", v)
	}

	mnt := t.TempDir()
	t1 := time.Now()
	m1, err := Mount(ctx, t, g.Addr, GlusterMgmtPort, "gv0", filepath.Join(mnt, "m1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mounted in %s, client pid %d, options %s", time.Since(t1).Round(time.Millisecond), m1.ClientPID(), m1.Options)
	if m1.ClientPID() == 0 {
		t.Error("no client pid")
	}
	t1 = time.Now()
	sums, err := WriteFiles(m1.Mountpoint, 20, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote 20 files in %s", time.Since(t1).Round(time.Millisecond))
	m2, err := Mount(ctx, t, g.Addr, GlusterMgmtPort, "gv0", filepath.Join(mnt, "m2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyFiles(m2.Mountpoint, sums); err != nil {
		t.Fatalf("second mount: %v", err)
	}
	if err := VerifyFiles(brick, sums); err != nil {
		t.Errorf("on the brick: %v", err)
	}

	// A volfile change reaches the client as a FETCHSPEC callback; the
	// client log shows the graph switch.
	if n := m1.GraphSwitches(); n != 1 {
		t.Errorf("graph switches after mount: %d, want 1", n)
	}
	g.mustCLI(ctx, "volume", "set", "gv0", "performance.quick-read", "off")
	// The FUSE bridge builds the new graph at once but switches to it on
	// the next request: keep asking.
	await(t, 20*time.Second, "graph switch after volume set", func() bool {
		_, _ = os.ReadDir(m1.Mountpoint)
		return m1.GraphSwitches() >= 2
	})
	t.Logf("client log: %s", strings.Join(regexp.MustCompile(`[^\n]*switched to graph[^\n]*`).FindAllString(m1.Log(), -1), " | "))
	if err := VerifyFiles(m1.Mountpoint, sums); err != nil {
		t.Errorf("after graph switch: %v", err)
	}

	t1 = time.Now()
	if err := GfapiReadWrite(ctx, t, g.Addr, GlusterMgmtPort, "gv0"); err != nil {
		t.Fatal(err)
	}
	t.Logf("gfapi round trip (with compile if needed) in %s", time.Since(t1).Round(time.Millisecond))

	// Tear down in order, checking each step.
	for _, m := range []*Mounted{m1, m2} {
		pid := m.ClientPID()
		if err := m.Unmount(); err != nil {
			t.Error(err)
		}
		if isMounted(m.Mountpoint) || alive(pid) {
			t.Errorf("%s: still mounted %v, client %d alive %v", m.Mountpoint, isMounted(m.Mountpoint), pid, alive(pid))
		}
	}
	g.mustCLI(ctx, "volume", "stop", "gv0")
	await(t, 10*time.Second, "brick to stop", func() bool { return !alive(brickPid) })
	t.Logf("total %s", time.Since(t0).Round(time.Millisecond))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func mustUUID(t *testing.T, s string) []byte {
	t.Helper()
	b, err := ParseUUID(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBrickStockGlusterd runs StartBrick's bricks against a stock glusterd on
// a non-default management port (127.1.1.202:24017) as volfile server and
// portmap: a brick of a volume glusterd knows (created there, never started
// by it) serves a FUSE mount, survives a restart on a new port, and a brick
// whose volfile-id glusterd does not know exits.
func TestBrickStockGlusterd(t *testing.T) {
	requireRoot(t)
	EnsureGluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	g := startStockGlusterd(ctx, t, "127.1.1.202", 24017)

	t.Run("UnknownVolfileID", func(t *testing.T) {
		t0 := time.Now()
		sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
		defer scancel()
		b, err := StartBrick(sctx, t, BrickSpec{VolumeName: "nosuch", Host: g.Addr, Path: filepath.Join(t.TempDir(), "b"),
			VolfileServerPort: g.Port})
		if err == nil {
			t.Fatalf("brick with an unknown volfile-id started: %s", b.CommandLine())
		}
		if b == nil {
			t.Fatalf("no process: %v", err)
		}
		t.Logf("command line: %s", b.CommandLine())
		if !b.Exited() {
			t.Fatalf("StartBrick failed but the brick runs: %v", err)
		}
		if lg := b.Log(); !strings.Contains(lg, "failed to fetch volume file (key:"+b.Spec.VolfileID+")") {
			t.Errorf("no failed GETSPEC in the brick log:\n%s", lg)
		}
		t.Logf("exited (%v) after %s", b.Wait(time.Second), time.Since(t0).Round(time.Millisecond))
	})

	t.Run("MountFailure", func(t *testing.T) {
		t0 := time.Now()
		mp := filepath.Join(t.TempDir(), "m")
		m, err := Mount(ctx, t, g.Addr, 24999, "gv1", mp) // nothing listens there
		if err == nil {
			t.Fatalf("mount from a port where nothing listens succeeded: %+v", m)
		}
		if isMounted(mp) {
			t.Error("still mounted after a failed mount")
		}
		if pids := processesMentioning(mp); len(pids) > 0 {
			t.Errorf("processes left: %v", pids)
		}
		t.Logf("failed in %s: %v", time.Since(t0).Round(time.Millisecond), firstLine(err.Error()))
	})

	t.Run("ServesMount", func(t *testing.T) {
		brick := filepath.Join(g.Dir, "bricks", "b1")
		if err := os.MkdirAll(filepath.Dir(brick), 0o755); err != nil {
			t.Fatal(err)
		}
		g.mustCLI(ctx, "volume", "create", "gv1", g.Addr+":"+brick, "force")
		volID := g.volumeID(ctx, "gv1")
		// glusterd prepared the directory at create; start from scratch so
		// that StartBrick prepares it.
		if err := os.RemoveAll(brick); err != nil {
			t.Fatal(err)
		}
		spec := BrickSpec{VolumeName: "gv1", VolumeID: volID, Host: g.Addr, Path: brick, VolfileServerPort: g.Port,
			NodeUUID: g.uuid(), LogDir: filepath.Join(g.Dir, "brick-log"), RunDir: filepath.Join(g.Dir, "brick-run")}
		t0 := time.Now()
		b, err := StartBrick(ctx, t, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("brick up (listening, graph active) on port %d after %s: %s", b.Port(), time.Since(t0).Round(time.Millisecond), b.CommandLine())
		if v, _ := Getxattr(brick, XattrVolumeID); !bytes.Equal(v, mustUUID(t, volID)) {
			t.Errorf("volume-id xattr %x, want %s", v, volID)
		}
		await(t, 5*time.Second, "root gfid set by posix", func() bool {
			v, _ := Getxattr(brick, XattrGfid)
			return bytes.Equal(v, RootGfid)
		})
		if st, err := os.Stat(filepath.Join(brick, ".glusterfs")); err != nil || !st.IsDir() {
			t.Errorf(".glusterfs: %v", err)
		}

		// The client fetches its volfile from 24017 (server-port=) and,
		// told so with remote-port, asks the portmap there too.
		mp := filepath.Join(t.TempDir(), "m")
		m, err := Mount(ctx, t, g.Addr, g.Port, "gv1", mp, "xlator-option=*-client-*.remote-port="+strconv.Itoa(g.Port))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Log(), "changing port to "+strconv.Itoa(b.Port())) {
			t.Errorf("client log does not show the portmap's answer (port %d)", b.Port())
		}
		sums, err := WriteFiles(m.Mountpoint, 5, 32<<10)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyFiles(brick, sums); err != nil {
			t.Fatalf("on the brick: %v", err)
		}

		// SIGTERM: the brick signs out and exits; started again, it keeps
		// its directory (same volume-id) and gets a new port, which the
		// client learns from the portmap on its next reconnect (every 3s).
		t1 := time.Now()
		b.Stop()
		if !b.Exited() {
			t.Fatal("brick still running after Stop")
		}
		t.Logf("stopped in %s", time.Since(t1).Round(time.Millisecond))
		b2, err := StartBrick(ctx, t, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("restarted on port %d (was %d)", b2.Port(), b.Port())
		t1 = time.Now()
		var werr error
		await(t, 20*time.Second, "a write through the mount after the brick restart", func() bool {
			werr = os.WriteFile(filepath.Join(m.Mountpoint, "after-restart"), []byte("hello"), 0o644)
			return werr == nil
		})
		t.Logf("client reconnected after %s", time.Since(t1).Round(time.Millisecond))
		if got, err := os.ReadFile(filepath.Join(brick, "after-restart")); err != nil || string(got) != "hello" {
			t.Errorf("after-restart on the brick: %q, %v", got, err)
		}
		if err := VerifyFiles(m.Mountpoint, sums); err != nil {
			t.Error(err)
		}
		b2.Kill()
		if !b2.Exited() {
			t.Error("brick still running after Kill")
		}

		// A busy mount (an open file) refuses umount: Unmount falls back to
		// a lazy unmount and kills the client.
		f, err := os.Open(filepath.Join(m.Mountpoint, "after-restart"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pid := m.ClientPID()
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount of a busy mount: %v", err)
		}
		if isMounted(m.Mountpoint) || alive(pid) {
			t.Errorf("busy mount: still mounted %v, client %d alive %v", isMounted(m.Mountpoint), pid, alive(pid))
		}

		// Another volume's id on this directory is refused.
		other := spec
		other.VolumeID = NewUUID()
		if _, err := StartBrick(ctx, t, other); err == nil || !strings.Contains(err.Error(), "mismatching volume-id") {
			t.Errorf("brick with another volume id: %v", err)
		}
	})
}

// TestBrickArgs checks the brick command line without running anything.
func TestBrickArgs(t *testing.T) {
	spec := BrickSpec{VolumeName: "gv0", VolumeID: "9ad8c7b6-22c0-4f19-bfcc-19c8d7eb49e2", Host: "127.1.1.1",
		Path: "/tmp/gbrick/b1/", Port: 52636, NodeUUID: "cec97d91-aebb-4752-9b57-0df614b3828e",
		LogDir: "/l", RunDir: "/r"}
	s, args, err := BrickArgs(spec)
	if err != nil {
		t.Fatal(err)
	}
	sock := args[slices.Index(args, "-S")+1]
	want := []string{"-s", "127.1.1.1", "--volfile-id", "gv0.127.1.1.1.tmp-gbrick-b1",
		"-p", "/r/vols/gv0/127.1.1.1-tmp-gbrick-b1.pid", "-S", sock, "--brick-name", "/tmp/gbrick/b1",
		"-l", "/l/bricks/tmp-gbrick-b1.log", "--xlator-option", "*-posix.glusterd-uuid=cec97d91-aebb-4752-9b57-0df614b3828e",
		"--process-name", "brick", "--brick-port", "52636", "--xlator-option", "gv0-server.listen-port=52636",
		"--xlator-option", "transport.socket.bind-address=127.1.1.1", "-N"}
	if !slices.Equal(args, want) {
		t.Errorf("args\n got %q\nwant %q", args, want)
	}
	if !regexp.MustCompile(`^/r/[0-9a-f]{16}\.socket$`).MatchString(sock) {
		t.Errorf("socket %s", sock)
	}
	if s.VolfileServer != "127.1.1.1" || s.Path != "/tmp/gbrick/b1" {
		t.Errorf("defaults: %+v", s)
	}

	spec.VolfileServer, spec.VolfileServerPort, spec.ListenAll, spec.VolfileID = "127.0.0.9", 24017, true, "custom"
	_, args, err = BrickArgs(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(args[:6], []string{"-s", "127.0.0.9", "--volfile-server-port", "24017", "--volfile-id", "custom"}) ||
		slices.Contains(args, "transport.socket.bind-address=127.1.1.1") {
		t.Errorf("args %q", args)
	}
	spec.VolfileServerPort = GlusterMgmtPort
	if _, args, _ = BrickArgs(spec); slices.Contains(args, "--volfile-server-port") {
		t.Errorf("--volfile-server-port given for the default port: %q", args)
	}
	spec.VolumeID = ""
	if s, _, err = BrickArgs(spec); err != nil || len(s.VolumeID) != 36 {
		t.Errorf("generated volume id %q: %v", s.VolumeID, err)
	}
	if _, _, err := BrickArgs(BrickSpec{VolumeName: "v", Host: "h", Path: "rel", Port: 1, LogDir: "/l", RunDir: "/r"}); err == nil {
		t.Error("relative brick path accepted")
	}
	if got := DashedPath("/a/b/c/"); got != "a-b-c" {
		t.Errorf("DashedPath %q", got)
	}
}

// TestBrickPrepareDir checks the brick directory preparation (trusted.*
// xattrs need root).
func TestBrickPrepareDir(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "bricks", "b1")
	id := NewUUID()
	if err := PrepareBrickDir(dir, id, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := Getxattr(dir, XattrVolumeID); !bytes.Equal(v, mustUUID(t, id)) {
		t.Errorf("volume-id %x, want %s", v, id)
	}
	if v, _ := Getxattr(dir, "trusted.glusterfs.test"); v != nil {
		t.Error("test xattr left behind")
	}
	if st, err := os.Stat(filepath.Join(dir, ".glusterfs")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf(".glusterfs: %v %v", st.Mode(), err)
	}
	if err := PrepareBrickDir(dir, id, false); err != nil {
		t.Errorf("same volume again: %v", err)
	}
	other := NewUUID()
	if err := PrepareBrickDir(dir, other, false); err == nil || !strings.Contains(err.Error(), "mismatching volume-id") {
		t.Errorf("other volume: %v", err)
	}
	if err := PrepareBrickDir(filepath.Join(dir, "sub"), other, false); err == nil || !strings.Contains(err.Error(), "already part of a volume") {
		t.Errorf("inside a brick: %v", err)
	}
	if err := PrepareBrickDir(dir, other, true); err != nil {
		t.Errorf("force: %v", err)
	}
	if v, _ := Getxattr(dir, XattrVolumeID); !bytes.Equal(v, mustUUID(t, other)) {
		t.Errorf("forced volume-id %x, want %s", v, other)
	}
	if err := PrepareBrickDir(dir, "not-a-uuid", false); err == nil {
		t.Error("bad uuid accepted")
	}
}

func TestGlusterWriteVerifyFiles(t *testing.T) {
	dir := t.TempDir()
	sums, err := WriteFiles(dir, 3, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 3 {
		t.Fatalf("%d sums", len(sums))
	}
	if err := VerifyFiles(dir, sums); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file-0001.bin"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "file-0002.bin")); err != nil {
		t.Fatal(err)
	}
	err = VerifyFiles(dir, sums)
	if err == nil || !strings.Contains(err.Error(), "file-0001.bin: sha256") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VerifyFiles after damage: %v", err)
	}
}
