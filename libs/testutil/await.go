package testutil

import (
	"testing"
	"time"
)

// Await polls cond every 20 ms until it holds, failing the test with msg if
// it does not within timeout. Use it instead of sleeps.
func Await(tb testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s: "+msg, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
