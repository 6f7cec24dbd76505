package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	peerv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/peer/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/services/peer"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

// peerRun is one pool built node by node.
type peerRun struct {
	n        int
	adds     []time.Duration
	nth      []time.Duration // re-adds of the Nth node into the pool of N-1
	raftOps  uint64
	elapsed  time.Duration
	rssPerMB float64
}

// nodeHost is the loopback address of bench node i (1-based).
func nodeHost(i int) string { return fmt.Sprintf("127.1.%d.%d", 2+(i-1)/200, (i-1)%200+1) }

// raftApplied reads Consul's raft applied index: every write to Consul's
// state (KV, sessions, catalog, health changes) moves it by one.
func raftApplied(consulAddr string) (uint64, error) {
	resp, err := http.Get("http://" + consulAddr + "/v1/agent/self")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var self struct {
		Stats map[string]map[string]string
	}
	if err := json.NewDecoder(resp.Body).Decode(&self); err != nil {
		return 0, err
	}
	var idx uint64
	_, err = fmt.Sscan(self.Stats["raft"]["applied_index"], &idx)
	return idx, err
}

// peerBench builds pools of each size in ns: every node a servicemgr
// process on its own loopback address, added one by one through the peer
// service, timing each add and counting Consul writes.
func peerBench(ctx context.Context, binDir string, ns []int) ([]peerRun, error) {
	dir, err := os.MkdirTemp("", "bench-peer-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	consul, err := testutil.StartConsul(filepath.Join(dir, "consul"))
	if err != nil {
		return nil, err
	}
	defer consul.Stop()
	var runs []peerRun
	for _, n := range ns {
		r, err := onePool(ctx, binDir, dir, consul.HTTPAddr, n)
		if err != nil {
			return nil, fmt.Errorf("pool of %d: %w", n, err)
		}
		runs = append(runs, r)
		fmt.Fprintf(os.Stderr, "peer bench: N=%d done in %s\n", n, r.elapsed)
	}
	return runs, nil
}

func onePool(ctx context.Context, binDir, dir, consulAddr string, n int) (peerRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prefix := fmt.Sprintf("bench-peer-%d/", n)
	scfg := store.DefaultConfig()
	scfg.ConsulAddr, scfg.Listen, scfg.KVPrefix = consulAddr, "127.0.0.1:0", prefix
	st, err := store.New(scfg, zap.NewNop(), nil)
	if err != nil {
		return peerRun{}, err
	}
	go func() { _ = st.Run(ctx) }()
	pcfg := peer.DefaultConfig()
	pcfg.ConsulAddr, pcfg.Listen, pcfg.StoreTarget, pcfg.Register = consulAddr, "127.0.0.1:0", st.Addr(), false
	ps, err := peer.New(pcfg, zap.NewNop(), nil)
	if err != nil {
		return peerRun{}, err
	}
	go func() { _ = ps.Run(ctx) }()

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	for i := 1; i <= n; i++ {
		cmd := exec.Command(filepath.Join(binDir, "servicemgrd"), "--consul-addr="+consulAddr,
			"--listen="+nodeHost(i)+":24013", "--store-target="+st.Addr(), "--check-interval=10s",
			fmt.Sprintf("--state-dir=%s/n%d-%d", dir, n, i), fmt.Sprintf("--name=node%d", i), "--log-level=warn")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return peerRun{}, err
		}
		procs = append(procs, cmd)
	}
	// Wait until every node is registered and passing in Consul.
	kvc, _ := consulClient(consulAddr)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		addrs, err := discovery.Lookup(ctx, kvc, "servicemgr")
		if err == nil && len(addrs) >= n {
			break
		}
		if time.Now().After(deadline) {
			return peerRun{}, fmt.Errorf("only %d of %d nodes up after 3 minutes", len(addrs), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	conn, err := grpcx.Dial(ps.Addr())
	if err != nil {
		return peerRun{}, err
	}
	defer conn.Close()
	pc := peerv1.NewPeerServiceClient(conn)
	before, err := raftApplied(consulAddr)
	if err != nil {
		return peerRun{}, err
	}
	r := peerRun{n: n}
	start := time.Now()
	for i := 1; i <= n; i++ {
		t := time.Now()
		if _, err := pc.AddPeer(ctx, &peerv1.AddPeerRequest{Address: nodeHost(i)}); err != nil {
			return peerRun{}, fmt.Errorf("add node %d: %w", i, err)
		}
		r.adds = append(r.adds, time.Since(t))
	}
	r.elapsed = time.Since(start)
	after, err := raftApplied(consulAddr)
	if err != nil {
		return peerRun{}, err
	}
	r.raftOps = after - before
	// The cost of adding the Nth node, measured 20 times: detach it, add it again.
	last := nodeHost(n)
	for range 20 {
		if _, err := pc.RemovePeer(ctx, &peerv1.RemovePeerRequest{Peer: last}); err != nil {
			return peerRun{}, fmt.Errorf("remove node %d: %w", n, err)
		}
		t := time.Now()
		if _, err := pc.AddPeer(ctx, &peerv1.AddPeerRequest{Address: last}); err != nil {
			return peerRun{}, fmt.Errorf("re-add node %d: %w", n, err)
		}
		r.nth = append(r.nth, time.Since(t))
	}
	var rss float64
	for _, p := range procs {
		rss += rssMB(p.Process.Pid)
	}
	r.rssPerMB = rss / float64(len(procs))
	return r, nil
}

// rssMB reads a process's resident set size in MiB.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmRSS:"), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

// quantile returns the q-quantile of d.
func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}
