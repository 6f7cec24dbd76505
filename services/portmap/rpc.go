package portmap

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc"
	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/gluster"
	"github.com/glusterd-ng/glusterd-ng/services/portmap/internal/registry"
)

// mgmtConn is one GlusterFS process connected to 24007.
type mgmtConn struct {
	id   uint64
	conn *sunrpc.Conn
	// local says whether the peer is on this machine (it gets trusted
	// volfiles); an address does not move, so it is decided once.
	local bool

	mu    sync.Mutex
	key   string // last GETSPEC key
	trust bool
	vol   string
	wide  bool   // the last volfile is node-wide: every volume's change may alter it
	spec  []byte // last volfile sent, or announced with FETCHSPEC (nil: its volfile is gone)
	// fetches counts the process's GETSPECs, so a FETCHSPEC it did not act on can be sent again.
	fetches uint64

	// reply and results are reused by the calls answered inline, on the
	// connection's reading goroutine only, which encodes each reply
	// before the next call (see sunrpc.ConnConfig.Inline).
	reply   sunrpc.ReplyMsg
	results []byte
}

// inlineReply is a SUCCESS reply to call carrying results, in mc's reused reply.
func (mc *mgmtConn) inlineReply(call *sunrpc.CallMsg, results []byte) *sunrpc.ReplyMsg {
	mc.reply = sunrpc.ReplyMsg{XID: call.XID, Stat: sunrpc.MsgAccepted, AcceptStat: sunrpc.Success, Results: results}
	return &mc.reply
}

// fetchSpecRetries bounds how often a FETCHSPEC is repeated to a process
// that did not fetch after it (glusterfs drops one that arrives while it
// is still building its previous graph); fetchSpecWait is the wait between.
const (
	fetchSpecRetries = 3
	fetchSpecWait    = 2 * time.Second
)

// rpcServer serves GlusterFS's management programs on 24007.
type rpcServer struct {
	reg      *registry.Registry
	vols     *volfiles
	log      *zap.Logger
	local    func(net.Addr) bool
	onSignIn func(brick string, port, pid int)
	onOut    func(brick string)

	nextID atomic.Uint64
	mu     sync.Mutex
	conns  map[uint64]*mgmtConn
}

func (s *rpcServer) mux() *sunrpc.Mux {
	m := sunrpc.NewMux()
	m.HandleFunc(gluster.DumpProgram, gluster.DumpVersion, gluster.DumpProcDump, s.dump)
	m.HandleFunc(gluster.DumpProgram, gluster.DumpVersion, gluster.DumpProcPing, s.ping)
	m.HandleFunc(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetSpec, s.getSpec)
	m.HandleFunc(gluster.HandshakeProgram, gluster.HandshakeVersion, gluster.HandshakeProcGetVolumeInfo, s.volumeInfo)
	m.HandleFunc(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcPortByBrick, s.portByBrick)
	m.HandleFunc(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignin, s.signIn)
	m.HandleFunc(gluster.PortmapProgram, gluster.PortmapVersion, gluster.PortmapProcSignout, s.signOut)
	return m
}

// serve runs one accepted connection until it ends.
func (s *rpcServer) serve(ctx context.Context, nc net.Conn) {
	mc := &mgmtConn{id: s.nextID.Add(1), local: s.local(nc.RemoteAddr())}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Replies are single writes; never hold one back (Go's default, made explicit).
		_ = tc.SetNoDelay(true)
	}
	mc.conn = sunrpc.NewConn(nc, sunrpc.ConnConfig{
		Handler: s.mux(),
		Inline:  s.inline,
		OnError: func(err error) {
			s.log.Debug("management connection error", log.Addr(nc.RemoteAddr().String()), log.Err(err))
		},
	})
	s.mu.Lock()
	s.conns[mc.id] = mc
	s.mu.Unlock()
	_ = mc.conn.Serve(withConn(ctx, mc))
	s.mu.Lock()
	delete(s.conns, mc.id)
	s.mu.Unlock()
	s.reg.Detach(mc.id)
}

// inline answers, on the connection's reading goroutine, the calls served
// from memory: DUMP, PING, PORTBYBRICK, and GETSPEC when the volfile is
// cached. Everything else (sign-in and out, volume info, a GETSPEC that
// must read the store) runs on a goroutine of its own through the Mux.
func (s *rpcServer) inline(ctx context.Context, c *sunrpc.Conn, call *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
	mc := connOf(ctx)
	if mc == nil {
		return nil, false
	}
	switch {
	case call.Program == gluster.PortmapProgram && call.Version == gluster.PortmapVersion:
		if call.Procedure == gluster.PortmapProcPortByBrick {
			return s.inlinePortByBrick(mc, call), true
		}
	case call.Program == gluster.HandshakeProgram && call.Version == gluster.HandshakeVersion:
		if call.Procedure == gluster.HandshakeProcGetSpec {
			return s.cachedSpec(ctx, mc, call)
		}
	case call.Program == gluster.DumpProgram && call.Version == gluster.DumpVersion:
		switch call.Procedure {
		case gluster.DumpProcDump:
			return s.dump(ctx, c, call), true
		case gluster.DumpProcPing:
			return s.ping(ctx, c, call), true
		}
	}
	return nil, false
}

// inlinePortByBrick is portByBrick without allocating.
func (s *rpcServer) inlinePortByBrick(mc *mgmtConn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	brick, err := gluster.DecodePortByBrickBrick(call.Args)
	if err != nil {
		return sunrpc.NewErrorReply(call, sunrpc.GarbageArgs)
	}
	r := gluster.PortByBrickReply{OpRet: -1}
	if port, ok := s.reg.PortOf(brick); ok {
		r = gluster.PortByBrickReply{Port: int32(port)}
	}
	mc.results = r.AppendTo(mc.results[:0])
	return mc.inlineReply(call, mc.results)
}

type connKey struct{}

func withConn(ctx context.Context, mc *mgmtConn) context.Context {
	return context.WithValue(ctx, connKey{}, mc)
}

func connOf(ctx context.Context) *mgmtConn { mc, _ := ctx.Value(connKey{}).(*mgmtConn); return mc }

// decode reads call's arguments into body, answering GARBAGE_ARGS when they do not decode.
func decode(call *sunrpc.CallMsg, body gluster.Body) *sunrpc.ReplyMsg {
	if err := body.Unmarshal(call.Args); err != nil {
		return sunrpc.NewErrorReply(call, sunrpc.GarbageArgs)
	}
	return nil
}

func reply(call *sunrpc.CallMsg, body gluster.Body) *sunrpc.ReplyMsg {
	return sunrpc.NewSuccessReply(call, body.Marshal())
}

func (s *rpcServer) dump(_ context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.DumpRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	return reply(call, &gluster.DumpReply{Programs: gluster.GlusterdPrograms})
}

func (s *rpcServer) ping(_ context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	return reply(call, &gluster.PingReply{})
}

// cachedSpec answers a GETSPEC whose volfile is cached, with the reply
// encoded once for that volfile, without allocating; false sends the call
// to getSpec.
func (s *rpcServer) cachedSpec(ctx context.Context, mc *mgmtConn, call *sunrpc.CallMsg) (*sunrpc.ReplyMsg, bool) {
	key, err := gluster.DecodeGetSpecKey(call.Args)
	if err != nil {
		return sunrpc.NewErrorReply(call, sunrpc.GarbageArgs), true
	}
	out, gen, ok := s.vols.Cached(key, mc.local)
	if !ok {
		return nil, false
	}
	mc.mu.Lock()
	k := mc.key
	mc.mu.Unlock()
	if k != string(key) { // the process's first GETSPEC of key: keep a copy
		k = string(key)
	}
	s.fetched(ctx, mc, k, out, gen, false)
	return mc.inlineReply(call, out.reply), true
}

func (s *rpcServer) getSpec(ctx context.Context, c *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.GetSpecRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	mc := connOf(ctx)
	trusted := s.local(c.RemoteAddr())
	if mc != nil {
		trusted = mc.local
	}
	out, err := s.vols.Get(ctx, req.Key, trusted)
	if err != nil {
		s.log.Info("no volfile for GETSPEC", zap.String("volfile_id", req.Key), log.Addr(c.RemoteAddr().String()), log.Err(err))
		errno := int32(syscall.ENOENT)
		if !errs.Is(err, errs.NotFound) {
			errno = int32(syscall.EAGAIN)
		}
		return reply(call, &gluster.GetSpecReply{OpRet: -1, OpErrno: errno})
	}
	if mc != nil {
		// Made from the store, maybe while the feed was down: always look again.
		s.fetched(ctx, mc, req.Key, out, 0, true)
	}
	if out.reply == nil {
		return reply(call, gluster.NewGetSpecReply(string(out.data)))
	}
	return sunrpc.NewSuccessReply(call, out.reply)
}

// fetched records that mc is being sent out for key, read at generation
// gen of the volfiles. A change that landed since found this connection
// not yet registered for it: if one may have (always, when recheck is
// set), look again, and tell the process to fetch once it has this answer.
func (s *rpcServer) fetched(ctx context.Context, mc *mgmtConn, key string, out served, gen uint64, recheck bool) {
	mc.mu.Lock()
	mc.key, mc.trust, mc.vol, mc.wide, mc.spec = key, mc.local, out.volume, out.nodeWide, out.data
	mc.fetches++
	mc.mu.Unlock()
	if !recheck && s.vols.Generation() == gen {
		return // no change since out was read: the next one will find mc registered
	}
	if again, err := s.vols.Get(ctx, key, mc.local); err == nil && !bytes.Equal(again.data, out.data) {
		go func() {
			time.Sleep(100 * time.Millisecond)
			s.volumeChanged(context.WithoutCancel(ctx), out.volume)
		}()
	}
}

func (s *rpcServer) volumeInfo(ctx context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.GetVolumeInfoRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	name, _ := req.Dict.GetString("volname")
	vol, err := s.vols.src.Volume(ctx, name)
	if err != nil {
		return reply(call, &gluster.GetVolumeInfoReply{OpRet: -1, OpErrno: int32(syscall.EINVAL)})
	}
	var d gluster.Dict
	d.SetString("volume_id", vol.Id)
	// glusterd answers op_errno ENOENT even on success; clients read op_ret only.
	return reply(call, &gluster.GetVolumeInfoReply{OpRet: 0, OpErrno: int32(syscall.ENOENT), Dict: d})
}

func (s *rpcServer) portByBrick(_ context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.PortByBrickRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	port, ok := s.reg.Port(req.Brick)
	if !ok {
		return reply(call, &gluster.PortByBrickReply{OpRet: -1})
	}
	return reply(call, &gluster.PortByBrickReply{Port: int32(port)})
}

func (s *rpcServer) signIn(ctx context.Context, c *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.SigninRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	var id uint64
	if mc := connOf(ctx); mc != nil {
		id = mc.id
	}
	s.reg.SignIn(req.Brick, int(req.Port), int(req.PID), id)
	s.log.Info("brick signed in", zap.String("brick", req.Brick), zap.Int32("port", req.Port), zap.Int32("pid", req.PID))
	if s.onSignIn != nil {
		s.onSignIn(req.Brick, int(req.Port), int(req.PID))
	}
	return reply(call, &gluster.SigninReply{})
}

func (s *rpcServer) signOut(_ context.Context, _ *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	var req gluster.SignoutRequest
	if r := decode(call, &req); r != nil {
		return r
	}
	s.reg.SignOut(req.Brick)
	s.log.Info("brick signed out", zap.String("brick", req.Brick))
	if s.onOut != nil {
		s.onOut(req.Brick)
	}
	return reply(call, &gluster.SignoutReply{})
}

// volumeChanged regenerates the volfile of every connection that fetched
// one of volume, or a node-wide one, and sends FETCHSPEC to those whose
// volfile is now different, so they switch graphs without reconnecting.
func (s *rpcServer) volumeChanged(ctx context.Context, volume string) {
	s.mu.Lock()
	var affected []*mgmtConn
	for _, mc := range s.conns {
		mc.mu.Lock()
		if mc.vol == volume || mc.wide {
			affected = append(affected, mc)
		}
		mc.mu.Unlock()
	}
	s.mu.Unlock()
	for _, mc := range affected {
		mc.mu.Lock()
		key, trusted, old := mc.key, mc.trust, mc.spec
		mc.mu.Unlock()
		out, err := s.vols.Get(ctx, key, trusted)
		if (err == nil && bytes.Equal(out.data, old)) || (err != nil && old == nil) {
			continue // what the process has, or has been told to fetch
		}
		if _, err := mc.conn.Call(gluster.CallbackProgram, gluster.CallbackVersion, gluster.CallbackProcFetchSpec, nil); err != nil {
			s.log.Debug("FETCHSPEC not sent", log.Err(err))
			continue
		}
		// A change that comes before the process fetches again (a delete
		// arrives as two events) is compared with what it was told to fetch.
		mc.mu.Lock()
		mc.spec = out.data
		fetches := mc.fetches
		mc.mu.Unlock()
		s.log.Info("sent FETCHSPEC", zap.String("volfile_id", key), log.Volume(volume), log.Addr(mc.conn.RemoteAddr().String()))
		go s.repeatFetchSpec(mc, key, fetches)
	}
}

// repeatFetchSpec sends FETCHSPEC again while the process has not fetched
// since the first one (and its connection lives), a few times.
func (s *rpcServer) repeatFetchSpec(mc *mgmtConn, key string, fetches uint64) {
	for i := 0; i < fetchSpecRetries; i++ {
		time.Sleep(fetchSpecWait)
		mc.mu.Lock()
		fetched := mc.fetches != fetches || mc.key != key
		mc.mu.Unlock()
		if fetched {
			return
		}
		if _, err := mc.conn.Call(gluster.CallbackProgram, gluster.CallbackVersion, gluster.CallbackProcFetchSpec, nil); err != nil {
			return // the connection is gone
		}
		s.log.Info("sent FETCHSPEC again: the process did not fetch after the last one", zap.String("volfile_id", key),
			log.Addr(mc.conn.RemoteAddr().String()))
	}
}
