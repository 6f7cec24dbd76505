package orchestrator

import (
	"context"
	"sort"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/storeclient"
)

// transactions serves TransactionService from the journal in the store.
type transactions struct {
	orchestratorv1.UnimplementedTransactionServiceServer
	store *storeclient.Client
}

// ListTransactions returns the journal, newest first.
func (t *transactions) ListTransactions(ctx context.Context, _ *orchestratorv1.ListTransactionsRequest) (*orchestratorv1.ListTransactionsResponse, error) {
	l, err := t.store.Raw().List(ctx, &storev1.ListRequest{Kind: storev1.Kind_TRANSACTION})
	if err != nil {
		return nil, errs.FromStatus(err)
	}
	out := &orchestratorv1.ListTransactionsResponse{Transactions: []*commonv1.Transaction{}}
	for _, r := range l.Resources {
		out.Transactions = append(out.Transactions, r.GetTransaction())
	}
	sort.Slice(out.Transactions, func(i, j int) bool {
		return out.Transactions[i].StartedAt.AsTime().After(out.Transactions[j].StartedAt.AsTime())
	})
	return out, nil
}

// GetTransaction returns one transaction with its steps per node.
func (t *transactions) GetTransaction(ctx context.Context, req *orchestratorv1.GetTransactionRequest) (*commonv1.Transaction, error) {
	r, err := t.store.Raw().Get(ctx, &storev1.GetRequest{Key: &storev1.ResourceKey{Kind: storev1.Kind_TRANSACTION, Name: req.GetId()}})
	if err != nil {
		err = errs.FromStatus(err)
		if errs.Is(err, errs.Invalid) {
			return nil, errs.InvalidField("id", "%q is not a transaction id (a UUID)", req.GetId())
		}
		return nil, err
	}
	return r.Resource.GetTransaction(), nil
}
