package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// benchVolume is a replica-3 volume record of realistic size.
func benchVolume(name string) *storev1.Resource {
	v := &commonv1.Volume{Name: name, Type: commonv1.VolumeType_DISTRIBUTED_REPLICATE, ReplicaCount: 3,
		State: commonv1.VolumeState_STARTED, Transport: "tcp", Options: map[string]string{
			"performance.cache-size": "64MB", "cluster.quorum-type": "auto", "network.ping-timeout": "42"}}
	for s := range 2 {
		sv := &commonv1.Subvolume{}
		for b := range 3 {
			sv.Bricks = append(sv.Bricks, &commonv1.Brick{Id: fmt.Sprintf("00000000-0000-4000-8000-%012d", s*3+b),
				PeerId: fmt.Sprintf("10000000-0000-4000-8000-%012d", b), Host: fmt.Sprintf("node%d", b), Path: fmt.Sprintf("/bricks/%s/b%d", name, s*3+b)})
		}
		v.Subvolumes = append(v.Subvolumes, sv)
	}
	return &storev1.Resource{Body: &storev1.Resource_Volume{Volume: v}}
}

// storeClients are the numbers of concurrent clients the store bench
// measures with.
var storeClients = []int{1, 8}

type row struct {
	op        string
	raw, txn  sample
	st        sample
	rawWorker int
	// relay is the raw transaction through a relay process (writes only).
	relay sample
}

func storeBench(ctx context.Context, binDir string, n, writes int) (string, error) {
	dir, err := os.MkdirTemp("", "bench-consul-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	consul, err := testutil.StartConsul(dir)
	if err != nil {
		return "", err
	}
	defer consul.Stop()

	// The store runs as its own process, from the built binary, as it does
	// in a cluster: its runtime is not shared with the bench's clients.
	srv, err := startStored(ctx, binDir, dir, "stored", consul.HTTPAddr, "glusterd-ng/")
	if err != nil {
		return "", err
	}
	defer srv.stop()
	conn, err := grpcx.Dial(srv.addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	sc := storev1.NewStoreServiceClient(conn)
	// The raw columns go through a Consul client configured like the
	// store's own (libs/consulkv: same HTTP transport, same keep-alive pool),
	// so that the comparison is between the store and Consul, not between
	// two HTTP clients.
	rawClient, err := consulkv.New(consulkv.Config{Address: consul.HTTPAddr})
	if err != nil {
		return "", err
	}
	kv := rawClient.API().KV()
	txn := rawClient.API().Txn()
	// The same transactions through a relay process that only copies bytes
	// show what one more process between a client and Consul costs here
	// before any work is done in it.
	relay, err := startRelay(consul.HTTPAddr)
	if err != nil {
		return "", err
	}
	defer relay.stop()
	relayClient, err := consulkv.New(consulkv.Config{Address: relay.addr})
	if err != nil {
		return "", err
	}
	rtxn := relayClient.API().Txn()
	// protojson varies its whitespace from build to build; compacted, the
	// raw columns write the same bytes in every run.
	compact := func(m proto.Message) []byte {
		b, err := protojson.Marshal(m)
		if err != nil {
			panic(err)
		}
		var out bytes.Buffer
		if err := json.Compact(&out, b); err != nil {
			panic(err)
		}
		return out.Bytes()
	}
	value := compact(benchVolume("x").GetVolume())
	// Updates change the record (Consul skips writes of identical values).
	updated := func(name string) *storev1.Resource {
		r := benchVolume(name)
		r.GetVolume().Options["network.ping-timeout"] = "43"
		return r
	}
	value2 := compact(updated("x").GetVolume())

	// CPU time of every process on a write's path, read around each
	// measured run, shows where a 1-client write's time goes.
	meter := storeMeter(srv.cmd.Process.Pid, relay.cmd.Process.Pid, consul.Pid())

	var rows []row
	const rounds = 10
	for _, workers := range storeClients {
		tag := fmt.Sprintf("w%d", workers)
		rawVer := make([]uint64, n)
		stVer := make([]uint64, n)
		rawKey := func(i int) string { return fmt.Sprintf("bench-raw/%s/v%d", tag, i) }
		txnVers := make([]uint64, n)
		relayVers := make([]uint64, n)
		stName := func(i int) string { return fmt.Sprintf("%s-v%d", tag, i) }

		rawCreate := func(i int) error {
			ok, _, err := kv.CAS(&api.KVPair{Key: rawKey(i), Value: value}, nil)
			if err == nil && !ok {
				err = fmt.Errorf("raw create refused")
			}
			return err
		}
		// txnCASVia writes value to key i (suffixed) with a check-and-set
		// transaction through t, at the version vers[i] holds (0: create),
		// and keeps the new version there.
		txnCASVia := func(t *api.Txn, suffix string, vers []uint64, value []byte) func(int) error {
			return func(i int) error {
				ok, resp, _, err := t.Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: rawKey(i) + suffix, Value: value, Index: vers[i]}}}, nil)
				if err == nil && (!ok || resp.Results[0].KV.ModifyIndex == 0) {
					err = fmt.Errorf("raw txn CAS refused")
				}
				if err == nil {
					vers[i] = resp.Results[0].KV.ModifyIndex
				}
				return err
			}
		}
		txnCreate, relayCreate := txnCASVia(txn, "t", txnVers, value), txnCASVia(rtxn, "r", relayVers, value)
		// Requests are built before the clock starts, as the raw columns'
		// value is.
		creqs := make([]*storev1.CreateRequest, n)
		for i := range creqs {
			creqs[i] = &storev1.CreateRequest{Resource: benchVolume(stName(i))}
		}
		stCreate := func(i int) error {
			r, err := sc.Create(ctx, creqs[i])
			if err == nil {
				stVer[i] = r.ResourceVersion
			}
			return err
		}
		creates, err := interleave(n, workers, rounds, meter, rawCreate, txnCreate, stCreate, relayCreate)
		if err != nil {
			return "", err
		}
		rawGet := func(i int) error {
			p, _, err := kv.Get(rawKey(i), nil)
			if err == nil {
				rawVer[i] = p.ModifyIndex
			}
			return err
		}
		stGet := func(i int) error {
			_, err := sc.Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_VOLUME, Name: stName(i)}})
			return err
		}
		gets, err := interleave(n, workers, rounds, nil, rawGet, stGet)
		if err != nil {
			return "", err
		}
		rawUpd := func(i int) error {
			ok, _, err := kv.CAS(&api.KVPair{Key: rawKey(i), Value: value2, ModifyIndex: rawVer[i]}, nil)
			if err == nil && !ok {
				err = fmt.Errorf("raw CAS refused")
			}
			return err
		}
		txnUpd, relayUpd := txnCASVia(txn, "t", txnVers, value2), txnCASVia(rtxn, "r", relayVers, value2)
		ureqs := make([]*storev1.UpdateRequest, n)
		for i := range ureqs {
			ureqs[i] = &storev1.UpdateRequest{Resource: updated(stName(i)), ResourceVersion: stVer[i]}
		}
		stUpd := func(i int) error {
			_, err := sc.Update(ctx, ureqs[i])
			return err
		}
		updates, err := interleave(n, workers, rounds, meter, rawUpd, txnUpd, stUpd, relayUpd)
		if err != nil {
			return "", err
		}
		rows = append(rows,
			row{"Create", creates[0], creates[1], creates[2], workers, creates[3]},
			row{"Get", gets[0], gets[0], gets[1], workers, sample{}},
			row{"CAS-Update", updates[0], updates[1], updates[2], workers, updates[3]})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Store: gRPC store vs raw Consul KV\n\n%s; Consul v1.14.11, one server on loopback with its data on local disk.\n", machine())
	fmt.Fprintf(&b, "Each operation %d times on a replica-3 volume record (%d bytes of JSON). Raw KV = Consul's KV endpoint (CAS create, get, CAS update), which answers only true/false to a write; raw txn = Consul's transaction endpoint doing the same write and returning the new ModifyIndex, which is what the store must do to tell the caller its new version (Gets use the KV endpoint in both raw columns); store = the store's gRPC API through libs/grpcx, the client our services use, whose messages are encoded by generated code (protoc-gen-go-vtproto) at both ends (validation, the resource encoded as the JSON protojson writes, one Consul transaction, which the store sends over HTTP/1.1 connections of its own, writing the request and parsing the answer itself rather than through consul/api; the store's connections and grpcx's make raw system calls, libs/netx). Both raw columns use consul/api with the store's HTTP transport settings (libs/consulkv: keep-alive pool of 64) and Go's ordinary connections, and the store's Create and Update requests are built before the clock starts, as the raw columns' encoded value is. Ratio = raw ops/s ÷ store ops/s (1.00 = no overhead). The variants run interleaved in %d rounds with rotating order, so drift in the machine or in Consul weighs on all alike. The store runs as its own process, bin/stored with its defaults as in a cluster (one Go processor: --procs=1), with no watchers open (its change feed is idle).\n\n", n, len(value), rounds)
	b.WriteString("| operation | clients | raw KV ops/s | raw txn ops/s | store ops/s | ratio vs KV | ratio vs txn | raw KV p50 / p99 | raw txn p50 / p99 | store p50 / p99 |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %.2f× | %.2f× | %s / %s | %s / %s | %s / %s |\n", r.op, r.rawWorker,
			r.raw.opsPerSec(), r.txn.opsPerSec(), r.st.opsPerSec(),
			r.raw.opsPerSec()/r.st.opsPerSec(), r.txn.opsPerSec()/r.st.opsPerSec(),
			ms(r.raw.pct(.5)), ms(r.raw.pct(.99)), ms(r.txn.pct(.5)), ms(r.txn.pct(.99)), ms(r.st.pct(.5)), ms(r.st.pct(.99)))
	}
	b.WriteString("\n" + writeVerdict(rows) + "\n")
	b.WriteString(relayTable(rows))
	b.WriteString(cpuTable(rows))

	// Fan-out runs on a fresh store prefix holding 300 volumes, the size of
	// a large real cluster, rather than the thousands of records above.
	fsrv, err := startStored(ctx, binDir, dir, "stored-fanout", consul.HTTPAddr, "bench-fanout/")
	if err != nil {
		return "", err
	}
	defer fsrv.stop()
	fconn, err := grpcx.Dial(fsrv.addr)
	if err != nil {
		return "", err
	}
	defer fconn.Close()
	fsc := storev1.NewStoreServiceClient(fconn)
	for i := range 300 {
		if _, err := fsc.Create(ctx, &storev1.CreateRequest{Resource: benchVolume(fmt.Sprintf("vol%03d", i))}); err != nil {
			return "", err
		}
	}
	b.WriteString("\n### Watch fan-out\n\nTime from the start of a volume update until each open Watch stream has received it, with 300 other volumes in the store, updates 5 ms apart (gRPC, streams spread over 10 connections). The feed delivers each resource's latest state in version order; when a resource changes again before the feed has polled, the watcher gets the newer version in place of the older one, and that delivery counts for both. Target: p99 ≤ 50 ms at 100 watchers.\n\n")
	b.WriteString("| watchers | updates | events delivered | p50 | p99 | max |\n|---|---|---|---|---|---|\n")
	conns := []*grpc.ClientConn{fconn}
	for range 9 {
		c, err := grpcx.Dial(fsrv.addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		conns = append(conns, c)
	}
	var last sample
	for _, w := range []int{1, 10, 100} {
		s, events, err := watchFanout(ctx, conns, w, writes)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %s | %s | %s |\n", w, writes, events, ms(s.pct(.5)), ms(s.pct(.99)), ms(s.pct(1)))
		last = s
	}
	verdict := "met"
	if last.pct(.99) > 50*time.Millisecond {
		verdict = "**not met**"
	}
	fmt.Fprintf(&b, "\n**Verdict of this run.** Watch delivery p99 at most 50 ms at 100 watchers: %s (%s).\n\n", verdict, ms(last.pct(.99)))
	return b.String(), nil
}

// watchFanout opens w watchers, makes `writes` sequential updates of one
// volume among `others` existing ones and returns, for every (write,
// watcher) pair, the time from the write's start until that watcher had
// received the write (or a later version of the volume, which the feed may
// deliver in its place).
func watchFanout(ctx context.Context, conns []*grpc.ClientConn, w, writes int) (sample, int, error) {
	sc := storev1.NewStoreServiceClient(conns[0])
	name := fmt.Sprintf("fanout-%d", w)
	cr, err := sc.Create(ctx, &storev1.CreateRequest{Resource: benchVolume(name)})
	if err != nil {
		return sample{}, 0, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type recv struct {
		version uint64
		at      time.Time
	}
	var (
		mu    sync.Mutex
		seen  = make([][]recv, w)
		ready sync.WaitGroup
	)
	for i := range w {
		stream, err := storev1.NewStoreServiceClient(conns[i%len(conns)]).Watch(wctx, &storev1.WatchRequest{
			Kinds: []storev1.Kind{storev1.Kind_VOLUME}, Since: cr.ResourceVersion})
		if err != nil {
			return sample{}, 0, err
		}
		ready.Add(1)
		go func() {
			booked := false
			defer func() {
				if !booked {
					ready.Done()
				}
			}()
			for {
				ev, err := stream.Recv()
				if err != nil {
					return
				}
				if ev.Type == storev1.EventType_BOOKMARK && !booked {
					booked = true
					ready.Done()
					continue
				}
				if ev.Key.GetName() == name {
					mu.Lock()
					seen[i] = append(seen[i], recv{ev.Version, time.Now()})
					mu.Unlock()
				}
			}
		}()
	}
	ready.Wait()
	type write struct {
		version uint64
		start   time.Time
	}
	done := make([]write, 0, writes)
	version := cr.ResourceVersion
	for i := range writes {
		t := time.Now()
		upd := benchVolume(name)
		upd.GetVolume().Options["bench.seq"] = fmt.Sprint(i)
		r, err := sc.Update(ctx, &storev1.UpdateRequest{Resource: upd, ResourceVersion: version})
		if err != nil {
			return sample{}, 0, err
		}
		version = r.ResourceVersion
		done = append(done, write{version, t})
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		all := true
		for i := range seen {
			if len(seen[i]) == 0 || seen[i][len(seen[i])-1].version < version {
				all = false
			}
		}
		mu.Unlock()
		if all {
			break
		}
		if time.Now().After(deadline) {
			return sample{}, 0, fmt.Errorf("watch fan-out %d: not every watcher got the last write after 30s", w)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var s sample
	events := 0
	for i := range seen {
		events += len(seen[i])
		k := 0
		for _, wr := range done {
			for seen[i][k].version < wr.version {
				k++
			}
			s.lat = append(s.lat, seen[i][k].at.Sub(wr.start))
		}
	}
	return s, events, nil
}

// storedProc is a store service started from its binary for the bench.
type storedProc struct {
	*proc
	addr string
}

// startStored starts bin/stored on a free loopback port, keeping the
// cluster's tree under prefix, and returns once it answers.
func startStored(ctx context.Context, binDir, dir, name, consulAddr, prefix string) (*storedProc, error) {
	port, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProcAs(binDir, dir, name, "stored", "--consul-addr="+consulAddr, "--listen="+addr,
		"--register=false", "--log-level=warn", "--kv-prefix="+prefix)
	if err != nil {
		return nil, err
	}
	s := &storedProc{proc: p, addr: addr}
	conn, err := grpcx.Dial(addr)
	if err != nil {
		p.stop()
		return nil, err
	}
	defer conn.Close()
	cc := storev1.NewClusterServiceClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cc.GetCluster(cctx, &storev1.GetClusterRequest{})
		cancel()
		switch {
		case err == nil:
			return s, nil
		case p.exited():
			return nil, fmt.Errorf("%s exited during start-up; see %s", name, p.log)
		case time.Now().After(deadline):
			p.stop()
			return nil, fmt.Errorf("%s did not answer within 30s: %w", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeVerdict states, for each number of clients, whether the store's
// writes (Create, CAS-Update) stayed within the 1.3× target against the
// raw transaction, the like-for-like write, and against the raw KV write.
func writeVerdict(rows []row) string {
	const target = 1.3
	var parts []string
	for _, w := range storeClients {
		var ratios []string
		met := true
		for _, r := range rows {
			if r.rawWorker != w || r.op == "Get" {
				continue
			}
			vsTxn, vsKV := r.txn.opsPerSec()/r.st.opsPerSec(), r.raw.opsPerSec()/r.st.opsPerSec()
			met = met && vsTxn <= target
			ratios = append(ratios, fmt.Sprintf("%s %.2f× (%.2f× against raw KV)", r.op, vsTxn, vsKV))
		}
		verdict := "met"
		if !met {
			verdict = "**not met**"
		}
		clients := "1 client"
		if w > 1 {
			clients = fmt.Sprintf("%d clients", w)
		}
		parts = append(parts, fmt.Sprintf("at %s %s: %s", clients, verdict, strings.Join(ratios, ", ")))
	}
	return fmt.Sprintf("**Verdict of this run.** Write overhead at most %.1f× raw Consul (store writes/s against raw transactions/s): %s.\n", target, strings.Join(parts, "; "))
}

// relayTable compares, per write and client count, the raw transaction
// through a relay process with the raw transaction and the store: the part
// of the store's overhead that any process between client and Consul has.
func relayTable(rows []row) string {
	var b strings.Builder
	b.WriteString("\n### What one more process costs\n\nThe raw transactions once more, interleaved with the columns above, through a relay: a separate Go process on one processor (as bin/stored runs) that does nothing but copy the bytes between its client connection and its own connection to Consul, one read and one write per chunk, with raw system calls as bin/stored's connections make (libs/netx). It is the floor for any service between a client and Consul on this machine: the rest of the store's overhead is its own work, gRPC included. A share is left out (—) where the store is no slower than the relay: with several clients the store puts writes that arrive together in one Consul transaction, which a relay cannot.\n\n")
	b.WriteString("| operation | clients | raw txn ops/s | txn via relay ops/s | store ops/s | relay vs txn | store vs txn | relay's share of the store's overhead | raw txn p50 | relay p50 | store p50 |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if len(r.relay.lat) == 0 {
			continue
		}
		txn, rel, st := r.txn.opsPerSec(), r.relay.opsPerSec(), r.st.opsPerSec()
		share := "—"
		if txn/st > txn/rel && txn/rel > 1 {
			share = fmt.Sprintf("%.0f%%", 100*(txn/rel-1)/(txn/st-1))
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %.2f× | %.2f× | %s | %s | %s | %s |\n", r.op, r.rawWorker, txn, rel, st,
			txn/rel, txn/st, share, ms(r.txn.pct(.5)), ms(r.relay.pct(.5)), ms(r.st.pct(.5)))
	}
	return b.String()
}

// The processes' positions in the store bench's CPU meter (storeMeter).
const (
	meterBench = iota
	meterStored
	meterRelay
	meterConsul
)

// storeMeter meters the bench itself, bin/stored, the relay and Consul, at
// the positions above.
func storeMeter(stored, relay, consul int) *cpuMeter {
	m := &cpuMeter{}
	m.add("bench", os.Getpid())
	m.add("stored", stored)
	m.add("relay", relay)
	m.add("consul", consul)
	return m
}

// cpuTable shows, for the writes of one client, the time per write and the
// CPU time each process on the path used per write, and how much the
// relay's and the store's ratio to the raw transaction moved from round to
// round within the run.
func cpuTable(rows []row) string {
	var b strings.Builder
	b.WriteString("\n### Where a 1-client write's time goes\n\n" +
		"Wall time per write, and the CPU time per write that each process used while that column ran (all threads, from the kernel's scheduler statistics): the bench process, whose client makes the call; the relay or bin/stored, when the write passes through one; Consul. With one client the steps of a write happen one after another, so the wall time per write can be set against the sum of the CPU times per write on its path (CPU on the path); what a process in between adds shows as its own CPU time and as a change in the others'. The last column is the ratio to the raw transaction in each of the run's rounds (the same writes, a round apart from the next), lowest, median and highest: how much the cost of the same path moves within one run.\n\n")
	b.WriteString("| operation | path | wall per write | bench client CPU | relay / stored CPU | Consul CPU | CPU on the path | ratio vs txn per round (min / median / max) |\n|---|---|---|---|---|---|---|---|\n")
	us := func(d time.Duration, n int) string {
		return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1e3/float64(n))
	}
	for _, r := range rows {
		if r.rawWorker != 1 || r.op == "Get" || len(r.txn.cpu) == 0 {
			continue
		}
		for _, p := range []struct {
			name   string
			s      sample
			middle int
		}{{"raw txn", r.txn, -1}, {"txn via relay", r.relay, meterRelay}, {"store", r.st, meterStored}} {
			n := len(p.s.lat)
			mid, midCPU, spread := "—", time.Duration(0), "—"
			if p.middle >= 0 {
				midCPU = p.s.cpu[p.middle]
				mid = us(midCPU, n)
				spread = roundRatios(r.txn.rounds, p.s.rounds)
			}
			path := p.s.cpu[meterBench] + midCPU + p.s.cpu[meterConsul]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.op, p.name, us(p.s.elapsed, n),
				us(p.s.cpu[meterBench], n), mid, us(p.s.cpu[meterConsul], n), us(path, n), spread)
		}
	}
	return b.String()
}

// roundRatios is the lowest, median and highest of the per-round ratios
// of the times in rounds to those in base, round by round.
func roundRatios(base, rounds []time.Duration) string {
	var q []float64
	for i := range min(len(base), len(rounds)) {
		q = append(q, float64(rounds[i])/float64(base[i]))
	}
	if len(q) == 0 {
		return "—"
	}
	slices.Sort(q)
	med := q[len(q)/2]
	if len(q)%2 == 0 {
		med = (q[len(q)/2-1] + q[len(q)/2]) / 2
	}
	return fmt.Sprintf("%.2f× / %.2f× / %.2f×", q[0], med, q[len(q)-1])
}
