// Package service runs one gRPC service process the same way everywhere:
// listen, serve, register in Consul's catalog, and on stop deregister, turn
// health NOT_SERVING, drain and stop with a hard deadline.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/glusterd-ng/glusterd-ng/libs/config"
	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/discovery"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// Options describes a service process.
type Options struct {
	// Name is the service name in the catalog ("store").
	Name string
	// ID is the instance id in the catalog; empty means "<name>-<host>-<port>".
	ID string
	// Listener is where gRPC is served.
	Listener net.Listener
	// Advertise is the host registered in the catalog; empty uses the listener's host.
	Advertise string
	// Registry registers the instance; nil skips registration.
	Registry discovery.Registry
	// CheckInterval is the catalog health check interval.
	CheckInterval time.Duration
	// Server is the gRPC server with the service registered on it.
	Server *grpcx.Server
	// Logger is the process logger.
	Logger *zap.Logger
	// StopTimeout bounds the graceful drain at stop.
	StopTimeout time.Duration
	// Meta is catalog metadata for the instance.
	Meta map[string]string
}

// Run serves until ctx ends or serving fails, registering the instance once
// it is serving and deregistering it first at stop.
func Run(ctx context.Context, o Options) error {
	if o.StopTimeout == 0 {
		o.StopTimeout = 10 * time.Second
	}
	host, portStr, err := net.SplitHostPort(o.Listener.Addr().String())
	if err != nil {
		return fmt.Errorf("listener address: %w", err)
	}
	port, _ := strconv.Atoi(portStr)
	if o.Advertise != "" {
		host = o.Advertise
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- o.Server.Serve(o.Listener) }()
	o.Server.Health().SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	reg := discovery.Registration{Service: o.Name, ID: o.ID, Address: host, Port: port, CheckInterval: o.CheckInterval, Meta: o.Meta}.WithDefaults()
	if o.Registry != nil {
		if err := o.Registry.Register(ctx, reg); err != nil {
			// Consul may come later; the service still serves and retries.
			o.Logger.Warn("registering in Consul failed; retrying in the background", log.Err(err))
			go retryRegister(ctx, o, reg)
		} else {
			o.Logger.Info("registered in Consul", zap.String("service_id", reg.ID), log.Addr(reg.HostPort()))
		}
	}
	o.Logger.Info("serving", log.Addr(o.Listener.Addr().String()))

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve %s: %w", o.Name, err)
	case <-ctx.Done():
	}
	o.Logger.Info("stopping")
	if o.Registry != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := o.Registry.Deregister(dctx, reg.ID); err != nil {
			o.Logger.Warn("deregistering failed", log.Err(err))
		}
		cancel()
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.StopTimeout)
	defer cancel()
	if err := o.Server.Stop(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func retryRegister(ctx context.Context, o Options, reg discovery.Registration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		if err := o.Registry.Register(ctx, reg); err == nil {
			o.Logger.Info("registered in Consul", zap.String("service_id", reg.ID))
			return
		}
	}
}

// Dependencies are the Consul client and store connection a service uses.
type Dependencies struct {
	// Consul is the Consul KV and API client.
	Consul *consulkv.Client
	// Store is a connection to the store service (close it at stop).
	Store *grpc.ClientConn
}

// Connect builds the Consul client for common and dials the store at
// storeTarget, resolving "consul:///store" through Consul.
func Connect(common config.Common, storeTarget string, logger *zap.Logger) (Dependencies, error) {
	kv, err := consulkv.New(consulkv.Config{Address: common.ConsulAddr, Token: common.ConsulToken})
	if err != nil {
		return Dependencies{}, err
	}
	conn, err := grpcx.Dial(storeTarget, grpcx.WithConsulResolver(kv.API(), logger.Named("resolver")))
	if err != nil {
		return Dependencies{}, fmt.Errorf("dial store at %s: %w", storeTarget, err)
	}
	return Dependencies{Consul: kv, Store: conn}, nil
}
