package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// peerSection runs the peer benchmark and formats it.
func peerSection(ctx context.Context, binDir, nsFlag string) (string, error) {
	var ns []int
	for _, f := range strings.Split(nsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return "", fmt.Errorf("bad pool size %q", f)
		}
		ns = append(ns, n)
	}
	runs, err := peerBench(ctx, binDir, ns)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Peer membership: adding nodes one by one\n\n%s; Consul v1.14.11, one server.\n", machine())
	b.WriteString("Every node is a `servicemgrd` process on its own loopback address (127.1.2.x); nodes are added one at a time through the peer service's gRPC AddPeer, which dials the node, has it record its membership and writes the peer record. \"Nth add\" is the mean of the last three adds, the cost of growing a pool of N-1. Consul writes are the raft applied-index delta over all adds, divided by N. Target: Nth-add time at N=100 within 1.5× of N=3.\n\n")
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
	return b.String(), nil
}
