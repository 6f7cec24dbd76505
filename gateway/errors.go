package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/glusterd-ng/glusterd-ng/libs/errs"
)

// errorJSON always writes code, message and details, even when empty.
var errorJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// writeError answers an error as docs/API.md says: the HTTP status from the
// one table in libs/errs and a body {"code", "message", "details"}.
func writeError(_ context.Context, _ *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	httpStatus := 0
	var he *runtime.HTTPStatusError
	if errors.As(err, &he) {
		httpStatus = he.HTTPStatus
		err = he.Err
	}
	st := status.Convert(err)
	if httpStatus == 0 {
		httpStatus = errs.HTTPStatus(st.Code())
	}
	buf, merr := errorJSON.Marshal(st.Proto())
	if merr != nil {
		buf = []byte(`{"code":13,"message":"internal error","details":[]}`)
		httpStatus = http.StatusInternalServerError
	}
	w.Header().Del("Trailer")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(buf)
}

// routingError answers requests no route matches.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var err error
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		err = &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: status.Errorf(codes.Unimplemented, "method %s is not allowed on %s", r.Method, r.URL.Path)}
	case http.StatusBadRequest:
		err = status.Errorf(codes.InvalidArgument, "bad request path %s", r.URL.Path)
	default:
		err = status.Errorf(codes.NotFound, "no route for %s %s", r.Method, r.URL.Path)
	}
	writeError(ctx, mux, m, w, r, err)
}
