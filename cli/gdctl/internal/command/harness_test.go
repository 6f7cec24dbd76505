package command

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reply is what the fake API answers on one route.
type reply struct {
	status int
	body   string
	delay  time.Duration
}

// seen is one request the fake API received.
type seen struct {
	Method    string
	Path      string
	Query     string
	Body      string
	RequestID string
	CType     string
}

// fakeAPI emulates the glusterd-ng REST gateway (docs/API.md): canned
// answers per "METHOD /escaped/path", the API's error body elsewhere, and a
// log of what it received.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]reply
	reqs   []seen
}

func newFakeAPI(t *testing.T, routes map[string]reply) *fakeAPI {
	t.Helper()
	f := &fakeAPI{routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.EscapedPath()
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body),
		RequestID: r.Header.Get("X-Request-Id"), CType: r.Header.Get("Content-Type"),
	})
	rep, ok := f.routes[key]
	f.mu.Unlock()
	if id := r.Header.Get("X-Request-Id"); id != "" {
		w.Header().Set("X-Request-Id", id)
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":5,"message":"no route for `+key+`","details":[]}`)
		return
	}
	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// requests returns what the fake API received so far.
func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// calls lists the received requests as "METHOD /path?query".
func (f *fakeAPI) calls() []string {
	var out []string
	for _, r := range f.requests() {
		c := r.Method + " " + r.Path
		if r.Query != "" {
			c += "?" + r.Query
		}
		out = append(out, c)
	}
	return out
}

// result is the outcome of one gdctl invocation.
type result struct {
	code   int
	stdout string
	stderr string
}

// invocation configures one run of gdctl.
type invocation struct {
	endpoint string
	stdin    string
	terminal bool
}

// gdctl runs the CLI in-process against endpoint with args.
func (in invocation) gdctl(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{EndpointEnv: in.endpoint}
	code := Run(t.Context(), args, Env{
		Stdin:           strings.NewReader(in.stdin),
		Stdout:          &stdout,
		Stderr:          &stderr,
		StdinIsTerminal: in.terminal,
		Getenv:          func(k string) string { return env[k] },
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// gdctl runs the CLI against the fake API with args.
func (f *fakeAPI) gdctl(t *testing.T, args ...string) result {
	t.Helper()
	return invocation{endpoint: f.srv.URL}.gdctl(t, args...)
}

// requireJSON checks that got is the JSON document want.
func requireJSON(t *testing.T, want, got string) {
	t.Helper()
	require.JSONEq(t, want, got)
}

// requireOK checks a successful run with the given stdout.
func requireOK(t *testing.T, r result, stdout string) {
	t.Helper()
	require.Equal(t, ExitOK, r.code, "stderr: %s", r.stderr)
	require.Empty(t, r.stderr)
	require.Equal(t, stdout, r.stdout)
}

// mustJSON marshals v for canned answers.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	buf, err := json.Marshal(v)
	require.NoError(t, err)
	return string(buf)
}

// Canned answers in the gateway's encoding: proto field names, enums by
// name, uint64 as strings, unpopulated fields present, lists of
// response_body routes as bare arrays.
const (
	peersJSON = `[
  {"id": "11111111-1111-1111-1111-111111111111", "name": "node1", "addresses": ["node1", "10.0.0.1"],
   "state": "CONNECTED", "labels": {}, "joined_at": "2026-01-02T03:04:05Z", "version": "7"},
  {"id": "22222222-2222-2222-2222-222222222222", "name": "node2", "addresses": ["10.0.0.2", "node2.example.com"],
   "state": "DISCONNECTED", "labels": {"rack": "r2"}, "joined_at": "2026-01-02T03:04:06Z", "version": "9"}
]`

	gv0JSON = `{
  "id": "0a0a0a0a-0000-0000-0000-000000000000", "name": "gv0", "type": "REPLICATE", "state": "STARTED",
  "replica_count": 3, "arbiter_count": 1, "disperse_count": 0, "redundancy_count": 0,
  "subvolumes": [{"bricks": [
    {"id": "b1", "peer_id": "11111111-1111-1111-1111-111111111111", "host": "node1", "path": "/bricks/gv0/b1", "arbiter": false},
    {"id": "b2", "peer_id": "22222222-2222-2222-2222-222222222222", "host": "node2", "path": "/bricks/gv0/b2", "arbiter": false},
    {"id": "b3", "peer_id": "33333333-3333-3333-3333-333333333333", "host": "node3", "path": "/bricks/gv0/b3", "arbiter": true}
  ]}],
  "options": {"performance.cache-size": "64MB", "cluster.granular-entry-heal": "on"},
  "version": "12", "created_at": "2026-01-02T03:04:05Z", "transport": "tcp"
}`

	gv1JSON = `{
  "id": "1b1b1b1b-0000-0000-0000-000000000000", "name": "gv1", "type": "DISTRIBUTE", "state": "CREATED",
  "replica_count": 0, "arbiter_count": 0, "disperse_count": 0, "redundancy_count": 0,
  "subvolumes": [
    {"bricks": [{"id": "c1", "peer_id": "11111111-1111-1111-1111-111111111111", "host": "node1", "path": "/bricks/gv1", "arbiter": false}]},
    {"bricks": [{"id": "c2", "peer_id": "22222222-2222-2222-2222-222222222222", "host": "node2", "path": "/bricks/gv1", "arbiter": false}]}
  ],
  "options": {}, "version": "3", "created_at": "2026-01-02T03:04:05Z", "transport": ""
}`

	ec0JSON = `{
  "id": "2c2c2c2c-0000-0000-0000-000000000000", "name": "ec0", "type": "DISTRIBUTED_DISPERSE", "state": "STOPPED",
  "replica_count": 0, "arbiter_count": 0, "disperse_count": 3, "redundancy_count": 1,
  "subvolumes": [
    {"bricks": [{"id": "e1", "host": "node1", "path": "/e/1"}, {"id": "e2", "host": "node2", "path": "/e/1"}, {"id": "e3", "host": "node3", "path": "/e/1"}]},
    {"bricks": [{"id": "e4", "host": "node1", "path": "/e/2"}, {"id": "e5", "host": "node2", "path": "/e/2"}, {"id": "e6", "host": "node3", "path": "/e/2"}]}
  ],
  "options": {}, "version": "4", "transport": "tcp"
}`
)
