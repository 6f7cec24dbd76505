package grpcx

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// stage is one link of the server chain, shared by unary and streaming calls:
// it may change ctx and must call next once.
type stage func(ctx context.Context, method string, next func(context.Context) error) error

// interceptors builds the server's interceptor chain, the same for unary and
// streaming calls, outermost first:
//
//  1. recovery: a panic anywhere below becomes codes.Internal "internal
//     error" and is logged with its stack;
//  2. error conversion: errs.ToStatus turns the returned error into the
//     public message and code callers see;
//  3. request id: x-request-id from the caller's metadata, or a new uuid, is
//     put in ctx (see RequestID) and sent back as the x-request-id header;
//  4. logging: one line per call with method, code, duration, request id and
//     the full error, at Info for server-side failures and Debug otherwise;
//  5. metrics: grpc_server_handled_total and grpc_server_handling_seconds,
//     only when m is not nil;
//
// then the handler. Logging and metrics sit inside error conversion so that
// the log keeps the cause that callers never see.
func interceptors(logger *zap.Logger, m *metrics) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
	stages := []stage{
		recovery(logger),
		convertErrors,
		requestID,
		logging(logger),
	}
	if m != nil {
		stages = append(stages, m.observe)
	}
	unary := make([]grpc.UnaryServerInterceptor, len(stages))
	stream := make([]grpc.StreamServerInterceptor, len(stages))
	for i, s := range stages {
		unary[i], stream[i] = unaryStage(s), streamStage(s)
	}
	return unary, stream
}

// unaryStage runs a stage around a unary handler.
func unaryStage(s stage) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var resp any
		err := s(ctx, info.FullMethod, func(ctx context.Context) error {
			var err error
			resp, err = handler(ctx, req)
			return err
		})
		return resp, err
	}
}

// streamStage runs a stage around a stream handler, passing on a changed ctx.
func streamStage(s stage) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return s(ss.Context(), info.FullMethod, func(ctx context.Context) error {
			if ctx != ss.Context() {
				ss = &ctxStream{ServerStream: ss, ctx: ctx}
			}
			return handler(srv, ss)
		})
	}
}

// ctxStream is a server stream whose Context a stage replaced.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stage's context.
func (s *ctxStream) Context() context.Context { return s.ctx }

// recovery turns a panic into codes.Internal and logs it with its stack. It
// runs before the request id is known, so it logs the caller's id if any.
func recovery(logger *zap.Logger) stage {
	return func(ctx context.Context, method string, next func(context.Context) error) (err error) {
		defer func() {
			if p := recover(); p != nil {
				fields := []zap.Field{log.Method(method), zap.Any("panic", p), zap.Stack("stack")}
				if ids := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(ids) > 0 && validRequestID(ids[0]) {
					fields = append(fields, log.RequestID(ids[0]))
				}
				logger.Error("panic in gRPC handler", fields...)
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return next(ctx)
	}
}

// convertErrors replaces the handler's error with the status callers see.
func convertErrors(ctx context.Context, _ string, next func(context.Context) error) error {
	if err := next(ctx); err != nil {
		return errs.ToStatus(err).Err()
	}
	return nil
}

// requestID puts the call's request id in ctx and in the response header.
func requestID(ctx context.Context, _ string, next func(context.Context) error) error {
	id := incomingRequestID(ctx)
	ctx = WithRequestID(ctx, id)
	// SetHeader fails only if headers were already sent, which cannot have
	// happened before the handler ran; the id is in the logs either way.
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return next(ctx)
}

// logging writes one line per call; a call that panicked is logged as Internal.
func logging(logger *zap.Logger) stage {
	return func(ctx context.Context, method string, next func(context.Context) error) (err error) {
		start := time.Now()
		returned := false
		defer func() {
			code := codes.Internal
			if returned {
				code = errs.ToStatus(err).Code()
			}
			lvl := zapcore.DebugLevel
			if code != codes.OK && !isClientCode(code) {
				lvl = zapcore.InfoLevel
			}
			ce := logger.Check(lvl, "handled gRPC call")
			if ce == nil {
				return
			}
			fields := []zap.Field{
				log.Method(method),
				zap.Stringer("code", code),
				zap.Duration("duration", time.Since(start)),
				log.RequestID(RequestID(ctx)),
			}
			if err != nil {
				fields = append(fields, log.Err(err))
			}
			if !returned {
				fields = append(fields, zap.Bool("panicked", true))
			}
			ce.Write(fields...)
		}()
		err = next(ctx)
		returned = true
		return err
	}
}

// isClientCode reports whether a code blames the caller rather than the server.
func isClientCode(c codes.Code) bool {
	switch c {
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.FailedPrecondition, codes.Aborted,
		codes.OutOfRange, codes.Unauthenticated:
		return true
	}
	return false
}
