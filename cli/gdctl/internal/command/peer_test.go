package command

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPeerProbe(t *testing.T) {
	for _, addr := range []string{"node2", "node2:24008", "10.0.0.2", "[fe80::1]:24008", "fe80::1"} {
		t.Run(addr, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{
				"POST /v1/peers": {status: http.StatusCreated, body: `{"id":"2","name":"node2","addresses":["node2"],"state":"CONNECTED"}`},
			})
			r := api.gdctl(t, "peer", "probe", addr)
			requireOK(t, r, "peer probe: success\n")
			reqs := api.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, "POST", reqs[0].Method)
			require.Equal(t, "/v1/peers", reqs[0].Path)
			require.Equal(t, "application/json", reqs[0].CType)
			require.NotEmpty(t, reqs[0].RequestID)
			requireJSON(t, mustJSON(t, map[string]string{"address": addr}), reqs[0].Body)
		})
	}
}

func TestPeerProbeUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no host":      {"peer", "probe"},
		"two hosts":    {"peer", "probe", "a", "b"},
		"bad port":     {"peer", "probe", "node2:http"},
		"port too big": {"peer", "probe", "node2:70000"},
		"empty host":   {"peer", "probe", ":24008"},
		"url":          {"peer", "probe", "http://node2"},
	} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code)
			require.Contains(t, r.stderr, "gdctl peer probe: ")
			require.Contains(t, r.stderr, "Usage: gdctl peer probe HOST[:PORT]")
			require.Empty(t, r.stdout)
			require.Empty(t, api.requests(), "no request on a usage error")
		})
	}
}

func TestPeerDetach(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"by name", []string{"peer", "detach", "node2"}, "DELETE /v1/peers/22222222-2222-2222-2222-222222222222"},
		{"by address", []string{"peer", "detach", "10.0.0.2"}, "DELETE /v1/peers/22222222-2222-2222-2222-222222222222"},
		{"by id", []string{"peer", "detach", "22222222-2222-2222-2222-222222222222"}, "DELETE /v1/peers/22222222-2222-2222-2222-222222222222"},
		{"force", []string{"peer", "detach", "node2", "force"}, "DELETE /v1/peers/22222222-2222-2222-2222-222222222222?force=true"},
		{"unknown goes as is", []string{"peer", "detach", "node9"}, "DELETE /v1/peers/node9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{
				"GET /v1/peers": {body: peersJSON},
				"DELETE /v1/peers/22222222-2222-2222-2222-222222222222": {body: `{}`},
				"DELETE /v1/peers/node9":                                {body: `{}`},
			})
			r := api.gdctl(t, tt.args...)
			requireOK(t, r, "peer detach: success\n")
			require.Equal(t, []string{"GET /v1/peers", tt.want}, api.calls())
			reqs := api.requests()
			require.Equal(t, reqs[0].RequestID, reqs[1].RequestID, "one request id per invocation")
		})
	}
}

func TestPeerDetachWithoutPeerList(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/peers":          {status: http.StatusNotImplemented, body: `{"code":12,"message":"not implemented","details":[]}`},
		"DELETE /v1/peers/node2": {body: `{}`},
	})
	requireOK(t, api.gdctl(t, "peer", "detach", "node2"), "peer detach: success\n")
}

func TestPeerDetachRefused(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/peers": {body: peersJSON},
		"DELETE /v1/peers/22222222-2222-2222-2222-222222222222": {status: http.StatusPreconditionFailed,
			body: `{"code":9,"message":"peer node2 holds bricks of volume gv0","details":[]}`},
	})
	r := api.gdctl(t, "peer", "detach", "node2")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "peer detach: failed: peer node2 holds bricks of volume gv0\n", r.stderr)
	require.Empty(t, r.stdout)
}

func TestPeerDetachUsage(t *testing.T) {
	api := newFakeAPI(t, nil)
	r := api.gdctl(t, "peer", "detach", "node2", "now")
	require.Equal(t, ExitUsage, r.code)
	require.Contains(t, r.stderr, `unexpected "now"`)
	require.Empty(t, api.requests())
}

func TestPeerStatus(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: peersJSON}})
	requireOK(t, api.gdctl(t, "peer", "status"), `Number of Peers: 2

Hostname: node1
Uuid: 11111111-1111-1111-1111-111111111111
State: Peer in Cluster (Connected)
Other names:
10.0.0.1

Hostname: node2
Uuid: 22222222-2222-2222-2222-222222222222
State: Peer in Cluster (Disconnected)
Other names:
10.0.0.2
node2.example.com
`)
	require.Equal(t, []string{"GET /v1/peers"}, api.calls())
}

func TestPeerStatusWrappedList(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: `{"peers":[{"id":"1","name":"solo","addresses":["solo"],"state":"CONNECTED"}]}`}})
	requireOK(t, api.gdctl(t, "peer", "status"), "Number of Peers: 1\n\nHostname: solo\nUuid: 1\nState: Peer in Cluster (Connected)\n")
}

func TestPeerStatusEmpty(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: `[]`}})
	requireOK(t, api.gdctl(t, "peer", "status"), "Number of Peers: 0\n")
}

func TestPoolList(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: peersJSON}})
	requireOK(t, api.gdctl(t, "pool", "list"), ""+
		"UUID                                  Hostname  State\n"+
		"11111111-1111-1111-1111-111111111111  node1     Connected\n"+
		"22222222-2222-2222-2222-222222222222  node2     Disconnected\n")
}
