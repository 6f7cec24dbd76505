package glusterd

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		arg, dir string
		want     bool
	}{
		{"/tmp/b/1", "/tmp/b/1", true},
		{"management.working-directory=/tmp/b/1/wd", "/tmp/b/1", true},
		{"management.working-directory=/tmp/b/10/wd", "/tmp/b/1", false},
		{"/tmp/b/10/x:/tmp/b/1/y", "/tmp/b/1", true},
		{"/tmp/b/12", "/tmp/b/1", false},
	} {
		if got := mentions(c.arg, c.dir); got != c.want {
			t.Errorf("mentions(%q, %q) = %v, want %v", c.arg, c.dir, got, c.want)
		}
	}
}

// globalState lists what exists under the default glusterd paths, to show the
// instances kept their state to their own directories.
func globalState() map[string]bool {
	seen := map[string]bool{}
	for _, p := range []string{"/var/lib/glusterd/glusterd.info", "/var/lib/glusterd/peers", "/var/lib/glusterd/vols",
		"/var/log/glusterfs/cli.log", "/var/log/glusterfs/glusterd.log", "/var/log/glusterfs/cmd_history.log"} {
		if _, err := os.Stat(p); err == nil {
			seen[p] = true
		}
	}
	return seen
}

func TestThreeNodeCluster(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("stock glusterd baseline unavailable: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := t.TempDir()
	before := globalState()

	// Away from 127.1.1.1-3, which the end-to-end tests' portmaps use when
	// packages run in parallel.
	FirstIndex = 241
	defer func() { FirstIndex = 1 }()
	ins, err := StartCluster(ctx, 3, base)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	t.Cleanup(func() { _ = StopAll(ins) })
	t.Logf("instance 1: %s", ins[0].CommandLine())

	uuids := map[string]int{}
	for _, in := range ins {
		u, err := in.UUID()
		if err != nil {
			t.Fatalf("instance %d UUID: %v", in.Index, err)
		}
		if j, dup := uuids[u]; dup {
			t.Fatalf("instances %d and %d share UUID %s", j, in.Index, u)
		}
		uuids[u] = in.Index
	}

	if ins[0].Isolate {
		// The hardcoded paths landed in the instance's private copies.
		for _, p := range []string{"var-lib-glusterd/ss_brick", "run-gluster/snaps"} {
			if _, err := os.Stat(filepath.Join(ins[0].NSDir, p)); err != nil {
				t.Errorf("isolated instance: %v", err)
			}
		}
	}

	adds, err := ProbeAll(ctx, ins)
	if err != nil {
		t.Fatalf("ProbeAll: %v", err)
	}
	if len(adds) != 2 {
		t.Fatalf("ProbeAll returned %d durations, want 2", len(adds))
	}
	t.Logf("per-add peer probe to Peer in Cluster (Connected): %v", adds)

	pool, err := ins[0].Pool(ctx)
	if err != nil {
		t.Fatalf("pool list: %v", err)
	}
	connected := 0
	for _, p := range pool {
		if p.Connected == 1 {
			connected++
		}
		if _, ok := uuids[p.UUID]; !ok {
			t.Errorf("pool list shows unknown UUID %s (%s)", p.UUID, p.Hostname)
		}
	}
	if len(pool) != 3 || connected != 3 {
		t.Fatalf("pool list from instance 1: %d nodes, %d connected, want 3 and 3: %+v", len(pool), connected, pool)
	}
	// Instance 3 was probed from 1 only; it must have learned of 2 as well.
	if _, err := WaitConverged(ctx, ins); err != nil {
		t.Fatalf("WaitConverged: %v", err)
	}
	for _, in := range ins {
		m, err := in.Memory()
		if err != nil {
			t.Fatalf("instance %d memory: %v", in.Index, err)
		}
		t.Logf("instance %d (%s) pid %d RSS %.1f MiB PSS %.1f MiB", in.Index, in.Addr, in.PID(), float64(m.RSS)/(1<<20), float64(m.PSS)/(1<<20))
	}

	pids := make([]int, len(ins))
	for i, in := range ins {
		pids[i] = in.PID()
	}
	if err := StopAll(ins); err != nil {
		t.Fatalf("StopAll: %v", err)
	}
	for i, pid := range pids {
		if alive(pid) {
			t.Errorf("instance %d: glusterd pid %d still running after Stop", i+1, pid)
		}
	}
	left, err := Processes(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("processes left running under %s: %v", base, left)
	}
	for p := range globalState() {
		if !before[p] {
			t.Errorf("%s appeared: an instance used the global default path", p)
		}
	}
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// TestMeasure is the measurement driver, off by default:
//
//	GLUSTERD_BENCH_NS=3,10,30,100 go test -run TestMeasure -v -timeout 60m ./tools/bench/glusterd/
//
// GLUSTERD_BENCH_DIR picks the base directory (default: a test temp dir);
// GLUSTERD_BENCH_ISOLATE=0 runs without the private mount namespaces.
func TestMeasure(t *testing.T) {
	spec := os.Getenv("GLUSTERD_BENCH_NS")
	if spec == "" {
		t.Skip("set GLUSTERD_BENCH_NS=3,10,30 to measure stock glusterd peer probes")
	}
	if os.Getenv("GLUSTERD_BENCH_ISOLATE") == "0" {
		defer func(v bool) { Isolate = v }(Isolate)
		Isolate = false
	}
	if err := Available(); err != nil {
		t.Skipf("stock glusterd baseline unavailable: %v", err)
	}
	var ns []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("GLUSTERD_BENCH_NS: %v", err)
		}
		ns = append(ns, n)
	}
	base := os.Getenv("GLUSTERD_BENCH_DIR")
	if base == "" {
		base = t.TempDir()
	}
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-30*time.Second))
		defer cancel()
	}
	for _, n := range ns {
		r, err := Run(ctx, n, base)
		if r != nil {
			t.Logf("%s (%s, isolated=%v)", r.Summary(), r.Version, Isolate)
			for i, s := range r.Steps {
				t.Logf("  N=%d add %d (%s): probe CLI %s, in cluster %s", n, i+2, s.Addr, rd(s.CLI), rd(s.InCluster))
			}
		}
		if err != nil {
			t.Fatalf("N=%d: %v", n, err)
		}
	}
}
