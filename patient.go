package carnet

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Sex as carried by the INS traits.
type Sex string

const (
	SexMale   Sex = "M"
	SexFemale Sex = "F"
)

// PatientStatus is where a person's space stands in its life.
type PatientStatus string

const (
	PatientEnrolled  PatientStatus = "enrolled"  // provisional code sent; may still oppose
	PatientOpposed   PatientStatus = "opposed"   // refused creation; no space
	PatientActive    PatientStatus = "active"    // space created (automatically or on activation)
	PatientClosed    PatientStatus = "closed"    // closed by the patient; archived, unreadable by professionals
	PatientDestroyed PatientStatus = "destroyed" // data key destroyed; nothing readable remains
)

// Valid reports whether s is a known status.
func (s PatientStatus) Valid() bool {
	switch s {
	case PatientEnrolled, PatientOpposed, PatientActive, PatientClosed, PatientDestroyed:
		return true
	}
	return false
}

// Patient is an insured person and the owner of a space.
//
// The NIR is never stored in clear: the service seals it under the patient's data key
// (NIRSealed) and keeps a keyed hash (NIRIndex) for look-ups. Stores persist NIRIndex and
// NIRSealed and leave NIR empty on reads; the service fills it back.
type Patient struct {
	ID             string
	NIR            string // clear NIR (15 characters); never persisted by a store
	NIRIndex       []byte // keyed hash of the NIR, unique
	NIRSealed      []byte // the NIR sealed under the patient's data key
	INSOID         string // OID qualifying the INS (OIDINSNIR, or a test OID)
	BirthName      string
	GivenNames     string // space-separated, first one is the first given name
	UsedName       string // nom d'usage, optional
	Sex            Sex
	BirthDate      time.Time // a date (UTC midnight)
	BirthPlace     string    // INSEE commune code, optional
	Email          string
	Mobile         string // E.164 (+33…)
	PostalAddress  string
	RightsHolderID string // for a minor: the patient ID of the parent who holds the rights
	Status         PatientStatus
	ClosedAt       *time.Time // when the space was closed (archived until destroyed)
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DisplayName is "Given Family" for pages and letters.
func (p *Patient) DisplayName() string {
	first := p.GivenNames
	if i := strings.IndexByte(first, ' '); i > 0 {
		first = first[:i]
	}
	name := p.BirthName
	if p.UsedName != "" {
		name = p.UsedName
	}
	return strings.TrimSpace(first + " " + name)
}

// AgeOn returns the patient's age in whole years on day t.
func (p *Patient) AgeOn(t time.Time) int {
	b := p.BirthDate
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}

// Validate checks the patient's identity traits and contact data. It checks the clear NIR when
// present (on creation), and its consistency with sex and birth date.
func (p *Patient) Validate(now time.Time) error {
	var v ValidationError
	if p.NIR != "" {
		if err := ValidateNIR(p.NIR); err != nil {
			v.add("%s", ErrorMessage(err))
		} else {
			nir := NormalizeNIR(p.NIR)
			if s := NIRSex(nir); s != "" && p.Sex != "" && s != p.Sex {
				v.add("le sexe ne correspond pas au NIR")
			}
			if !p.BirthDate.IsZero() {
				if nir[1:3] != p.BirthDate.Format("06") {
					v.add("l'année de naissance ne correspond pas au NIR")
				}
				if m := nir[3:5]; m <= "12" && m != p.BirthDate.Format("01") {
					v.add("le mois de naissance ne correspond pas au NIR")
				}
			}
		}
	} else if len(p.NIRIndex) == 0 {
		v.add("NIR manquant")
	}
	switch p.INSOID {
	case "", OIDINSNIR, OIDINSNIA, OIDINSNIRTest, OIDINSNIATest:
	default:
		v.add("OID d'INS inconnu : %q", p.INSOID)
	}
	checkName(&v, "nom de naissance", p.BirthName, true)
	checkName(&v, "prénoms", p.GivenNames, true)
	checkName(&v, "nom d'usage", p.UsedName, false)
	if p.Sex != SexMale && p.Sex != SexFemale {
		v.add("sexe invalide : M ou F attendu")
	}
	if p.BirthDate.IsZero() {
		v.add("date de naissance manquante")
	} else if p.BirthDate.After(now) {
		v.add("date de naissance dans le futur")
	} else if p.BirthDate.Year() < 1890 {
		v.add("date de naissance invraisemblable")
	}
	if p.Email != "" {
		if err := ValidateEmail(p.Email); err != nil {
			v.add("%s", ErrorMessage(err))
		}
	}
	if p.Mobile != "" {
		if err := ValidateMobile(p.Mobile); err != nil {
			v.add("%s", ErrorMessage(err))
		}
	}
	if len(p.PostalAddress) > 500 {
		v.add("adresse postale trop longue")
	}
	if p.Status != "" && !p.Status.Valid() {
		v.add("statut inconnu : %q", p.Status)
	}
	return v.err("patient")
}

func checkName(v *ValidationError, what, s string, required bool) {
	if strings.TrimSpace(s) == "" {
		if required {
			v.add("%s manquant", what)
		}
		return
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 100 {
		v.add("%s invalide", what)
		return
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			v.add("%s contient un caractère de contrôle", what)
			return
		}
	}
}

// ValidateEmail checks an email address (a bare address, no display name).
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return Errorf(EINVALID, "adresse électronique invalide : %q", s)
	}
	return nil
}

// NormalizeMobile turns a French mobile number ("06 12 34 56 78") into E.164 ("+33612345678");
// other E.164 numbers are returned without spaces.
func NormalizeMobile(s string) string {
	s = strings.NewReplacer(" ", "", ".", "", "-", "").Replace(strings.TrimSpace(s))
	if len(s) == 10 && s[0] == '0' {
		return "+33" + s[1:]
	}
	return s
}

// ValidateMobile checks an E.164 mobile number (a French one must start with +336 or +337).
func ValidateMobile(s string) error {
	bad := Errorf(EINVALID, "numéro de mobile invalide : %q (format +33612345678 attendu)", s)
	if len(s) < 8 || len(s) > 16 || s[0] != '+' {
		return bad
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return bad
		}
	}
	if strings.HasPrefix(s, "+33") && !(strings.HasPrefix(s, "+336") || strings.HasPrefix(s, "+337")) || strings.HasPrefix(s, "+33") && len(s) != 12 {
		return bad
	}
	return nil
}

// ParseDate parses an ISO date (2006-01-02) into UTC midnight, with a French error.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "date invalide : %q (format AAAA-MM-JJ attendu)", s)
	}
	return t, nil
}
