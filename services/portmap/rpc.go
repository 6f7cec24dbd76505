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

	mu   sync.Mutex
	key  string // last GETSPEC key
	vol  string
	wide bool // the volfile is node-wide: every volume's change may alter it
	// last is the process's last GETSPEC answer for key (nil: an error);
	// answers counts those answers, pending the GETSPECs being answered.
	last             []byte
	answers, pending int
	// lastTopology is the shape of the node-wide self-heal graph last
	// fetched (served.topology).
	lastTopology string
	// following: a goroutine is bringing the process to the current
	// volfile; recheck (and a token in kick) asks it to look again.
	following, recheck bool
	kick               chan struct{}

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

// settled says whether the process fetched current, the volfile its key
// now yields, last.
func (mc *mgmtConn) settled(current []byte) bool {
	return mc.answers > 0 && bytes.Equal(mc.last, current)
}

// fetchSpecRetries bounds how many FETCHSPECs one round of following sends
// to a process that does not come to the current volfile (it died, hangs,
// or cannot reach the store); fetchSpecWait is the wait between them, long
// enough for glusterfs to build a graph and fetch again. answerWait is how
// soon to look again when a GETSPEC is being answered.
const (
	fetchSpecRetries = 5
	fetchSpecWait    = 2 * time.Second
	answerWait       = 50 * time.Millisecond
)

// rpcServer serves GlusterFS's management programs on 24007.
type rpcServer struct {
	reg      *registry.Registry
	vols     *volfiles
	log      *zap.Logger
	local    func(net.Addr) bool
	onSignIn func(brick string, port, pid int)
	onOut    func(brick string)
	threads  *sunrpc.Threads

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
	mc := &mgmtConn{id: s.nextID.Add(1), local: s.local(nc.RemoteAddr()), kick: make(chan struct{}, 1)}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Replies are single writes; never hold one back (Go's default, made explicit).
		_ = tc.SetNoDelay(true)
	}
	mc.conn = sunrpc.NewConn(nc, sunrpc.ConnConfig{
		Handler: s.mux(),
		Inline:  s.inline,
		Threads: s.threads,
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
// from memory (DUMP, PING, PORTBYBRICK) and every GETSPEC: a connection's
// GETSPECs are answered one after the other, each reply written before the
// next call is read, so the answers recorded in mgmtConn are the ones the
// process got, in its order (one whose volfile is not cached waits for the
// store). Everything else (sign-in and out, volume info) runs on a
// goroutine of its own through the Mux.
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
			return s.answerSpec(ctx, c, mc, call, true), true
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

func (s *rpcServer) getSpec(ctx context.Context, c *sunrpc.Conn, call *sunrpc.CallMsg) *sunrpc.ReplyMsg {
	return s.answerSpec(ctx, c, connOf(ctx), call, false)
}

// answerSpec answers a GETSPEC, from the cache (its reply encoded once per
// volfile, sent without allocating) or else from the store, and records on
// mc (when there is one) what the process was sent, so that it can be
// brought to the current volfile when that changes. inline says it runs on
// mc's reading goroutine, whose reused reply it may then use.
func (s *rpcServer) answerSpec(ctx context.Context, c *sunrpc.Conn, mc *mgmtConn, call *sunrpc.CallMsg, inline bool) *sunrpc.ReplyMsg {
	key, err := gluster.DecodeGetSpecKey(call.Args)
	if err != nil {
		return sunrpc.NewErrorReply(call, sunrpc.GarbageArgs)
	}
	var trusted bool
	if mc == nil {
		trusted = s.local(c.RemoteAddr())
	} else {
		trusted = mc.local
		// Registered for changes before the volfile is read: a change the
		// read misses comes as an event that finds this connection.
		mc.mu.Lock()
		if mc.key != string(key) {
			k := string(key)
			name, kind := resolveKey(k)
			mc.last, mc.answers = nil, 0
			mc.key, mc.vol, mc.wide = k, name, kind == "nodeshd"
		}
		mc.pending++
		mc.mu.Unlock()
	}
	out, ok := s.vols.Cached(key, trusted)
	if !ok {
		out, err = s.vols.Get(ctx, string(key), trusted)
	}
	if mc != nil {
		mc.mu.Lock()
		mc.pending--
		if err != nil && mc.answers == 0 {
			// Never served on this connection: glusterfs gives up at
			// its first failed fetch; nothing to follow.
			mc.key, mc.vol, mc.wide = "", "", false
		} else {
			mc.last, mc.lastTopology = out.data, out.topology // nil on error: the volfile is gone
			mc.answers++
		}
		mc.mu.Unlock()
	}
	if err != nil {
		s.log.Info("no volfile for GETSPEC", zap.ByteString("volfile_id", key), log.Addr(c.RemoteAddr().String()), log.Err(err))
		errno := int32(syscall.ENOENT)
		if !errs.Is(err, errs.NotFound) {
			errno = int32(syscall.EAGAIN)
		}
		return reply(call, &gluster.GetSpecReply{OpRet: -1, OpErrno: errno})
	}
	if inline {
		return mc.inlineReply(call, out.reply)
	}
	return sunrpc.NewSuccessReply(call, out.reply)
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

// volumeChanged brings every connection that fetched one of volume's
// volfiles, or a node-wide one, to its current volfile.
func (s *rpcServer) volumeChanged(volume string) {
	s.followWhere(func(mc *mgmtConn) bool { return mc.vol == volume || mc.wide })
}

// reconcile brings every connection that fetched a volfile to its current
// one: for the changes nobody was told about, those made while the store's
// change feed was not followed (before it started, or while it was
// re-established).
func (s *rpcServer) reconcile() {
	s.followWhere(func(*mgmtConn) bool { return true })
}

// followWhere follows every connection that fetched a volfile and matches
// (match is called with the connection's lock held).
func (s *rpcServer) followWhere(match func(*mgmtConn) bool) {
	s.mu.Lock()
	var affected []*mgmtConn
	for _, mc := range s.conns {
		mc.mu.Lock()
		if mc.key != "" && match(mc) {
			affected = append(affected, mc)
		}
		mc.mu.Unlock()
	}
	s.mu.Unlock()
	for _, mc := range affected {
		s.follow(mc)
	}
}

// follow makes sure a goroutine brings mc's process to its current
// volfile: it sends FETCHSPEC, and again every fetchSpecWait, until the
// process's GETSPEC answers show it runs the current volfile (settled), or
// fetchSpecRetries FETCHSPECs went unheeded, or the connection ends. A
// change while it runs makes it look again and start counting afresh.
func (s *rpcServer) follow(mc *mgmtConn) {
	mc.mu.Lock()
	if mc.following {
		mc.recheck = true
		mc.mu.Unlock()
		select {
		case mc.kick <- struct{}{}:
		default:
		}
		return
	}
	mc.following = true
	mc.mu.Unlock()
	go s.bringUpToDate(mc)
}

// bringUpToDate is follow's goroutine.
func (s *rpcServer) bringUpToDate(mc *mgmtConn) {
	sent := 0
	for {
		mc.mu.Lock()
		key := mc.key
		mc.recheck = false
		select {
		case <-mc.kick: // asked for what this look sees
		default:
		}
		mc.mu.Unlock()
		current, ok := s.current(key, mc.local)
		mc.mu.Lock()
		if mc.recheck {
			// A newer change: look again, counting afresh.
			sent = 0
			mc.mu.Unlock()
			continue
		}
		if mc.pending > 0 {
			// Its answer will tell; a FETCHSPEC now would have the
			// process fetch twice at once.
			mc.mu.Unlock()
			if !s.pause(mc, answerWait) {
				return
			}
			continue
		}
		// A self-heal daemon whose graph changes shape is restarted by its
		// node's servicemgr (docs/servicemgr.md) and fetches the new graph
		// then; told to fetch it now, it would build the new graph beside
		// the old one until it is restarted.
		reshaped := ok && mc.wide && mc.answers > 0 && mc.last != nil && current.topology != mc.lastTopology
		done := mc.key == "" || (ok && mc.settled(current.data)) || reshaped
		if done || sent >= fetchSpecRetries {
			mc.following = false
			mc.mu.Unlock()
			if !done {
				s.log.Warn("the process did not come to its current volfile after repeated FETCHSPECs", zap.String("volfile_id", key),
					log.Addr(mc.conn.RemoteAddr().String()), zap.Int("fetchspecs", sent))
			}
			return
		}
		mc.mu.Unlock()
		if ok {
			if _, err := mc.conn.Call(gluster.CallbackProgram, gluster.CallbackVersion, gluster.CallbackProcFetchSpec, nil); err != nil {
				s.log.Debug("FETCHSPEC not sent", zap.String("volfile_id", key), log.Err(err))
			} else {
				s.log.Info("sent FETCHSPEC", zap.String("volfile_id", key), log.Addr(mc.conn.RemoteAddr().String()), zap.Int("attempt", sent+1))
			}
		}
		sent++
		if !s.pause(mc, fetchSpecWait) {
			return
		}
	}
}

// pause waits d, or less if mc is kicked; false if the connection ended
// (and mc is no longer followed).
func (s *rpcServer) pause(mc *mgmtConn, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-mc.kick:
	case <-mc.conn.Done():
		mc.mu.Lock()
		mc.following = false
		mc.mu.Unlock()
		return false
	}
	return true
}

// current is the volfile key now yields (nil if there is none: the volume
// or brick is gone); ok is false when that cannot be told (the store is
// unreachable and nothing is kept for key).
func (s *rpcServer) current(key string, trusted bool) (out served, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.vols.Get(ctx, key, trusted)
	switch {
	case err == nil:
		return out, true
	case errs.Is(err, errs.NotFound):
		return served{}, true
	default:
		return served{}, false
	}
}
