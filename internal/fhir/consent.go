package fhir

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// Consent is a FHIR Consent: a professional's declaration that the patient consented to their
// access.
type Consent struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *Meta             `json:"meta,omitempty"`
	Extension         []Extension       `json:"extension,omitempty"`
	ModifierExtension []Extension       `json:"modifierExtension,omitempty"`
	Status            string            `json:"status,omitempty"`
	Scope             *CodeableConcept  `json:"scope,omitempty"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Patient           *Reference        `json:"patient,omitempty"`
	DateTime          string            `json:"dateTime,omitempty"`
	Performer         []Reference       `json:"performer,omitempty"`
	PolicyRule        *CodeableConcept  `json:"policyRule,omitempty"`
	Provision         *ConsentProvision `json:"provision,omitempty"`
}

func (r Consent) typeAndID() (string, string) { return r.ResourceType, r.ID }

// ConsentProvision is the rule of a consent: who may access, until when, for what.
type ConsentProvision struct {
	Type    string         `json:"type,omitempty"`
	Period  *Period        `json:"period,omitempty"`
	Actor   []ConsentActor `json:"actor,omitempty"`
	Purpose []Coding       `json:"purpose,omitempty"`
}

// ConsentActor is who the provision is about.
type ConsentActor struct {
	Role      CodeableConcept `json:"role"`
	Reference Reference       `json:"reference"`
}

// Purposes of use that Carnet knows by name, as v3 ActReason codes.
var purposeCodings = map[string]Coding{
	"soins":   {System: SystemActReason, Code: "TREAT", Display: "treatment"},
	"urgence": {System: SystemActReason, Code: "ETREAT", Display: "Emergency Treatment"},
}

// ConsentToFHIR converts a consent as it stands at now: active while in force, inactive once
// revoked or expired. The provision runs from the declaration to the expiry, or to the revocation
// when that came first.
func ConsentToFHIR(c *carnet.Consent, now time.Time) Consent {
	r := Consent{
		ResourceType: "Consent",
		ID:           c.ID,
		Status:       "inactive",
		Scope:        &CodeableConcept{Coding: []Coding{{System: SystemConsentScope, Code: CodeConsentScopePatientPrivacy, Display: "Privacy Consent"}}},
		Category:     []CodeableConcept{{Coding: []Coding{{System: SystemLOINC, Code: CodeConsentCategoryLOINC}}, Text: "consentement du patient"}},
		Patient:      ref("Patient", c.PatientID),
		DateTime:     optInstant(c.DeclaredAt),
		PolicyRule: &CodeableConcept{Coding: []Coding{{System: SystemActCode, Code: "OPTIN", Display: "opt-in"}},
			Text: "consentement du patient à l'accès d'un professionnel de santé à son espace santé"},
	}
	if c.ActiveAt(now) {
		r.Status = "active"
	}
	if c.Kind != "" {
		r.Extension = []Extension{{URL: ExtConsentKind, ValueCode: string(c.Kind)}}
	}
	p := &ConsentProvision{Type: "permit"}
	if c.ProfessionalID != "" {
		r.Performer = []Reference{*ref("Practitioner", c.ProfessionalID)}
		p.Actor = []ConsentActor{{
			Role:      concept(SystemParticipationType, "PRCP", "primary information recipient"),
			Reference: *ref("Practitioner", c.ProfessionalID),
		}}
	}
	period := &Period{Start: optInstant(c.DeclaredAt)}
	end := c.ExpiresAt
	if c.RevokedAt != nil && (end == nil || c.RevokedAt.Before(*end)) {
		end = c.RevokedAt
	}
	if end != nil {
		period.End = formatInstant(*end)
	}
	if *period != (Period{}) {
		p.Period = period
	}
	if purpose := strings.TrimSpace(c.Purpose); purpose != "" {
		if coding, ok := purposeCodings[strings.ToLower(purpose)]; ok {
			p.Purpose = []Coding{coding}
		} else {
			p.Purpose = []Coding{{Display: purpose}}
		}
	}
	r.Provision = p
	return r
}

// ConsentInput is what a Consent submitted for creation declares.
type ConsentInput struct {
	PatientID string
	Kind      carnet.ConsentKind // oral unless the ExtConsentKind extension says written
	Purpose   string             // "soins" for TREAT, "urgence" for ETREAT, else the coding's display or code
	ExpiresAt *time.Time         // provision.period.end; a date runs to the end of that day (UTC)
}

// ParseConsent parses a Consent submitted by a professional declaring the patient's consent.
func ParseConsent(body []byte) (*ConsentInput, error) {
	var r Consent
	if err := decode(body, &r, "Consent", func() string { return r.ResourceType }); err != nil {
		return nil, err
	}
	if err := noModifierExtension("Consent", r.ModifierExtension); err != nil {
		return nil, err
	}
	switch r.Status {
	case "active":
	case "":
		return nil, invalidf("required", "Consent.status", "statut manquant : active attendu")
	default:
		return nil, invalidf("value", "Consent.status", "statut %q refusé : un consentement se déclare actif (active)", r.Status)
	}
	if r.Scope != nil && len(r.Scope.Coding) > 0 {
		ok := false
		for _, c := range r.Scope.Coding {
			ok = ok || (c.System == SystemConsentScope && c.Code == CodeConsentScopePatientPrivacy)
		}
		if !ok {
			return nil, invalidf("not-supported", "Consent.scope", "portée de consentement non prise en charge : patient-privacy attendue")
		}
	}
	in := &ConsentInput{Kind: carnet.ConsentOral}
	var err error
	if in.PatientID, err = patientRef(r.Patient, "Consent.patient"); err != nil {
		return nil, err
	}
	if e := extension(r.Extension, ExtConsentKind); e != nil {
		switch k := carnet.ConsentKind(e.ValueCode); k {
		case carnet.ConsentOral, carnet.ConsentWritten:
			in.Kind = k
		default:
			return nil, invalidf("code-invalid", "Consent.extension", "forme du consentement inconnue : %q (oral ou written attendu)", e.ValueCode)
		}
	}
	if p := r.Provision; p != nil {
		if p.Type != "" && p.Type != "permit" {
			return nil, invalidf("not-supported", "Consent.provision.type", "provision %q non prise en charge : permit attendu (pour refuser un accès, bloquez le professionnel)", p.Type)
		}
		if p.Period != nil && p.Period.End != "" {
			t, prec, ok := parseDateTime(p.Period.End)
			if !ok {
				return nil, invalidf("value", "Consent.provision.period.end", "échéance invalide : %q (AAAA-MM-JJ ou date et heure avec fuseau attendus)", p.Period.End)
			}
			t = endOf(t, prec)
			in.ExpiresAt = &t
		}
		if len(p.Purpose) > 0 {
			c := p.Purpose[0]
			switch {
			case c.System == SystemActReason && c.Code == "TREAT":
				in.Purpose = "soins"
			case c.System == SystemActReason && c.Code == "ETREAT":
				in.Purpose = "urgence"
			case strings.TrimSpace(c.Display) != "":
				in.Purpose = strings.TrimSpace(c.Display)
			default:
				in.Purpose = c.Code
			}
			if utf8.RuneCountInString(in.Purpose) > 200 {
				return nil, invalidf("value", "Consent.provision.purpose", "finalité trop longue (200 caractères au plus)")
			}
		}
	}
	return in, nil
}

// endOf returns the end of the period a date of that precision names (exclusive): the next year,
// month or day; a full dateTime is its own end.
func endOf(t time.Time, p precision) time.Time {
	switch p {
	case precisionYear:
		return t.AddDate(1, 0, 0)
	case precisionMonth:
		return t.AddDate(0, 1, 0)
	case precisionDay:
		return t.AddDate(0, 0, 1)
	}
	return t
}
