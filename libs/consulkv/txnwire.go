package consulkv

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strconv"
	"unicode/utf8"

	"github.com/hashicorp/consul/api"
)

// A store write is one small transaction, and its own work is a few tens
// of microseconds on top of Consul's. encoding/json and net/http's
// response parser took a third of that: reflection over api.TxnOps and
// api.TxnResponse, and a header map per answer. The request body is
// written here directly, and the answer parsed for the few headers and the
// one shape Consul gives; any other shape of answer is decoded with
// encoding/json as before.

// appendTxnBody appends ops as the JSON body of PUT /v1/txn, the document
// json.Marshal(api.TxnOps) gives without its empty fields.
func appendTxnBody(b []byte, ops []Op) []byte {
	b = append(b, '[')
	for i, o := range ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"KV":{"Verb":`...)
		b = appendJSONString(b, string(o.verb))
		b = append(b, `,"Key":`...)
		b = appendJSONString(b, o.key)
		if o.value != nil {
			b = append(b, `,"Value":"`...)
			b = base64.StdEncoding.AppendEncode(b, o.value)
			b = append(b, '"')
		}
		if o.index != 0 {
			b = append(b, `,"Index":`...)
			b = strconv.AppendUint(b, o.index, 10)
		}
		if o.session != "" {
			b = append(b, `,"Session":`...)
			b = appendJSONString(b, o.session)
		}
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// (without its HTML escaping, which Consul does not need): invalid UTF-8
// becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// txnReply is Consul's HTTP answer to a transaction.
type txnReply struct {
	status int
	// index is the X-Consul-Index header (0 when absent).
	index uint64
	// close says the connection cannot take another request.
	close bool
	// body is valid until the next answer is read into the same buffer.
	body []byte
}

// errMalformedReply is an answer that is not the HTTP/1.1 Consul speaks.
var errMalformedReply = errors.New("malformed HTTP answer from Consul")

// maxReplyBody bounds the body of an answer to a transaction: 128
// operations' results, with values, stay far below it.
const maxReplyBody = 64 << 20

// readTxnReply reads one HTTP/1.1 answer from r, its body into buf (grown
// as needed; the grown buffer is returned for reuse).
func readTxnReply(r *bufio.Reader, buf []byte) (txnReply, []byte, error) {
	var rep txnReply
	line, err := readLine(r)
	if err != nil {
		return rep, buf, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return rep, buf, fmt.Errorf("%w: status line %q", errMalformedReply, line)
	}
	if line[7] == '0' {
		rep.close = true // HTTP/1.0 closes unless told otherwise
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 || (len(line) > 12 && line[12] != ' ') {
		return rep, buf, fmt.Errorf("%w: status line %q", errMalformedReply, line)
	}
	rep.status = code
	length, chunked := -1, false
	err = readLines(r, func(line []byte) error {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return fmt.Errorf("%w: header line %q", errMalformedReply, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return fmt.Errorf("%w: Content-Length %q", errMalformedReply, value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return fmt.Errorf("%w: Transfer-Encoding %q", errMalformedReply, value)
			}
			chunked = true
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				rep.close = true
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				rep.close = false
			}
		case bytes.EqualFold(name, []byte("X-Consul-Index")):
			rep.index, _ = strconv.ParseUint(string(value), 10, 64)
		}
		return nil
	})
	if err != nil {
		return rep, buf, err
	}
	var body io.Reader
	switch {
	case code < 200 || code == 204 || code == 304:
		rep.body = buf[:0]
		return rep, buf, nil
	case chunked:
		body = httputil.NewChunkedReader(r)
	case length >= 0:
		if length > maxReplyBody {
			return rep, buf, fmt.Errorf("%w: a body of %d bytes", errMalformedReply, length)
		}
		if cap(buf) < length {
			buf = make([]byte, length)
		}
		rep.body = buf[:length]
		if _, err := io.ReadFull(r, rep.body); err != nil {
			return rep, buf, unexpectedEOF(err)
		}
		return rep, buf, nil
	default:
		// No length: the body ends with the connection.
		rep.close = true
		body = r
	}
	w := bytes.NewBuffer(buf[:0])
	if _, err := w.ReadFrom(io.LimitReader(body, maxReplyBody+1)); err != nil {
		return rep, buf, unexpectedEOF(err)
	}
	if w.Len() > maxReplyBody {
		return rep, buf, fmt.Errorf("%w: a body over %d bytes", errMalformedReply, maxReplyBody)
	}
	if chunked {
		// The last chunk is followed by trailer lines and an empty line,
		// which the chunked reader leaves unread.
		if err := readLines(r, func([]byte) error { return nil }); err != nil {
			return rep, buf, err
		}
	}
	rep.body = w.Bytes()
	return rep, w.Bytes()[:0], nil
}

// readLines hands each line of a header or trailer section to each, up to
// the empty line that ends the section.
func readLines(r *bufio.Reader, each func(line []byte) error) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if err := each(line); err != nil {
			return err
		}
	}
}

// readLine reads one header line without its line end.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: a header line over %d bytes", errMalformedReply, r.Size())
	}
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// unexpectedEOF reports an answer cut short as such.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// txnResult is what a transaction's answer says.
type txnResult struct {
	// entries are the KV results, in order.
	entries []Entry
	// errors are Consul's reasons for refusing it.
	errors []TxnError
}

// decodeTxnResult decodes the body of an answer to a transaction.
func decodeTxnResult(body []byte) (txnResult, error) {
	if res, ok := scanTxnResult(body); ok {
		return res, nil
	}
	var tr api.TxnResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return txnResult{}, fmt.Errorf("decode transaction response: %w", err)
	}
	return fromTxnResponse(&tr), nil
}

// fromTxnResponse keeps what consulkv uses of an api.TxnResponse.
func fromTxnResponse(tr *api.TxnResponse) txnResult {
	var res txnResult
	for _, r := range tr.Results {
		if r != nil && r.KV != nil {
			res.entries = append(res.entries, fromPair(r.KV))
		}
	}
	for _, e := range tr.Errors {
		if e != nil {
			res.errors = append(res.errors, TxnError{OpIndex: e.OpIndex, What: e.What})
		}
	}
	return res
}

// scanTxnResult parses the shape Consul gives a KV transaction's answer,
// {"Results":[{"KV":{...}},...],"Errors":[{"OpIndex":0,"What":"..."},...]},
// either list possibly null; ok is false for anything else.
func scanTxnResult(body []byte) (res txnResult, ok bool) {
	s := scanner{b: body}
	if !s.next('{') {
		return res, false
	}
	seen := map[string]bool{}
	for !s.next('}') {
		if len(seen) > 0 && !s.next(',') {
			return res, false
		}
		name, escaped, ok := s.rawString()
		if !ok || escaped || !s.next(':') || seen[string(name)] {
			return res, false
		}
		seen[string(name)] = true
		switch string(name) {
		case "Results":
			ok = s.list(func() bool {
				if !s.next('{') {
					return false
				}
				field, escaped, ok := s.rawString()
				if !ok || escaped || string(field) != "KV" || !s.next(':') {
					return false
				}
				e, ok := s.entry(nil)
				if !ok || !s.next('}') {
					return false
				}
				res.entries = append(res.entries, e)
				return true
			})
		case "Errors":
			ok = s.list(func() bool {
				e, ok := s.txnError()
				res.errors = append(res.errors, e)
				return ok
			})
		default:
			return res, false
		}
		if !ok {
			return res, false
		}
	}
	return res, s.end()
}

// list consumes null or an array whose elements item consumes.
func (s *scanner) list(item func() bool) bool {
	if s.literal("null") {
		return true
	}
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for {
		if !item() {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next(']')
	}
}

// txnError consumes one {"OpIndex":n,"What":"..."} object.
func (s *scanner) txnError() (TxnError, bool) {
	var e TxnError
	if !s.next('{') {
		return e, false
	}
	seen := 0
	for !s.next('}') {
		if seen > 0 && !s.next(',') {
			return e, false
		}
		name, escaped, ok := s.rawString()
		if !ok || escaped || !s.next(':') {
			return e, false
		}
		switch string(name) {
		case "OpIndex":
			var n uint64
			n, ok = s.uint()
			ok = ok && seen&1 == 0 && n <= uint64(MaxTxnOps)
			e.OpIndex, seen = int(n), seen|1
		case "What":
			e.What, ok = s.string()
			ok = ok && seen&2 == 0
			seen |= 2
		default:
			return e, false
		}
		if !ok {
			return e, false
		}
	}
	return e, true
}
