package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
	"github.com/carnet-sante/carnet/internal/fhir"
	"github.com/carnet-sante/carnet/internal/service"
)

// Authenticator turns a request's credentials into the acting professional.
type Authenticator interface {
	Authenticate(r *http.Request) (carnet.Actor, error)
}

// proHandler is a handler of the professional API: it receives the authenticated actor.
type proHandler func(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error

// pro authenticates the caller, runs h, states the emergency mode of the session in the response
// when there is one, and maps errors in one place (JSON errors).
func (s *Server) pro(h proHandler) http.Handler { return s.authed(h, s.writeError) }

// authed is pro with the error writer of the surface (JSON API or FHIR).
func (s *Server) authed(h proHandler, writeErr func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.auth == nil {
			writeErr(w, r, carnet.Errorf(carnet.EUNAVAILABLE, "authentification non configurée"))
			return
		}
		actor, err := s.auth.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", auth.WWWAuthenticate(err))
			writeErr(w, r, err)
			return
		}
		actor.RequestID = w.Header().Get("X-Request-Id")
		ctx, mode := service.WithSessionMode(r.Context())
		mw := &modeWriter{ResponseWriter: w, mode: mode}
		if err := h(mw, r.WithContext(ctx), actor); err != nil {
			writeErr(mw, r, err)
		}
	})
}

// modeWriter states the emergency mode of the professional's session, when the service acted
// in one, in the response headers.
type modeWriter struct {
	http.ResponseWriter
	mode    *service.SessionMode
	written bool
}

func (m *modeWriter) WriteHeader(code int) {
	if !m.written && m.mode.Mode != "" && m.mode.Mode != carnet.ModeNormal {
		m.Header().Set("X-Carnet-Access-Mode", string(m.mode.Mode))
		m.Header().Set("X-Carnet-Access-Mode-Until", m.mode.Until.Format(time.RFC3339))
	}
	m.written = true
	m.ResponseWriter.WriteHeader(code)
}

func (m *modeWriter) Write(b []byte) (int, error) {
	if !m.written {
		m.WriteHeader(http.StatusOK)
	}
	return m.ResponseWriter.Write(b)
}

// documentJSON is the JSON API's view of a document (the one conversion of the API).
type documentJSON struct {
	ID                        string `json:"id"`
	PatientID                 string `json:"patient_id"`
	TypeCode                  string `json:"type_code"`
	TypeLabel                 string `json:"type_label"`
	Class                     string `json:"class"`
	ClassLabel                string `json:"class_label"`
	Title                     string `json:"title"`
	AuthorKind                string `json:"author_kind"`
	AuthorID                  string `json:"author_id"`
	AuthorName                string `json:"author_name"`
	ServiceDate               string `json:"service_date"`
	Status                    string `json:"status"`
	ReplacesID                string `json:"replaces_id,omitempty"`
	HiddenFromProfessionals   bool   `json:"hidden_from_professionals"`
	HiddenFromPatient         bool   `json:"hidden_from_patient"`
	HiddenFromRepresentatives bool   `json:"hidden_from_representatives"`
	MediaType                 string `json:"media_type"`
	Size                      int64  `json:"size"`
	SHA256                    string `json:"sha256"`
	CreatedAt                 string `json:"created_at"`
}

func toDocumentJSON(d *carnet.Document) documentJSON {
	t, _ := carnet.LookupDocType(d.TypeCode)
	return documentJSON{ID: d.ID, PatientID: d.PatientID, TypeCode: d.TypeCode, TypeLabel: t.Label, Class: string(d.Class),
		ClassLabel: d.Class.Label(), Title: d.Title, AuthorKind: string(d.AuthorKind), AuthorID: d.AuthorID, AuthorName: d.AuthorName,
		ServiceDate: d.ServiceDate.Format("2006-01-02"), Status: string(d.Status), ReplacesID: d.ReplacesID,
		HiddenFromProfessionals: d.HiddenFromProfessionals, HiddenFromPatient: d.HiddenFromPatient,
		HiddenFromRepresentatives: d.HiddenFromRepresentatives, MediaType: d.MediaType, Size: d.Size,
		SHA256: hex.EncodeToString(d.ContentHash), CreatedAt: d.CreatedAt.Format(time.RFC3339)}
}

type patientJSON struct {
	ID         string `json:"id"`
	INS        string `json:"ins"`
	INSOID     string `json:"ins_oid"`
	BirthName  string `json:"birth_name"`
	GivenNames string `json:"given_names"`
	UsedName   string `json:"used_name,omitempty"`
	Sex        string `json:"sex"`
	BirthDate  string `json:"birth_date"`
	Status     string `json:"status"`
}

// decodeJSON reads a JSON body of at most max bytes into v, refusing unknown fields.
func decodeJSON(r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/fhir+json") {
		return carnet.Errorf(carnet.EINVALID, "corps JSON attendu (Content-Type %q)", ct)
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, max+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return carnet.Errorf(carnet.ETOOLARGE, "corps de requête trop volumineux")
		}
		return carnet.Errorf(carnet.EINVALID, "JSON invalide : %v", err)
	}
	if dec.More() {
		return carnet.Errorf(carnet.EINVALID, "JSON invalide : un seul objet attendu")
	}
	return nil
}

// bodyLimit bounds a request body that carries a document in base64.
func (s *Server) bodyLimit() int64 { return s.maxBody*4/3 + 64<<10 }

func (s *Server) apiPing() http.Handler {
	body := []byte(`{"status":"ok","service":"carnet"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	})
}

func (s *Server) apiFindPatient(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	ins := r.URL.Query().Get("ins")
	if ins == "" {
		return carnet.Errorf(carnet.EINVALID, "paramètre ins requis (système|NIR ou NIR)")
	}
	_, nir, err := fhir.ParseIdentifierToken(ins)
	if err != nil {
		return err
	}
	p, err := s.svc.PatientByNIR(r.Context(), actor, nir)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, patientJSON{ID: p.ID, INS: p.NIR, INSOID: p.INSOID, BirthName: p.BirthName, GivenNames: p.GivenNames,
		UsedName: p.UsedName, Sex: string(p.Sex), BirthDate: p.BirthDate.Format("2006-01-02"), Status: string(p.Status)})
	return nil
}

func (s *Server) apiDeclareConsent(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	var in struct {
		Kind      string `json:"kind"`
		Purpose   string `json:"purpose"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := decodeJSON(r, 4<<10, &in); err != nil {
		return err
	}
	var exp *time.Time
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			return carnet.Errorf(carnet.EINVALID, "expires_at invalide : date RFC 3339 attendue")
		}
		exp = &t
	}
	c, err := s.svc.DeclareConsent(r.Context(), actor, r.PathValue("pid"), carnet.ConsentKind(in.Kind), in.Purpose, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID, "kind": c.Kind, "declared_at": c.DeclaredAt.Format(time.RFC3339)})
	return nil
}

// documentFilter reads the listing filters of the query string.
func documentFilter(r *http.Request) (carnet.DocumentFilter, error) {
	q := r.URL.Query()
	var f carnet.DocumentFilter
	for _, t := range q["type"] {
		if _, err := carnet.LookupDocType(t); err != nil {
			return f, err
		}
		f.TypeCodes = append(f.TypeCodes, t)
	}
	for _, c := range q["class"] {
		if !carnet.DocClass(c).Valid() {
			return f, carnet.Errorf(carnet.EINVALID, "classe de document inconnue : %q", c)
		}
		f.Classes = append(f.Classes, carnet.DocClass(c))
	}
	for _, st := range q["status"] {
		if !carnet.DocStatus(st).Valid() {
			return f, carnet.Errorf(carnet.EINVALID, "statut inconnu : %q", st)
		}
		f.Statuses = append(f.Statuses, carnet.DocStatus(st))
	}
	f.AuthorID = q.Get("author")
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = carnet.ParseDate(v); err != nil {
			return f, err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = carnet.ParseDate(v); err != nil {
			return f, err
		}
		f.To = f.To.AddDate(0, 0, 1)
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return f, carnet.Errorf(carnet.EINVALID, "limit invalide")
		}
	}
	if v := q.Get("offset"); v != "" {
		if f.Offset, err = strconv.Atoi(v); err != nil || f.Offset < 0 {
			return f, carnet.Errorf(carnet.EINVALID, "offset invalide")
		}
	}
	return f, nil
}

func (s *Server) apiListDocuments(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	f, err := documentFilter(r)
	if err != nil {
		return err
	}
	docs, err := s.svc.ListDocuments(r.Context(), actor, r.PathValue("pid"), f)
	if err != nil {
		return err
	}
	out := make([]documentJSON, len(docs))
	for i, d := range docs {
		out[i] = toDocumentJSON(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"documents": out, "count": len(out)})
	return nil
}

func (s *Server) apiReadDocument(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	d, err := s.svc.DocumentInfo(r.Context(), actor, r.PathValue("pid"), r.PathValue("did"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDocumentJSON(d))
	return nil
}

func (s *Server) apiDocumentContent(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	d, body, err := s.svc.ReadDocument(r.Context(), actor, r.PathValue("pid"), r.PathValue("did"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", d.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(d.ContentHash))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}

// depositJSON is what a deposit or a replacement carries.
type depositJSON struct {
	TypeCode                  string `json:"type_code"`
	Title                     string `json:"title"`
	MediaType                 string `json:"media_type"`
	ServiceDate               string `json:"service_date"`
	Content                   string `json:"content"` // base64
	HiddenFromProfessionals   bool   `json:"hidden_from_professionals"`
	HiddenFromPatient         bool   `json:"hidden_from_patient"`
	HiddenFromRepresentatives bool   `json:"hidden_from_representatives"`
}

func (s *Server) readDeposit(r *http.Request) (service.NewDocument, error) {
	var in depositJSON
	if err := decodeJSON(r, s.bodyLimit(), &in); err != nil {
		return service.NewDocument{}, err
	}
	body, err := base64.StdEncoding.DecodeString(in.Content)
	if err != nil {
		return service.NewDocument{}, carnet.Errorf(carnet.EINVALID, "content : base64 invalide")
	}
	nd := service.NewDocument{TypeCode: in.TypeCode, Title: in.Title, MediaType: in.MediaType, Body: bytes.NewReader(body),
		HiddenFromProfessionals: in.HiddenFromProfessionals, HiddenFromPatient: in.HiddenFromPatient,
		HiddenFromRepresentatives: in.HiddenFromRepresentatives}
	if in.ServiceDate != "" {
		if nd.ServiceDate, err = carnet.ParseDate(in.ServiceDate); err != nil {
			return nd, err
		}
	}
	return nd, nil
}

func (s *Server) apiDeposit(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	nd, err := s.readDeposit(r)
	if err != nil {
		return err
	}
	d, err := s.svc.DepositDocument(r.Context(), actor, r.PathValue("pid"), nd)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patients/"+d.PatientID+"/documents/"+d.ID)
	writeJSON(w, http.StatusCreated, toDocumentJSON(d))
	return nil
}

func (s *Server) apiReplace(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	nd, err := s.readDeposit(r)
	if err != nil {
		return err
	}
	d, err := s.svc.ReplaceDocument(r.Context(), actor, r.PathValue("pid"), r.PathValue("did"), nd)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patients/"+d.PatientID+"/documents/"+d.ID)
	writeJSON(w, http.StatusCreated, toDocumentJSON(d))
	return nil
}

var documentActions = map[string]service.FlagChange{
	"hide":                   service.HideFromProfessionals,
	"unhide":                 service.UnhideFromProfessionals,
	"reveal-patient":         service.RevealToPatient,
	"reveal-representatives": service.RevealToRepresentatives,
	"delete":                 service.Delete,
}

func (s *Server) apiDocumentAction(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	change, ok := documentActions[r.PathValue("action")]
	if !ok {
		return carnet.Errorf(carnet.ENOTFOUND, "action inconnue : %q", r.PathValue("action"))
	}
	d, err := s.svc.ChangeDocument(r.Context(), actor, r.PathValue("pid"), r.PathValue("did"), change)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDocumentJSON(d))
	return nil
}

type entryJSON struct {
	ID    string  `json:"id,omitempty"`
	Kind  string  `json:"kind"`
	Label string  `json:"label"`
	Code  string  `json:"code,omitempty"`
	Date  string  `json:"date"`
	Value float64 `json:"value,omitempty"`
	Unit  string  `json:"unit,omitempty"`
	Notes string  `json:"notes,omitempty"`
}

func (s *Server) apiVaccinations(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	es, err := s.svc.Profile(r.Context(), actor, r.PathValue("pid"), carnet.ProfileVaccination)
	if err != nil {
		return err
	}
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = entryJSON{ID: e.ID, Kind: string(e.Kind), Label: e.Label, Code: e.Code, Date: e.Date.Format("2006-01-02"), Notes: e.Notes}
	}
	writeJSON(w, http.StatusOK, map[string]any{"vaccinations": out})
	return nil
}

func (s *Server) apiAddVaccination(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	var in entryJSON
	if err := decodeJSON(r, 16<<10, &in); err != nil {
		return err
	}
	date, err := carnet.ParseDate(in.Date)
	if err != nil {
		return err
	}
	e, err := s.svc.AddProfileEntry(r.Context(), actor, r.PathValue("pid"), &carnet.ProfileEntry{Kind: carnet.ProfileVaccination,
		Label: in.Label, Code: in.Code, Date: date, Notes: in.Notes})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, entryJSON{ID: e.ID, Kind: string(e.Kind), Label: e.Label, Code: e.Code, Date: e.Date.Format("2006-01-02"), Notes: e.Notes})
	return nil
}

func (s *Server) apiWishes(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	wi, err := s.svc.Wishes(r.Context(), actor, r.PathValue("pid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"trusted_person": wi.TrustedPerson, "relatives": wi.Relatives,
		"advance_directives": wi.AdvanceDirectives, "organ_donation": wi.OrganDonation})
	return nil
}

func (s *Server) apiEmergency(w http.ResponseWriter, r *http.Request, actor carnet.Actor) error {
	var in struct {
		Mode   string `json:"mode"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, 4<<10, &in); err != nil {
		return err
	}
	session, until, err := s.svc.StartEmergency(r.Context(), actor, r.PathValue("pid"), carnet.AccessMode(in.Mode), in.Reason)
	if err != nil {
		return err
	}
	w.Header().Set("X-Carnet-Access-Mode", string(session.Mode))
	w.Header().Set("X-Carnet-Access-Mode-Until", until.Format(time.RFC3339))
	writeJSON(w, http.StatusCreated, map[string]any{"mode": session.Mode, "reason": session.ModeReason,
		"started_at": session.ModeSince.Format(time.RFC3339), "until": until.Format(time.RFC3339)})
	return nil
}

//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(openAPI)
	})
}
