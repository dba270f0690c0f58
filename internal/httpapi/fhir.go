package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/fhir"
	"github.com/carnet-sante/carnet/internal/service"
)

// The FHIR R4 facade: the same service calls as the JSON API, in FHIR's wire format. Errors are
// OperationOutcome resources.

const fhirJSON = "application/fhir+json; charset=utf-8"

// fhirHandler is pro for the FHIR facade: errors become OperationOutcome resources.
func (s *Server) fhirHandler(h proHandler) http.Handler { return s.authed(h, s.writeOutcome) }

func (s *Server) writeOutcome(w http.ResponseWriter, r *http.Request, err error) {
	status, oo := fhir.OutcomeFromError(err)
	if status >= 500 {
		s.log.Error("internal error", "route", r.Pattern, "err", err)
	}
	writeFHIR(w, status, oo)
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fhirBase is the facade's absolute base URL as the client sees it.
func fhirBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// readResource reads a FHIR JSON body of at most max bytes.
func readResource(r *http.Request, max int64) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/fhir+json") && !strings.HasPrefix(ct, "application/json") {
		return nil, carnet.Errorf(carnet.EINVALID, "format non pris en charge : %q (application/fhir+json attendu)", ct)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, carnet.Errorf(carnet.EINVALID, "corps illisible")
	}
	if int64(len(b)) > max {
		return nil, carnet.Errorf(carnet.ETOOLARGE, "ressource trop volumineuse")
	}
	return b, nil
}

// allowedParams refuses unknown search parameters (FHIR servers may ignore them, but a silent
// ignore of a misspelt filter would widen what a professional sees in the audit trail's eyes).
func allowedParams(q url.Values, names ...string) error {
	for k := range q {
		if strings.HasPrefix(k, "_") && k != "_id" {
			continue
		}
		ok := false
		for _, n := range names {
			ok = ok || k == n
		}
		if !ok {
			return carnet.Errorf(carnet.EINVALID, "paramètre de recherche non pris en charge : %q", k)
		}
	}
	return nil
}

func (s *Server) fhirMetadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusOK, fhir.Capability(fhirBase(r), s.version))
	})
}

// smartConfiguration publishes what a SMART App Launch 2 client needs to know: the scopes and
// capabilities, and where tokens come from (the configured OpenID Connect issuer, or Carnet's
// embedded issuer whose tokens `carnet token` hands out).
func (s *Server) smartConfiguration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := strings.TrimSuffix(fhirBase(r), "/fhir")
		cfg := map[string]any{
			"issuer":                                base,
			"jwks_uri":                              base + "/.well-known/jwks.json",
			"grant_types_supported":                 []string{"client_credentials"},
			"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
			"scopes_supported": []string{"openid", "fhirUser", "launch/patient", "user/Patient.rs", "user/DocumentReference.cruds",
				"user/Binary.r", "user/Immunization.crs", "user/AllergyIntolerance.rs", "user/Condition.rs", "user/Consent.c",
				"patient/DocumentReference.rs", "patient/AuditEvent.rs"},
			"capabilities": []string{"client-confidential-asymmetric", "permission-v2", "context-ehr-patient"},
		}
		for k, v := range s.smart {
			cfg[k] = v
		}
		writeJSON(w, http.StatusOK, cfg)
	})
}

func (s *Server) fhirSearchPatient(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	q := r.URL.Query()
	if err := allowedParams(q, "identifier"); err != nil {
		return err
	}
	id := q.Get("identifier")
	if id == "" {
		return carnet.Errorf(carnet.EINVALID, "recherche de patient : paramètre identifier (INS) requis")
	}
	_, nir, err := fhir.ParseIdentifierToken(id)
	if err != nil {
		return err
	}
	var entries []any
	p, err := s.svc.PatientByNIR(r.Context(), actor, nir)
	switch carnet.ErrorCode(err) {
	case "":
		entries = append(entries, fhir.PatientToFHIR(p))
	case carnet.ENOTFOUND:
	default:
		return err
	}
	writeFHIR(w, http.StatusOK, fhir.SearchSet(fhirBase(r), len(entries), entries, fhirBase(r)+"/Patient?"+r.URL.RawQuery))
	return nil
}

func (s *Server) fhirReadPatient(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	p, err := s.svc.Patient(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, fhir.PatientToFHIR(p))
	return nil
}

// patientParam reads the patient of a search: "patient=<id>", "patient=Patient/<id>" or
// "subject=Patient/<id>".
func patientParam(q url.Values) (string, error) {
	v := q.Get("patient")
	if v == "" {
		v = q.Get("subject")
	}
	v = strings.TrimPrefix(v, "Patient/")
	if v == "" || !fhir.ValidID(v) {
		return "", carnet.Errorf(carnet.EINVALID, "paramètre patient requis (Patient/<id>)")
	}
	return v, nil
}

func (s *Server) fhirSearchDocuments(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	q := r.URL.Query()
	if err := allowedParams(q, "patient", "subject", "type", "category", "date", "status", "author"); err != nil {
		return err
	}
	pid, err := patientParam(q)
	if err != nil {
		return err
	}
	var f carnet.DocumentFilter
	for _, v := range q["type"] {
		for _, alt := range fhir.SplitOr(v) {
			tok, err := fhir.ParseTokenParam(alt)
			if err != nil {
				return err
			}
			code, err := fhir.SearchDocType(tok)
			if err != nil {
				return err
			}
			f.TypeCodes = append(f.TypeCodes, code)
		}
	}
	for _, v := range q["category"] {
		for _, alt := range fhir.SplitOr(v) {
			tok, err := fhir.ParseTokenParam(alt)
			if err != nil {
				return err
			}
			c, err := fhir.SearchDocClass(tok)
			if err != nil {
				return err
			}
			f.Classes = append(f.Classes, c)
		}
	}
	if v := q.Get("status"); v != "" {
		if f.Statuses, err = fhir.DocStatusesFor(v); err != nil {
			return err
		}
	}
	if len(q["date"]) > 0 {
		if f.From, f.To, err = fhir.ParseDateRange(q["date"]); err != nil {
			return err
		}
	}
	f.AuthorID = strings.TrimPrefix(q.Get("author"), "Practitioner/")
	docs, err := s.svc.ListDocuments(r.Context(), actor, pid, f)
	if err != nil {
		return err
	}
	entries := make([]any, len(docs))
	for i, d := range docs {
		entries[i] = fhir.DocumentReferenceToFHIR(d, fhir.DocumentOptions{})
	}
	writeFHIR(w, http.StatusOK, fhir.SearchSet(fhirBase(r), len(entries), entries, fhirBase(r)+"/DocumentReference?"+r.URL.RawQuery))
	return nil
}

// readDoc resolves a document's patient from its ID and reads it through the door.
func (s *Server) readDoc(r *http.Request, actor carnet.Actor) (*carnet.Document, []byte, error) {
	id := r.PathValue("id")
	pid, err := s.svc.DocumentPatient(r.Context(), actor, id)
	if err != nil {
		return nil, nil, err
	}
	return s.svc.ReadDocument(r.Context(), actor, pid, id)
}

func (s *Server) fhirReadDocument(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	d, _, err := s.readDoc(r, actor)
	if err != nil {
		return err
	}
	writeFHIR(w, http.StatusOK, fhir.DocumentReferenceToFHIR(d, fhir.DocumentOptions{}))
	return nil
}

func (s *Server) fhirReadBinary(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	d, body, err := s.readDoc(r, actor)
	if err != nil {
		return err
	}
	// A client asking for the raw content gets it as is; a FHIR client gets a Binary resource.
	if accept := r.Header.Get("Accept"); accept != "" && !strings.Contains(accept, "json") && !strings.Contains(accept, "*/*") {
		w.Header().Set("Content-Type", d.MediaType)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return nil
	}
	writeFHIR(w, http.StatusOK, fhir.BinaryToFHIR(d, body))
	return nil
}

func (s *Server) fhirCreateDocument(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	raw, err := readResource(r, s.bodyLimit())
	if err != nil {
		return err
	}
	in, err := fhir.ParseDocumentReference(raw, s.maxBody)
	if err != nil {
		return err
	}
	if in.Data == nil {
		return carnet.Errorf(carnet.EINVALID, "content.attachment.data requis : le contenu du document accompagne la DocumentReference "+
			"(ou un Binary de la même transaction, POST /fhir)")
	}
	d, err := s.deposit(r, actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fhirBase(r)+"/DocumentReference/"+d.ID+"/_history/1")
	writeFHIR(w, http.StatusCreated, fhir.DocumentReferenceToFHIR(d, fhir.DocumentOptions{}))
	return nil
}

// deposit deposits (or, with relatesTo replaces, replaces) the document a DocumentReference
// describes, its body already resolved.
func (s *Server) deposit(r *http.Request, actor carnet.Actor, in *fhir.NewDocumentInput) (*carnet.Document, error) {
	pid := in.PatientID
	if pid == "" {
		p, err := s.svc.PatientByNIR(r.Context(), actor, in.PatientNIR)
		if err != nil {
			return nil, err
		}
		pid = p.ID
	}
	nd := service.NewDocument{TypeCode: in.TypeCode, Title: in.Title, MediaType: in.MediaType, ServiceDate: in.ServiceDate,
		Body: bytes.NewReader(in.Data), HiddenFromProfessionals: in.HiddenFromProfessionals, HiddenFromPatient: in.HiddenFromPatient,
		HiddenFromRepresentatives: in.HiddenFromRepresentatives}
	if in.ReplacesID != "" {
		return s.svc.ReplaceDocument(r.Context(), actor, pid, in.ReplacesID, nd)
	}
	return s.svc.DepositDocument(r.Context(), actor, pid, nd)
}

func (s *Server) fhirCreateBinary(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	return carnet.Errorf(carnet.EINVALID, "création de Binary seule non prise en charge : envoyez le contenu dans "+
		"DocumentReference.content.attachment.data, ou le Binary et le DocumentReference dans une même transaction (POST /fhir)")
}

// fhirSearchProfile serves Immunization, AllergyIntolerance and Condition searches.
func (s *Server) fhirSearchProfile(kind carnet.ProfileKind, resource string) proHandler {
	return func(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
		q := r.URL.Query()
		if err := allowedParams(q, "patient", "subject"); err != nil {
			return err
		}
		pid, err := patientParam(q)
		if err != nil {
			return err
		}
		es, err := s.svc.Profile(r.Context(), actor, pid, kind)
		if err != nil {
			return err
		}
		entries := make([]any, 0, len(es))
		for _, e := range es {
			res, err := fhir.ProfileEntryToFHIR(e)
			if err != nil {
				return err
			}
			entries = append(entries, res)
		}
		writeFHIR(w, http.StatusOK, fhir.SearchSet(fhirBase(r), len(entries), entries, fhirBase(r)+"/"+resource+"?"+r.URL.RawQuery))
		return nil
	}
}

func (s *Server) fhirCreateImmunization(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	raw, err := readResource(r, 64<<10)
	if err != nil {
		return err
	}
	e, err := fhir.ParseImmunization(raw)
	if err != nil {
		return err
	}
	e, err = s.svc.AddProfileEntry(r.Context(), actor, e.PatientID, e)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fhirBase(r)+"/Immunization/"+e.ID+"/_history/1")
	writeFHIR(w, http.StatusCreated, fhir.ImmunizationToFHIR(e))
	return nil
}

func (s *Server) fhirCreateConsent(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	raw, err := readResource(r, 64<<10)
	if err != nil {
		return err
	}
	in, err := fhir.ParseConsent(raw)
	if err != nil {
		return err
	}
	c, err := s.svc.DeclareConsent(r.Context(), actor, in.PatientID, in.Kind, in.Purpose, in.ExpiresAt)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fhirBase(r)+"/Consent/"+c.ID+"/_history/1")
	writeFHIR(w, http.StatusCreated, fhir.ConsentToFHIR(c, c.DeclaredAt))
	return nil
}

// fhirSearchAuditEvent serves the patient's own history (patients and their apps; professionals
// are refused by the policy).
func (s *Server) fhirSearchAuditEvent(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	q := r.URL.Query()
	if err := allowedParams(q, "patient", "subject", "date"); err != nil {
		return err
	}
	pid, err := patientParam(q)
	if err != nil {
		return err
	}
	var f carnet.AuditFilter
	if len(q["date"]) > 0 {
		if f.From, f.To, err = fhir.ParseDateRange(q["date"]); err != nil {
			return err
		}
	}
	evs, err := s.svc.History(r.Context(), actor, pid, f)
	if err != nil {
		return err
	}
	b, err := audit.MarshalFHIR(audit.ToFHIRBundle(evs, fhirBase(r)))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", fhirJSON)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

func (s *Server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.jwks == nil {
			s.writeError(w, r, carnet.Errorf(carnet.ENOTFOUND, "pas d'émetteur de jetons intégré"))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(s.jwks)
	})
}

// fhirTransaction accepts an IHE MHD "Provide Document Bundle" (ITI-65): a transaction Bundle
// holding a DocumentReference whose attachment points (attachment.url = the entry's fullUrl,
// urn:uuid:…) to a Binary of the same Bundle, plus optionally the SubmissionSet List, which is
// not kept. The deposit is one call to the service, as with an inline attachment.
func (s *Server) fhirTransaction(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	raw, err := readResource(r, s.bodyLimit()+64<<10)
	if err != nil {
		return err
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return carnet.Errorf(carnet.EINVALID, "JSON invalide : %v", err)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" {
		return carnet.Errorf(carnet.EINVALID, "Bundle de type transaction attendu")
	}
	var docRaw []byte
	binaries := map[string][]byte{}
	for _, e := range b.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return carnet.Errorf(carnet.EINVALID, "entrée de Bundle invalide")
		}
		if e.Request.Method != "" && e.Request.Method != http.MethodPost {
			return carnet.Errorf(carnet.EINVALID, "seules les créations (POST) sont prises en charge dans une transaction")
		}
		switch head.ResourceType {
		case "DocumentReference":
			if docRaw != nil {
				return carnet.Errorf(carnet.EINVALID, "un seul DocumentReference par transaction")
			}
			docRaw = e.Resource
		case "Binary":
			binaries[e.FullURL] = e.Resource
		case "List":
			// The SubmissionSet: nothing of it is kept.
		default:
			return carnet.Errorf(carnet.EINVALID, "ressource non prise en charge dans une transaction : %q", head.ResourceType)
		}
	}
	if docRaw == nil {
		return carnet.Errorf(carnet.EINVALID, "la transaction ne contient pas de DocumentReference")
	}
	// Point the attachment at a Binary of the Bundle by a local reference, then complete it.
	var doc map[string]any
	json.Unmarshal(docRaw, &doc)
	var binRaw []byte
	if contents, ok := doc["content"].([]any); ok && len(contents) > 0 {
		if c, ok := contents[0].(map[string]any); ok {
			if att, ok := c["attachment"].(map[string]any); ok {
				if u, ok := att["url"].(string); ok && binaries[u] != nil {
					binRaw = binaries[u]
					att["url"] = "Binary/transaction"
				}
			}
		}
	}
	docRaw, _ = json.Marshal(doc)
	in, err := fhir.ParseDocumentReference(docRaw, s.maxBody)
	if err != nil {
		return err
	}
	if in.Data == nil {
		if binRaw == nil {
			return carnet.Errorf(carnet.EINVALID, "le contenu du document (Binary de la transaction) est introuvable")
		}
		ct, data, err := fhir.ParseBinary(binRaw, s.maxBody)
		if err != nil {
			return err
		}
		if err := in.SetBinary(ct, data); err != nil {
			return err
		}
	}
	d, err := s.deposit(r, actor, in)
	if err != nil {
		return err
	}
	resp := map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": []any{
		map[string]any{"response": map[string]any{"status": "201 Created", "location": "DocumentReference/" + d.ID + "/_history/1"}},
		map[string]any{"response": map[string]any{"status": "201 Created", "location": "Binary/" + d.ID}},
	}}
	writeFHIR(w, http.StatusOK, resp)
	return nil
}
