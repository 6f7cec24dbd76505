// Package layout holds the orchestrator's volume layout and validation rules
// as pure functions over the proto types: it decides what a volume looks like
// after create, add-brick, remove-brick, replace-brick and option changes, and
// refuses what GlusterFS refuses, with the same reasons. It knows nothing of
// gRPC, the store or nodes; every function returns a new volume and never
// changes its input.
//
// Errors are libs/errs errors: Invalid (HTTP 400, with the request field) for
// a request that cannot be right, NotFound for an unknown peer or brick, and
// Precondition (HTTP 412) for a request that is valid but refused for this
// volume (a brick placement gluster accepts only with force, an operation
// the volume's type does not allow).
//
// The rules were learnt from the stock gluster CLI and glusterd 10.3. Where
// glusterd-ng decides differently, or GlusterFS leaves room, this is what
// the package does:
//
//   - Volume names follow the store's name rules and GlusterFS's: 1-64
//     letters, digits, '_' or '-', not starting with '-', no '.', and not one
//     of the words gluster reserves ("all", "volume", …).
//   - A brick's host is its peer's first address (the one bricks are known
//     by), or the peer's name when it has no address; the peer may be named
//     in the request by id, name or any address, tried in that order.
//   - Counts that do not apply are 0: a distribute volume has replica_count 0
//     (glusterd writes 1), a disperse volume too.
//   - replica_count 1 is refused on create, as gluster does; arbiter volumes
//     are replica_count 3 with arbiter_count 1 only (gluster's other spelling,
//     "replica 2 arbiter 1", is refused with a hint).
//   - Where gluster asks for confirmation (replica 2, an automatic or a
//     non-optimal redundancy) the operation goes ahead with a warning.
//   - Bricks of one volume on one peer must not be the same directory or
//     nest in each other; CheckBricksFree applies the same rule across volumes.
//   - remove-brick takes one brick id and removes its whole subvolume (the
//     brick itself on a distribute volume); reducing the replica or disperse
//     count is not supported. Data must be migrated whenever the volume has
//     ever been started (state other than CREATED).
//   - add-brick adds whole sets, or raises the replica count by adding
//     exactly one set's worth of new bricks per existing set (a distribute
//     volume counts as replica 1); both at once, lowering the count, raising
//     it on arbiter volumes and replica on disperse volumes are refused.
//   - replace-brick works on replicate and disperse layouts only, whatever
//     the volume's state (gluster wants it started: it heals right away).
//   - Resetting "all" leaves exactly the options a new volume of the type
//     carries (volgen.DefaultOptions) plus the protected options gluster keeps
//     without force; gluster 10.3 also drops performance.client-io-threads on
//     replicate volumes, glusterd-ng keeps the create-time "off".
package layout
