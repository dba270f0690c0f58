package fhir

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

func TestParseTokenParam(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Token
	}{
		{"http://loinc.org|11488-4", Token{System: "http://loinc.org", Code: "11488-4", HasSystem: true}},
		{"11488-4", Token{Code: "11488-4"}},
		{"|11488-4", Token{Code: "11488-4", HasSystem: true}},
		{"http://loinc.org|", Token{System: "http://loinc.org", HasSystem: true}},
		{`a\|b|c\,d\\`, Token{System: "a|b", Code: `c,d\`, HasSystem: true}},
		{`x\$y`, Token{Code: "x$y"}},
	} {
		got, err := ParseTokenParam(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseTokenParam(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "vide"},
		{"|", "vide"},
		{"a|b|c", "système|code attendu"},
		{"a,b", "une seule valeur"},
		{`abc\`, "final"},
		{strings.Repeat("x", 1025), "trop long"},
		{"\xff", "UTF-8"},
	} {
		_, err := ParseTokenParam(c.in)
		if carnet.ErrorCode(err) != carnet.EINVALID || !strings.Contains(carnet.ErrorMessage(err), c.msg) {
			t.Errorf("ParseTokenParam(%q): %v, want EINVALID %q", c.in, err, c.msg)
		}
	}
}

func TestSplitOr(t *testing.T) {
	for in, want := range map[string][]string{
		"current":                    {"current"},
		"current,superseded":         {"current", "superseded"},
		`a\,b,c`:                     {`a\,b`, "c"},
		",":                          {"", ""},
		`http://loinc.org|1,PRESC\\`: {"http://loinc.org|1", `PRESC\\`},
	} {
		if got := SplitOr(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitOr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseIdentifierToken(t *testing.T) {
	for _, c := range []struct{ in, system, value string }{
		{"urn:oid:1.2.250.1.213.1.4.8|255081416802538", "urn:oid:1.2.250.1.213.1.4.8", "255081416802538"},
		{"urn:oid:1.2.250.1.213.1.4.10|185057512345673", "urn:oid:1.2.250.1.213.1.4.10", "185057512345673"},
		{"255081416802538", "", "255081416802538"},
		{"urn:oid:1.2.250.1.213.1.4.9|2 55 08 14 168 025 38", "urn:oid:1.2.250.1.213.1.4.9", "255081416802538"},
	} {
		system, value, err := ParseIdentifierToken(c.in)
		if err != nil || system != c.system || value != c.value {
			t.Errorf("ParseIdentifierToken(%q) = %q, %q, %v; want %q, %q", c.in, system, value, err, c.system, c.value)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "vide"},
		{"urn:oid:1.2.250.1.213.1.4.8|", "NIR manquant"},
		{"|255081416802538", "système d'identifiant \"\" non pris en charge"},
		{"urn:oid:1.2.250.1.213.1.4.2|255081416802538", "non pris en charge"},
		{"1.2.250.1.213.1.4.8|255081416802538", "non pris en charge"},
		{"http://example.org|255081416802538", "non pris en charge"},
		{"urn:oid:1.2.250.1.213.1.4.8|255081416802539", "clé de contrôle"},
		{"urn:oid:1.2.250.1.213.1.4.8|25508141680253", "15 caractères attendus"},
		{"urn:oid:1.2.250.1.213.1.4.8|2550814168025AB", "la clé doit être de deux chiffres"},
		{"urn:oid:1.2.250.1.213.1.4.8|255081416802538,185057512345673", "une seule valeur"},
	} {
		_, _, err := ParseIdentifierToken(c.in)
		if carnet.ErrorCode(err) != carnet.EINVALID || !strings.Contains(carnet.ErrorMessage(err), c.msg) {
			t.Errorf("ParseIdentifierToken(%q): %v, want EINVALID %q", c.in, err, c.msg)
		}
	}
}

func TestParseDateParam(t *testing.T) {
	z := time.Time{}
	for _, c := range []struct {
		in         string
		prefix     string
		start, end time.Time
		from, to   time.Time
	}{
		{"2026-01-15", "eq", day("2026-01-15"), day("2026-01-16"), day("2026-01-15"), day("2026-01-16")},
		{"eq2026-01", "eq", day("2026-01-01"), day("2026-02-01"), day("2026-01-01"), day("2026-02-01")},
		{"ge2026-01-01", "ge", day("2026-01-01"), day("2026-01-02"), day("2026-01-01"), z},
		{"gt2026", "gt", day("2026-01-01"), day("2027-01-01"), day("2027-01-01"), z},
		{"le2026-12", "le", day("2026-12-01"), day("2027-01-01"), z, day("2027-01-01")},
		{"lt2026-02-29", "", z, z, z, z}, // not a day of 2026: refused below
		{"lt2024-02-29", "lt", day("2024-02-29"), day("2024-03-01"), z, day("2024-02-29")},
		{"ge2026-01-15T10:00:00+01:00", "ge", instant("2026-01-15T09:00:00Z"), instant("2026-01-15T09:00:01Z"), instant("2026-01-15T09:00:00Z"), z},
	} {
		p, err := ParseDateParam(c.in)
		if c.prefix == "" {
			if err == nil {
				t.Errorf("ParseDateParam(%q) accepted", c.in)
			}
			continue
		}
		if err != nil || p.Prefix != c.prefix || !p.Start.Equal(c.start) || !p.End.Equal(c.end) {
			t.Errorf("ParseDateParam(%q) = %+v, %v; want %s [%v, %v)", c.in, p, err, c.prefix, c.start, c.end)
			continue
		}
		if from, to := p.Range(); !from.Equal(c.from) || !to.Equal(c.to) {
			t.Errorf("%q: Range() = [%v, %v), want [%v, %v)", c.in, from, to, c.from, c.to)
		}
	}
	for _, c := range []struct{ in, msg string }{
		{"", "date de recherche invalide"},
		{"ge", "date de recherche invalide"},
		{"ne2026-01-01", "préfixe de date \"ne\" non pris en charge"},
		{"sa2026-01-01", "non pris en charge"},
		{"2026-1-5", "date de recherche invalide"},
		{"15/01/2026", "date de recherche invalide"},
		{"2026-13", "date de recherche invalide"},
		{"0000-01-01", "date de recherche invalide"},
		{"2026-01-15T10:00:00", "date de recherche invalide"},
		{"2026-01-15T25:00:00Z", "date de recherche invalide"},
		{"GE2026-01-01", "date de recherche invalide"},
		{"ge 2026-01-01", "date de recherche invalide"},
		{"\xff", "UTF-8"},
	} {
		_, err := ParseDateParam(c.in)
		if carnet.ErrorCode(err) != carnet.EINVALID || !strings.Contains(carnet.ErrorMessage(err), c.msg) {
			t.Errorf("ParseDateParam(%q): %v, want EINVALID %q", c.in, err, c.msg)
		}
	}
}

func TestParseDateRange(t *testing.T) {
	from, to, err := ParseDateRange([]string{"ge2026-01", "lt2026-07-01", "ge2025"})
	if err != nil || !from.Equal(day("2026-01-01")) || !to.Equal(day("2026-07-01")) {
		t.Errorf("got [%v, %v) %v", from, to, err)
	}
	from, to, err = ParseDateRange(nil)
	if err != nil || !from.IsZero() || !to.IsZero() {
		t.Errorf("no values: [%v, %v) %v", from, to, err)
	}
	if _, _, err := ParseDateRange([]string{"ge2026-07-01", "lt2026-01-01"}); !strings.Contains(carnet.ErrorMessage(err), "intervalle de dates vide") {
		t.Errorf("empty intersection: %v", err)
	}
	if _, _, err := ParseDateRange([]string{"ge2026-07-01", "x"}); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("bad value: %v", err)
	}
}

func TestSearchDocTypeAndClass(t *testing.T) {
	for _, c := range []struct {
		tok  string
		want string
	}{
		{"http://loinc.org|11488-4", "11488-4"},
		{"11488-4", "11488-4"},
		{SystemTREA05 + "|PRESC-KINE", "PRESC-KINE"},
		{SystemTREA05OID + "|PRESC-KINE", "PRESC-KINE"},
		{"http://loinc.org|PRESC-KINE", ""},
		{"|11488-4", ""},
		{"http://loinc.org|99999-9", ""},
	} {
		tok, err := ParseTokenParam(c.tok)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SearchDocType(tok)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("SearchDocType(%q) = %q, %v; want %q", c.tok, got, err, c.want)
		}
	}
	for _, c := range []struct {
		tok  string
		want carnet.DocClass
	}{
		{SystemTREA03 + "|10", "10"},
		{SystemTREA03OID + "|31", "31"},
		{"90", "90"},
		{"http://loinc.org|10", ""},
		{"77", ""},
	} {
		tok, _ := ParseTokenParam(c.tok)
		got, err := SearchDocClass(tok)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("SearchDocClass(%q) = %q, %v; want %q", c.tok, got, err, c.want)
		}
	}
	for _, s := range []carnet.DocStatus{carnet.DocCurrent, carnet.DocDeprecated, carnet.DocArchived, carnet.DocDeleted} {
		statuses, err := DocStatusesFor(FHIRDocStatus(s))
		if err != nil || !contains(statuses, s) {
			t.Errorf("status %q: searching %q finds %v, %v", s, FHIRDocStatus(s), statuses, err)
		}
	}
	if _, err := DocStatusesFor("archived"); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
}

func contains(ss []carnet.DocStatus, s carnet.DocStatus) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestOutcomeFromError(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		issue  string
		text   string
	}{
		{nil, http.StatusOK, "informational", "opération réussie"},
		{carnet.Errorf(carnet.EINVALID, "NIR invalide"), http.StatusBadRequest, "invalid", "NIR invalide"},
		{carnet.Errorf(carnet.ENOTFOUND, "document introuvable"), http.StatusNotFound, "not-found", "document introuvable"},
		{&carnet.Error{Code: carnet.EFORBIDDEN}, http.StatusForbidden, "forbidden", "accès refusé"},
		{&carnet.Error{Code: carnet.EUNAUTHORIZED}, http.StatusUnauthorized, "login", "authentification requise"},
		{&carnet.Error{Code: carnet.ECONFLICT}, http.StatusConflict, "conflict", "conflit avec l'état actuel"},
		{tooLarge(10), http.StatusRequestEntityTooLarge, "too-costly", "document trop volumineux : 10 octets au plus"},
		{&carnet.Error{Code: carnet.ERATELIMIT}, http.StatusTooManyRequests, "throttled", "trop de tentatives"},
		{&carnet.Error{Code: carnet.EUNAVAILABLE}, http.StatusServiceUnavailable, "transient", "momentanément indisponible"},
		{&carnet.Error{Code: carnet.EINTEGRITY}, http.StatusInternalServerError, "exception", "donnée altérée"},
		{&carnet.Error{Code: carnet.EKEY}, http.StatusInternalServerError, "exception", "clé de chiffrement indisponible"},
		{&carnet.Error{Code: carnet.EINTERNAL, Message: "pq: secret table"}, http.StatusInternalServerError, "exception", "erreur interne"},
		{http.ErrServerClosed, http.StatusInternalServerError, "exception", "erreur interne"},
		{&carnet.Error{Code: "weird", Message: "détail interne"}, http.StatusInternalServerError, "exception", "erreur interne"},
		{carnet.WrapErr("svc.op", carnet.ENOTFOUND, http.ErrServerClosed), http.StatusNotFound, "not-found", "introuvable"},
		{invalidf("code-invalid", "DocumentReference.type", "type de document inconnu"), http.StatusBadRequest, "code-invalid", "type de document inconnu"},
	} {
		status, o := OutcomeFromError(c.err)
		if status != c.status || o.ResourceType != "OperationOutcome" || len(o.Issue) != 1 || o.Issue[0].Code != c.issue ||
			o.Issue[0].Details == nil || !strings.Contains(o.Issue[0].Details.Text, c.text) {
			t.Errorf("OutcomeFromError(%v) = %d %+v; want %d %s %q", c.err, status, o, c.status, c.issue, c.text)
		}
	}
	// Nothing of an internal error's chain reaches the text.
	_, o := OutcomeFromError(&carnet.Error{Code: carnet.EINTERNAL, Message: "SELECT nir FROM patients", Err: http.ErrAbortHandler})
	if b := string(marshal(t, o)); strings.Contains(b, "SELECT") || strings.Contains(b, "abort") || len(o.Issue[0].Expression) != 0 {
		t.Errorf("internal details leaked: %s", b)
	}
	if o := Outcome("warning", "informational", ""); o.Issue[0].Details != nil || o.Issue[0].Severity != "warning" {
		t.Errorf("Outcome without text: %+v", o)
	}
}
