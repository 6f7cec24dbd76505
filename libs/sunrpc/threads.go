package sunrpc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Threads bounds how many connections are served on a dedicated OS thread
// each, reading and writing their socket with blocking read(2) and
// write(2) instead of through the Go runtime's network poller (see
// ConnConfig.Threads). A connection served so has the kernel wake the very
// thread that answers it when a call arrives, as a C server's event thread
// would; through the poller, one thread is woken by epoll and the runtime
// commonly wakes another to look for work, on every call.
//
// Every such thread keeps its runtime processor (a P) while blocked in
// read(2) until the runtime takes it back, which it does after 10 ms when
// there are idle processors and at once (at its next check) when there are
// none: the process should run with GOMAXPROCS above the limit by the
// processors it needs for everything else (the CPUs), or a connection's
// thread that wakes with a call can wait for a processor until the
// runtime's monitor takes one back, up to 10 ms later. While calls keep
// coming, a connection's goroutine passes through the scheduler every
// 5 ms (yielder), or the monitor would take its processor every 10 ms
// regardless. Connections beyond the limit are served through the poller.
type Threads struct {
	slots chan struct{}
}

// NewThreads returns a limit of n dedicated threads; n <= 0 allows none.
func NewThreads(n int) *Threads {
	return &Threads{slots: make(chan struct{}, max(n, 0))}
}

// Limit is the most connections served on dedicated threads at once.
func (t *Threads) Limit() int { return cap(t.slots) }

// InUse is how many connections are served on dedicated threads now.
func (t *Threads) InUse() int { return len(t.slots) }

func (t *Threads) acquire() bool {
	if t == nil {
		return false
	}
	select {
	case t.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (t *Threads) release() { <-t.slots }

// blockingSocket is a connection's socket in blocking mode, read and
// written with plain system calls, outside the runtime's network poller.
// Only the serving goroutine reads it and closes it (once nothing reads or
// writes); writes are serialized by the Conn; shutdown may come from any
// goroutine, and wakes a blocked read or write.
type blockingSocket struct {
	mu sync.Mutex // guards fd against being closed while shutdown uses it
	fd int
	// timeout bounds a Write; zero means none.
	timeout time.Duration
}

// takeSocket moves nc's socket out of the network poller: it duplicates
// the file descriptor, closes nc (which removes it from the poller, so the
// poller is not woken for this socket again) and puts the duplicate in
// blocking mode. On error nc is left open, as it was.
func takeSocket(nc net.Conn, writeTimeout time.Duration) (*blockingSocket, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T has no socket", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("socket of %s: %w", nc.RemoteAddr(), err)
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) {
		var r uintptr
		var errno syscall.Errno
		r, _, errno = syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			derr = errno
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, fmt.Errorf("socket of %s: %w", nc.RemoteAddr(), err)
	}
	if derr != nil {
		return nil, fmt.Errorf("duplicate the socket of %s: %w", nc.RemoteAddr(), derr)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("set the socket of %s blocking: %w", nc.RemoteAddr(), err)
	}
	if writeTimeout > 0 {
		tv := syscall.NsecToTimeval(writeTimeout.Nanoseconds())
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
			_ = syscall.Close(fd)
			return nil, fmt.Errorf("set the send timeout of %s: %w", nc.RemoteAddr(), err)
		}
	}
	// The duplicate shares the socket (and so its now blocking mode):
	// the original descriptor goes, and with it the poller's interest.
	_ = nc.Close()
	return &blockingSocket{fd: fd, timeout: writeTimeout}, nil
}

// Read reads into p in one read(2), blocking until data, the end of the
// stream (io.EOF, also after shutdown) or an error.
func (s *blockingSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(s.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p, failing once the send timeout passes without
// progress or the whole write has taken longer than it. A write after the
// peer went raises SIGPIPE, which the Go runtime ignores for sockets: it
// fails with EPIPE.
func (s *blockingSocket) Write(p []byte) (int, error) {
	var deadline time.Time
	if s.timeout > 0 {
		deadline = time.Now().Add(s.timeout)
	}
	written := 0
	for written < len(p) {
		n, err := syscall.Write(s.fd, p[written:])
		if n > 0 {
			written += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return written, os.ErrDeadlineExceeded
		case err != nil:
			return written, os.NewSyscallError("write", err)
		}
		if written < len(p) && !deadline.IsZero() && time.Now().After(deadline) {
			return written, os.ErrDeadlineExceeded
		}
	}
	return written, nil
}

// shutdown ends both directions of the socket, waking a blocked read
// (with io.EOF) and a blocked write; it does nothing once closed.
func (s *blockingSocket) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd >= 0 {
		// ENOTCONN if the peer is already gone: nothing to wake then.
		_ = syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
	}
}

// close releases the descriptor; nothing may read or write it any more.
func (s *blockingSocket) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := syscall.Close(s.fd)
	s.fd = -1
	if err != nil && !errors.Is(err, syscall.EINTR) {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// yieldEvery is how often a connection's dedicated thread passes through
// the Go scheduler while calls keep coming: under the 10 ms after which
// the runtime's monitor would step in.
const yieldEvery = 5 * time.Millisecond

// yielder has the goroutine of a connection served on a dedicated thread
// pass through the Go scheduler now and then. Looping between read(2) and
// write(2), locked to its thread, that goroutine never reaches the
// scheduler on its own, so to the runtime's monitor (sysmon) it is one
// goroutine running without a break: every 10 ms the monitor marks it for
// preemption and, as it is then usually blocked in read(2), takes its
// processor and hands it to another thread. The call that wakes the
// thread next waits for a processor and for the preemption to be carried
// out, and the monitor, having found something to do, goes back to
// checking every 20 µs, a context switch each. A yield every 5 ms, right
// after a reply is written, avoids all of it for the price of one
// hand-off (rpc benchmark: PORTBYBRICK p99 at 10000 requests/s 0.081-0.083
// ms instead of 0.099-0.106 ms, p50 0.041 instead of 0.049 ms).
type yielder struct {
	last  time.Time
	now   func() time.Time // time.Now unless a test sets it
	yield func()           // runtime.Gosched unless a test sets it
}

// maybe yields when yieldEvery has passed since the last yield (or since
// the first call).
func (y *yielder) maybe() {
	now := time.Now
	if y.now != nil {
		now = y.now
	}
	t := now()
	switch {
	case y.last.IsZero():
		y.last = t
	case t.Sub(y.last) >= yieldEvery:
		if y.yield != nil {
			y.yield()
		} else {
			runtime.Gosched()
		}
		y.last = now()
	}
}
