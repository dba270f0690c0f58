package carnet

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ProfileKind is a section of the medical profile.
type ProfileKind string

const (
	ProfileAllergy       ProfileKind = "allergy"        // allergies et intolérances
	ProfileCondition     ProfileKind = "condition"      // maladies et antécédents
	ProfileFamilyHistory ProfileKind = "family_history" // antécédents familiaux
	ProfileVaccination   ProfileKind = "vaccination"    // vaccinations
	ProfileTreatment     ProfileKind = "treatment"      // traitements
	ProfileMeasure       ProfileKind = "measure"        // mesures (poids, taille, tension...)
)

var profileKindLabels = map[ProfileKind]string{
	ProfileAllergy:       "Allergies",
	ProfileCondition:     "Maladies et antécédents",
	ProfileFamilyHistory: "Antécédents familiaux",
	ProfileVaccination:   "Vaccinations",
	ProfileTreatment:     "Traitements",
	ProfileMeasure:       "Mesures",
}

// Label returns the French section name.
func (k ProfileKind) Label() string { return profileKindLabels[k] }

// Valid reports whether k is a known kind.
func (k ProfileKind) Valid() bool { _, ok := profileKindLabels[k]; return ok }

// Measures and their units (LOINC codes).
var measureUnits = map[string]string{
	"29463-7": "kg",     // poids
	"8302-2":  "cm",     // taille
	"8480-6":  "mm[Hg]", // tension systolique
	"8462-4":  "mm[Hg]", // tension diastolique
	"8867-4":  "/min",   // fréquence cardiaque
	"2339-0":  "g/L",    // glycémie
	"8310-5":  "Cel",    // température
}

// MeasureUnit returns the unit of a measure's LOINC code, or "" if the code is not a known measure.
func MeasureUnit(code string) string { return measureUnits[code] }

// ProfileEntry is one line of the medical profile. Its health content (Code, CodeSystem, Label,
// Value, Unit, Notes) is sealed by the service into Sealed; stores persist Sealed and the
// structural fields only.
type ProfileEntry struct {
	ID         string
	PatientID  string
	Kind       ProfileKind
	Code       string  // e.g. SNOMED CT, ATC, CIP, LOINC for measures (sealed)
	CodeSystem string  // (sealed)
	Label      string  // (sealed)
	Value      float64 // measures (sealed)
	Unit       string  // measures (sealed)
	Notes      string  // (sealed)
	Sealed     []byte
	Date       time.Time  // onset, administration or measurement date
	EndDate    *time.Time // end of a treatment, optional
	AuthorKind AuthorKind
	AuthorID   string
	Deleted    bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate checks the entry's clear content.
func (e *ProfileEntry) Validate(now time.Time) error {
	var v ValidationError
	if e.PatientID == "" {
		v.add("patient manquant")
	}
	if !e.Kind.Valid() {
		v.add("rubrique inconnue : %q", e.Kind)
	}
	if strings.TrimSpace(e.Label) == "" {
		v.add("libellé manquant")
	} else if !utf8.ValidString(e.Label) || utf8.RuneCountInString(e.Label) > 200 {
		v.add("libellé invalide (200 caractères au plus)")
	}
	if utf8.RuneCountInString(e.Notes) > 2000 {
		v.add("notes trop longues (2000 caractères au plus)")
	}
	if e.Date.IsZero() {
		v.add("date manquante")
	} else if e.Date.After(now.Add(24 * time.Hour)) {
		v.add("date dans le futur")
	}
	if e.EndDate != nil && e.EndDate.Before(e.Date) {
		v.add("la date de fin précède la date de début")
	}
	if e.Kind == ProfileMeasure {
		if u := MeasureUnit(e.Code); u == "" {
			v.add("mesure inconnue : %q", e.Code)
		} else if e.Unit != "" && e.Unit != u {
			v.add("unité %q attendue pour cette mesure", u)
		} else {
			e.Unit = u
		}
		if e.Value <= 0 || e.Value > 10000 {
			v.add("valeur de mesure invraisemblable")
		}
	}
	switch e.AuthorKind {
	case AuthorProfessional, AuthorPatient, AuthorSystem:
	default:
		v.add("auteur invalide")
	}
	return v.err("élément du profil médical")
}

// OrganDonation is the patient's stated stance on organ donation.
type OrganDonation string

const (
	OrganDonationUnstated OrganDonation = ""        // nothing stated (presumed consent applies by law)
	OrganDonationAccepts  OrganDonation = "accepts" // the patient states they accept
	OrganDonationRefuses  OrganDonation = "refuses" // the patient states they refuse (register it too)
)

// Contact is a person around the patient.
type Contact struct {
	Name     string `json:"name"`
	Relation string `json:"relation,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
}

// Wishes is "Entourage & Volontés": the trusted person, relatives to contact, advance
// directives and the organ-donation stance. The whole content is sealed by the service into
// Sealed; stores persist Sealed only.
type Wishes struct {
	PatientID         string
	TrustedPerson     *Contact      `json:"trusted_person,omitempty"`
	Relatives         []Contact     `json:"relatives,omitempty"`
	AdvanceDirectives string        `json:"advance_directives,omitempty"`
	OrganDonation     OrganDonation `json:"organ_donation,omitempty"`
	Sealed            []byte        `json:"-"`
	UpdatedAt         time.Time     `json:"-"`
}

// Validate checks the wishes.
func (w *Wishes) Validate() error {
	var v ValidationError
	check := func(c Contact, what string) {
		checkName(&v, "nom "+what, c.Name, true)
		checkName(&v, "lien "+what, c.Relation, false)
		if c.Email != "" {
			if err := ValidateEmail(c.Email); err != nil {
				v.add("%s", ErrorMessage(err))
			}
		}
		if len(c.Phone) > 20 {
			v.add("téléphone %s invalide", what)
		}
	}
	if w.TrustedPerson != nil {
		check(*w.TrustedPerson, "de la personne de confiance")
	}
	if len(w.Relatives) > 10 {
		v.add("10 proches au plus")
	}
	for _, c := range w.Relatives {
		check(c, "du proche")
	}
	if utf8.RuneCountInString(w.AdvanceDirectives) > 10000 {
		v.add("directives anticipées trop longues")
	}
	switch w.OrganDonation {
	case OrganDonationUnstated, OrganDonationAccepts, OrganDonationRefuses:
	default:
		v.add("position sur le don d'organes inconnue")
	}
	return v.err("entourage et volontés")
}
