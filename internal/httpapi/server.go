// Package httpapi is Carnet's HTTP surface: health and readiness probes, Prometheus metrics, the
// JSON API and the FHIR R4 facade. routes.go lists every route. Handlers call the service layer
// and never a store.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/fhir"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Deps are the server's dependencies.
type Deps struct {
	Service  *service.Service
	Ready    func(ctx context.Context) error // readiness check (the store answers)
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Version  string
	Auth     Authenticator // the professional API's authentication; nil: the API answers 503
	MaxBody  int64         // the largest document body accepted (default 20 MiB)
	// SMART adds to (or overrides) the /.well-known/smart-configuration document, e.g. the
	// token_endpoint of the configured OpenID Connect issuer.
	SMART map[string]any
	// JWKS is the public key set of Carnet's embedded token issuer, served at
	// /.well-known/jwks.json (nil: not served).
	JWKS []byte
	// Web serves every path the API does not (the portal's pages); nil: a small home page.
	Web http.Handler
}

// Server is the HTTP handler.
type Server struct {
	web      http.Handler
	svc      *service.Service
	ready    func(ctx context.Context) error
	log      *slog.Logger
	registry *prometheus.Registry
	version  string
	auth     Authenticator
	maxBody  int64
	smart    map[string]any
	jwks     []byte
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	mux      *http.ServeMux
}

// NewServer builds the handler.
func NewServer(d Deps) *Server {
	s := &Server{svc: d.Service, ready: d.Ready, log: d.Logger, registry: d.Registry, version: d.Version, mux: http.NewServeMux(),
		auth: d.Auth, maxBody: d.MaxBody, smart: d.SMART, jwks: d.JWKS, web: d.Web}
	if s.maxBody <= 0 {
		s.maxBody = 20 << 20
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carnet_http_requests_total", Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "carnet_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	s.registry.MustRegister(s.requests, s.latency)
	s.routes()
	return s
}

// ServeHTTP adds the usual security headers, a request ID, metrics and an access log line (with
// no identifier or health data in it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	rid := r.Header.Get("X-Request-Id")
	if rid == "" || len(rid) > 64 {
		rid = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	h.Set("X-Request-Id", rid)
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	_, pattern := s.mux.Handler(r)
	s.mux.ServeHTTP(rec, r)
	if pattern == "" {
		pattern = "unmatched"
	}
	s.requests.WithLabelValues(pattern, strconv.Itoa(rec.code)).Inc()
	s.latency.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "http", slog.String("route", pattern), slog.Int("status", rec.code),
		slog.Duration("duration", time.Since(start)), slog.String("request_id", rid))
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	})
}

func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if s.ready != nil {
			if err := s.ready(ctx); err != nil {
				s.log.Warn("not ready", "err", err)
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "indisponible"})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (s *Server) handleMetrics() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// httpStatus maps an error to its HTTP status, with the same table as the FHIR facade's
// OperationOutcome (internal/fhir), so that both surfaces answer alike.
func httpStatus(err error) int {
	status, _ := fhir.OutcomeFromError(err)
	return status
}

// writeError answers with the error's user-facing message; internal errors are logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := httpStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("internal error", "route", r.Pattern, "err", err)
	}
	writeJSON(w, code, map[string]string{"error": carnet.ErrorCode(err), "message": carnet.ErrorMessage(err)})
}
