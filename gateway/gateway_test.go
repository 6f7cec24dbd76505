package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	commonv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/common/v1"
	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
	"github.com/glusterd-ng/glusterd-ng/services/orchestrator"
	"github.com/glusterd-ng/glusterd-ng/services/peer"
	"github.com/glusterd-ng/glusterd-ng/services/store"
)

var consul *testutil.Consul

func TestMain(m *testing.M) { os.Exit(testutil.MainWithConsul(m, &consul)) }

type env struct {
	base  string
	store storev1.StoreServiceClient
	kill  func()
}

// start runs a real store and a gateway in front of it, both against c.
func start(t *testing.T, c *testutil.Consul) *env {
	s, conn := store.TestServer(t, c.HTTPAddr, nil)
	pcfg := peer.DefaultConfig()
	pcfg.ConsulAddr, pcfg.Listen, pcfg.StoreTarget, pcfg.Register = c.HTTPAddr, "127.0.0.1:0", s.Addr(), false
	ps, err := peer.New(pcfg, zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	pctx, pcancel := context.WithCancel(context.Background())
	pdone := make(chan struct{})
	go func() { defer close(pdone); _ = ps.Run(pctx) }()
	t.Cleanup(func() { pcancel(); <-pdone })
	ocfg := orchestrator.DefaultConfig()
	ocfg.ConsulAddr, ocfg.Listen, ocfg.StoreTarget, ocfg.Register = c.HTTPAddr, "127.0.0.1:0", s.Addr(), false
	os, err := orchestrator.New(ocfg, zaptest.NewLogger(t), nil)
	require.NoError(t, err)
	octx, ocancel := context.WithCancel(context.Background())
	odone := make(chan struct{})
	go func() { defer close(odone); _ = os.Run(octx) }()
	t.Cleanup(func() { ocancel(); <-odone })
	cfg := DefaultConfig()
	cfg.ConsulAddr = c.HTTPAddr
	cfg.Listen = "127.0.0.1:0"
	cfg.StoreTarget = s.Addr()
	cfg.PeerTarget = ps.Addr()
	cfg.OrchestratorTarget = os.Addr()
	cfg.RequestTimeout = 20 * time.Second
	g, err := New(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &env{base: "http://" + g.Addr(), store: storev1.NewStoreServiceClient(conn)}
}

type apiError struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func do(t *testing.T, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NotEmpty(t, resp.Header.Get("X-Request-Id"), "every response has X-Request-Id")
	return resp, b
}

func requireError(t *testing.T, resp *http.Response, body []byte, httpStatus, code int, contains string) {
	t.Helper()
	require.Equal(t, httpStatus, resp.StatusCode, string(body))
	var e apiError
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, code, e.Code)
	require.Contains(t, e.Message, contains)
	require.NotNil(t, e.Details, "details is always present")
}

func TestHealthReadyOpenAPIMetrics(t *testing.T) {
	e := start(t, consul)
	resp, _ := do(t, "GET", e.base+"/healthz", "")
	require.Equal(t, 200, resp.StatusCode)
	testutil.Await(t, 10*time.Second, func() bool {
		resp, _ := do(t, "GET", e.base+"/readyz", "")
		return resp.StatusCode == 200
	}, "gateway becomes ready")

	resp, body := do(t, "GET", e.base+"/openapi.json", "")
	require.Equal(t, 200, resp.StatusCode)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/cluster", "/v1/peers", "/v1/volumes", "/v1/volumes/{volume}", "/v1/transactions/{id}"} {
		require.Contains(t, paths, p)
	}

	resp, body = do(t, "GET", e.base+"/metrics", "")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), "gateway_http_requests_total")
}

func TestRequestIDEchoed(t *testing.T) {
	e := start(t, consul)
	resp, _ := do(t, "GET", e.base+"/v1/volumes", "", "X-Request-Id", "abc-123")
	require.Equal(t, "abc-123", resp.Header.Get("X-Request-Id"))
	resp, _ = do(t, "GET", e.base+"/v1/volumes", "", "X-Request-Id", "bad id\twith junk")
	require.NotEqual(t, "bad id\twith junk", resp.Header.Get("X-Request-Id"))
}

func TestClusterAndReadRoutes(t *testing.T) {
	e := start(t, consul)
	var cluster map[string]any
	testutil.Await(t, 10*time.Second, func() bool {
		resp, body := do(t, "GET", e.base+"/v1/cluster", "")
		if resp.StatusCode != 200 {
			return false
		}
		require.NoError(t, json.Unmarshal(body, &cluster))
		return true
	}, "cluster record is served")
	require.NotEmpty(t, cluster["id"])
	require.Equal(t, "gluster", cluster["name"])
	require.NotEmpty(t, cluster["consul_leader"])
	require.Len(t, cluster["consul_servers"], 1)

	resp, body := do(t, "GET", e.base+"/v1/volumes", "")
	require.Equal(t, 200, resp.StatusCode)
	require.JSONEq(t, "[]", string(body))

	ctx := t.Context()
	_, err := e.store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: &commonv1.Volume{
		Name: "gv0", Type: commonv1.VolumeType_REPLICATE, ReplicaCount: 3, State: commonv1.VolumeState_STARTED,
		Options: map[string]string{"performance.cache-size": "64MB"},
	}}}})
	require.NoError(t, err)
	peerID := "7c1f7b8e-3d2a-4d0e-9a5b-2f6f0c9d1e21"
	_, err = e.store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Peer{Peer: &commonv1.Peer{
		Id: peerID, Name: "node1", Addresses: []string{"127.1.1.1"},
	}}}})
	require.NoError(t, err)

	resp, body = do(t, "GET", e.base+"/v1/volumes/gv0", "")
	require.Equal(t, 200, resp.StatusCode, string(body))
	var v map[string]any
	require.NoError(t, json.Unmarshal(body, &v))
	require.Equal(t, "gv0", v["name"])
	require.Equal(t, "REPLICATE", v["type"])
	require.Equal(t, "STARTED", v["state"])
	require.EqualValues(t, 3, v["replica_count"])
	require.NotEmpty(t, v["version"])
	require.NotEmpty(t, v["created_at"])

	resp, body = do(t, "GET", e.base+"/v1/volumes", "")
	require.Equal(t, 200, resp.StatusCode)
	var vs []map[string]any
	require.NoError(t, json.Unmarshal(body, &vs))
	require.Len(t, vs, 1)

	for _, p := range []string{peerID, "node1"} {
		resp, body = do(t, "GET", e.base+"/v1/peers/"+p, "")
		require.Equal(t, 200, resp.StatusCode, string(body))
		var got map[string]any
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, []any{"127.1.1.1"}, got["addresses"])
		require.Equal(t, peerID, got["id"])
		require.Equal(t, "DISCONNECTED", got["state"], "no servicemgr of that node is up")
	}
	resp, body = do(t, "GET", e.base+"/v1/peers", "")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), peerID)
}

func TestErrorMapping(t *testing.T) {
	e := start(t, consul)
	resp, body := do(t, "GET", e.base+"/v1/volumes/nope", "")
	requireError(t, resp, body, 404, 5, "volume nope not found")
	resp, body = do(t, "GET", e.base+"/v1/volumes/-bad", "")
	requireError(t, resp, body, 400, 3, `volume: "-bad" must not start with "-"`)
	resp, body = do(t, "GET", e.base+"/v1/volumes/"+strings.Repeat("x", 65), "")
	requireError(t, resp, body, 400, 3, "limit is 64")
	resp, body = do(t, "GET", e.base+"/v1/volumes/a..b", "")
	requireError(t, resp, body, 400, 3, `".."`)
	resp, body = do(t, "GET", e.base+"/v1/peers/ghost", "")
	requireError(t, resp, body, 404, 5, "peer ghost not found")
	resp, body = do(t, "GET", e.base+"/v1/nothing-here", "")
	requireError(t, resp, body, 404, 5, "no route")
	resp, body = do(t, "POST", e.base+"/v1/volumes", `{"name":"gv1"}`)
	requireError(t, resp, body, 400, 3, "bricks: at least one brick is needed")
	resp, body = do(t, "POST", e.base+"/v1/volumes", `{"name":"gv1","bricks":[{"peer":"ghost","path":"/b/1"}]}`)
	requireError(t, resp, body, 404, 5, "ghost")
	resp, body = do(t, "POST", e.base+"/v1/peers", `{"address":"bad host!"}`)
	requireError(t, resp, body, 400, 3, "neither an IP address nor a valid host name")
	resp, body = do(t, "DELETE", e.base+"/v1/peers/ghost", "")
	requireError(t, resp, body, 404, 5, "peer ghost not found")
}

func TestConsulDownIs503(t *testing.T) {
	own := testutil.NewConsul(t)
	e := start(t, own)
	testutil.Await(t, 10*time.Second, func() bool {
		resp, _ := do(t, "GET", e.base+"/v1/cluster", "")
		return resp.StatusCode == 200
	}, "cluster served")
	own.Kill()
	resp, body := do(t, "GET", e.base+"/v1/volumes", "")
	requireError(t, resp, body, 503, 14, "Consul unreachable")
	resp, body = do(t, "GET", e.base+"/readyz", "")
	require.Equal(t, 503, resp.StatusCode, string(body))
	require.NoError(t, own.Start())
	testutil.Await(t, 20*time.Second, func() bool {
		resp, _ := do(t, "GET", e.base+"/v1/volumes", "")
		return resp.StatusCode == 200
	}, "served again once Consul is back")
}

func TestVolumeStatusAndOptions(t *testing.T) {
	e := start(t, consul)
	ctx := t.Context()
	node := "5a1c0d2e-7b3f-4c9a-8e21-6f0d9b4a3c12"
	_, err := e.store.Create(ctx, &storev1.CreateRequest{Resource: &storev1.Resource{Body: &storev1.Resource_Volume{Volume: &commonv1.Volume{
		Name: "gv1", Type: commonv1.VolumeType_DISTRIBUTE, State: commonv1.VolumeState_STARTED,
		Options: map[string]string{"performance.cache-size": "64MB"},
		Subvolumes: []*commonv1.Subvolume{
			{Bricks: []*commonv1.Brick{{Id: "b1", PeerId: node, Host: "127.1.1.1", Path: "/bricks/gv1/b1"}}},
			{Bricks: []*commonv1.Brick{{Id: "b2", PeerId: node, Host: "127.1.1.1", Path: "/bricks/gv1/b2"}}},
		},
	}}}})
	require.NoError(t, err)
	// The node's portmap recorded b1 signing in; b2 never did.
	sess, err := e.store.OpenSession(ctx, &storev1.OpenSessionRequest{NodeId: node, TtlSeconds: 10})
	require.NoError(t, err)
	_, err = e.store.Create(ctx, &storev1.CreateRequest{SessionId: sess.SessionId, Resource: &storev1.Resource{Body: &storev1.Resource_Runtime{Runtime: &commonv1.RuntimeEntry{
		NodeId: node, Name: "port-1", Kind: "port", BrickPath: "/bricks/gv1/b1", Port: 49200, Pid: 777, Online: true}}}})
	require.NoError(t, err)

	resp, body := do(t, "GET", e.base+"/v1/volumes/gv1/status", "")
	require.Equal(t, 200, resp.StatusCode, string(body))
	var st struct {
		Bricks []struct {
			ID     string `json:"id"`
			Port   int    `json:"port"`
			Pid    int    `json:"pid"`
			Online bool   `json:"online"`
		} `json:"bricks"`
	}
	require.NoError(t, json.Unmarshal(body, &st))
	require.Len(t, st.Bricks, 2)
	require.Equal(t, 49200, st.Bricks[0].Port)
	require.Equal(t, 777, st.Bricks[0].Pid)
	require.True(t, st.Bricks[0].Online)
	require.False(t, st.Bricks[1].Online, "a brick that never signed in is offline")

	resp, body = do(t, "GET", e.base+"/v1/volumes/gv1/options", "")
	require.Equal(t, 200, resp.StatusCode, string(body))
	var opts struct {
		Options []struct {
			Key, Value, Default string
			Set                 bool
		} `json:"options"`
	}
	require.NoError(t, json.Unmarshal(body, &opts))
	require.Greater(t, len(opts.Options), 300)
	found := 0
	for _, o := range opts.Options {
		switch o.Key {
		case "performance.cache-size":
			require.Equal(t, "64MB", o.Value)
			require.True(t, o.Set)
			found++
		case "network.ping-timeout":
			require.Equal(t, "42", o.Value)
			require.Equal(t, "42", o.Default)
			require.False(t, o.Set)
			found++
		}
	}
	require.Equal(t, 2, found)
	resp, body = do(t, "GET", e.base+"/v1/volumes/nope/status", "")
	requireError(t, resp, body, 404, 5, "volume nope not found")
}
