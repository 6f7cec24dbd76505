package consulkv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"
)

// A watch lists its whole prefix after every change, and almost every
// entry of that listing is one the watch has already seen. Decoding the
// listing with encoding/json base64-decodes every value again and runs
// the JSON state machine over every byte; decodeListing instead scans the
// listing and takes the value of an entry it has seen at the same index
// from the previous listing, so a listing costs a scan plus the decoding
// of what changed.

// watchListing is what a watch keeps from one listing for the next.
type watchListing struct {
	known map[string]Entry // the last listing's entries by key
	spare map[string]Entry // the one before, refilled by the next remember
	body  bytes.Buffer     // the last listing's bytes; entries do not point into it
}

// remember keeps entries as the last listing.
func (w *watchListing) remember(entries []Entry) {
	w.known, w.spare = w.spare, w.known
	if w.known == nil {
		w.known = make(map[string]Entry, len(entries))
	}
	clear(w.known)
	for _, e := range entries {
		w.known[e.Key] = e
	}
}

// forget makes the next listing decode every value.
func (w *watchListing) forget() { clear(w.known) }

// listWatched reads prefix for WatchPrefix: a blocking query for a change
// after index (or, with consistent, a consistent read that does not block).
// Entries that last knows at the same index keep its value. It reads over
// an HTTP client of its own when the client talks plain HTTP, else through
// consul/api.
func (c *Client) listWatched(ctx context.Context, prefix string, index uint64, consistent bool, last *watchListing) ([]Entry, uint64, error) {
	if c.plain == nil {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: c.waitTime}
		if consistent {
			q = &api.QueryOptions{RequireConsistent: true}
		}
		return c.list(ctx, prefix, q)
	}
	query := url.Values{"recurse": {""}}
	if consistent {
		query.Set("consistent", "")
	} else {
		query.Set("index", strconv.FormatUint(index, 10))
		query.Set("wait", fmt.Sprintf("%dms", c.waitTime.Milliseconds()))
	}
	u := url.URL{Scheme: "http", Host: c.addr, Path: "/v1/kv/" + prefix, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, c.Classify(err, "list "+prefix)
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	resp, err := c.plain.Do(req)
	if err != nil {
		return nil, 0, c.Classify(err, "list "+prefix)
	}
	last.body.Reset()
	_, err = last.body.ReadFrom(resp.Body)
	resp.Body.Close()
	body := last.body.Bytes()
	if err != nil {
		return nil, 0, c.Classify(err, "list "+prefix)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		// The error the api client would give, so Classify reads it alike.
		return nil, 0, c.Classify(api.StatusError{Code: resp.StatusCode, Body: string(body)}, "list "+prefix)
	}
	newIndex, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		return nil, 0, c.Classify(fmt.Errorf("Consul's answer has no valid X-Consul-Index: %w", err), "list "+prefix)
	}
	meta := &api.QueryMeta{LastIndex: newIndex, KnownLeader: resp.Header.Get("X-Consul-KnownLeader") == "true"}
	if ms, err := strconv.ParseUint(resp.Header.Get("X-Consul-LastContact"), 10, 64); err == nil {
		meta.LastContact = time.Duration(ms) * time.Millisecond
	}
	noteStale(ctx, meta)
	if resp.StatusCode == http.StatusNotFound {
		return nil, newIndex, nil
	}
	entries, ok := decodeListing(body, last.known)
	if !ok {
		if entries, err = decodeListingSlow(body); err != nil {
			return nil, 0, c.Classify(err, "list "+prefix)
		}
	}
	return entries, newIndex, nil
}

// decodeListingSlow decodes a listing as the consul/api client does.
func decodeListingSlow(body []byte) ([]Entry, error) {
	var ps []*api.KVPair
	if err := json.Unmarshal(body, &ps); err != nil {
		return nil, fmt.Errorf("decode Consul's listing: %w", err)
	}
	out := make([]Entry, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, fromPair(p))
		}
	}
	return out, nil
}

// decodeListing parses Consul's KV listing, a JSON array of entries, the
// way decodeListingSlow does. An entry whose key, indexes and session are
// those of its entry in known takes known's value (Consul gives a changed
// entry a new ModifyIndex). ok is false for anything but the shape Consul
// writes; the caller then decodes with decodeListingSlow.
func decodeListing(body []byte, known map[string]Entry) (out []Entry, ok bool) {
	s := scanner{b: body}
	if s.literal("null") {
		return []Entry{}, s.end()
	}
	if !s.next('[') {
		return nil, false
	}
	out = []Entry{}
	if s.next(']') {
		return out, s.end()
	}
	for {
		e, ok := s.entry(known)
		if !ok {
			return nil, false
		}
		out = append(out, e)
		if s.next(',') {
			continue
		}
		if !s.next(']') {
			return nil, false
		}
		return out, s.end()
	}
}

// scanner reads the JSON that Consul writes for a KV listing.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c if it is the next token.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal consumes word if it is the next token.
func (s *scanner) literal(word string) bool {
	s.space()
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}

// end reports whether nothing but white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// rawString consumes a string token and returns its content as written
// (escapes not resolved) and whether it has any escape.
func (s *scanner) rawString() (raw []byte, escaped, ok bool) {
	if !s.next('"') {
		return nil, false, false
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, false
		}
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		k := s.i + j
		n := 0
		for k-n-1 >= start && s.b[k-n-1] == '\\' {
			n++
		}
		s.i = k + 1
		if n%2 == 0 {
			raw = s.b[start:k]
			for _, c := range raw {
				if c < 0x20 {
					return nil, false, false // control characters must be escaped
				}
			}
			return raw, bytes.IndexByte(raw, '\\') >= 0, true
		}
	}
}

// string consumes a string token and returns its value.
func (s *scanner) string() (string, bool) {
	start := s.i
	raw, escaped, ok := s.rawString()
	if !ok {
		return "", false
	}
	if !escaped {
		if !utf8Valid(raw) {
			return "", false
		}
		return string(raw), true
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
		return "", false
	}
	return out, true
}

// utf8Valid is true for text encoding/json would take as it is.
func utf8Valid(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			// Leave the replacement of invalid sequences to encoding/json.
			return false
		}
	}
	return true
}

// uint consumes a non-negative integer token.
func (s *scanner) uint() (uint64, bool) {
	s.space()
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == start || (s.b[start] == '0' && s.i-start > 1) {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// entry's fields, as bits of the set an entry has seen.
const (
	fieldKey = 1 << iota
	fieldSession
	fieldNamespace
	fieldPartition
	fieldValue
	fieldLockIndex
	fieldFlags
	fieldCreateIndex
	fieldModifyIndex
)

// entry consumes one entry object.
func (s *scanner) entry(known map[string]Entry) (Entry, bool) {
	var e Entry
	if !s.next('{') {
		return e, false
	}
	var value []byte
	hasValue, seen := false, 0
	if !s.next('}') {
		for {
			name, escaped, ok := s.rawString()
			if !ok || escaped || !s.next(':') {
				return e, false
			}
			var field int
			switch string(name) {
			case "Key":
				field = fieldKey
				e.Key, ok = s.string()
			case "Session":
				field = fieldSession
				e.Session, ok = s.string()
			case "Namespace":
				field = fieldNamespace
				_, ok = s.string()
			case "Partition":
				field = fieldPartition
				_, ok = s.string()
			case "Value":
				field = fieldValue
				if s.literal("null") {
					break
				}
				value, escaped, ok = s.rawString()
				ok = ok && !escaped
				hasValue = true
			case "LockIndex":
				field = fieldLockIndex
				e.LockIndex, ok = s.uint()
			case "Flags":
				field = fieldFlags
				_, ok = s.uint()
			case "CreateIndex":
				field = fieldCreateIndex
				e.CreateIndex, ok = s.uint()
			case "ModifyIndex":
				field = fieldModifyIndex
				e.ModifyIndex, ok = s.uint()
			}
			// An unknown or repeated field is left to encoding/json.
			if !ok || field == 0 || seen&field != 0 {
				return e, false
			}
			seen |= field
			if s.next(',') {
				continue
			}
			if !s.next('}') {
				return e, false
			}
			break
		}
	}
	if !hasValue {
		return e, true
	}
	if k, ok := known[e.Key]; ok && k.ModifyIndex == e.ModifyIndex && k.CreateIndex == e.CreateIndex &&
		k.LockIndex == e.LockIndex && k.Session == e.Session && k.Value != nil &&
		base64.StdEncoding.EncodedLen(len(k.Value)) == len(value) {
		e.Value = k.Value
		return e, true
	}
	e.Value = make([]byte, base64.StdEncoding.DecodedLen(len(value)))
	n, err := base64.StdEncoding.Decode(e.Value, value)
	if err != nil {
		return e, false
	}
	e.Value = e.Value[:n]
	return e, true
}
