// Package errs defines the domain errors every service returns and the one
// table that turns them into gRPC status codes and HTTP statuses.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Kind classifies a domain error; each kind maps to exactly one gRPC code.
type Kind int

// The kinds of domain error.
const (
	// Internal is a bug or an unexpected failure.
	Internal Kind = iota
	// Invalid is bad input from the caller.
	Invalid
	// NotFound is an unknown resource.
	NotFound
	// AlreadyExists is a create of something that exists.
	AlreadyExists
	// Conflict is a write that lost a check-and-set race ("changed underneath you").
	Conflict
	// Precondition is an operation refused in the resource's current state.
	Precondition
	// Unavailable is a dependency that cannot be reached (Consul, a node); retry later.
	Unavailable
	// NoQuorum is Consul without a leader: writes cannot be made durable.
	NoQuorum
	// TooLarge is a value over a limit of the store.
	TooLarge
	// Timeout is an operation that did not finish before its deadline.
	Timeout
	// OutOfRange is a request for history no longer retained.
	OutOfRange
	// Unauthenticated is a caller without valid credentials.
	Unauthenticated
	// PermissionDenied is a caller not allowed to do this.
	PermissionDenied
	// Canceled is an operation the caller abandoned.
	Canceled
	// Unimplemented is an operation this build does not provide yet.
	Unimplemented
)

// table is the one mapping of domain kinds to gRPC codes.
var table = map[Kind]codes.Code{
	Internal:         codes.Internal,
	Invalid:          codes.InvalidArgument,
	NotFound:         codes.NotFound,
	AlreadyExists:    codes.AlreadyExists,
	Conflict:         codes.Aborted,
	Precondition:     codes.FailedPrecondition,
	Unavailable:      codes.Unavailable,
	NoQuorum:         codes.Unavailable,
	TooLarge:         codes.InvalidArgument,
	Timeout:          codes.DeadlineExceeded,
	OutOfRange:       codes.OutOfRange,
	Unauthenticated:  codes.Unauthenticated,
	PermissionDenied: codes.PermissionDenied,
	Canceled:         codes.Canceled,
	Unimplemented:    codes.Unimplemented,
}

// httpTable maps gRPC codes to HTTP statuses as docs/API.md documents them.
var httpTable = map[codes.Code]int{
	codes.OK:                 http.StatusOK,
	codes.Canceled:           499,
	codes.Unknown:            http.StatusInternalServerError,
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.FailedPrecondition: http.StatusPreconditionFailed,
	codes.Aborted:            http.StatusConflict,
	codes.OutOfRange:         http.StatusGone,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DataLoss:           http.StatusInternalServerError,
	codes.Unauthenticated:    http.StatusUnauthorized,
}

// Error is a domain error: a kind, a message for people and an optional
// field it is about. The cause is kept for logs, never shown to callers.
type Error struct {
	Kind    Kind
	Field   string
	Message string
	Cause   error
}

// Error returns the public message, with the cause for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns a domain error of kind k with a formatted public message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a domain error of kind k that keeps cause for the logs.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// InvalidField returns an Invalid error about one request field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first domain error in err's chain, mapping
// context errors and gRPC statuses too; anything else is Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	if s, ok := status.FromError(err); ok {
		for k, c := range table {
			if c == s.Code() && k != NoQuorum && k != TooLarge {
				return k
			}
		}
	}
	return Internal
}

// Is reports whether err is a domain error of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Code returns the gRPC code for a domain kind.
func Code(k Kind) codes.Code { return table[k] }

// HTTPStatus returns the HTTP status for a gRPC code, per docs/API.md.
func HTTPStatus(c codes.Code) int {
	if s, ok := httpTable[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ToStatus converts any error into the gRPC status a caller sees: a domain
// error keeps its public message (and field, as a BadRequest detail); an
// existing status passes through; anything else becomes Internal with a
// generic message so no internals leak.
func ToStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	var e *Error
	if errors.As(err, &e) {
		st := status.New(table[e.Kind], e.Message)
		if e.Field != "" {
			if d, derr := st.WithDetails(&errdetails.BadRequest{
				FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: e.Field, Description: e.Message}},
			}); derr == nil {
				st = d
			}
		}
		return st
	}
	if s, ok := status.FromError(err); ok {
		return s
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	}
	return status.New(codes.Internal, "internal error")
}

// FromStatus turns a gRPC error from a client call back into a domain error
// with the server's message, so callers can test it with Is.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	k := KindOf(err)
	e := &Error{Kind: k, Message: s.Message(), Cause: err}
	for _, d := range s.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			e.Field = br.FieldViolations[0].Field
		}
	}
	return e
}
