// Command devcluster runs a whole glusterd-ng cluster on one machine for
// development (`make run`): a single-server Consul agent keeping its data in
// the state directory, and every service that exists, each logging to a file.
// Ctrl-C stops them in reverse order; a second run finds the same state.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

type cluster struct {
	bin, state string
	procs      []*proc
	exited     chan string
}

func main() {
	var (
		bin        = flag.String("bin", "bin", "directory holding consul, stored and gatewayd")
		state      = flag.String("state", ".run", "directory keeping the cluster's state and logs")
		nodes      = flag.Int("nodes", 1, "storage nodes to run on 127.1.1.1..N")
		consulPort = flag.Int("consul-port", 8500, "Consul HTTP port on 127.0.0.1")
		restAddr   = flag.String("rest", "127.0.0.1:24008", "REST gateway address")
		storeAddr  = flag.String("store", "127.0.0.1:24011", "store gRPC address")
		peerAddr   = flag.String("peer", "127.0.0.1:24010", "peer service gRPC address")
		orchAddr   = flag.String("orchestrator", "127.0.0.1:24012", "orchestrator gRPC address")
	)
	flag.Parse()
	if err := run(*bin, *state, *nodes, *consulPort, *restAddr, *storeAddr, *peerAddr, *orchAddr); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run(bin, state string, nodes, consulPort int, restAddr, storeAddr, peerAddr, orchAddr string) error {
	var err error
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if state, err = filepath.Abs(state); err != nil {
		return err
	}
	if nodes < 1 {
		return fmt.Errorf("-nodes must be at least 1")
	}
	for _, d := range []string{"consul", "logs"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o750); err != nil {
			return err
		}
	}
	lock, err := os.OpenFile(filepath.Join(state, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another devcluster is using %s", state)
	}
	consulAddr := fmt.Sprintf("127.0.0.1:%d", consulPort)
	addrs := []string{consulAddr, restAddr, storeAddr, peerAddr, orchAddr}
	for i := 1; i <= nodes; i++ {
		addrs = append(addrs, nodeAddr(i), fmt.Sprintf("127.1.1.%d:24007", i), fmt.Sprintf("127.1.1.%d:24014", i))
	}
	for _, a := range addrs {
		if l, err := net.Listen("tcp", a); err != nil {
			return fmt.Errorf("%s is in use (is another cluster or glusterd running?): %w", a, err)
		} else {
			l.Close()
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cluster{bin: bin, state: state, exited: make(chan string, 8)}
	defer c.stopAll()

	fmt.Printf("starting Consul (data in %s)\n", filepath.Join(state, "consul"))
	hcl := fmt.Sprintf(`ports { http = %d, dns = -1, grpc = -1, grpc_tls = -1 }
performance { raft_multiplier = 1 }
connect { enabled = false }
ui_config { enabled = true }`, consulPort)
	if err := c.start("consul", "agent", "-server", "-bootstrap-expect=1", "-data-dir="+filepath.Join(state, "consul"),
		"-bind=127.0.0.1", "-client=127.0.0.1", "-node=glusterd-ng-dev", "-log-level=warn", "-hcl", hcl); err != nil {
		return err
	}
	if err := waitHTTP(ctx, c, "http://"+consulAddr+"/v1/status/leader", func(b []byte) bool { return len(b) > 4 }); err != nil {
		return fmt.Errorf("consul: %w", err)
	}
	common := []string{"--consul-addr=" + consulAddr, "--log-format=json", "--check-interval=2s"}
	fmt.Println("starting store")
	if err := c.start("stored", append(common, "--listen="+storeAddr)...); err != nil {
		return err
	}
	fmt.Println("starting peer service")
	if err := c.start("peerd", append(common, "--listen="+peerAddr)...); err != nil {
		return err
	}
	fmt.Println("starting orchestrator")
	if err := c.start("orchestratord", append(common, "--listen="+orchAddr)...); err != nil {
		return err
	}
	for i := 1; i <= nodes; i++ {
		name := fmt.Sprintf("node%d", i)
		fmt.Printf("starting storage node %s on %s\n", name, nodeAddr(i))
		stateDir := filepath.Join(state, "nodes", name)
		host := fmt.Sprintf("127.1.1.%d", i)
		// The node's bricks keep their pid files and logs under its state
		// directory, listen on its address, and stop with Ctrl-C.
		if err := c.startAs("servicemgrd-"+name, "servicemgrd", append(common, "--listen="+nodeAddr(i),
			"--state-dir="+stateDir, "--name="+name, "--run-dir="+filepath.Join(stateDir, "run"),
			"--log-dir="+filepath.Join(stateDir, "log"), "--brick-bind-address="+host, "--stop-daemons-on-exit")...); err != nil {
			return err
		}
		if err := c.startAs("portmapd-"+name, "portmapd", append(common, "--listen="+host+":24014",
			"--mgmt-listen="+host+":24007", "--state-dir="+stateDir)...); err != nil {
			return err
		}
	}
	fmt.Println("starting gateway")
	if err := c.start("gatewayd", append(common, "--listen="+restAddr)...); err != nil {
		return err
	}
	if err := waitHTTP(ctx, c, "http://"+restAddr+"/readyz", nil); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	logs := filepath.Join(state, "logs")
	fmt.Printf(`
glusterd-ng is running; state is kept in %s
  REST API   http://%[2]s        curl -s http://%[2]s/v1/cluster
  OpenAPI    http://%[2]s/openapi.json
  Consul     http://%[3]s        consul kv get -recurse glusterd-ng/
  logs       %[4]s/
`, state, restAddr, consulAddr, logs)
	fmt.Printf("  nodes      %d storage node(s) on 127.1.1.1..%d (servicemgr on port 24013, GlusterFS management RPC on 24007)\n", nodes, nodes)
	fmt.Printf("\nBuild the pool:  %s peer probe 127.1.1.1", filepath.Join(bin, "gdctl"))
	for i := 2; i <= nodes; i++ {
		fmt.Printf(" && %s peer probe 127.1.1.%d", filepath.Join(bin, "gdctl"), i)
	}
	fmt.Printf("\nThen:            %s pool list\n", filepath.Join(bin, "gdctl"))
	fmt.Printf("A volume:        %s volume create gv0 127.1.1.1:%s force && %[1]s volume start gv0\n",
		filepath.Join(bin, "gdctl"), filepath.Join(state, "bricks", "gv0-b1"))
	fmt.Printf("Mount it:        mkdir -p /mnt/gv0 && mount -t glusterfs 127.1.1.1:/gv0 /mnt/gv0\n\n")
	fmt.Println("Ctrl-C stops everything.")
	select {
	case <-ctx.Done():
		fmt.Println("\nstopping")
		return nil
	case name := <-c.exited:
		return fmt.Errorf("%s exited unexpectedly; see %s", name, filepath.Join(logs, name+".log"))
	}
}

// nodeAddr is storage node i's servicemgr address.
func nodeAddr(i int) string { return fmt.Sprintf("127.1.1.%d:24013", i) }

// start runs bin/name in its own process group (so Ctrl-C reaches only
// devcluster, which then stops the services in order), logging to a file.
func (c *cluster) start(name string, args ...string) error { return c.startAs(name, name, args...) }

// startAs is start with a process name that differs from the binary's.
func (c *cluster) startAs(name, binary string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(c.state, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.bin, binary), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.done <- err
		c.exited <- name
	}()
	c.procs = append(c.procs, p)
	return nil
}

// stopAll stops the processes in reverse start order: SIGTERM, then SIGKILL after 15 s.
func (c *cluster) stopAll() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if p.cmd.ProcessState != nil {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		fmt.Printf("stopped %s\n", p.name)
	}
}

func waitHTTP(ctx context.Context, c *cluster, url string, ok func([]byte) bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case name := <-c.exited:
			return fmt.Errorf("%s exited during start; see its log in %s", name, filepath.Join(c.state, "logs"))
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		buf := make([]byte, 256)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && (ok == nil || ok(buf[:n])) {
			return nil
		}
	}
	return errors.New("not ready after 60s")
}
