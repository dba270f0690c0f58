package httpapi

// routes lists Carnet's whole HTTP surface.
func (s *Server) routes() {
	s.mux.Handle("GET /healthz", s.handleHealthz())
	s.mux.Handle("GET /readyz", s.handleReadyz())
	s.mux.Handle("GET /metrics", s.handleMetrics())
	s.mux.Handle("GET /{$}", s.handleHome())
}
