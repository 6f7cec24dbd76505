package log

import "go.uber.org/zap"

// Service names the service a log line comes from.
func Service(name string) zap.Field { return zap.String("service", name) }

// Volume names a volume.
func Volume(name string) zap.Field { return zap.String("volume", name) }

// Peer names a peer by id.
func Peer(id string) zap.Field { return zap.String("peer_id", id) }

// Node names a storage node by id.
func Node(id string) zap.Field { return zap.String("node_id", id) }

// Brick names a brick by id.
func Brick(id string) zap.Field { return zap.String("brick_id", id) }

// TxnID names a transaction.
func TxnID(id string) zap.Field { return zap.String("txn_id", id) }

// RequestID carries the request id of the call being served.
func RequestID(id string) zap.Field { return zap.String("request_id", id) }

// Method names a gRPC method.
func Method(m string) zap.Field { return zap.String("method", m) }

// Key names a Consul KV key.
func Key(k string) zap.Field { return zap.String("key", k) }

// Index is a Consul raft index (a resource version).
func Index(i uint64) zap.Field { return zap.Uint64("index", i) }

// Addr is a network address.
func Addr(a string) zap.Field { return zap.String("addr", a) }

// Err is an error's text.
func Err(err error) zap.Field { return zap.Error(err) }
