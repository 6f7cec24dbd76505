package framework

// Stock GlusterFS 10.3 processes for end-to-end tests: brick processes
// (glusterfsd) started the way glusterd starts them, FUSE mounts, a libgfapi
// round trip, and data checks. None of it depends on a glusterd: the volfile
// server and portmap (TCP 24007 by default) can be stock glusterd or ours.
//
// Everything here needs root in practice (trusted.* xattrs on bricks, FUSE
// mounts); EnsureGluster skips the test otherwise.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// GlusterMgmtPort is the GlusterFS management port (volfiles, portmap).
	GlusterMgmtPort = 24007
	// BrickPortMin and BrickPortMax bound the ports StartBrick picks, as
	// glusterd does (base-port 49152, Debian's max-port 60999).
	BrickPortMin = 49152
	BrickPortMax = 60999

	// Extended attributes of a brick's root directory.
	XattrVolumeID = "trusted.glusterfs.volume-id"
	XattrGfid     = "trusted.gfid"
	xattrTest     = "trusted.glusterfs.test"

	fuseSuperMagic = 0x65735546
	maxSockPath    = 107 // sun_path is 108 bytes with its NUL
	xattrCreate    = 1   // XATTR_CREATE
)

// RootGfid is the value posix writes as trusted.gfid on a brick's root.
var RootGfid = []byte{15: 1}

// glusterPackages are the Debian packages that provide glusterfsd, glusterfs,
// mount.glusterfs, glusterd and the gluster CLI.
var glusterPackages = []string{"glusterfs-server", "glusterfs-client"}

// GlusterBinary finds a GlusterFS program on PATH or in the sbin directories
// (not on every user's PATH).
func GlusterBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin", name)
}

// ensured caches the outcome of an environment check, so that it runs once
// per test process.
type ensured struct {
	done bool
	skip string // reason to skip, if any
	err  error  // reason to fail, if any
}

var (
	ensureMu      sync.Mutex
	ensureResults = map[string]*ensured{}
)

func ensure(tb testing.TB, key string, check func(tb testing.TB) (skip string, err error)) {
	tb.Helper()
	ensureMu.Lock()
	r := ensureResults[key]
	if r == nil {
		r = &ensured{}
		ensureResults[key] = r
	}
	if !r.done {
		r.skip, r.err = check(tb)
		r.done = true
	}
	ensureMu.Unlock()
	if r.skip != "" {
		tb.Skip(r.skip)
	}
	if r.err != nil {
		tb.Fatal(r.err)
	}
}

// EnsureGluster makes sure stock GlusterFS can run here: glusterfsd,
// glusterfs (the FUSE client) and mount.glusterfs exist (and glusterd and the
// gluster CLI, for tests that use stock glusterd as a reference), installing
// glusterfs-server and glusterfs-client with apt-get when any is missing (as
// root; otherwise the test is skipped), and /dev/fuse opens for reading and
// writing. The check runs once per test process; later calls cost nothing.
func EnsureGluster(tb testing.TB) {
	tb.Helper()
	ensure(tb, "gluster", func(tb testing.TB) (string, error) {
		if runtime.GOOS != "linux" {
			return "GlusterFS processes run on Linux only", nil
		}
		bins := []string{"glusterfsd", "glusterfs", "mount.glusterfs", "glusterd", "gluster"}
		if missing := missingBinaries(bins); len(missing) > 0 {
			if skip, err := aptInstall(tb, missing, glusterPackages...); skip != "" || err != nil {
				return skip, err
			}
			if missing := missingBinaries(bins); len(missing) > 0 {
				return "", fmt.Errorf("after installing %s, still missing: %s", strings.Join(glusterPackages, " "), strings.Join(missing, ", "))
			}
		}
		return checkFuse()
	})
}

func missingBinaries(names []string) []string {
	var missing []string
	for _, n := range names {
		if _, err := GlusterBinary(n); err != nil {
			missing = append(missing, n)
		}
	}
	return missing
}

// checkFuse checks that /dev/fuse exists (loading the module if root) and
// opens for reading and writing.
func checkFuse() (string, error) {
	if _, err := os.Stat("/dev/fuse"); errors.Is(err, os.ErrNotExist) && os.Geteuid() == 0 {
		_ = exec.Command("modprobe", "fuse").Run()
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Sprintf("/dev/fuse is not usable (%v): FUSE mounts of GlusterFS volumes need it, and root", err), nil
	}
	f.Close()
	return "", nil
}

// aptInstall installs packages because the programs in missing are absent.
// It reports a reason to skip when it cannot (not root, no apt-get). A
// glusterd that the package scripts start is stopped again: the tests run
// their own, and nothing may hold TCP 24007.
func aptInstall(tb testing.TB, missing []string, pkgs ...string) (skip string, err error) {
	what := fmt.Sprintf("%s missing (apt-get install %s)", strings.Join(missing, ", "), strings.Join(pkgs, " "))
	if os.Geteuid() != 0 {
		return what + ": not root, cannot install", nil
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return what + ": no apt-get on this system", nil
	}
	before := map[int]bool{}
	for _, p := range pidsByComm("glusterd") {
		before[p] = true
	}
	defer func() {
		for _, p := range pidsByComm("glusterd") {
			if !before[p] {
				tb.Logf("stopping glusterd pid %d started by the package installation", p)
				killAndWait(p, 5*time.Second)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	tb.Logf("installing %s: %s", strings.Join(pkgs, " "), what)
	t0 := time.Now()
	out, err := run(append([]string{"install", "-y"}, pkgs...)...)
	if err != nil {
		// Perhaps the package lists are empty or stale.
		if uout, uerr := run("update"); uerr != nil {
			return "", fmt.Errorf("apt-get update: %v\n%s", uerr, tail(string(uout), 2000))
		}
		if out, err = run(append([]string{"install", "-y"}, pkgs...)...); err != nil {
			return "", fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), err, tail(string(out), 3000))
		}
	}
	tb.Logf("installed %s in %s", strings.Join(pkgs, " "), time.Since(t0).Round(time.Millisecond))
	return "", nil
}

// pidsByComm lists the processes whose command name is comm.
func pidsByComm(comm string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.TrimSpace(string(b)) == comm {
			pids = append(pids, pid)
		}
	}
	return pids
}

// PidsByCmdline lists the live processes whose command line contains sub.
func PidsByCmdline(sub string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), sub) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// killAndWait sends SIGTERM, then SIGKILL after grace, to a process that is
// not our child, and waits (briefly) for it to be gone.
func killAndWait(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		deadline = time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// NewUUID returns a random (version 4) UUID in its textual form.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ParseUUID returns the 16 bytes of a textual UUID.
func ParseUUID(s string) ([]byte, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, fmt.Errorf("bad UUID %q", s)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil {
		return nil, fmt.Errorf("bad UUID %q: %w", s, err)
	}
	return b, nil
}

// DashedPath is glusterd's "path-dashed" form of a brick path: without its
// leading '/', every other '/' turned into '-' (/tmp/gbrick/b1 gives
// tmp-gbrick-b1).
func DashedPath(p string) string {
	return strings.ReplaceAll(strings.TrimPrefix(filepath.Clean(p), "/"), "/", "-")
}

// BrickVolfileID is the GETSPEC key of a brick: <vol>.<host>.<path-dashed>.
func BrickVolfileID(volume, host, path string) string {
	return volume + "." + host + "." + DashedPath(path)
}

// Getxattr reads an extended attribute of path; a missing one gives (nil, nil).
func Getxattr(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := syscall.Getxattr(path, name, buf)
		switch {
		case errors.Is(err, syscall.ENODATA):
			return nil, nil
		case errors.Is(err, syscall.ERANGE):
			buf = make([]byte, 2*len(buf))
			continue
		case err != nil:
			return nil, &os.PathError{Op: "getxattr " + name, Path: path, Err: err}
		}
		return buf[:n], nil
	}
}

// PrepareBrickDir readies a brick directory the way glusterd does at volume
// create and start (glusterd-utils.c: glusterd_validate_and_create_brickpath,
// glusterd_check_and_set_brick_xattr):
//
//   - the directory is created (0755, parents too) if missing;
//   - if it already carries trusted.glusterfs.volume-id, that must be this
//     volume's id (a restart): nothing else is done unless force is set, which
//     rewrites it;
//   - otherwise (a fresh brick) the filesystem must take trusted xattrs
//     (trusted.glusterfs.test is set and removed), neither the directory nor a
//     parent may already belong to a volume (trusted.gfid or
//     trusted.glusterfs.volume-id; force skips this), then
//     trusted.glusterfs.volume-id is set to the 16 raw bytes of volumeID and
//     <path>/.glusterfs is created with mode 0600.
//
// trusted.gfid (the root gfid) is written by the brick's posix xlator at its
// first start, trusted.glusterfs.dht by the first client. glusterd's policy
// checks (no brick on the root filesystem, no brick that is a mount point)
// are left out.
func PrepareBrickDir(path, volumeID string, force bool) error {
	id, err := ParseUUID(volumeID)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("brick path %q is not absolute", path)
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	cur, err := Getxattr(path, XattrVolumeID)
	if err != nil {
		return err
	}
	if cur != nil && !force {
		if !bytes.Equal(cur, id) {
			return fmt.Errorf("brick %s: mismatching volume-id: it carries %x, the volume is %s", path, cur, volumeID)
		}
		return nil
	}
	if err := syscall.Setxattr(path, xattrTest, []byte("working"), 0); err != nil {
		return fmt.Errorf("brick %s: the filesystem does not take trusted.* extended attributes (needs root, and xattr support): %w", path, err)
	}
	if err := syscall.Removexattr(path, xattrTest); err != nil {
		return fmt.Errorf("brick %s: remove %s: %w", path, xattrTest, err)
	}
	if !force {
		for p := path; ; p = filepath.Dir(p) {
			for _, name := range []string{XattrGfid, XattrVolumeID} {
				v, err := Getxattr(p, name)
				if err != nil {
					return err
				}
				if v != nil {
					return fmt.Errorf("brick %s: %s or a prefix of it is already part of a volume (%s is set on %s)", path, path, name, p)
				}
			}
			if p == "/" {
				break
			}
		}
	}
	flags := xattrCreate
	if force {
		flags = 0
	}
	if err := syscall.Setxattr(path, XattrVolumeID, id, flags); err != nil {
		return fmt.Errorf("brick %s: set %s: %w", path, XattrVolumeID, err)
	}
	if err := os.Mkdir(filepath.Join(path, ".glusterfs"), 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}

// BrickSpec describes a brick process. Zero fields get defaults (see each).
type BrickSpec struct {
	VolumeName string
	// VolumeID is the volume's UUID; it must match `option volume-id` of
	// storage/posix in the brick volfile the server hands out. Generated when
	// empty.
	VolumeID string
	// Host is the node's address (e.g. 127.1.1.1): part of the default
	// volfile-id, and the brick binds to it (see ListenAll).
	Host string
	// Path is the brick directory (absolute), also its name on the wire.
	Path string
	// Port is the brick's port; 0 picks a free one in
	// BrickPortMin..BrickPortMax, at random as glusterd does.
	Port int
	// VolfileServer is the host the brick gets its volfile from and signs in
	// to (-s); Host when empty.
	VolfileServer string
	// VolfileServerPort is that server's port; 0 means GlusterMgmtPort.
	VolfileServerPort int
	// VolfileID is the GETSPEC key; BrickVolfileID(VolumeName, Host, Path)
	// when empty.
	VolfileID string
	// LogDir and RunDir hold the brick log (LogDir/bricks/<path-dashed>.log)
	// and the pid file and brick-ops socket; test temp dirs when empty.
	LogDir string
	RunDir string
	// NodeUUID is the node's (glusterd's) UUID, given to posix as
	// glusterd-uuid; generated when empty.
	NodeUUID string
	// ListenAll leaves out `--xlator-option
	// transport.socket.bind-address=<Host>`, which glusterd adds when it is
	// itself bound to one address (as every node of a one-host test cluster
	// is); the brick then listens on all addresses, as in the golden
	// fixtures' command lines.
	ListenAll bool
	// Force prepares the brick directory even if it or a parent already
	// belongs to a volume, and rewrites its volume-id (PrepareBrickDir).
	Force bool
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// BrickProc is a running (or finished) glusterfsd.
type BrickProc struct {
	// Spec is the spec with its defaults filled in.
	Spec BrickSpec
	// Bin and Args are the program and its arguments.
	Bin  string
	Args []string
	// LogFile is the brick's log (-l); OutFile its standard output and error;
	// PidFile (-p) and SockFile (-S) as glusterd would name them.
	LogFile, OutFile, PidFile, SockFile string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// BrickArgs fills in spec's defaults (without creating anything or picking a
// port: spec.Port must be set) and returns the completed spec, the pid,
// socket and log file names, and glusterfsd's arguments, in the order
// glusterd 10.3 uses (glusterd_volume_start_glusterfs), followed by -N to keep
// it in the foreground:
//
//	-s <server> [--volfile-server-port <p>] --volfile-id <id> -p <pidfile>
//	-S <socket> --brick-name <path> -l <log>
//	--xlator-option *-posix.glusterd-uuid=<node-uuid> --process-name brick
//	--brick-port <port> --xlator-option <vol>-server.listen-port=<port>
//	[--xlator-option transport.socket.bind-address=<host>] -N
func BrickArgs(spec BrickSpec) (BrickSpec, []string, error) {
	s := spec
	if s.VolumeName == "" || s.Host == "" || s.Path == "" {
		return s, nil, errors.New("brick spec: VolumeName, Host and Path are required")
	}
	if !filepath.IsAbs(s.Path) {
		return s, nil, fmt.Errorf("brick spec: Path %q is not absolute", s.Path)
	}
	s.Path = filepath.Clean(s.Path)
	if s.Port <= 0 || s.Port > 65535 {
		return s, nil, fmt.Errorf("brick spec: bad port %d", s.Port)
	}
	if s.LogDir == "" || s.RunDir == "" {
		return s, nil, errors.New("brick spec: LogDir and RunDir are required")
	}
	if s.VolumeID == "" {
		s.VolumeID = NewUUID()
	}
	if _, err := ParseUUID(s.VolumeID); err != nil {
		return s, nil, fmt.Errorf("brick spec: VolumeID: %w", err)
	}
	if s.NodeUUID == "" {
		s.NodeUUID = NewUUID()
	}
	if s.VolfileServer == "" {
		s.VolfileServer = s.Host
	}
	if s.VolfileID == "" {
		s.VolfileID = BrickVolfileID(s.VolumeName, s.Host, s.Path)
	}
	args := []string{"-s", s.VolfileServer}
	if s.VolfileServerPort != 0 && s.VolfileServerPort != GlusterMgmtPort {
		args = append(args, "--volfile-server-port", strconv.Itoa(s.VolfileServerPort))
	}
	port := strconv.Itoa(s.Port)
	args = append(args,
		"--volfile-id", s.VolfileID,
		"-p", brickPidFile(s),
		"-S", brickSockFile(s),
		"--brick-name", s.Path,
		"-l", brickLogFile(s),
		"--xlator-option", "*-posix.glusterd-uuid="+s.NodeUUID,
		"--process-name", "brick",
		"--brick-port", port,
		"--xlator-option", s.VolumeName+"-server.listen-port="+port,
	)
	if !s.ListenAll {
		args = append(args, "--xlator-option", "transport.socket.bind-address="+s.Host)
	}
	args = append(args, s.ExtraArgs...)
	args = append(args, "-N")
	return s, args, nil
}

func brickLogFile(s BrickSpec) string {
	return filepath.Join(s.LogDir, "bricks", DashedPath(s.Path)+".log")
}

func brickPidFile(s BrickSpec) string {
	return filepath.Join(s.RunDir, "vols", s.VolumeName, s.Host+"-"+DashedPath(s.Path)+".pid")
}

// brickSockFile is <RunDir>/<16 hex digits>.socket, like glusterd's
// /var/run/gluster/<xxhash64 of the brick's run path>.socket (the name is
// opaque: only glusterd's brick-ops client uses it); in the system temp
// directory when RunDir is too deep for a unix socket path.
func brickSockFile(s BrickSpec) string {
	sum := sha256.Sum256([]byte(s.VolumeName + "/run/" + s.Host + "-" + DashedPath(s.Path)))
	name := hex.EncodeToString(sum[:8]) + ".socket"
	if p := filepath.Join(s.RunDir, name); len(p) <= maxSockPath {
		return p
	}
	return filepath.Join(os.TempDir(), "gdng-brick-"+name)
}

// FreeBrickPort picks a port in BrickPortMin..BrickPortMax that can be bound
// on all addresses, starting at a random one and walking upwards, as
// glusterd's pmap_assign_port does.
func FreeBrickPort() (int, error) {
	n := BrickPortMax - BrickPortMin + 1
	start := mrand.IntN(n)
	for i := 0; i < n; i++ {
		p := BrickPortMin + (start+i)%n
		l, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free port in %d..%d", BrickPortMin, BrickPortMax)
}

// StartBrick prepares spec.Path (PrepareBrickDir) and starts glusterfsd on
// it in the foreground (see BrickArgs for the command line), stopped at test
// cleanup. It returns once the brick listens on its port and has activated
// its graph (its log shows the final graph); glusterfsd sends PMAP SIGNIN
// right after that, so a portmap knows the brick a round trip later (a test
// that must be certain can ask the portmap). If glusterfsd ends first (for instance because the volfile
// server refused its GETSPEC; note that with -N it then exits with status 0)
// or ctx ends (without a deadline, after 60s), it returns the process
// together with the error, so that its Log can be read. With Port 0, a port
// taken in the meantime (EADDRINUSE) makes it retry on another one.
func StartBrick(ctx context.Context, tb testing.TB, spec BrickSpec) (*BrickProc, error) {
	tb.Helper()
	EnsureGluster(tb)
	bin, err := GlusterBinary("glusterfsd")
	if err != nil {
		return nil, err
	}
	if spec.LogDir == "" {
		spec.LogDir = tb.TempDir()
	}
	if spec.RunDir == "" {
		spec.RunDir = tb.TempDir()
	}
	if spec.VolumeID == "" {
		spec.VolumeID = NewUUID()
	}
	if spec.NodeUUID == "" {
		spec.NodeUUID = NewUUID()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	autoPort := spec.Port == 0
	for attempt := 0; ; attempt++ {
		s := spec
		if autoPort {
			if s.Port, err = FreeBrickPort(); err != nil {
				return nil, err
			}
		}
		b, err := startBrickOnce(ctx, tb, bin, s)
		if err != nil && b != nil && autoPort && attempt < 3 && b.Exited() &&
			strings.Contains(b.Log(), "Address already in use") {
			tb.Logf("brick %s: port %d was taken, retrying on another", s.Path, s.Port)
			continue
		}
		return b, err
	}
}

func startBrickOnce(ctx context.Context, tb testing.TB, bin string, spec BrickSpec) (*BrickProc, error) {
	s, args, err := BrickArgs(spec)
	if err != nil {
		return nil, err
	}
	if err := PrepareBrickDir(s.Path, s.VolumeID, s.Force); err != nil {
		return nil, err
	}
	b := &BrickProc{Spec: s, Bin: bin, Args: args, LogFile: brickLogFile(s), PidFile: brickPidFile(s), SockFile: brickSockFile(s)}
	b.OutFile = strings.TrimSuffix(b.LogFile, ".log") + ".out"
	for _, d := range []string{filepath.Dir(b.LogFile), filepath.Dir(b.PidFile), filepath.Dir(b.SockFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	_ = os.Remove(b.SockFile) // glusterd removes a stale socket too
	var logStart int64        // glusterfsd appends to its log: a restart must not see the last run's lines
	if st, err := os.Stat(b.LogFile); err == nil {
		logStart = st.Size()
	}
	out, err := os.OpenFile(b.OutFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start glusterfsd: %w", err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	go func() {
		err := cmd.Wait()
		out.Close()
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
		close(b.done)
	}()
	tb.Cleanup(func() {
		b.Stop()
		_ = os.Remove(b.SockFile)
		if tb.Failed() {
			tb.Logf("---- brick %s (%s) log ----\n%s", s.Path, b.CommandLine(), tail(b.Log(), 4000))
		}
	})
	for {
		if listening(cmd.Process.Pid, s.Port) && graphActive(b.LogFile, logStart) {
			return b, nil
		}
		select {
		case <-b.done:
			return b, fmt.Errorf("glusterfsd for %s exited (%v) before listening on port %d; log:\n%s", s.Path, b.exitErr(), s.Port, tail(b.Log(), 3000))
		case <-ctx.Done():
			return b, fmt.Errorf("glusterfsd for %s not listening on port %d: %w; log:\n%s", s.Path, s.Port, ctx.Err(), tail(b.Log(), 3000))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// graphActive reports whether the log, from offset on, shows the brick's
// graph activated: glusterfsd prints "Final graph:" and the graph between two
// "+---" rules right after glusterfs_graph_activate, and mgmt_getspec_cbk
// sends SIGNIN immediately after that. The port alone is not enough: the
// server xlator listens while posix (slow on a busy disk) has yet to
// initialise, and a client asking the portmap then gets no port.
func graphActive(logFile string, offset int64) bool {
	f, err := os.Open(logFile)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return false
	}
	i := bytes.Index(b, []byte("Final graph:"))
	return i >= 0 && bytes.Count(b[i:], []byte("\n+------")) >= 2
}

// listening reports whether process pid has a socket in LISTEN state on TCP
// port. Reading /proc leaves no trace in the brick's log, unlike a test
// connection would.
func listening(pid, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	var inodes []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(line)
			if len(fields) > 9 && fields[3] == "0A" && strings.HasSuffix(fields[1], want) {
				inodes = append(inodes, "socket:["+fields[9]+"]")
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fdDir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, _ := os.ReadDir(fdDir)
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && slices.Contains(inodes, l) {
			return true
		}
	}
	return false
}

// CommandLine is the brick's command line, for logs and reports.
func (b *BrickProc) CommandLine() string {
	return b.Bin + " " + strings.Join(b.Args, " ")
}

// Pid is the brick's process id.
func (b *BrickProc) Pid() int { return b.cmd.Process.Pid }

// Port is the brick's port.
func (b *BrickProc) Port() int { return b.Spec.Port }

// Kill stops the brick at once (SIGKILL), as a crash would (no SIGNOUT), and
// waits for it.
func (b *BrickProc) Kill() { b.signal(syscall.SIGKILL) }

// Stop stops the brick cleanly (SIGTERM: it sends PMAP SIGNOUT and exits) and
// waits for it, with SIGKILL after 15s.
func (b *BrickProc) Stop() { b.signal(syscall.SIGTERM) }

func (b *BrickProc) signal(sig syscall.Signal) {
	if b.Exited() {
		return
	}
	_ = b.cmd.Process.Signal(sig)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// Exited reports whether the brick process has ended.
func (b *BrickProc) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Done is closed when the brick process has ended.
func (b *BrickProc) Done() <-chan struct{} { return b.done }

// Wait waits up to timeout for the brick to end and returns its exit error
// (nil for status 0), or an error if it is still running.
func (b *BrickProc) Wait(timeout time.Duration) error {
	select {
	case <-b.done:
		return b.exitErr()
	case <-time.After(timeout):
		return fmt.Errorf("glusterfsd for %s still running after %s", b.Spec.Path, timeout)
	}
}

func (b *BrickProc) exitErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Log returns the brick's log file (-l), followed by its standard output and
// error if it wrote any (errors before its log is set up go there).
func (b *BrickProc) Log() string {
	lg, _ := os.ReadFile(b.LogFile)
	if out, _ := os.ReadFile(b.OutFile); len(bytes.TrimSpace(out)) > 0 {
		return string(lg) + "\n---- stdout/stderr ----\n" + string(out)
	}
	return string(lg)
}

// Mounted is a FUSE mount of a GlusterFS volume.
type Mounted struct {
	Server     string
	Port       int
	Volume     string
	Mountpoint string
	// Options are the -o options given to mount.
	Options string
	// LogFile is the client's log: volfile fetches, brick connections and
	// graph switches ("switched to graph N") show there.
	LogFile string

	tb        testing.TB
	mu        sync.Mutex
	pid       int
	unmounted bool
	umountErr error
}

// Mount mounts server:/volume on mountpoint (created if missing) with
// `mount -t glusterfs -o log-file=<log>,server-port=<port>[,extraOpts...]`
// and returns once the mount answers (the root can be listed). mount.glusterfs
// 10.3 takes the volfile server's port as server-port= (it passes
// --volfile-server-port to glusterfs) and rejects volfile-server-port= as an
// invalid option; port 0 leaves it out (24007). Only the volfile comes from
// that port: each protocol/client still asks the portmap at its brick host's
// 24007 unless told otherwise, e.g. with the extra option
// "xlator-option=*-client-*.remote-port=<port>". The mount is undone at test
// cleanup.
func Mount(ctx context.Context, tb testing.TB, server string, port int, volume, mountpoint string, extraOpts ...string) (*Mounted, error) {
	tb.Helper()
	EnsureGluster(tb)
	mp, err := filepath.Abs(mountpoint)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(mp, 0o755); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	logDir := tb.TempDir()
	m := &Mounted{Server: server, Port: port, Volume: volume, Mountpoint: mp, tb: tb,
		LogFile: filepath.Join(logDir, "mnt-"+DashedPath(mp)+".log")}
	opts := []string{"log-file=" + m.LogFile}
	if port != 0 {
		opts = append(opts, "server-port="+strconv.Itoa(port))
	}
	opts = append(opts, extraOpts...)
	m.Options = strings.Join(opts, ",")
	tb.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			tb.Errorf("unmount %s: %v", m.Mountpoint, err)
		}
		if tb.Failed() {
			tb.Logf("---- mount %s:/%s on %s log ----\n%s", server, volume, mp, tail(m.Log(), 4000))
		}
	})
	// Output goes to a file, not a pipe: the glusterfs daemon that
	// mount.glusterfs leaves behind must not hold our pipe open.
	outFile := filepath.Join(logDir, "mount.out")
	out, err := os.Create(outFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "mount", "-t", "glusterfs", "-o", m.Options, server+":/"+volume, mp)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	out.Close()
	if runErr != nil {
		msg, _ := os.ReadFile(outFile)
		m.findClient()
		_ = m.Unmount()
		return nil, fmt.Errorf("mount -t glusterfs -o %s %s:/%s %s: %v: %s\n---- client log (end) ----\n%s",
			m.Options, server, volume, mp, runErr, strings.TrimSpace(string(msg)), tail(m.Log(), 3000))
	}
	var lastErr error
	for {
		m.findClient()
		if lastErr = m.usable(); lastErr == nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			_ = m.Unmount()
			return nil, fmt.Errorf("mount %s:/%s on %s not usable: %v (%w)\n---- client log (end) ----\n%s",
				server, volume, mp, lastErr, ctx.Err(), tail(m.Log(), 3000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// usable checks that the mount point is a FUSE mount whose root lists.
func (m *Mounted) usable() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(m.Mountpoint, &st); err != nil {
		return err
	}
	if st.Type != fuseSuperMagic {
		return fmt.Errorf("%s is not a FUSE mount (f_type %#x)", m.Mountpoint, st.Type)
	}
	_, err := os.ReadDir(m.Mountpoint)
	return err
}

// findClient looks for the glusterfs client process serving the mount:
// `glusterfs ... --process-name fuse ... <mountpoint>`.
func (m *Mounted) findClient() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pid != 0 && alive(m.pid) {
		return
	}
	ents, _ := os.ReadDir("/proc")
	cands := map[int]int{} // pid -> ppid
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if filepath.Base(argv[0]) != "glusterfs" || argv[len(argv)-1] != m.Mountpoint || !strings.Contains(string(b), "--process-name\x00fuse") {
			continue
		}
		cands[pid] = ppidOf(pid)
	}
	for pid, ppid := range cands {
		if _, parentIsCand := cands[ppid]; !parentIsCand {
			// glusterfs forks to daemonize: the child is the client. While
			// both live, prefer the child.
			for c, pp := range cands {
				if pp == pid {
					pid = c
				}
			}
			m.pid = pid
			return
		}
	}
}

func ppidOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// ClientPID is the pid of the glusterfs client process serving the mount, 0
// if it is not known (or has ended).
func (m *Mounted) ClientPID() int {
	m.findClient()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pid != 0 && !alive(m.pid) {
		return 0
	}
	return m.pid
}

// Log returns the client's log file.
func (m *Mounted) Log() string {
	b, _ := os.ReadFile(m.LogFile)
	return string(b)
}

// GraphSwitches counts the client graphs the FUSE bridge has switched to
// (it switches on the first FUSE request after a new graph is up, not before):
// 1 after the mount, one more for each volfile change it took up (after a
// FETCHSPEC callback or a reconnect with a different volfile).
func (m *Mounted) GraphSwitches() int {
	return strings.Count(m.Log(), "switched to graph")
}

// ActiveGraph returns the client graph the FUSE bridge switched to last,
// as the client logged it (its "Final graph" text), or "" before the first.
func (m *Mounted) ActiveGraph() string {
	lg := m.Log()
	i := strings.LastIndex(lg, "switched to graph")
	if i < 0 {
		return ""
	}
	// The graph is logged when it is built, before the switch to it.
	j := strings.LastIndex(lg[:i], "Final graph:")
	if j < 0 {
		return ""
	}
	return lg[j:i]
}

// Unmount unmounts (umount; if that fails, umount -l and SIGKILL of the
// client) and waits for the client process to end. Calling it again is a
// no-op returning the first result.
func (m *Mounted) Unmount() error {
	m.findClient()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		return m.umountErr
	}
	m.unmounted = true
	pid := m.pid
	var errs []error
	if isMounted(m.Mountpoint) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		out, err := exec.CommandContext(ctx, "umount", m.Mountpoint).CombinedOutput()
		cancel()
		if err != nil {
			m.tb.Logf("umount %s: %v: %s; falling back to a lazy unmount", m.Mountpoint, err, strings.TrimSpace(string(out)))
			if out, err := exec.Command("umount", "-l", m.Mountpoint).CombinedOutput(); err != nil && isMounted(m.Mountpoint) {
				errs = append(errs, fmt.Errorf("umount -l: %v: %s", err, strings.TrimSpace(string(out))))
			}
			if pid != 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if pid != 0 {
		// The client ends on its own once unmounted.
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			m.tb.Logf("glusterfs client %d still running after unmount of %s: killing it", pid, m.Mountpoint)
			killAndWait(pid, 0)
			if alive(pid) {
				errs = append(errs, fmt.Errorf("glusterfs client %d survived SIGKILL", pid))
			}
		}
	}
	if isMounted(m.Mountpoint) {
		errs = append(errs, fmt.Errorf("%s is still mounted", m.Mountpoint))
	}
	m.umountErr = errors.Join(errs...)
	return m.umountErr
}

// isMounted reports whether dir is a mount point (in /proc/self/mountinfo).
func isMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountinfo(f[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeMountinfo undoes the octal escapes (\040 for a space...) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// WriteFiles writes n files of size random bytes into dir (file-0000.bin,
// ...), each synced and closed, and returns name → hex SHA-256.
func WriteFiles(dir string, n, size int) (map[string]string, error) {
	sums := make(map[string]string, n)
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("file-%04d.bin", i)
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return sums, err
		}
		_, err = f.Write(buf)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return sums, fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
		}
		sum := sha256.Sum256(buf)
		sums[name] = hex.EncodeToString(sum[:])
	}
	return sums, nil
}

// VerifyFiles checks that every file named in sums is in dir with that
// SHA-256, and reports every difference.
func VerifyFiles(dir string, sums map[string]string) error {
	names := make([]string, 0, len(sums))
	for name := range sums {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err))
			continue
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sums[name] {
			errs = append(errs, fmt.Errorf("%s: sha256 %s, want %s", filepath.Join(dir, name), got, sums[name]))
		}
	}
	return errors.Join(errs...)
}

//go:embed testdata/gfapi_rw.c
var gfapiSource []byte

var (
	gfapiMu  sync.Mutex
	gfapiBin string
)

// ensureGfapiDev makes sure cc, pkg-config and the glusterfs-api
// development files are there, installing libglusterfs-dev (and gcc,
// pkg-config if needed) as root.
func ensureGfapiDev(tb testing.TB) {
	tb.Helper()
	EnsureGluster(tb)
	ensure(tb, "gfapi-dev", func(tb testing.TB) (string, error) {
		check := func() (missing []string, pkgs []string) {
			if _, err := exec.LookPath("cc"); err != nil {
				missing, pkgs = append(missing, "cc"), append(pkgs, "gcc")
			}
			if _, err := exec.LookPath("pkg-config"); err != nil {
				missing, pkgs = append(missing, "pkg-config", "glusterfs-api.pc"), append(pkgs, "pkg-config", "libglusterfs-dev")
			} else if exec.Command("pkg-config", "--exists", "glusterfs-api").Run() != nil {
				missing, pkgs = append(missing, "glusterfs-api.pc"), append(pkgs, "libglusterfs-dev")
			}
			return missing, pkgs
		}
		missing, pkgs := check()
		if len(missing) == 0 {
			return "", nil
		}
		if skip, err := aptInstall(tb, missing, pkgs...); skip != "" || err != nil {
			return skip, err
		}
		if missing, _ := check(); len(missing) > 0 {
			return "", fmt.Errorf("after installing %s, still missing: %s", strings.Join(pkgs, " "), strings.Join(missing, ", "))
		}
		return "", nil
	})
}

// GfapiProgram compiles testdata/gfapi_rw.c against libgfapi (once per test
// process; the binary is cached in the system temp directory under a name
// that depends on the source and the build flags) and returns its path.
func GfapiProgram(tb testing.TB) string {
	tb.Helper()
	ensureGfapiDev(tb)
	gfapiMu.Lock()
	defer gfapiMu.Unlock()
	if gfapiBin != "" {
		return gfapiBin
	}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "glusterfs-api").Output()
	if err != nil {
		tb.Fatalf("pkg-config --cflags --libs glusterfs-api: %v", err)
	}
	ver, _ := exec.Command("pkg-config", "--modversion", "glusterfs-api").Output()
	h := sha256.New()
	h.Write(gfapiSource)
	h.Write(flags)
	h.Write(ver)
	dir := filepath.Join(os.TempDir(), "gdng-gfapi-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "gfapi_rw")
	if st, err := os.Stat(bin); err == nil && st.Mode()&0o111 != 0 {
		gfapiBin = bin
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	src := filepath.Join(dir, "gfapi_rw.c")
	if err := os.WriteFile(src, gfapiSource, 0o644); err != nil {
		tb.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	args := append([]string{"-O2", "-Wall", "-o", tmp, src}, strings.Fields(string(flags))...)
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		tb.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		tb.Fatal(err)
	}
	gfapiBin = bin
	return bin
}

// GfapiReadWrite runs the libgfapi round trip (testdata/gfapi_rw.c) against
// volume, with the volfile from host:port: glfs_init, write a 256 KiB file,
// read it back, compare, unlink, glfs_fini. glfs_fini of GlusterFS 10.x
// takes about 10s by itself (gluster/glusterfs#2606), so a call costs at
// least that. Without a ctx deadline it gives up after 60s. The error carries the program's output and the end of its
// gfapi log.
func GfapiReadWrite(ctx context.Context, tb testing.TB, host string, port int, volume string) error {
	tb.Helper()
	bin := GfapiProgram(tb)
	if port == 0 {
		port = GlusterMgmtPort
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
	}
	logFile := filepath.Join(tb.TempDir(), "gfapi.log")
	cmd := exec.CommandContext(ctx, bin, host, strconv.Itoa(port), volume, logFile)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		lg, _ := os.ReadFile(logFile)
		return fmt.Errorf("gfapi_rw %s:%d %s: %v: %s\n---- gfapi log (end) ----\n%s",
			host, port, volume, err, strings.TrimSpace(string(out)), tail(string(lg), 3000))
	}
	tb.Logf("gfapi_rw: %s", strings.TrimSpace(string(out)))
	return nil
}
