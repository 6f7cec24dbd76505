package errs

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToStatusAndBack(t *testing.T) {
	cases := []struct {
		err  error
		code codes.Code
		http int
	}{
		{InvalidField("name", "must not be empty"), codes.InvalidArgument, http.StatusBadRequest},
		{New(NotFound, "volume gv0 not found"), codes.NotFound, http.StatusNotFound},
		{New(Conflict, "changed underneath you"), codes.Aborted, http.StatusConflict},
		{New(Precondition, "peer holds bricks"), codes.FailedPrecondition, http.StatusPreconditionFailed},
		{Wrap(NoQuorum, fmt.Errorf("No cluster leader"), "no quorum"), codes.Unavailable, http.StatusServiceUnavailable},
		{fmt.Errorf("ctx: %w", context.DeadlineExceeded), codes.DeadlineExceeded, http.StatusGatewayTimeout},
		{fmt.Errorf("boom"), codes.Internal, http.StatusInternalServerError},
	}
	for _, c := range cases {
		st := ToStatus(fmt.Errorf("wrapped: %w", c.err))
		require.Equal(t, c.code, st.Code(), c.err.Error())
		require.Equal(t, c.http, HTTPStatus(st.Code()))
	}
}

func TestInternalHidesCause(t *testing.T) {
	st := ToStatus(fmt.Errorf("secret path /etc/x"))
	require.Equal(t, "internal error", st.Message())
	st = ToStatus(Wrap(Unavailable, fmt.Errorf("dial 10.0.0.1 refused"), "consul unreachable"))
	require.Equal(t, "consul unreachable", st.Message())
}

func TestFieldSurvivesRoundTrip(t *testing.T) {
	err := FromStatus(ToStatus(InvalidField("volume.name", "too long")).Err())
	require.True(t, Is(err, Invalid))
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "volume.name", e.Field)
	require.Equal(t, "volume.name: too long", e.Message)
	require.True(t, Is(FromStatus(status.Error(codes.Aborted, "x")), Conflict))
}
