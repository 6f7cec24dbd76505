package rest

// The JSON shapes below follow the proto messages (field names as in the
// .proto files, enums by name); only the fields gdctl reads or sends are
// declared, and unknown fields in answers are ignored.

// Peer is a node of the trusted storage pool (gluster.common.v1.Peer).
type Peer struct {
	// ID is the node's UUID.
	ID string `json:"id"`
	// Name is the node's host name.
	Name string `json:"name"`
	// Addresses are the addresses the node answers on.
	Addresses []string `json:"addresses"`
	// State is CONNECTED or DISCONNECTED.
	State string `json:"state"`
	// Labels are the operator's tags.
	Labels map[string]string `json:"labels"`
}

// AddPeerRequest is the body of POST /v1/peers.
type AddPeerRequest struct {
	// Address is "host[:port]" of the new node.
	Address string `json:"address"`
}

// Brick is one export directory of a volume (gluster.common.v1.Brick).
type Brick struct {
	// ID is the brick's UUID, used in URLs.
	ID string `json:"id"`
	// PeerID is the UUID of the peer holding the brick.
	PeerID string `json:"peer_id"`
	// Host is the address the peer is reached at.
	Host string `json:"host"`
	// Path is the brick directory.
	Path string `json:"path"`
	// Arbiter marks the arbiter brick of a replica set.
	Arbiter bool `json:"arbiter"`
}

// Subvolume is one replica or disperse set.
type Subvolume struct {
	// Bricks are the set's bricks in order.
	Bricks []Brick `json:"bricks"`
}

// Volume is a GlusterFS volume (gluster.common.v1.Volume).
type Volume struct {
	// ID is the volume's UUID.
	ID string `json:"id"`
	// Name is the volume's name.
	Name string `json:"name"`
	// Type is the layout, e.g. REPLICATE.
	Type string `json:"type"`
	// State is CREATED, STARTED or STOPPED.
	State string `json:"state"`
	// ReplicaCount is the bricks per replica set, arbiter included.
	ReplicaCount uint32 `json:"replica_count"`
	// ArbiterCount is the arbiter bricks per replica set.
	ArbiterCount uint32 `json:"arbiter_count"`
	// DisperseCount is the bricks per disperse set.
	DisperseCount uint32 `json:"disperse_count"`
	// RedundancyCount is the redundancy bricks per disperse set.
	RedundancyCount uint32 `json:"redundancy_count"`
	// Subvolumes are the sets of bricks.
	Subvolumes []Subvolume `json:"subvolumes"`
	// Options are the options the operator set.
	Options map[string]string `json:"options"`
	// Transport is the brick transport ("tcp").
	Transport string `json:"transport"`
}

// Bricks returns every brick of the volume in order.
func (v *Volume) Bricks() []Brick {
	var out []Brick
	for _, sv := range v.Subvolumes {
		out = append(out, sv.Bricks...)
	}
	return out
}

// BrickSpec names a brick to create: a peer (id, name or address) and a path.
type BrickSpec struct {
	// Peer is the peer's id, name or address.
	Peer string `json:"peer"`
	// Path is the absolute brick directory.
	Path string `json:"path"`
}

// CreateVolumeRequest is the body of POST /v1/volumes.
type CreateVolumeRequest struct {
	// Name is the new volume's name.
	Name string `json:"name"`
	// ReplicaCount is the bricks per replica set (0: not replicated).
	ReplicaCount uint32 `json:"replica_count"`
	// ArbiterCount is the arbiter bricks per replica set.
	ArbiterCount uint32 `json:"arbiter_count"`
	// DisperseCount is the bricks per disperse set (0: not dispersed).
	DisperseCount uint32 `json:"disperse_count"`
	// RedundancyCount is the redundancy bricks per disperse set.
	RedundancyCount uint32 `json:"redundancy_count"`
	// Bricks are the bricks in order, set after set.
	Bricks []BrickSpec `json:"bricks"`
	// Options are volume options to set at creation.
	Options map[string]string `json:"options,omitempty"`
	// Force skips the checks gluster's force skips.
	Force bool `json:"force"`
	// Async asks for an answer at once with the transaction id.
	Async bool `json:"async,omitempty"`
}

// ForceRequest is the body of :start and :stop.
type ForceRequest struct {
	// Force starts or stops even when the volume looks already there.
	Force bool `json:"force"`
	// Async asks for an answer at once with the transaction id.
	Async bool `json:"async,omitempty"`
}

// SetOptionsRequest is the body of PATCH /v1/volumes/{volume}/options.
type SetOptionsRequest struct {
	// Options maps option keys to new values.
	Options map[string]string `json:"options"`
	// Async asks for an answer at once with the transaction id.
	Async bool `json:"async,omitempty"`
}

// AddBricksRequest is the body of POST /v1/volumes/{volume}/bricks.
type AddBricksRequest struct {
	// Bricks are the new bricks in order.
	Bricks []BrickSpec `json:"bricks"`
	// ReplicaCount is the new replica count, 0 to keep it.
	ReplicaCount uint32 `json:"replica_count,omitempty"`
	// Force skips the checks gluster's force skips.
	Force bool `json:"force,omitempty"`
	// Async asks for an answer at once with the transaction id.
	Async bool `json:"async,omitempty"`
}

// ReplaceBrickRequest is the body of POST /v1/volumes/{volume}/bricks/{brick}:replace.
type ReplaceBrickRequest struct {
	// NewBrick is the brick that takes the old one's place.
	NewBrick BrickSpec `json:"new_brick"`
	// Async asks for an answer at once with the transaction id.
	Async bool `json:"async,omitempty"`
}

// OperationResponse is the answer to a write on a volume.
type OperationResponse struct {
	// Volume is the volume after the operation, when the server sends it.
	Volume *Volume `json:"volume"`
	// TransactionID is the transaction the operation ran under.
	TransactionID string `json:"transaction_id"`
}

// BrickStatus is the live state of one brick.
type BrickStatus struct {
	// ID is the brick's UUID.
	ID string `json:"id"`
	// PeerID is the UUID of the peer holding the brick.
	PeerID string `json:"peer_id"`
	// Host is the peer's address.
	Host string `json:"host"`
	// Path is the brick directory.
	Path string `json:"path"`
	// Port is the brick's TCP port, 0 when it has none.
	Port int32 `json:"port"`
	// Pid is the brick process id, 0 when not running.
	Pid int32 `json:"pid"`
	// Online says whether the brick process serves.
	Online bool `json:"online"`
}

// SelfHealDaemonStatus is the live state of one node's self-heal daemon.
type SelfHealDaemonStatus struct {
	// PeerID is the node the daemon runs on.
	PeerID string `json:"peer_id"`
	// Pid is the daemon's process id, 0 when not running.
	Pid int32 `json:"pid"`
	// Online says whether the daemon runs.
	Online bool `json:"online"`
}

// VolumeStatus is the answer of GET /v1/volumes/{volume}/status.
type VolumeStatus struct {
	// Volume is the volume's name.
	Volume string `json:"volume"`
	// State is the volume's desired state.
	State string `json:"state"`
	// Bricks are the bricks' live states.
	Bricks []BrickStatus `json:"bricks"`
	// SelfHealDaemons are the self-heal daemons' live states.
	SelfHealDaemons []SelfHealDaemonStatus `json:"self_heal_daemons"`
}

// VolumeOption is one option of a volume with its effective value.
type VolumeOption struct {
	// Key is the option's name.
	Key string `json:"key"`
	// Value is the effective value.
	Value string `json:"value"`
	// Default is the default value.
	Default string `json:"default"`
	// Set is true when the operator set the value.
	Set bool `json:"set"`
}

// VolumeOptions is the answer of GET /v1/volumes/{volume}/options.
type VolumeOptions struct {
	// Options are every option of the volume.
	Options []VolumeOption `json:"options"`
}
