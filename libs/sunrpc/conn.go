package sunrpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	// Inline, if set, picks calls to handle in the reading goroutine, one at
	// a time: for handlers that answer at once, it saves a goroutine hand-off
	// per call. Other calls run concurrently as usual.
	Inline func(*CallMsg) bool
	// WriteTimeout bounds each record write; negative means none (default DefaultWriteTimeout).
	WriteTimeout time.Duration
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
	nextXID atomic.Uint32
	closed  atomic.Bool
	done    chan struct{}
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

// Close closes the connection; Serve then returns once running handlers finish.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
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

	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		_ = c.Close()
	}()
	sem := make(chan struct{}, c.cfg.MaxInFlight)
	// Buffered, so a record's marker and body usually take one read.
	rr := NewRecordReader(bufio.NewReaderSize(c.nc, 32<<10), c.cfg.MaxRecordSize)
	for {
		rec, err := rr.ReadRecord()
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
		msg, err := DecodeMessage(rec)
		if err != nil {
			c.report(fmt.Errorf("rpc record from %s dropped: %w", c.nc.RemoteAddr(), err))
			continue
		}
		if msg.Call == nil {
			continue
		}
		if c.cfg.Inline != nil && c.cfg.Inline(msg.Call) {
			c.handle(ctx, msg.Call)
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(call *CallMsg) {
			defer func() { <-sem; wg.Done() }()
			c.handle(ctx, call)
		}(msg.Call)
	}
}

func (c *Conn) handle(ctx context.Context, call *CallMsg) {
	var reply *ReplyMsg
	if call.RPCVers != RPCVersion {
		reply = NewRPCMismatchReply(call)
	} else {
		reply = c.dispatch(ctx, call)
	}
	if reply == nil {
		return
	}
	if err := c.writeRecord(reply.Marshal()); err != nil {
		c.report(fmt.Errorf("reply to xid %d prog %d proc %d: %w", call.XID, call.Program, call.Procedure, err))
	}
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
	if err := c.writeRecord(call.Marshal()); err != nil {
		return 0, fmt.Errorf("call prog %d vers %d proc %d: %w", prog, vers, proc, err)
	}
	return xid, nil
}

func (c *Conn) writeRecord(payload []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closed.Load() {
		return ErrConnClosed
	}
	if c.cfg.WriteTimeout > 0 {
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			return fmt.Errorf("set write deadline: %w", err)
		}
	}
	return WriteRecord(c.nc, payload)
}

func (c *Conn) report(err error) {
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}
