package netx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server side of it.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := Listener{Listener: l}.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := Dial(context.Background(), &net.Dialer{}, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	t.Cleanup(func() { c.Close(); s.Close() })
	cc, ok := c.(*Conn)
	if !ok {
		t.Fatalf("Dial returned %T, want *Conn", c)
	}
	if _, ok := s.(*Conn); !ok {
		t.Fatalf("Listener accepted %T, want *Conn", s)
	}
	return cc, s
}

func TestReadWriteBothWays(t *testing.T) {
	c, s := pair(t)
	if n, err := c.Write([]byte("ping")); n != 4 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(s, buf[:4]); err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("server read %q, %v", buf[:4], err)
	}
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(c, buf[:4]); n != 4 || err != nil || string(buf[:4]) != "pong" {
		t.Fatalf("client read %q, %v", buf[:n], err)
	}
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read: %d, %v", n, err)
	}
}

func TestWriteLargerThanTheSocketBuffersWaitsAndCompletes(t *testing.T) {
	c, s := pair(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	got := make(chan []byte, 1)
	go func() {
		// Read slowly at first, so that the writer finds the buffers full.
		time.Sleep(100 * time.Millisecond)
		b, _ := io.ReadAll(s)
		got <- b
	}()
	n, err := c.Write(data)
	if err != nil || n != len(data) {
		t.Fatalf("write: %d of %d, %v", n, len(data), err)
	}
	c.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("server read %d bytes, want the %d written", len(b), len(data))
	}
}

func TestReadHonoursDeadline(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read on a closed connection: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Read")
	}
}

func TestPeerCloseIsEOFAndResetIsECONNRESET(t *testing.T) {
	c, s := pair(t)
	s.Close()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}

	c2, s2 := pair(t)
	// Closing with a zero linger time sends a reset instead of a FIN.
	s2.(*Conn).SetLinger(0)
	s2.Close()
	time.Sleep(20 * time.Millisecond)
	_, err := c2.Read(make([]byte, 1))
	var oe *net.OpError
	if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("read after a reset: %v, want a read OpError wrapping ECONNRESET", err)
	}
	// Writing on a reset connection fails too, and does not kill the
	// process with SIGPIPE.
	var werr error
	for range 3 {
		if _, werr = c2.Write([]byte("x")); werr != nil {
			break
		}
	}
	if werr == nil {
		t.Fatal("writes on a reset connection succeeded")
	}
}

func TestWrapLeavesOtherConnectionsAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	u, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if w := Wrap(u); w != u {
		t.Fatalf("Wrap(%T) = %T, want it unchanged", u, w)
	}
}

// echoChildEnv makes the test binary an echo server (see TestMain).
const echoChildEnv = "NETX_TEST_ECHO_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(echoChildEnv); mode != "" {
		echoChild(mode == "raw")
		return
	}
	os.Exit(m.Run())
}

// echoChild serves one connection, echoing each byte back, with raw
// system calls or with Go's ordinary ones.
func echoChild(raw bool) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	fmt.Println(l.Addr())
	if raw {
		l = Listener{Listener: l}
	}
	c, err := l.Accept()
	if err != nil {
		os.Exit(2)
	}
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			os.Exit(0)
		}
		if _, err := c.Write(b); err != nil {
			os.Exit(0)
		}
	}
}

// contextSwitches sums the context switches of every thread of pid.
func contextSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	total := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}

// switchesPerRoundTrip runs an echo child on one processor and returns its
// context switches per round trip, over round trips that each find it idle.
func switchesPerRoundTrip(t *testing.T, mode string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoChildEnv+"="+mode, "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimSpace(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 1)
	roundTrips := func(n int) {
		for range n {
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatal(err)
			}
			// Long enough for the child's runtime to see itself idle.
			time.Sleep(500 * time.Microsecond)
		}
	}
	roundTrips(50)
	before := contextSwitches(t, cmd.Process.Pid)
	const n = 500
	roundTrips(n)
	return float64(contextSwitches(t, cmd.Process.Pid)-before) / n
}

// The point of the package, shown in a separate process as in a service:
// an idle process's ordinary system calls wake the runtime's monitor thread,
// raw ones leave it asleep. Counted, not timed: the ordinary echo server
// switches threads at least once more per round trip.
func TestRawIOLeavesTheRuntimeMonitorAsleep(t *testing.T) {
	plain := switchesPerRoundTrip(t, "plain")
	raw := switchesPerRoundTrip(t, "raw")
	t.Logf("context switches per round trip: %.2f with ordinary system calls, %.2f with raw ones", plain, raw)
	if raw > plain-1 {
		t.Fatalf("raw I/O saved %.2f context switches per round trip, want at least 1", plain-raw)
	}
}
