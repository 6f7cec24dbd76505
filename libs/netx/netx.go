// Package netx provides TCP connections for request paths where latency
// matters: their reads and writes are made as raw system calls, outside the
// Go scheduler's system-call bookkeeping.
//
// Why: a Go process whose processors are all idle (a service waiting for
// its next request, or for Consul's answer) puts its monitor thread (sysmon)
// into a deep sleep, and the next ordinary system call wakes it again; sysmon
// then polls every 20 µs until the process is idle once more. A service
// answering one request at a time pays that thread wake-up, and a few of the
// monitor's polls, on every request: on a VM, where each wake-up is a
// hypervisor round trip, that was about 20-35 µs per store write. Reads and
// writes on a non-blocking socket never block, so the scheduler does not
// need to know about them; waiting for readiness still goes through Go's
// network poller, with deadlines and Close working as on any net.Conn.
package netx

import (
	"context"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn is a TCP connection whose Read and Write use raw system calls.
type Conn struct {
	*net.TCPConn
	raw syscall.RawConn
}

// Wrap returns c as a *Conn when it is a TCP connection, and c otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{TCPConn: tc, raw: raw}
}

// Read reads up to len(p) bytes, waiting until some arrive.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n     uintptr
		errno syscall.Errno
	)
	err := c.raw.Read(func(fd uintptr) bool {
		n, errno = rawIO(syscall.SYS_READ, fd, p)
		// Nothing to read yet (EAGAIN): wait for the poller to say there is.
		return errno != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, c.opError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

// Write writes all of p, waiting while the socket's send buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		var (
			n     uintptr
			errno syscall.Errno
		)
		rest := p[written:]
		err := c.raw.Write(func(fd uintptr) bool {
			n, errno = rawIO(syscall.SYS_WRITE, fd, rest)
			// The send buffer is full (EAGAIN): wait for the poller.
			return errno != syscall.EAGAIN
		})
		if err != nil {
			return written, err
		}
		if errno != 0 {
			return written, c.opError("write", errno)
		}
		written += int(n)
	}
	return written, nil
}

// rawIO makes the read(2) or write(2) trap on fd with the non-empty b,
// again when a signal interrupted it.
func rawIO(trap, fd uintptr, b []byte) (uintptr, syscall.Errno) {
	for {
		n, _, errno := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if errno != syscall.EINTR {
			return n, errno
		}
	}
}

// opError reports a failed system call as net.Conn implementations do.
func (c *Conn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// Listener wraps a listener so that the TCP connections it accepts are Conns.
type Listener struct{ net.Listener }

// Accept waits for and returns the next connection.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// Dial connects to addr over TCP with d and returns the connection wrapped.
func Dial(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
