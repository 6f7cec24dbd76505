package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/libs/volgen"
	"github.com/glusterd-ng/glusterd-ng/services/store"
	"github.com/glusterd-ng/glusterd-ng/tools/bench/glusterd"
)

// rpcConn is a management RPC client connection, as a GlusterFS process opens one.
type rpcConn struct {
	nc  net.Conn
	rr  *sunrpc.RecordReader
	xid uint32
}

func dialRPC(addr string) (*rpcConn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rpcConn{nc: nc, rr: sunrpc.NewRecordReader(bufio.NewReader(nc), 0)}, nil
}

// call sends one call and waits for its reply.
func (c *rpcConn) call(prog, vers, proc uint32, args gluster.Body) ([]byte, error) {
	c.xid++
	m := &sunrpc.CallMsg{XID: c.xid, RPCVers: 2, Program: prog, Version: vers, Procedure: proc, Cred: sunrpc.NewAuthGlusterFSv2(), Args: args.Marshal()}
	if err := sunrpc.WriteRecord(c.nc, m.Marshal()); err != nil {
		return nil, err
	}
	for {
		rec, err := c.rr.ReadRecord()
		if err != nil {
			return nil, err
		}
		msg, err := sunrpc.DecodeMessage(rec)
		if err != nil {
			return nil, err
		}
		if msg.Reply != nil && msg.Reply.XID == c.xid {
			return msg.Reply.Results, nil
		}
	}
}

// rpcRun runs `workers` connections calling op for d. With rate 0 each
// connection sends its next request when the reply arrives (a closed loop:
// the server's capacity); otherwise together they send `rate` requests per
// second on a fixed schedule (an open loop, so both servers see the same
// load). Latency is measured from when each request was due, so a stalled
// server is not let off (no coordinated omission).
func rpcRun(addr string, workers, rate int, d time.Duration, op func(*rpcConn) error) (sample, error) {
	var (
		mu   sync.Mutex
		all  []time.Duration
		ferr error
		wg   sync.WaitGroup
	)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(int64(time.Second) * int64(workers) / int64(rate))
	}
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialRPC(addr)
			if err != nil {
				mu.Lock()
				ferr = err
				mu.Unlock()
				return
			}
			defer c.nc.Close()
			var lat []time.Duration
			due := start.Add(interval * time.Duration(w) / time.Duration(workers))
			for {
				if rate == 0 {
					due = time.Now()
				}
				if due.Sub(start) >= d {
					break
				}
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				if err := op(c); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(due))
				due = due.Add(interval)
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return sample{lat: all, elapsed: time.Since(start)}, ferr
}

func portByBrick(brick string) func(*rpcConn) error {
	return func(c *rpcConn) error {
		res, err := c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: brick})
		if err != nil {
			return err
		}
		var r gluster.PortByBrickReply
		if err := r.Unmarshal(res); err != nil || r.OpRet != 0 {
			return fmt.Errorf("PORTBYBRICK %s: op_ret %d (%v)", brick, r.OpRet, err)
		}
		return nil
	}
}

func getSpec(key string) func(*rpcConn) error {
	// The xdata every GlusterFS 10 client sends.
	var xdata gluster.Dict
	xdata.SetString("min-op-version", "1")
	xdata.SetString("max-op-version", "100000")
	return func(c *rpcConn) error {
		res, err := c.call(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: key, Xdata: xdata})
		if err != nil {
			return err
		}
		var r gluster.GetSpecReply
		if err := r.Unmarshal(res); err != nil || r.OpRet <= 0 {
			return fmt.Errorf("GETSPEC %s: op_ret %d (%v)", key, r.OpRet, err)
		}
		return nil
	}
}

// rpcSection measures PORTBYBRICK and GETSPEC against our portmap and against
// stock glusterd on the same machine, in the same run.
func rpcSection(ctx context.Context, binDir string, workers int, d time.Duration) (string, error) {
	dir, err := os.MkdirTemp("", "bench-rpc-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	ours, brick, err := startOurPortmap(ctx, binDir, dir)
	if err != nil {
		return "", err
	}
	type target struct{ name, addr, brick string }
	targets := []target{{"glusterd-ng portmap", ours, brick}}
	note := ""
	if err := glusterd.Available(); err != nil {
		note = fmt.Sprintf("Stock glusterd not measured: %v.\n\n", err)
	} else {
		addr, gbrick, stop, err := startStockVolume(ctx, filepath.Join(dir, "gd"))
		if err != nil {
			note = fmt.Sprintf("Stock glusterd could not be set up: %v.\n\n", err)
		} else {
			defer stop()
			targets = append(targets, target{"stock glusterd 10.3", addr, gbrick})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## GlusterFS management RPC: PORTBYBRICK and GETSPEC\n\n%s. A Go load generator opens %d connections (as %d GlusterFS processes would) and sends each request back to back for %s per row; GETSPEC asks for a 1-brick distribute volume's client volfile (key `/gv0`), PORTBYBRICK for its signed-in brick. Target: at least glusterd's throughput at no worse p99. First each server at its capacity (closed loop: every connection sends its next request when the reply arrives), then both at the same fixed load.\n\n", machine(), workers, workers, d)
	b.WriteString(note)
	b.WriteString("| request | server | requests/s | p50 | p99 | vs glusterd (throughput) |\n|---|---|---|---|---|---|\n")
	for _, op := range []struct {
		name string
		fn   func(t target) func(*rpcConn) error
	}{
		{"PORTBYBRICK", func(t target) func(*rpcConn) error { return portByBrick(t.brick) }},
		{"GETSPEC", func(t target) func(*rpcConn) error { return getSpec("/gv0") }},
	} {
		var base float64
		rows := make([]string, 0, len(targets))
		results := make([]sample, len(targets))
		for i, t := range targets {
			s, err := rpcRun(t.addr, workers, 0, d, op.fn(t))
			if err != nil {
				return "", fmt.Errorf("%s against %s: %w", op.name, t.name, err)
			}
			results[i] = s
			if strings.HasPrefix(t.name, "stock") {
				base = s.opsPerSec()
			}
		}
		for i, t := range targets {
			s := results[i]
			ratio := "–"
			if base > 0 {
				ratio = fmt.Sprintf("%.2f×", s.opsPerSec()/base)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %.0f | %s | %s | %s |\n", op.name, t.name, s.opsPerSec(), ms(s.pct(.5)), ms(s.pct(.99)), ratio))
		}
		b.WriteString(strings.Join(rows, ""))
	}
	rate := 10000
	fmt.Fprintf(&b, "\nLatency at equal load: the same %d connections send %d requests/s in total on a fixed schedule for %s (an open loop, well under either server's capacity); latency is measured from when each request was due.\n\n", workers, rate, d)
	b.WriteString("| request | server | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|\n")
	for _, op := range []struct {
		name string
		fn   func(t target) func(*rpcConn) error
	}{
		{"PORTBYBRICK", func(t target) func(*rpcConn) error { return portByBrick(t.brick) }},
		{"GETSPEC", func(t target) func(*rpcConn) error { return getSpec("/gv0") }},
	} {
		for _, t := range targets {
			s, err := rpcRun(t.addr, workers, rate, d, op.fn(t))
			if err != nil {
				return "", fmt.Errorf("paced %s against %s: %w", op.name, t.name, err)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", op.name, t.name, ms(s.pct(.5)), ms(s.pct(.99)), ms(s.pct(.999)), ms(s.pct(1)))
		}
	}
	b.WriteString("\n")
	return b.String(), nil
}

// startOurPortmap runs Consul, a store and a portmapd process on
// 127.1.3.1:24007 (its own process, like stock glusterd) with a one-brick
// volume whose brick has signed in.
func startOurPortmap(ctx context.Context, binDir, dir string) (string, string, error) {
	consul, err := testutil.StartConsul(filepath.Join(dir, "consul"))
	if err != nil {
		return "", "", err
	}
	go func() { <-ctx.Done(); consul.Stop() }()
	scfg := store.DefaultConfig()
	scfg.ConsulAddr, scfg.Listen, scfg.Register = consul.HTTPAddr, "127.0.0.1:0", false
	st, err := store.New(scfg, zap.NewNop(), nil)
	if err != nil {
		return "", "", err
	}
	go func() { _ = st.Run(ctx) }()
	mgmt := "127.1.3.1:24007"
	pm := exec.CommandContext(ctx, filepath.Join(binDir, "portmapd"), "--consul-addr="+consul.HTTPAddr,
		"--listen=127.1.3.1:24014", "--mgmt-listen="+mgmt, "--store-target="+st.Addr(),
		"--state-dir="+filepath.Join(dir, "node"), "--register=false", "--log-level=warn")
	pm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := pm.Start(); err != nil {
		return "", "", err
	}
	go func() { _ = pm.Wait() }()
	brick := "/bricks/gv0/b1"
	vol := &commonv1.Volume{Id: uuid.NewString(), Name: "gv0", Type: commonv1.VolumeType_DISTRIBUTE, State: commonv1.VolumeState_STARTED,
		Transport: "tcp", Options: volgen.DefaultOptions(commonv1.VolumeType_DISTRIBUTE),
		Subvolumes: []*commonv1.Subvolume{{Bricks: []*commonv1.Brick{{Id: uuid.NewString(), PeerId: uuid.NewString(), Host: "127.1.3.1", Path: brick}}}}}
	conn, err := grpcx.Dial(st.Addr())
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	sc := storev1.NewStoreServiceClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = sc.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: vol}}})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", "", err
	}
	var c *rpcConn
	for {
		if c, err = dialRPC(mgmt); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", "", err
	}
	defer c.nc.Close()
	if _, err := c.call(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignin, &gluster.SigninRequest{Brick: brick, Port: 49999, PID: 1}); err != nil {
		return "", "", err
	}
	// The cluster record (with its secret) is written once the store is up.
	for time.Now().Before(deadline) {
		if getSpec("/gv0")(c) == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return mgmt, brick, getSpec("/gv0")(c)
}

// startStockVolume runs one stock glusterd with a started 1-brick volume gv0.
func startStockVolume(ctx context.Context, dir string) (addr, brick string, stop func(), err error) {
	ins, err := glusterd.StartCluster(ctx, 1, dir)
	if err != nil {
		return "", "", nil, err
	}
	stop = func() {
		_, _ = ins[0].CLI(context.Background(), "volume", "stop", "gv0", "force")
		_ = glusterd.StopAll(ins)
	}
	brick = filepath.Join(dir, "brick-gv0")
	if out, err := ins[0].CLI(ctx, "volume", "create", "gv0", ins[0].Addr+":"+brick, "force"); err != nil {
		stop()
		return "", "", nil, fmt.Errorf("volume create: %v: %s", err, out)
	}
	if out, err := ins[0].CLI(ctx, "volume", "start", "gv0"); err != nil {
		stop()
		return "", "", nil, fmt.Errorf("volume start: %v: %s", err, out)
	}
	addr = net.JoinHostPort(ins[0].Addr, "24007")
	c, err := dialRPC(addr)
	if err != nil {
		stop()
		return "", "", nil, err
	}
	defer c.nc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for portByBrick(brick)(c) != nil {
		if time.Now().After(deadline) {
			stop()
			return "", "", nil, fmt.Errorf("stock glusterd's brick did not sign in within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	return addr, brick, stop, nil
}
