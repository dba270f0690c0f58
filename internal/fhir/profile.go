package fhir

import (
	"strings"

	"github.com/carnet-sante/carnet"
)

// Immunization is a FHIR Immunization: a vaccination of the medical profile.
type Immunization struct {
	ResourceType       string           `json:"resourceType"`
	ID                 string           `json:"id,omitempty"`
	Meta               *Meta            `json:"meta,omitempty"`
	ModifierExtension  []Extension      `json:"modifierExtension,omitempty"`
	Status             string           `json:"status,omitempty"`
	VaccineCode        *CodeableConcept `json:"vaccineCode,omitempty"`
	Patient            *Reference       `json:"patient,omitempty"`
	OccurrenceDateTime string           `json:"occurrenceDateTime,omitempty"`
	OccurrenceString   string           `json:"occurrenceString,omitempty"`
	Recorded           string           `json:"recorded,omitempty"`
	PrimarySource      *bool            `json:"primarySource,omitempty"`
	ReportOrigin       *CodeableConcept `json:"reportOrigin,omitempty"`
	Note               []Annotation     `json:"note,omitempty"`
}

func (r Immunization) typeAndID() (string, string) { return r.ResourceType, r.ID }

// AllergyIntolerance is a FHIR AllergyIntolerance: an allergy of the medical profile.
type AllergyIntolerance struct {
	ResourceType       string           `json:"resourceType"`
	ID                 string           `json:"id,omitempty"`
	Meta               *Meta            `json:"meta,omitempty"`
	ClinicalStatus     *CodeableConcept `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept `json:"verificationStatus,omitempty"`
	Code               *CodeableConcept `json:"code,omitempty"`
	Patient            *Reference       `json:"patient,omitempty"`
	OnsetDateTime      string           `json:"onsetDateTime,omitempty"`
	RecordedDate       string           `json:"recordedDate,omitempty"`
	Recorder           *Reference       `json:"recorder,omitempty"`
	Note               []Annotation     `json:"note,omitempty"`
}

func (r AllergyIntolerance) typeAndID() (string, string) { return r.ResourceType, r.ID }

// Condition is a FHIR Condition: a disease or past history of the medical profile.
type Condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               *Meta             `json:"meta,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            *Reference        `json:"subject,omitempty"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	AbatementDateTime  string            `json:"abatementDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
}

func (r Condition) typeAndID() (string, string) { return r.ResourceType, r.ID }

// FamilyMemberHistory is a FHIR FamilyMemberHistory: a family history line of the medical
// profile (see the package documentation for why it is not a Condition).
type FamilyMemberHistory struct {
	ResourceType string                         `json:"resourceType"`
	ID           string                         `json:"id,omitempty"`
	Meta         *Meta                          `json:"meta,omitempty"`
	Status       string                         `json:"status,omitempty"`
	Patient      *Reference                     `json:"patient,omitempty"`
	Date         string                         `json:"date,omitempty"`
	Relationship *CodeableConcept               `json:"relationship,omitempty"`
	Note         []Annotation                   `json:"note,omitempty"`
	Condition    []FamilyMemberHistoryCondition `json:"condition,omitempty"`
}

func (r FamilyMemberHistory) typeAndID() (string, string) { return r.ResourceType, r.ID }

// FamilyMemberHistoryCondition is a condition of the family member.
type FamilyMemberHistoryCondition struct {
	Code CodeableConcept `json:"code"`
}

// ProfileKindOf returns the profile section a FHIR resource type stands for.
func ProfileKindOf(resourceType string) (carnet.ProfileKind, bool) {
	switch resourceType {
	case "Immunization":
		return carnet.ProfileVaccination, true
	case "AllergyIntolerance":
		return carnet.ProfileAllergy, true
	case "Condition":
		return carnet.ProfileCondition, true
	case "FamilyMemberHistory":
		return carnet.ProfileFamilyHistory, true
	case "MedicationStatement":
		return carnet.ProfileTreatment, true
	case "Observation":
		return carnet.ProfileMeasure, true
	}
	return "", false
}

// ProfileEntryToFHIR converts a profile entry to the resource of its kind: Immunization,
// AllergyIntolerance, Condition, FamilyMemberHistory, MedicationStatement (treatments) or
// Observation (measures).
func ProfileEntryToFHIR(e *carnet.ProfileEntry) (any, error) {
	switch e.Kind {
	case carnet.ProfileVaccination:
		return ImmunizationToFHIR(e), nil
	case carnet.ProfileAllergy:
		return AllergyIntoleranceToFHIR(e), nil
	case carnet.ProfileCondition:
		return ConditionToFHIR(e), nil
	case carnet.ProfileFamilyHistory:
		return FamilyMemberHistoryToFHIR(e), nil
	case carnet.ProfileTreatment:
		return MedicationStatementToFHIR(e), nil
	case carnet.ProfileMeasure:
		return ObservationToFHIR(e), nil
	}
	return nil, carnet.Errorf(carnet.EINVALID, "rubrique %q sans forme FHIR", e.Kind)
}

// entryCode is the entry's concept: its label as text, and its code when its system is known.
func entryCode(e *carnet.ProfileEntry) CodeableConcept {
	cc := CodeableConcept{Text: e.Label}
	if sys := CodeSystemURI(e.CodeSystem); e.Code != "" && sys != "" {
		cc.Coding = []Coding{{System: sys, Code: e.Code}}
	}
	return cc
}

// entryNotes is the entry's notes as annotations.
func entryNotes(e *carnet.ProfileEntry) []Annotation {
	if strings.TrimSpace(e.Notes) == "" {
		return nil
	}
	return []Annotation{{Text: e.Notes}}
}

// entryAuthor is a reference to who recorded the entry, nil for the system.
func entryAuthor(e *carnet.ProfileEntry) *Reference {
	if e.AuthorID == "" {
		return nil
	}
	switch e.AuthorKind {
	case carnet.AuthorProfessional:
		return ref("Practitioner", e.AuthorID)
	case carnet.AuthorPatient:
		return ref("Patient", e.AuthorID)
	}
	return nil
}

// entryVerification is "confirmed" when a professional recorded the entry, "unconfirmed" when the
// patient did, "entered-in-error" when it was deleted, "" otherwise.
func entryVerification(e *carnet.ProfileEntry) string {
	switch {
	case e.Deleted:
		return "entered-in-error"
	case e.AuthorKind == carnet.AuthorProfessional:
		return "confirmed"
	case e.AuthorKind == carnet.AuthorPatient:
		return "unconfirmed"
	}
	return ""
}

// ImmunizationToFHIR converts a vaccination. A professional's entry is from a primary source; a
// patient's is reported from recall.
func ImmunizationToFHIR(e *carnet.ProfileEntry) Immunization {
	code := entryCode(e)
	r := Immunization{
		ResourceType: "Immunization", ID: e.ID, Meta: meta(e.UpdatedAt),
		Status: "completed", VaccineCode: &code, Patient: ref("Patient", e.PatientID),
		Recorded: optInstant(e.CreatedAt), Note: entryNotes(e),
	}
	if e.Deleted {
		r.Status = "entered-in-error"
	}
	if !e.Date.IsZero() {
		r.OccurrenceDateTime = formatDateTime(e.Date)
	}
	switch e.AuthorKind {
	case carnet.AuthorProfessional:
		r.PrimarySource = ptr(true)
	case carnet.AuthorPatient:
		r.PrimarySource = ptr(false)
		r.ReportOrigin = &CodeableConcept{Coding: []Coding{{System: SystemImmunizationOrigin, Code: "recall", Display: "Parent/Guardian/Patient Recall"}}}
	}
	return r
}

// AllergyIntoleranceToFHIR converts an allergy: active, or resolved once it has an end date.
func AllergyIntoleranceToFHIR(e *carnet.ProfileEntry) AllergyIntolerance {
	code := entryCode(e)
	r := AllergyIntolerance{
		ResourceType: "AllergyIntolerance", ID: e.ID, Meta: meta(e.UpdatedAt),
		Code: &code, Patient: ref("Patient", e.PatientID), RecordedDate: optInstant(e.CreatedAt),
		Recorder: entryAuthor(e), Note: entryNotes(e),
	}
	if !e.Deleted {
		status := "active"
		if e.EndDate != nil {
			status = "resolved"
		}
		r.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: SystemAllergyClinical, Code: status}}}
	}
	if v := entryVerification(e); v != "" {
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: SystemAllergyVerification, Code: v}}}
	}
	if !e.Date.IsZero() {
		r.OnsetDateTime = formatDateTime(e.Date)
	}
	return r
}

// ConditionToFHIR converts a condition (a problem-list item): active, or resolved at its end date.
func ConditionToFHIR(e *carnet.ProfileEntry) Condition {
	code := entryCode(e)
	r := Condition{
		ResourceType: "Condition", ID: e.ID, Meta: meta(e.UpdatedAt),
		Category: []CodeableConcept{concept(SystemConditionCategory, "problem-list-item", "Problem List Item")},
		Code:     &code, Subject: ref("Patient", e.PatientID), RecordedDate: optInstant(e.CreatedAt),
		Recorder: entryAuthor(e), Note: entryNotes(e),
	}
	if !e.Deleted {
		status := "active"
		if e.EndDate != nil {
			status = "resolved"
			r.AbatementDateTime = formatDateTime(*e.EndDate)
		}
		r.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: SystemConditionClinical, Code: status}}}
	}
	if v := entryVerification(e); v != "" {
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: SystemConditionVerification, Code: v}}}
	}
	if !e.Date.IsZero() {
		r.OnsetDateTime = formatDateTime(e.Date)
	}
	return r
}

// FamilyMemberHistoryToFHIR converts a family history line. Carnet does not record which relative
// it is about, so the relationship is the generic "family member" and the label tells the rest.
func FamilyMemberHistoryToFHIR(e *carnet.ProfileEntry) FamilyMemberHistory {
	r := FamilyMemberHistory{
		ResourceType: "FamilyMemberHistory", ID: e.ID, Meta: meta(e.UpdatedAt),
		Status: "completed", Patient: ref("Patient", e.PatientID),
		Relationship: &CodeableConcept{Coding: []Coding{{System: SystemRoleCode, Code: "FAMMEMB", Display: "family member"}}, Text: "membre de la famille"},
		Note:         entryNotes(e),
		Condition:    []FamilyMemberHistoryCondition{{Code: entryCode(e)}},
	}
	if e.Deleted {
		r.Status = "entered-in-error"
	}
	if !e.Date.IsZero() {
		r.Date = formatDateTime(e.Date)
	}
	return r
}

// ParseImmunization parses an Immunization submitted by a professional adding a vaccination. It
// returns an entry of kind vaccination with the patient (from the reference), the vaccine (label
// from vaccineCode.text, else the first coding's display or code; code and system from the first
// coding), the day of administration and the notes; the service sets the author and validates
// the rest.
func ParseImmunization(body []byte) (*carnet.ProfileEntry, error) {
	var r Immunization
	if err := decode(body, &r, "Immunization", func() string { return r.ResourceType }); err != nil {
		return nil, err
	}
	if err := noModifierExtension("Immunization", r.ModifierExtension); err != nil {
		return nil, err
	}
	switch r.Status {
	case "completed":
	case "":
		return nil, invalidf("required", "Immunization.status", "statut manquant : completed attendu")
	default:
		return nil, invalidf("value", "Immunization.status", "statut %q refusé : seule une vaccination faite (completed) s'enregistre", r.Status)
	}
	e := &carnet.ProfileEntry{Kind: carnet.ProfileVaccination}
	var err error
	if e.PatientID, err = patientRef(r.Patient, "Immunization.patient"); err != nil {
		return nil, err
	}
	if r.VaccineCode == nil {
		return nil, invalidf("required", "Immunization.vaccineCode", "vaccin manquant (Immunization.vaccineCode)")
	}
	e.Label = strings.TrimSpace(r.VaccineCode.Text)
	for _, c := range r.VaccineCode.Coding {
		if c.Code == "" {
			continue
		}
		e.Code, e.CodeSystem = c.Code, c.System
		if e.Label == "" {
			e.Label = strings.TrimSpace(c.Display)
		}
		if e.Label == "" {
			e.Label = c.Code
		}
		break
	}
	if e.Label == "" {
		return nil, invalidf("required", "Immunization.vaccineCode", "vaccin manquant : vaccineCode.text ou un code attendu")
	}
	switch {
	case r.OccurrenceDateTime != "":
		if e.Date, err = parseDay(r.OccurrenceDateTime, "Immunization.occurrenceDateTime", "date de vaccination"); err != nil {
			return nil, err
		}
	case r.OccurrenceString != "":
		return nil, invalidf("value", "Immunization.occurrenceString", "date de vaccination en texte libre non prise en charge : occurrenceDateTime (AAAA-MM-JJ) attendu")
	default:
		return nil, invalidf("required", "Immunization.occurrenceDateTime", "date de vaccination manquante (occurrenceDateTime)")
	}
	var notes []string
	for _, n := range r.Note {
		if t := strings.TrimSpace(n.Text); t != "" {
			notes = append(notes, t)
		}
	}
	e.Notes = strings.Join(notes, "\n")
	return e, nil
}
