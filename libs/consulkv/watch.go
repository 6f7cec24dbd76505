package consulkv

import (
	"context"
	"time"
)

// WatchFunc receives the full contents of a watched prefix each time its
// index moves. reset is true when Consul's index went backwards (a restored
// or rebuilt cluster), so earlier indexes no longer compare with new ones.
type WatchFunc func(entries []Entry, index uint64, reset bool)

// ErrorFunc receives each failed blocking query (the watch keeps retrying).
type ErrorFunc func(err error, attempt int)

// WatchPrefix follows prefix with blocking queries until ctx ends, calling fn
// on every change. It handles index resets as Consul documents (an index that
// goes backwards restarts from 0; an index of 0 is treated as 1) and retries
// failed queries with capped exponential backoff, so it survives Consul
// restarts and leader changes.
func (c *Client) WatchPrefix(ctx context.Context, prefix string, fn WatchFunc, onErr ErrorFunc) {
	var index uint64
	backoff := 50 * time.Millisecond
	const maxBackoff = 2 * time.Second
	attempt := 0
	var last watchListing
	for ctx.Err() == nil {
		// After a failure, read without blocking first: a Consul that came
		// back with less data has a lower index, and a blocking query for
		// our old index would sit out its whole wait time before saying so.
		// That read is also consistent: a Consul server that has just
		// restarted may answer default reads while it is still replaying its
		// log, with an index that looks like lost data but is not.
		consistent := attempt > 0 || index == 0
		if consistent {
			// Decode every value again after a failure: a Consul that came
			// back may be another cluster's, with other values at the same
			// indexes.
			last.forget()
		}
		started := time.Now()
		entries, newIndex, err := c.listWatched(ctx, prefix, index, consistent, &last)
		wentBack := err == nil && max(newIndex, 1) < index
		if wentBack && c.plain != nil {
			// Going back, the indexes may be another history's: list again,
			// decoding every value.
			last.forget()
			entries, newIndex, err = c.listWatched(ctx, prefix, 0, true, &last)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			attempt++
			if onErr != nil {
				onErr(err, attempt)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		attempt = 0
		backoff = 50 * time.Millisecond
		if newIndex == 0 {
			newIndex = 1
		}
		if c.plain != nil {
			last.remember(entries)
		}
		switch {
		case wentBack:
			fn(entries, newIndex, true)
		case newIndex > index:
			fn(entries, newIndex, false)
		default:
			continue
		}
		index = newIndex
		// The next listing no sooner than interval after this one began:
		// what lands meanwhile is read once, together.
		if wait := c.interval - time.Since(started); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}
