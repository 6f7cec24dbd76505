package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The meter sees this process's CPU time grow while it computes, and not
// while it sleeps.
func TestCPUMeterFollowsAProcess(t *testing.T) {
	m := &cpuMeter{}
	m.add("self", os.Getpid())
	before, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		x++
	}
	busy, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	if got := busy[0] - before[0]; got < 25*time.Millisecond {
		t.Fatalf("50 ms of computing counted as %v (x=%d)", got, x)
	}
	time.Sleep(100 * time.Millisecond)
	idle, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	if got := idle[0] - busy[0]; got > 50*time.Millisecond {
		t.Fatalf("100 ms of sleeping counted as %v of CPU", got)
	}
}

// A process that is gone is an error naming it, not a zero.
func TestCPUMeterNamesAMissingProcess(t *testing.T) {
	m := &cpuMeter{}
	m.add("ghost", 1<<30)
	_, err := m.read()
	if err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("got %v", err)
	}
}

func TestRoundRatios(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		base, rounds []time.Duration
		want         string
	}{
		{ms(100, 100, 100), ms(120, 110, 130), "1.10× / 1.20× / 1.30×"},
		{ms(100, 200, 100, 100), ms(110, 200, 140, 130), "1.00× / 1.20× / 1.40×"},
		{nil, nil, "—"},
	} {
		if got := roundRatios(c.base, c.rounds); got != c.want {
			t.Errorf("roundRatios(%v, %v) = %q, want %q", c.base, c.rounds, got, c.want)
		}
	}
}
