package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orchestratorv1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/orchestrator/v1"

	"github.com/glusterd-ng/glusterd-ng/e2e/framework"
	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// pool starts n nodes and adds them all to the pool.
func pool(t *testing.T, o framework.Options) *framework.Cluster {
	if os.Geteuid() != 0 {
		t.Skip("bricks need root (trusted extended attributes)")
	}
	framework.EnsureGluster(t)
	c := framework.StartWith(t, o)
	for _, n := range c.Nodes {
		testutil.Await(t, 20*time.Second, func() bool { code, _, _ := probe(t, c, n.Addr); return code == 201 }, "node %s in the pool", n.Host)
		awaitPortmap(t, n)
	}
	testutil.Await(t, 20*time.Second, func() bool { code, _ := c.Do("GET", "/v1/transactions", ""); return code == 200 }, "the orchestrator answers")
	return c
}

// brickList spreads count bricks over the nodes, round robin, under dir.
func brickList(c *framework.Cluster, dir string, count int) string {
	var b []string
	for i := 0; i < count; i++ {
		n := c.Nodes[i%len(c.Nodes)]
		b = append(b, fmt.Sprintf(`{"peer":%q,"path":%q}`, n.Host, filepath.Join(dir, fmt.Sprintf("b%d", i+1))))
	}
	return "[" + strings.Join(b, ",") + "]"
}

type txnJSON struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Error string `json:"error"`
	Steps []struct {
		Name   string            `json:"name"`
		NodeID string            `json:"node_id"`
		State  string            `json:"state"`
		Args   map[string]string `json:"args"`
	} `json:"steps"`
}

func transaction(t *testing.T, c *framework.Cluster, id string) txnJSON {
	t.Helper()
	code, body := c.Do("GET", "/v1/transactions/"+id, "")
	require.Equal(t, 200, code, string(body))
	var out txnJSON
	require.NoError(t, json.Unmarshal(body, &out))
	return out
}

// transactions reads GET /v1/transactions (newest first).
func transactions(t *testing.T, c *framework.Cluster) []txnJSON {
	t.Helper()
	code, body := c.Do("GET", "/v1/transactions", "")
	require.Equal(t, 200, code, string(body))
	var out []txnJSON
	require.NoError(t, json.Unmarshal(body, &out))
	return out
}

func TestVolumeLifecycleEveryTypeOnThreeNodes(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 3})
	ctx := t.Context()
	for _, tc := range []struct {
		name, layout string
		bricks       int
	}{
		{"dist", ``, 3},
		{"rep3", `"replica_count":3,`, 3},
		{"arb", `"replica_count":3,"arbiter_count":1,`, 3},
		{"disp", `"disperse_count":3,"redundancy_count":1,`, 3},
		{"drep", `"replica_count":3,`, 6},
		{"ddisp", `"disperse_count":3,"redundancy_count":1,`, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := fmt.Sprintf(`{"name":%q,%s"bricks":%s,"force":true}`, tc.name, tc.layout, brickList(c, dir, tc.bricks))
			code, resp := c.Do("POST", "/v1/volumes", body)
			require.Equal(t, 201, code, string(resp))
			var created struct {
				Volume struct {
					ID    string `json:"id"`
					Type  string `json:"type"`
					State string `json:"state"`
				} `json:"volume"`
				TransactionID string `json:"transaction_id"`
			}
			require.NoError(t, json.Unmarshal(resp, &created))
			require.Equal(t, "CREATED", created.Volume.State)
			tx := transaction(t, c, created.TransactionID)
			require.Equal(t, "SUCCEEDED", tx.State)
			require.Len(t, tx.Steps, tc.bricks, "one prepare step per brick")

			code, resp = c.Do("POST", "/v1/volumes/"+tc.name+":start", `{}`)
			require.Equal(t, 200, code, string(resp))
			code, resp = c.Do("GET", "/v1/volumes/"+tc.name+"/status", "")
			require.Equal(t, 200, code)
			require.Equal(t, tc.bricks, bricksOnline(resp), "start returns once every brick is online: %s", resp)

			m, err := framework.Mount(ctx, t, c.Nodes[0].Host, 0, tc.name, filepath.Join(t.TempDir(), "m"))
			require.NoError(t, err)
			sums, err := framework.WriteFiles(m.Mountpoint, 30, 32<<10)
			require.NoError(t, err)
			require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))

			// An option changed while mounted: the client switches to a graph without quick-read.
			require.Contains(t, m.ActiveGraph(), "performance/quick-read")
			code, resp = c.Do("PATCH", "/v1/volumes/"+tc.name+"/options", `{"options":{"performance.quick-read":"off"}}`)
			require.Equal(t, 200, code, string(resp))
			testutil.Await(t, 30*time.Second, func() bool {
				_, _ = os.ReadDir(m.Mountpoint)
				return !strings.Contains(m.ActiveGraph(), "performance/quick-read")
			}, "the mounted client switched to the new graph")
			require.NoError(t, framework.VerifyFiles(m.Mountpoint, sums))
			require.NoError(t, m.Unmount())

			code, resp = c.Do("POST", "/v1/volumes/"+tc.name+":stop", `{}`)
			require.Equal(t, 200, code, string(resp))
			code, resp = c.Do("DELETE", "/v1/volumes/"+tc.name+"?cleanup_bricks=true", "")
			require.Equal(t, 200, code, string(resp))
			var deleted struct {
				TransactionID string `json:"transaction_id"`
			}
			require.NoError(t, json.Unmarshal(resp, &deleted))
			dt := transaction(t, c, deleted.TransactionID)
			require.Len(t, dt.Steps, tc.bricks, "one cleanup step per brick: %+v", dt)
			for _, s := range dt.Steps {
				require.Equal(t, "STEP_DONE", s.State, "%+v", dt)
			}
			code, _ = c.Do("GET", "/v1/volumes/"+tc.name, "")
			require.Equal(t, 404, code)
			for i := 0; i < tc.bricks; i++ {
				p := filepath.Join(dir, fmt.Sprintf("b%d", i+1))
				id, err := framework.Getxattr(p, "trusted.glusterfs.volume-id")
				require.NoError(t, err)
				require.Empty(t, id, "brick %s keeps no volume-id after delete with cleanup", p)
				_, err = os.Stat(filepath.Join(p, ".glusterfs"))
				require.True(t, os.IsNotExist(err), "brick %s keeps no .glusterfs", p)
			}
		})
	}
}

// bricksOnline counts the online bricks in a volume status body.
func bricksOnline(body []byte) int {
	var st struct {
		Bricks []struct {
			Online bool `json:"online"`
		} `json:"bricks"`
	}
	_ = json.Unmarshal(body, &st)
	n := 0
	for _, b := range st.Bricks {
		if b.Online {
			n++
		}
	}
	return n
}

// leftovers lists what a failed create may have left in dir: brick
// directories, with their volume-id mark if any.
func leftovers(dir string) []string {
	var out []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		what := p
		if id, err := framework.Getxattr(p, "trusted.glusterfs.volume-id"); err == nil && len(id) > 0 {
			what += " (marked)"
		}
		out = append(out, what)
	}
	return out
}

func TestCreateRollsBackWhenANodeIsDown(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 3})
	c.Nodes[2].Servicemgr.Stop()
	dir := t.TempDir()
	code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","replica_count":3,"bricks":%s,"force":true}`, brickList(c, dir, 3)))
	require.Equal(t, 503, code, string(resp))
	require.Contains(t, string(resp), "is disconnected")
	require.Empty(t, leftovers(dir), "no directories or marks left on the other nodes")
	code, _ = c.Do("GET", "/v1/volumes/gv0", "")
	require.Equal(t, 404, code)

	l := transactions(t, c)
	require.NotEmpty(t, l)
	tx := l[0]
	require.Equal(t, "ROLLED_BACK", tx.State)
	require.Contains(t, tx.Error, "is disconnected")
	states := map[string]int{}
	for _, s := range tx.Steps {
		states[s.State]++
	}
	require.Equal(t, map[string]int{"STEP_UNDONE": 2, "STEP_FAILED": 1}, states,
		"both prepared bricks undone; the unreachable node's step failed without effect: %+v", tx.Steps)
}

func TestConcurrentCreatesOfOneName(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 1})
	var wg sync.WaitGroup
	codes := make([]int, 2)
	dirs := []string{t.TempDir(), t.TempDir()}
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"same","bricks":%s,"force":true}`, brickList(c, dirs[i], 2)))
		}()
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, code := range codes {
		switch code {
		case 201:
			ok++
		case 409:
			conflict++
		}
	}
	require.Equal(t, 1, ok, "exactly one create succeeds: %v", codes)
	require.Equal(t, 1, conflict, "the other gets 409: %v", codes)
	// The loser left nothing behind.
	marked := 0
	for _, d := range dirs {
		for _, l := range leftovers(d) {
			if strings.HasSuffix(l, "(marked)") {
				marked++
			}
		}
	}
	require.Equal(t, 2, marked, "only the winner's two bricks are marked")
}

func TestOrchestratorKilledMidCreateIsRolledBack(t *testing.T) {
	for _, point := range []string{"before-step-1", "after-step-1", "after-step-2", "before-commit"} {
		t.Run(point, func(t *testing.T) {
			c := pool(t, framework.Options{Nodes: 2, OrchestratorArgs: []string{"--failpoints=volume.create/" + point + "=crash"}})
			dir := t.TempDir()
			code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","replica_count":2,"bricks":%s,"force":true}`, brickList(c, dir, 2)))
			require.NotEqual(t, 201, code, string(resp))
			t.Logf("create answered %d %s", code, resp)
			err, _ := c.Orchestrator.Wait(10 * time.Second)
			require.ErrorContains(t, err, "exit status 17", "the orchestrator crashed at the failpoint")
			// Restarted without the failpoint, it finds the transaction and rolls it back.
			c.Orchestrator.SetArgs(removeFailpoints(c.Orchestrator.Args()))
			require.NoError(t, c.Orchestrator.Start())
			var tx txnJSON
			var last []byte
			testutil.Await(t, 60*time.Second, func() bool {
				code, body := c.Do("GET", "/v1/transactions", "")
				last = body
				var l []txnJSON
				if code != 200 || json.Unmarshal(body, &l) != nil || len(l) == 0 {
					return false
				}
				tx = l[0]
				return tx.State == "ROLLED_BACK"
			}, "the transaction rolled back by recovery: %+v (last answer %s)", &tx, &last)
			require.Empty(t, leftovers(dir), "nodes consistent: nothing left")
			code, _ = c.Do("GET", "/v1/volumes/gv0", "")
			require.Equal(t, 404, code, "config consistent: no volume")
			// And the name is free again.
			code, resp = c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","replica_count":2,"bricks":%s,"force":true}`, brickList(c, dir, 2)))
			require.Equal(t, 201, code, string(resp))
		})
	}
}

func removeFailpoints(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--failpoints=") {
			out = append(out, a)
		}
	}
	return out
}

func TestTwoOrchestratorReplicasAreSerialized(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 1})
	_, second := c.AddOrchestrator("orchestratord-2")
	code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","bricks":%s,"force":true}`, brickList(c, t.TempDir(), 1)))
	require.Equal(t, 201, code, string(resp))

	var clients []orchestratorv1.VolumeServiceClient
	for _, addr := range []string{c.OrchestratorAddr, second} {
		conn, err := grpcx.Dial(addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		clients = append(clients, orchestratorv1.NewVolumeServiceClient(conn))
	}
	keys := []string{"performance.quick-read", "performance.io-cache", "performance.read-ahead", "performance.stat-prefetch",
		"performance.write-behind", "performance.open-behind", "performance.readdir-ahead", "performance.nl-cache"}
	want := map[string]string{"performance.quick-read": "off", "performance.io-cache": "on", "performance.read-ahead": "on",
		"performance.stat-prefetch": "off", "performance.write-behind": "off", "performance.open-behind": "off",
		"performance.readdir-ahead": "on", "performance.nl-cache": "on"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := 0
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[i%2]
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				_, err := cl.SetVolumeOptions(t.Context(), &orchestratorv1.SetVolumeOptionsRequest{Volume: "gv0", Options: map[string]string{k: want[k]}})
				if err == nil {
					return
				}
				st := status.Convert(err)
				if !assert.Contains(t, []codes.Code{codes.AlreadyExists, codes.Aborted}, st.Code(), "only 'busy' or 'changed underneath' refusals: %v", err) {
					return
				}
				mu.Lock()
				busy++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("set %s never succeeded", k)
		}()
	}
	wg.Wait()
	t.Logf("8 concurrent sets through two replicas: %d refused as busy and retried", busy)

	// No update was lost: every key is set.
	code, body := c.Do("GET", "/v1/volumes/gv0", "")
	require.Equal(t, 200, code)
	var vol struct {
		Options map[string]string `json:"options"`
	}
	require.NoError(t, json.Unmarshal(body, &vol))
	for k, v := range want {
		require.Equal(t, v, vol.Options[k], "option %s", k)
	}
	// And the transactions that changed the volume never overlapped.
	type span struct{ from, to time.Time }
	var spans []span
	for _, tx := range transactionsFull(t, c) {
		if tx.Operation == "volume.set" && tx.State == "SUCCEEDED" {
			spans = append(spans, span{tx.StartedAt, tx.FinishedAt})
		}
	}
	require.Len(t, spans, len(keys))
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	for i := 1; i < len(spans); i++ {
		require.False(t, spans[i].from.Before(spans[i-1].to), "volume.set transactions %d and %d overlap", i-1, i)
	}
}

// transactionsFull reads GET /v1/transactions with times and operations.
func transactionsFull(t *testing.T, c *framework.Cluster) []struct {
	Operation  string    `json:"operation"`
	State      string    `json:"state"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
} {
	t.Helper()
	code, body := c.Do("GET", "/v1/transactions", "")
	require.Equal(t, 200, code, string(body))
	var out []struct {
		Operation  string    `json:"operation"`
		State      string    `json:"state"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	return out
}

// otherServers are the Consul servers the services do not talk to, the leader first.
func otherServers(c *framework.Cluster) []*testutil.Consul {
	leader := testutil.Leader(c.ConsulServers)
	out := []*testutil.Consul{}
	if leader != nil && leader != c.Consul {
		out = append(out, leader)
	}
	for _, s := range c.ConsulServers {
		if s != c.Consul && s != leader {
			out = append(out, s)
		}
	}
	return out
}

func TestConsulLeaderChangeMidTransaction(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 2, ConsulServers: 3})
	dir := t.TempDir()
	leader := testutil.Leader(c.ConsulServers)
	require.NotNil(t, leader)
	if leader == c.Consul {
		t.Skip("the services' own Consul agent became the leader; this test kills a leader they do not talk to")
	}
	// A create of 16 bricks (32 journal writes and more) is under way when the leader dies.
	code, resp := c.Do("POST", "/v1/volumes?async=true", fmt.Sprintf(`{"name":"gv0","replica_count":2,"bricks":%s,"force":true}`, brickList(c, dir, 16)))
	require.Equal(t, 202, code, string(resp))
	var accepted struct {
		TransactionID string `json:"transaction_id"`
	}
	require.NoError(t, json.Unmarshal(resp, &accepted))
	leader.Kill()
	killedAt := time.Now()

	var tx txnJSON
	testutil.Await(t, 90*time.Second, func() bool {
		code, body := c.Do("GET", "/v1/transactions/"+accepted.TransactionID, "")
		if code != 200 || json.Unmarshal(body, &tx) != nil {
			return false
		}
		return tx.State == "SUCCEEDED" || tx.State == "ROLLED_BACK"
	}, "the transaction finished despite the leader change: %+v", &tx)
	t.Logf("transaction %s %s %s after the leader was killed (error: %q)", tx.ID, tx.State, time.Since(killedAt).Round(time.Millisecond), tx.Error)

	// Config and nodes agree, whichever way it ended.
	code, _ = c.Do("GET", "/v1/volumes/gv0", "")
	marked := 0
	for _, l := range leftovers(dir) {
		if strings.HasSuffix(l, "(marked)") {
			marked++
		}
	}
	if tx.State == "SUCCEEDED" {
		require.Equal(t, 200, code)
		require.Equal(t, 16, marked, "every brick prepared")
	} else {
		require.Equal(t, 404, code)
		require.Empty(t, leftovers(dir), "nothing left after the rollback")
	}
	require.NoError(t, leader.Start())
}

func TestNoQuorumWritesFailFast(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 1, ConsulServers: 3})
	code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","bricks":%s,"force":true}`, brickList(c, t.TempDir(), 1)))
	require.Equal(t, 201, code, string(resp))
	code, resp = c.Do("PATCH", "/v1/volumes/gv0/options", `{"options":{"performance.io-cache":"on"}}`)
	require.Equal(t, 200, code, "with quorum, the create's lock is free again: %s", resp)
	for _, s := range otherServers(c) {
		s.Kill()
	}
	// Every write is refused with a clear "no quorum" (503), not a hang to the deadline.
	var last []byte
	testutil.Await(t, 30*time.Second, func() bool {
		code, body := c.Do("PATCH", "/v1/volumes/gv0/options", `{"options":{"performance.quick-read":"off"}}`)
		last = body
		return code == 503 && strings.Contains(string(body), "no quorum")
	}, "writes refused for no quorum: %s", &last)
	// Reads answer, saying how stale they may be.
	code, hdr, body := c.DoHeader("GET", "/v1/volumes/gv0", "")
	require.Equal(t, 200, code, string(body))
	require.NotEmpty(t, hdr.Get("X-Stale-Ms"), "a read without a Consul leader says how stale it may be")
	t.Logf("GET /v1/volumes/gv0 without a leader: 200, X-Stale-Ms: %s", hdr.Get("X-Stale-Ms"))
	for _, req := range [][3]string{
		{"POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv1","bricks":%s,"force":true}`, brickList(c, t.TempDir(), 1))},
		{"POST", "/v1/volumes/gv0:start", `{}`},
		{"DELETE", "/v1/volumes/gv0", ""},
	} {
		start := time.Now()
		code, body := c.Do(req[0], req[1], req[2])
		require.Equal(t, 503, code, "%s %s: %s", req[0], req[1], body)
		require.Contains(t, string(body), "no quorum", "%s %s", req[0], req[1])
		t.Logf("%s %s refused in %s: %s", req[0], req[1], time.Since(start).Round(time.Millisecond), body)
	}
}

func TestGdctlVolumeLifecycle(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 2, First: 41})
	ctx := t.Context()
	dir := t.TempDir()
	gd := func(args ...string) string {
		t.Helper()
		out, errOut, code := c.Gdctl(ctx, args...)
		require.Equal(t, 0, code, "gdctl %s: %s%s", strings.Join(args, " "), out, errOut)
		return out
	}
	out := gd("volume", "create", "gv0", "replica", "2", c.Nodes[0].Host+":"+dir+"/b1", c.Nodes[1].Host+":"+dir+"/b2", "force")
	require.Contains(t, out, "volume create: gv0: success")
	out = gd("volume", "start", "gv0")
	require.Contains(t, out, "volume start: gv0: success")
	out = gd("volume", "info", "gv0")
	require.Contains(t, out, "Type: Replicate")
	require.Contains(t, out, "Status: Started")
	require.Contains(t, out, "Number of Bricks: 1 x 2 = 2")
	out = gd("volume", "status", "gv0")
	online := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Brick ") && strings.Contains(line, " Y ") {
			online++
		}
	}
	require.Equal(t, 2, online, "both bricks online: %s", out)
	require.Contains(t, out, "Self-heal Daemon on")
	gd("volume", "set", "gv0", "performance.quick-read", "off")
	out = gd("volume", "get", "gv0", "performance.quick-read")
	require.Contains(t, out, "off")
	gd("volume", "reset", "gv0", "performance.quick-read")
	out = gd("volume", "get", "gv0", "performance.quick-read")
	require.Contains(t, out, "on")

	// gluster's errors, from the server.
	_, errOut, code := c.Gdctl(ctx, "volume", "set", "gv0", "performance.quick-reed", "off")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "performance.quick-read", "an unknown key names close matches")
	_, errOut, code = c.Gdctl(ctx, "volume", "delete", "gv0", "--yes")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stop it first")

	out = gd("volume", "stop", "gv0", "--yes")
	require.Contains(t, out, "volume stop: gv0: success")
	out = gd("volume", "delete", "gv0", "--yes")
	require.Contains(t, out, "volume delete: gv0: success")
	out = gd("volume", "list")
	require.NotContains(t, out, "gv0")
}

func TestOrchestratorKilledMidStartAndDelete(t *testing.T) {
	c := pool(t, framework.Options{Nodes: 2, OrchestratorArgs: []string{
		"--failpoints=volume.start/before-commit=crash,volume.delete/after-commit=crash"}})
	dir := t.TempDir()
	code, resp := c.Do("POST", "/v1/volumes", fmt.Sprintf(`{"name":"gv0","replica_count":2,"bricks":%s,"force":true}`, brickList(c, dir, 2)))
	require.Equal(t, 201, code, string(resp))
	restart := func() {
		t.Helper()
		err, _ := c.Orchestrator.Wait(10 * time.Second)
		require.ErrorContains(t, err, "exit status 17", "the orchestrator crashed at the failpoint")
		require.NoError(t, c.Orchestrator.Start())
	}
	awaitTxn := func(op, state string) txnJSON {
		t.Helper()
		var tx txnJSON
		testutil.Await(t, 60*time.Second, func() bool {
			code, body := c.Do("GET", "/v1/transactions", "")
			var l []struct {
				txnJSON
				Operation string `json:"operation"`
			}
			if code != 200 || json.Unmarshal(body, &l) != nil {
				return false // the restarted orchestrator is not up yet
			}
			for _, x := range l {
				if x.State == state && x.Operation == op {
					tx = x.txnJSON
					return true
				}
			}
			return false
		}, "%s %s by recovery", op, state)
		return tx
	}

	// Killed before start's commit: rolled back, the volume stays CREATED.
	code, _ = c.Do("POST", "/v1/volumes/gv0:start", `{}`)
	require.NotEqual(t, 200, code)
	restart()
	awaitTxn("volume.start", "ROLLED_BACK")
	code, body := c.Do("GET", "/v1/volumes/gv0", "")
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `"state":"CREATED"`)

	// Killed after delete's commit: the record is gone, and recovery rolls
	// the brick cleanup forward.
	code, _ = c.Do("DELETE", "/v1/volumes/gv0?cleanup_bricks=true", "")
	require.NotEqual(t, 200, code)
	restart()
	tx := awaitTxn("volume.delete", "SUCCEEDED")
	testutil.Await(t, 60*time.Second, func() bool {
		tx = transaction(t, c, tx.ID)
		for _, s := range tx.Steps {
			if s.State != "STEP_DONE" {
				return false
			}
		}
		return true
	}, "cleanup steps rolled forward: %+v", &tx)
	code, _ = c.Do("GET", "/v1/volumes/gv0", "")
	require.Equal(t, 404, code)
	for _, l := range leftovers(dir) {
		require.NotContains(t, l, "(marked)", "bricks cleaned up")
	}
}
