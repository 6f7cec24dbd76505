package sunrpc

import (
	"fmt"

	"github.com/glusterd-ng/glusterd-ng/libs/sunrpc/xdr"
)

// AuthFlavor is an RPC authentication flavour number.
type AuthFlavor uint32

// Auth flavours seen on GlusterFS connections (protocol doc §3.1).
const (
	// AuthNull is no authentication; the server's callbacks and verifiers use it.
	AuthNull AuthFlavor = 0
	// AuthUnix is RFC 5531 AUTH_SYS; accepted but not sent by GlusterFS processes.
	AuthUnix AuthFlavor = 1
	// AuthGlusterFS is the legacy GlusterFS v1 credential.
	AuthGlusterFS AuthFlavor = 5
	// AuthGlusterFSv2 is the credential on every GlusterFS request to the management port.
	AuthGlusterFSv2 AuthFlavor = 390039
	// AuthGlusterFSv3 is the credential protocol/client sends to bricks for the 4.x FOP program.
	AuthGlusterFSv3 AuthFlavor = 390040
)

// Limits inside credential bodies; the whole body is already capped at MaxAuthBodySize.
const (
	maxAuthGroups     = MaxAuthBodySize / 4
	maxLkOwner        = MaxAuthBodySize
	maxUnixMachine    = 255
	maxUnixGroups     = 16
	glusterLkOwnerLen = 4
)

// String names the flavour.
func (f AuthFlavor) String() string {
	switch f {
	case AuthNull:
		return "AUTH_NULL"
	case AuthUnix:
		return "AUTH_UNIX"
	case AuthGlusterFS:
		return "AUTH_GLUSTERFS"
	case AuthGlusterFSv2:
		return "AUTH_GLUSTERFS_v2"
	case AuthGlusterFSv3:
		return "AUTH_GLUSTERFS_v3"
	default:
		return fmt.Sprintf("auth_flavor(%d)", uint32(f))
	}
}

// AuthGlusterFSv2Params is the AUTH_GLUSTERFS_v2 credential body
// (auth_glusterfs_params_v2 in rpc/xdr/src/rpc-common-xdr.x).
type AuthGlusterFSv2Params struct {
	// PID is the caller's pid (0 on management calls).
	PID int32
	// UID is the caller's uid.
	UID uint32
	// GID is the caller's gid.
	GID uint32
	// Groups are the auxiliary gids.
	Groups []uint32
	// LkOwner is the lock owner (4 zero bytes on management calls).
	LkOwner []byte
}

// ParseAuthGlusterFSv2 decodes an AUTH_GLUSTERFS_v2 credential body.
func ParseAuthGlusterFSv2(body []byte) (*AuthGlusterFSv2Params, error) {
	d := xdr.NewDecoder(body)
	p := &AuthGlusterFSv2Params{}
	var err error
	if p.PID, err = d.Int32(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2 pid: %w", err)
	}
	if p.UID, err = d.Uint32(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2 uid: %w", err)
	}
	if p.GID, err = d.Uint32(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2 gid: %w", err)
	}
	if p.Groups, err = d.Uint32Array(maxAuthGroups); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2 groups: %w", err)
	}
	if p.LkOwner, err = d.Opaque(maxLkOwner); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2 lk_owner: %w", err)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v2: %w", err)
	}
	return p, nil
}

// Marshal encodes the credential body.
func (p *AuthGlusterFSv2Params) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(p.PID)
	e.Uint32(p.UID)
	e.Uint32(p.GID)
	e.Uint32Array(p.Groups)
	e.Opaque(p.LkOwner)
	return e.Bytes()
}

// AuthGlusterFSv3Params is the AUTH_GLUSTERFS_v3 credential body
// (auth_glusterfs_params_v3 in rpc/xdr/src/rpc-common-xdr.x).
type AuthGlusterFSv3Params struct {
	// PID is the caller's pid.
	PID int32
	// UID is the caller's uid.
	UID uint32
	// GID is the caller's gid.
	GID uint32
	// Flags are call flags (bit 0: internal client).
	Flags uint32
	// CtimeNsec is the nanosecond part of the frame's birth time.
	CtimeNsec uint32
	// CtimeSec is the seconds part of the frame's birth time.
	CtimeSec uint64
	// Groups are the auxiliary gids.
	Groups []uint32
	// LkOwner is the lock owner.
	LkOwner []byte
}

// ParseAuthGlusterFSv3 decodes an AUTH_GLUSTERFS_v3 credential body.
func ParseAuthGlusterFSv3(body []byte) (*AuthGlusterFSv3Params, error) {
	d := xdr.NewDecoder(body)
	p := &AuthGlusterFSv3Params{}
	var err error
	if p.PID, err = d.Int32(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v3 pid: %w", err)
	}
	for _, f := range []*uint32{&p.UID, &p.GID, &p.Flags, &p.CtimeNsec} {
		if *f, err = d.Uint32(); err != nil {
			return nil, fmt.Errorf("auth_glusterfs_v3: %w", err)
		}
	}
	if p.CtimeSec, err = d.Uint64(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v3 ctime_sec: %w", err)
	}
	if p.Groups, err = d.Uint32Array(maxAuthGroups); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v3 groups: %w", err)
	}
	if p.LkOwner, err = d.Opaque(maxLkOwner); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v3 lk_owner: %w", err)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("auth_glusterfs_v3: %w", err)
	}
	return p, nil
}

// Marshal encodes the credential body.
func (p *AuthGlusterFSv3Params) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Int32(p.PID)
	e.Uint32(p.UID)
	e.Uint32(p.GID)
	e.Uint32(p.Flags)
	e.Uint32(p.CtimeNsec)
	e.Uint64(p.CtimeSec)
	e.Uint32Array(p.Groups)
	e.Opaque(p.LkOwner)
	return e.Bytes()
}

// AuthUnixParams is the AUTH_UNIX (AUTH_SYS) credential body of RFC 5531 appendix A.
type AuthUnixParams struct {
	// Stamp is an arbitrary id the caller generates.
	Stamp uint32
	// MachineName is the caller's host name.
	MachineName string
	// UID is the caller's uid.
	UID uint32
	// GID is the caller's gid.
	GID uint32
	// GIDs are the auxiliary gids (at most 16).
	GIDs []uint32
}

// ParseAuthUnix decodes an AUTH_UNIX credential body.
func ParseAuthUnix(body []byte) (*AuthUnixParams, error) {
	d := xdr.NewDecoder(body)
	p := &AuthUnixParams{}
	var err error
	if p.Stamp, err = d.Uint32(); err != nil {
		return nil, fmt.Errorf("auth_unix stamp: %w", err)
	}
	if p.MachineName, err = d.String(maxUnixMachine); err != nil {
		return nil, fmt.Errorf("auth_unix machinename: %w", err)
	}
	if p.UID, err = d.Uint32(); err != nil {
		return nil, fmt.Errorf("auth_unix uid: %w", err)
	}
	if p.GID, err = d.Uint32(); err != nil {
		return nil, fmt.Errorf("auth_unix gid: %w", err)
	}
	if p.GIDs, err = d.Uint32Array(maxUnixGroups); err != nil {
		return nil, fmt.Errorf("auth_unix gids: %w", err)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("auth_unix: %w", err)
	}
	return p, nil
}

// Marshal encodes the credential body.
func (p *AuthUnixParams) Marshal() []byte {
	e := xdr.NewEncoder(nil)
	e.Uint32(p.Stamp)
	e.String(p.MachineName)
	e.Uint32(p.UID)
	e.Uint32(p.GID)
	e.Uint32Array(p.GIDs)
	return e.Bytes()
}

// NewAuthGlusterFSv2 returns the credential GlusterFS processes put on
// management calls: pid, uid and gid 0, no groups, a 4-byte zero lock owner.
func NewAuthGlusterFSv2() OpaqueAuth {
	p := AuthGlusterFSv2Params{LkOwner: make([]byte, glusterLkOwnerLen)}
	return OpaqueAuth{Flavor: AuthGlusterFSv2, Body: p.Marshal()}
}
