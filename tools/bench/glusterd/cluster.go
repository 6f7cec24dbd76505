package glusterd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// FirstIndex is the index (the last octet of 127.1.1.x) of a cluster's first
// instance; tests move it away from addresses other tests use.
var FirstIndex = 1

// StartCluster starts instances FirstIndex.. under baseDir (each in baseDir/<N>), at
// most StartParallelism at a time, and returns once every one answers
// `gluster pool list`. Instance directories must not hold an earlier run. On
// failure everything it started is stopped.
func StartCluster(ctx context.Context, n int, baseDir string) ([]*Instance, error) {
	if n < 1 || FirstIndex+n-1 > MaxInstances {
		return nil, fmt.Errorf("cluster size %d from index %d out of range 1..%d", n, FirstIndex, MaxInstances)
	}
	ins := make([]*Instance, n)
	for i := range ins {
		in, err := NewInstance(baseDir, FirstIndex+i)
		if err != nil {
			return nil, err
		}
		if ents, err := os.ReadDir(in.Dir); err == nil && len(ents) > 0 {
			return nil, fmt.Errorf("%s is not empty: a cluster starts from fresh directories", in.Dir)
		}
		ins[i] = in
	}
	par := StartParallelism
	if par < 1 {
		par = 1
	}
	sem := make(chan struct{}, par)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("instance %d: %w", in.Index, ctx.Err())
				return
			}
			defer func() { <-sem }()
			errs[i] = in.Start(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, StopAll(ins))
	}
	return ins, nil
}

// StopAll stops the instances concurrently.
func StopAll(ins []*Instance) error {
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		if in == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = in.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ProbeStep is one peer addition.
type ProbeStep struct {
	Addr string
	// CLI is how long `gluster peer probe` took to return.
	CLI time.Duration
	// InCluster is from the start of the probe until instance 1 first
	// showed the peer as "Peer in Cluster (Connected)". It includes the
	// cost of one gluster CLI start per poll (about 50 ms here), which
	// bounds the resolution.
	InCluster time.Duration
}

// ProbeAll probes instances 2..n from instance 1, one by one, each time
// waiting until instance 1 sees the new peer as "Peer in Cluster (Connected)",
// and returns the per-add durations (len n-1; see ProbeStep.InCluster).
func ProbeAll(ctx context.Context, ins []*Instance) ([]time.Duration, error) {
	steps, err := probeSteps(ctx, ins)
	ds := make([]time.Duration, len(steps))
	for i, s := range steps {
		ds[i] = s.InCluster
	}
	return ds, err
}

func probeSteps(ctx context.Context, ins []*Instance) ([]ProbeStep, error) {
	if len(ins) == 0 {
		return nil, errors.New("no instances")
	}
	var steps []ProbeStep
	for _, peer := range ins[1:] {
		s, err := Probe(ctx, ins[0], peer.Addr)
		if err != nil {
			return steps, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// Probe runs `gluster peer probe addr` on from and waits until from sees addr
// as "Peer in Cluster (Connected)".
func Probe(ctx context.Context, from *Instance, addr string) (ProbeStep, error) {
	s := ProbeStep{Addr: addr}
	t0 := time.Now()
	if _, err := from.CLI(ctx, "peer", "probe", addr); err != nil {
		return s, err
	}
	s.CLI = time.Since(t0)
	for {
		peers, err := from.Peers(ctx)
		if err == nil {
			for _, p := range peers {
				if p.InCluster() && hasAddr(p, addr) {
					s.InCluster = time.Since(t0)
					return s, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("instance %d: %s never became Peer in Cluster (Connected): %w (last error: %v)", from.Index, addr, ctx.Err(), err)
		case <-time.After(PollInterval):
		}
	}
}

func hasAddr(p Peer, addr string) bool {
	if p.Hostname == addr {
		return true
	}
	for _, h := range p.Hostnames {
		if h == addr {
			return true
		}
	}
	return false
}

// WaitConverged waits until every instance sees all the others as "Peer in
// Cluster (Connected)", and returns how long that took.
func WaitConverged(ctx context.Context, ins []*Instance) (time.Duration, error) {
	t0 := time.Now()
	pending := append([]*Instance(nil), ins...)
	for {
		var still []*Instance
		var lastErr error
		for _, in := range pending {
			peers, err := in.Peers(ctx)
			if err != nil {
				lastErr = err
				still = append(still, in)
				continue
			}
			ok := 0
			for _, p := range peers {
				if p.InCluster() {
					ok++
				}
			}
			if ok != len(ins)-1 {
				lastErr = fmt.Errorf("instance %d sees %d of %d peers in cluster", in.Index, ok, len(ins)-1)
				still = append(still, in)
			}
		}
		if len(still) == 0 {
			return time.Since(t0), nil
		}
		pending = still
		select {
		case <-ctx.Done():
			return time.Since(t0), fmt.Errorf("cluster did not converge: %w (%v)", ctx.Err(), lastErr)
		case <-time.After(PollInterval):
		}
	}
}

// Result is one measured cluster of N stock glusterd instances.
type Result struct {
	N       int
	Version string
	Dir     string
	// Start is the wall time for StartCluster (all N answering pool list).
	Start time.Duration
	// Steps are the peer additions 2..N, in order.
	Steps []ProbeStep
	// Total is the wall time from the first probe to the last peer in cluster.
	Total time.Duration
	// Converge is the time after the last addition until every instance
	// saw all N-1 others in cluster.
	Converge time.Duration
	// CLIFloor is the median wall time of one `gluster peer status` on
	// instance 1 after convergence: the fixed cost (CLI process start,
	// mostly) inside each probe and each poll of Steps.
	CLIFloor time.Duration
	// Memory is per instance, read after convergence.
	Memory []Memory
	// Stop is the wall time for StopAll.
	Stop time.Duration
}

// Adds is the per-add in-cluster durations.
func (r *Result) Adds() []time.Duration {
	ds := make([]time.Duration, len(r.Steps))
	for i, s := range r.Steps {
		ds[i] = s.InCluster
	}
	return ds
}

// Summary is a one-line digest of the result.
func (r *Result) Summary() string {
	adds := r.Adds()
	sorted := append([]time.Duration(nil), adds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	pct := func(p float64) time.Duration {
		if len(sorted) == 0 {
			return 0
		}
		return sorted[int(p*float64(len(sorted)-1)+0.5)]
	}
	var mean time.Duration
	for _, d := range adds {
		mean += d
	}
	if len(adds) > 0 {
		mean /= time.Duration(len(adds))
	}
	var rss, pss, maxRSS int64
	for _, m := range r.Memory {
		rss += m.RSS
		pss += m.PSS
		maxRSS = max(maxRSS, m.RSS)
	}
	k := int64(max(len(r.Memory), 1))
	first, last := time.Duration(0), time.Duration(0)
	if len(adds) > 0 {
		first, last = adds[0], adds[len(adds)-1]
	}
	return fmt.Sprintf("N=%d start=%s adds: mean=%s p50=%s p90=%s max=%s first=%s last=%s total=%s converge=%s cli=%s stop=%s; per instance RSS mean=%.1fMiB max=%.1fMiB PSS mean=%.1fMiB",
		r.N, rd(r.Start), rd(mean), rd(pct(0.5)), rd(pct(0.9)), rd(pct(1)), rd(first), rd(last), rd(r.Total), rd(r.Converge), rd(r.CLIFloor), rd(r.Stop),
		float64(rss/k)/(1<<20), float64(maxRSS)/(1<<20), float64(pss/k)/(1<<20))
}

func rd(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// Run measures one cluster of n instances in a fresh directory under baseDir:
// start, probe 2..n from instance 1, wait for full convergence, read memory,
// stop, and check that no process mentioning its directory is left.
func Run(ctx context.Context, n int, baseDir string) (*Result, error) {
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(baseDir, fmt.Sprintf("n%d-", n))
	if err != nil {
		return nil, err
	}
	r := &Result{N: n, Dir: dir}
	r.Version, _ = Version()
	t0 := time.Now()
	ins, err := StartCluster(ctx, n, dir)
	if err != nil {
		return r, err
	}
	r.Start = time.Since(t0)
	runErr := func() error {
		t1 := time.Now()
		steps, err := probeSteps(ctx, ins)
		r.Steps = steps
		if err != nil {
			return err
		}
		r.Total = time.Since(t1)
		if r.Converge, err = WaitConverged(ctx, ins); err != nil {
			return err
		}
		var floor []time.Duration
		for range 5 {
			t := time.Now()
			if _, err := ins[0].Peers(ctx); err != nil {
				return err
			}
			floor = append(floor, time.Since(t))
		}
		sort.Slice(floor, func(i, j int) bool { return floor[i] < floor[j] })
		r.CLIFloor = floor[len(floor)/2]
		for _, in := range ins {
			m, err := in.Memory()
			if err != nil {
				return err
			}
			r.Memory = append(r.Memory, m)
		}
		return nil
	}()
	t2 := time.Now()
	stopErr := StopAll(ins)
	r.Stop = time.Since(t2)
	if left, err := Processes(dir); err != nil || len(left) > 0 {
		stopErr = errors.Join(stopErr, err, fmt.Errorf("processes left running under %s: %v", dir, left))
	}
	return r, errors.Join(runErr, stopErr)
}

// Measure runs one cluster per size in ns (each in a fresh directory under
// baseDir) and returns the per-add durations by size.
func Measure(ctx context.Context, ns []int, baseDir string) (map[int][]time.Duration, error) {
	res, err := MeasureResults(ctx, ns, baseDir)
	out := make(map[int][]time.Duration, len(res))
	for _, r := range res {
		out[r.N] = r.Adds()
	}
	return out, err
}

// MeasureResults is Measure with the full results; it stops at the first
// failing size and returns what it measured so far.
func MeasureResults(ctx context.Context, ns []int, baseDir string) ([]*Result, error) {
	base, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, err
	}
	var res []*Result
	for _, n := range ns {
		r, err := Run(ctx, n, base)
		if err != nil {
			return res, fmt.Errorf("N=%d: %w", n, err)
		}
		res = append(res, r)
	}
	return res, nil
}
