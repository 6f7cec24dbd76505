package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// sample is a set of latencies from one measurement.
type sample struct {
	lat     []time.Duration
	elapsed time.Duration
	// rounds holds each round's elapsed time when the sample was taken by
	// interleave, and cpu the CPU time each metered process used while
	// this operation ran (in the meter's order).
	rounds []time.Duration
	cpu    []time.Duration
}

func (s sample) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	l := slices.Clone(s.lat)
	slices.Sort(l)
	i := int(float64(len(l))*p+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}

func (s sample) opsPerSec() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

// measure runs op n times on `workers` goroutines and records each latency.
func measure(n, workers int, op func(i int) error) (sample, error) {
	lat := make([]time.Duration, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				if err := op(i); err != nil {
					mu.Lock()
					ferr = err
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return sample{lat: lat, elapsed: time.Since(start)}, ferr
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// interleave measures several operations over the indexes 0..n-1 in rounds:
// each round runs every operation on the round's slice of indexes, the order
// rotating from round to round, so that drift in the machine or in Consul
// (raft snapshots, log growth) falls on all of them alike. With a meter, the
// CPU time its processes used during each operation's runs is added up.
func interleave(n, workers, rounds int, m *cpuMeter, ops ...func(i int) error) ([]sample, error) {
	out := make([]sample, len(ops))
	per := (n + rounds - 1) / rounds
	for r := 0; r < rounds; r++ {
		lo, hi := r*per, min(n, (r+1)*per)
		if lo >= hi {
			break
		}
		for k := range ops {
			j := (k + r) % len(ops)
			var before []time.Duration
			if m != nil {
				var err error
				if before, err = m.read(); err != nil {
					return nil, err
				}
			}
			s, err := measure(hi-lo, workers, func(i int) error { return ops[j](lo + i) })
			if err != nil {
				return nil, err
			}
			if m != nil {
				after, err := m.read()
				if err != nil {
					return nil, err
				}
				if out[j].cpu == nil {
					out[j].cpu = make([]time.Duration, len(after))
				}
				for p := range after {
					out[j].cpu[p] += after[p] - before[p]
				}
			}
			out[j].lat = append(out[j].lat, s.lat...)
			out[j].elapsed += s.elapsed
			out[j].rounds = append(out[j].rounds, s.elapsed)
		}
	}
	return out, nil
}
