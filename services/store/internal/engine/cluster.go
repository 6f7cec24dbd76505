package engine

import (
	"context"

	"github.com/hashicorp/consul/api"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// ClusterFacts is the cluster record with live facts about Consul and counts.
type ClusterFacts struct {
	Cluster *commonv1.Cluster
	Leader  string
	Servers []*storev1.ConsulServer
	Peers   int
	Volumes int
}

// ClusterInfo reads the cluster record, Consul's raft servers and leader, and
// how many peers and volumes there are.
func (s *Store) ClusterInfo(ctx context.Context) (*ClusterFacts, error) {
	r, _, err := s.Get(ctx, &storev1.ResourceKey{Kind: storev1.Kind_CLUSTER})
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Wrap(errs.Unavailable, err, "the cluster record is not written yet; the store writes it once Consul is reachable")
	}
	if err != nil {
		return nil, err
	}
	f := &ClusterFacts{Cluster: r.GetCluster()}
	f.Leader, err = s.kv.Leader(ctx)
	if err != nil && !errs.Is(err, errs.NoQuorum) {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.kv.Timeout())
	defer cancel()
	raft, err := s.kv.API().Operator().RaftGetConfiguration((&api.QueryOptions{AllowStale: true}).WithContext(rctx))
	if err != nil {
		return nil, s.kv.Classify(err, "read Consul raft configuration")
	}
	for _, srv := range raft.Servers {
		f.Servers = append(f.Servers, &storev1.ConsulServer{Address: srv.Address, Leader: srv.Leader})
	}
	for kind, n := range map[storev1.Kind]*int{storev1.Kind_PEER: &f.Peers, storev1.Kind_VOLUME: &f.Volumes} {
		prefix, _ := s.layout.KindPrefix(kind, "")
		keys, _, err := s.kv.Keys(ctx, prefix)
		if err != nil {
			return nil, err
		}
		*n = len(keys)
	}
	return f, nil
}
