// Package gluster holds the GlusterFS management programs spoken on TCP
// 24007: program, version and procedure numbers, the gluster dict codec, and
// typed request and reply bodies (docs: gluster-mgmt-protocol.md §4–§6).
//
// Every body decoder is strict (no trailing bytes, zero padding) so that a
// decoded body re-encodes to the same bytes, and bounded by the limits below.
package gluster

// GF-DUMP program (served by glusterd and by bricks).
const (
	// DumpProgram is the GF-DUMP program number.
	DumpProgram uint32 = 123451501
	// DumpVersion is the GF-DUMP program version.
	DumpVersion uint32 = 1
	// DumpProcNull is the NULL procedure (glusterd answers PROC_UNAVAIL).
	DumpProcNull uint32 = 0
	// DumpProcDump lists the programs served on the connection's listener.
	DumpProcDump uint32 = 1
	// DumpProcPing is the liveness check protocol/client sends right after DUMP.
	DumpProcPing uint32 = 2
)

// GlusterFS Handshake program (HNDSK).
const (
	// HandshakeProgram is the handshake program number.
	HandshakeProgram uint32 = 14398633
	// HandshakeVersion is the handshake program version.
	HandshakeVersion uint32 = 2
	// HandshakeProcNull is the NULL procedure.
	HandshakeProcNull uint32 = 0
	// HandshakeProcSetVolume is SETVOLUME, served by bricks, not by the management plane.
	HandshakeProcSetVolume uint32 = 1
	// HandshakeProcGetSpec fetches a volfile by volfile-id.
	HandshakeProcGetSpec uint32 = 2
	// HandshakeProcPing is the brick-side handshake PING, not a management call.
	HandshakeProcPing uint32 = 3
	// HandshakeProcSetLkVer is SET_LK_VER, served by bricks.
	HandshakeProcSetLkVer uint32 = 4
	// HandshakeProcEventNotify carries rebalance status; glusterd does not reply when a dict is present.
	HandshakeProcEventNotify uint32 = 5
	// HandshakeProcGetVolumeInfo returns volume facts such as volume_id (glfs_get_volumeid).
	HandshakeProcGetVolumeInfo uint32 = 6
	// HandshakeProcGetSnapshotInfo lists a volume's snapshots for snapview-server.
	HandshakeProcGetSnapshotInfo uint32 = 7
)

// Gluster Portmap program (PMAP).
const (
	// PortmapProgram is the portmap program number; a DUMP reply must list it.
	PortmapProgram uint32 = 34123456
	// PortmapVersion is the portmap program version.
	PortmapVersion uint32 = 1
	// PortmapProcNull is the NULL procedure.
	PortmapProcNull uint32 = 0
	// PortmapProcPortByBrick maps a brick path to its port.
	PortmapProcPortByBrick uint32 = 1
	// PortmapProcBrickByPort maps a port to a brick; a stub in glusterd, never called.
	PortmapProcBrickByPort uint32 = 2
	// PortmapProcSignup is deprecated and never called.
	PortmapProcSignup uint32 = 3
	// PortmapProcSignin registers a brick path on a port.
	PortmapProcSignin uint32 = 4
	// PortmapProcSignout removes a brick path's registration.
	PortmapProcSignout uint32 = 5
)

// GlusterFS Callback program (CBK), called by the server on client connections.
const (
	// CallbackProgram is the callback program number.
	CallbackProgram uint32 = 52743234
	// CallbackVersion is the callback program version.
	CallbackVersion uint32 = 1
	// CallbackProcNull is the NULL procedure.
	CallbackProcNull uint32 = 0
	// CallbackProcFetchSpec tells the client to re-fetch its volfile (empty body).
	CallbackProcFetchSpec uint32 = 1
	// CallbackProcInoFlush is sent by bricks, not the management plane.
	CallbackProcInoFlush uint32 = 2
	// CallbackProcEventNotify is sent by bricks, not the management plane.
	CallbackProcEventNotify uint32 = 3
	// CallbackProcGetSnaps tells snapview-server the snapshot list changed (empty body).
	CallbackProcGetSnaps uint32 = 4
	// CallbackProcCacheInvalidation is sent by bricks.
	CallbackProcCacheInvalidation uint32 = 5
	// CallbackProcChildUp is sent by bricks.
	CallbackProcChildUp uint32 = 6
	// CallbackProcChildDown is sent by bricks.
	CallbackProcChildDown uint32 = 7
	// CallbackProcRecallLease is sent by bricks.
	CallbackProcRecallLease uint32 = 8
	// CallbackProcStatedump asks the gfapi process with the given pid for a statedump.
	CallbackProcStatedump uint32 = 9
	// CallbackProcInodelkContention is sent by bricks.
	CallbackProcInodelkContention uint32 = 10
	// CallbackProcEntrylkContention is sent by bricks.
	CallbackProcEntrylkContention uint32 = 11
)

// Other programs that appear in DUMP replies or captures but are not served here.
const (
	// FOPProgram is the brick file-operation program.
	FOPProgram uint32 = 1298437
	// FOPVersion330 is the "GlusterFS 3.3" FOP program version.
	FOPVersion330 uint32 = 330
	// FOPVersion400 is the "GlusterFS 4.x v1" FOP program version.
	FOPVersion400 uint32 = 400
	// BrickOpsProgram is the brick-ops program bricks serve on their -S UNIX socket.
	BrickOpsProgram uint32 = 4867634
	// BrickOpsVersion is the brick-ops program version.
	BrickOpsVersion uint32 = 2
	// PeerProgram is the glusterd friend (peer) program.
	PeerProgram uint32 = 1238437
	// MgmtProgram is the glusterd mgmt program (versions 2 and 3).
	MgmtProgram uint32 = 1238433
	// MgmtHandshakeProgram is the glusterd mgmt handshake program.
	MgmtHandshakeProgram uint32 = 1239873
	// CLIProgram is the glusterd CLI program.
	CLIProgram uint32 = 1238463
)

// GetSpecFlagServersList is GETSPEC flags bit 0, set by client processes (not bricks).
const GetSpecFlagServersList uint32 = 1

// Limits on variable-length fields of the bodies; every decoder enforces them.
const (
	// MaxNameLen caps brick paths, volfile keys, program names and error strings.
	MaxNameLen = 4096
	// MaxSpecLen caps a volfile carried by a GETSPEC reply.
	MaxSpecLen = 16 << 20
	// MaxDictLen caps the encoded size of a dict opaque.
	MaxDictLen = 1 << 20
	// MaxDumpPrograms caps the entries of a DUMP reply.
	MaxDumpPrograms = 256
)
