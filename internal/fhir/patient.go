package fhir

import (
	"strings"

	"github.com/carnet-sante/carnet"
)

// Patient is a FHIR Patient, in the FR Core flavour.
type Patient struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Extension    []Extension    `json:"extension,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Active       *bool          `json:"active,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	BirthDate    string         `json:"birthDate,omitempty"`
	Address      []Address      `json:"address,omitempty"`
}

func (r Patient) typeAndID() (string, string) { return r.ResourceType, r.ID }

// insType is how FR Core types an INS of a given OID.
type insType struct {
	code, display, use string
}

// insTypes maps the INS OIDs to their FR Core identifier type and use. The OID ….11 is what FR
// Core calls a demonstration NIR (carnet.OIDINSNIATest).
var insTypes = map[string]insType{
	carnet.OIDINSNIR:     {CodeINSNIR, "NIR définitif", "official"},
	carnet.OIDINSNIA:     {CodeINSNIA, "NIR temporaire", "temp"},
	carnet.OIDINSNIRTest: {CodeINSNIRTest, "NIR TEST", "official"},
	carnet.OIDINSNIATest: {CodeINSNIRDemo, "NIR DEMO", "official"},
}

// INSIdentifier returns the FR Core identifier of an INS: the NIR (or NIA) qualified by its OID.
// An empty OID stands for the NIR's (carnet.OIDINSNIR).
func INSIdentifier(oid, nir string) Identifier {
	if oid == "" {
		oid = carnet.OIDINSNIR
	}
	id := Identifier{System: "urn:oid:" + oid, Value: carnet.NormalizeNIR(nir)}
	if t, ok := insTypes[oid]; ok {
		id.Use = t.use
		id.Type = &CodeableConcept{Coding: []Coding{{System: SystemFRCoreIdentifierType, Code: t.code, Display: t.display}}}
	}
	return id
}

// PatientToFHIR converts a patient. The INS identifier is present when the clear NIR is (the
// service fills it back on reads).
func PatientToFHIR(p *carnet.Patient) Patient {
	r := Patient{ResourceType: "Patient", ID: p.ID, Meta: meta(p.UpdatedAt)}
	if r.Meta == nil {
		r.Meta = &Meta{}
	}
	r.Meta.Profile = []string{ProfileFRCorePatient}
	if p.BirthPlace != "" {
		r.Extension = append(r.Extension, Extension{URL: ExtPatientBirthPlace, ValueAddress: &Address{
			Extension: []Extension{{URL: ExtAddressINSEECode, ValueCoding: &Coding{System: SystemTRER13, Code: p.BirthPlace}}},
		}})
	}
	if p.NIR != "" {
		r.Identifier = append(r.Identifier, INSIdentifier(p.INSOID, p.NIR))
	}
	switch p.Status {
	case carnet.PatientEnrolled, carnet.PatientActive:
		r.Active = ptr(true)
	case carnet.PatientOpposed, carnet.PatientClosed, carnet.PatientDestroyed:
		r.Active = ptr(false)
	}
	givens := strings.Fields(p.GivenNames)
	var first []string
	if len(givens) > 0 {
		first = givens[:1]
	}
	official := HumanName{Use: "official", Family: strings.TrimSpace(p.BirthName), Given: first}
	if len(givens) > 0 {
		official.Extension = []Extension{{URL: ExtBirthListGivenName, ValueString: strings.Join(givens, " ")}}
	}
	if official.Family != "" || len(official.Given) > 0 {
		r.Name = append(r.Name, official)
	}
	if used := strings.TrimSpace(p.UsedName); used != "" {
		r.Name = append(r.Name, HumanName{Use: "usual", Family: used, Given: first})
	}
	if p.Mobile != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "phone", Value: p.Mobile, Use: "mobile"})
	}
	if p.Email != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "email", Value: p.Email})
	}
	switch p.Sex {
	case carnet.SexMale:
		r.Gender = "male"
	case carnet.SexFemale:
		r.Gender = "female"
	}
	if !p.BirthDate.IsZero() {
		r.BirthDate = formatDate(p.BirthDate)
	}
	if a := strings.TrimSpace(p.PostalAddress); a != "" {
		r.Address = []Address{{Use: "home", Text: a}}
	}
	return r
}
