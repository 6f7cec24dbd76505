package consulkv

import (
	"context"
	"errors"
	"sync"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// Batcher commits concurrent transactions together: while one Consul
// transaction is in flight, transactions submitted meanwhile queue up and go
// as one (group commit), so many writers cost few Consul requests. A queued
// transaction never shares a batch with another touching the same key, so
// every result belongs to exactly one submitter; when Consul refuses a
// batch, the transaction with the refused operation gets the refusal and
// the others are retried. A lone transaction goes to Consul as it is.
type Batcher struct {
	kv       *Client
	inflight int

	mu      sync.Mutex
	queue   []*batchReq
	running int
}

type batchReq struct {
	ctx  context.Context
	ops  []Op
	done chan batchRes
}

type batchRes struct {
	entries []Entry
	index   uint64
	err     error
}

// NewBatcher returns a batcher over kv with at most inflight transactions
// in flight at once.
func NewBatcher(kv *Client, inflight int) *Batcher {
	if inflight < 1 {
		inflight = 1
	}
	return &Batcher{kv: kv, inflight: inflight}
}

// Txn applies ops atomically, like Client.Txn, possibly in one Consul
// transaction with other callers' operations. A caller that finds a free
// slot sends batches itself, on its own goroutine, until its own
// transaction is answered, then leaves what queued meanwhile to a drainer:
// a lone writer pays no hand-off between goroutines.
func (b *Batcher) Txn(ctx context.Context, ops []Op) ([]Entry, uint64, error) {
	r := &batchReq{ctx: ctx, ops: ops, done: make(chan batchRes, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	start := b.running < b.inflight
	if start {
		b.running++
	}
	b.mu.Unlock()
	if !start {
		res := <-r.done
		return res.entries, res.index, res.err
	}
	for {
		select {
		case res := <-r.done:
			b.mu.Lock()
			if len(b.queue) > 0 {
				// Keep the slot for a drainer of what queued meanwhile.
				b.mu.Unlock()
				go b.drain()
			} else {
				b.running--
				b.mu.Unlock()
			}
			return res.entries, res.index, res.err
		default:
		}
		b.mu.Lock()
		batch := b.takeLocked()
		if len(batch) == 0 {
			// Another runner has this caller's transaction in flight.
			b.running--
			b.mu.Unlock()
			res := <-r.done
			return res.entries, res.index, res.err
		}
		b.mu.Unlock()
		b.run(batch)
	}
}

// drain runs batches until the queue is empty.
func (b *Batcher) drain() {
	for {
		b.mu.Lock()
		batch := b.takeLocked()
		if len(batch) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(batch)
	}
}

// takeLocked removes from the queue the next batch: requests in order that
// fit one transaction together and touch disjoint keys.
func (b *Batcher) takeLocked() []*batchReq {
	var batch, rest []*batchReq
	keys := map[string]bool{}
	nops, size := 0, 0
	for _, r := range b.queue {
		if r.ctx.Err() != nil {
			// Never sent: the caller gave up while it waited.
			r.done <- batchRes{err: b.kv.Classify(r.ctx.Err(), "transaction")}
			continue
		}
		rsize, overlap := 0, false
		for _, o := range r.ops {
			rsize += len(o.value)
			overlap = overlap || keys[o.key]
		}
		if len(batch) > 0 && (overlap || nops+len(r.ops) > MaxTxnOps || size+rsize > b.kv.maxValue) {
			rest = append(rest, r)
			continue
		}
		batch = append(batch, r)
		nops += len(r.ops)
		size += rsize
		for _, o := range r.ops {
			keys[o.key] = true
		}
	}
	b.queue = rest
	return batch
}

// run commits one batch and answers its requests.
func (b *Batcher) run(batch []*batchReq) {
	if len(batch) == 1 {
		r := batch[0]
		entries, index, err := b.kv.Txn(r.ctx, r.ops)
		r.done <- batchRes{entries, index, err}
		return
	}
	var all []Op
	offsets := make([]int, len(batch))
	for i, r := range batch {
		offsets[i] = len(all)
		all = append(all, r.ops...)
	}
	entries, index, err := b.kv.Txn(context.Background(), all)
	var te *TxnError
	switch {
	case err == nil:
		for _, r := range batch {
			mine := map[string]bool{}
			for _, o := range r.ops {
				mine[o.key] = true
			}
			var out []Entry
			for _, e := range entries {
				if mine[e.Key] {
					out = append(out, e)
				}
			}
			r.done <- batchRes{out, index, nil}
		}
	case errors.As(err, &te):
		// Consul applied nothing. The request whose operation was refused
		// gets the refusal (with the operation's index in its own list);
		// the others go back to the front of the queue.
		var retry []*batchReq
		for i, r := range batch {
			if te.OpIndex >= offsets[i] && te.OpIndex < offsets[i]+len(r.ops) {
				own := &TxnError{OpIndex: te.OpIndex - offsets[i], What: te.What}
				r.done <- batchRes{err: errs.Wrap(errs.Conflict, own, "changed underneath you")}
				continue
			}
			retry = append(retry, r)
		}
		b.mu.Lock()
		b.queue = append(retry, b.queue...)
		b.mu.Unlock()
	default:
		for _, r := range batch {
			r.done <- batchRes{err: err}
		}
	}
}
