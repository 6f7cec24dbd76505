package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
)

// fetchSpecRounds is how many mount-then-set rounds
// TestFreshMountTakesUpAnImmediateOptionChange makes on each of how many
// fresh clusters; E2E_FETCHSPEC_ROUNDS and E2E_FETCHSPEC_CLUSTERS override
// them.
func fetchSpecRounds(t *testing.T) (rounds, clusters int) {
	rounds, clusters = 3, 10
	for _, v := range []struct {
		env string
		n   *int
	}{{"E2E_FETCHSPEC_ROUNDS", &rounds}, {"E2E_FETCHSPEC_CLUSTERS", &clusters}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(t, err, v.env)
			*v.n = n
		}
	}
	return rounds, clusters
}

// awaitQuickRead waits until the client's active graph has (want) or lacks
// performance/quick-read, listing the root so the FUSE bridge switches to a
// new graph that is up; it reports whether that happened within timeout.
func awaitQuickRead(m *framework.Mounted, want bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		_, _ = os.ReadDir(m.Mountpoint)
		if strings.Contains(m.ActiveGraph(), "performance/quick-read") == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A client that has just mounted, and a volume option changed at once:
// whichever way the mount's GETSPEC and the change interleave, the client
// ends on the new volfile. Each round mounts afresh and flips
// performance.quick-read (a topology change: the client builds a new
// graph) without waiting for anything. Each cluster is fresh, because its
// first rounds are the likeliest to fail: a portmap that started before
// the store could be found answers GETSPEC as soon as it finds it, but
// follows the store's change feed only from its next attempt, up to a
// second later, and a change in between used to reach no client.
func TestFreshMountTakesUpAnImmediateOptionChange(t *testing.T) {
	rounds, clusters := fetchSpecRounds(t)
	failures := 0
	for k := 0; k < clusters; k++ {
		t.Run(fmt.Sprintf("cluster %d", k), func(t *testing.T) {
			c := pool(t, framework.Options{Nodes: 3})
			dir := t.TempDir()
			code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"fs0","bricks":%s,"force":true}`, brickList(c, dir, 3)))
			require.Equal(t, 201, code, string(resp))
			code, resp = c.Do("POST", "/v1/volumes/fs0:start", `{}`)
			require.Equal(t, 200, code, string(resp))
			quickRead := true // the default
			var failed []int
			for i := 0; i < rounds; i++ {
				m, err := framework.Mount(t.Context(), t, c.Nodes[0].Host, 0, "fs0", filepath.Join(t.TempDir(), "m"))
				require.NoError(t, err)
				quickRead = !quickRead
				code, resp := c.Do("PATCH", "/v1/volumes/fs0/options", fmt.Sprintf(`{"options":{"performance.quick-read":%q}}`, map[bool]string{true: "on", false: "off"}[quickRead]))
				require.Equal(t, 200, code, string(resp))
				// The portmap repeats an unheeded FETCHSPEC for several seconds;
				// a client still on the old graph well after that never switches.
				if !awaitQuickRead(m, quickRead, 30*time.Second) {
					failed = append(failed, i)
					t.Errorf("round %d: the fresh mount kept its old graph (quick-read wanted %t); %d graph switches\n---- client log (end) ----\n%s\n---- portmap FETCHSPEC lines ----\n%s",
						i, quickRead, m.GraphSwitches(), tailOf(m.Log(), 6000), linesWith(c.Nodes[0].Portmap.Log(), "FETCHSPEC", 20))
				}
				require.NoError(t, m.Unmount())
			}
			failures += len(failed)
			t.Logf("%d of %d rounds kept the old graph: %v", len(failed), rounds, failed)
		})
	}
	t.Logf("%d of %d rounds on %d fresh clusters kept the old graph", failures, rounds*clusters, clusters)
}

// tailOf is the last n bytes of s.
func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// linesWith is the last n lines of s that contain what.
func linesWith(s, what string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
