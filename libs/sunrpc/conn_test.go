package sunrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
)

const (
	testProg = 34123456
	testVers = 1
)

// peer is the client end of a test connection.
type peer struct {
	t  *testing.T
	nc net.Conn
	rr *sunrpc.RecordReader
}

func (p *peer) send(c *sunrpc.CallMsg) {
	p.t.Helper()
	require.NoError(p.t, sunrpc.WriteRecord(p.nc, c.Marshal()))
}

func (p *peer) recv() *sunrpc.Message {
	p.t.Helper()
	require.NoError(p.t, p.nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	b, err := p.rr.ReadRecord()
	require.NoError(p.t, err)
	m, err := sunrpc.DecodeMessage(b)
	require.NoError(p.t, err)
	return m
}

func call(xid, proc uint32, args []byte) *sunrpc.CallMsg {
	return &sunrpc.CallMsg{XID: xid, RPCVers: sunrpc.RPCVersion, Program: testProg, Version: testVers, Procedure: proc,
		Cred: sunrpc.NewAuthGlusterFSv2(), Args: args}
}

// startConn serves h on one end of a loopback TCP connection and returns the other end.
func startConn(t *testing.T, cfg sunrpc.ConnConfig) (*sunrpc.Conn, *peer, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	srv := <-accepted
	require.NotNil(t, srv)
	c := sunrpc.NewConn(srv, cfg)
	done := make(chan error, 1)
	go func() { done <- c.Serve(t.Context()) }()
	return c, &peer{t: t, nc: cli, rr: sunrpc.NewRecordReader(cli, 0)}, done
}

func echoMux() *sunrpc.Mux {
	mux := sunrpc.NewMux()
	mux.HandleFunc(testProg, testVers, 1, func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		return sunrpc.NewSuccessReply(c, c.Args)
	})
	mux.HandleFunc(testProg, testVers, 2, func(context.Context, *sunrpc.Conn, *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		return nil // like glusterd's EVENT_NOTIFY: no reply
	})
	mux.HandleFunc(testProg, testVers, 3, func(context.Context, *sunrpc.Conn, *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		panic("boom")
	})
	mux.HandleFunc(testProg, 3, 1, func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		return sunrpc.NewSuccessReply(c, nil)
	})
	return mux
}

func TestConnServesCalls(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	_, p, done := startConn(t, sunrpc.ConnConfig{Handler: echoMux(), OnError: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}})

	p.send(call(2, 1, []byte{0, 0, 0, 42}))
	r := p.recv().Reply
	require.Equal(t, uint32(2), r.XID)
	require.Equal(t, sunrpc.Success, r.AcceptStat)
	require.Equal(t, []byte{0, 0, 0, 42}, r.Results)

	tests := []struct {
		name string
		call *sunrpc.CallMsg
		want sunrpc.AcceptStat
	}{
		{"unknown procedure", call(3, 9, nil), sunrpc.ProcUnavail},
		{"handler panic", call(4, 3, nil), sunrpc.SystemErr},
		{"unknown program", &sunrpc.CallMsg{XID: 5, RPCVers: 2, Program: 1, Version: 1, Procedure: 1}, sunrpc.ProgUnavail},
	}
	for _, tt := range tests {
		p.send(tt.call)
		r := p.recv().Reply
		require.Equal(t, tt.call.XID, r.XID, tt.name)
		require.Equal(t, tt.want, r.AcceptStat, tt.name)
	}

	p.send(&sunrpc.CallMsg{XID: 6, RPCVers: 2, Program: testProg, Version: 7, Procedure: 1})
	r = p.recv().Reply
	require.Equal(t, sunrpc.ProgMismatch, r.AcceptStat)
	require.Equal(t, [2]uint32{1, 3}, [2]uint32{r.Low, r.High})

	p.send(&sunrpc.CallMsg{XID: 7, RPCVers: 3, Program: testProg, Version: 1, Procedure: 1})
	r = p.recv().Reply
	require.Equal(t, sunrpc.MsgDenied, r.Stat)
	require.Equal(t, sunrpc.RPCMismatch, r.RejectStat)

	// No reply for proc 2, garbage and stray replies are dropped; the next call still works.
	p.send(call(8, 2, nil))
	require.NoError(t, sunrpc.WriteRecord(p.nc, []byte{1, 2, 3}))
	require.NoError(t, sunrpc.WriteRecord(p.nc, sunrpc.NewSuccessReply(call(1, 1, nil), nil).Marshal()))
	p.send(call(9, 1, nil))
	require.Equal(t, uint32(9), p.recv().Reply.XID)

	require.NoError(t, p.nc.Close())
	require.NoError(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 2, "the panic and the undecodable record: %v", reported)
}

func TestConnConcurrentCallsAndCallbacks(t *testing.T) {
	release := make(chan struct{})
	mux := sunrpc.NewMux()
	mux.HandleFunc(testProg, testVers, 1, func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		<-release
		return sunrpc.NewSuccessReply(c, nil)
	})
	conn, p, done := startConn(t, sunrpc.ConnConfig{Handler: mux})

	const n = 10
	for i := range n {
		p.send(call(uint32(100+i), 1, nil))
	}
	// While the calls are pending, callbacks go out with their own xids from 1.
	var wg sync.WaitGroup
	xids := make(chan uint32, n)
	for range n {
		wg.Go(func() {
			xid, err := conn.Call(52743234, 1, 1, nil)
			assert.NoError(t, err)
			xids <- xid
		})
	}
	wg.Wait()
	close(xids)
	close(release)

	seenXID := map[uint32]bool{}
	for x := range xids {
		seenXID[x] = true
	}
	for i := range n {
		require.True(t, seenXID[uint32(i+1)], "callback xid %d", i+1)
	}
	callbacks, replies := 0, map[uint32]bool{}
	for range 2 * n {
		m := p.recv()
		if c := m.Call; c != nil {
			callbacks++
			require.Equal(t, sunrpc.AuthNull, c.Cred.Flavor)
			require.Equal(t, uint32(52743234), c.Program)
			require.Empty(t, c.Args)
			continue
		}
		replies[m.Reply.XID] = true
	}
	require.Equal(t, n, callbacks)
	require.Len(t, replies, n)

	require.NoError(t, p.nc.Close())
	require.NoError(t, <-done)
	<-conn.Done()
	_, err := conn.Call(52743234, 1, 1, nil)
	require.ErrorIs(t, err, sunrpc.ErrConnClosed)
}

// TestConnHalfClose: a brick sends SIGNOUT and closes its write side at once;
// the call must still be handled (and its reply written).
func TestConnHalfClose(t *testing.T) {
	handled := make(chan uint32, 1)
	mux := sunrpc.NewMux()
	mux.HandleFunc(testProg, testVers, 5, func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
		time.Sleep(20 * time.Millisecond)
		handled <- c.XID
		return sunrpc.NewSuccessReply(c, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	})
	_, p, done := startConn(t, sunrpc.ConnConfig{Handler: mux})
	p.send(call(4, 5, nil))
	require.NoError(t, p.nc.(*net.TCPConn).CloseWrite())
	require.Equal(t, uint32(4), <-handled)
	require.Equal(t, uint32(4), p.recv().Reply.XID)
	require.NoError(t, <-done)
	_, err := p.rr.ReadRecord()
	require.ErrorIs(t, err, io.EOF, "Serve closes the connection when done")
}

func TestConnOversizedRecord(t *testing.T) {
	_, p, done := startConn(t, sunrpc.ConnConfig{Handler: echoMux(), MaxRecordSize: 1024})
	_, err := p.nc.Write([]byte{0x80, 0, 0x04, 0x01})
	require.NoError(t, err)
	require.ErrorIs(t, <-done, sunrpc.ErrRecordTooLarge)
}

func TestConnContextCancel(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	ctx, cancel := context.WithCancel(t.Context())
	c := sunrpc.NewConn(srv, sunrpc.ConnConfig{Handler: echoMux()})
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	cancel()
	require.True(t, errors.Is(<-done, context.Canceled))
}

func TestConnPipe(t *testing.T) {
	srv, cli := net.Pipe()
	c := sunrpc.NewConn(srv, sunrpc.ConnConfig{Handler: echoMux()})
	done := make(chan error, 1)
	go func() { done <- c.Serve(t.Context()) }()
	p := &peer{t: t, nc: cli, rr: sunrpc.NewRecordReader(cli, 0)}
	p.send(call(2, 1, []byte{1, 2, 3, 4}))
	require.Equal(t, []byte{1, 2, 3, 4}, p.recv().Reply.Results)
	require.NoError(t, cli.Close())
	require.NoError(t, <-done)
}

func TestConnInlineCallsAnswerInOrder(t *testing.T) {
	_, p, _ := startConn(t, sunrpc.ConnConfig{
		Handler: sunrpc.HandlerFunc(func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
			return sunrpc.NewSuccessReply(c, c.Args)
		}),
		Inline: func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
			if c.Procedure != 1 {
				return nil, false
			}
			// The call aliases the read buffer: the reply keeps a copy.
			return sunrpc.NewSuccessReply(c, append([]byte(nil), c.Args...)), true
		},
	})
	for xid := uint32(1); xid <= 20; xid++ {
		p.send(call(xid, 1, []byte{0, 0, 0, byte(xid)}))
	}
	for xid := uint32(1); xid <= 20; xid++ {
		m := p.recv()
		require.NotNil(t, m.Reply)
		require.Equal(t, xid, m.Reply.XID, "inline calls are answered in the order they came")
	}
}

// TestConnHandedOffCallsOwnTheirBytes checks that a call run on its own
// goroutine keeps its arguments while later records reuse the read buffer.
func TestConnHandedOffCallsOwnTheirBytes(t *testing.T) {
	release := make(chan struct{})
	_, p, _ := startConn(t, sunrpc.ConnConfig{
		Handler: sunrpc.HandlerFunc(func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) *sunrpc.ReplyMsg {
			if c.Procedure == 2 {
				<-release
			}
			return sunrpc.NewSuccessReply(c, c.Args)
		}),
		Inline: func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
			if c.Procedure != 1 {
				return nil, false
			}
			return sunrpc.NewSuccessReply(c, append([]byte(nil), c.Args...)), true
		},
	})
	p.send(call(1, 2, []byte{1, 1, 1, 1}))
	for xid := uint32(2); xid <= 5; xid++ {
		p.send(call(xid, 1, []byte{9, 9, 9, byte(xid)}))
		m := p.recv()
		require.Equal(t, xid, m.Reply.XID)
		require.Equal(t, []byte{9, 9, 9, byte(xid)}, m.Reply.Results)
	}
	close(release)
	m := p.recv()
	require.Equal(t, uint32(1), m.Reply.XID)
	require.Equal(t, []byte{1, 1, 1, 1}, m.Reply.Results, "the handed-off call's arguments survive later reads")
}

// BenchmarkConnInline measures a call answered inline over loopback TCP,
// client included (it reuses its buffers, so allocs/op are the server's).
func BenchmarkConnInline(b *testing.B) {
	results := make([]byte, 16)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := sunrpc.NewConn(nc, sunrpc.ConnConfig{
			Handler: echoMux(),
			Inline: func(_ context.Context, _ *sunrpc.Conn, c *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
				return sunrpc.NewSuccessReply(c, results), true
			},
		})
		_ = c.Serve(context.Background())
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	defer nc.Close()
	rec, err := sunrpc.AppendRecord(nil, call(1, 1, make([]byte, 64)).Marshal())
	require.NoError(b, err)
	rr := sunrpc.NewRecordReader(nc, 0)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := nc.Write(rec); err != nil {
			b.Fatal(err)
		}
		if buf, err = rr.ReadRecordInto(buf); err != nil {
			b.Fatal(err)
		}
	}
}
