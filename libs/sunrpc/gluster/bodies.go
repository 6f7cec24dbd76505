package gluster

import (
	"fmt"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

// Body is a request or reply body that encodes to and decodes from XDR.
type Body interface {
	// Marshal encodes the body.
	Marshal() []byte
	// Unmarshal decodes the body from exactly b.
	Unmarshal(b []byte) error
}

func unmarshal(b []byte, what string, f func(d *xdr.Decoder) error) error {
	d := xdr.NewDecoder(b)
	if err := f(d); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if err := d.Done(); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

func decodeDict(d *xdr.Decoder, field string) (Dict, error) {
	b, err := d.Opaque(MaxDictLen)
	if err != nil {
		return Dict{}, fmt.Errorf("%s: %w", field, err)
	}
	dict, err := DecodeDict(b)
	if err != nil {
		return Dict{}, fmt.Errorf("%s: %w", field, err)
	}
	return dict, nil
}

func decodeInt32s(d *xdr.Decoder, fields ...*int32) error {
	for _, f := range fields {
		v, err := d.Int32()
		if err != nil {
			return err
		}
		*f = v
	}
	return nil
}

// Empty is a body with no fields (PING request, FETCHSPEC and GET_SNAPS callbacks).
type Empty struct{}

// Marshal encodes nothing.
func (Empty) Marshal() []byte { return nil }

// Unmarshal accepts only an empty body.
func (*Empty) Unmarshal(b []byte) error {
	return unmarshal(b, "empty body", func(*xdr.Decoder) error { return nil })
}

// PingRequest is the GF-DUMP PING request: no arguments.
type PingRequest = Empty

// FetchSpecRequest is the CBK FETCHSPEC callback body: no arguments.
type FetchSpecRequest = Empty

// GetSnapsRequest is the CBK GET_SNAPS callback body: no arguments.
type GetSnapsRequest = Empty

// CommonReply is gf_common_rsp: the PING reply.
type CommonReply struct {
	// OpRet is 0 on success, -1 on failure.
	OpRet int32
	// OpErrno is an errno when OpRet is -1.
	OpErrno int32
	// Xdata is extra data, normally empty.
	Xdata Dict
}

// PingReply is the GF-DUMP PING reply.
type PingReply = CommonReply

// Marshal encodes the reply.
func (r *CommonReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.Opaque(r.Xdata.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *CommonReply) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_common_rsp", func(d *xdr.Decoder) (err error) {
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno); err != nil {
			return err
		}
		r.Xdata, err = decodeDict(d, "xdata")
		return err
	})
}

// DumpRequest is gf_dump_req.
type DumpRequest struct {
	// GfsID is an opaque id; clients send 0xcaed.
	GfsID uint64
}

// Marshal encodes the request.
func (r *DumpRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint64(r.GfsID)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *DumpRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_dump_req", func(d *xdr.Decoder) (err error) {
		r.GfsID, err = d.Uint64()
		return err
	})
}

// ProgramDetail is one gf_prog_detail entry of a DUMP reply; numbers are 64-bit on the wire.
type ProgramDetail struct {
	// Name is the program's display name, e.g. "Gluster Portmap".
	Name string
	// Number is the program number.
	Number uint64
	// Version is the program version.
	Version uint64
}

// DumpReply is gf_dump_rsp: the programs served on the listener.
type DumpReply struct {
	// GfsID is 0 from glusterd (it does not echo the request's).
	GfsID uint64
	// OpRet is 0 on success.
	OpRet int32
	// OpErrno is an errno when OpRet is -1.
	OpErrno int32
	// Programs is the program list; it must include the portmap for clients to ask PORTBYBRICK.
	Programs []ProgramDetail
}

// GlusterdPrograms is the program list glusterd 10.3 sends in its DUMP reply, in its order.
var GlusterdPrograms = []ProgramDetail{
	{Name: "GF-DUMP", Number: uint64(DumpProgram), Version: uint64(DumpVersion)},
	{Name: "GlusterD svc peer", Number: uint64(PeerProgram), Version: 2},
	{Name: "GlusterD svc cli read-only", Number: uint64(CLIProgram), Version: 2},
	{Name: "GlusterD svc mgmt", Number: uint64(MgmtProgram), Version: 2},
	{Name: "GlusterD svc mgmt v3", Number: uint64(MgmtProgram), Version: 3},
	{Name: "Gluster Portmap", Number: uint64(PortmapProgram), Version: uint64(PortmapVersion)},
	{Name: "Gluster Handshake", Number: uint64(HandshakeProgram), Version: uint64(HandshakeVersion)},
	{Name: "Gluster MGMT Handshake", Number: uint64(MgmtHandshakeProgram), Version: 1},
}

// Marshal encodes the reply; the list is XDR optional-data, one flag before each entry.
func (r *DumpReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint64(r.GfsID)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	for _, p := range r.Programs {
		e.Bool(true)
		e.String(p.Name)
		e.Uint64(p.Number)
		e.Uint64(p.Version)
	}
	e.Bool(false)
	return e.Bytes()
}

// Unmarshal decodes the reply, refusing more than MaxDumpPrograms entries.
func (r *DumpReply) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_dump_rsp", func(d *xdr.Decoder) (err error) {
		if r.GfsID, err = d.Uint64(); err != nil {
			return err
		}
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno); err != nil {
			return err
		}
		r.Programs = nil
		for {
			more, err := d.Bool()
			if err != nil {
				return fmt.Errorf("prog[%d] flag: %w", len(r.Programs), err)
			}
			if !more {
				return nil
			}
			if len(r.Programs) == MaxDumpPrograms {
				return fmt.Errorf("%w: more than %d programs", xdr.ErrTooLong, MaxDumpPrograms)
			}
			var p ProgramDetail
			if p.Name, err = d.String(MaxNameLen); err != nil {
				return fmt.Errorf("prog[%d] name: %w", len(r.Programs), err)
			}
			if p.Number, err = d.Uint64(); err != nil {
				return fmt.Errorf("prog[%d] number: %w", len(r.Programs), err)
			}
			if p.Version, err = d.Uint64(); err != nil {
				return fmt.Errorf("prog[%d] version: %w", len(r.Programs), err)
			}
			r.Programs = append(r.Programs, p)
		}
	})
}

// GetSpecRequest is gf_getspec_req: fetch the volfile for a volfile-id.
type GetSpecRequest struct {
	// Flags has GetSpecFlagServersList set by clients and 0 from bricks.
	Flags uint32
	// Key is the volfile-id, e.g. "/gv0", "gv0" or "gv0.vm.tmp-gbrick-b1".
	Key string
	// Xdata carries min-op-version, max-op-version and, from bricks, brick_name.
	Xdata Dict
}

// Marshal encodes the request.
func (r *GetSpecRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(r.Flags)
	e.String(r.Key)
	e.Opaque(r.Xdata.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *GetSpecRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_getspec_req", func(d *xdr.Decoder) (err error) {
		if r.Flags, err = d.Uint32(); err != nil {
			return err
		}
		if r.Key, err = d.String(MaxNameLen); err != nil {
			return fmt.Errorf("key: %w", err)
		}
		r.Xdata, err = decodeDict(d, "xdata")
		return err
	})
}

// DecodeGetSpecKey checks a gf_getspec_req as Unmarshal does and returns
// its key without allocating: the key aliases b.
func DecodeGetSpecKey(b []byte) ([]byte, error) {
	d := xdr.NewDecoder(b)
	if _, err := d.Uint32(); err != nil {
		return nil, fmt.Errorf("decode gf_getspec_req: %w", err)
	}
	key, err := d.Opaque(MaxNameLen)
	if err != nil {
		return nil, fmt.Errorf("decode gf_getspec_req: key: %w", err)
	}
	xdata, err := d.Opaque(MaxDictLen)
	if err != nil {
		return nil, fmt.Errorf("decode gf_getspec_req: xdata: %w", err)
	}
	if err := ValidateDict(xdata); err != nil {
		return nil, fmt.Errorf("decode gf_getspec_req: xdata: %w", err)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("decode gf_getspec_req: %w", err)
	}
	return key, nil
}

// GetSpecReply is gf_getspec_rsp.
type GetSpecReply struct {
	// OpRet is the volfile length on success (clients size the volfile by it), -1 on failure.
	OpRet int32
	// OpErrno is 0 on success, an errno (ENOENT, ENOTSUP, EINVAL) on failure.
	OpErrno int32
	// Spec is the volfile text, empty on failure.
	Spec string
	// Xdata may carry servers-list or pidfile; usually empty.
	Xdata Dict
}

// NewGetSpecReply returns a successful reply carrying spec, with OpRet set to its length.
func NewGetSpecReply(spec string) *GetSpecReply {
	return &GetSpecReply{OpRet: int32(len(spec)), Spec: spec}
}

// Marshal encodes the reply.
func (r *GetSpecReply) Marshal() []byte {
	e := xdr.NewEncoder(make([]byte, 0, 16+len(r.Spec)))
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.String(r.Spec)
	e.Opaque(r.Xdata.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *GetSpecReply) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_getspec_rsp", func(d *xdr.Decoder) (err error) {
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno); err != nil {
			return err
		}
		if r.Spec, err = d.String(MaxSpecLen); err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		r.Xdata, err = decodeDict(d, "xdata")
		return err
	})
}

// EventNotifyRequest is gf_event_notify_req (rebalance status).
type EventNotifyRequest struct {
	// Op is the event; 0 is GF_EN_DEFRAG_STATUS.
	Op int32
	// Dict is the status dict.
	Dict Dict
}

// Marshal encodes the request.
func (r *EventNotifyRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.Op)
	e.Opaque(r.Dict.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *EventNotifyRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_event_notify_req", func(d *xdr.Decoder) (err error) {
		if r.Op, err = d.Int32(); err != nil {
			return err
		}
		r.Dict, err = decodeDict(d, "dict")
		return err
	})
}

// EventNotifyReply is gf_event_notify_rsp.
type EventNotifyReply struct {
	// OpRet is 0 on success, -1 on failure.
	OpRet int32
	// OpErrno is an errno when OpRet is -1.
	OpErrno int32
	// Dict is extra data.
	Dict Dict
}

// Marshal encodes the reply.
func (r *EventNotifyReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.Opaque(r.Dict.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *EventNotifyReply) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_event_notify_rsp", func(d *xdr.Decoder) (err error) {
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno); err != nil {
			return err
		}
		r.Dict, err = decodeDict(d, "dict")
		return err
	})
}

// GetVolumeInfoRequest is gf_get_volume_info_req: a dict with flags and volname.
type GetVolumeInfoRequest struct {
	// Dict holds "flags" (bit 0: want volume_id) and "volname".
	Dict Dict
}

// GetSnapshotInfoRequest is gf_getsnap_name_uuid_req: a dict with volname.
type GetSnapshotInfoRequest = GetVolumeInfoRequest

// Marshal encodes the request.
func (r *GetVolumeInfoRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Opaque(r.Dict.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *GetVolumeInfoRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_get_volume_info_req", func(d *xdr.Decoder) (err error) {
		r.Dict, err = decodeDict(d, "dict")
		return err
	})
}

// GetVolumeInfoReply is gf_get_volume_info_rsp.
type GetVolumeInfoReply struct {
	// OpRet is 0 on success, -1 on failure (callers look only at this).
	OpRet int32
	// OpErrno is an errno; glusterd sends 2 even on success.
	OpErrno int32
	// OpErrstr is an error message, usually empty.
	OpErrstr string
	// Dict holds "volume_id": the UUID as 36 characters plus a NUL.
	Dict Dict
}

// GetSnapshotInfoReply is gf_getsnap_name_uuid_rsp: same layout as GetVolumeInfoReply.
type GetSnapshotInfoReply = GetVolumeInfoReply

// Marshal encodes the reply.
func (r *GetVolumeInfoReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.String(r.OpErrstr)
	e.Opaque(r.Dict.Marshal())
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *GetVolumeInfoReply) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_get_volume_info_rsp", func(d *xdr.Decoder) (err error) {
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno); err != nil {
			return err
		}
		if r.OpErrstr, err = d.String(MaxNameLen); err != nil {
			return fmt.Errorf("op_errstr: %w", err)
		}
		r.Dict, err = decodeDict(d, "dict")
		return err
	})
}

// PortByBrickRequest is pmap_port_by_brick_req.
type PortByBrickRequest struct {
	// Brick is the brick path (the client's remote-subvolume; ".rdma" appended for rdma).
	Brick string
}

// Marshal encodes the request.
func (r *PortByBrickRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.String(r.Brick)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *PortByBrickRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_port_by_brick_req", func(d *xdr.Decoder) (err error) {
		r.Brick, err = d.String(MaxNameLen)
		return err
	})
}

// DecodePortByBrickBrick checks a pmap_port_by_brick_req as Unmarshal does
// and returns its brick path without allocating: the path aliases b.
func DecodePortByBrickBrick(b []byte) ([]byte, error) {
	d := xdr.NewDecoder(b)
	brick, err := d.Opaque(MaxNameLen)
	if err == nil {
		err = d.Done()
	}
	if err != nil {
		return nil, fmt.Errorf("decode pmap_port_by_brick_req: %w", err)
	}
	return brick, nil
}

// PortByBrickReply is pmap_port_by_brick_rsp.
type PortByBrickReply struct {
	// OpRet is 0 when the brick is known, -1 otherwise.
	OpRet int32
	// OpErrno is 0 even for an unknown brick.
	OpErrno int32
	// Status is unused and always 0.
	Status int32
	// Port is the brick's port, 0 when unknown.
	Port int32
}

// Marshal encodes the reply.
func (r *PortByBrickReply) Marshal() []byte { return r.AppendTo(nil) }

// AppendTo appends the encoded reply to dst.
func (r *PortByBrickReply) AppendTo(dst []byte) []byte {
	e := xdr.NewEncoder(dst)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.Int32(r.Status)
	e.Int32(r.Port)
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *PortByBrickReply) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_port_by_brick_rsp", func(d *xdr.Decoder) error {
		return decodeInt32s(d, &r.OpRet, &r.OpErrno, &r.Status, &r.Port)
	})
}

// BrickByPortRequest is pmap_brick_by_port_req (never sent by GlusterFS).
type BrickByPortRequest struct {
	// Port is the port to look up.
	Port int32
}

// Marshal encodes the request.
func (r *BrickByPortRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.Port)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *BrickByPortRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_brick_by_port_req", func(d *xdr.Decoder) (err error) {
		r.Port, err = d.Int32()
		return err
	})
}

// BrickByPortReply is pmap_brick_by_port_rsp.
type BrickByPortReply struct {
	// OpRet is 0 when the port is known, -1 otherwise.
	OpRet int32
	// OpErrno is an errno when OpRet is -1.
	OpErrno int32
	// Status is unused.
	Status int32
	// Brick is the brick path registered on the port.
	Brick string
}

// Marshal encodes the reply.
func (r *BrickByPortReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	e.Int32(r.Status)
	e.String(r.Brick)
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *BrickByPortReply) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_brick_by_port_rsp", func(d *xdr.Decoder) (err error) {
		if err = decodeInt32s(d, &r.OpRet, &r.OpErrno, &r.Status); err != nil {
			return err
		}
		r.Brick, err = d.String(MaxNameLen)
		return err
	})
}

// SigninRequest is pmap_signin_req: a brick announces the port it listens on.
type SigninRequest struct {
	// Brick is the brick path (name of a child of the brick's protocol/server xlator).
	Brick string
	// Port is the brick's listening port.
	Port int32
	// PID is the brick daemon's pid; glusterd ignores it.
	PID int32
}

// Marshal encodes the request.
func (r *SigninRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.String(r.Brick)
	e.Int32(r.Port)
	e.Int32(r.PID)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *SigninRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_signin_req", func(d *xdr.Decoder) (err error) {
		if r.Brick, err = d.String(MaxNameLen); err != nil {
			return fmt.Errorf("brick: %w", err)
		}
		return decodeInt32s(d, &r.Port, &r.PID)
	})
}

// SignoutRequest is pmap_signout_req: a brick withdraws its registration.
type SignoutRequest struct {
	// Brick is the brick path.
	Brick string
	// Port is the brick's port.
	Port int32
	// RdmaPort is the rdma port, 0 without rdma.
	RdmaPort int32
}

// Marshal encodes the request.
func (r *SignoutRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.String(r.Brick)
	e.Int32(r.Port)
	e.Int32(r.RdmaPort)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *SignoutRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "pmap_signout_req", func(d *xdr.Decoder) (err error) {
		if r.Brick, err = d.String(MaxNameLen); err != nil {
			return fmt.Errorf("brick: %w", err)
		}
		return decodeInt32s(d, &r.Port, &r.RdmaPort)
	})
}

// OpReply is a reply of just op_ret and op_errno (pmap_signin_rsp, pmap_signout_rsp).
type OpReply struct {
	// OpRet is 0 on success; bricks treat only -1 as failure.
	OpRet int32
	// OpErrno is an errno when OpRet is -1.
	OpErrno int32
}

// SigninReply is pmap_signin_rsp.
type SigninReply = OpReply

// SignoutReply is pmap_signout_rsp.
type SignoutReply = OpReply

// Marshal encodes the reply.
func (r *OpReply) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(r.OpRet)
	e.Int32(r.OpErrno)
	return e.Bytes()
}

// Unmarshal decodes the reply.
func (r *OpReply) Unmarshal(b []byte) error {
	return unmarshal(b, "op reply", func(d *xdr.Decoder) error {
		return decodeInt32s(d, &r.OpRet, &r.OpErrno)
	})
}

// StatedumpRequest is gf_statedump: the CBK STATEDUMP callback body.
type StatedumpRequest struct {
	// PID is the pid of the gfapi process that should dump its state.
	PID uint32
}

// Marshal encodes the request.
func (r *StatedumpRequest) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(r.PID)
	return e.Bytes()
}

// Unmarshal decodes the request.
func (r *StatedumpRequest) Unmarshal(b []byte) error {
	return unmarshal(b, "gf_statedump", func(d *xdr.Decoder) (err error) {
		r.PID, err = d.Uint32()
		return err
	})
}

// NewCallBody returns a zero body for the arguments of a management procedure,
// or nil if the procedure is not one this package types.
func NewCallBody(prog, vers, proc uint32) Body {
	switch {
	case prog == DumpProgram && vers == DumpVersion:
		switch proc {
		case DumpProcDump:
			return &DumpRequest{}
		case DumpProcPing:
			return &PingRequest{}
		}
	case prog == HandshakeProgram && vers == HandshakeVersion:
		switch proc {
		case HandshakeProcGetSpec:
			return &GetSpecRequest{}
		case HandshakeProcEventNotify:
			return &EventNotifyRequest{}
		case HandshakeProcGetVolumeInfo:
			return &GetVolumeInfoRequest{}
		case HandshakeProcGetSnapshotInfo:
			return &GetSnapshotInfoRequest{}
		}
	case prog == PortmapProgram && vers == PortmapVersion:
		switch proc {
		case PortmapProcPortByBrick:
			return &PortByBrickRequest{}
		case PortmapProcBrickByPort:
			return &BrickByPortRequest{}
		case PortmapProcSignin:
			return &SigninRequest{}
		case PortmapProcSignout:
			return &SignoutRequest{}
		}
	case prog == CallbackProgram && vers == CallbackVersion:
		switch proc {
		case CallbackProcFetchSpec:
			return &FetchSpecRequest{}
		case CallbackProcGetSnaps:
			return &GetSnapsRequest{}
		case CallbackProcStatedump:
			return &StatedumpRequest{}
		}
	}
	return nil
}

// NewReplyBody returns a zero body for the results of a management procedure,
// or nil if the procedure is not one this package types (callbacks have no replies).
func NewReplyBody(prog, vers, proc uint32) Body {
	switch {
	case prog == DumpProgram && vers == DumpVersion:
		switch proc {
		case DumpProcDump:
			return &DumpReply{}
		case DumpProcPing:
			return &PingReply{}
		}
	case prog == HandshakeProgram && vers == HandshakeVersion:
		switch proc {
		case HandshakeProcGetSpec:
			return &GetSpecReply{}
		case HandshakeProcEventNotify:
			return &EventNotifyReply{}
		case HandshakeProcGetVolumeInfo:
			return &GetVolumeInfoReply{}
		case HandshakeProcGetSnapshotInfo:
			return &GetSnapshotInfoReply{}
		}
	case prog == PortmapProgram && vers == PortmapVersion:
		switch proc {
		case PortmapProcPortByBrick:
			return &PortByBrickReply{}
		case PortmapProcBrickByPort:
			return &BrickByPortReply{}
		case PortmapProcSignin:
			return &SigninReply{}
		case PortmapProcSignout:
			return &SignoutReply{}
		}
	}
	return nil
}
