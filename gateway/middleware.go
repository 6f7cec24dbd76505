package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/glusterd-ng/glusterd-ng/libs/grpcx"
	"github.com/glusterd-ng/glusterd-ng/libs/log"
)

// httpMetrics counts requests and their latency by method and status.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total", Help: "REST requests served, by method and status.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_http_request_seconds", Help: "REST request latency, by method.", Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Flush lets streaming responses through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// validRequestID accepts client request ids of sane length and characters.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// middleware gives every request an id (echoing a valid X-Request-Id),
// writes one access log line and records metrics.
func (g *Gateway) middleware(next http.Handler) http.Handler {
	access := g.log.Named("access")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(grpcx.WithRequestID(r.Context(), id)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		g.metrics.requests.WithLabelValues(r.Method, strconv.Itoa(sw.status)).Inc()
		g.metrics.latency.WithLabelValues(r.Method).Observe(d.Seconds())
		access.Info("request",
			zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Int("status", sw.status),
			zap.Int("bytes", sw.bytes), zap.Duration("duration", d), log.RequestID(id),
			zap.String("remote", r.RemoteAddr))
	})
}

// maxAsyncBody bounds a request body the async rewrite reads.
const maxAsyncBody = 1 << 20

// asyncQuery lets every operation take ?async=true (API.md), also those
// whose whole JSON body is the request message, where grpc-gateway reads no
// query parameters: the flag is moved into the body.
func asyncQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("async") == "" || (r.Method != http.MethodPost && r.Method != http.MethodPatch) {
			next.ServeHTTP(w, r)
			return
		}
		async, err := strconv.ParseBool(q.Get("async"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "async: want true or false", "details": []any{}})
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxAsyncBody))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "cannot read the request body", "details": []any{}})
			return
		}
		body := map[string]any{}
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"code": 3, "message": "the request body is not a JSON object: " + err.Error(), "details": []any{}})
				return
			}
		}
		body["async"] = async
		raw, _ = json.Marshal(body)
		q.Del("async")
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = q.Encode()
		r2.Body = io.NopCloser(bytes.NewReader(raw))
		r2.ContentLength = int64(len(raw))
		next.ServeHTTP(w, r2)
	})
}
