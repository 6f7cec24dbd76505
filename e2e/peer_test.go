package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

type peerJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	State     string   `json:"state"`
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func probe(t *testing.T, c *framework.Cluster, addr string) (int, peerJSON, apiError) {
	t.Helper()
	code, body := c.Do("POST", "/v1/peers", fmt.Sprintf(`{"address": %q}`, addr))
	var p peerJSON
	var e apiError
	if code < 300 {
		require.NoError(t, json.Unmarshal(body, &p), string(body))
	} else {
		require.NoError(t, json.Unmarshal(body, &e), string(body))
	}
	return code, p, e
}

func peers(t *testing.T, c *framework.Cluster) map[string]peerJSON {
	t.Helper()
	code, body := c.Do("GET", "/v1/peers", "")
	require.Equal(t, 200, code, string(body))
	var list []peerJSON
	require.NoError(t, json.Unmarshal(body, &list))
	out := map[string]peerJSON{}
	for _, p := range list {
		out[p.Name] = p
	}
	return out
}

func nodeID(t *testing.T, n *framework.Node) string {
	t.Helper()
	var id struct {
		NodeID    string `json:"node_id"`
		ClusterID string `json:"cluster_id"`
	}
	b, err := os.ReadFile(filepath.Join(n.StateDir, "node.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &id))
	return id.NodeID
}

func TestPoolAddListRemove(t *testing.T) {
	c := framework.Start(t, 3)
	for _, n := range c.Nodes {
		var p peerJSON
		testutil.Await(t, 20*time.Second, func() bool {
			code, got, _ := probe(t, c, n.Addr)
			p = got
			return code == 201
		}, "probe %s", n.Addr)
		require.Equal(t, n.Host, p.Name)
		require.Equal(t, nodeID(t, n), p.ID, "the peer id is the node's own UUID")
		require.Equal(t, n.Host, p.Addresses[0])
	}
	// Probing a member again returns it.
	code, again, _ := probe(t, c, c.Nodes[0].Addr)
	require.Equal(t, 201, code)
	require.Equal(t, nodeID(t, c.Nodes[0]), again.ID)

	testutil.Await(t, 10*time.Second, func() bool {
		ps := peers(t, c)
		return len(ps) == 3 && ps["127.1.1.1"].State == "CONNECTED" && ps["127.1.1.2"].State == "CONNECTED" && ps["127.1.1.3"].State == "CONNECTED"
	}, "three connected peers")

	// Get by id, name and address.
	for _, ref := range []string{nodeID(t, c.Nodes[1]), "127.1.1.2"} {
		code, body := c.Do("GET", "/v1/peers/"+ref, "")
		require.Equal(t, 200, code, string(body))
	}

	code, body := c.Do("DELETE", "/v1/peers/127.1.1.3", "")
	require.Equal(t, 200, code, string(body))
	ps := peers(t, c)
	require.Len(t, ps, 2)
	require.NotContains(t, ps, "127.1.1.3")
	b, err := os.ReadFile(filepath.Join(c.Nodes[2].StateDir, "node.json"))
	require.NoError(t, err)
	require.NotContains(t, string(b), "cluster_id", "a detached node belongs to no cluster")
	code, _, _ = probe(t, c, c.Nodes[2].Addr)
	require.Equal(t, 201, code, "a detached node can be added again")
}

func TestPeerErrors(t *testing.T) {
	c := framework.Start(t, 2)
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, c.Nodes[0].Addr); return code == 201 }, "probe node1")

	start := time.Now()
	code, _, e := probe(t, c, "127.1.1.250:24999")
	require.Equal(t, 503, code)
	require.Contains(t, e.Message, "127.1.1.250:24999 is unreachable")
	t.Logf("unreachable address answered in %s", time.Since(start))

	for _, bad := range []string{"", "bad host!", "node1:99999", "a:b:c:d:e:g"} {
		code, _, e = probe(t, c, bad)
		require.Equal(t, 400, code, bad)
		require.Contains(t, e.Message, "address", bad)
	}

	code, body := c.Do("DELETE", "/v1/peers/nosuchpeer", "")
	require.Equal(t, 404, code)
	require.Contains(t, string(body), "peer nosuchpeer not found")

	// A node that holds bricks cannot be removed.
	id := nodeID(t, c.Nodes[0])
	store := framework.StoreClient(t, c)
	require.NoError(t, framework.CreateVolumeRecord(t.Context(), store, "gv0", id, c.Nodes[0].Host, "/bricks/gv0"))
	code, body = c.Do("DELETE", "/v1/peers/127.1.1.1", "")
	require.Equal(t, 412, code, string(body))
	require.Contains(t, string(body), "holds bricks of volume(s) gv0")
}

func TestNodeOfAnotherClusterRefused(t *testing.T) {
	a := framework.Start(t, 1)
	b := framework.StartAt(t, 1, 11)
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, b, b.Nodes[0].Addr); return code == 201 }, "cluster b takes its node")
	code, _, e := probe(t, a, b.Nodes[0].Addr)
	require.Equal(t, 412, code)
	require.Contains(t, e.Message, "already belongs to another cluster")
	require.Empty(t, peers(t, a))
}

func TestKilledNodeDisconnectsAndReturns(t *testing.T) {
	c := framework.Start(t, 2)
	for _, n := range c.Nodes {
		testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "probe")
	}
	testutil.Await(t, 10*time.Second, func() bool { return peers(t, c)["127.1.1.2"].State == "CONNECTED" }, "connected")
	c.Nodes[1].Servicemgr.Kill()
	killed := time.Now()
	testutil.Await(t, 10*time.Second, func() bool { return peers(t, c)["127.1.1.2"].State == "DISCONNECTED" }, "DISCONNECTED within 10 s of the kill")
	t.Logf("DISCONNECTED %s after the kill", time.Since(killed))
	require.Equal(t, "CONNECTED", peers(t, c)["127.1.1.1"].State)

	// It restarts at once (its old session has not expired): it takes its own id back.
	require.NoError(t, c.Nodes[1].Servicemgr.Start())
	back := time.Now()
	testutil.Await(t, 10*time.Second, func() bool { return peers(t, c)["127.1.1.2"].State == "CONNECTED" }, "CONNECTED within 10 s of the restart")
	t.Logf("CONNECTED %s after the restart", time.Since(back))

	// An offline node that holds no bricks can be removed.
	c.Nodes[1].Servicemgr.Kill()
	testutil.Await(t, 10*time.Second, func() bool { return peers(t, c)["127.1.1.2"].State == "DISCONNECTED" }, "disconnected again")
	code, body := c.Do("DELETE", "/v1/peers/127.1.1.2", "")
	require.Equal(t, 200, code, string(body))
	// When it comes back it sees it was detached and belongs to no cluster.
	require.NoError(t, c.Nodes[1].Servicemgr.Start())
	testutil.Await(t, 20*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(c.Nodes[1].StateDir, "node.json"))
		return !strings.Contains(string(b), "cluster_id")
	}, "a node detached while down forgets the cluster")
}

func TestDuplicateNodeIDRefused(t *testing.T) {
	c := framework.Start(t, 1)
	first := c.Nodes[0]
	testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, first.Addr); return code == 201 }, "node1 up")
	dup := c.AddNode(5, nodeID(t, first))
	err, log := dup.Servicemgr.Wait(30 * time.Second)
	require.Error(t, err, "the second node with the same id must not start")
	require.Contains(t, log, "node id "+nodeID(t, first)+" is already in use by the node \\\"node1\\\" at 127.1.1.1")
}

func TestGdctlPeerCommands(t *testing.T) {
	c := framework.Start(t, 2)
	ctx := t.Context()
	for _, n := range c.Nodes {
		testutil.Await(t, 20*time.Second, func() bool {
			out, _, code := c.Gdctl(ctx, "peer", "probe", n.Addr)
			return code == 0 && strings.Contains(out, "peer probe: success")
		}, "gdctl peer probe %s", n.Addr)
	}
	out, errOut, code := c.Gdctl(ctx, "pool", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "127.1.1.1")
	require.Contains(t, out, "127.1.1.2")
	require.Contains(t, out, "Connected")

	out, errOut, code = c.Gdctl(ctx, "peer", "status")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Number of Peers: 2")
	require.Contains(t, out, "State: Peer in Cluster (Connected)")

	out, _, code = c.Gdctl(ctx, "--json", "pool", "list")
	require.Equal(t, 0, code)
	var list []peerJSON
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.Len(t, list, 2)

	_, errOut, code = c.Gdctl(ctx, "peer", "probe", "127.1.1.250:24999")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "peer probe: failed: node at 127.1.1.250:24999 is unreachable")
	_, errOut, code = c.Gdctl(ctx, "peer", "detach", "nosuchpeer")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not found")
	_, _, code = c.Gdctl(ctx, "peer", "probe")
	require.Equal(t, 2, code, "usage error")

	out, errOut, code = c.Gdctl(ctx, "peer", "detach", "127.1.1.2")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "peer detach: success")
	// The orchestrator may still be finding the store it was started
	// beside (its calls fail fast with Unavailable meanwhile).
	testutil.Await(t, 10*time.Second, func() bool {
		out, _, _ = c.Gdctl(ctx, "volume", "list")
		return strings.Contains(out, "No volumes present in cluster")
	}, "volume list answers that there are no volumes")
}
