package consulkv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/hashicorp/consul/api"

	"github.com/glusterd-ng/glusterd-ng/libs/netx"
)

// txnConns sends transactions to Consul's /v1/txn over HTTP/1.1 connections
// of their own, writing the request and reading the response on the
// caller's goroutine. net/http hands every request to a writer goroutine
// and every response back from a reader goroutine: two hand-offs per write
// that on a store's hot path cost more than Consul's own work. The request
// and response bodies are the same JSON the consul/api client sends and
// reads.
type txnConns struct {
	addr  string
	token string

	mu   sync.Mutex
	idle []*txnConn
}

// txnConn is one keep-alive connection to Consul.
type txnConn struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	lastUsed time.Time
	// req and reply are the request body's and the answer's buffers,
	// reused from one transaction to the next.
	req, reply []byte
}

const (
	// maxIdleTxnConns bounds the connections kept for later transactions.
	maxIdleTxnConns = 64
	// maxKeptBuffer bounds the request and answer buffers a connection
	// keeps for the next transaction.
	maxKeptBuffer = 64 << 10
	// maxTxnConnIdle is how long an idle connection is trusted to still be
	// open; older ones are closed rather than reused.
	maxTxnConnIdle = 30 * time.Second
)

func newTxnConns(addr, token string) *txnConns { return &txnConns{addr: addr, token: token} }

// get returns an idle connection (reused true) or a new one.
func (p *txnConns) get(ctx context.Context) (*txnConn, bool, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(c.lastUsed) < maxTxnConnIdle && !c.closedByPeer() {
			p.mu.Unlock()
			return c, true, nil
		}
		c.conn.Close()
	}
	p.mu.Unlock()
	d := net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	conn, err := netx.Dial(ctx, &d, p.addr)
	if err != nil {
		return nil, false, err
	}
	return &txnConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), w: bufio.NewWriterSize(conn, 4096)}, false, nil
}

// closedByPeer says whether Consul closed the idle connection (or sent
// something unasked): a read that must not wait finds EOF or data instead
// of nothing. Checked before a request is sent, because once it is, an
// EOF no longer says whether Consul acted on it.
func (c *txnConn) closedByPeer() bool {
	if c.r.Buffered() > 0 {
		return true
	}
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// A raw system call, as the connection's reads and writes are
		// (libs/netx): it cannot block.
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		// Nothing to read (EAGAIN) is the healthy idle connection; EOF,
		// an error or bytes nobody asked for are not.
		closed = errno != syscall.EAGAIN
		return true
	})
	return err != nil || closed
}

// put keeps c for a later transaction, or closes it when enough are kept.
func (p *txnConns) put(c *txnConn) {
	c.lastUsed = time.Now()
	// A rare large transaction does not pin its buffers to the pool.
	if cap(c.req) > maxKeptBuffer || cap(c.reply) > maxKeptBuffer {
		c.req, c.reply = nil, nil
	}
	p.mu.Lock()
	if len(p.idle) < maxIdleTxnConns {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.conn.Close()
	}
}

// errStaleConn is a reused connection that could not take the request
// whole: Consul cannot have acted on it, so it can be sent again.
var errStaleConn = errors.New("consul closed an idle connection")

// txn sends ops as one transaction, like api.Txn.Txn: ok is false when
// Consul refused it (HTTP 409, with the reasons in res.errors). It returns
// the X-Consul-Index header, set for read-only transactions.
func (p *txnConns) txn(ctx context.Context, ops []Op) (bool, txnResult, uint64, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return false, txnResult{}, 0, err
		}
		ok, res, index, err := p.roundTrip(ctx, c, ops, reused)
		if errors.Is(err, errStaleConn) && attempt < 2 {
			continue
		}
		return ok, res, index, err
	}
}

// roundTrip sends one request on c and reads its response; c goes back
// to the pool when both went through whole, and is closed otherwise.
func (p *txnConns) roundTrip(ctx context.Context, c *txnConn, ops []Op, reused bool) (ok bool, res txnResult, index uint64, err error) {
	keep := false
	defer func() {
		if keep {
			p.put(c)
		} else {
			c.conn.Close()
		}
	}()
	if d, has := ctx.Deadline(); has {
		_ = c.conn.SetDeadline(d)
	} else {
		_ = c.conn.SetDeadline(time.Time{})
	}
	// A cancelled context interrupts the connection at once; a connection
	// it may have interrupted is not reused.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			keep = false
		}
	}()
	ctxErr := func(err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%w: %w", cerr, err)
		}
		return err
	}

	c.req = appendTxnBody(c.req[:0], ops)
	w := c.w
	w.WriteString("PUT /v1/txn HTTP/1.1\r\nHost: ")
	w.WriteString(p.addr)
	w.WriteString("\r\nUser-Agent: glusterd-ng\r\nContent-Type: application/json\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(c.req)))
	if p.token != "" {
		w.WriteString("\r\nX-Consul-Token: ")
		w.WriteString(p.token)
	}
	w.WriteString("\r\n\r\n")
	w.Write(c.req)
	if err := w.Flush(); err != nil {
		w.Reset(c.conn)
		if reused && ctx.Err() == nil {
			return false, res, 0, fmt.Errorf("%w: %w", errStaleConn, err)
		}
		return false, res, 0, ctxErr(err)
	}
	// The request went out whole: from here on a broken connection is not
	// retried, since Consul may have applied the transaction before it
	// broke (a second try would then fail its own check-and-set). The
	// caller gets an error and reads back what happened.
	rep, buf, err := readTxnReply(c.r, c.reply)
	c.reply = buf
	if err != nil {
		return false, res, 0, ctxErr(err)
	}
	keep = !rep.close
	if rep.status != http.StatusOK && rep.status != http.StatusConflict {
		return false, res, 0, api.StatusError{Code: rep.status, Body: string(bytes.TrimSpace(rep.body))}
	}
	if res, err = decodeTxnResult(rep.body); err != nil {
		return false, res, 0, err
	}
	return rep.status == http.StatusOK, res, rep.index, nil
}
