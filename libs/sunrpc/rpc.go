// Package sunrpc speaks ONC RPC version 2 (RFC 5531) over TCP with record
// marking, as GlusterFS uses it on its management port 24007: record framing,
// call and reply messages, the credential flavours GlusterFS sends, and a
// connection type that serves calls and sends callbacks.
//
// Decoding is strict so that every accepted message re-encodes to the same
// bytes; credential and verifier bodies are kept raw for the same reason.
package sunrpc

import (
	"errors"
	"fmt"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

// RPCVersion is the only ONC RPC protocol version (the rpcvers field of a call).
const RPCVersion = 2

// MaxAuthBodySize is the RFC 5531 limit on a credential or verifier body.
const MaxAuthBodySize = 400

// MsgType tells a call from a reply (msg_type).
type MsgType uint32

// Message types.
const (
	// MsgCall is a request (CALL = 0).
	MsgCall MsgType = 0
	// MsgReply is a response (REPLY = 1).
	MsgReply MsgType = 1
)

// ReplyStat says whether a call was accepted (reply_stat).
type ReplyStat uint32

// Reply states.
const (
	// MsgAccepted is a reply whose accept_stat says what happened (MSG_ACCEPTED = 0).
	MsgAccepted ReplyStat = 0
	// MsgDenied is a call rejected before dispatch (MSG_DENIED = 1).
	MsgDenied ReplyStat = 1
)

// AcceptStat is the outcome of an accepted call (accept_stat).
type AcceptStat uint32

// Accept states.
const (
	// Success means the procedure ran; results follow (SUCCESS = 0).
	Success AcceptStat = 0
	// ProgUnavail means the program is not served here (PROG_UNAVAIL = 1).
	ProgUnavail AcceptStat = 1
	// ProgMismatch means the version is not served; low and high follow (PROG_MISMATCH = 2).
	ProgMismatch AcceptStat = 2
	// ProcUnavail means the procedure is not served (PROC_UNAVAIL = 3).
	ProcUnavail AcceptStat = 3
	// GarbageArgs means the arguments did not decode (GARBAGE_ARGS = 4).
	GarbageArgs AcceptStat = 4
	// SystemErr means the server failed, e.g. out of memory (SYSTEM_ERR = 5).
	SystemErr AcceptStat = 5
)

// RejectStat is the reason a call was denied (reject_stat).
type RejectStat uint32

// Reject states.
const (
	// RPCMismatch means the rpcvers is not 2; low and high follow (RPC_MISMATCH = 0).
	RPCMismatch RejectStat = 0
	// AuthError means the credential was refused; an auth_stat follows (AUTH_ERROR = 1).
	AuthError RejectStat = 1
)

// AuthStat is why a credential was refused (auth_stat).
type AuthStat uint32

// AuthBadCred is the auth_stat for a malformed credential (AUTH_BADCRED = 1).
const AuthBadCred AuthStat = 1

// ErrMalformed is a message that does not follow RFC 5531.
var ErrMalformed = errors.New("sunrpc: malformed message")

// OpaqueAuth is a credential or verifier: a flavour and its raw body.
type OpaqueAuth struct {
	// Flavor is the auth flavour number.
	Flavor AuthFlavor
	// Body is the flavour-specific body exactly as sent.
	Body []byte
}

func (a OpaqueAuth) encode(e *xdr.Encoder) {
	e.Uint32(uint32(a.Flavor))
	e.Opaque(a.Body)
}

func decodeOpaqueAuth(d *xdr.Decoder) (OpaqueAuth, error) {
	f, err := d.Uint32()
	if err != nil {
		return OpaqueAuth{}, err
	}
	b, err := d.Opaque(MaxAuthBodySize)
	if err != nil {
		return OpaqueAuth{}, err
	}
	return OpaqueAuth{Flavor: AuthFlavor(f), Body: b}, nil
}

// CallMsg is an RPC call: header fields and the still-encoded arguments.
type CallMsg struct {
	// XID identifies the call; the reply echoes it.
	XID uint32
	// RPCVers is the rpcvers field; RPCVersion for every valid call.
	RPCVers uint32
	// Program is the program number.
	Program uint32
	// Version is the program version.
	Version uint32
	// Procedure is the procedure number.
	Procedure uint32
	// Cred is the credential.
	Cred OpaqueAuth
	// Verf is the verifier.
	Verf OpaqueAuth
	// Args is the XDR-encoded argument body; it aliases the decoded record.
	Args []byte
}

// ReplyMsg is an RPC reply of any kind.
type ReplyMsg struct {
	// XID is the xid of the call this answers.
	XID uint32
	// Stat says whether the call was accepted or denied.
	Stat ReplyStat
	// Verf is the verifier of an accepted reply.
	Verf OpaqueAuth
	// AcceptStat is the outcome of an accepted call.
	AcceptStat AcceptStat
	// RejectStat is the reason of a denied call.
	RejectStat RejectStat
	// Low is the lowest supported version for PROG_MISMATCH and RPC_MISMATCH.
	Low uint32
	// High is the highest supported version for PROG_MISMATCH and RPC_MISMATCH.
	High uint32
	// AuthStat is the auth_stat of an AUTH_ERROR denial.
	AuthStat AuthStat
	// Results is the XDR-encoded result body of a SUCCESS reply; it aliases the decoded record.
	Results []byte
}

// Message is a decoded RPC message: exactly one of Call and Reply is set.
type Message struct {
	// Call is set when the message is a call.
	Call *CallMsg
	// Reply is set when the message is a reply.
	Reply *ReplyMsg
}

// XID returns the message's transaction id.
func (m *Message) XID() uint32 {
	if m.Call != nil {
		return m.Call.XID
	}
	return m.Reply.XID
}

// decodeHeader reads a message's xid and msg_type from d, leaving it at
// the body.
func decodeHeader(d *xdr.Decoder) (uint32, MsgType, error) {
	xid, err := d.Uint32()
	if err != nil {
		return 0, 0, fmt.Errorf("decode xid: %w", err)
	}
	mt, err := d.Uint32()
	if err != nil {
		return 0, 0, fmt.Errorf("decode msg_type of xid %d: %w", xid, err)
	}
	return xid, MsgType(mt), nil
}

// DecodeMessage decodes one record's payload into a call or a reply.
func DecodeMessage(b []byte) (*Message, error) {
	d := xdr.NewDecoder(b)
	xid, mt, err := decodeHeader(d)
	if err != nil {
		return nil, err
	}
	switch mt {
	case MsgCall:
		c, err := decodeCallBody(d, xid)
		if err != nil {
			return nil, fmt.Errorf("decode call xid %d: %w", xid, err)
		}
		return &Message{Call: c}, nil
	case MsgReply:
		r, err := decodeReplyBody(d, xid)
		if err != nil {
			return nil, fmt.Errorf("decode reply xid %d: %w", xid, err)
		}
		return &Message{Reply: r}, nil
	default:
		return nil, fmt.Errorf("%w: msg_type %d of xid %d", ErrMalformed, mt, xid)
	}
}

// DecodeCall decodes a record's payload that must be a call.
func DecodeCall(b []byte) (*CallMsg, error) {
	m, err := DecodeMessage(b)
	if err != nil {
		return nil, err
	}
	if m.Call == nil {
		return nil, fmt.Errorf("%w: xid %d is a reply, want a call", ErrMalformed, m.Reply.XID)
	}
	return m.Call, nil
}

// DecodeReply decodes a record's payload that must be a reply.
func DecodeReply(b []byte) (*ReplyMsg, error) {
	m, err := DecodeMessage(b)
	if err != nil {
		return nil, err
	}
	if m.Reply == nil {
		return nil, fmt.Errorf("%w: xid %d is a call, want a reply", ErrMalformed, m.Call.XID)
	}
	return m.Reply, nil
}

func decodeCallBody(d *xdr.Decoder, xid uint32) (*CallMsg, error) {
	c := &CallMsg{}
	if err := decodeCallInto(d, xid, c); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeCallInto fills c with the call after its xid and msg_type; c's
// byte slices alias the decoder's input.
func decodeCallInto(d *xdr.Decoder, xid uint32, c *CallMsg) error {
	*c = CallMsg{XID: xid}
	var err error
	if c.RPCVers, err = d.Uint32(); err != nil {
		return err
	}
	if c.Program, err = d.Uint32(); err != nil {
		return err
	}
	if c.Version, err = d.Uint32(); err != nil {
		return err
	}
	if c.Procedure, err = d.Uint32(); err != nil {
		return err
	}
	if c.Cred, err = decodeOpaqueAuth(d); err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	if c.Verf, err = decodeOpaqueAuth(d); err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	c.Args = d.Rest()
	return nil
}

// DecodeCallInto decodes a record's payload that must be a call into c,
// without allocating: c's byte slices (Cred, Verf, Args) alias b, so c is
// valid only as long as b is. isCall is false (and c untouched) for a
// well-formed-so-far reply, which the caller may decode with DecodeMessage.
func DecodeCallInto(b []byte, c *CallMsg) (isCall bool, err error) {
	d := xdr.NewDecoder(b)
	xid, mt, err := decodeHeader(d)
	if err != nil {
		return false, err
	}
	switch mt {
	case MsgCall:
		if err := decodeCallInto(d, xid, c); err != nil {
			return false, fmt.Errorf("decode call xid %d: %w", xid, err)
		}
		return true, nil
	case MsgReply:
		return false, nil
	default:
		return false, fmt.Errorf("%w: msg_type %d of xid %d", ErrMalformed, mt, xid)
	}
}

func decodeReplyBody(d *xdr.Decoder, xid uint32) (*ReplyMsg, error) {
	r := &ReplyMsg{XID: xid}
	rs, err := d.Uint32()
	if err != nil {
		return nil, err
	}
	r.Stat = ReplyStat(rs)
	switch r.Stat {
	case MsgAccepted:
		if r.Verf, err = decodeOpaqueAuth(d); err != nil {
			return nil, fmt.Errorf("verifier: %w", err)
		}
		as, err := d.Uint32()
		if err != nil {
			return nil, err
		}
		r.AcceptStat = AcceptStat(as)
		switch r.AcceptStat {
		case Success:
			r.Results = d.Rest()
			return r, nil
		case ProgMismatch:
			if r.Low, r.High, err = decodeLowHigh(d); err != nil {
				return nil, err
			}
		case ProgUnavail, ProcUnavail, GarbageArgs, SystemErr:
		default:
			return nil, fmt.Errorf("%w: accept_stat %d", ErrMalformed, as)
		}
	case MsgDenied:
		rj, err := d.Uint32()
		if err != nil {
			return nil, err
		}
		r.RejectStat = RejectStat(rj)
		switch r.RejectStat {
		case RPCMismatch:
			if r.Low, r.High, err = decodeLowHigh(d); err != nil {
				return nil, err
			}
		case AuthError:
			as, err := d.Uint32()
			if err != nil {
				return nil, err
			}
			r.AuthStat = AuthStat(as)
		default:
			return nil, fmt.Errorf("%w: reject_stat %d", ErrMalformed, rj)
		}
	default:
		return nil, fmt.Errorf("%w: reply_stat %d", ErrMalformed, rs)
	}
	if err := d.Done(); err != nil {
		return nil, err
	}
	return r, nil
}

func decodeLowHigh(d *xdr.Decoder) (uint32, uint32, error) {
	lo, err := d.Uint32()
	if err != nil {
		return 0, 0, err
	}
	hi, err := d.Uint32()
	if err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}

// Marshal encodes the message (without record marking).
func (m *Message) Marshal() []byte {
	if m.Call != nil {
		return m.Call.Marshal()
	}
	return m.Reply.Marshal()
}

// Marshal encodes the call (without record marking).
func (c *CallMsg) Marshal() []byte {
	return c.AppendTo(make([]byte, 0, 40+len(c.Cred.Body)+len(c.Verf.Body)+len(c.Args)))
}

// AppendTo appends the encoded call (without record marking) to dst.
func (c *CallMsg) AppendTo(dst []byte) []byte {
	e := xdr.NewEncoder(dst)
	e.Uint32(c.XID)
	e.Uint32(uint32(MsgCall))
	e.Uint32(c.RPCVers)
	e.Uint32(c.Program)
	e.Uint32(c.Version)
	e.Uint32(c.Procedure)
	c.Cred.encode(e)
	c.Verf.encode(e)
	e.Raw(c.Args)
	return e.Bytes()
}

// Marshal encodes the reply (without record marking).
func (r *ReplyMsg) Marshal() []byte {
	return r.AppendTo(make([]byte, 0, 32+len(r.Verf.Body)+len(r.Results)))
}

// AppendTo appends the encoded reply (without record marking) to dst.
func (r *ReplyMsg) AppendTo(dst []byte) []byte {
	e := xdr.NewEncoder(dst)
	e.Uint32(r.XID)
	e.Uint32(uint32(MsgReply))
	e.Uint32(uint32(r.Stat))
	switch r.Stat {
	case MsgAccepted:
		r.Verf.encode(e)
		e.Uint32(uint32(r.AcceptStat))
		switch r.AcceptStat {
		case Success:
			e.Raw(r.Results)
		case ProgMismatch:
			e.Uint32(r.Low)
			e.Uint32(r.High)
		}
	case MsgDenied:
		e.Uint32(uint32(r.RejectStat))
		switch r.RejectStat {
		case RPCMismatch:
			e.Uint32(r.Low)
			e.Uint32(r.High)
		case AuthError:
			e.Uint32(uint32(r.AuthStat))
		}
	}
	return e.Bytes()
}

// NewSuccessReply returns a SUCCESS reply to call carrying results, with an AUTH_NULL verifier.
func NewSuccessReply(call *CallMsg, results []byte) *ReplyMsg {
	return &ReplyMsg{XID: call.XID, Stat: MsgAccepted, AcceptStat: Success, Results: results}
}

// NewErrorReply returns an accepted reply to call with a non-SUCCESS accept_stat
// (PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS or SYSTEM_ERR).
func NewErrorReply(call *CallMsg, stat AcceptStat) *ReplyMsg {
	return &ReplyMsg{XID: call.XID, Stat: MsgAccepted, AcceptStat: stat}
}

// NewProgMismatchReply returns a PROG_MISMATCH reply naming the supported versions.
func NewProgMismatchReply(call *CallMsg, low, high uint32) *ReplyMsg {
	return &ReplyMsg{XID: call.XID, Stat: MsgAccepted, AcceptStat: ProgMismatch, Low: low, High: high}
}

// NewRPCMismatchReply returns a MSG_DENIED RPC_MISMATCH reply for a call whose rpcvers is not 2.
func NewRPCMismatchReply(call *CallMsg) *ReplyMsg {
	return &ReplyMsg{XID: call.XID, Stat: MsgDenied, RejectStat: RPCMismatch, Low: RPCVersion, High: RPCVersion}
}

// String names the accept_stat.
func (s AcceptStat) String() string {
	switch s {
	case Success:
		return "SUCCESS"
	case ProgUnavail:
		return "PROG_UNAVAIL"
	case ProgMismatch:
		return "PROG_MISMATCH"
	case ProcUnavail:
		return "PROC_UNAVAIL"
	case GarbageArgs:
		return "GARBAGE_ARGS"
	case SystemErr:
		return "SYSTEM_ERR"
	default:
		return fmt.Sprintf("accept_stat(%d)", uint32(s))
	}
}
