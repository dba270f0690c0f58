package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// issue is the FHIR view of a problem found in a request: the OperationOutcome issue code and the
// FHIRPath of the faulty element. It travels as the internal cause of a *carnet.Error, whose
// Message is what the user reads; OutcomeFromError reads it back.
type issue struct {
	code       string // IssueType: "structure", "required", "value", "code-invalid", ...
	expression string // FHIRPath, e.g. "DocumentReference.subject"; may be empty
}

func (i *issue) Error() string {
	if i.expression == "" {
		return "fhir " + i.code
	}
	return "fhir " + i.code + " at " + i.expression
}

// invalidf returns an EINVALID error with a French message and the issue code and location.
func invalidf(code, expression, format string, args ...any) error {
	return &carnet.Error{Code: carnet.EINVALID, Op: "fhir.parse", Message: fmt.Sprintf(format, args...),
		Err: &issue{code: code, expression: expression}}
}

// decode unmarshals a resource of the wanted type from body, with French messages for the ways
// JSON can be wrong. Unknown elements are ignored (modifier extensions are checked by the
// callers); encoding/json matches element names without regard to case.
func decode(body []byte, v any, resourceType string, gotType func() string) error {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as some Windows software sends
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidf("structure", "", "corps de requête vide : une ressource %s au format FHIR JSON est attendue", resourceType)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return invalidf("structure", "", "JSON invalide (octet %d) : une ressource %s au format FHIR JSON est attendue", syn.Offset, resourceType)
		case errors.As(err, &typ) && typ.Field == "":
			return invalidf("structure", "", "une ressource FHIR (un objet JSON) est attendue, pas %s", jsonKind(typ.Value))
		case errors.As(err, &typ):
			return invalidf("structure", resourceType+"."+typ.Field, "élément « %s » : type JSON inattendu (%s)", typ.Field, jsonKind(typ.Value))
		default:
			return invalidf("structure", "", "JSON invalide : une ressource %s au format FHIR JSON est attendue", resourceType)
		}
	}
	switch got := gotType(); got {
	case resourceType:
		return nil
	case "":
		return invalidf("required", "resourceType", "resourceType manquant : %s attendu", resourceType)
	default:
		return invalidf("invalid", "resourceType", "resourceType %q inattendu : %s attendu", got, resourceType)
	}
}

// jsonKind names, in French, the kind of JSON value that encoding/json reports.
func jsonKind(v string) string {
	switch {
	case v == "string":
		return "une chaîne"
	case v == "number" || strings.HasPrefix(v, "number "):
		return "un nombre"
	case v == "bool":
		return "un booléen"
	case v == "array":
		return "un tableau"
	case v == "object":
		return "un objet"
	}
	return "une valeur " + v
}

// noModifierExtension rejects a resource carrying a modifierExtension: FHIR requires a system to
// refuse the modifier extensions it does not know, and Carnet knows none.
func noModifierExtension(resourceType string, exts []Extension) error {
	if len(exts) == 0 {
		return nil
	}
	return invalidf("extension", resourceType+".modifierExtension", "extension modificatrice non prise en charge : %q", exts[0].URL)
}

// FHIR dates and times.

// precision is how much of a date or dateTime was given.
type precision int

const (
	precisionYear precision = iota + 1
	precisionMonth
	precisionDay
	precisionSecond // a full dateTime, with a time zone
)

// dateTimeRE is the FHIR R4 dateTime pattern, a time zone being required when a time is given.
var dateTimeRE = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)

// parseDateTime parses a FHIR date or dateTime. Dates are UTC midnights; dateTimes are returned in
// UTC. ok is false when s is not a valid date or dateTime.
func parseDateTime(s string) (t time.Time, p precision, ok bool) {
	if !dateTimeRE.MatchString(s) {
		return time.Time{}, 0, false
	}
	var err error
	switch len(s) {
	case 4:
		t, err = time.Parse("2006", s)
		p = precisionYear
	case 7:
		t, err = time.Parse("2006-01", s)
		p = precisionMonth
	case 10:
		t, err = time.Parse("2006-01-02", s)
		p = precisionDay
	default:
		t, err = time.Parse(time.RFC3339Nano, s)
		p = precisionSecond
	}
	if err != nil {
		return time.Time{}, 0, false
	}
	return t.UTC(), p, true
}

// parseDay parses a date or dateTime that must name a day at least, and returns the UTC midnight
// of the calendar day as written (2026-01-15T00:30:00+01:00 is the 15th).
func parseDay(s, expression, what string) (time.Time, error) {
	_, p, ok := parseDateTime(s)
	if !ok {
		return time.Time{}, invalidf("value", expression, "%s invalide : %q (AAAA-MM-JJ ou date et heure avec fuseau attendus)", what, s)
	}
	if p < precisionDay {
		return time.Time{}, invalidf("value", expression, "%s incomplète : %q (AAAA-MM-JJ attendu)", what, s)
	}
	d, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return time.Time{}, invalidf("value", expression, "%s invalide : %q", what, s)
	}
	return d, nil
}

// formatDate formats a date as YYYY-MM-DD, in the time's own location (Carnet's dates are UTC
// midnights).
func formatDate(t time.Time) string { return t.Format("2006-01-02") }

// formatInstant formats an instant in UTC.
func formatInstant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// formatDateTime formats a time as a date when it is a UTC midnight (Carnet's dates), else as a
// full dateTime in UTC.
func formatDateTime(t time.Time) string {
	u := t.UTC()
	if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
		return formatDate(u)
	}
	return formatInstant(u)
}

// optInstant formats t, or returns "" for the zero time.
func optInstant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatInstant(t)
}

// meta returns a Meta with lastUpdated, or nil when t is zero.
func meta(t time.Time) *Meta {
	if t.IsZero() {
		return nil
	}
	return &Meta{LastUpdated: formatInstant(t)}
}

// References.

// idRE is the FHIR id pattern.
var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether s is a valid FHIR logical id.
func ValidID(s string) bool { return idRE.MatchString(s) }

// referenceID returns the logical id of a literal reference to a resource of the given type:
// "Patient/123", an absolute "https://host/fhir/Patient/123", either with "/_history/n".
func referenceID(s, resourceType string) (string, bool) {
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	prefix, id, found := cutLast(s, resourceType+"/")
	if !found || !idRE.MatchString(id) {
		return "", false
	}
	if prefix != "" && !((strings.HasPrefix(prefix, "https://") || strings.HasPrefix(prefix, "http://")) && strings.HasSuffix(prefix, "/")) {
		return "", false
	}
	return id, true
}

// cutLast slices s around the last instance of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// patientRef parses the patient reference of an incoming resource.
func patientRef(r *Reference, expression string) (string, error) {
	if r == nil || (r.Reference == "" && r.Identifier == nil) {
		return "", invalidf("required", expression, "patient manquant (%s)", expression)
	}
	if r.Reference == "" {
		return "", invalidf("not-supported", expression, "le patient doit être désigné par une référence Patient/<id>")
	}
	id, ok := referenceID(r.Reference, "Patient")
	if !ok {
		return "", invalidf("value", expression, "référence au patient invalide : %q (Patient/<id> attendu)", r.Reference)
	}
	return id, nil
}
