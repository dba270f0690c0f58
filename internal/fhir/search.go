package fhir

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// maxParamLen bounds a search parameter value.
const maxParamLen = 1024

// Token is a parsed token search parameter: "code", "system|code", "|code" or "system|".
type Token struct {
	System    string
	Code      string
	HasSystem bool // a '|' was given: System "" then means "no system"
}

// ParseTokenParam parses one token search value, with FHIR's escapes (\| \, \$ \\). A value with
// an unescaped ',' (several values, OR-ed) is refused: split it with SplitOr first.
func ParseTokenParam(s string) (Token, error) {
	if err := checkParam(s); err != nil {
		return Token{}, err
	}
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return Token{}, carnet.Errorf(carnet.EINVALID, "paramètre de recherche invalide : « \\ » final")
			}
			i++
			cur.WriteByte(s[i])
		case c == ',':
			return Token{}, carnet.Errorf(carnet.EINVALID, "paramètre de recherche invalide : une seule valeur attendue ici")
		case c == '|':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	switch len(parts) {
	case 1:
		if parts[0] == "" {
			return Token{}, carnet.Errorf(carnet.EINVALID, "paramètre de recherche vide")
		}
		return Token{Code: parts[0]}, nil
	case 2:
		if parts[0] == "" && parts[1] == "" {
			return Token{}, carnet.Errorf(carnet.EINVALID, "paramètre de recherche vide")
		}
		return Token{System: parts[0], Code: parts[1], HasSystem: true}, nil
	}
	return Token{}, carnet.Errorf(carnet.EINVALID, "paramètre de recherche invalide : système|code attendu")
}

// SplitOr splits a search value on its unescaped commas (values OR-ed), keeping escapes for the
// parser of each value.
func SplitOr(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func checkParam(s string) error {
	if len(s) > maxParamLen {
		return carnet.Errorf(carnet.EINVALID, "paramètre de recherche trop long (%d caractères au plus)", maxParamLen)
	}
	if !utf8.ValidString(s) {
		return carnet.Errorf(carnet.EINVALID, "paramètre de recherche invalide : UTF-8 attendu")
	}
	return nil
}

// ParseIdentifierToken parses a Patient identifier search value naming an INS:
// "urn:oid:1.2.250.1.213.1.4.8|255081416802538" (or another INS OID: NIA, test, demonstration).
// It returns the system as given and the NIR, normalized and checked (key included). A bare NIR,
// without system, is accepted and returns system "".
func ParseIdentifierToken(s string) (system, value string, err error) {
	tok, err := ParseTokenParam(s)
	if err != nil {
		return "", "", err
	}
	if tok.HasSystem {
		oid, ok := strings.CutPrefix(tok.System, "urn:oid:")
		if _, known := insTypes[oid]; !ok || !known {
			return "", "", carnet.Errorf(carnet.EINVALID, "système d'identifiant %q non pris en charge : urn:oid:%s|<NIR> attendu", tok.System, carnet.OIDINSNIR)
		}
	}
	if tok.Code == "" {
		return "", "", carnet.Errorf(carnet.EINVALID, "NIR manquant : urn:oid:%s|<NIR> attendu", carnet.OIDINSNIR)
	}
	if err := carnet.ValidateNIR(tok.Code); err != nil {
		return "", "", err
	}
	return tok.System, carnet.NormalizeNIR(tok.Code), nil
}

// DateParam is a parsed date search value: a comparison prefix and a date of some precision,
// which stands for the whole period [Start, End).
type DateParam struct {
	Prefix string    // eq, ge, gt, le or lt
	Start  time.Time // first instant of the period the value names (UTC)
	End    time.Time // first instant after it
}

// ParseDateParam parses a date search value: an optional prefix (eq, the default, ge, gt, le,
// lt) and a date of precision year (2026), month (2026-01) or day (2026-01-15), in UTC; a full
// dateTime with a time zone is accepted too (precision: the second).
func ParseDateParam(s string) (DateParam, error) {
	if err := checkParam(s); err != nil {
		return DateParam{}, err
	}
	p := DateParam{Prefix: "eq"}
	v := s
	if len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' {
		p.Prefix, v = s[:2], s[2:]
		switch p.Prefix {
		case "eq", "ge", "gt", "le", "lt":
		default:
			return DateParam{}, carnet.Errorf(carnet.EINVALID, "préfixe de date %q non pris en charge : eq, ge, gt, le ou lt", p.Prefix)
		}
	}
	t, prec, ok := parseDateTime(v)
	if !ok {
		return DateParam{}, carnet.Errorf(carnet.EINVALID, "date de recherche invalide : %q (AAAA, AAAA-MM ou AAAA-MM-JJ, avec un préfixe facultatif ge, gt, le, lt)", s)
	}
	p.Start = t
	if prec == precisionSecond {
		p.End = t.Add(time.Second)
	} else {
		p.End = endOf(t, prec)
	}
	return p, nil
}

// Range returns the half-open interval [from, to) of instants that match the parameter; a zero
// bound is open (as in carnet.DocumentFilter and carnet.AuditFilter).
func (p DateParam) Range() (from, to time.Time) {
	switch p.Prefix {
	case "ge":
		return p.Start, time.Time{}
	case "gt":
		return p.End, time.Time{}
	case "le":
		return time.Time{}, p.End
	case "lt":
		return time.Time{}, p.Start
	}
	return p.Start, p.End
}

// ParseDateRange parses every value of a repeated date parameter (date=ge2026-01&date=lt2026-07)
// and returns the intersection of their ranges, [from, to) with zero for an open bound. An empty
// intersection is EINVALID.
func ParseDateRange(values []string) (from, to time.Time, err error) {
	for _, v := range values {
		p, err := ParseDateParam(v)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		f, t := p.Range()
		if !f.IsZero() && (from.IsZero() || f.After(from)) {
			from = f
		}
		if !t.IsZero() && (to.IsZero() || t.Before(to)) {
			to = t
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return time.Time{}, time.Time{}, carnet.Errorf(carnet.EINVALID, "intervalle de dates vide")
	}
	return from, to, nil
}

// SearchDocType returns the document type a type token names: a known code, with no system or
// with its own (LOINC, or TRE_A05 by URL or OID).
func SearchDocType(tok Token) (string, error) {
	t, err := carnet.LookupDocType(tok.Code)
	if err != nil {
		return "", err
	}
	if tok.HasSystem && !sameSystem(tok.System, typeSystem(t.System)) {
		return "", carnet.Errorf(carnet.EINVALID, "type de document inconnu : %s|%s", tok.System, tok.Code)
	}
	return t.Code, nil
}

// SearchDocClass returns the document class a category token names: a known class code, with no
// system or TRE_A03 (by URL or OID).
func SearchDocClass(tok Token) (carnet.DocClass, error) {
	c := carnet.DocClass(tok.Code)
	if !c.Valid() || (tok.HasSystem && !sameSystem(tok.System, SystemTREA03)) {
		return "", carnet.Errorf(carnet.EINVALID, "classe de document inconnue : %q", tok.Code)
	}
	return c, nil
}

// DocStatusesFor returns the Carnet statuses that a DocumentReference status search value
// matches: current is current and archived documents.
func DocStatusesFor(status string) ([]carnet.DocStatus, error) {
	switch status {
	case "current":
		return []carnet.DocStatus{carnet.DocCurrent, carnet.DocArchived}, nil
	case "superseded":
		return []carnet.DocStatus{carnet.DocDeprecated}, nil
	case "entered-in-error":
		return []carnet.DocStatus{carnet.DocDeleted}, nil
	}
	return nil, carnet.Errorf(carnet.EINVALID, "statut de document inconnu : %q (current, superseded ou entered-in-error)", status)
}
