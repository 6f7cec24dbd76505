// Package consulkv is the Consul KV access every reader of the configuration
// goes through: typed errors, check-and-set, transactions, blocking-query
// watches and sessions.
package consulkv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// MaxTxnOps is the most operations Consul accepts in one transaction.
const MaxTxnOps = 128

// DefaultMaxValueSize is Consul's default kv_max_value_size (512 KiB).
const DefaultMaxValueSize = 512 * 1024

// Config says how to reach Consul.
type Config struct {
	// Address is Consul's HTTP API, "host:port".
	Address string
	// Token is the ACL token, if ACLs are on. Never logged.
	Token string
	// Timeout bounds each non-blocking request so a wedged Consul fails the
	// call instead of hanging it to the caller's deadline.
	Timeout time.Duration
	// WaitTime is how long one blocking query waits for a change.
	WaitTime time.Duration
	// WatchInterval is the least time between the starts of two listings
	// of a watched prefix that found a change: a watch then reads a burst
	// of writes once, not once per write (0: no wait).
	WatchInterval time.Duration
	// MaxValueSize is the largest value Consul accepts (its kv_max_value_size).
	MaxValueSize int
}

// Client is a Consul KV client with domain errors.
type Client struct {
	noLeader atomic.Bool // set by MonitorLeader while Consul reports no leader
	api      *api.Client
	addr     string
	timeout  time.Duration
	waitTime time.Duration
	interval time.Duration
	maxValue int
	txns     *txnConns // nil: transactions go through api
	// plain reads a watch's listings when Consul is reached over plain
	// HTTP (listing.go); nil: they go through api.
	plain *http.Client
	token string
}

// New returns a client for cfg; it does not contact Consul.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = 30 * time.Second
	}
	if cfg.MaxValueSize == 0 {
		cfg.MaxValueSize = DefaultMaxValueSize
	}
	ac := api.DefaultConfig() // pooled: keep-alive connections to the agent
	if cfg.Address != "" {
		ac.Address = cfg.Address
	}
	ac.Token = cfg.Token
	tr := ac.Transport
	tr.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConnsPerHost = 64
	tr.ResponseHeaderTimeout = 0
	// Responses uncompressed: the agent is this node's (or on loopback),
	// where gzip only costs CPU on both sides, and the change feed lists
	// the whole tree after every write.
	tr.DisableCompression = true
	c, err := api.NewClient(ac)
	if err != nil {
		return nil, fmt.Errorf("consul client for %s: %w", ac.Address, err)
	}
	kc := &Client{api: c, addr: ac.Address, timeout: cfg.Timeout, waitTime: cfg.WaitTime, interval: cfg.WatchInterval, maxValue: cfg.MaxValueSize}
	// Plain HTTP to host:port with at most a token: transactions take their
	// own connections (txnconn.go). TLS, unix sockets, basic auth or
	// Enterprise scoping stay with the api client.
	if ac.Scheme == "http" && !strings.Contains(ac.Address, "/") && ac.HttpAuth == nil && ac.TLSConfig.Address == "" &&
		ac.TLSConfig.CAFile == "" && ac.TLSConfig.CertFile == "" && ac.Namespace == "" && ac.Partition == "" && ac.Datacenter == "" {
		kc.txns = newTxnConns(ac.Address, ac.Token)
		kc.plain, kc.token = &http.Client{Transport: tr}, ac.Token
	}
	return kc, nil
}

// API returns the underlying Consul API client (for catalog, status, sessions).
func (c *Client) API() *api.Client { return c.api }

// Timeout returns the bound on each non-blocking request.
func (c *Client) Timeout() time.Duration { return c.timeout }

// Address returns the Consul address the client uses.
func (c *Client) Address() string { return c.addr }

func (c *Client) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Entry is one KV pair as stored.
type Entry struct {
	Key         string
	Value       []byte
	CreateIndex uint64
	ModifyIndex uint64
	LockIndex   uint64
	Session     string
}

func fromPair(p *api.KVPair) Entry {
	return Entry{Key: p.Key, Value: p.Value, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex, LockIndex: p.LockIndex, Session: p.Session}
}

// Get reads one key; a missing key returns (nil, index, nil).
func (c *Client) Get(ctx context.Context, key string) (*Entry, uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	p, meta, err := c.api.KV().Get(key, c.readOptions(ctx))
	if err != nil {
		return nil, 0, c.Classify(err, "read "+key)
	}
	noteStale(ctx, meta)
	if p == nil {
		return nil, meta.LastIndex, nil
	}
	e := fromPair(p)
	return &e, meta.LastIndex, nil
}

// List reads every key under prefix, with the index of the read.
func (c *Client) List(ctx context.Context, prefix string) ([]Entry, uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	return c.list(ctx, prefix, nil)
}

func (c *Client) list(ctx context.Context, prefix string, q *api.QueryOptions) ([]Entry, uint64, error) {
	if q == nil {
		q = c.readOptions(ctx)
	}
	ps, meta, err := c.api.KV().List(prefix, q.WithContext(ctx))
	if err != nil {
		return nil, 0, c.Classify(err, "list "+prefix)
	}
	noteStale(ctx, meta)
	out := make([]Entry, len(ps))
	for i, p := range ps {
		out[i] = fromPair(p)
	}
	return out, meta.LastIndex, nil
}

// Keys lists the key names under prefix (no values), with the index of
// the read.
func (c *Client) Keys(ctx context.Context, prefix string) ([]string, uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	ks, meta, err := c.api.KV().Keys(prefix, "", c.readOptions(ctx))
	if err != nil {
		return nil, 0, c.Classify(err, "list keys "+prefix)
	}
	noteStale(ctx, meta)
	return ks, meta.LastIndex, nil
}

// Index returns the current index of prefix (the newest change under it),
// reading as little as possible.
func (c *Client) Index(ctx context.Context, prefix string) (uint64, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	_, meta, err := c.api.KV().Keys(prefix, "/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, c.Classify(err, "read index of "+prefix)
	}
	return meta.LastIndex, nil
}

// CAS writes value at key if its ModifyIndex is still index (0: only if the
// key does not exist). It returns Conflict when the check fails.
func (c *Client) CAS(ctx context.Context, key string, value []byte, index uint64) error {
	if err := c.CheckSize(key, value); err != nil {
		return err
	}
	if err := c.CheckQuorum(ctx); err != nil {
		return err
	}
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	ok, _, err := c.api.KV().CAS(&api.KVPair{Key: key, Value: value, ModifyIndex: index}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return c.Classify(err, "write "+key)
	}
	if !ok {
		return errs.New(errs.Conflict, "%s changed underneath you", key)
	}
	return nil
}

// MaxValueSize returns the largest value the client will send.
func (c *Client) MaxValueSize() int { return c.maxValue }

// CheckSize refuses a value Consul would reject, before it is sent, so the
// caller gets a clear error instead of a reset connection.
func (c *Client) CheckSize(key string, value []byte) error {
	if len(value) > c.maxValue {
		return errs.New(errs.TooLarge, "%s: value of %d bytes is over Consul's limit of %d bytes (kv_max_value_size)", key, len(value), c.maxValue)
	}
	return nil
}

// Staleness reports, for the reads made with a context from WithStaleness,
// whether any was served without a leader and how old it may be.
type Staleness struct {
	mu          sync.Mutex
	stale       bool
	lastContact time.Duration
}

// Stale reports whether a read was served by a server without a leader, and
// how long ago that server last heard from one (how stale the answer may be).
func (s *Staleness) Stale() (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stale, s.lastContact
}

type stalenessKey struct{}

// WithStaleness returns a context whose reads report through the returned
// Staleness whether they were stale.
func WithStaleness(ctx context.Context) (context.Context, *Staleness) {
	s := &Staleness{}
	return context.WithValue(ctx, stalenessKey{}, s), s
}

// readOptions are a read's query options: the default (consistent through
// the leader) while there is a leader; while the leader monitor sees none, a
// stale read any server answers at once, which WithStaleness reports.
func (c *Client) readOptions(ctx context.Context) *api.QueryOptions {
	q := &api.QueryOptions{}
	if c.noLeader.Load() {
		q.AllowStale = true
	}
	return q.WithContext(ctx)
}

func noteStale(ctx context.Context, meta *api.QueryMeta) {
	s, ok := ctx.Value(stalenessKey{}).(*Staleness)
	if !ok || meta == nil || meta.KnownLeader {
		return
	}
	s.mu.Lock()
	s.stale = true
	s.lastContact = max(s.lastContact, meta.LastContact)
	s.mu.Unlock()
}

// Leader returns the address of Consul's raft leader, or NoQuorum when there is none.
func (c *Client) Leader(ctx context.Context) (string, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	var leader string
	_, err := c.api.Raw().Query("/v1/status/leader", &leader, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return "", c.Classify(err, "read consul leader")
	}
	if leader == "" {
		return "", errs.New(errs.NoQuorum, "no quorum: Consul has no leader; writes are refused until it elects one")
	}
	return leader, nil
}

// MonitorLeader polls Consul's leader every interval until ctx ends, so that
// writes fail at once with NoQuorum while there is none, instead of waiting
// out Consul's RPC hold time.
func (c *Client) MonitorLeader(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		_, err := c.Leader(pctx)
		cancel()
		switch {
		case errs.Is(err, errs.NoQuorum):
			c.noLeader.Store(true)
		case err == nil:
			c.noLeader.Store(false)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckQuorum fails with NoQuorum when the leader monitor last saw no leader
// and Consul still reports none; it costs nothing while there is a leader.
func (c *Client) CheckQuorum(ctx context.Context) error {
	if !c.noLeader.Load() {
		return nil
	}
	if _, err := c.Leader(ctx); err != nil {
		if errs.Is(err, errs.NoQuorum) {
			return errs.Wrap(errs.NoQuorum, err, "no quorum: Consul has no leader, so no write can be made durable; retry when a majority of Consul servers is back")
		}
		return err
	}
	c.noLeader.Store(false)
	return nil
}

// Classify turns an error from the Consul API into a domain error: an
// unreachable agent is Unavailable, a cluster without leader NoQuorum, an
// oversized value TooLarge, a cancelled or expired context Timeout/Canceled.
func (c *Client) Classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var se api.StatusError
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		return errs.Wrap(errs.Canceled, err, "%s: canceled", what)
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Timeout, err, "%s: Consul at %s did not answer in time (a write may still take effect)", what, c.addr)
	case strings.Contains(msg, "No cluster leader") || strings.Contains(msg, "no leader"):
		return errs.Wrap(errs.NoQuorum, err, "%s: no quorum: Consul has no leader", what)
	case errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge,
		strings.Contains(msg, "Value exceeds") || strings.Contains(msg, "Request body too large") || strings.Contains(msg, "exceeds"):
		return errs.Wrap(errs.TooLarge, err, "%s: value too large for Consul", what)
	case isConnErr(err):
		return errs.Wrap(errs.Unavailable, err, "%s: Consul unreachable at %s", what, c.addr)
	case errors.As(err, &se) && se.Code >= 500:
		return errs.Wrap(errs.Unavailable, err, "%s: Consul error %d", what, se.Code)
	case strings.Contains(msg, "Unexpected response code: 5"):
		return errs.Wrap(errs.Unavailable, err, "%s: Consul error", what)
	}
	return errs.Wrap(errs.Internal, err, "%s", what)
}

func isConnErr(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) || errors.As(err, &ue) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection refused")
}
