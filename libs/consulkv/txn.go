package consulkv

import (
	"context"
	"fmt"

	"github.com/hashicorp/consul/api"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// Op is one KV operation of a transaction.
type Op struct {
	verb    api.KVOp
	key     string
	value   []byte
	index   uint64
	session string
}

// Key returns the key the operation works on.
func (o Op) Key() string { return o.key }

// Set writes key unconditionally.
func Set(key string, value []byte) Op { return Op{verb: api.KVSet, key: key, value: value} }

// SetCAS writes key if its ModifyIndex is index (0: only if absent).
func SetCAS(key string, value []byte, index uint64) Op {
	return Op{verb: api.KVCAS, key: key, value: value, index: index}
}

// Lock writes key and binds it to session; it fails if another session holds it.
func Lock(key string, value []byte, session string) Op {
	return Op{verb: api.KVLock, key: key, value: value, session: session}
}

// Delete removes key (a missing key is not an error).
func Delete(key string) Op { return Op{verb: api.KVDelete, key: key} }

// DeleteCAS removes key if its ModifyIndex is index.
func DeleteCAS(key string, index uint64) Op { return Op{verb: api.KVDeleteCAS, key: key, index: index} }

// CheckIndex fails the transaction unless key is at index.
func CheckIndex(key string, index uint64) Op {
	return Op{verb: api.KVCheckIndex, key: key, index: index}
}

// CheckNotExists fails the transaction if key exists.
func CheckNotExists(key string) Op { return Op{verb: api.KVCheckNotExists, key: key} }

// TxnError says which operation of a failed transaction was refused.
type TxnError struct {
	// OpIndex is the position of the refused operation.
	OpIndex int
	// What is Consul's reason.
	What string
}

// Error returns Consul's reason with the operation's position.
func (e *TxnError) Error() string { return fmt.Sprintf("operation %d: %s", e.OpIndex, e.What) }

// Txn applies ops atomically. When Consul refuses the transaction the error
// is a Conflict wrapping a *TxnError per refused operation (first one wrapped).
// The returned entries are Consul's results for the operations that return
// one (sets, CAS, locks), in order, and the index the transaction committed at.
// Against a plain HTTP agent the request goes over the client's own
// connections (txnconn.go), otherwise through consul/api.
func (c *Client) Txn(ctx context.Context, ops []Op) ([]Entry, uint64, error) {
	if len(ops) == 0 {
		return nil, 0, nil
	}
	if len(ops) > MaxTxnOps {
		return nil, 0, errs.New(errs.TooLarge, "transaction has %d operations; Consul allows at most %d", len(ops), MaxTxnOps)
	}
	if err := c.CheckQuorum(ctx); err != nil {
		return nil, 0, err
	}
	total := 0
	for _, o := range ops {
		if err := c.CheckSize(o.key, o.value); err != nil {
			return nil, 0, err
		}
		total += len(o.value)
		if total > c.maxValue {
			return nil, 0, errs.New(errs.TooLarge, "transaction carries over %d bytes of values; Consul's limit is %d bytes (txn_max_req_len)", total, c.maxValue)
		}
	}
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	var (
		ok  bool
		res txnResult
		idx uint64
		err error
	)
	if c.txns != nil {
		ok, res, idx, err = c.txns.txn(ctx, ops)
	} else {
		tops := make(api.TxnOps, len(ops))
		for i, o := range ops {
			tops[i] = &api.TxnOp{KV: &api.KVTxnOp{Verb: o.verb, Key: o.key, Value: o.value, Index: o.index, Session: o.session}}
		}
		var (
			resp *api.TxnResponse
			meta *api.QueryMeta
		)
		ok, resp, meta, err = c.api.Txn().Txn(tops, (&api.QueryOptions{}).WithContext(ctx))
		if meta != nil {
			idx = meta.LastIndex
		}
		if resp != nil {
			res = fromTxnResponse(resp)
		}
	}
	if err != nil {
		return nil, 0, c.Classify(err, "transaction")
	}
	if !ok {
		if len(res.errors) > 0 {
			te := res.errors[0]
			return nil, 0, errs.Wrap(errs.Conflict, &te, "changed underneath you")
		}
		return nil, 0, errs.New(errs.Conflict, "transaction refused by Consul")
	}
	for _, e := range res.entries {
		idx = max(idx, e.ModifyIndex)
	}
	return res.entries, idx, nil
}
