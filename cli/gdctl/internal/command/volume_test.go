package command

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/cli/gdctl/internal/rest"
)

func bricks(specs ...string) []rest.BrickSpec {
	var out []rest.BrickSpec
	for _, s := range specs {
		host, path, _ := strings.Cut(s, ":")
		out = append(out, rest.BrickSpec{Peer: host, Path: path})
	}
	return out
}

func TestParseCreate(t *testing.T) {
	tests := []struct {
		name string
		args string
		want rest.CreateVolumeRequest
	}{
		{"distribute", "gv0 n1:/b/1 n2:/b/1",
			rest.CreateVolumeRequest{Name: "gv0", Bricks: bricks("n1:/b/1", "n2:/b/1")}},
		{"replica 3", "gv0 replica 3 n1:/b n2:/b n3:/b",
			rest.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: bricks("n1:/b", "n2:/b", "n3:/b")}},
		{"distributed replica 3", "gv0 replica 3 n1:/b n2:/b n3:/b n1:/c n2:/c n3:/c",
			rest.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: bricks("n1:/b", "n2:/b", "n3:/b", "n1:/c", "n2:/c", "n3:/c")}},
		{"replica 3 arbiter 1", "gv0 replica 3 arbiter 1 n1:/b n2:/b n3:/arb",
			rest.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, ArbiterCount: 1, Bricks: bricks("n1:/b", "n2:/b", "n3:/arb")}},
		{"disperse 3 redundancy 1", "ec0 disperse 3 redundancy 1 n1:/e n2:/e n3:/e",
			rest.CreateVolumeRequest{Name: "ec0", DisperseCount: 3, RedundancyCount: 1, Bricks: bricks("n1:/e", "n2:/e", "n3:/e")}},
		{"disperse without count", "ec0 disperse n1:/e n2:/e n3:/e n4:/e",
			rest.CreateVolumeRequest{Name: "ec0", DisperseCount: 4, Bricks: bricks("n1:/e", "n2:/e", "n3:/e", "n4:/e")}},
		{"redundancy alone", "ec0 redundancy 1 n1:/e n2:/e n3:/e",
			rest.CreateVolumeRequest{Name: "ec0", DisperseCount: 3, RedundancyCount: 1, Bricks: bricks("n1:/e", "n2:/e", "n3:/e")}},
		{"disperse-data", "ec0 disperse-data 2 redundancy 1 n1:/e n2:/e n3:/e",
			rest.CreateVolumeRequest{Name: "ec0", DisperseCount: 3, RedundancyCount: 1, Bricks: bricks("n1:/e", "n2:/e", "n3:/e")}},
		{"force", "gv0 replica 3 n1:/b n2:/b n3:/b force",
			rest.CreateVolumeRequest{Name: "gv0", ReplicaCount: 3, Bricks: bricks("n1:/b", "n2:/b", "n3:/b"), Force: true}},
		{"transport tcp, keywords in any order", "gv0 transport tcp replica 2 n1:/b n2:/b",
			rest.CreateVolumeRequest{Name: "gv0", ReplicaCount: 2, Bricks: bricks("n1:/b", "n2:/b")}},
		{"paths cleaned", "gv0 n1:/b//x/ 10.0.0.2:/b/x",
			rest.CreateVolumeRequest{Name: "gv0", Bricks: bricks("n1:/b/x", "10.0.0.2:/b/x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCreate(strings.Fields(tt.args))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseCreateErrors(t *testing.T) {
	tests := []struct {
		name, args, want string
	}{
		{"no bricks", "gv0", "no bricks given"},
		{"no bricks but force", "gv0 replica 3 force", "no bricks given"},
		{"relative path", "gv0 n1:b1", `brick "n1:b1" is not HOST:/absolute/path`},
		{"no host", "gv0 :/b1", `brick ":/b1" is not HOST:/absolute/path`},
		{"bare path", "gv0 /b1", `brick "/b1" is not HOST:/absolute/path`},
		{"root dir", "gv0 n1:/", "the root directory cannot be a brick"},
		{"brick as name", "n1:/b1 n2:/b1", `"n1:/b1" is not a volume name`},
		{"replica not a number", "gv0 replica three n1:/b n2:/b n3:/b", `replica count "three" is not a positive number`},
		{"replica zero", "gv0 replica 0 n1:/b", `replica count "0" is not a positive number`},
		{"replica without count", "gv0 replica", "replica needs a count"},
		{"replica twice", "gv0 replica 3 replica 3 n1:/b n2:/b n3:/b", "replica is given twice"},
		{"not a multiple", "gv0 replica 3 n1:/b n2:/b", "number of bricks (2) is not a multiple of replica count (3)"},
		{"arbiter without replica", "gv0 arbiter 1 n1:/b n2:/b n3:/b", "an arbiter volume needs replica 3 arbiter 1"},
		{"arbiter 2", "gv0 replica 3 arbiter 2 n1:/b n2:/b n3:/b", "an arbiter volume needs replica 3 arbiter 1"},
		{"replica and disperse", "gv0 replica 3 disperse 3 n1:/b n2:/b n3:/b", "replica cannot be combined with disperse"},
		{"disperse too small", "ec0 disperse 2 n1:/e n2:/e", "disperse count must be at least 3, not 2"},
		{"redundancy too big", "ec0 disperse 4 redundancy 2 n1:/e n2:/e n3:/e n4:/e", "redundancy must be less than 2 for a disperse 4 volume"},
		{"disperse not a multiple", "ec0 disperse 3 n1:/e n2:/e n3:/e n4:/e", "number of bricks (4) is not a multiple of disperse count (3)"},
		{"disperse-data without redundancy", "ec0 disperse-data 2 n1:/e n2:/e n3:/e", "disperse-data needs redundancy"},
		{"rdma", "gv0 transport rdma n1:/b", `transport "rdma" is not supported`},
		{"force in the middle", "gv0 n1:/b force n2:/b", "force must come last"},
		{"keyword after bricks", "gv0 n1:/b n2:/b n3:/b replica 3", "replica must come before the bricks"},
		{"duplicate brick", "gv0 n1:/b n1:/b/", "brick n1:/b is given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCreate(strings.Fields(tt.args))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestVolumeCreate(t *testing.T) {
	tests := []struct {
		name string
		args string
		body string
	}{
		{"distribute", "gv0 n1:/b/1 n2:/b/1",
			`{"name":"gv0","replica_count":0,"arbiter_count":0,"disperse_count":0,"redundancy_count":0,
			  "bricks":[{"peer":"n1","path":"/b/1"},{"peer":"n2","path":"/b/1"}],"force":false}`},
		{"replica 3", "gv0 replica 3 n1:/b n2:/b n3:/b",
			`{"name":"gv0","replica_count":3,"arbiter_count":0,"disperse_count":0,"redundancy_count":0,
			  "bricks":[{"peer":"n1","path":"/b"},{"peer":"n2","path":"/b"},{"peer":"n3","path":"/b"}],"force":false}`},
		{"replica 3 arbiter 1", "gv0 replica 3 arbiter 1 n1:/b n2:/b n3:/arb",
			`{"name":"gv0","replica_count":3,"arbiter_count":1,"disperse_count":0,"redundancy_count":0,
			  "bricks":[{"peer":"n1","path":"/b"},{"peer":"n2","path":"/b"},{"peer":"n3","path":"/arb"}],"force":false}`},
		{"disperse 3 redundancy 1", "gv0 disperse 3 redundancy 1 n1:/e n2:/e n3:/e",
			`{"name":"gv0","replica_count":0,"arbiter_count":0,"disperse_count":3,"redundancy_count":1,
			  "bricks":[{"peer":"n1","path":"/e"},{"peer":"n2","path":"/e"},{"peer":"n3","path":"/e"}],"force":false}`},
		{"force", "gv0 n1:/b force",
			`{"name":"gv0","replica_count":0,"arbiter_count":0,"disperse_count":0,"redundancy_count":0,
			  "bricks":[{"peer":"n1","path":"/b"}],"force":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{
				"POST /v1/volumes": {status: http.StatusCreated, body: `{"volume":` + gv0JSON + `,"transaction_id":"t-1"}`},
			})
			r := api.gdctl(t, append([]string{"volume", "create"}, strings.Fields(tt.args)...)...)
			requireOK(t, r, "volume create: gv0: success: please start the volume to access data\n")
			reqs := api.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, "POST /v1/volumes", reqs[0].Method+" "+reqs[0].Path)
			require.Empty(t, reqs[0].Query)
			requireJSON(t, tt.body, reqs[0].Body)
		})
	}
}

func TestVolumeCreateUsageMakesNoRequest(t *testing.T) {
	api := newFakeAPI(t, nil)
	r := api.gdctl(t, "volume", "create", "gv0", "replica", "x", "n1:/b")
	require.Equal(t, ExitUsage, r.code)
	require.Equal(t, `gdctl volume create: replica count "x" is not a positive number
Usage: gdctl volume create NAME [replica COUNT [arbiter 1]] [disperse [COUNT]] [disperse-data COUNT] [redundancy COUNT] [transport tcp] HOST:/PATH... [force] [flags]
Run 'gdctl volume create --help' for more information.
`, r.stderr)
	require.Empty(t, r.stdout)
	require.Empty(t, api.requests())
}

func TestVolumeCreateFailure(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /v1/volumes": {status: http.StatusConflict, body: `{"code":6,"message":"volume gv0 already exists","details":[]}`},
	})
	r := api.gdctl(t, "volume", "create", "gv0", "n1:/b")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume create: gv0: failed: volume gv0 already exists\n", r.stderr)
	require.Empty(t, r.stdout)
}

func TestVolumeStartStopDelete(t *testing.T) {
	op := `{"volume":` + gv0JSON + `,"transaction_id":"t-2"}`
	tests := []struct {
		name   string
		args   []string
		call   string
		body   string
		stdout string
	}{
		{"start", []string{"volume", "start", "gv0"}, "POST /v1/volumes/gv0:start", `{"force":false}`, "volume start: gv0: success\n"},
		{"start force", []string{"volume", "start", "gv0", "force"}, "POST /v1/volumes/gv0:start", `{"force":true}`, "volume start: gv0: success\n"},
		{"stop --yes", []string{"volume", "stop", "gv0", "--yes"}, "POST /v1/volumes/gv0:stop", `{"force":false}`, "volume stop: gv0: success\n"},
		{"stop -y force", []string{"volume", "stop", "-y", "gv0", "force"}, "POST /v1/volumes/gv0:stop", `{"force":true}`, "volume stop: gv0: success\n"},
		{"stop --mode=script", []string{"--mode=script", "volume", "stop", "gv0"}, "POST /v1/volumes/gv0:stop", `{"force":false}`, "volume stop: gv0: success\n"},
		{"delete --yes", []string{"volume", "delete", "gv0", "--yes"}, "DELETE /v1/volumes/gv0", "", "volume delete: gv0: success\n"},
		{"delete --mode script", []string{"volume", "delete", "gv0", "--mode", "script"}, "DELETE /v1/volumes/gv0", "", "volume delete: gv0: success\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{
				"POST /v1/volumes/gv0:start": {body: op},
				"POST /v1/volumes/gv0:stop":  {body: op},
				"DELETE /v1/volumes/gv0":     {body: op},
			})
			requireOK(t, api.gdctl(t, tt.args...), tt.stdout)
			require.Equal(t, []string{tt.call}, api.calls())
			if tt.body != "" {
				requireJSON(t, tt.body, api.requests()[0].Body)
			}
		})
	}
}

func TestVolumeConfirmation(t *testing.T) {
	routes := map[string]reply{
		"POST /v1/volumes/gv0:stop": {body: `{}`},
		"DELETE /v1/volumes/gv0":    {body: `{}`},
	}
	t.Run("refused without a terminal", func(t *testing.T) {
		for _, args := range [][]string{{"volume", "stop", "gv0"}, {"volume", "delete", "gv0"}, {"volume", "remove-brick", "gv0", "b1"}} {
			api := newFakeAPI(t, routes)
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code)
			require.Contains(t, r.stderr, "needs confirmation but stdin is not a terminal; pass --yes (or --mode=script)")
			require.Empty(t, api.requests())
		}
	})
	t.Run("yes on a terminal", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		r := invocation{endpoint: api.srv.URL, stdin: "y\n", terminal: true}.gdctl(t, "volume", "stop", "gv0")
		require.Equal(t, ExitOK, r.code)
		require.Equal(t, "Stopping volume will make its data inaccessible. Do you want to continue? (y/n) ", r.stderr)
		require.Equal(t, "volume stop: gv0: success\n", r.stdout)
		require.Equal(t, []string{"POST /v1/volumes/gv0:stop"}, api.calls())
	})
	t.Run("no on a terminal", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		r := invocation{endpoint: api.srv.URL, stdin: "n\n", terminal: true}.gdctl(t, "volume", "delete", "gv0")
		require.Equal(t, ExitFailure, r.code)
		require.Equal(t, "Deleting volume will erase all information about the volume. Do you want to continue? (y/n) volume delete: gv0: cancelled\n", r.stderr)
		require.Empty(t, api.requests())
	})
	t.Run("end of input on a terminal", func(t *testing.T) {
		api := newFakeAPI(t, routes)
		r := invocation{endpoint: api.srv.URL, terminal: true}.gdctl(t, "volume", "stop", "gv0")
		require.Equal(t, ExitFailure, r.code)
		require.Empty(t, api.requests())
	})
}

func TestVolumeLifecycleUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"start without name":     {"volume", "start"},
		"start with junk":        {"volume", "start", "gv0", "now"},
		"stop too many":          {"volume", "stop", "gv0", "force", "now", "-y"},
		"delete two":             {"volume", "delete", "gv0", "gv1", "-y"},
		"name with slash":        {"volume", "start", "a/b"},
		"info two":               {"volume", "info", "gv0", "gv1"},
		"unknown flag":           {"volume", "start", "gv0", "--bogus"},
		"unknown subcommand":     {"volume", "strat", "gv0"},
		"missing subcommand":     {"volume"},
		"unknown command":        {"volumes"},
		"bad mode":               {"--mode=batch", "volume", "list"},
		"bad endpoint":           {"--endpoint=ftp://x", "volume", "list"},
		"bad timeout":            {"--timeout=0s", "volume", "list"},
		"list with args":         {"volume", "list", "gv0"},
		"status with two":        {"volume", "status", "gv0", "gv1"},
		"peer status with args":  {"peer", "status", "x"},
		"pool without list":      {"pool"},
		"completion bad shell":   {"completion", "tcsh"},
		"replica flag-like args": {"volume", "create", "gv0", "replica", "-1", "n1:/b"},
	} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			r := api.gdctl(t, args...)
			require.Equal(t, ExitUsage, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			require.NotEmpty(t, r.stderr)
			require.Contains(t, r.stderr, "--help' for more information.")
			require.Empty(t, api.requests())
		})
	}
}

func TestVolumeUnknownSubcommandSuggests(t *testing.T) {
	r := invocation{endpoint: "http://127.0.0.1:1"}.gdctl(t, "volume", "strat", "gv0")
	require.Equal(t, ExitUsage, r.code)
	require.Contains(t, r.stderr, `gdctl volume: unknown command "strat"; did you mean start?`)
	require.Contains(t, r.stderr, "Commands: add-brick, create, delete, get, info, list, remove-brick, replace-brick, reset, set, start, status, stop\n")
}

func TestVolumeInfo(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes/gv0": {body: gv0JSON}})
	requireOK(t, api.gdctl(t, "volume", "info", "gv0"), `
Volume Name: gv0
Type: Replicate
Volume ID: 0a0a0a0a-0000-0000-0000-000000000000
Status: Started
Number of Bricks: 1 x (2 + 1) = 3
Transport-type: tcp
Bricks:
Brick1: node1:/bricks/gv0/b1
Brick2: node2:/bricks/gv0/b2
Brick3: node3:/bricks/gv0/b3 (arbiter)
Options Reconfigured:
cluster.granular-entry-heal: on
performance.cache-size: 64MB
`)
}

func TestVolumeInfoAll(t *testing.T) {
	want := `
Volume Name: gv1
Type: Distribute
Volume ID: 1b1b1b1b-0000-0000-0000-000000000000
Status: Created
Number of Bricks: 2
Transport-type: tcp
Bricks:
Brick1: node1:/bricks/gv1
Brick2: node2:/bricks/gv1

Volume Name: ec0
Type: Distributed-Disperse
Volume ID: 2c2c2c2c-0000-0000-0000-000000000000
Status: Stopped
Number of Bricks: 2 x (2 + 1) = 6
Transport-type: tcp
Bricks:
Brick1: node1:/e/1
Brick2: node2:/e/1
Brick3: node3:/e/1
Brick4: node1:/e/2
Brick5: node2:/e/2
Brick6: node3:/e/2
`
	for _, args := range [][]string{{"volume", "info"}, {"volume", "info", "all"}} {
		api := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: "[" + gv1JSON + "," + ec0JSON + "]"}})
		requireOK(t, api.gdctl(t, args...), want)
		require.Equal(t, []string{"GET /v1/volumes"}, api.calls())
	}
}

func TestBrickCount(t *testing.T) {
	sets := func(n, size int) []rest.Subvolume {
		var out []rest.Subvolume
		for range n {
			out = append(out, rest.Subvolume{Bricks: make([]rest.Brick, size)})
		}
		return out
	}
	require.Equal(t, "2 x 3 = 6", brickCount(rest.Volume{ReplicaCount: 3, Subvolumes: sets(2, 3)}))
	require.Equal(t, "2 x (2 + 1) = 6", brickCount(rest.Volume{ReplicaCount: 3, ArbiterCount: 1, Subvolumes: sets(2, 3)}))
	require.Equal(t, "1 x (4 + 2) = 6", brickCount(rest.Volume{DisperseCount: 6, RedundancyCount: 2, Subvolumes: sets(1, 6)}))
	require.Equal(t, "4", brickCount(rest.Volume{ReplicaCount: 1, Subvolumes: sets(4, 1)}))
}

func TestVolumeInfoNone(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: `[]`}})
	requireOK(t, api.gdctl(t, "volume", "info"), "No volumes present\n")
}

func TestVolumeInfoNotFound(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/volumes/gv9": {status: http.StatusNotFound, body: `{"code":5,"message":"volume gv9 not found","details":[]}`},
	})
	r := api.gdctl(t, "volume", "info", "gv9")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume info: failed: volume gv9 not found\n", r.stderr)
	require.Empty(t, r.stdout)
}

func TestVolumeList(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: `{"volumes":[` + gv0JSON + "," + gv1JSON + `]}`}})
	requireOK(t, api.gdctl(t, "volume", "list"), "gv0\ngv1\n")

	empty := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: `[]`}})
	requireOK(t, empty.gdctl(t, "volume", "list"), "No volumes present in cluster\n")
}

const gv0StatusJSON = `{
  "volume": "gv0", "state": "STARTED",
  "bricks": [
    {"id": "b1", "peer_id": "11111111-1111-1111-1111-111111111111", "host": "node1", "path": "/bricks/gv0/b1", "port": 49152, "pid": 1234, "online": true},
    {"id": "b2", "peer_id": "22222222-2222-2222-2222-222222222222", "host": "node2", "path": "/bricks/gv0/b2", "port": 0, "pid": 0, "online": false},
    {"id": "b3", "peer_id": "33333333-3333-3333-3333-333333333333", "host": "node3", "path": "/bricks/gv0/b3", "port": 49153, "pid": 77, "online": true}
  ],
  "self_heal_daemons": [
    {"peer_id": "11111111-1111-1111-1111-111111111111", "pid": 2345, "online": true},
    {"peer_id": "44444444-4444-4444-4444-444444444444", "pid": 0, "online": false}
  ]
}`

func TestVolumeStatus(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/volumes/gv0/status": {body: gv0StatusJSON},
		"GET /v1/peers":              {body: `[{"id":"44444444-4444-4444-4444-444444444444","name":"node4","state":"CONNECTED"}]`},
	})
	requireOK(t, api.gdctl(t, "volume", "status", "gv0"), ""+
		"Status of volume: gv0\n"+
		"Gluster process             TCP Port  Online  Pid\n"+
		strings.Repeat("-", 78)+"\n"+
		"Brick node1:/bricks/gv0/b1  49152     Y       1234\n"+
		"Brick node2:/bricks/gv0/b2  N/A       N       N/A\n"+
		"Brick node3:/bricks/gv0/b3  49153     Y       77\n"+
		"Self-heal Daemon on node1   N/A       Y       2345\n"+
		"Self-heal Daemon on node4   N/A       N       N/A\n"+
		"\n")
	require.Equal(t, []string{"GET /v1/volumes/gv0/status", "GET /v1/peers"}, api.calls())
}

func TestVolumeStatusAll(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/volumes":            {body: "[" + gv0JSON + "," + gv1JSON + "]"},
		"GET /v1/volumes/gv0/status": {body: `{"volume":"gv0","state":"STARTED","bricks":[{"id":"b1","peer_id":"p1","host":"node1","path":"/b","port":49152,"pid":10,"online":true}],"self_heal_daemons":[{"peer_id":"p1","pid":11,"online":true}]}`},
		"GET /v1/volumes/gv1/status": {body: `{"volume":"gv1","state":"CREATED","bricks":[{"id":"c1","peer_id":"p1","host":"node1","path":"/c","port":0,"pid":0,"online":false}],"self_heal_daemons":[]}`},
	})
	rule := strings.Repeat("-", 78) + "\n"
	requireOK(t, api.gdctl(t, "volume", "status"), ""+
		"Status of volume: gv0\n"+
		"Gluster process            TCP Port  Online  Pid\n"+rule+
		"Brick node1:/b             49152     Y       10\n"+
		"Self-heal Daemon on node1  N/A       Y       11\n"+
		"\n"+
		"Status of volume: gv1\n"+
		"Volume gv1 is not started\n"+
		"Gluster process  TCP Port  Online  Pid\n"+rule+
		"Brick node1:/c   N/A       N       N/A\n"+
		"\n")
	require.Equal(t, []string{"GET /v1/volumes", "GET /v1/volumes/gv0/status", "GET /v1/volumes/gv1/status"}, api.calls())

	r := api.gdctl(t, "--json", "volume", "status", "all")
	require.Equal(t, ExitOK, r.code)
	requireJSON(t, `[`+api.routes["GET /v1/volumes/gv0/status"].body+`,`+api.routes["GET /v1/volumes/gv1/status"].body+`]`, r.stdout)
}

func TestVolumeStatusNotImplemented(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/volumes/gv0/status": {status: http.StatusNotImplemented, body: `{"code":12,"message":"method GetVolumeStatus not implemented","details":[]}`},
	})
	r := api.gdctl(t, "volume", "status", "gv0")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume status: failed: method GetVolumeStatus not implemented\n", r.stderr)
}
