package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProcsDefaultsToOneAndRefusesNegative(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, 1, cfg.Procs)
	require.NoError(t, cfg.Validate())
	cfg.Procs = 0
	require.NoError(t, cfg.Validate(), "0 leaves the runtime's default")
	cfg.Procs = -1
	require.ErrorContains(t, cfg.Validate(), "procs -1")
}
