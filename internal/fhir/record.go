package fhir

import (
	"encoding/base64"
	"strconv"

	"github.com/carnet-sante/carnet"
)

// Code systems of the record's other resources.
const (
	SystemUCUM                = "http://unitsofmeasure.org"
	SystemObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// Quantity is a measured amount with its UCUM unit.
type Quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// Observation is a FHIR Observation: a measure of the medical profile (vital signs).
type Observation struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *Meta             `json:"meta,omitempty"`
	Status            string            `json:"status"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Code              CodeableConcept   `json:"code"`
	Subject           *Reference        `json:"subject,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime,omitempty"`
	Issued            string            `json:"issued,omitempty"`
	Performer         []Reference       `json:"performer,omitempty"`
	ValueQuantity     *Quantity         `json:"valueQuantity,omitempty"`
	Note              []Annotation      `json:"note,omitempty"`
}

func (r Observation) typeAndID() (string, string) { return r.ResourceType, r.ID }

// MedicationStatement is a FHIR MedicationStatement: a treatment of the medical profile.
type MedicationStatement struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id,omitempty"`
	Meta                      *Meta            `json:"meta,omitempty"`
	Status                    string           `json:"status"`
	MedicationCodeableConcept *CodeableConcept `json:"medicationCodeableConcept,omitempty"`
	Subject                   *Reference       `json:"subject,omitempty"`
	EffectivePeriod           *Period          `json:"effectivePeriod,omitempty"`
	DateAsserted              string           `json:"dateAsserted,omitempty"`
	InformationSource         *Reference       `json:"informationSource,omitempty"`
	Note                      []Annotation     `json:"note,omitempty"`
}

func (r MedicationStatement) typeAndID() (string, string) { return r.ResourceType, r.ID }

// ObservationToFHIR converts a measure: a vital-signs Observation with its LOINC code and its
// value in UCUM units.
func ObservationToFHIR(e *carnet.ProfileEntry) Observation {
	code := CodeableConcept{Text: e.Label}
	if e.Code != "" {
		code.Coding = []Coding{{System: SystemLOINC, Code: e.Code}}
	}
	r := Observation{ResourceType: "Observation", ID: e.ID, Meta: meta(e.UpdatedAt), Status: "final",
		Category: []CodeableConcept{concept(SystemObservationCategory, "vital-signs", "Vital Signs")},
		Code:     code, Subject: ref("Patient", e.PatientID), Issued: optInstant(e.CreatedAt), Note: entryNotes(e)}
	if e.Deleted {
		r.Status = "entered-in-error"
	}
	if a := entryAuthor(e); a != nil {
		r.Performer = []Reference{*a}
	}
	if !e.Date.IsZero() {
		r.EffectiveDateTime = formatDateTime(e.Date)
	}
	unit := e.Unit
	if unit == "" {
		unit = carnet.MeasureUnit(e.Code)
	}
	r.ValueQuantity = &Quantity{Value: e.Value, Unit: unit, System: SystemUCUM, Code: unit}
	return r
}

// MedicationStatementToFHIR converts a treatment: active, or completed once it has ended.
func MedicationStatementToFHIR(e *carnet.ProfileEntry) MedicationStatement {
	code := entryCode(e)
	r := MedicationStatement{ResourceType: "MedicationStatement", ID: e.ID, Meta: meta(e.UpdatedAt), Status: "active",
		MedicationCodeableConcept: &code, Subject: ref("Patient", e.PatientID), DateAsserted: optInstant(e.CreatedAt),
		InformationSource: entryAuthor(e), Note: entryNotes(e)}
	switch {
	case e.Deleted:
		r.Status = "entered-in-error"
	case e.EndDate != nil:
		r.Status = "completed"
	}
	if !e.Date.IsZero() {
		r.EffectivePeriod = &Period{Start: formatDateTime(e.Date)}
		if e.EndDate != nil {
			r.EffectivePeriod.End = formatDateTime(*e.EndDate)
		}
	}
	return r
}

// RelatedPerson is a FHIR RelatedPerson: the trusted person or a relative to contact.
type RelatedPerson struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Patient      *Reference        `json:"patient"`
	Relationship []CodeableConcept `json:"relationship,omitempty"`
	Name         []HumanName       `json:"name,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
}

func (r RelatedPerson) typeAndID() (string, string) { return r.ResourceType, r.ID }

// AdvanceDirective is a FHIR Consent of scope "adr": the patient's advance directives (their
// text as an attachment) or their stance on organ donation.
type AdvanceDirective struct {
	ResourceType     string            `json:"resourceType"`
	ID               string            `json:"id,omitempty"`
	Status           string            `json:"status"`
	Scope            CodeableConcept   `json:"scope"`
	Category         []CodeableConcept `json:"category"`
	Patient          *Reference        `json:"patient"`
	PolicyRule       *CodeableConcept  `json:"policyRule,omitempty"`
	SourceAttachment *Attachment       `json:"sourceAttachment,omitempty"`
	Provision        *ConsentProvision `json:"provision,omitempty"`
}

func (r AdvanceDirective) typeAndID() (string, string) { return r.ResourceType, r.ID }

// WishesToFHIR converts Entourage & Volontés: a RelatedPerson for the trusted person (role
// "personne de confiance") and one for each relative, a Consent for the advance directives and
// one for the organ-donation stance when stated. IDs are derived from the patient's.
func WishesToFHIR(w *carnet.Wishes) []any {
	var out []any
	contact := func(id, role string, c carnet.Contact) RelatedPerson {
		r := RelatedPerson{ResourceType: "RelatedPerson", ID: id, Patient: ref("Patient", w.PatientID),
			Relationship: []CodeableConcept{{Text: role}}, Name: []HumanName{{Text: c.Name}}}
		if c.Relation != "" {
			r.Relationship = append(r.Relationship, CodeableConcept{Text: c.Relation})
		}
		if c.Phone != "" {
			r.Telecom = append(r.Telecom, ContactPoint{System: "phone", Value: c.Phone})
		}
		if c.Email != "" {
			r.Telecom = append(r.Telecom, ContactPoint{System: "email", Value: c.Email})
		}
		return r
	}
	if w.TrustedPerson != nil {
		out = append(out, contact(w.PatientID+"-confiance", "personne de confiance", *w.TrustedPerson))
	}
	for i, c := range w.Relatives {
		out = append(out, contact(w.PatientID+"-proche-"+strconv.Itoa(i+1), "proche à prévenir", c))
	}
	adr := func(id, category, rule string) AdvanceDirective {
		return AdvanceDirective{ResourceType: "Consent", ID: id, Status: "active",
			Scope:    concept(SystemConsentScope, "adr", "Advanced Care Directive"),
			Category: []CodeableConcept{{Text: category}}, Patient: ref("Patient", w.PatientID),
			PolicyRule: &CodeableConcept{Text: rule}}
	}
	if w.AdvanceDirectives != "" {
		d := adr(w.PatientID+"-directives", "directives anticipées", "Code de la santé publique, article L1111-11")
		d.SourceAttachment = &Attachment{ContentType: "text/plain; charset=utf-8",
			Data: base64.StdEncoding.EncodeToString([]byte(w.AdvanceDirectives))}
		out = append(out, d)
	}
	if w.OrganDonation != carnet.OrganDonationUnstated {
		d := adr(w.PatientID+"-don-organes", "don d'organes", "Code de la santé publique, article L1232-1")
		t := "permit"
		if w.OrganDonation == carnet.OrganDonationRefuses {
			t = "deny"
		}
		d.Provision = &ConsentProvision{Type: t}
		out = append(out, d)
	}
	return out
}
