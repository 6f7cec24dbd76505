package grpcx

import (
	"context"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"
)

// RequestIDHeader is the metadata key carrying the request id, both ways.
const RequestIDHeader = "x-request-id"

// maxRequestIDLen bounds a caller-supplied request id; longer ones are replaced.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID returns the request id of the call ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithRequestID returns ctx carrying id, which outgoing calls made with a
// client from Dial propagate.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// incomingRequestID returns the caller's request id if it is usable, else a new one.
func incomingRequestID(ctx context.Context) string {
	if vals := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(vals) > 0 && validRequestID(vals[0]) {
		return vals[0]
	}
	return uuid.NewString()
}

// validRequestID accepts short printable ASCII ids, so logs cannot be forged.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// AcceptedHeader is the response header a service sets when it accepted an
// operation to run in the background; the gateway answers such a call
// with HTTP 202 Accepted.
const AcceptedHeader = "x-gdng-accepted"

// StaleHeader is the response header a read carries when it was served
// without a Consul leader: how long ago (in milliseconds) the answering
// server last heard from one, so how stale the answer may be. The gateway
// sends it as the HTTP header X-Stale-Ms.
const StaleHeader = "x-gdng-stale-ms"
