// Package testutil starts real dependencies for tests: a Consul agent from the
// pinned build on free ports, plus small helpers such as Await.
package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Consul is a Consul server agent run for tests, with its own data directory
// and ports so it survives Stop/Start like a real server; alone it is a
// single-server cluster, several make a cluster (NewConsulCluster).
type Consul struct {
	// HTTPAddr is "127.0.0.1:port" of the HTTP API.
	HTTPAddr string
	// Client talks to the agent.
	Client *api.Client

	bin       string
	dataDir   string
	ports     map[string]int
	bootstrap int      // -bootstrap-expect
	join      []string // serf LAN addresses of the other servers
	mu        sync.Mutex
	cmd       *exec.Cmd
	out       *syncBuffer
	exited    chan struct{}
}

// syncBuffer is an output buffer safe to read while a process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ConsulBinary finds the pinned Consul build: $CONSUL_BIN, else bin/consul at
// the repository root, else consul on PATH.
func ConsulBinary() (string, error) {
	if p := os.Getenv("CONSUL_BIN"); p != "" {
		return p, nil
	}
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, "bin", "consul")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p, nil
	}
	return "", errors.New("no consul binary: run `make consul` (or set CONSUL_BIN)")
}

// RepoRoot walks up from the working directory to the directory holding go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 for a test to bind (see FreePortOn).
func FreePort() (int, error) { return FreePortOn("127.0.0.1") }

// NewConsul starts a Consul server for one test and stops it at cleanup.
func NewConsul(tb testing.TB) *Consul {
	tb.Helper()
	dir, err := os.MkdirTemp("", "consul-test-")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := StartConsul(dir)
	if err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Stop()
		os.RemoveAll(dir)
	})
	return c
}

// StartConsul starts a single-server Consul agent keeping its data in dir
// and waits until it has a leader and accepts writes.
//
// Its ports come from FreePort, which no other test takes meanwhile; should
// something else bind one first all the same, Consul exits at start and is
// started again on other ports, with its data directory emptied.
func StartConsul(dir string) (*Consul, error) {
	for attempt := 1; ; attempt++ {
		c, err := newConsul(dir, 1)
		if err != nil {
			return nil, err
		}
		err = c.Start()
		if err == nil {
			return c, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
		if err := c.Wipe(); err != nil {
			return nil, err
		}
	}
}

func newConsul(dir string, bootstrap int) (*Consul, error) {
	bin, err := ConsulBinary()
	if err != nil {
		return nil, err
	}
	c := &Consul{bin: bin, dataDir: dir, ports: map[string]int{}, bootstrap: bootstrap}
	for _, name := range []string{"http", "serf_lan", "serf_wan", "server"} {
		if c.ports[name], err = FreePort(); err != nil {
			return nil, err
		}
	}
	c.HTTPAddr = "127.0.0.1:" + strconv.Itoa(c.ports["http"])
	cfg := api.DefaultConfig()
	cfg.Address = c.HTTPAddr
	if c.Client, err = api.NewClient(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// NewConsulCluster starts n Consul servers that form one cluster, waits for a
// leader, and stops them at cleanup.
func NewConsulCluster(tb testing.TB, n int) []*Consul {
	tb.Helper()
	var servers []*Consul
	for i := 0; i < n; i++ {
		dir, err := os.MkdirTemp("", "consul-cluster-")
		if err != nil {
			tb.Fatal(err)
		}
		c, err := newConsul(dir, n)
		if err != nil {
			tb.Fatal(err)
		}
		servers = append(servers, c)
		tb.Cleanup(func() {
			c.Kill()
			os.RemoveAll(dir)
		})
	}
	for i, c := range servers {
		for j, o := range servers {
			if i != j {
				c.join = append(c.join, "127.0.0.1:"+strconv.Itoa(o.ports["serf_lan"]))
			}
		}
	}
	errc := make(chan error, n)
	for _, c := range servers {
		go func() { errc <- c.Start() }()
	}
	for range servers {
		if err := <-errc; err != nil {
			tb.Fatal(err)
		}
	}
	return servers
}

// Leader returns the server that is raft leader now, or nil.
func Leader(servers []*Consul) *Consul {
	for _, c := range servers {
		if !c.Running() {
			continue
		}
		leader, err := c.Client.Status().Leader()
		if err != nil || leader == "" {
			continue
		}
		for _, s := range servers {
			if leader == "127.0.0.1:"+strconv.Itoa(s.ports["server"]) {
				return s
			}
		}
	}
	return nil
}

// Pid returns the agent's process id, or 0 while it is not running.
func (c *Consul) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Running reports whether the agent process is up.
func (c *Consul) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd != nil
}

// Start (re)starts the agent on the same ports and data and waits until the
// cluster has a leader and this agent accepts writes.
func (c *Consul) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("consul already running")
	}
	hcl := fmt.Sprintf(`ports { http = %d, dns = -1, grpc = -1, grpc_tls = -1, serf_lan = %d, serf_wan = %d, server = %d }
performance { raft_multiplier = 1 }
connect { enabled = false }
`, c.ports["http"], c.ports["serf_lan"], c.ports["serf_wan"], c.ports["server"])
	args := []string{"agent", "-server", "-bootstrap-expect=" + strconv.Itoa(c.bootstrap),
		"-data-dir=" + c.dataDir, "-bind=127.0.0.1", "-client=127.0.0.1",
		"-node=test-" + strconv.Itoa(c.ports["http"]), "-log-level=warn",
		"-disable-host-node-id", "-hcl", hcl}
	for _, j := range c.join {
		args = append(args, "-retry-join="+j)
	}
	cmd := exec.Command(c.bin, args...)
	c.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start consul: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	c.cmd, c.exited = cmd, exited
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			c.cmd = nil
			return fmt.Errorf("consul exited at start: %s", c.out.String())
		default:
		}
		if leader, err := c.Client.Status().Leader(); err == nil && leader != "" {
			if _, err := c.Client.KV().Put(&api.KVPair{Key: "testutil/ready", Value: []byte("1")}, nil); err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("consul did not elect a leader in 60s: %s", c.out.String())
}

// Wipe stops the agent and deletes its data, as a server rebuilt from
// scratch; Start brings it back empty (its raft index starts again low).
func (c *Consul) Wipe() error {
	c.Kill()
	entries, err := os.ReadDir(c.dataDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(c.dataDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the agent gracefully (SIGTERM, then SIGKILL after 10 s).
func (c *Consul) Stop() { c.signal(syscall.SIGTERM) }

// Kill stops the agent at once, as a crash would.
func (c *Consul) Kill() { c.signal(syscall.SIGKILL) }

func (c *Consul) signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

// MainWithConsul runs a test package's tests with one Consul server shared by
// the package, stored in *c; use it from TestMain and give each test its own
// key prefix.
func MainWithConsul(m *testing.M, c **Consul) int {
	dir, err := os.MkdirTemp("", "consul-pkg-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	started, err := StartConsul(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testutil:", err)
		return 1
	}
	defer started.Stop()
	*c = started
	return m.Run()
}
