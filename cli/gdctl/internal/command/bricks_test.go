package command

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAddBrick(t *testing.T) {
	tests := []struct {
		name string
		args []string
		body string
	}{
		{"distribute", []string{"gv1", "node3:/bricks/gv1"}, `{"bricks":[{"peer":"node3","path":"/bricks/gv1"}]}`},
		{"replica", []string{"gv1", "replica", "2", "node3:/b", "node4:/b"},
			`{"bricks":[{"peer":"node3","path":"/b"},{"peer":"node4","path":"/b"}],"replica_count":2}`},
		{"force", []string{"gv1", "node3:/b", "force"}, `{"bricks":[{"peer":"node3","path":"/b"}],"force":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{"POST /v1/volumes/gv1/bricks": {body: `{"volume":` + gv1JSON + `}`}})
			requireOK(t, api.gdctl(t, append([]string{"volume", "add-brick"}, tt.args...)...), "volume add-brick: success\n")
			require.Equal(t, []string{"POST /v1/volumes/gv1/bricks"}, api.calls())
			requireJSON(t, tt.body, api.requests()[0].Body)
		})
	}
}

func TestAddBrickUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no bricks":       {"volume", "add-brick", "gv1"},
		"relative":        {"volume", "add-brick", "gv1", "node3:b"},
		"replica word":    {"volume", "add-brick", "gv1", "replica", "two", "node3:/b", "node4:/b"},
		"not a multiple":  {"volume", "add-brick", "gv1", "replica", "2", "node3:/b"},
		"arbiter":         {"volume", "add-brick", "gv1", "arbiter", "1", "node3:/b"},
		"only force":      {"volume", "add-brick", "gv1", "force"},
		"name is a brick": {"volume", "add-brick", "node3:/b", "node4:/b"},
	} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code, r.stderr)
			require.Empty(t, api.requests())
		})
	}
}

func TestRemoveBrick(t *testing.T) {
	routes := map[string]reply{
		"GET /v1/volumes/gv0":              {body: gv0JSON},
		"DELETE /v1/volumes/gv0/bricks/b2": {body: `{"volume":` + gv0JSON + `}`},
	}
	t.Run("by id", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		requireOK(t, api.gdctl(t, "volume", "remove-brick", "gv0", "b2", "--yes"), "volume remove-brick: success\n")
		require.Equal(t, []string{"DELETE /v1/volumes/gv0/bricks/b2"}, api.calls())
	})
	t.Run("by host and path, force", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		requireOK(t, api.gdctl(t, "--mode=script", "volume", "remove-brick", "gv0", "node2:/bricks/gv0/b2/", "force"), "volume remove-brick: success\n")
		require.Equal(t, []string{"GET /v1/volumes/gv0", "DELETE /v1/volumes/gv0/bricks/b2?force=true"}, api.calls())
	})
	t.Run("by peer id and path", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		requireOK(t, api.gdctl(t, "volume", "remove-brick", "gv0", "22222222-2222-2222-2222-222222222222:/bricks/gv0/b2", "-y"), "volume remove-brick: success\n")
		require.Equal(t, []string{"GET /v1/volumes/gv0", "DELETE /v1/volumes/gv0/bricks/b2"}, api.calls())
	})
	t.Run("not a brick of the volume", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		r := api.gdctl(t, "volume", "remove-brick", "gv0", "node9:/bricks/gv0/b2", "-y")
		require.Equal(t, ExitFailure, r.code)
		require.Equal(t, "volume remove-brick: failed: node9:/bricks/gv0/b2 is not a brick of volume gv0\n", r.stderr)
		require.Equal(t, []string{"GET /v1/volumes/gv0"}, api.calls())
	})
	t.Run("usage", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		for _, args := range [][]string{
			{"volume", "remove-brick", "gv0", "-y"},
			{"volume", "remove-brick", "gv0", "node2:b2", "-y"},
			{"volume", "remove-brick", "gv0", "b2", "start", "-y"},
		} {
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		}
		require.Empty(t, api.requests())
	})
}

func TestReplaceBrick(t *testing.T) {
	routes := map[string]reply{
		"GET /v1/volumes/gv0":                    {body: gv0JSON},
		"POST /v1/volumes/gv0/bricks/b3:replace": {body: `{"volume":` + gv0JSON + `,"transaction_id":"t-9"}`},
	}
	for name, old := range map[string]string{"by host and path": "node3:/bricks/gv0/b3", "by id": "b3"} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, routes)
			r := api.gdctl(t, "volume", "replace-brick", "gv0", old, "node4:/bricks/gv0/b3", "commit", "force")
			requireOK(t, r, "volume replace-brick: success: replace-brick commit force operation successful\n")
			calls := api.calls()
			require.Equal(t, "POST /v1/volumes/gv0/bricks/b3:replace", calls[len(calls)-1])
			reqs := api.requests()
			requireJSON(t, `{"new_brick":{"peer":"node4","path":"/bricks/gv0/b3"}}`, reqs[len(reqs)-1].Body)
		})
	}
	t.Run("usage", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		for _, args := range [][]string{
			{"volume", "replace-brick", "gv0", "b3", "node4:/b"},
			{"volume", "replace-brick", "gv0", "b3", "node4:/b", "commit"},
			{"volume", "replace-brick", "gv0", "b3", "node4:/b", "start", "force"},
			{"volume", "replace-brick", "gv0", "b3", "node4:b", "commit", "force"},
			{"volume", "replace-brick", "gv0", "node3:b3", "node4:/b", "commit", "force"},
		} {
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		}
		require.Empty(t, api.requests())
	})
	t.Run("server refuses", func(t *testing.T) {
		api := newFakeAPI(t, map[string]reply{
			"POST /v1/volumes/gv0/bricks/b3:replace": {status: http.StatusPreconditionFailed, body: `{"code":9,"message":"node4 is not in the pool","details":[]}`},
		})
		r := api.gdctl(t, "volume", "replace-brick", "gv0", "b3", "node4:/b", "commit", "force")
		require.Equal(t, ExitFailure, r.code)
		require.Equal(t, "volume replace-brick: failed: node4 is not in the pool\n", r.stderr)
	})
}
