package sunrpc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestYielderYieldsOnceEveryInterval(t *testing.T) {
	clock := time.Unix(1000, 0)
	yields := 0
	y := yielder{now: func() time.Time { return clock }, yield: func() { yields++ }}
	y.maybe() // the first call starts the interval
	require.Equal(t, 0, yields)
	for range 10 {
		clock = clock.Add(yieldEvery / 10)
		y.maybe()
	}
	require.Equal(t, 1, yields, "one yield after yieldEvery of calls")
	clock = clock.Add(yieldEvery - time.Nanosecond)
	y.maybe()
	require.Equal(t, 1, yields, "not before the next interval has passed")
	clock = clock.Add(time.Nanosecond)
	y.maybe()
	require.Equal(t, 2, yields)
}
