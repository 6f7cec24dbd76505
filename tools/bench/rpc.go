package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
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
	// wbuf and rbuf are reused by send, so the load generator allocates
	// nothing per request and takes no CPU from the server under test
	// for garbage collection.
	wbuf, rbuf []byte
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
	res, err := c.send(newCallRecord(prog, vers, proc, args))
	if err != nil {
		return nil, err
	}
	return bytes.Clone(res), nil
}

// newCallRecord encodes a call, record marker included, to be sent by send.
func newCallRecord(prog, vers, proc uint32, args gluster.Body) []byte {
	m := &sunrpc.CallMsg{RPCVers: 2, Program: prog, Version: vers, Procedure: proc, Cred: sunrpc.NewAuthGlusterFSv2(), Args: args.Marshal()}
	rec, err := sunrpc.AppendRecord(nil, m.Marshal())
	if err != nil {
		panic(err) // a small call always fits
	}
	return rec
}

// send sends the call encoded in rec (newCallRecord) under the next xid,
// waits for its reply and returns the reply's results, which are valid
// until the next send.
func (c *rpcConn) send(rec []byte) ([]byte, error) {
	c.xid++
	c.wbuf = append(c.wbuf[:0], rec...)
	binary.BigEndian.PutUint32(c.wbuf[4:], c.xid)
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return nil, err
	}
	for {
		var err error
		if c.rbuf, err = c.rr.ReadRecordInto(c.rbuf); err != nil {
			return nil, err
		}
		xid, res, err := successResults(c.rbuf)
		if err != nil {
			return nil, err
		}
		if xid == c.xid {
			return res, nil
		}
	}
}

// successResults reads a SUCCESS reply's xid and results without
// allocating; any other message is an error.
func successResults(b []byte) (uint32, []byte, error) {
	u32 := func(off int) uint32 {
		if off+4 > len(b) {
			return ^uint32(0)
		}
		return binary.BigEndian.Uint32(b[off:])
	}
	// xid, msg_type REPLY, MSG_ACCEPTED, verifier (flavour, length, body), SUCCESS.
	if u32(4) != uint32(sunrpc.MsgReply) || u32(8) != uint32(sunrpc.MsgAccepted) {
		return 0, nil, fmt.Errorf("not an accepted reply: % x", b[:min(len(b), 16)])
	}
	n := u32(16)
	if n > sunrpc.MaxAuthBodySize {
		return 0, nil, fmt.Errorf("reply verifier of %d bytes", n)
	}
	off := 20 + int(n+3)&^3
	if u32(off) != uint32(sunrpc.Success) {
		return 0, nil, fmt.Errorf("reply accept_stat %d", u32(off))
	}
	return u32(0), b[off+4:], nil
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
			lat := make([]time.Duration, 0, 1<<16)
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
	rec := newCallRecord(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, &gluster.PortByBrickRequest{Brick: brick})
	return func(c *rpcConn) error {
		res, err := c.send(rec)
		if err != nil {
			return err
		}
		// pmap_port_by_brick_rsp: op_ret, op_errno, status, port.
		if len(res) != 16 || binary.BigEndian.Uint32(res) != 0 || binary.BigEndian.Uint32(res[12:]) == 0 {
			return fmt.Errorf("PORTBYBRICK %s: reply % x", brick, res)
		}
		return nil
	}
}

func getSpec(key string) func(*rpcConn) error {
	// The xdata every GlusterFS 10 client sends.
	var xdata gluster.Dict
	xdata.SetString("min-op-version", "1")
	xdata.SetString("max-op-version", "100000")
	rec := newCallRecord(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, &gluster.GetSpecRequest{Flags: 1, Key: key, Xdata: xdata})
	return func(c *rpcConn) error {
		res, err := c.send(rec)
		if err != nil {
			return err
		}
		// gf_getspec_rsp: op_ret (the volfile's length), op_errno, spec, xdata.
		if len(res) < 12 {
			return fmt.Errorf("GETSPEC %s: short reply of %d bytes", key, len(res))
		}
		opRet, n := int32(binary.BigEndian.Uint32(res)), binary.BigEndian.Uint32(res[8:])
		if opRet <= 0 || uint32(opRet) != n || int(n) > len(res)-12 {
			return fmt.Errorf("GETSPEC %s: op_ret %d, spec of %d bytes", key, opRet, n)
		}
		return nil
	}
}

// rpcRoundCount is how many rounds a measurement of each server is split into.
const rpcRoundCount = 5

// rpcRounds measures n servers for d each, in rpcRoundCount rounds that
// alternate between them (the order rotating each round, as interleave
// does), after one unmeasured warm-up round of each; it returns each
// server's pooled sample.
func rpcRounds(n int, run func(i int, d time.Duration) (sample, error), d time.Duration) ([]sample, error) {
	round := d / rpcRoundCount
	for i := range n {
		if _, err := run(i, round); err != nil {
			return nil, err
		}
	}
	out := make([]sample, n)
	for r := range rpcRoundCount {
		for k := range n {
			i := (k + r) % n
			s, err := run(i, round)
			if err != nil {
				return nil, err
			}
			out[i].lat = append(out[i].lat, s.lat...)
			out[i].elapsed += s.elapsed
		}
	}
	return out, nil
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
	fmt.Fprintf(&b, "## GlusterFS management RPC: PORTBYBRICK and GETSPEC\n\n%s. A Go load generator opens %d connections (as %d GlusterFS processes would; it allocates nothing per request, so its garbage collector takes no CPU from either server) and sends each request back to back for %s per row, in %d rounds of %s that alternate between the servers (the order rotating each round, after an unmeasured warm-up round of each), so that drift in the machine falls on both alike; GETSPEC asks for a 1-brick distribute volume's client volfile (key `/gv0`), PORTBYBRICK for its signed-in brick. Target: at least glusterd's throughput at no worse p99. First each server at its capacity (closed loop: every connection sends its next request when the reply arrives), then both at the same fixed load.\n\n", machine(), workers, workers, d, rpcRoundCount, d/rpcRoundCount)
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
		results, err := rpcRounds(len(targets), func(i int, d time.Duration) (sample, error) {
			s, err := rpcRun(targets[i].addr, workers, 0, d, op.fn(targets[i]))
			if err != nil {
				return s, fmt.Errorf("%s against %s: %w", op.name, targets[i].name, err)
			}
			return s, nil
		}, d)
		if err != nil {
			return "", err
		}
		for i, t := range targets {
			if strings.HasPrefix(t.name, "stock") {
				base = results[i].opsPerSec()
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
	fmt.Fprintf(&b, "\nLatency at equal load: the same %d connections send %d requests/s in total on a fixed schedule for %s (an open loop, well under either server's capacity; in the same alternating rounds); latency is measured from when each request was due.\n\n", workers, rate, d)
	b.WriteString("| request | server | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|\n")
	for _, op := range []struct {
		name string
		fn   func(t target) func(*rpcConn) error
	}{
		{"PORTBYBRICK", func(t target) func(*rpcConn) error { return portByBrick(t.brick) }},
		{"GETSPEC", func(t target) func(*rpcConn) error { return getSpec("/gv0") }},
	} {
		results, err := rpcRounds(len(targets), func(i int, d time.Duration) (sample, error) {
			s, err := rpcRun(targets[i].addr, workers, rate, d, op.fn(targets[i]))
			if err != nil {
				return s, fmt.Errorf("paced %s against %s: %w", op.name, targets[i].name, err)
			}
			return s, nil
		}, d)
		if err != nil {
			return "", err
		}
		for i, t := range targets {
			s := results[i]
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
