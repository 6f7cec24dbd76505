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
