package testutil

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Test ports are handed out from below the kernel's ephemeral range, which
// it never hands out by itself (to outgoing connections or to a listen on
// port 0): a port picked with a listen on port 0 and bound again a moment
// later could be taken in between by any connection on the machine, and
// was, failing CI runs with "address already in use". A port is reserved
// by a lock on a file named after it, held until the process ends, so that
// test processes running side by side never share one either.

var ports struct {
	sync.Mutex
	held   map[int]*os.File // reserved by this process, locks kept open
	lo, hi int              // the range handed out from
	dir    string           // where the lock files are
}

// Ports of the system itself that tests bind on fixed numbers: GlusterFS's
// management port and `make run`'s services.
const reservedLo, reservedHi = 24000, 24100

// FreePortOn returns a TCP port that is free on host now and that no other
// caller, in this process or another, is given until this process ends.
func FreePortOn(host string) (int, error) {
	ports.Lock()
	defer ports.Unlock()
	if ports.held == nil {
		lo, hi := 20000, ephemeralLow()
		if hi <= lo+1000 {
			lo = 10000
		}
		if hi <= lo {
			return 0, fmt.Errorf("test ports: the ephemeral range starts at %d, leaving none below it", hi)
		}
		dir := filepath.Join(os.TempDir(), "glusterd-ng-test-ports")
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return 0, fmt.Errorf("test ports: %w", err)
		}
		ports.held, ports.lo, ports.hi, ports.dir = map[int]*os.File{}, lo, hi, dir
	}
	lo, n := ports.lo, ports.hi-ports.lo
	start := rand.IntN(n)
	for i := range n {
		port := lo + (start+i)%n
		if ports.held[port] != nil || (port >= reservedLo && port < reservedHi) {
			continue
		}
		f, ok := reserve(filepath.Join(ports.dir, strconv.Itoa(port)))
		if !ok {
			continue // another process holds it
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			f.Close() // bound by something else
			continue
		}
		l.Close()
		ports.held[port] = f
		return port, nil
	}
	return 0, errors.New("test ports: none free below the ephemeral range")
}

// reserve locks the file at path without waiting; the lock lasts as long
// as the returned file is open.
func reserve(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 32768
	}
	lo, err := strconv.Atoi(fields[0])
	if err != nil || lo < 1024 {
		return 32768
	}
	return lo
}
