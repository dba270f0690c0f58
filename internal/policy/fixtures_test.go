package policy

import (
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// Fixtures shared by the tests: one patient, a few professionals, one consent.
const (
	patientID   = "pat-1"
	parentID    = "pat-parent"
	proID       = "pro-1" // the actor in most tests
	otherProID  = "pro-2" // the author of most documents
	structureID = "finess-1"
)

var (
	now          = time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	consentAt    = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	emergencyAt  = now.Add(-2 * time.Hour)
	testPolicy   = New(nil, Options{})
	defaultRules = DefaultGrid()
)

func ptr[T any](v T) *T { return &v }

func settings(mods ...func(*carnet.PatientSettings)) *carnet.PatientSettings {
	s := carnet.DefaultSettings(patientID)
	for _, m := range mods {
		m(&s)
	}
	return &s
}

func professional(p carnet.Profession) *carnet.Actor {
	return &carnet.Actor{Kind: carnet.ActorProfessional, ID: proID, Name: "Dr Martin", Profession: p,
		StructureID: structureID, StructureName: "Clinique du Parc"}
}

func regulator() *carnet.Actor {
	return &carnet.Actor{Kind: carnet.ActorRegulator, ID: "reg-1", Name: "Dr Samu", Profession: "10", Specialty: "SM53"}
}

func patient() *carnet.Actor {
	return &carnet.Actor{Kind: carnet.ActorPatient, ID: patientID, Name: "Alice Durand"}
}

func representative() *carnet.Actor {
	return &carnet.Actor{Kind: carnet.ActorRepresentative, ID: parentID, Name: "Bernard Durand"}
}

func app(scopes ...string) *carnet.Actor {
	return &carnet.Actor{Kind: carnet.ActorApp, ID: "app-1", Name: "Mon Suivi", Scopes: scopes}
}

// document returns a current document of that type in the patient's space, written by another
// professional.
func document(typeCode string, mods ...func(*carnet.Document)) *carnet.Document {
	d := &carnet.Document{ID: "doc-1", PatientID: patientID, TypeCode: typeCode, Class: typeClass(typeCode),
		AuthorKind: carnet.AuthorProfessional, AuthorID: otherProID, Status: carnet.DocCurrent}
	for _, m := range mods {
		m(d)
	}
	return d
}

func hiddenFromPros(d *carnet.Document)    { d.HiddenFromProfessionals = true }
func hiddenFromPatient(d *carnet.Document) { d.HiddenFromPatient = true }
func hiddenFromReps(d *carnet.Document)    { d.HiddenFromRepresentatives = true }
func deleted(d *carnet.Document)           { d.Status = carnet.DocDeleted }
func deprecated(d *carnet.Document)        { d.Status = carnet.DocDeprecated }
func byActor(d *carnet.Document)           { d.AuthorID = proID }
func byPatient(d *carnet.Document)         { d.AuthorKind, d.AuthorID = carnet.AuthorPatient, patientID }

func consentOf(id string, mods ...func(*carnet.Consent)) *carnet.Consent {
	c := &carnet.Consent{ID: "c-1", PatientID: patientID, ProfessionalID: id, Kind: carnet.ConsentOral,
		DeclaredAt: consentAt}
	for _, m := range mods {
		m(c)
	}
	return c
}

// proRequest is a professional (proID) with a consent in force, active, not blocked.
func proRequest(a Action, prof carnet.Profession, d *carnet.Document) Request {
	return Request{Action: a, Actor: professional(prof), Settings: settings(), Doc: d, Now: now,
		Facts: Facts{Active: true, Consent: consentOf(proID)}}
}

// breakGlass turns a request into a bris de glace request with a recorded reason.
func breakGlass(r Request) Request {
	r.Mode = carnet.ModeBreakGlass
	r.Consent = nil
	r.EmergencyStart, r.EmergencyReason = emergencyAt, "patient inconscient"
	return r
}

// regulation is the regulating doctor reading in centre 15 mode.
func regulation(a Action, d *carnet.Document) Request {
	return Request{Action: a, Actor: regulator(), Settings: settings(), Doc: d, Now: now,
		Mode: carnet.ModeRegulation, Facts: Facts{Active: true, EmergencyStart: emergencyAt,
			EmergencyReason: "appel au 15 : douleur thoracique"}}
}

func patientRequest(a Action, d *carnet.Document) Request {
	return Request{Action: a, Actor: patient(), Settings: settings(), Doc: d, Now: now}
}

func representativeRequest(a Action, d *carnet.Document) Request {
	return Request{Action: a, Actor: representative(), Settings: settings(), Doc: d, Now: now,
		Facts: Facts{Representative: true, PatientMinor: true}}
}

// ruleCase is one line of a rule's table: a request and the expected reason (which says whether
// it is allowed).
type ruleCase struct {
	name string
	req  Request
	want Reason
}

func runRuleCases(t *testing.T, pol *Policy, cases []ruleCase) {
	t.Helper()
	var allowed, denied int
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := pol.Decide(c.req)
			if d.Reason != c.want || d.Allow != c.want.Allows() {
				t.Errorf("Decide = {Allow: %v, Reason: %s}, want {Allow: %v, Reason: %s}",
					d.Allow, d.Reason, c.want.Allows(), c.want)
			}
			if d.GridVersion != pol.Grid().Version() {
				t.Errorf("GridVersion = %q, want %q", d.GridVersion, pol.Grid().Version())
			}
		})
		if c.want.Allows() {
			allowed++
		} else {
			denied++
		}
	}
	if allowed == 0 || denied == 0 {
		t.Errorf("a rule's table must show both outcomes: %d allowed, %d denied", allowed, denied)
	}
}
