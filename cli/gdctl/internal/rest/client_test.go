package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:24008":   "http://127.0.0.1:24008",
		"127.0.0.1:24008":          "http://127.0.0.1:24008",
		"https://gd.example.com/":  "https://gd.example.com",
		"http://proxy:80/gd//":     "http://proxy:80/gd",
		" http://[::1]:24008 ":     "http://[::1]:24008",
		"node1.example.com:24008/": "http://node1.example.com:24008",
	} {
		u, err := ParseEndpoint(in)
		require.NoError(t, err, in)
		require.Equal(t, want, u.String(), in)
	}
	for _, in := range []string{"", "ftp://x", "http://", "http://x/?a=b", "http://x/#f", "http://%zz"} {
		_, err := ParseEndpoint(in)
		require.Error(t, err, in)
	}
}

func TestDo(t *testing.T) {
	var got struct {
		method, path, query, body, ctype, accept, id string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.query, got.body = r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b)
		got.ctype, got.accept, got.id = r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("X-Request-Id")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"volume":{"name":"gv0"},"transaction_id":"t"}`)
	}))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL + "/", RequestID: "req-1"})
	require.NoError(t, err)
	require.Equal(t, srv.URL, c.Endpoint())

	resp, err := c.Do(t.Context(), Request{
		Method: http.MethodPost, Path: "/v1/volumes/gv0:start",
		Query: map[string][]string{"async": {"true"}}, Body: ForceRequest{Force: true},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.Status)
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/v1/volumes/gv0:start", got.path)
	require.Equal(t, "async=true", got.query)
	require.JSONEq(t, `{"force":true}`, got.body)
	require.Equal(t, "application/json", got.ctype)
	require.Equal(t, "application/json", got.accept)
	require.Equal(t, "req-1", got.id)

	var op OperationResponse
	require.NoError(t, resp.Decode(&op))
	require.Equal(t, "gv0", op.Volume.Name)
	require.Equal(t, "t", op.TransactionID)

	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/v1/volumes"})
	require.NoError(t, err)
	require.Empty(t, got.body)
	require.Empty(t, got.ctype, "no body, no content type")
}

func TestAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "abc")
		w.WriteHeader(http.StatusPreconditionFailed)
		_, _ = io.WriteString(w, `{"code":9,"message":"volume gv0 is started","details":[{"@type":"x"}]}`)
	}))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	_, err = c.Do(t.Context(), Request{Method: http.MethodDelete, Path: "/v1/volumes/gv0"})
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusPreconditionFailed, apiErr.Status)
	require.Equal(t, 9, apiErr.Code)
	require.Equal(t, "volume gv0 is started", apiErr.Error())
	require.Len(t, apiErr.Details, 1)
	require.Equal(t, "abc", apiErr.RequestID)
}

func TestAPIErrorWithoutJSON(t *testing.T) {
	long := strings.Repeat("x", 300)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, long)
	}))
	defer srv.Close()
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/v1/peers"})
	require.EqualError(t, err, "HTTP 502 Bad Gateway: "+long[:200]+"...")
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	_, err = c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/v1/peers"})
	var un *UnreachableError
	require.ErrorAs(t, err, &un)
	require.True(t, strings.HasPrefix(err.Error(), "cannot reach glusterd-ng at "+srv.URL+": dial tcp "), err.Error())
	require.NotContains(t, err.Error(), `Get "`, "the url.Error prefix is dropped")
}

func TestDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Config{Endpoint: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/peers"})
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	require.EqualError(t, err, "no answer from glusterd-ng at "+srv.URL+" within the timeout (--timeout)")
}

func TestDecodeList(t *testing.T) {
	for _, body := range []string{`[{"name":"a"},{"name":"b"}]`, `{"volumes":[{"name":"a"},{"name":"b"}]}`, " \n[{\"name\":\"a\"},{\"name\":\"b\"}]"} {
		var vols []Volume
		require.NoError(t, (&Response{Body: []byte(body)}).DecodeList("volumes", &vols), body)
		require.Len(t, vols, 2)
		require.Equal(t, "b", vols[1].Name)
	}
	var vols []Volume
	require.NoError(t, (&Response{Body: []byte(`{}`)}).DecodeList("volumes", &vols))
	require.Empty(t, vols)
	require.Error(t, (&Response{Body: []byte(`nope`)}).DecodeList("volumes", &vols))
	require.Error(t, (&Response{Body: []byte(`{"volumes":7}`)}).DecodeList("volumes", &vols))
}

func TestVolumeBricks(t *testing.T) {
	v := Volume{Subvolumes: []Subvolume{{Bricks: []Brick{{ID: "a"}, {ID: "b"}}}, {Bricks: []Brick{{ID: "c"}}}}}
	var ids []string
	for _, b := range v.Bricks() {
		ids = append(ids, b.ID)
	}
	require.Equal(t, []string{"a", "b", "c"}, ids)
}
