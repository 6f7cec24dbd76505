package consulkv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/stretchr/testify/require"
)

// The hand-written body says what json.Marshal(api.TxnOps) says, for keys
// and sessions with every kind of character JSON must escape.
func TestTxnBodyDecodesAsTheOperations(t *testing.T) {
	keys := []string{"glusterd-ng/volumes/gv0", `quote"back\slash`, "ctl\x00\x01\x1f\n\r\t", "üñï/日本", "bad\xffutf8\xc3", "sep\u2028\u2029", "<html>&"}
	var ops []Op
	for i, k := range keys {
		ops = append(ops, SetCAS(k, []byte(fmt.Sprintf("value %d \x00\xff", i)), uint64(i)), CheckNotExists(k), Lock(k, nil, "sess\"ion"), DeleteCAS(k, 7), Set(k, []byte{}))
	}
	var got api.TxnOps
	require.NoError(t, json.Unmarshal(appendTxnBody(nil, ops), &got))

	want := make(api.TxnOps, len(ops))
	for i, o := range ops {
		want[i] = &api.TxnOp{KV: &api.KVTxnOp{Verb: o.verb, Key: o.key, Value: o.value, Index: o.index, Session: o.session}}
	}
	// What Consul reads from encoding/json's document.
	b, err := json.Marshal(want)
	require.NoError(t, err)
	var viaJSON api.TxnOps
	require.NoError(t, json.Unmarshal(b, &viaJSON))
	require.Equal(t, viaJSON, got)
}

func TestTxnBodyOfNoOperations(t *testing.T) {
	require.Equal(t, "[]", string(appendTxnBody(nil, nil)))
}

// Answers Consul gives, and others: the scanner decodes what it takes as
// encoding/json does, and leaves the rest to it.
func TestTxnResultAgreesWithEncodingJSON(t *testing.T) {
	bodies := map[string]bool{ // body: taken by the scanner
		`{"Results":[{"KV":{"LockIndex":0,"Key":"a/b","Flags":0,"Value":null,"CreateIndex":12,"ModifyIndex":12}}],"Errors":null}`:                                                              true,
		`{"Results":[{"KV":{"LockIndex":1,"Key":"a","Flags":0,"Value":"aGVsbG8=","Session":"s-1","CreateIndex":3,"ModifyIndex":9}},{"KV":{"Key":"b","ModifyIndex":10}}],"Errors":null}` + "\n": true,
		`{"Results":null,"Errors":[{"OpIndex":1,"What":"failed to set key \"a\", index is stale"}]}`:                                                                                           true,
		` { "Errors" : [ ] , "Results" : [ ] } `: true,
		`{}`:                                     true,
		`{"Results":[{"KV":{"Key":"esc\u00e9aped","ModifyIndex":1}}],"Errors":null}`:      true,
		`{"Results":[{"KV":{"Key":"ü","ModifyIndex":1}}],"Errors":null}`:                  false,
		`{"Results":[{"Node":{"ID":"x"}}],"Errors":null}`:                                 false,
		`{"Results":[{"KV":{"Key":"a","ModifyIndex":1,"Extra":1}}],"Errors":null}`:        false,
		`{"Results":null,"Errors":[{"OpIndex":0,"What":"x","Extra":true}]}`:               false,
		`{"Results":[{"KV":{"Key":"a","ModifyIndex":1.5}}]}`:                              false,
		`{"Results":null,"Results":null}`:                                                 false,
		`{"Results":[{"KV":{"Key":"a","ModifyIndex":1}},],"Errors":null}`:                 false,
		`{"Results":[{"KV":{"Key":"a","ModifyIndex":1}}],"Errors":null} trailing garbage`: false,
	}
	for body, scanned := range bodies {
		_, ok := scanTxnResult([]byte(body))
		require.Equal(t, scanned, ok, "scanner takes %s", body)

		got, gotErr := decodeTxnResult([]byte(body))
		var tr api.TxnResponse
		wantErr := json.Unmarshal([]byte(body), &tr)
		if wantErr != nil {
			require.Error(t, gotErr, body)
			continue
		}
		require.NoError(t, gotErr, body)
		require.Equal(t, fromTxnResponse(&tr), got, body)
	}
}

func readReply(t *testing.T, raw string) (txnReply, error) {
	t.Helper()
	rep, _, err := readTxnReply(bufio.NewReaderSize(strings.NewReader(raw), 64), nil)
	return rep, err
}

func TestTxnReplyHeadersAndBody(t *testing.T) {
	rep, err := readReply(t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-consul-index: 42\r\nContent-Length: 5\r\n\r\nhello")
	require.NoError(t, err)
	require.Equal(t, txnReply{status: 200, index: 42, body: []byte("hello")}, rep)

	rep, err = readReply(t, "HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
	require.NoError(t, err)
	require.Equal(t, 409, rep.status)
	require.True(t, rep.close)

	rep, err = readReply(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	require.NoError(t, err)
	require.Equal(t, "abcde", string(rep.body))
	require.False(t, rep.close)

	// Trailer lines end the chunked body; the next answer follows.
	r := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Trailer: 1\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny"))
	for _, want := range []string{"x", "y"} {
		rep, _, err = readTxnReply(r, nil)
		require.NoError(t, err)
		require.Equal(t, want, string(rep.body))
	}

	rep, err = readReply(t, "HTTP/1.1 500 Internal Server Error\r\n\r\nno length")
	require.NoError(t, err)
	require.Equal(t, "no length", string(rep.body))
	require.True(t, rep.close, "a body without a length ends with the connection")

	rep, err = readReply(t, "HTTP/1.0 200 OK\nContent-Length: 0\n\n")
	require.NoError(t, err)
	require.True(t, rep.close, "HTTP/1.0 closes")
}

func TestTxnReplyMalformedOrCutShort(t *testing.T) {
	for raw, want := range map[string]error{
		"": io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n":                             io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort":                    io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n": io.ErrUnexpectedEOF,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab":          io.ErrUnexpectedEOF,
		"SSH-2.0-OpenSSH\r\n\r\n":                                               errMalformedReply,
		"HTTP/1.1 2x0 OK\r\n\r\n":                                               errMalformedReply,
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n":                                   errMalformedReply,
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n":                         errMalformedReply,
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab":   errMalformedReply,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n":                    errMalformedReply,
		"HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("x", 100) + "\r\n\r\n":   errMalformedReply,
	} {
		_, err := readReply(t, raw)
		require.ErrorIs(t, err, want, "%q", raw)
	}
}

// net/http's own server chunks an answer it has not sized, as Consul's
// does for a large transaction; the buffer grows and is handed back.
func TestTxnReplyFromNetHTTPServer(t *testing.T) {
	big := strings.Repeat("0123456789", 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "7")
		if r.URL.Path == "/big" {
			for i := 0; i < len(big); i += 1000 {
				_, _ = io.WriteString(w, big[i:i+1000])
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = io.WriteString(w, "small")
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	var buf []byte
	for _, path := range []string{"/big", "/small", "/big"} {
		_, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		require.NoError(t, err)
		var rep txnReply
		rep, buf, err = readTxnReply(r, buf)
		require.NoError(t, err, path)
		require.Equal(t, uint64(7), rep.index)
		require.False(t, rep.close, "kept alive")
		want := "small"
		if path == "/big" {
			want = big
		}
		require.Equal(t, want, string(rep.body), path)
	}
	require.GreaterOrEqual(t, cap(buf), len(big), "the grown buffer is handed back")
}

// Against Consul: a transaction of the most operations it takes, whose
// answer Consul sends chunked, and keys JSON must escape.
func TestLargeTransactionAndEscapedKeys(t *testing.T) {
	ctx := t.Context()
	c := newClient(t, shared.HTTPAddr)
	require.NotNil(t, c.txns)
	p := t.Name() + "/"
	ops := make([]Op, MaxTxnOps)
	for i := range ops {
		ops[i] = Set(fmt.Sprintf("%sk%03d", p, i), []byte(strings.Repeat("v", 100)))
	}
	entries, idx, err := c.Txn(ctx, ops)
	require.NoError(t, err)
	require.Len(t, entries, MaxTxnOps)
	for i, e := range entries {
		require.Equal(t, ops[i].key, e.Key)
		require.Equal(t, idx, e.ModifyIndex)
	}

	require.Len(t, c.txns.idle, 1)
	kept := c.txns.idle[0]

	odd := p + `quote" back\slash ü 日本 <&>`
	entries, _, err = c.Txn(ctx, []Op{SetCAS(odd, []byte("odd"), 0)})
	require.NoError(t, err)
	require.Equal(t, odd, entries[0].Key)
	require.Equal(t, []*txnConn{kept}, c.txns.idle, "the connection of the chunked answer is reused")
	got, _, err := c.Get(ctx, odd)
	require.NoError(t, err)
	require.Equal(t, "odd", string(got.Value))

	_, _, err = c.Txn(ctx, []Op{SetCAS(odd, []byte("again"), 0)})
	var te *TxnError
	require.True(t, errors.As(err, &te), "%v", err)
	require.Equal(t, 0, te.OpIndex)
}
