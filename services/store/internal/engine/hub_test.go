package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	storev1 "github.com/glusterd-ng/glusterd-ng/proto/gluster/store/v1"

	"github.com/glusterd-ng/glusterd-ng/libs/consulkv"
	"github.com/glusterd-ng/glusterd-ng/libs/errs"
	"github.com/glusterd-ng/glusterd-ng/services/store/internal/schema"
)

// fakeFeed is a hub whose listings the test hands in.
func fakeFeed(t *testing.T) (*hub, chan consulkv.WatchFunc) {
	layout, err := schema.NewLayout("t/")
	require.NoError(t, err)
	prefix, _ := layout.FeedPrefix(storev1.Kind_VOLUME)
	fns := make(chan consulkv.WatchFunc, 1)
	h := newHub(layout, prefix, zaptest.NewLogger(t), 100, time.Minute,
		func(ctx context.Context, fn consulkv.WatchFunc, _ consulkv.ErrorFunc) { fns <- fn })
	h.start(t.Context())
	require.NoError(t, h.acquire())
	t.Cleanup(h.release)
	return h, fns
}

func volEntry(name string, index uint64) consulkv.Entry {
	return consulkv.Entry{Key: "t/v1/volumes/" + name, Value: []byte(`{"name":"` + name + `"}`), ModifyIndex: index}
}

// watchVolumesFrom subscribes to volume changes after since, and takes the
// bookmark that says the backlog (empty) was delivered.
func watchVolumesFrom(t *testing.T, h *hub, since uint64) *subscriber {
	t.Helper()
	sub, err := h.subscribe(t.Context(), map[storev1.Kind]bool{storev1.Kind_VOLUME: true}, since)
	require.NoError(t, err)
	evs, err := sub.next(t.Context())
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, storev1.EventType_BOOKMARK, evs[0].Type)
	return sub
}

// Consul forgetting an old deletion lowers a prefix's index without any
// change under it: that is not a reset, and watches carry on; an index that
// went back with different contents is one, and ends them.
func TestIndexBackWithSameContentsIsNotAReset(t *testing.T) {
	h, fns := fakeFeed(t)
	fn := <-fns
	fn([]consulkv.Entry{volEntry("a", 10), volEntry("b", 20)}, 30, false)
	sub := watchVolumesFrom(t, h, 30)

	fn([]consulkv.Entry{volEntry("a", 10), volEntry("b", 20)}, 20, true)
	fn([]consulkv.Entry{volEntry("a", 10), volEntry("b", 40)}, 40, false)
	evs, err := sub.next(t.Context())
	require.NoError(t, err, "the watch goes on")
	require.Len(t, evs, 1)
	require.Equal(t, "b", evs[0].Key.Name)
	require.EqualValues(t, 40, evs[0].Version)

	fn([]consulkv.Entry{volEntry("a", 10)}, 15, true)
	_, err = sub.next(t.Context())
	require.True(t, errs.Is(err, errs.OutOfRange), "contents went back: %v", err)
}

// A kind's compacted key is read from its feed's listing: resuming from
// before it is refused, and it is never an event.
func TestCompactedKeyOfTheKindBoundsResumption(t *testing.T) {
	h, fns := fakeFeed(t)
	fn := <-fns
	fn([]consulkv.Entry{{Key: "t/v1/volumes/-compacted", Value: []byte("25"), ModifyIndex: 26}, volEntry("a", 30)}, 30, false)
	_, err := h.subscribe(t.Context(), map[storev1.Kind]bool{storev1.Kind_VOLUME: true}, 24)
	require.True(t, errs.Is(err, errs.OutOfRange), "%v", err)
	sub, err := h.subscribe(t.Context(), map[storev1.Kind]bool{storev1.Kind_VOLUME: true}, 25)
	require.NoError(t, err)
	evs, err := sub.next(t.Context())
	require.NoError(t, err)
	require.Len(t, evs, 2)
	require.Equal(t, "a", evs[0].Key.Name)
	require.Equal(t, storev1.EventType_BOOKMARK, evs[1].Type)
}

// A deletion through the store is reported once, by its tombstone; one made
// by hand (no tombstone) once, at the listing's index.
func TestDeletionIsReportedOnce(t *testing.T) {
	h, fns := fakeFeed(t)
	fn := <-fns
	fn([]consulkv.Entry{volEntry("a", 10), volEntry("b", 11)}, 11, false)
	sub := watchVolumesFrom(t, h, 11)

	tomb := consulkv.Entry{Key: "t/v1/volumes/-deleted/a", Value: []byte(`{"deleted_at":"2026-12-06T00:00:00Z"}`), ModifyIndex: 20}
	fn([]consulkv.Entry{tomb, volEntry("b", 11)}, 20, false)
	fn([]consulkv.Entry{tomb}, 25, false)
	var got []string
	for len(got) < 2 {
		evs, err := sub.next(t.Context())
		require.NoError(t, err)
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s %s %d", ev.Type, ev.Key.Name, ev.Version))
		}
	}
	require.Equal(t, []string{"DELETE a 20", "DELETE b 25"}, got)
}

// BenchmarkHubApplyOneChange is the feed's work for one listing of a
// volumes directory of 151 volumes and 150 deletion records in which one
// volume changed: what every volume change costs the store beside 150
// others.
func BenchmarkHubApplyOneChange(b *testing.B) {
	layout, err := schema.NewLayout("t/")
	require.NoError(b, err)
	prefix, _ := layout.FeedPrefix(storev1.Kind_VOLUME)
	h := newHub(layout, prefix, zaptest.NewLogger(b), 100, time.Minute,
		func(ctx context.Context, fn consulkv.WatchFunc, _ consulkv.ErrorFunc) {})
	h.start(b.Context())
	require.NoError(b, h.acquire())
	b.Cleanup(h.release)
	entries := []consulkv.Entry{{Key: "t/v1/volumes/-compacted", Value: []byte("0"), ModifyIndex: 1}}
	for i := range 150 {
		entries = append(entries, consulkv.Entry{Key: fmt.Sprintf("t/v1/volumes/-deleted/gone%03d", i),
			Value: []byte(`{"deleted_at":"2026-12-06T00:00:00Z"}`), ModifyIndex: uint64(10 + i)})
	}
	for i := range 151 {
		entries = append(entries, volEntry(fmt.Sprintf("vol%03d", i), uint64(1000+i)))
	}
	h.mu.Lock()
	gen := h.gen
	h.mu.Unlock()
	index := uint64(2000)
	h.apply(gen, entries, index, false)
	last := len(entries) - 1
	b.ReportAllocs()
	for b.Loop() {
		index++
		entries[last].ModifyIndex = index
		h.apply(gen, entries, index, false)
	}
}
