package carnet

import "time"

// Professional is a health professional from the directory (RPPS).
type Professional struct {
	ID            string
	RPPS          string     // 11 digits
	Profession    Profession // TRE_G15
	Specialty     string     // TRE_R38 for médecins, optional
	Civility      string     // "Dr", "M.", "Mme"
	FamilyName    string
	GivenName     string
	StructureID   string // establishment identifier (FINESS/SIRET), optional
	StructureName string
	Email         string // for messages to the professional, optional
	Active        bool   // false once deactivated in the directory: no access at all
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DisplayName is "Dr Marie Martin" or "Marie Martin".
func (p *Professional) DisplayName() string {
	s := p.GivenName + " " + p.FamilyName
	if p.Civility != "" {
		s = p.Civility + " " + s
	}
	return s
}

// Validate checks the professional's identifiers and names.
func (p *Professional) Validate() error {
	var v ValidationError
	if err := ValidateRPPS(p.RPPS); err != nil {
		v.add("%s", ErrorMessage(err))
	} else if NormalizeRPPS(p.RPPS) != p.RPPS {
		v.add("RPPS non normalisé")
	}
	if !p.Profession.Valid() {
		v.add("code de profession inconnu : %q", p.Profession)
	}
	if p.Specialty != "" && SpecialtyLabel(p.Specialty) == "" {
		v.add("spécialité inconnue : %q", p.Specialty)
	}
	checkName(&v, "nom", p.FamilyName, true)
	checkName(&v, "prénom", p.GivenName, true)
	checkName(&v, "civilité", p.Civility, false)
	checkName(&v, "nom de structure", p.StructureName, false)
	if len(p.StructureID) > 64 {
		v.add("identifiant de structure trop long")
	}
	if p.Email != "" {
		if err := ValidateEmail(p.Email); err != nil {
			v.add("%s", ErrorMessage(err))
		}
	}
	return v.err("professionnel")
}
