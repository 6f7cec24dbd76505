package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuMeter reads how much CPU time a set of processes has used, so that a
// measurement can show which process its time went to.
type cpuMeter struct {
	names []string
	pids  []int
}

// add counts the process pid under name.
func (m *cpuMeter) add(name string, pid int) {
	m.names = append(m.names, name)
	m.pids = append(m.pids, pid)
}

// read returns, per process in the order added, the CPU time its threads
// have been running so far (the kernel's per-thread scheduler statistics,
// in nanoseconds). A thread that exits takes its time with it; the Go
// processes measured here keep theirs.
func (m *cpuMeter) read() ([]time.Duration, error) {
	out := make([]time.Duration, len(m.pids))
	for i, pid := range m.pids {
		d, err := processCPU(pid)
		if err != nil {
			return nil, fmt.Errorf("cpu time of %s (pid %d): %w", m.names[i], pid, err)
		}
		out[i] = d
	}
	return out, nil
}

// processCPU sums the time on CPU of every thread of pid.
func processCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0, err
	}
	if len(tasks) == 0 {
		return 0, fmt.Errorf("no threads under /proc/%d (no scheduler statistics, or the process is gone)", pid)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited since the listing
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", t, err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}
