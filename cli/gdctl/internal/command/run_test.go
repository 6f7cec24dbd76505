package command

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJSONOutput(t *testing.T) {
	op := `{"volume":` + gv0JSON + `,"transaction_id":"t-1"}`
	tests := []struct {
		args  []string
		route string
		body  string
	}{
		{[]string{"--json", "peer", "status"}, "GET /v1/peers", peersJSON},
		{[]string{"pool", "list", "--json"}, "GET /v1/peers", peersJSON},
		{[]string{"--json", "volume", "info", "gv0"}, "GET /v1/volumes/gv0", gv0JSON},
		{[]string{"--json", "volume", "info"}, "GET /v1/volumes", "[" + gv0JSON + "]"},
		{[]string{"--json", "volume", "list"}, "GET /v1/volumes", `[]`},
		{[]string{"--json", "volume", "status", "gv0"}, "GET /v1/volumes/gv0/status", gv0StatusJSON},
		{[]string{"--json", "volume", "get", "gv0", "performance.cache-size"}, "GET /v1/volumes/gv0/options", gv0OptionsJSON},
		{[]string{"--json", "volume", "create", "gv0", "n1:/b"}, "POST /v1/volumes", op},
		{[]string{"--json", "volume", "start", "gv0"}, "POST /v1/volumes/gv0:start", op},
		{[]string{"--json", "peer", "probe", "node3"}, "POST /v1/peers", `{"id":"3","name":"node3"}`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{tt.route: {body: tt.body}})
			r := api.gdctl(t, tt.args...)
			require.Equal(t, ExitOK, r.code, r.stderr)
			require.Empty(t, r.stderr)
			requireJSON(t, tt.body, r.stdout)
			require.True(t, strings.HasSuffix(r.stdout, "\n"))
		})
	}
}

func TestJSONOutputIndented(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: `[{"id":"1","name":"n"}]`}})
	requireOK(t, api.gdctl(t, "--json", "peer", "status"), "[\n  {\n    \"id\": \"1\",\n    \"name\": \"n\"\n  }\n]\n")
}

func TestJSONErrorBody(t *testing.T) {
	body := `{"code":5,"message":"volume gv9 not found","details":[]}`
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes/gv9": {status: http.StatusNotFound, body: body}})
	r := api.gdctl(t, "--json", "volume", "info", "gv9")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "volume info: failed: volume gv9 not found\n", r.stderr)
	requireJSON(t, body, r.stdout)
}

func TestAsync(t *testing.T) {
	accepted := reply{status: http.StatusAccepted, body: `{"volume":null,"transaction_id":"7f3c"}`}
	tests := []struct {
		args   []string
		route  string
		query  string
		body   string
		stdout string
	}{
		{[]string{"--async", "volume", "create", "gv0", "replica", "3", "n1:/b", "n2:/b", "n3:/b"}, "POST /v1/volumes", "async=true",
			`{"name":"gv0","replica_count":3,"arbiter_count":0,"disperse_count":0,"redundancy_count":0,
			  "bricks":[{"peer":"n1","path":"/b"},{"peer":"n2","path":"/b"},{"peer":"n3","path":"/b"}],"force":false,"async":true}`,
			"volume create: gv0: accepted: transaction 7f3c\n"},
		{[]string{"volume", "start", "gv0", "--async"}, "POST /v1/volumes/gv0:start", "async=true", `{"force":false,"async":true}`,
			"volume start: gv0: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "stop", "gv0", "-y"}, "POST /v1/volumes/gv0:stop", "async=true", `{"force":false,"async":true}`,
			"volume stop: gv0: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "delete", "gv0", "-y"}, "DELETE /v1/volumes/gv0", "async=true", "",
			"volume delete: gv0: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "set", "gv0", "a.b", "c"}, "PATCH /v1/volumes/gv0/options", "async=true", `{"options":{"a.b":"c"},"async":true}`,
			"volume set: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "reset", "gv0", "a.b"}, "DELETE /v1/volumes/gv0/options/a.b", "async=true", "",
			"volume reset: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "add-brick", "gv0", "n4:/b"}, "POST /v1/volumes/gv0/bricks", "async=true", `{"bricks":[{"peer":"n4","path":"/b"}],"async":true}`,
			"volume add-brick: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "remove-brick", "gv0", "b1", "force", "-y"}, "DELETE /v1/volumes/gv0/bricks/b1", "async=true&force=true", "",
			"volume remove-brick: accepted: transaction 7f3c\n"},
		{[]string{"--async", "volume", "replace-brick", "gv0", "b1", "n4:/b", "commit", "force"}, "POST /v1/volumes/gv0/bricks/b1:replace", "async=true",
			`{"new_brick":{"peer":"n4","path":"/b"},"async":true}`, "volume replace-brick: accepted: transaction 7f3c\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{tt.route: accepted})
			requireOK(t, api.gdctl(t, tt.args...), tt.stdout)
			reqs := api.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, tt.route, reqs[0].Method+" "+reqs[0].Path)
			require.Equal(t, tt.query, reqs[0].Query)
			if tt.body != "" {
				requireJSON(t, tt.body, reqs[0].Body)
			}
		})
	}
}

func TestAsyncAnswers(t *testing.T) {
	t.Run("peer body has no async field", func(t *testing.T) {
		api := newFakeAPI(t, map[string]reply{"POST /v1/peers": {status: http.StatusCreated, body: `{"id":"3"}`}})
		requireOK(t, api.gdctl(t, "--async", "peer", "probe", "node3"), "peer probe: success\n")
		requireJSON(t, `{"address":"node3"}`, api.requests()[0].Body)
		require.Equal(t, "async=true", api.requests()[0].Query)
	})
	t.Run("202 without a transaction id", func(t *testing.T) {
		api := newFakeAPI(t, map[string]reply{"POST /v1/volumes/gv0:start": {status: http.StatusAccepted, body: `{}`}})
		requireOK(t, api.gdctl(t, "--async", "volume", "start", "gv0"), "volume start: gv0: accepted\n")
	})
	t.Run("server finished anyway", func(t *testing.T) {
		api := newFakeAPI(t, map[string]reply{"POST /v1/volumes/gv0:start": {body: `{"volume":` + gv0JSON + `}`}})
		requireOK(t, api.gdctl(t, "--async", "volume", "start", "gv0"), "volume start: gv0: success\n")
	})
	t.Run("json", func(t *testing.T) {
		body := `{"volume":null,"transaction_id":"7f3c"}`
		api := newFakeAPI(t, map[string]reply{"POST /v1/volumes/gv0:start": {status: http.StatusAccepted, body: body}})
		r := api.gdctl(t, "--async", "--json", "volume", "start", "gv0")
		require.Equal(t, ExitOK, r.code)
		requireJSON(t, body, r.stdout)
	})
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		route  string
		reply  reply
		stderr string
	}{
		{"not implemented", []string{"volume", "start", "gv0"}, "POST /v1/volumes/gv0:start",
			reply{status: http.StatusNotImplemented, body: `{"code":12,"message":"method StartVolume not implemented","details":[]}`},
			"volume start: gv0: failed: method StartVolume not implemented\n"},
		{"precondition", []string{"volume", "delete", "gv0", "-y"}, "DELETE /v1/volumes/gv0",
			reply{status: http.StatusPreconditionFailed, body: `{"code":9,"message":"volume gv0 is started; stop it first","details":[]}`},
			"volume delete: gv0: failed: volume gv0 is started; stop it first\n"},
		{"internal names the request", []string{"volume", "list"}, "GET /v1/volumes",
			reply{status: http.StatusInternalServerError, body: `{"code":13,"message":"internal error","details":[]}`},
			"volume list: failed: internal error (request id "},
		{"not the API's JSON", []string{"peer", "status"}, "GET /v1/peers",
			reply{status: http.StatusBadGateway, body: "<html>bad gateway</html>"},
			"peer status: failed: HTTP 502 Bad Gateway: <html>bad gateway</html>\n"},
		{"empty error body", []string{"pool", "list"}, "GET /v1/peers",
			reply{status: http.StatusServiceUnavailable},
			"pool list: failed: HTTP 503 Service Unavailable\n"},
		{"undecodable answer", []string{"volume", "info", "gv0"}, "GET /v1/volumes/gv0",
			reply{body: `{"name": 7}`},
			"volume info: failed: decode the server's answer: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{tt.route: tt.reply})
			r := api.gdctl(t, tt.args...)
			require.Equal(t, ExitFailure, r.code)
			require.True(t, strings.HasPrefix(r.stderr, tt.stderr), "stderr %q", r.stderr)
			require.Empty(t, r.stdout)
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r := invocation{endpoint: url}.gdctl(t, "volume", "list")
	require.Equal(t, ExitFailure, r.code)
	require.True(t, strings.HasPrefix(r.stderr, "volume list: failed: cannot reach glusterd-ng at "+url+": "), r.stderr)
	require.Contains(t, r.stderr, "connection refused")
	require.Empty(t, r.stdout)
}

func TestTimeout(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/peers": {body: `[]`, delay: 5 * time.Second}})
	start := time.Now()
	r := api.gdctl(t, "--timeout=100ms", "peer", "status")
	require.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "peer status: failed: no answer from glusterd-ng at "+api.srv.URL+" within the timeout (--timeout)\n", r.stderr)
}

func TestEndpointSelection(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: `[]`}})
	t.Run("from the environment", func(t *testing.T) {
		requireOK(t, invocation{endpoint: api.srv.URL}.gdctl(t, "volume", "list"), "No volumes present in cluster\n")
	})
	t.Run("flag beats environment", func(t *testing.T) {
		r := invocation{endpoint: "http://127.0.0.1:1"}.gdctl(t, "--endpoint", api.srv.URL, "volume", "list")
		requireOK(t, r, "No volumes present in cluster\n")
	})
	t.Run("without scheme", func(t *testing.T) {
		r := invocation{}.gdctl(t, "--endpoint", strings.TrimPrefix(api.srv.URL, "http://"), "volume", "list")
		requireOK(t, r, "No volumes present in cluster\n")
	})
	t.Run("with a path prefix", func(t *testing.T) {
		prefixed := newFakeAPI(t, map[string]reply{"GET /gd/v1/volumes": {body: `[]`}})
		r := invocation{}.gdctl(t, "--endpoint", prefixed.srv.URL+"/gd/", "volume", "list")
		requireOK(t, r, "No volumes present in cluster\n")
	})
	t.Run("default", func(t *testing.T) {
		r := invocation{}.gdctl(t, "volume", "list", "--timeout=2s")
		require.Equal(t, ExitFailure, r.code)
		require.Contains(t, r.stderr, "glusterd-ng at "+DefaultEndpoint)
	})
}

func TestRequestIDPerInvocation(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {body: `[]`}})
	api.gdctl(t, "volume", "list")
	api.gdctl(t, "volume", "list")
	reqs := api.requests()
	require.Len(t, reqs, 2)
	require.NotEmpty(t, reqs[0].RequestID)
	require.NotEqual(t, reqs[0].RequestID, reqs[1].RequestID)
}

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_gdctl", "zsh": "#compdef gdctl", "fish": "complete -c gdctl"} {
		t.Run(shell, func(t *testing.T) {
			r := invocation{endpoint: "http://127.0.0.1:1"}.gdctl(t, "completion", shell)
			require.Equal(t, ExitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, marker)
		})
	}
}

// complete runs cobra's hidden completion request (without descriptions)
// and returns the words.
func complete(t *testing.T, in invocation, args ...string) []string {
	t.Helper()
	r := in.gdctl(t, append([]string{"__completeNoDesc"}, args...)...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.NotEmpty(t, lines)
	require.True(t, strings.HasPrefix(lines[len(lines)-1], ":"), "directive line in %q", r.stdout)
	return lines[:len(lines)-1]
}

func TestDynamicCompletion(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /v1/volumes":             {body: "[" + gv0JSON + "," + gv1JSON + "]"},
		"GET /v1/volumes/gv0":         {body: gv0JSON},
		"GET /v1/volumes/gv0/options": {body: gv0OptionsJSON},
		"GET /v1/peers":               {body: peersJSON},
	})
	in := invocation{endpoint: api.srv.URL}
	require.Equal(t, []string{"peer", "pool"}, complete(t, in, "p"))
	require.Contains(t, complete(t, in, "volume", ""), "create")
	require.Equal(t, []string{"gv0", "gv1"}, complete(t, in, "volume", "start", ""))
	require.Equal(t, []string{"gv1"}, complete(t, in, "volume", "stop", "gv1"))
	require.Equal(t, []string{"force"}, complete(t, in, "volume", "stop", "gv0", ""))
	require.Equal(t, []string{"gv0", "gv1", "all"}, complete(t, in, "volume", "info", ""))
	require.Equal(t, []string{"all", "cluster.granular-entry-heal", "performance.cache-size", "nfs.disable"}, complete(t, in, "volume", "get", "gv0", ""))
	require.Equal(t, []string{"performance.cache-size"}, complete(t, in, "volume", "set", "gv0", "perf"))
	require.Equal(t, []string{"performance.cache-size"}, complete(t, in, "volume", "set", "gv0", "a", "b", "perf"))
	require.Empty(t, complete(t, in, "volume", "set", "gv0", "a", ""))
	require.Equal(t, []string{"node1:/bricks/gv0/b1", "node2:/bricks/gv0/b2", "node3:/bricks/gv0/b3"}, complete(t, in, "volume", "remove-brick", "gv0", ""))
	require.Equal(t, []string{"node1", "node2"}, complete(t, in, "peer", "detach", ""))
	require.Equal(t, []string{"gv0", "gv1"}, complete(t, invocation{}, "--endpoint", api.srv.URL, "volume", "delete", ""))
}

func TestDynamicCompletionFailsSilently(t *testing.T) {
	in := invocation{endpoint: "http://127.0.0.1:1"}
	require.Empty(t, complete(t, in, "volume", "start", ""))
	require.Empty(t, complete(t, in, "peer", "detach", ""))
	require.Equal(t, []string{"all"}, complete(t, in, "volume", "info", ""))

	broken := newFakeAPI(t, map[string]reply{"GET /v1/volumes": {status: http.StatusNotImplemented, body: `{"code":12}`}})
	r := invocation{endpoint: broken.srv.URL}.gdctl(t, "__complete", "volume", "start", "")
	require.Equal(t, ExitOK, r.code)
	require.Equal(t, ":4\n", r.stdout, "no words, no file completion")
	require.NotContains(t, r.stderr, "failed")
}
