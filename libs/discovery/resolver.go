package discovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"go.uber.org/zap"
	"google.golang.org/grpc/resolver"

	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// ConsulScheme is the resolver scheme of a Consul service: "consul:///<service>[?tag=<tag>]".
const ConsulScheme = "consul"

// Timing of the resolver's blocking queries.
const (
	// blockingWait is how long one blocking query waits for a change.
	blockingWait = 5 * time.Minute
	// minQueryInterval rate-limits queries when the catalog changes quickly.
	minQueryInterval = 100 * time.Millisecond
	// minBackoff and maxBackoff bound the wait after a failed query.
	minBackoff = 250 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// healthAPI is the part of Consul's health endpoint the resolver needs.
type healthAPI interface {
	Service(service, tag string, passingOnly bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error)
}

// NewResolverBuilder returns the resolver builder for the "consul" scheme: it
// follows the passing instances of a service in Consul's catalog; a nil
// logger discards logs.
func NewResolverBuilder(client *api.Client, logger *zap.Logger) resolver.Builder {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &consulBuilder{health: client.Health(), logger: logger.Named("resolver")}
}

// consulBuilder starts one watching resolver per dialed target.
type consulBuilder struct {
	health healthAPI
	logger *zap.Logger
}

// Scheme returns "consul".
func (b *consulBuilder) Scheme() string { return ConsulScheme }

// Build starts following the service named by the target's path.
func (b *consulBuilder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service := strings.Trim(target.Endpoint(), "/")
	if service == "" || strings.Contains(service, "/") {
		return nil, fmt.Errorf("consul target %q: want consul:///<service>", target.String())
	}
	tag := target.URL.Query().Get("tag")
	ctx, cancel := context.WithCancel(context.Background())
	r := &consulResolver{
		health:  b.health,
		cc:      cc,
		service: service,
		tag:     tag,
		logger:  b.logger.With(zap.String("target_service", service), zap.String("tag", tag)),
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go r.watch(ctx)
	return r, nil
}

// consulResolver follows one service with blocking health queries.
type consulResolver struct {
	health  healthAPI
	cc      resolver.ClientConn
	service string
	tag     string
	logger  *zap.Logger
	cancel  context.CancelFunc
	done    chan struct{}
}

// ResolveNow does nothing: the blocking query already reports every change.
func (r *consulResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the watch and waits for it to end.
func (r *consulResolver) Close() {
	r.cancel()
	<-r.done
}

// watch runs blocking queries until ctx ends, passing each new set of
// addresses to the channel. On errors it backs off and keeps the last known
// addresses; only when nothing is known yet does it report the error.
func (r *consulResolver) watch(ctx context.Context) {
	defer close(r.done)
	var (
		index   uint64
		backoff time.Duration
		last    []string
		known   bool
	)
	for {
		start := time.Now()
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: blockingWait}).WithContext(ctx)
		entries, meta, err := r.health.Service(r.service, r.tag, true, q)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			backoff = nextBackoff(backoff)
			r.logger.Warn("consul health query failed", log.Err(err), zap.Duration("retry_in", backoff))
			if !known {
				r.cc.ReportError(fmt.Errorf("resolve %s in consul: %w", r.service, err))
			}
			if !sleep(ctx, backoff) {
				return
			}
			continue
		}
		backoff = 0
		index = nextIndex(index, meta.LastIndex)
		addrs := entryAddrs(entries)
		if !known || !slices.Equal(addrs, last) {
			r.update(addrs)
			last, known = addrs, true
		}
		if !sleep(ctx, minQueryInterval-time.Since(start)) {
			return
		}
	}
}

// update hands the channel a new address list.
func (r *consulResolver) update(addrs []string) {
	state := resolver.State{Addresses: make([]resolver.Address, len(addrs))}
	for i, a := range addrs {
		state.Addresses[i] = resolver.Address{Addr: a}
	}
	r.logger.Debug("resolved", zap.Strings("addrs", addrs))
	// The watch reports every change anyway, so a rejected state (e.g. an
	// empty list under round_robin) needs no retry.
	if err := r.cc.UpdateState(state); err != nil {
		r.logger.Debug("channel rejected resolver state", log.Err(err))
	}
}

// nextIndex is the WaitIndex for the next blocking query after a response
// with index last, following Consul's rules: an index that goes backwards
// resets to 0, and an index of 0 becomes 1 so the query still blocks.
func nextIndex(prev, last uint64) uint64 {
	switch {
	case last < prev:
		return 0
	case last == 0:
		return 1
	}
	return last
}

// nextBackoff doubles the wait after a failure, within [minBackoff, maxBackoff].
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, minBackoff), maxBackoff)
}

// sleep waits d or until ctx ends, reporting whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
