package sunrpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
)

// inlineEcho answers procedure 1 inline with its arguments, as the portmap
// answers PORTBYBRICK and GETSPEC.
func inlineEcho(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
	if c.Procedure != 1 {
		return nil, false
	}
	return sunrpc.NewSuccessReply(c, append([]byte(nil), c.Args...)), true
}

// roundTrip sends a call and checks that its reply echoes the arguments.
func (p *peer) roundTrip(xid uint32) {
	p.t.Helper()
	args := []byte{0, 0, byte(xid >> 8), byte(xid)}
	p.send(call(xid, 1, args))
	r := p.recv().Reply
	require.Equal(p.t, xid, r.XID)
	require.Equal(p.t, args, r.Results)
}

func TestThreadsServeUpToTheLimitThenThePoller(t *testing.T) {
	threads := sunrpc.NewThreads(1)
	cfg := sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: threads}
	c1, p1, done1 := startConn(t, cfg)
	p1.roundTrip(1) // Serve has taken its slot by now
	require.Equal(t, 1, threads.InUse())
	c2, p2, done2 := startConn(t, cfg)
	for xid := uint32(1); xid <= 10; xid++ {
		p1.roundTrip(xid)
		p2.roundTrip(xid)
	}
	// A call handed to a goroutine is answered on both kinds of connection.
	for _, p := range []*peer{p1, p2} {
		p.send(call(50, 9, nil))
		require.Equal(t, sunrpc.ProcUnavail, p.recv().Reply.AcceptStat)
	}
	require.Equal(t, 1, threads.InUse(), "the second connection went to the poller")
	require.LessOrEqual(t, threads.InUse(), threads.Limit())

	require.NoError(t, p1.nc.Close())
	require.NoError(t, <-done1)
	<-c1.Done()
	require.Equal(t, 0, threads.InUse(), "the slot is given back when Serve returns")
	// A connection that arrives now gets the free slot.
	_, p3, done3 := startConn(t, cfg)
	p3.roundTrip(1)
	require.Equal(t, 1, threads.InUse())
	p2.roundTrip(11)

	require.NoError(t, c2.Close())
	require.NoError(t, <-done2)
	require.NoError(t, p3.nc.Close())
	require.NoError(t, <-done3)
	require.Equal(t, 0, threads.InUse())
}

// TestThreadsCloseWhileBlockedInRead: Close from another goroutine wakes
// the thread blocked in read(2); Serve returns and the peer sees the end.
func TestThreadsCloseWhileBlockedInRead(t *testing.T) {
	threads := sunrpc.NewThreads(4)
	c, p, done := startConn(t, sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: threads})
	p.roundTrip(1)
	// Nothing more is sent: Serve waits in read(2) for the next call.
	require.NoError(t, c.Close())
	require.NoError(t, <-done)
	<-c.Done()
	_, err := p.rr.ReadRecord()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, 0, threads.InUse())
	_, err = c.Call(52743234, 1, 1, nil)
	require.ErrorIs(t, err, sunrpc.ErrConnClosed)
	require.NoError(t, c.Close(), "closing twice")
}

func TestThreadsContextCancel(t *testing.T) {
	threads := sunrpc.NewThreads(4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer cli.Close()
	srv, err := ln.Accept()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	c := sunrpc.NewConn(srv, sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: threads})
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	p := &peer{t: t, nc: cli, rr: sunrpc.NewRecordReader(cli, 0)}
	p.roundTrip(1)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 0, threads.InUse())
}

// TestThreadsCallbacksConcurrentWithReplies: callbacks written from other
// goroutines (the portmap's FETCHSPEC) while the serving thread writes
// replies arrive whole, each record intact.
func TestThreadsCallbacksConcurrentWithReplies(t *testing.T) {
	const calls, callers, callbacksEach = 200, 4, 50
	payload := bytes.Repeat([]byte{0xab}, 4096) // large enough to be written in pieces under load
	c, p, done := startConn(t, sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: sunrpc.NewThreads(1)})
	p.roundTrip(1)

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range callbacksEach {
				_, err := c.Call(52743234, 1, 1, payload)
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		for xid := uint32(2); xid < calls+2; xid++ {
			p.send(call(xid, 1, []byte{0, 0, byte(xid >> 8), byte(xid)}))
		}
	})
	replies, callbacks := 0, 0
	next := uint32(2)
	for replies+callbacks < calls+callers*callbacksEach {
		m := p.recv()
		if m.Call != nil {
			callbacks++
			require.Equal(t, payload, m.Call.Args)
			continue
		}
		require.Equal(t, next, m.Reply.XID, "inline replies in order")
		require.Equal(t, []byte{0, 0, byte(next >> 8), byte(next)}, m.Reply.Results)
		next++
		replies++
	}
	wg.Wait()
	require.Equal(t, callers*callbacksEach, callbacks)
	require.NoError(t, p.nc.Close())
	require.NoError(t, <-done)
}

// TestThreadsHalfClose: a call read before the peer closed its write side
// is still answered, by a handler running on another goroutine, before the
// socket is closed.
func TestThreadsHalfClose(t *testing.T) {
	release := make(chan struct{})
	mux := sunrpc.NewMux()
	mux.HandleFunc(testProg, testVers, 5, func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		<-release
		return sunrpc.NewSuccessReply(c, []byte{0, 0, 0, 7})
	})
	threads := sunrpc.NewThreads(1)
	_, p, done := startConn(t, sunrpc.ConnConfig{Handler: mux, Inline: inlineEcho, Threads: threads})
	p.roundTrip(1)
	p.send(call(4, 5, nil))
	require.NoError(t, p.nc.(*net.TCPConn).CloseWrite())
	close(release)
	r := p.recv().Reply
	require.Equal(t, uint32(4), r.XID)
	require.Equal(t, []byte{0, 0, 0, 7}, r.Results)
	require.NoError(t, <-done)
	_, err := p.rr.ReadRecord()
	require.ErrorIs(t, err, io.EOF, "Serve closes the connection when done")
	require.Equal(t, 0, threads.InUse())
}

// TestThreadsWriteTimeout: a peer that stops reading fails writes once the
// send timeout passes, and Close ends a write blocked with no timeout.
func TestThreadsWriteTimeout(t *testing.T) {
	big := make([]byte, 1<<20)
	for _, tc := range []struct {
		name    string
		timeout time.Duration // negative: none
	}{{"send timeout", 50 * time.Millisecond}, {"no timeout, closed", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: sunrpc.NewThreads(1), WriteTimeout: tc.timeout}
			c, p, done := startConn(t, cfg)
			p.roundTrip(1)
			// The peer reads nothing more: the socket buffers fill.
			errc := make(chan error, 1)
			go func() {
				for {
					if _, err := c.Call(52743234, 1, 1, big); err != nil {
						errc <- err
						return
					}
				}
			}()
			if tc.timeout > 0 {
				require.ErrorIs(t, <-errc, os.ErrDeadlineExceeded)
				require.NoError(t, c.Close())
			} else {
				// The write is blocked or about to start: either way
				// Close ends it (with EPIPE or ErrConnClosed).
				require.NoError(t, c.Close())
				err := <-errc
				require.Error(t, err)
				require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
			}
			require.NoError(t, <-done)
		})
	}
}

// TestThreadsConnWithoutSocket: a connection with no socket to take (a
// pipe) is served as before, the slot given back and the reason reported.
func TestThreadsConnWithoutSocket(t *testing.T) {
	threads := sunrpc.NewThreads(1)
	reported := make(chan error, 1)
	srv, cli := net.Pipe()
	c := sunrpc.NewConn(srv, sunrpc.ConnConfig{Handler: echoMux(), Inline: inlineEcho, Threads: threads,
		OnError: func(err error) { reported <- err }})
	done := make(chan error, 1)
	go func() { done <- c.Serve(t.Context()) }()
	p := &peer{t: t, nc: cli, rr: sunrpc.NewRecordReader(cli, 0)}
	p.send(call(2, 1, []byte{1, 2, 3, 4}))
	require.Equal(t, []byte{1, 2, 3, 4}, p.recv().Reply.Results)
	require.Error(t, <-reported)
	require.Equal(t, 0, threads.InUse())
	require.NoError(t, cli.Close())
	require.NoError(t, <-done)
}
