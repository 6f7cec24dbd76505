package consulkv

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/glusterd-ng/glusterd-ng/libs/testutil"
)

// listingOf writes n entries the way Consul lists them, each value size
// bytes, the entry i at ModifyIndex base+i.
func listingOf(n, size int, base uint64) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		v := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		fmt.Fprintf(&b, `{"LockIndex":0,"Key":"glusterd-ng/v1/volumes/vol-%03d","Flags":0,"Value":%q,"CreateIndex":%d,"ModifyIndex":%d}`,
			i, base64.StdEncoding.EncodeToString(v), base+uint64(i), base+uint64(i))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// decodeBoth decodes body both ways and checks that they agree whenever
// the fast way takes it: the same entries, except that an entry at the
// index (and with the session) it has in known has known's value, which
// Consul guarantees is the same.
func decodeBoth(t testing.TB, body []byte, known map[string]Entry) (fast []Entry, ok bool) {
	fast, ok = decodeListing(body, known)
	slow, err := decodeListingSlow(body)
	if ok {
		require.NoError(t, err, "the fast decoder took a listing encoding/json refuses: %q", body)
		for i, e := range slow {
			k, seen := known[e.Key]
			if seen && e.Value != nil && k.Value != nil && k.ModifyIndex == e.ModifyIndex && k.CreateIndex == e.CreateIndex &&
				k.LockIndex == e.LockIndex && k.Session == e.Session &&
				base64.StdEncoding.EncodedLen(len(k.Value)) == base64.StdEncoding.EncodedLen(len(e.Value)) {
				slow[i].Value = k.Value
			}
		}
		require.Equal(t, slow, fast, "the decoders disagree on %q", body)
	}
	return fast, ok
}

func TestDecodeListingAgreesWithEncodingJSON(t *testing.T) {
	taken := map[string]string{
		"empty array":  `[]`,
		"null":         `null`,
		"Consul's own": string(listingOf(3, 40, 7)),
		"white space and a session": ` [ {"LockIndex" : 1, "Key":"runtime/n/b1", "Flags":0, "Value":"eyJhIjoxfQ==",
			"Session":"6b2b8f0e-1d5b-4bd0-8a61-1d0d3c1a2b3c", "CreateIndex":5, "ModifyIndex":9} ] `,
		"null and empty values": `[{"Key":"a","Value":null,"CreateIndex":1,"ModifyIndex":1},{"Key":"b","Value":"","CreateIndex":2,"ModifyIndex":2}]`,
		"escaped key":           `[{"Key":"a\u0026b\\\"c","Value":"eA==","CreateIndex":1,"ModifyIndex":1}]`,
		"enterprise fields":     `[{"Key":"a","Namespace":"default","Partition":"default","Value":"eA==","CreateIndex":1,"ModifyIndex":1}]`,
		"no value at all":       `[{"Key":"a","CreateIndex":1,"ModifyIndex":1}]`,
		"empty entry":           `[{}]`,
	}
	for name, body := range taken {
		_, ok := decodeBoth(t, []byte(body), nil)
		require.True(t, ok, "%s: the fast decoder should take %q", name, body)
	}
	// Left to encoding/json, which may take or refuse them.
	for _, body := range []string{
		``, `{}`, `[`, `[{"Key":"a"}`, `[{"Key":"a"},]`, `[null]`, `[{"key":"a"}]`,
		`[{"Key":"a","Key":"b"}]`, `[{"Key":"é"}]`, `[{"Key":"a","Other":1}]`,
		`[{"Key":"a","ModifyIndex":1.5}]`, `[{"Key":"a","ModifyIndex":-1}]`, `[{"Key":"a","ModifyIndex":01}]`,
		`[{"Key":"a","ModifyIndex":18446744073709551616}]`, `[{"Key":"a","Value":"not base64!"}]`,
		`[{"Key":"a","Value":"eA\u003d\u003d"}]`, "[{\"Key\":\"a\tb\"}]", `[] x`, `nullx`,
	} {
		_, ok := decodeBoth(t, []byte(body), nil)
		require.False(t, ok, "the fast decoder should leave %q to encoding/json", body)
	}
}

func TestDecodeListingReusesOnlyUnchangedValues(t *testing.T) {
	first, ok := decodeBoth(t, listingOf(4, 100, 10), nil)
	require.True(t, ok)
	known := map[string]Entry{}
	for _, e := range first {
		known[e.Key] = e
	}
	// The same listing: every value is the one already decoded.
	again, ok := decodeBoth(t, listingOf(4, 100, 10), known)
	require.True(t, ok)
	for i := range again {
		require.Same(t, &first[i].Value[0], &again[i].Value[0], "entry %d decoded again", i)
	}
	// Entry 0 changed (new index, other value): decoded anew.
	body := bytes.Replace(listingOf(4, 100, 10), []byte(`"ModifyIndex":10}`), []byte(`"ModifyIndex":20}`), 1)
	body = bytes.Replace(body, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), 100))),
		[]byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("z"), 100))), 1)
	changed, ok := decodeBoth(t, body, known)
	require.True(t, ok)
	require.Equal(t, bytes.Repeat([]byte("z"), 100), changed[0].Value)
	require.Same(t, &first[1].Value[0], &changed[1].Value[0])
	// Same index but another session (a lock taken over): decoded anew.
	held := []byte(`[{"Key":"glusterd-ng/v1/volumes/vol-001","Value":"eA==","Session":"s2","CreateIndex":11,"ModifyIndex":11}]`)
	got, ok := decodeBoth(t, held, known)
	require.True(t, ok)
	require.Equal(t, []byte("x"), got[0].Value)
}

func FuzzDecodeListing(f *testing.F) {
	f.Add(listingOf(3, 20, 1))
	f.Add([]byte(`[{"Key":"a\u0026b","Value":null,"Session":"s","LockIndex":1,"Flags":0,"CreateIndex":1,"ModifyIndex":2}]`))
	f.Add([]byte(`[{"Key":"a","Value":"","CreateIndex":1,"ModifyIndex":1}]`))
	known := map[string]Entry{}
	seed, _ := decodeListingSlow(listingOf(3, 20, 1))
	for _, e := range seed {
		known[e.Key] = e
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// With known, a reused value must still be the one in the listing.
		decodeBoth(t, body, nil)
		decodeBoth(t, body, known)
	})
}

// BenchmarkDecodeListing decodes what a watch of 151 volume records lists
// after one of them changed: with encoding/json (as consul/api does) and
// with decodeListing knowing the previous listing.
func BenchmarkDecodeListing(b *testing.B) {
	body := listingOf(151, 930, 100)
	prev, _ := decodeListingSlow(listingOf(151, 930, 100))
	known := map[string]Entry{}
	for _, e := range prev[1:] {
		known[e.Key] = e
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeListingSlow(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan-known", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := decodeListing(body, known); !ok {
				b.Fatal("not taken")
			}
		}
	})
}

// TestWatchListingsAgreeWithConsul follows a prefix on a real Consul
// through writes, a session's lock and its release, a delete, and values
// that need escaping, and checks every listing the watch delivers against
// a consul/api listing at the same index.
func TestWatchListingsAgreeWithConsul(t *testing.T) {
	c := newClient(t, shared.HTTPAddr)
	require.NotNil(t, c.plain, "plain HTTP to Consul reads listings with decodeListing")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := t.Name() + "/"

	type listing struct {
		entries []Entry
		index   uint64
	}
	var mu sync.Mutex
	var got []listing
	go c.WatchPrefix(ctx, p, func(entries []Entry, index uint64, _ bool) {
		mu.Lock()
		got = append(got, listing{entries, index})
		mu.Unlock()
	}, nil)
	last := func() listing {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return listing{}
		}
		return got[len(got)-1]
	}
	// Every delivered listing stays as it was when delivered (a watch
	// reuses its buffers): checked again at the end.
	type delivered struct {
		step       string
		want, seen []Entry
	}
	var all []delivered
	check := func(step string) {
		t.Helper()
		want, index, err := c.List(ctx, p)
		require.NoError(t, err)
		testutil.Await(t, 5*time.Second, func() bool { return last().index >= index }, "watch saw "+step)
		l := last()
		require.Equal(t, index, l.index, step)
		require.Equal(t, want, l.entries, step)
		all = append(all, delivered{step, want, l.entries})
	}
	defer func() {
		for _, d := range all {
			require.Equal(t, d.want, d.seen, "the listing of %q changed after it was delivered", d.step)
		}
	}()
	for i := range 5 {
		require.NoError(t, c.CAS(ctx, fmt.Sprintf("%sk%d", p, i), []byte(strings.Repeat("v", 100*i)), 0))
	}
	check("five keys")
	require.NoError(t, c.CAS(ctx, p+"k2", []byte(`<&> "quoted" \ and ünïcode`), mustIndex(t, c, p+"k2")))
	check("one changed")
	sess, err := c.CreateSession(ctx, SessionConfig{TTL: 10 * time.Second})
	require.NoError(t, err)
	_, _, err = c.Txn(ctx, []Op{Lock(p+"k3", []byte("held"), sess)})
	require.NoError(t, err)
	check("locked")
	require.NoError(t, c.DestroySession(ctx, sess))
	check("released")
	_, _, err = c.Txn(ctx, []Op{DeleteCAS(p+"k1", mustIndex(t, c, p+"k1")), Set(p+"empty", nil)})
	require.NoError(t, err)
	check("deleted one, an empty value")
}

func mustIndex(t *testing.T, c *Client, key string) uint64 {
	t.Helper()
	e, _, err := c.Get(t.Context(), key)
	require.NoError(t, err)
	require.NotNil(t, e)
	return e.ModifyIndex
}
