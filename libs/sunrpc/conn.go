package sunrpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxInFlight is how many calls a Conn handles at once when none is configured.
const DefaultMaxInFlight = 16

// DefaultWriteTimeout bounds one record write when none is configured, so a
// peer that stops reading cannot block handlers and callbacks for ever.
const DefaultWriteTimeout = 30 * time.Second

// ErrConnClosed is a write on a Conn that has been closed.
var ErrConnClosed = errors.New("sunrpc: connection closed")

// Handler answers calls that arrive on a Conn.
type Handler interface {
	// ServeRPC returns the reply to send for call, or nil to send none.
	ServeRPC(ctx context.Context, conn *Conn, call *CallMsg) *ReplyMsg
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, conn *Conn, call *CallMsg) *ReplyMsg

// ServeRPC calls f.
func (f HandlerFunc) ServeRPC(ctx context.Context, conn *Conn, call *CallMsg) *ReplyMsg {
	return f(ctx, conn, call)
}

// ConnConfig configures a Conn; zero values mean the defaults.
type ConnConfig struct {
	// Handler answers incoming calls; required.
	Handler Handler
	// MaxRecordSize caps an incoming record (default DefaultMaxRecordSize).
	MaxRecordSize int
	// MaxInFlight caps concurrently running handlers; reading pauses at the cap (default DefaultMaxInFlight).
	MaxInFlight int
	// Inline, if set, is offered every call first, in the reading goroutine,
	// before the next record is read: it returns the reply (nil: send none)
	// and true when it can answer at once (from memory), which saves a
	// goroutine hand-off per call and answers such calls in order; or false
	// to have the call run concurrently through Handler. The call and its
	// byte slices are only valid until Inline returns (they alias the read
	// buffer); an Inline that keeps any of them must copy it. The reply is
	// written before Inline is called again, so an Inline may reuse one
	// reply and its results' storage per connection.
	Inline func(ctx context.Context, conn *Conn, call *CallMsg) (*ReplyMsg, bool)
	// WriteTimeout bounds each record write; negative means none (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Threads, if set, has Serve read the connection on a dedicated OS
	// thread with blocking system calls while the limit allows (see
	// Threads); without it, or beyond the limit, it is read through the
	// runtime's network poller.
	Threads *Threads
	// OnError, if set, receives errors that do not end the connection:
	// undecodable records, handler panics and failed reply writes.
	OnError func(error)
}

// Conn is one RPC connection seen from the server side: it reads calls and
// answers them through a Handler, and it can send calls of its own
// (GlusterFS callbacks) with its own xid counter. It is safe for concurrent use.
type Conn struct {
	nc      net.Conn
	cfg     ConnConfig
	writeMu sync.Mutex
	wbuf    []byte // guarded by writeMu: the record being written, reused
	nextXID atomic.Uint32
	closed  atomic.Bool
	done    chan struct{}
	// sockMu guards sock, which is set (under writeMu too) when Serve
	// takes the socket out of the network poller: from then on the
	// connection is read and written through sock, not nc.
	sockMu sync.Mutex
	sock   *blockingSocket
}

// NewConn wraps nc; call Serve to start reading.
func NewConn(nc net.Conn, cfg ConnConfig) *Conn {
	if cfg.MaxRecordSize <= 0 {
		cfg.MaxRecordSize = DefaultMaxRecordSize
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	return &Conn{nc: nc, cfg: cfg, done: make(chan struct{})}
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns our end's address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Done is closed when Serve has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection; Serve then returns once running handlers
// finish. A connection served on a dedicated thread (ConnConfig.Threads)
// is shut down, which wakes its blocked read or write, and its descriptor
// is closed by Serve once nothing uses it.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.sockMu.Lock()
	sock := c.sock
	c.sockMu.Unlock()
	if sock != nil {
		// Serve closes the descriptor once nothing uses it.
		sock.shutdown()
		return nil
	}
	if err := c.nc.Close(); err != nil {
		return fmt.Errorf("close rpc connection to %s: %w", c.nc.RemoteAddr(), err)
	}
	return nil
}

// Serve reads records until the peer closes the connection, a read fails or
// ctx is cancelled. Calls go to the handler (several at once); replies that
// arrive are dropped, since GlusterFS clients never answer callbacks. Every
// complete call read is handled even if the peer has half-closed. Serve waits
// for running handlers, closes the connection and returns nil on a clean end
// of stream.
func (c *Conn) Serve(ctx context.Context) error {
	defer close(c.done)
	if c.cfg.Handler == nil {
		_ = c.Close()
		return errors.New("sunrpc: ConnConfig.Handler is nil")
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	// sock, if the connection is served on a dedicated thread (the
	// goroutine locked to it), is its socket taken out of the poller.
	var (
		sock *blockingSocket
		wg   sync.WaitGroup
	)
	defer func() {
		wg.Wait()
		_ = c.Close()
		if sock != nil {
			c.closeSocket(sock)
			runtime.UnlockOSThread()
			c.cfg.Threads.release()
		}
	}()
	sem := make(chan struct{}, c.cfg.MaxInFlight)
	var src io.Reader = c.nc
	if c.cfg.Threads.acquire() {
		if sock = c.takeSocket(); sock != nil {
			runtime.LockOSThread()
			src = sock
		} else {
			c.cfg.Threads.release()
		}
	}
	// Buffered, so a record's marker and body usually take one read.
	rr := NewRecordReader(bufio.NewReaderSize(src, 32<<10), c.cfg.MaxRecordSize)
	// One record and one decoded call, reused: a call that is handed to
	// another goroutine gets its own copy.
	var (
		buf   []byte
		call  CallMsg
		yield yielder
	)
	for {
		if sock != nil {
			// Between records: the last reply is written (see yielder).
			yield.maybe()
		}
		rec, err := rr.ReadRecordInto(buf)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err == io.EOF:
				return nil
			case c.closed.Load():
				return nil
			default:
				return fmt.Errorf("serve rpc connection from %s: %w", c.nc.RemoteAddr(), err)
			}
		}
		if cap(rec) <= maxKeptReadBuffer {
			buf = rec
		} else {
			buf = nil
		}
		isCall, err := DecodeCallInto(rec, &call)
		if err == nil && !isCall {
			// A reply: GlusterFS clients never send one; checked and dropped.
			_, err = DecodeMessage(rec)
		}
		if err != nil {
			c.report(fmt.Errorf("rpc record from %s dropped: %w", c.nc.RemoteAddr(), err))
			continue
		}
		if !isCall {
			continue
		}
		if call.RPCVers != RPCVersion {
			c.send(&call, NewRPCMismatchReply(&call))
			continue
		}
		if c.cfg.Inline != nil {
			if reply, ok := c.inline(ctx, &call); ok {
				c.send(&call, reply)
				continue
			}
		}
		owned, err := DecodeCall(bytes.Clone(rec))
		if err != nil { // cannot happen: the same bytes decoded above
			c.report(fmt.Errorf("rpc record from %s dropped: %w", c.nc.RemoteAddr(), err))
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(call *CallMsg) {
			defer func() { <-sem; wg.Done() }()
			c.send(call, c.dispatch(ctx, call))
		}(owned)
	}
}

// takeSocket moves the connection to a blocking socket of its own, or
// returns nil to leave it on the network poller (closed already, or the
// socket could not be taken, which is reported).
func (c *Conn) takeSocket() *blockingSocket {
	sock, err := c.takeSocketLocked()
	if err != nil {
		// Reported outside the locks: OnError may write to the connection.
		c.report(fmt.Errorf("serving %s through the network poller: %w", c.nc.RemoteAddr(), err))
	}
	return sock
}

func (c *Conn) takeSocketLocked() (*blockingSocket, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.sockMu.Lock()
	defer c.sockMu.Unlock()
	if c.closed.Load() {
		return nil, nil
	}
	sock, err := takeSocket(c.nc, c.cfg.WriteTimeout)
	if err != nil {
		return nil, err
	}
	c.sock = sock
	return sock, nil
}

// closeSocket closes the blocking socket once Serve is done with it: after
// Close (so later writes fail with ErrConnClosed) and after any write in
// progress (which the shutdown in Close ended).
func (c *Conn) closeSocket(sock *blockingSocket) {
	c.writeMu.Lock()
	err := sock.close()
	c.writeMu.Unlock()
	if err != nil {
		c.report(fmt.Errorf("close rpc connection to %s: %w", c.nc.RemoteAddr(), err))
	}
}

// maxKeptReadBuffer and maxKeptWriteBuffer bound the buffers a Conn keeps
// between records, so one large record does not pin its memory for the
// connection's lifetime.
const (
	maxKeptReadBuffer  = 256 << 10
	maxKeptWriteBuffer = 256 << 10
)

// send writes reply (if any) to call.
func (c *Conn) send(call *CallMsg, reply *ReplyMsg) {
	if reply == nil {
		return
	}
	if err := c.writeMsg(reply.AppendTo); err != nil {
		c.report(fmt.Errorf("reply to xid %d prog %d proc %d: %w", call.XID, call.Program, call.Procedure, err))
	}
}

func (c *Conn) inline(ctx context.Context, call *CallMsg) (reply *ReplyMsg, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.report(fmt.Errorf("inline handler panic on xid %d prog %d vers %d proc %d: %v",
				call.XID, call.Program, call.Version, call.Procedure, p))
			reply, ok = NewErrorReply(call, SystemErr), true
		}
	}()
	return c.cfg.Inline(ctx, c, call)
}

func (c *Conn) dispatch(ctx context.Context, call *CallMsg) (reply *ReplyMsg) {
	defer func() {
		if p := recover(); p != nil {
			c.report(fmt.Errorf("handler panic on xid %d prog %d vers %d proc %d: %v",
				call.XID, call.Program, call.Version, call.Procedure, p))
			reply = NewErrorReply(call, SystemErr)
		}
	}()
	return c.cfg.Handler.ServeRPC(ctx, c, call)
}

// Call sends a call to the peer (a GlusterFS callback: AUTH_NULL credential
// and verifier, xid from this connection's counter starting at 1) and
// returns its xid. It does not wait for a reply; none will come.
func (c *Conn) Call(prog, vers, proc uint32, args []byte) (uint32, error) {
	xid := c.nextXID.Add(1)
	call := &CallMsg{XID: xid, RPCVers: RPCVersion, Program: prog, Version: vers, Procedure: proc, Args: args}
	if err := c.writeMsg(call.AppendTo); err != nil {
		return 0, fmt.Errorf("call prog %d vers %d proc %d: %w", prog, vers, proc, err)
	}
	return xid, nil
}

// writeMsg writes the message appendMsg encodes as one record, with a
// single Write from the connection's reused buffer.
func (c *Conn) writeMsg(appendMsg func([]byte) []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closed.Load() {
		return ErrConnClosed
	}
	b := appendMsg(append(c.wbuf[:0], 0, 0, 0, 0))
	if cap(b) <= maxKeptWriteBuffer {
		c.wbuf = b
	} else {
		c.wbuf = nil
	}
	if err := PutRecordMarker(b, len(b)-4); err != nil {
		return err
	}
	if c.sock != nil {
		// The send timeout was set on the socket.
		if _, err := c.sock.Write(b); err != nil {
			return fmt.Errorf("write record of %d bytes: %w", len(b)-4, err)
		}
		return nil
	}
	if c.cfg.WriteTimeout > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			return fmt.Errorf("set write deadline: %w", err)
		}
	}
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("write record of %d bytes: %w", len(b)-4, err)
	}
	return nil
}

func (c *Conn) report(err error) {
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}
