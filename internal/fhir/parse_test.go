package fhir

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// del marks a key to delete in set.
type delMarker struct{}

var del = delMarker{}

// set sets (or deletes) the value at a dotted path ("content.0.attachment.size") of a decoded JSON
// value.
func set(v any, path string, val any) {
	keys := strings.Split(path, ".")
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := v.(type) {
		case map[string]any:
			if last {
				if _, d := val.(delMarker); d {
					delete(c, k)
				} else {
					c[k] = val
				}
				return
			}
			if _, ok := c[k]; !ok {
				c[k] = map[string]any{}
			}
			v = c[k]
		case []any:
			n, _ := strconv.Atoi(k)
			if last {
				c[n] = val
				return
			}
			v = c[n]
		}
	}
}

func coding(system, code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
}

const body7 = "bonjour"

// baseDocument is a valid DocumentReference for creation, with its body inline.
func baseDocument() map[string]any {
	return map[string]any{
		"resourceType":  "DocumentReference",
		"status":        "current",
		"type":          coding(SystemLOINC, "11488-4"),
		"category":      []any{coding(SystemTREA03, "10")},
		"subject":       map[string]any{"reference": "Patient/p1"},
		"description":   "Consultation",
		"securityLabel": []any{coding(SystemConfidentiality, "N")},
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": "text/plain", "data": b64(body7), "size": len(body7),
		}}},
		"context": map[string]any{"period": map[string]any{"start": "2026-02-10"}},
	}
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseCase is a table test of a parser's refusal.
type parseCase struct {
	name  string
	mut   func(m map[string]any) // applied to the base resource
	raw   string                 // used instead of the base resource when not empty
	code  string                 // carnet error code
	msg   string                 // a part of the French message
	issue string                 // OperationOutcome issue code
	expr  string                 // FHIRPath, when the error gives one
}

func checkErr(t *testing.T, c parseCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", c.code, c.msg)
	}
	var ce *carnet.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *carnet.Error: %v", err, err)
	}
	if got := carnet.ErrorCode(err); got != c.code {
		t.Errorf("code %q, want %q (%v)", got, c.code, err)
	}
	if msg := carnet.ErrorMessage(err); !strings.Contains(msg, c.msg) {
		t.Errorf("message %q does not contain %q", msg, c.msg)
	}
	_, o := OutcomeFromError(err)
	if c.issue != "" && o.Issue[0].Code != c.issue {
		t.Errorf("issue code %q, want %q", o.Issue[0].Code, c.issue)
	}
	if c.expr != "" && (len(o.Issue[0].Expression) != 1 || o.Issue[0].Expression[0] != c.expr) {
		t.Errorf("expression %v, want %q", o.Issue[0].Expression, c.expr)
	}
}

func (c parseCase) body(t *testing.T, base func() map[string]any) []byte {
	if c.raw != "" {
		return []byte(c.raw)
	}
	m := base()
	if c.mut != nil {
		c.mut(m)
	}
	return encode(t, m)
}

func TestParseDocumentReference(t *testing.T) {
	in, err := ParseDocumentReference(encode(t, baseDocument()), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := &NewDocumentInput{PatientID: "p1", TypeCode: "11488-4", Title: "Consultation", MediaType: "text/plain",
		ServiceDate: day("2026-02-10"), Data: []byte(body7), Size: 7}
	if !equalInput(in, want) {
		t.Errorf("got %+v\nwant %+v", in, want)
	}

	// The variants that are accepted.
	m := baseDocument()
	set(m, "type", coding(SystemTREA05OID, "PRESC-KINE"))
	set(m, "category", []any{coding(SystemTREA03OID, "42"), coding("http://example.org/other", "x")})
	set(m, "subject", map[string]any{"identifier": map[string]any{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "2 55 08 14 168 025 38"}})
	set(m, "securityLabel", []any{coding(SystemTREA07OID, CodeHiddenFromPatient), coding(SystemTREA07, CodeHiddenFromRepresentatives)})
	set(m, "relatesTo", []any{map[string]any{"code": "replaces", "target": map[string]any{"reference": "https://h/fhir/DocumentReference/old-1/_history/2"}}})
	set(m, "description", del)
	set(m, "content.0.attachment.title", " Ordonnance ")
	set(m, "content.0.attachment.contentType", "Text/Plain; charset=UTF-8")
	set(m, "content.0.attachment.data", "Ym9u\r\nam91cg")
	set(m, "content.0.attachment.hash", base64.StdEncoding.EncodeToString(sha1Of(body7)))
	set(m, "content.0.attachment.extension", []any{map[string]any{"url": ExtAttachmentSHA256, "valueBase64Binary": base64.StdEncoding.EncodeToString(sha256Of([]byte(body7)))}})
	set(m, "context.period.start", "2026-02-10T00:30:00+01:00")
	in, err = ParseDocumentReference(encode(t, m), 7)
	if err != nil {
		t.Fatal(err)
	}
	want = &NewDocumentInput{PatientINSOID: carnet.OIDINSNIR, PatientNIR: "255081416802538", TypeCode: "PRESC-KINE", Title: "Ordonnance",
		MediaType: "text/plain", ServiceDate: day("2026-02-10"), HiddenFromPatient: true, HiddenFromRepresentatives: true,
		ReplacesID: "old-1", Data: []byte(body7), Size: 7, SHA1: sha1Of(body7), SHA256: sha256Of([]byte(body7))}
	if !equalInput(in, want) {
		t.Errorf("got %+v\nwant %+v", in, want)
	}

	// A byte order mark is tolerated.
	if _, err := ParseDocumentReference(append([]byte("\xef\xbb\xbf"), encode(t, baseDocument())...), 7); err != nil {
		t.Errorf("with a BOM: %v", err)
	}

	// A conditional reference by INS, and a body in a Binary.
	m = baseDocument()
	set(m, "subject.reference", "Patient?identifier=urn:oid:1.2.250.1.213.1.4.10%7C185057512345673")
	set(m, "content.0.attachment", map[string]any{"contentType": "application/pdf", "url": "Binary/b-1", "size": 8})
	in, err = ParseDocumentReference(encode(t, m), 100)
	if err != nil {
		t.Fatal(err)
	}
	if in.PatientINSOID != carnet.OIDINSNIRTest || in.PatientNIR != "185057512345673" || in.BinaryID != "b-1" || in.Data != nil || in.Size != 8 {
		t.Errorf("got %+v", in)
	}
	if err := in.SetBinary("application/pdf", []byte("%PDF-1.7")); err != nil || string(in.Data) != "%PDF-1.7" {
		t.Errorf("SetBinary: %v, data %q", err, in.Data)
	}
	for _, c := range []struct {
		ct, data, msg string
	}{
		{"image/png", "%PDF-1.7", "annonce"},
		{"application/pdf", "%PDF-1.", "taille"},
		{"application/pdf", "", "vide"},
		{"", "%PDF-1.7", "manquant"},
	} {
		in.Data = nil
		if err := in.SetBinary(c.ct, []byte(c.data)); err == nil || !strings.Contains(carnet.ErrorMessage(err), c.msg) {
			t.Errorf("SetBinary(%q, %q): %v, want %q", c.ct, c.data, err, c.msg)
		}
	}

	cases := []parseCase{
		{name: "empty body", raw: " \n", code: carnet.EINVALID, msg: "corps de requête vide", issue: "structure"},
		{name: "not JSON", raw: "<DocumentReference/>", code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "truncated JSON", raw: `{"resourceType":"DocumentReference"`, code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "trailing data", raw: `{"resourceType":"DocumentReference"} {}`, code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "array", raw: `[{"resourceType":"DocumentReference"}]`, code: carnet.EINVALID, msg: "pas un tableau", issue: "structure"},
		{name: "element of the wrong JSON type", mut: func(m map[string]any) { set(m, "subject", "Patient/p1") },
			code: carnet.EINVALID, msg: "« subject » : type JSON inattendu (une chaîne)", issue: "structure", expr: "DocumentReference.subject"},
		{name: "nested element of the wrong type", mut: func(m map[string]any) { set(m, "content.0.attachment.size", "7") },
			code: carnet.EINVALID, msg: "content.attachment.size", issue: "structure"},
		{name: "missing resourceType", mut: func(m map[string]any) { set(m, "resourceType", del) },
			code: carnet.EINVALID, msg: "resourceType manquant", issue: "required", expr: "resourceType"},
		{name: "wrong resourceType", mut: func(m map[string]any) { set(m, "resourceType", "Patient") },
			code: carnet.EINVALID, msg: `resourceType "Patient" inattendu : DocumentReference attendu`, issue: "invalid"},
		{name: "modifier extension", mut: func(m map[string]any) {
			set(m, "modifierExtension", []any{map[string]any{"url": "http://x/y", "valueBoolean": true}})
		}, code: carnet.EINVALID, msg: "extension modificatrice", issue: "extension"},
		{name: "status not current", mut: func(m map[string]any) { set(m, "status", "superseded") },
			code: carnet.EINVALID, msg: "current attendu", issue: "value", expr: "DocumentReference.status"},
		{name: "missing subject", mut: func(m map[string]any) { set(m, "subject", del) },
			code: carnet.EINVALID, msg: "patient manquant", issue: "required", expr: "DocumentReference.subject"},
		{name: "empty subject", mut: func(m map[string]any) { set(m, "subject", map[string]any{"display": "Marie"}) },
			code: carnet.EINVALID, msg: "patient manquant", issue: "required"},
		{name: "subject not a patient", mut: func(m map[string]any) { set(m, "subject.reference", "Practitioner/p1") },
			code: carnet.EINVALID, msg: "référence au patient invalide", issue: "value"},
		{name: "subject with a bad id", mut: func(m map[string]any) { set(m, "subject.reference", "Patient/a b") },
			code: carnet.EINVALID, msg: "référence au patient invalide", issue: "value"},
		{name: "subject relative to nothing", mut: func(m map[string]any) { set(m, "subject.reference", "foo/Patient/p1") },
			code: carnet.EINVALID, msg: "référence au patient invalide", issue: "value"},
		{name: "subject INS of an unknown system", mut: func(m map[string]any) {
			set(m, "subject", map[string]any{"identifier": map[string]any{"system": "urn:oid:1.2.3", "value": "255081416802538"}})
		}, code: carnet.EINVALID, msg: "système \"urn:oid:1.2.3\" inconnu", issue: "value"},
		{name: "subject INS with a bad key", mut: func(m map[string]any) {
			set(m, "subject", map[string]any{"identifier": map[string]any{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "255081416802539"}})
		}, code: carnet.EINVALID, msg: "clé de contrôle", issue: "value"},
		{name: "conditional subject with a bad token", mut: func(m map[string]any) { set(m, "subject.reference", "Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|") },
			code: carnet.EINVALID, msg: "NIR manquant", issue: "value"},
		{name: "missing type", mut: func(m map[string]any) { set(m, "type", del) },
			code: carnet.EINVALID, msg: "type de document manquant", issue: "required", expr: "DocumentReference.type"},
		{name: "type without coding", mut: func(m map[string]any) { set(m, "type", map[string]any{"text": "CR"}) },
			code: carnet.EINVALID, msg: "type de document manquant", issue: "required"},
		{name: "unknown type code", mut: func(m map[string]any) { set(m, "type", coding(SystemLOINC, "99999-9")) },
			code: carnet.EINVALID, msg: "type de document inconnu : http://loinc.org|99999-9", issue: "code-invalid"},
		{name: "unknown type system", mut: func(m map[string]any) { set(m, "type", coding(SystemSNOMED, "371530004")) },
			code: carnet.EINVALID, msg: "LOINC http://loinc.org ou TRE_A05", issue: "code-invalid"},
		{name: "French type under LOINC", mut: func(m map[string]any) { set(m, "type", coding(SystemLOINC, "PRESC-KINE")) },
			code: carnet.EINVALID, msg: "type de document inconnu", issue: "code-invalid"},
		{name: "LOINC type under TRE_A05", mut: func(m map[string]any) { set(m, "type", coding(SystemTREA05, "11488-4")) },
			code: carnet.EINVALID, msg: "type de document inconnu", issue: "code-invalid"},
		{name: "class of another type", mut: func(m map[string]any) { set(m, "category", []any{coding(SystemTREA03, "31")}) },
			code: carnet.EINVALID, msg: `la classe "31" ne correspond pas au type "11488-4"`, issue: "value", expr: "DocumentReference.category"},
		{name: "unknown class", mut: func(m map[string]any) { set(m, "category", []any{coding(SystemTREA03OID, "77")}) },
			code: carnet.EINVALID, msg: "classe de document inconnue", issue: "code-invalid"},
		{name: "unknown visibility code", mut: func(m map[string]any) { set(m, "securityLabel", []any{coding(SystemTREA07, "MASQUE_PT")}) },
			code: carnet.EINVALID, msg: "code de visibilité inconnu", issue: "code-invalid", expr: "DocumentReference.securityLabel"},
		{name: "unknown security label system", mut: func(m map[string]any) {
			set(m, "securityLabel", []any{coding("https://carnet.example/x", "MASQUE_PS")})
		},
			code: carnet.EINVALID, msg: "étiquette de sécurité inconnue", issue: "code-invalid"},
		{name: "restricted confidentiality", mut: func(m map[string]any) { set(m, "securityLabel", []any{coding(SystemConfidentiality, "R")}) },
			code: carnet.EINVALID, msg: "niveau de confidentialité \"R\" non pris en charge", issue: "not-supported"},
		{name: "security label without code", mut: func(m map[string]any) { set(m, "securityLabel", []any{map[string]any{"text": "secret"}}) },
			code: carnet.EINVALID, msg: "étiquette de sécurité sans code", issue: "required"},
		{name: "hidden from professionals and from the patient", mut: func(m map[string]any) {
			set(m, "securityLabel", []any{coding(SystemTREA07, CodeHiddenFromProfessionals), coding(SystemTREA07OID, CodeHiddenFromPatient)})
		}, code: carnet.EINVALID, msg: "à la fois masqué aux professionnels et invisible au patient", issue: "business-rule"},
		{name: "relation other than replaces", mut: func(m map[string]any) {
			set(m, "relatesTo", []any{map[string]any{"code": "appends", "target": map[string]any{"reference": "DocumentReference/d1"}}})
		}, code: carnet.EINVALID, msg: `relation "appends" non prise en charge`, issue: "not-supported"},
		{name: "replaces without a target", mut: func(m map[string]any) {
			set(m, "relatesTo", []any{map[string]any{"code": "replaces", "target": map[string]any{"display": "l'ancien"}}})
		}, code: carnet.EINVALID, msg: "document remplacé invalide", issue: "value"},
		{name: "replaces a patient", mut: func(m map[string]any) {
			set(m, "relatesTo", []any{map[string]any{"code": "replaces", "target": map[string]any{"reference": "Patient/d1"}}})
		}, code: carnet.EINVALID, msg: "document remplacé invalide", issue: "value"},
		{name: "replaces two documents", mut: func(m map[string]any) {
			r := map[string]any{"code": "replaces", "target": map[string]any{"reference": "DocumentReference/d1"}}
			set(m, "relatesTo", []any{r, r})
		}, code: carnet.EINVALID, msg: "qu'un seul", issue: "not-supported"},
		{name: "bad service date", mut: func(m map[string]any) { set(m, "context.period.start", "10/02/2026") },
			code: carnet.EINVALID, msg: "date de l'acte invalide", issue: "value", expr: "DocumentReference.context.period.start"},
		{name: "impossible service date", mut: func(m map[string]any) { set(m, "context.period.start", "2026-02-30") },
			code: carnet.EINVALID, msg: "date de l'acte invalide", issue: "value"},
		{name: "service time without zone", mut: func(m map[string]any) { set(m, "context.period.start", "2026-02-10T10:00:00") },
			code: carnet.EINVALID, msg: "date de l'acte invalide", issue: "value"},
		{name: "partial service date", mut: func(m map[string]any) { set(m, "context.period.start", "2026-02") },
			code: carnet.EINVALID, msg: "date de l'acte incomplète", issue: "value"},
		{name: "no content", mut: func(m map[string]any) { set(m, "content", del) },
			code: carnet.EINVALID, msg: "contenu manquant", issue: "required", expr: "DocumentReference.content"},
		{name: "two contents", mut: func(m map[string]any) {
			c := m["content"].([]any)
			set(m, "content", append(c, c[0]))
		}, code: carnet.EINVALID, msg: "un seul contenu", issue: "not-supported"},
		{name: "no title", mut: func(m map[string]any) { set(m, "description", "  ") },
			code: carnet.EINVALID, msg: "titre manquant", issue: "required", expr: "DocumentReference.description"},
		{name: "no content type", mut: func(m map[string]any) { set(m, "content.0.attachment.contentType", del) },
			code: carnet.EINVALID, msg: "format du contenu manquant", issue: "required"},
		{name: "unsupported content type", mut: func(m map[string]any) { set(m, "content.0.attachment.contentType", "video/mp4") },
			code: carnet.EINVALID, msg: `format non pris en charge : "video/mp4"`, issue: "not-supported", expr: "DocumentReference.content.attachment.contentType"},
		{name: "malformed content type", mut: func(m map[string]any) { set(m, "content.0.attachment.contentType", "text/plain; charset") },
			code: carnet.EINVALID, msg: "format non pris en charge", issue: "not-supported"},
		{name: "data not base64", mut: func(m map[string]any) { set(m, "content.0.attachment.data", "bonjour!") },
			code: carnet.EINVALID, msg: "base64 attendu", issue: "value", expr: "DocumentReference.content.attachment.data"},
		{name: "data in URL-safe base64", mut: func(m map[string]any) {
			set(m, "content.0.attachment.data", base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff}))
			set(m, "content.0.attachment.size", del)
		}, code: carnet.EINVALID, msg: "base64 attendu", issue: "value"},
		{name: "empty data", mut: func(m map[string]any) { set(m, "content.0.attachment.data", " \n") },
			code: carnet.EINVALID, msg: "contenu vide", issue: "required"},
		{name: "data larger than the limit", mut: func(m map[string]any) {
			set(m, "content.0.attachment.data", b64(strings.Repeat("x", 1000)))
			set(m, "content.0.attachment.size", 1000)
		}, code: carnet.ETOOLARGE, msg: "document trop volumineux : 100 octets au plus", issue: "too-costly"},
		{name: "data just over the limit", mut: func(m map[string]any) {
			set(m, "content.0.attachment.data", b64(strings.Repeat("x", 101)))
			set(m, "content.0.attachment.size", 101)
		}, code: carnet.ETOOLARGE, msg: "trop volumineux", issue: "too-costly"},
		{name: "Binary declared larger than the limit", mut: func(m map[string]any) {
			set(m, "content.0.attachment", map[string]any{"contentType": "application/pdf", "url": "Binary/b1", "size": 101})
		}, code: carnet.ETOOLARGE, msg: "trop volumineux", issue: "too-costly"},
		{name: "declared size not matching", mut: func(m map[string]any) { set(m, "content.0.attachment.size", 8) },
			code: carnet.EINVALID, msg: "taille déclarée (8 octets) différente de la taille du contenu (7 octets)", issue: "value", expr: "DocumentReference.content.attachment.size"},
		{name: "negative size", mut: func(m map[string]any) { set(m, "content.0.attachment.size", -1) },
			code: carnet.EINVALID, msg: "taille déclarée invalide", issue: "value"},
		{name: "hash not a SHA-1", mut: func(m map[string]any) { set(m, "content.0.attachment.hash", b64("court")) },
			code: carnet.EINVALID, msg: "SHA-1 en base64 attendue", issue: "value"},
		{name: "hash not matching", mut: func(m map[string]any) {
			set(m, "content.0.attachment.hash", base64.StdEncoding.EncodeToString(sha1Of("autre")))
		}, code: carnet.EINVALID, msg: "SHA-1 déclarée (hash) ne correspond pas", issue: "value", expr: "DocumentReference.content.attachment.hash"},
		{name: "SHA-256 not matching", mut: func(m map[string]any) {
			set(m, "content.0.attachment.extension", []any{map[string]any{"url": ExtAttachmentSHA256, "valueBase64Binary": base64.StdEncoding.EncodeToString(sha256Of([]byte("autre")))}})
		}, code: carnet.EINVALID, msg: "SHA-256 déclarée ne correspond pas", issue: "value"},
		{name: "SHA-256 of the wrong length", mut: func(m map[string]any) {
			set(m, "content.0.attachment.extension", []any{map[string]any{"url": ExtAttachmentSHA256, "valueBase64Binary": base64.StdEncoding.EncodeToString(sha1Of(body7))}})
		}, code: carnet.EINVALID, msg: "SHA-256 invalide", issue: "value"},
		{name: "attachment by urn:uuid", mut: func(m map[string]any) {
			set(m, "content.0.attachment", map[string]any{"contentType": "text/plain", "url": "urn:uuid:0b1e4a3c-0000-4000-8000-000000000000"})
		}, code: carnet.EINVALID, msg: "non prise en charge", issue: "not-supported"},
		{name: "attachment by another URL", mut: func(m map[string]any) {
			set(m, "content.0.attachment", map[string]any{"contentType": "text/plain", "url": "https://elsewhere.example/doc.pdf"})
		}, code: carnet.EINVALID, msg: "Binary/<id> attendu", issue: "value"},
		{name: "neither data nor url", mut: func(m map[string]any) {
			set(m, "content.0.attachment", map[string]any{"contentType": "text/plain", "title": "vide"})
		}, code: carnet.EINVALID, msg: "attachment.data (base64) ou attachment.url (Binary/<id>) attendu", issue: "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDocumentReference(c.body(t, baseDocument), 100)
			checkErr(t, c, err)
		})
	}
}

func sha1Of(s string) []byte { h := sha1.Sum([]byte(s)); return h[:] }

func equalInput(a, b *NewDocumentInput) bool {
	return a.PatientID == b.PatientID && a.PatientINSOID == b.PatientINSOID && a.PatientNIR == b.PatientNIR &&
		a.TypeCode == b.TypeCode && a.Title == b.Title && a.MediaType == b.MediaType && a.ServiceDate.Equal(b.ServiceDate) &&
		a.HiddenFromProfessionals == b.HiddenFromProfessionals && a.HiddenFromPatient == b.HiddenFromPatient &&
		a.HiddenFromRepresentatives == b.HiddenFromRepresentatives && a.ReplacesID == b.ReplacesID &&
		bytes.Equal(a.Data, b.Data) && a.BinaryID == b.BinaryID && a.Size == b.Size &&
		bytes.Equal(a.SHA1, b.SHA1) && bytes.Equal(a.SHA256, b.SHA256)
}

// TestDocumentRoundTrip parses back what DocumentReferenceToFHIR writes.
func TestDocumentRoundTrip(t *testing.T) {
	body := []byte("%PDF-1.7 compte rendu")
	for _, d := range []*carnet.Document{documentReport(), documentPatientNote()} {
		d.ContentHash, d.Size, d.Status = sha256Of(body), int64(len(body)), carnet.DocCurrent
		in, err := ParseDocumentReference(marshal(t, DocumentReferenceToFHIR(d, DocumentOptions{Data: body})), 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", d.TypeCode, err)
		}
		want := &NewDocumentInput{PatientID: d.PatientID, TypeCode: d.TypeCode, Title: d.Title, MediaType: d.MediaType,
			ServiceDate: d.ServiceDate, HiddenFromProfessionals: d.HiddenFromProfessionals, HiddenFromPatient: d.HiddenFromPatient,
			HiddenFromRepresentatives: d.HiddenFromRepresentatives, ReplacesID: d.ReplacesID, Data: body, Size: d.Size,
			SHA1: sha1Of(string(body)), SHA256: d.ContentHash}
		if !equalInput(in, want) {
			t.Errorf("%s: got %+v\nwant %+v", d.TypeCode, in, want)
		}
	}
}

func baseImmunization() map[string]any {
	return map[string]any{
		"resourceType":       "Immunization",
		"status":             "completed",
		"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": SystemATC, "code": "J07BB02", "display": "Influenza, inactivé"}}, "text": "Grippe saisonnière"},
		"patient":            map[string]any{"reference": "Patient/p1"},
		"occurrenceDateTime": "2026-10-20T10:30:00+02:00",
		"note":               []any{map[string]any{"text": "Lot X123"}, map[string]any{"text": " "}, map[string]any{"text": "bras gauche"}},
		"lotNumber":          "X123",
	}
}

func TestParseImmunization(t *testing.T) {
	e, err := ParseImmunization(encode(t, baseImmunization()))
	if err != nil {
		t.Fatal(err)
	}
	want := carnet.ProfileEntry{PatientID: "p1", Kind: carnet.ProfileVaccination, Code: "J07BB02", CodeSystem: SystemATC,
		Label: "Grippe saisonnière", Notes: "Lot X123\nbras gauche", Date: day("2026-10-20")}
	if e.PatientID != want.PatientID || e.Kind != want.Kind || e.Code != want.Code || e.CodeSystem != want.CodeSystem ||
		e.Label != want.Label || e.Notes != want.Notes || !e.Date.Equal(want.Date) {
		t.Errorf("got %+v\nwant %+v", e, want)
	}
	// Label from the coding's display, then its code.
	m := baseImmunization()
	set(m, "vaccineCode", map[string]any{"coding": []any{map[string]any{"system": SystemATC, "code": "J07BB02", "display": "Influenza"}}})
	if e, err := ParseImmunization(encode(t, m)); err != nil || e.Label != "Influenza" {
		t.Errorf("label from display: %+v %v", e, err)
	}
	set(m, "vaccineCode", map[string]any{"coding": []any{map[string]any{"display": "sans code"}, map[string]any{"code": "J07BB02"}}})
	if e, err := ParseImmunization(encode(t, m)); err != nil || e.Label != "J07BB02" || e.CodeSystem != "" {
		t.Errorf("label from code: %+v %v", e, err)
	}
	set(m, "vaccineCode", map[string]any{"text": "DTP"})
	set(m, "occurrenceDateTime", "2010-06-01")
	if e, err = ParseImmunization(encode(t, m)); err != nil || e.Label != "DTP" || e.Code != "" || !e.Date.Equal(day("2010-06-01")) {
		t.Fatalf("text only: %+v %v", e, err)
	}
	// Written back, it reads the same.
	e.ID, e.AuthorKind = "v1", carnet.AuthorProfessional
	if back, err := ParseImmunization(marshal(t, ImmunizationToFHIR(e))); err != nil || back.Label != "DTP" || !back.Date.Equal(e.Date) {
		t.Errorf("round trip: %+v %v", back, err)
	}

	cases := []parseCase{
		{name: "not JSON", raw: "vaccin", code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "wrong resourceType", mut: func(m map[string]any) { set(m, "resourceType", "MedicationAdministration") },
			code: carnet.EINVALID, msg: "Immunization attendu", issue: "invalid"},
		{name: "modifier extension", mut: func(m map[string]any) { set(m, "modifierExtension", []any{map[string]any{"url": "http://x"}}) },
			code: carnet.EINVALID, msg: "extension modificatrice", issue: "extension", expr: "Immunization.modifierExtension"},
		{name: "missing status", mut: func(m map[string]any) { set(m, "status", del) },
			code: carnet.EINVALID, msg: "statut manquant", issue: "required", expr: "Immunization.status"},
		{name: "not done", mut: func(m map[string]any) { set(m, "status", "not-done") },
			code: carnet.EINVALID, msg: `statut "not-done" refusé`, issue: "value"},
		{name: "missing patient", mut: func(m map[string]any) { set(m, "patient", del) },
			code: carnet.EINVALID, msg: "patient manquant", issue: "required", expr: "Immunization.patient"},
		{name: "patient by identifier", mut: func(m map[string]any) {
			set(m, "patient", map[string]any{"identifier": map[string]any{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "255081416802538"}})
		}, code: carnet.EINVALID, msg: "Patient/<id>", issue: "not-supported"},
		{name: "patient reference to a practitioner", mut: func(m map[string]any) { set(m, "patient.reference", "Practitioner/p1") },
			code: carnet.EINVALID, msg: "référence au patient invalide", issue: "value"},
		{name: "missing vaccine", mut: func(m map[string]any) { set(m, "vaccineCode", del) },
			code: carnet.EINVALID, msg: "vaccin manquant", issue: "required", expr: "Immunization.vaccineCode"},
		{name: "empty vaccine", mut: func(m map[string]any) {
			set(m, "vaccineCode", map[string]any{"coding": []any{map[string]any{"system": SystemATC}}, "text": " "})
		}, code: carnet.EINVALID, msg: "vaccin manquant", issue: "required"},
		{name: "missing date", mut: func(m map[string]any) { set(m, "occurrenceDateTime", del) },
			code: carnet.EINVALID, msg: "date de vaccination manquante", issue: "required", expr: "Immunization.occurrenceDateTime"},
		{name: "date as free text", mut: func(m map[string]any) {
			set(m, "occurrenceDateTime", del)
			set(m, "occurrenceString", "enfance")
		}, code: carnet.EINVALID, msg: "texte libre non prise en charge", issue: "value", expr: "Immunization.occurrenceString"},
		{name: "bad date", mut: func(m map[string]any) { set(m, "occurrenceDateTime", "20/10/2026") },
			code: carnet.EINVALID, msg: "date de vaccination invalide", issue: "value"},
		{name: "year only", mut: func(m map[string]any) { set(m, "occurrenceDateTime", "1995") },
			code: carnet.EINVALID, msg: "date de vaccination incomplète", issue: "value"},
		{name: "date of the wrong type", mut: func(m map[string]any) { set(m, "occurrenceDateTime", 20261020) },
			code: carnet.EINVALID, msg: "« occurrenceDateTime » : type JSON inattendu (un nombre)", issue: "structure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseImmunization(c.body(t, baseImmunization))
			checkErr(t, c, err)
		})
	}
}

func baseConsent() map[string]any {
	return map[string]any{
		"resourceType": "Consent",
		"status":       "active",
		"scope":        coding(SystemConsentScope, "patient-privacy"),
		"patient":      map[string]any{"reference": "Patient/p1"},
		"extension":    []any{map[string]any{"url": ExtConsentKind, "valueCode": "written"}},
		"provision": map[string]any{
			"type":    "permit",
			"period":  map[string]any{"end": "2027-05-22"},
			"purpose": []any{map[string]any{"system": SystemActReason, "code": "TREAT"}},
		},
	}
}

func TestParseConsent(t *testing.T) {
	in, err := ParseConsent(encode(t, baseConsent()))
	if err != nil {
		t.Fatal(err)
	}
	if in.PatientID != "p1" || in.Kind != carnet.ConsentWritten || in.Purpose != "soins" || in.ExpiresAt == nil || !in.ExpiresAt.Equal(day("2027-05-23")) {
		t.Errorf("got %+v (expires %v)", in, in.ExpiresAt)
	}
	m := baseConsent()
	set(m, "extension", del)
	set(m, "scope", del)
	set(m, "provision", map[string]any{"period": map[string]any{"end": "2027-01-01T12:00:00+01:00"}, "purpose": []any{map[string]any{"display": "suivi de grossesse"}}})
	in, err = ParseConsent(encode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != carnet.ConsentOral || in.Purpose != "suivi de grossesse" || !in.ExpiresAt.Equal(instant("2027-01-01T11:00:00Z")) {
		t.Errorf("got %+v (expires %v)", in, in.ExpiresAt)
	}
	// What ConsentToFHIR writes parses back.
	exp := instant("2027-05-23T00:00:00Z")
	c := &carnet.Consent{ID: "c1", PatientID: "p1", ProfessionalID: "pro", Kind: carnet.ConsentWritten, Purpose: "urgence", DeclaredAt: instant("2026-11-20T09:30:00Z"), ExpiresAt: &exp}
	in, err = ParseConsent(marshal(t, ConsentToFHIR(c, instant("2026-11-21T00:00:00Z"))))
	if err != nil || in.Kind != c.Kind || in.Purpose != c.Purpose || !in.ExpiresAt.Equal(exp) || in.PatientID != "p1" {
		t.Errorf("round trip: %+v %v", in, err)
	}

	cases := []parseCase{
		{name: "not JSON", raw: "{", code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "wrong resourceType", mut: func(m map[string]any) { set(m, "resourceType", "Contract") }, code: carnet.EINVALID, msg: "Consent attendu"},
		{name: "missing status", mut: func(m map[string]any) { set(m, "status", del) }, code: carnet.EINVALID, msg: "statut manquant", issue: "required"},
		{name: "draft", mut: func(m map[string]any) { set(m, "status", "draft") }, code: carnet.EINVALID, msg: `statut "draft" refusé`, issue: "value"},
		{name: "other scope", mut: func(m map[string]any) { set(m, "scope", coding(SystemConsentScope, "research")) },
			code: carnet.EINVALID, msg: "portée de consentement non prise en charge", issue: "not-supported"},
		{name: "missing patient", mut: func(m map[string]any) { set(m, "patient", del) }, code: carnet.EINVALID, msg: "patient manquant", issue: "required"},
		{name: "unknown kind", mut: func(m map[string]any) { set(m, "extension.0.valueCode", "tacite") },
			code: carnet.EINVALID, msg: "forme du consentement inconnue", issue: "code-invalid"},
		{name: "deny", mut: func(m map[string]any) { set(m, "provision.type", "deny") },
			code: carnet.EINVALID, msg: "bloquez le professionnel", issue: "not-supported"},
		{name: "bad end", mut: func(m map[string]any) { set(m, "provision.period.end", "demain") },
			code: carnet.EINVALID, msg: "échéance invalide", issue: "value", expr: "Consent.provision.period.end"},
		{name: "purpose too long", mut: func(m map[string]any) {
			set(m, "provision.purpose", []any{map[string]any{"display": strings.Repeat("x", 201)}})
		}, code: carnet.EINVALID, msg: "finalité trop longue", issue: "value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConsent(c.body(t, baseConsent))
			checkErr(t, c, err)
		})
	}
}

func baseBinary() map[string]any {
	return map[string]any{"resourceType": "Binary", "contentType": "application/pdf", "data": b64("%PDF-1.7")}
}

func TestParseBinary(t *testing.T) {
	ct, data, err := ParseBinary(encode(t, baseBinary()), 8)
	if err != nil || ct != "application/pdf" || string(data) != "%PDF-1.7" {
		t.Fatalf("got %q %q %v", ct, data, err)
	}
	// What BinaryToFHIR writes parses back.
	ct, data, err = ParseBinary(marshal(t, BinaryToFHIR(documentPatientNote(), []byte(patientNote))), 0)
	if err != nil || ct != "text/plain" || string(data) != patientNote {
		t.Fatalf("round trip: %q %q %v", ct, data, err)
	}
	cases := []parseCase{
		{name: "not JSON", raw: "%PDF-1.7", code: carnet.EINVALID, msg: "JSON invalide", issue: "structure"},
		{name: "wrong resourceType", mut: func(m map[string]any) { set(m, "resourceType", "DocumentReference") }, code: carnet.EINVALID, msg: "Binary attendu"},
		{name: "missing content type", mut: func(m map[string]any) { set(m, "contentType", del) }, code: carnet.EINVALID, msg: "format du contenu manquant", issue: "required"},
		{name: "unsupported content type", mut: func(m map[string]any) { set(m, "contentType", "application/zip") },
			code: carnet.EINVALID, msg: "format non pris en charge", issue: "not-supported", expr: "Binary.contentType"},
		{name: "missing data", mut: func(m map[string]any) { set(m, "data", del) }, code: carnet.EINVALID, msg: "contenu manquant", issue: "required"},
		{name: "data not base64", mut: func(m map[string]any) { set(m, "data", "%PDF") }, code: carnet.EINVALID, msg: "base64 attendu", issue: "value"},
		{name: "data too large", mut: func(m map[string]any) { set(m, "data", b64("%PDF-1.7!")) }, code: carnet.ETOOLARGE, msg: "8 octets au plus"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseBinary(c.body(t, baseBinary), 8)
			checkErr(t, c, err)
		})
	}
}

func TestReferenceID(t *testing.T) {
	for _, c := range []struct {
		in, typ, id string
		ok          bool
	}{
		{"Patient/p1", "Patient", "p1", true},
		{"Patient/p1/_history/3", "Patient", "p1", true},
		{"https://h/fhir/Patient/0193a5b2-7c1e.7d2a", "Patient", "0193a5b2-7c1e.7d2a", true},
		{"http://h/Patient/p1", "Patient", "p1", true},
		{"Patient/", "Patient", "", false},
		{"Patient/p1/x", "Patient", "", false},
		{"Patient/" + strings.Repeat("a", 65), "Patient", "", false},
		{"xPatient/p1", "Patient", "", false},
		{"https://h/fhir/XPatient/p1", "Patient", "", false},
		{"Practitioner/p1", "Patient", "", false},
		{"#contained", "Patient", "", false},
	} {
		id, ok := referenceID(c.in, c.typ)
		if id != c.id || ok != c.ok {
			t.Errorf("referenceID(%q, %q) = %q, %v; want %q, %v", c.in, c.typ, id, ok, c.id, c.ok)
		}
	}
}

func TestFormatDateTime(t *testing.T) {
	if got := formatDateTime(day("2026-01-15")); got != "2026-01-15" {
		t.Errorf("date: %q", got)
	}
	paris := time.FixedZone("CET", 3600)
	if got := formatDateTime(time.Date(2026, 1, 15, 10, 30, 0, 0, paris)); got != "2026-01-15T09:30:00Z" {
		t.Errorf("dateTime: %q", got)
	}
}
