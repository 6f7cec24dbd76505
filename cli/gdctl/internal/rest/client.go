// Package rest is gdctl's client of the glusterd-ng REST API (docs/API.md):
// JSON requests tagged with one request id per invocation, and the server's
// error body turned back into an error.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody caps how much of a response gdctl reads (a volume list of a large
// cluster stays far below it).
const maxBody = 64 << 20

// Config says where and how a Client talks to glusterd-ng.
type Config struct {
	// Endpoint is the gateway's base URL, e.g. http://127.0.0.1:24008.
	Endpoint string
	// RequestID is sent as X-Request-Id on every request of the client.
	RequestID string
	// HTTPClient replaces a plain http.Client when set.
	HTTPClient *http.Client
}

// Client calls one glusterd-ng REST endpoint.
type Client struct {
	base      *url.URL
	http      *http.Client
	requestID string
}

// Request is one call of the API.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the escaped path below the endpoint, e.g. /v1/volumes/gv0:start.
	Path string
	// Query holds the query parameters, if any.
	Query url.Values
	// Body is sent as JSON when not nil.
	Body any
}

// Response is a successful (2xx) answer.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Body is the response body as the server sent it.
	Body []byte
}

// APIError is an error answer of the server: the HTTP status and the body
// {"code", "message", "details"} of docs/API.md.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the gRPC status code from the body.
	Code int
	// Message is the message for a person.
	Message string
	// Details are the status details as sent.
	Details []json.RawMessage
	// Body is the raw response body.
	Body []byte
	// RequestID is the X-Request-Id the server answered with.
	RequestID string
}

// Error returns the server's message.
func (e *APIError) Error() string { return e.Message }

// UnreachableError says the endpoint could not be reached or did not answer
// in time.
type UnreachableError struct {
	// Endpoint is the base URL that was called.
	Endpoint string
	// Err is the transport error.
	Err error
}

// Error names the endpoint and the cause.
func (e *UnreachableError) Error() string {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer from glusterd-ng at %s within the timeout (--timeout)", e.Endpoint)
	}
	return fmt.Sprintf("cannot reach glusterd-ng at %s: %v", e.Endpoint, e.Err)
}

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// ParseEndpoint checks an endpoint URL; "host:port" means http://host:port.
func ParseEndpoint(endpoint string) (*url.URL, error) {
	s := strings.TrimSpace(endpoint)
	if s == "" {
		return nil, errors.New("endpoint is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q has no host", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint %q must not have a query or fragment", endpoint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// New checks the endpoint and returns a client for it.
func New(cfg Config) (*Client, error) {
	base, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: base, http: hc, requestID: cfg.RequestID}, nil
}

// Endpoint is the base URL the client calls.
func (c *Client) Endpoint() string { return c.base.String() }

// Do sends req and returns the 2xx answer, an *APIError for an error answer
// or an *UnreachableError when the server could not be reached.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	target := c.base.String() + req.Path
	if len(req.Query) > 0 {
		target += "?" + req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		buf, err := json.Marshal(req.Body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", req.Method, req.Path, err)
		}
		body = bytes.NewReader(buf)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.Method, req.Path, err)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "gdctl")
	if req.Body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.requestID != "" {
		hreq.Header.Set("X-Request-Id", c.requestID)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, &UnreachableError{Endpoint: c.Endpoint(), Err: transportCause(err)}
	}
	defer func() { _ = resp.Body.Close() }()
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &UnreachableError{Endpoint: c.Endpoint(), Err: transportCause(err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp, buf)
	}
	return &Response{Status: resp.StatusCode, Body: buf}, nil
}

// transportCause drops the "Get \"url\":" prefix url.Error adds; the caller
// names the endpoint itself.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeError turns an error answer into an *APIError; a body that is not
// the API's error JSON (a proxy's page, say) still gives a readable message.
func decodeError(resp *http.Response, body []byte) *APIError {
	e := &APIError{Status: resp.StatusCode, Body: body, RequestID: resp.Header.Get("X-Request-Id")}
	var st struct {
		Code    int               `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err == nil {
		e.Code, e.Message, e.Details = st.Code, st.Message, st.Details
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if text := strings.TrimSpace(string(body)); text != "" && !strings.HasPrefix(text, "{") {
			if len(text) > 200 {
				text = text[:200] + "..."
			}
			e.Message += ": " + text
		}
	}
	return e
}

// Decode unmarshals the body into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode the server's answer: %w", err)
	}
	return nil
}

// DecodeList unmarshals a list answer into v: either a bare JSON array (the
// gateway's response_body mapping) or an object holding the list under field.
func (r *Response) DecodeList(field string, v any) error {
	trimmed := bytes.TrimSpace(r.Body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return r.Decode(v)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return fmt.Errorf("decode the server's answer: %w", err)
	}
	raw, ok := obj[field]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode the server's answer (%s): %w", field, err)
	}
	return nil
}
