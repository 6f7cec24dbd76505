package command

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const gv0OptionsJSON = `{"options": [
  {"key": "cluster.granular-entry-heal", "value": "on", "default": "off", "set": true},
  {"key": "performance.cache-size", "value": "64MB", "default": "32MB", "set": true},
  {"key": "nfs.disable", "value": "", "default": "", "set": false}
]}`

func TestVolumeSet(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"PATCH /v1/volumes/gv0/options": {body: `{"volume":` + gv0JSON + `}`}})
	requireOK(t, api.gdctl(t, "volume", "set", "gv0", "performance.cache-size", "128MB"), "volume set: success\n")
	require.Equal(t, []string{"PATCH /v1/volumes/gv0/options"}, api.calls())
	requireJSON(t, `{"options":{"performance.cache-size":"128MB"}}`, api.requests()[0].Body)

	pairs := newFakeAPI(t, map[string]reply{"PATCH /v1/volumes/gv0/options": {body: `{}`}})
	requireOK(t, pairs.gdctl(t, "volume", "set", "gv0", "a.b", "1", "c.d", "two words"), "volume set: success\n")
	requireJSON(t, `{"options":{"a.b":"1","c.d":"two words"}}`, pairs.requests()[0].Body)
}

func TestVolumeSetUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no value":      {"volume", "set", "gv0", "a.b"},
		"odd pairs":     {"volume", "set", "gv0", "a.b", "1", "c.d"},
		"only the name": {"volume", "set", "gv0"},
	} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code)
			require.Contains(t, r.stderr, "Usage: gdctl volume set NAME KEY VALUE [KEY VALUE]...")
			require.Empty(t, api.requests())
		})
	}
}

func TestVolumeSetRejected(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"PATCH /v1/volumes/gv0/options": {status: http.StatusBadRequest,
		body: `{"code":3,"message":"option performance.cache-size: \"lots\" is not a size","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"options","description":"x"}]}]}`}})
	r := api.gdctl(t, "volume", "set", "gv0", "performance.cache-size", "lots")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume set: failed: option performance.cache-size: \"lots\" is not a size\n", r.stderr)
}

func TestVolumeGet(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes/gv0/options": {body: gv0OptionsJSON}})
	requireOK(t, api.gdctl(t, "volume", "get", "gv0", "all"), ""+
		"Option                       Value\n"+
		"------                       -----\n"+
		"cluster.granular-entry-heal  on\n"+
		"performance.cache-size       64MB\n"+
		"nfs.disable                  (null)\n")
	requireOK(t, api.gdctl(t, "volume", "get", "gv0", "performance.cache-size"), ""+
		"Option                  Value\n"+
		"------                  -----\n"+
		"performance.cache-size  64MB\n")
	require.Equal(t, []string{"GET /v1/volumes/gv0/options", "GET /v1/volumes/gv0/options"}, api.calls())

	r := api.gdctl(t, "volume", "get", "gv0", "no.such-key")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume get: failed: \"no.such-key\" is not an option of volume gv0\n", r.stderr)
	require.Empty(t, r.stdout)

	r = api.gdctl(t, "volume", "get", "gv0")
	require.Equal(t, ExitUsage, r.code)
}

func TestVolumeReset(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"DELETE /v1/volumes/gv0/options/performance.cache-size": {body: `{}`}})
	requireOK(t, api.gdctl(t, "volume", "reset", "gv0", "performance.cache-size"), "volume reset: success: reset volume successful\n")
	require.Equal(t, []string{"DELETE /v1/volumes/gv0/options/performance.cache-size"}, api.calls())
	require.Empty(t, api.requests()[0].Body)
}
