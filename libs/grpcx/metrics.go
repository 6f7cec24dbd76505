package grpcx

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// metrics holds the server-side RPC metrics.
type metrics struct {
	handled *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

// newMetrics registers the RPC metrics with reg, reusing ones an earlier
// server registered there; it returns nil (no metrics) when reg is nil or
// refuses them.
func newMetrics(reg prometheus.Registerer, logger *zap.Logger) *metrics {
	if reg == nil {
		return nil
	}
	handled, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "grpc_server_handled_total",
		Help: "RPCs completed on the server, by service, method and status code.",
	}, []string{"grpc_service", "grpc_method", "grpc_code"}))
	if err != nil {
		logger.Error("gRPC metrics disabled", log.Err(err))
		return nil
	}
	seconds, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "grpc_server_handling_seconds",
		Help:    "Time the server took to handle RPCs, by service and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"grpc_service", "grpc_method"}))
	if err != nil {
		logger.Error("gRPC metrics disabled", log.Err(err))
		return nil
	}
	return &metrics{handled: handled, seconds: seconds}
}

// register adds c to reg, or returns the equal collector already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, err
}

// observe counts the call and its duration; a call that panicked counts as Internal.
func (m *metrics) observe(ctx context.Context, method string, next func(context.Context) error) (err error) {
	start := time.Now()
	returned := false
	defer func() {
		code := codes.Internal
		if returned {
			code = errs.ToStatus(err).Code()
		}
		service, name := splitMethod(method)
		m.handled.WithLabelValues(service, name, code.String()).Inc()
		m.seconds.WithLabelValues(service, name).Observe(time.Since(start).Seconds())
	}()
	err = next(ctx)
	returned = true
	return err
}

// splitMethod splits "/pkg.Service/Method" into service and method.
func splitMethod(full string) (service, method string) {
	service, method, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok {
		return "unknown", full
	}
	return service, method
}
