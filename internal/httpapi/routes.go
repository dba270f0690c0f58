package httpapi

// routes lists Carnet's whole HTTP surface.
func (s *Server) routes() {
	s.mux.Handle("GET /healthz", s.handleHealthz())
	s.mux.Handle("GET /readyz", s.handleReadyz())
	s.mux.Handle("GET /metrics", s.handleMetrics())
	s.mux.Handle("GET /{$}", s.handleHome())

	// The professional JSON API (bearer tokens), described at /api/openapi.json.
	s.mux.Handle("GET /api/openapi.json", s.handleOpenAPI())
	s.mux.Handle("GET /api/v1/ping", s.apiPing())
	s.mux.Handle("GET /api/v1/patients", s.pro(s.apiFindPatient))
	s.mux.Handle("POST /api/v1/patients/{pid}/consents", s.pro(s.apiDeclareConsent))
	s.mux.Handle("POST /api/v1/patients/{pid}/emergency", s.pro(s.apiEmergency))
	s.mux.Handle("GET /api/v1/patients/{pid}/documents", s.pro(s.apiListDocuments))
	s.mux.Handle("POST /api/v1/patients/{pid}/documents", s.pro(s.apiDeposit))
	s.mux.Handle("GET /api/v1/patients/{pid}/documents/{did}", s.pro(s.apiReadDocument))
	s.mux.Handle("GET /api/v1/patients/{pid}/documents/{did}/content", s.pro(s.apiDocumentContent))
	s.mux.Handle("POST /api/v1/patients/{pid}/documents/{did}/replace", s.pro(s.apiReplace))
	s.mux.Handle("POST /api/v1/patients/{pid}/documents/{did}/{action}", s.pro(s.apiDocumentAction))
	s.mux.Handle("GET /api/v1/patients/{pid}/vaccinations", s.pro(s.apiVaccinations))
	s.mux.Handle("POST /api/v1/patients/{pid}/vaccinations", s.pro(s.apiAddVaccination))
	s.mux.Handle("GET /api/v1/patients/{pid}/wishes", s.pro(s.apiWishes))
}
