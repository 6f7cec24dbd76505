package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/glusterd-ng/glusterd-ng/tools/bench/glusterd"
)

// parseNs reads a comma-separated list of pool sizes.
func parseNs(flag string) ([]int, error) { return parseCounts(flag, 2) }

// peerSection runs the peer benchmark, and stock glusterd's peer probe on
// the same machine when it is installed, and formats both.
func peerSection(ctx context.Context, binDir, nsFlag, glusterdNs string) (string, error) {
	ns, err := parseNs(nsFlag)
	if err != nil {
		return "", err
	}
	gns, err := parseNs(glusterdNs)
	if err != nil {
		return "", err
	}
	runs, err := peerBench(ctx, binDir, ns)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Peer membership: adding nodes one by one\n\n%s; Consul v1.14.11, one server.\n", machine())
	b.WriteString("Every node is a `servicemgrd` process on its own loopback address (127.1.2.x); nodes are added one at a time through the peer service's gRPC AddPeer, which dials the node, has it record its membership and writes the peer record. \"Nth add\" is the cost of growing a pool of N-1 by one: the last node is detached and added again 20 times, median and p90 reported. Consul writes are the raft applied-index delta over all adds, divided by N. Target: Nth-add time at N=100 within 1.5× of N=3.\n\n")
	b.WriteString("| N | building the pool | mean add | Nth add median | Nth add p90 | Nth add ÷ N=3's | Consul writes per add | RSS per node |\n|---|---|---|---|---|---|---|---|\n")
	var base time.Duration
	for _, r := range runs {
		nth := quantile(r.nth, .5)
		if base == 0 {
			base = nth
		}
		var sum time.Duration
		for _, d := range r.adds {
			sum += d
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %.2f× | %.2f | %.0f MiB |\n", r.n, r.elapsed.Round(time.Millisecond),
			ms(sum/time.Duration(len(r.adds))), ms(nth), ms(quantile(r.nth, .9)), float64(nth)/float64(base),
			float64(r.raftOps)/float64(r.n), r.rssPerMB)
	}
	b.WriteString("\n")
	ours := map[int]time.Duration{}
	for _, r := range runs {
		ours[r.n] = quantile(r.nth, .5)
	}
	b.WriteString(glusterdTable(ctx, gns, ours))
	return b.String(), nil
}

// glusterdTable measures stock glusterd's peer probe for the pool sizes ns
// (several glusterd instances on 127.1.1.x, each in its own working
// directory and mount namespace) and compares it with ours.
func glusterdTable(ctx context.Context, ns []int, ours map[int]time.Duration) string {
	var b strings.Builder
	b.WriteString("### Stock glusterd, same machine, same run\n\n")
	if err := glusterd.Available(); err != nil {
		fmt.Fprintf(&b, "Not measured: %v.\n\n", err)
		return b.String()
	}
	if len(ns) == 0 {
		b.WriteString("Not measured (no pool sizes given).\n\n")
		return b.String()
	}
	version, _ := glusterd.Version()
	dir, err := os.MkdirTemp("", "gd-")
	if err != nil {
		fmt.Fprintf(&b, "Not measured: %v.\n\n", err)
		return b.String()
	}
	defer os.RemoveAll(dir)
	results, err := glusterd.MeasureResults(ctx, ns, dir)
	if err != nil {
		fmt.Fprintf(&b, "Measurement failed: %v.\n\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: N instances on 127.1.1.1..N, each `glusterd -N` with its own working directory; `gluster peer probe 127.1.1.k` from instance 1 for k = 2..N, each add timed until instance 1 shows the peer \"Peer in Cluster (Connected)\" (this includes the start of the `gluster` CLI for each call: the CLI floor column). \"Nth add\" is the mean of the last three adds. Convergence is the time after the last add until every instance sees all others, which glusterd's all-to-all peer exchange needs and glusterd-ng does not (its membership is one record).\n\n", version)
	b.WriteString("| N | glusterd mean add | glusterd Nth add | glusterd-ng Nth add | glusterd ÷ glusterd-ng | glusterd convergence after last add | glusterd RSS per node | gluster CLI floor |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		adds := r.Adds()
		var sum time.Duration
		for _, d := range adds {
			sum += d
		}
		last := adds[max(0, len(adds)-3):]
		var lsum time.Duration
		for _, d := range last {
			lsum += d
		}
		nth := lsum / time.Duration(len(last))
		var rss float64
		for _, m := range r.Memory {
			rss += float64(m.RSS) / (1 << 20)
		}
		ratio := "–"
		if o, ok := ours[r.N]; ok && o > 0 {
			ratio = fmt.Sprintf("%.0f×", float64(nth)/float64(o))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.0f MiB | %s |\n", r.N, ms(sum/time.Duration(max(1, len(adds)))), ms(nth),
			ms(ours[r.N]), ratio, r.Converge.Round(time.Millisecond), rss/float64(max(1, len(r.Memory))), ms(r.CLIFloor))
	}
	b.WriteString("\n")
	return b.String()
}
