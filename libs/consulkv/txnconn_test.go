package consulkv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// proxy relays TCP connections to Consul, and can break them as Consul
// (or the network) would.
type proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	accepted int
	clients  []net.Conn
	// dropReplies makes the proxy relay requests but close the client's
	// connection as soon as Consul starts answering, so the answer is lost.
	dropReplies bool
}

func newProxy(t *testing.T, target string, dropReplies bool) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, dropReplies: dropReplies}
	t.Cleanup(func() { ln.Close(); p.closeClients() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.accepted++
			p.clients = append(p.clients, c)
			p.mu.Unlock()
			drop := p.dropReplies
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() {
				if drop {
					buf := make([]byte, 1)
					_, _ = s.Read(buf)
					c.Close()
					s.Close()
					return
				}
				_, _ = io.Copy(c, s)
				c.Close()
			}()
		}
	}()
	return p
}

// closeClients closes every relayed connection from the server's side.
func (p *proxy) closeClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.Close()
	}
	p.clients = nil
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func TestTxnConnectionClosedByConsulWhileIdleIsReplaced(t *testing.T) {
	ctx := t.Context()
	px := newProxy(t, shared.HTTPAddr, false)
	c := newClient(t, px.ln.Addr().String())
	require.NotNil(t, c.txns)
	k := fmt.Sprintf("%s/%d", t.Name(), time.Now().UnixNano())
	_, idx, err := c.Txn(ctx, []Op{Set(k, []byte("1"))})
	require.NoError(t, err)
	require.Len(t, c.txns.idle, 1)

	// Consul closes the idle connection; the client notices before sending.
	px.closeClients()
	testutil.Await(t, 5*time.Second, func() bool { return c.txns.idle[0].closedByPeer() }, "the close reaches the client")
	res, _, err := c.Txn(ctx, []Op{SetCAS(k, []byte("2"), idx)})
	require.NoError(t, err, "sent once, on a new connection")
	require.Greater(t, res[0].ModifyIndex, idx)
	require.Equal(t, 2, px.connections())
}

func TestTxnWhoseAnswerIsLostIsNotSentAgain(t *testing.T) {
	ctx := t.Context()
	px := newProxy(t, shared.HTTPAddr, true)
	c := newClient(t, px.ln.Addr().String())
	k := fmt.Sprintf("%s/%d", t.Name(), time.Now().UnixNano())
	_, _, err := c.Txn(ctx, []Op{SetCAS(k, []byte("1"), 0)})
	require.True(t, errs.Is(err, errs.Unavailable), "the answer was lost: %v", err)
	require.Equal(t, 1, px.connections(), "not sent a second time: a retry would have failed its own check-and-set")

	// Consul did apply it: the caller finds out by reading back.
	direct := newClient(t, shared.HTTPAddr)
	e, _, err := direct.Get(ctx, k)
	require.NoError(t, err)
	require.Equal(t, "1", string(e.Value))
}

func TestResponsesAreNotCompressed(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get("Accept-Encoding"):
		default:
		}
		w.Header().Set("X-Consul-Index", "1")
		_, _ = w.Write([]byte("[]"))
	}))
	defer srv.Close()
	c := newClient(t, strings.TrimPrefix(srv.URL, "http://"))
	_, _, _ = c.List(t.Context(), "x/")
	require.Empty(t, <-got, "no gzip asked for: on the local agent it only costs CPU on both sides")
}
