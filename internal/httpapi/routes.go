package httpapi

import "github.com/carnet-sante/carnet"

// routes lists Carnet's whole HTTP surface.
func (s *Server) routes() {
	s.mux.Handle("GET /healthz", s.handleHealthz())
	s.mux.Handle("GET /readyz", s.handleReadyz())
	s.mux.Handle("GET /metrics", s.handleMetrics())
	s.mux.Handle("GET /etat", s.handleHome()) // the service's figures, for operators (no personal data)
	if s.web != nil {
		s.mux.Handle("/", s.web) // the portal: internal/web/routes.go lists its pages
	} else {
		s.mux.Handle("GET /{$}", s.handleHome())
	}

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

	// The FHIR R4 facade (JSON), same authentication, same door.
	s.mux.Handle("GET /.well-known/smart-configuration", s.smartConfiguration())
	s.mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	s.mux.Handle("GET /fhir/metadata", s.fhirMetadata())
	s.mux.Handle("POST /fhir", s.fhirHandler(s.fhirTransaction))
	s.mux.Handle("GET /fhir/Patient", s.fhirHandler(s.fhirSearchPatient))
	s.mux.Handle("GET /fhir/Patient/{id}", s.fhirHandler(s.fhirReadPatient))
	s.mux.Handle("GET /fhir/DocumentReference", s.fhirHandler(s.fhirSearchDocuments))
	s.mux.Handle("POST /fhir/DocumentReference", s.fhirHandler(s.fhirCreateDocument))
	s.mux.Handle("GET /fhir/DocumentReference/{id}", s.fhirHandler(s.fhirReadDocument))
	s.mux.Handle("GET /fhir/Binary/{id}", s.fhirHandler(s.fhirReadBinary))
	s.mux.Handle("POST /fhir/Binary", s.fhirHandler(s.fhirCreateBinary))
	s.mux.Handle("GET /fhir/Immunization", s.fhirHandler(s.fhirSearchProfile(carnet.ProfileVaccination, "Immunization")))
	s.mux.Handle("POST /fhir/Immunization", s.fhirHandler(s.fhirCreateImmunization))
	s.mux.Handle("GET /fhir/AllergyIntolerance", s.fhirHandler(s.fhirSearchProfile(carnet.ProfileAllergy, "AllergyIntolerance")))
	s.mux.Handle("GET /fhir/Condition", s.fhirHandler(s.fhirSearchProfile(carnet.ProfileCondition, "Condition")))
	s.mux.Handle("POST /fhir/Consent", s.fhirHandler(s.fhirCreateConsent))
	s.mux.Handle("GET /fhir/AuditEvent", s.fhirHandler(s.fhirSearchAuditEvent))
}
