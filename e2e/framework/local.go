// Package framework runs a whole glusterd-ng cluster for end-to-end tests:
// today as local processes (a Consul server and every service binary, each
// storage node on its own loopback address); the same scenarios will run on
// containers.
package framework

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Commands are the binaries a local cluster runs, by name.
var Commands = map[string]string{
	"stored":        "./services/store/cmd/stored",
	"peerd":         "./services/peer/cmd/peerd",
	"servicemgrd":   "./services/servicemgr/cmd/servicemgrd",
	"portmapd":      "./services/portmap/cmd/portmapd",
	"orchestratord": "./services/orchestrator/cmd/orchestratord",
	"gatewayd":      "./gateway/cmd/gatewayd",
	"gdctl":         "./cli/gdctl",
}

// Binaries builds every command once per test process and returns their directory.
func Binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		root, err := testutil.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, err = os.MkdirTemp("", "gdng-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-o", binDir + "/"}
		for _, pkg := range Commands {
			if _, err := os.Stat(filepath.Join(root, pkg)); err == nil {
				args = append(args, pkg)
			}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binDir
}

// Proc is one service process of the cluster.
type Proc struct {
	Name string
	args []string
	bin  string
	logs string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs the process (again, with the same arguments).
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.logs, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// AddOrchestrator starts another orchestrator replica and returns it with
// its gRPC address once the replica accepts connections.
func (c *Cluster) AddOrchestrator(name string, extra ...string) (*Proc, string) {
	c.tb.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(c.tb, "127.0.0.1"))
	p := c.proc(name, "orchestratord", append(c.common("--listen="+addr, "--session-ttl=10s", "--recover-interval=1s"), extra...)...)
	if err := p.Start(); err != nil {
		c.tb.Fatal(err)
	}
	testutil.Await(c.tb, 30*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}, "%s listening on %s", name, addr)
	return p, addr
}

// Args returns the process's arguments.
func (p *Proc) Args() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.args...)
}

// SetArgs changes the arguments of the next Start.
func (p *Proc) SetArgs(args []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.args = args
}

// Kill stops the process at once (SIGKILL), as a crash would.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL) }

// Stop stops the process cleanly (SIGTERM).
func (p *Proc) Stop() { p.signal(syscall.SIGTERM) }

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Wait waits for the process to exit and returns its error and log.
func (p *Proc) Wait(timeout time.Duration) (error, string) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", p.Name, timeout), p.Log()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err, p.Log()
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Log returns what the process has written.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logs)
	return string(b)
}

// Node is one storage node: its service manager on its own loopback address.
type Node struct {
	// Index is the node's number, from 1.
	Index int
	// Host is the node's address, 127.1.1.<index>.
	Host string
	// Addr is the service manager's "host:port".
	Addr string
	// StateDir is the node's state directory.
	StateDir string
	// Servicemgr is the node's service manager process.
	Servicemgr *Proc
	// MgmtAddr is where the node's portmap speaks GlusterFS's management RPC ("host:24007").
	MgmtAddr string
	// PortmapAddr is the portmap's gRPC address.
	PortmapAddr string
	// Portmap is the node's portmap process.
	Portmap *Proc
}

// Cluster is a local cluster.
type Cluster struct {
	tb     testing.TB
	dir    string
	bin    string
	Consul *testutil.Consul
	// ConsulServers are all servers when Options.ConsulServers > 1.
	ConsulServers []*testutil.Consul
	// REST is the gateway's base URL.
	REST string
	// StoreAddr is the store's gRPC address.
	StoreAddr string
	// PeerAddr is the peer service's gRPC address.
	PeerAddr string
	// OrchestratorAddr is the orchestrator's gRPC address; Orchestrator its process.
	OrchestratorAddr string
	Orchestrator     *Proc
	Procs            map[string]*Proc
	Nodes            []*Node
	nodeArgs         []string
}

// freePort returns a port on host for a service of the cluster to bind:
// free now, and given to no other test in this process or another
// (testutil.FreePortOn).
func freePort(tb testing.TB, host string) int {
	port, err := testutil.FreePortOn(host)
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// Start runs a Consul server, the store, the peer service and the gateway,
// and n storage nodes on 127.1.1.1..n, and stops everything at cleanup.
func Start(tb testing.TB, n int) *Cluster { return StartAt(tb, n, 1) }

// StartAt is Start with the nodes on 127.1.1.first onwards, so two clusters
// can run side by side.
func StartAt(tb testing.TB, n, first int) *Cluster {
	return StartWith(tb, Options{Nodes: n, First: first})
}

// Options shape a local cluster.
type Options struct {
	// Nodes is the number of storage nodes, on 127.1.1.First onwards (First 0 means 1).
	Nodes, First int
	// NodeArgs are extra arguments for every node's servicemgr.
	NodeArgs []string
	// OrchestratorArgs are extra arguments for the orchestrator (failpoints).
	OrchestratorArgs []string
	// ConsulServers runs a Consul cluster of that many servers (default one);
	// the services talk to a server that is not the leader at start.
	ConsulServers int
}

// StartWith is Start with options.
func StartWith(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	n, first := o.Nodes, max(o.First, 1)
	c := &Cluster{tb: tb, bin: Binaries(tb), Procs: map[string]*Proc{}, nodeArgs: o.NodeArgs}
	if o.ConsulServers > 1 {
		// Every service talks to a follower, so that the leader can be killed.
		c.ConsulServers = testutil.NewConsulCluster(tb, o.ConsulServers)
		leader := testutil.Leader(c.ConsulServers)
		for _, s := range c.ConsulServers {
			if s != leader {
				c.Consul = s
				break
			}
		}
	} else {
		c.Consul = testutil.NewConsul(tb)
	}
	c.dir = tb.TempDir()
	c.StoreAddr = fmt.Sprintf("127.0.0.1:%d", freePort(tb, "127.0.0.1"))
	c.PeerAddr = fmt.Sprintf("127.0.0.1:%d", freePort(tb, "127.0.0.1"))
	rest := fmt.Sprintf("127.0.0.1:%d", freePort(tb, "127.0.0.1"))
	c.REST = "http://" + rest
	c.run("stored", c.common("--listen="+c.StoreAddr, "--kv-prefix=e2e/")...)
	c.run("peerd", c.common("--listen="+c.PeerAddr)...)
	c.OrchestratorAddr = fmt.Sprintf("127.0.0.1:%d", freePort(tb, "127.0.0.1"))
	c.Orchestrator = c.run("orchestratord", append(c.common("--listen="+c.OrchestratorAddr, "--session-ttl=10s",
		"--recover-interval=1s"), o.OrchestratorArgs...)...)
	c.run("gatewayd", c.common("--listen="+rest)...)
	for i := first; i < first+n; i++ {
		c.AddNode(i, "")
	}
	testutil.Await(tb, 60*time.Second, func() bool {
		resp, err := http.Get(c.REST + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "cluster ready")
	return c
}

func (c *Cluster) common(args ...string) []string {
	return append([]string{"--consul-addr=" + c.Consul.HTTPAddr, "--check-interval=1s", "--log-format=json", "--log-level=debug"}, args...)
}

func (c *Cluster) run(name string, args ...string) *Proc {
	c.tb.Helper()
	p := c.proc(name, name, args...)
	if err := p.Start(); err != nil {
		c.tb.Fatal(err)
	}
	return p
}

func (c *Cluster) proc(id, bin string, args ...string) *Proc {
	p := &Proc{Name: id, args: args, bin: filepath.Join(c.bin, bin), logs: filepath.Join(c.dir, id+".log")}
	c.Procs[id] = p
	c.tb.Cleanup(func() {
		p.Stop()
		if c.tb.Failed() {
			c.tb.Logf("---- %s log ----\n%s", id, tail(p.Log(), 4000))
		}
	})
	return p
}

// AddNode starts storage node i on 127.1.1.<i> (with nodeID when set) and
// returns it; it does not wait for the node to be up.
func (c *Cluster) AddNode(i int, nodeID string, extra ...string) *Node {
	c.tb.Helper()
	host := "127.1.1." + strconv.Itoa(i)
	nd := &Node{Index: i, Host: host, StateDir: filepath.Join(c.dir, "node"+strconv.Itoa(i))}
	nd.Addr = net.JoinHostPort(host, strconv.Itoa(freePort(c.tb, host)))
	// The node's daemons keep their files under its state directory, bind
	// to its address, and stop with servicemgr; whatever a killed
	// servicemgr left running is killed when the test ends.
	c.tb.Cleanup(func() {
		for _, pid := range PidsByCmdline(nd.StateDir + "/") {
			killAndWait(pid, 5*time.Second)
		}
	})
	args := c.common("--listen="+nd.Addr, "--state-dir="+nd.StateDir, "--name=node"+strconv.Itoa(i),
		"--session-ttl=10s", "--run-dir="+filepath.Join(nd.StateDir, "run"), "--log-dir="+filepath.Join(nd.StateDir, "log"),
		"--brick-bind-address="+host, "--stop-daemons-on-exit", "--daemon-stop-timeout=5s")
	if nodeID != "" {
		args = append(args, "--node-id="+nodeID)
	}
	args = append(args, c.nodeArgs...)
	args = append(args, extra...)
	nd.Servicemgr = c.proc("servicemgrd-"+strconv.Itoa(i), "servicemgrd", args...)
	if err := nd.Servicemgr.Start(); err != nil {
		c.tb.Fatal(err)
	}
	nd.MgmtAddr = net.JoinHostPort(host, "24007")
	nd.PortmapAddr = net.JoinHostPort(host, strconv.Itoa(freePort(c.tb, host)))
	pargs := c.common("--listen="+nd.PortmapAddr, "--mgmt-listen="+nd.MgmtAddr, "--state-dir="+nd.StateDir,
		"--session-ttl=10s")
	if nodeID != "" {
		pargs = append(pargs, "--node-id="+nodeID)
	}
	nd.Portmap = c.proc("portmapd-"+strconv.Itoa(i), "portmapd", pargs...)
	if err := nd.Portmap.Start(); err != nil {
		c.tb.Fatal(err)
	}
	c.Nodes = append(c.Nodes, nd)
	return nd
}

// Gdctl runs the gdctl binary against the cluster's gateway.
func (c *Cluster) Gdctl(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "gdctl"), append([]string{"--endpoint=" + c.REST}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Do sends a REST request to the gateway and returns the status and body.
func (c *Cluster) Do(method, path, body string) (int, []byte) {
	c.tb.Helper()
	code, _, b := c.DoHeader(method, path, body)
	return code, b
}

// DoHeader is Do that also returns the response headers.
func (c *Cluster) DoHeader(method, path, body string) (int, http.Header, []byte) {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.REST+path, bytes.NewBufferString(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.Bytes()
}
