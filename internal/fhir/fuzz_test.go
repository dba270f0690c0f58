package fhir

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/carnet-sante/carnet"
)

// checkParseError checks what every parser promises of its errors: a *carnet.Error of an
// expected code with a user-facing message, which OutcomeFromError maps to a 4xx answer.
func checkParseError(t *testing.T, err error, codes ...string) {
	t.Helper()
	var ce *carnet.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *carnet.Error: %v", err, err)
	}
	ok := false
	for _, c := range codes {
		ok = ok || carnet.ErrorCode(err) == c
	}
	if !ok || carnet.ErrorMessage(err) == "" {
		t.Fatalf("unexpected error %q: %v", carnet.ErrorCode(err), err)
	}
	if status, _ := OutcomeFromError(err); status < 400 || status > 499 {
		t.Fatalf("status %d for a parse error: %v", status, err)
	}
}

// seedFiles adds the golden resources of a type as seeds.
func seedFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseDocumentReference(f *testing.F) {
	seedFiles(f, "documentreference*.json")
	f.Add(encode(f, baseDocument()))
	m := baseDocument()
	set(m, "content.0.attachment", map[string]any{"contentType": "application/pdf", "url": "Binary/b1", "size": 3})
	f.Add(encode(f, m))
	f.Add([]byte(`{"resourceType":"DocumentReference","content":[{"attachment":{"data":"===="}}]}`))
	const maxBytes = 64
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseDocumentReference(body, maxBytes)
		if err != nil {
			checkParseError(t, err, carnet.EINVALID, carnet.ETOOLARGE)
			return
		}
		if _, err := carnet.LookupDocType(in.TypeCode); err != nil {
			t.Fatalf("unknown type accepted: %q", in.TypeCode)
		}
		if in.Title == "" || !carnet.ValidMediaType(in.MediaType) {
			t.Fatalf("title %q, media type %q", in.Title, in.MediaType)
		}
		if in.HiddenFromProfessionals && in.HiddenFromPatient {
			t.Fatal("both hidden from professionals and from the patient")
		}
		if (in.PatientID == "") == (in.PatientNIR == "") {
			t.Fatalf("patient %q / NIR %q: exactly one expected", in.PatientID, in.PatientNIR)
		}
		if in.PatientNIR != "" && carnet.ValidateNIR(in.PatientNIR) != nil {
			t.Fatalf("invalid NIR accepted: %q", in.PatientNIR)
		}
		if (in.Data == nil) == (in.BinaryID == "") {
			t.Fatalf("data %d bytes, binary %q: exactly one expected", len(in.Data), in.BinaryID)
		}
		if len(in.Data) > maxBytes || (in.Data != nil && len(in.Data) == 0) {
			t.Fatalf("data of %d bytes accepted", len(in.Data))
		}
		if in.Data != nil && in.Size != 0 && in.Size != int64(len(in.Data)) {
			t.Fatalf("declared size %d for %d bytes", in.Size, len(in.Data))
		}
		if in.SHA256 != nil && in.Data != nil {
			if sum := sha256.Sum256(in.Data); string(sum[:]) != string(in.SHA256) {
				t.Fatal("SHA-256 mismatch accepted")
			}
		}
		if in.ReplacesID != "" && !ValidID(in.ReplacesID) || in.BinaryID != "" && !ValidID(in.BinaryID) || in.PatientID != "" && !ValidID(in.PatientID) {
			t.Fatalf("invalid id accepted: %+v", in)
		}
	})
}

func FuzzParseImmunization(f *testing.F) {
	seedFiles(f, "immunization*.json")
	f.Add(encode(f, baseImmunization()))
	f.Add([]byte(`{"resourceType":"Immunization","status":"completed","patient":{"reference":"Patient/1"},"vaccineCode":{"text":"x"},"occurrenceDateTime":"2026-02-29"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseImmunization(body)
		if err != nil {
			checkParseError(t, err, carnet.EINVALID)
			return
		}
		if e.Kind != carnet.ProfileVaccination || e.Label == "" || e.Date.IsZero() || !ValidID(e.PatientID) {
			t.Fatalf("accepted %+v", e)
		}
		if h, m, s := e.Date.Clock(); h != 0 || m != 0 || s != 0 || e.Date.Location().String() != "UTC" {
			t.Fatalf("date not a UTC day: %v", e.Date)
		}
	})
}

func FuzzParseIdentifierToken(f *testing.F) {
	for _, s := range []string{"urn:oid:1.2.250.1.213.1.4.8|255081416802538", "255081416802538", "|", `urn:oid:1.2.250.1.213.1.4.8\|1`,
		"urn:oid:1.2.250.1.213.1.4.11|2A0000000000000", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		system, value, err := ParseIdentifierToken(s)
		if err != nil {
			checkParseError(t, err, carnet.EINVALID)
			return
		}
		if carnet.ValidateNIR(value) != nil || carnet.NormalizeNIR(value) != value {
			t.Fatalf("invalid NIR accepted: %q", value)
		}
		if system != "" {
			if _, ok := insTypes[system[len("urn:oid:"):]]; !ok {
				t.Fatalf("unknown system accepted: %q", system)
			}
		}
	})
}

func FuzzParseDateParam(f *testing.F) {
	for _, s := range []string{"2026", "eq2026-01", "ge2026-01-01", "lt2024-02-29", "gt2026-01-15T10:00:00.5+14:00", "ne2026", "2026-13"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseDateParam(s)
		if err != nil {
			checkParseError(t, err, carnet.EINVALID)
			return
		}
		switch p.Prefix {
		case "eq", "ge", "gt", "le", "lt":
		default:
			t.Fatalf("prefix %q", p.Prefix)
		}
		if !p.Start.Before(p.End) {
			t.Fatalf("empty period [%v, %v)", p.Start, p.End)
		}
		from, to := p.Range()
		if from.IsZero() && to.IsZero() || !from.IsZero() && !to.IsZero() && !from.Before(to) {
			t.Fatalf("range [%v, %v)", from, to)
		}
	})
}

func FuzzParseTokenParam(f *testing.F) {
	for _, s := range []string{"http://loinc.org|11488-4", `a\|b|c`, "|x", "x|", `\`, "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseTokenParam(s)
		if err != nil {
			checkParseError(t, err, carnet.EINVALID)
			return
		}
		if tok.System == "" && tok.Code == "" {
			t.Fatalf("empty token accepted from %q", s)
		}
		if !tok.HasSystem && tok.System != "" {
			t.Fatalf("system without '|': %+v", tok)
		}
	})
}
