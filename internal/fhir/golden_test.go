package fhir

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// marshal encodes v as the golden files hold it: indented by two spaces, HTML left unescaped.
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return buf.Bytes()
}

// golden compares v, marshalled, with testdata/name.json (or rewrites it under -update).
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got := marshal(t, v)
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/fhir -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/fhir -update to accept):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return "(no line differs)"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Fixtures.

func patientMarie() *carnet.Patient {
	return &carnet.Patient{
		ID: "0193a5b2-7c1e-7d2a-9f00-000000000001", NIR: "2 55 08 14 168 025 38", INSOID: carnet.OIDINSNIR,
		BirthName: "MARTIN", GivenNames: "Marie Claire  Louise", UsedName: "DUPONT", Sex: carnet.SexFemale,
		BirthDate: day("1955-08-14"), BirthPlace: "14168", Email: "marie.dupont@example.org", Mobile: "+33612345678",
		PostalAddress: "12 rue des Lilas, 14000 Caen", Status: carnet.PatientActive,
		CreatedAt: instant("2026-01-05T09:00:00Z"), UpdatedAt: instant("2026-03-01T10:15:30.123456Z"),
	}
}

func documentReport() *carnet.Document {
	return &carnet.Document{
		ID: "0193a5b2-7c1e-7d2a-9f00-00000000d002", PatientID: "0193a5b2-7c1e-7d2a-9f00-000000000001",
		TypeCode: "11488-4", Class: "10", Title: "Consultation de cardiologie",
		AuthorKind: carnet.AuthorProfessional, AuthorID: "pro-cardio", AuthorName: "Dr Paul Durand", StructureID: "140000019",
		ServiceDate: day("2026-02-10"), Status: carnet.DocCurrent, ReplacesID: "0193a5b2-7c1e-7d2a-9f00-00000000d001",
		HiddenFromProfessionals: true, HiddenFromRepresentatives: true,
		ContentHash: bytes.Repeat([]byte{0xab}, 32), Size: 48213, MediaType: "application/pdf",
		CreatedAt: instant("2026-02-10T16:42:07.5Z"), UpdatedAt: instant("2026-02-10T16:42:07.5Z"),
	}
}

const patientNote = "Penser à refaire le rappel DTP en 2030.\n"

func documentPatientNote() *carnet.Document {
	body := []byte(patientNote)
	return &carnet.Document{
		ID: "0193a5b2-7c1e-7d2a-9f00-00000000d003", PatientID: "0193a5b2-7c1e-7d2a-9f00-000000000001",
		TypeCode: "DOCPAT01", Title: "Mes notes de santé",
		AuthorKind: carnet.AuthorPatient, AuthorID: "0193a5b2-7c1e-7d2a-9f00-000000000001", AuthorName: "Marie DUPONT",
		ServiceDate: day("2026-10-10"), Status: carnet.DocArchived, HiddenFromPatient: false,
		ContentHash: sha256Of(body), Size: int64(len(body)), MediaType: "text/plain",
		CreatedAt: instant("2026-10-10T08:00:00Z"), UpdatedAt: instant("2026-11-01T08:00:00Z"),
	}
}

func documentReimbursement() *carnet.Document {
	return &carnet.Document{
		ID: "0193a5b2-7c1e-7d2a-9f00-00000000d004", PatientID: "0193a5b2-7c1e-7d2a-9f00-000000000001",
		TypeCode: "REMB", Title: "Remboursements 2025", AuthorKind: carnet.AuthorSystem, AuthorName: "Assurance Maladie",
		Status: carnet.DocDeleted, HiddenFromPatient: true, ContentHash: bytes.Repeat([]byte{1}, 32), Size: 900,
		MediaType: "text/xml", CreatedAt: instant("2026-01-31T23:00:00Z"),
	}
}

func entry(kind carnet.ProfileKind) *carnet.ProfileEntry {
	return &carnet.ProfileEntry{
		ID: "entry-" + strings.ReplaceAll(string(kind), "_", "-"), PatientID: "0193a5b2-7c1e-7d2a-9f00-000000000001", Kind: kind,
		AuthorKind: carnet.AuthorProfessional, AuthorID: "pro-pharma",
		CreatedAt: instant("2026-10-20T14:05:00Z"), UpdatedAt: instant("2026-10-20T14:05:00Z"),
	}
}

func TestGoldenPatient(t *testing.T) {
	golden(t, "patient", PatientToFHIR(patientMarie()))
	p := &carnet.Patient{ID: "p-demo", NIR: "180126978912552", INSOID: carnet.OIDINSNIATest, BirthName: "TEST",
		GivenNames: "Jean", Sex: carnet.SexMale, BirthDate: day("1980-12-01"), Status: carnet.PatientClosed}
	golden(t, "patient_demo", PatientToFHIR(p))
	// Without the clear NIR (a store read the service has not completed) there is no identifier.
	p.NIR = ""
	if got := PatientToFHIR(p); len(got.Identifier) != 0 {
		t.Errorf("identifier without NIR: %+v", got.Identifier)
	}
}

func TestGoldenDocumentReference(t *testing.T) {
	golden(t, "documentreference", DocumentReferenceToFHIR(documentReport(), DocumentOptions{}))
	golden(t, "documentreference_inline", DocumentReferenceToFHIR(documentPatientNote(), DocumentOptions{Data: []byte(patientNote)}))
	golden(t, "documentreference_deleted", DocumentReferenceToFHIR(documentReimbursement(), DocumentOptions{}))
	golden(t, "binary", BinaryToFHIR(documentPatientNote(), []byte(patientNote)))
}

func TestGoldenProfile(t *testing.T) {
	vacc := entry(carnet.ProfileVaccination)
	vacc.Label, vacc.Date, vacc.Notes = "Grippe saisonnière 2026-2027", day("2026-10-20"), "Lot X123, bras gauche"
	vaccPatient := entry(carnet.ProfileVaccination)
	vaccPatient.ID, vaccPatient.AuthorKind, vaccPatient.AuthorID = "entry-vaccination-2", carnet.AuthorPatient, "0193a5b2-7c1e-7d2a-9f00-000000000001"
	vaccPatient.Label, vaccPatient.Code, vaccPatient.CodeSystem, vaccPatient.Date = "DTP", "J07CA01", "ATC", day("2010-06-01")
	allergy := entry(carnet.ProfileAllergy)
	allergy.AuthorKind, allergy.AuthorID = carnet.AuthorPatient, "0193a5b2-7c1e-7d2a-9f00-000000000001"
	allergy.Label, allergy.Code, allergy.CodeSystem, allergy.Date = "Allergie à la pénicilline", "91936005", "http://snomed.info/sct", day("2004-05-01")
	cond := entry(carnet.ProfileCondition)
	end := day("2024-01-01")
	cond.Label, cond.Code, cond.CodeSystem, cond.Date, cond.EndDate = "Hypertension artérielle", "I10", "CIM-10", day("2021-02-10"), &end
	deleted := entry(carnet.ProfileCondition)
	deleted.ID, deleted.Label, deleted.Date, deleted.Deleted, deleted.AuthorKind, deleted.AuthorID = "entry-deleted", "Asthme", day("2020-01-01"), true, carnet.AuthorSystem, ""
	family := entry(carnet.ProfileFamilyHistory)
	family.Label, family.Date, family.Notes = "Diabète de type 2 (père)", day("2010-01-01"), "diagnostiqué à 50 ans"

	golden(t, "immunization", ImmunizationToFHIR(vacc))
	golden(t, "immunization_patient", ImmunizationToFHIR(vaccPatient))
	golden(t, "allergyintolerance", AllergyIntoleranceToFHIR(allergy))
	golden(t, "condition", ConditionToFHIR(cond))
	golden(t, "condition_deleted", ConditionToFHIR(deleted))
	golden(t, "familymemberhistory", FamilyMemberHistoryToFHIR(family))
	treatment := entry(carnet.ProfileTreatment)
	treatment.Label, treatment.Date, treatment.EndDate = "Amlodipine 5 mg, 1 comprimé le matin", day("2021-02-10"), &end
	measure := entry(carnet.ProfileMeasure)
	measure.Label, measure.Code, measure.Value, measure.Unit, measure.Date = "Poids", "29463-7", 63.8, "kg", day("2026-09-12")
	golden(t, "medicationstatement", MedicationStatementToFHIR(treatment))
	golden(t, "observation", ObservationToFHIR(measure))

	for _, e := range []*carnet.ProfileEntry{vacc, allergy, cond, family, treatment, measure} {
		r, err := ProfileEntryToFHIR(e)
		if err != nil {
			t.Fatalf("%s: %v", e.Kind, err)
		}
		typ, id := typeAndID(r)
		if k, ok := ProfileKindOf(typ); !ok || k != e.Kind || id != e.ID {
			t.Errorf("%s: got %s/%s (kind %q)", e.Kind, typ, id, k)
		}
	}
}

func TestGoldenWishes(t *testing.T) {
	w := &carnet.Wishes{PatientID: "patient-1", TrustedPerson: &carnet.Contact{Name: "Paul Dupont", Relation: "conjoint", Phone: "+33611223344"},
		Relatives:         []carnet.Contact{{Name: "Claire Dupont", Relation: "fille", Email: "claire@example.org"}},
		AdvanceDirectives: "Pas d’acharnement thérapeutique.", OrganDonation: carnet.OrganDonationRefuses}
	golden(t, "wishes", WishesToFHIR(w))
	if got := WishesToFHIR(&carnet.Wishes{PatientID: "p"}); len(got) != 0 {
		t.Errorf("empty wishes give %d resources", len(got))
	}
}

func TestGoldenConsent(t *testing.T) {
	now := instant("2026-11-23T12:00:00Z")
	expires := instant("2027-05-23T00:00:00Z")
	c := &carnet.Consent{ID: "consent-1", PatientID: "0193a5b2-7c1e-7d2a-9f00-000000000001", ProfessionalID: "pro-cardio",
		Kind: carnet.ConsentOral, Purpose: "soins", DeclaredAt: instant("2026-11-20T09:30:00Z"), ExpiresAt: &expires}
	golden(t, "consent", ConsentToFHIR(c, now))
	revoked := instant("2026-11-22T18:00:00Z")
	c2 := *c
	c2.ID, c2.Kind, c2.Purpose, c2.RevokedAt = "consent-2", carnet.ConsentWritten, "suivi de grossesse", &revoked
	golden(t, "consent_revoked", ConsentToFHIR(&c2, now))
	if got := ConsentToFHIR(c, expires).Status; got != "inactive" {
		t.Errorf("expired consent: status %q", got)
	}
}

func TestGoldenOutcomeBundleCapability(t *testing.T) {
	_, err := ParseDocumentReference([]byte(`{"resourceType":"DocumentReference","subject":{"reference":"Patient/p1"},"type":{"coding":[{"system":"http://loinc.org","code":"99999-9"}]}}`), 0)
	_, o := OutcomeFromError(err)
	golden(t, "operationoutcome_invalid", o)
	_, o = OutcomeFromError(&carnet.Error{Code: carnet.EINTERNAL, Message: "pq: relation documents does not exist"})
	golden(t, "operationoutcome_internal", o)

	b := SearchSet("https://carnet.example/fhir/", 2, []any{
		DocumentReferenceToFHIR(documentReport(), DocumentOptions{}),
		ptr(DocumentReferenceToFHIR(documentPatientNote(), DocumentOptions{})),
	}, "https://carnet.example/fhir/DocumentReference?patient=Patient/0193a5b2-7c1e-7d2a-9f00-000000000001&_count=2")
	b.AddLink("next", "https://carnet.example/fhir/DocumentReference?patient=Patient/0193a5b2-7c1e-7d2a-9f00-000000000001&_count=2&_page=2")
	golden(t, "bundle_searchset", b)
	golden(t, "capabilitystatement", Capability("https://carnet.example/fhir/", "1.2.0"))
}

func TestSearchSetEntries(t *testing.T) {
	raw := json.RawMessage(`{"resourceType":"AuditEvent","id":"ev1"}`)
	type auditEvent struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	b := SearchSet("https://h/fhir", -1, []any{raw, auditEvent{"AuditEvent", "ev2"}, nil, map[string]string{"x": "y"}}, "")
	if b.Total != nil || len(b.Link) != 0 {
		t.Errorf("unknown total or no self link: got total %v, links %v", b.Total, b.Link)
	}
	if len(b.Entry) != 3 {
		t.Fatalf("want 3 entries (nil skipped), got %d", len(b.Entry))
	}
	want := []string{"https://h/fhir/AuditEvent/ev1", "https://h/fhir/AuditEvent/ev2", ""}
	for i, e := range b.Entry {
		if e.FullURL != want[i] || e.Search == nil || e.Search.Mode != "match" {
			t.Errorf("entry %d: fullUrl %q search %+v", i, e.FullURL, e.Search)
		}
	}
	empty := marshal(t, SearchSet("https://h/fhir", 0, nil, ""))
	if !bytes.Contains(empty, []byte(`"total": 0`)) {
		t.Errorf("a total of 0 must be written:\n%s", empty)
	}
}
