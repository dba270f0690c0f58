package carnet

import "sort"

// Profession is a TRE_G15 profession code ("10" médecin, "21" pharmacien, ...).
type Profession string

// Professions of TRE_G15 with their French labels (DOMAIN.md).
var professionLabels = map[Profession]string{
	"10": "médecin",
	"21": "pharmacien",
	"26": "audioprothésiste",
	"28": "opticien-lunetier",
	"31": "assistant dentaire",
	"40": "chirurgien-dentiste",
	"50": "sage-femme",
	"60": "infirmier",
	"69": "infirmier psychiatrique",
	"70": "masseur-kinésithérapeute",
	"80": "pédicure-podologue",
	"81": "orthoprothésiste",
	"82": "podo-orthésiste",
	"83": "oculariste",
	"84": "épithésiste",
	"85": "orthopédiste-orthésiste",
	"86": "technicien de laboratoire",
	"91": "orthophoniste",
	"92": "orthoptiste",
	"94": "ergothérapeute",
	"95": "diététicien",
	"96": "psychomotricien",
	"98": "manipulateur d'électroradiologie",
}

// Label returns the French name of the profession, or "" if the code is unknown.
func (p Profession) Label() string { return professionLabels[p] }

// Valid reports whether p is a known TRE_G15 code.
func (p Profession) Valid() bool { _, ok := professionLabels[p]; return ok }

// Professions returns every known profession code, sorted.
func Professions() []Profession {
	out := make([]Profession, 0, len(professionLabels))
	for p := range professionLabels {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Médecin specialties (TRE_R38), a subset that covers the demo and the grid's exceptions.
var specialtyLabels = map[string]string{
	"SM26": "qualifié en médecine générale",
	"SM54": "médecine générale",
	"SM04": "cardiologie et maladies vasculaires",
	"SM42": "psychiatrie",
	"SM44": "radio-diagnostic",
	"SM05": "chirurgie générale",
	"SM15": "dermatologie et vénéréologie",
	"SM38": "ophtalmologie",
	"SM40": "pédiatrie",
	"SM20": "gynécologie-obstétrique",
	"SM03": "biologie médicale",
	"SM02": "anesthésie-réanimation",
	"SM53": "médecine d'urgence",
}

// SpecialtyLabel returns the French label of a TRE_R38 specialty code, or "" if unknown.
func SpecialtyLabel(code string) string { return specialtyLabels[code] }

// DocClass is a JDV_J57 document class code ("10" compte rendu, ...).
type DocClass string

var classLabels = map[DocClass]string{
	"10": "Compte rendu",
	"11": "Synthèse",
	"31": "Imagerie médicale",
	"42": "Prescription",
	"43": "Dispensation",
	"44": "Plan / protocole de soins",
	"45": "Traitement administré",
	"52": "Certificat / déclaration",
	"60": "Données de remboursement",
	"90": "Document déposé par le patient",
	"95": "Document de gestion",
}

// Label returns the French label of the class.
func (c DocClass) Label() string { return classLabels[c] }

// Valid reports whether c is a known class.
func (c DocClass) Valid() bool { _, ok := classLabels[c]; return ok }

// DocClasses returns every class code, sorted.
func DocClasses() []DocClass {
	out := make([]DocClass, 0, len(classLabels))
	for c := range classLabels {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DocType is a document type: a LOINC code or a French complementary code (TRE_A05), each with
// its class.
type DocType struct {
	Code   string   // "11490-0", "PRESC-KINE", ...
	System string   // "http://loinc.org" or the TRE_A05 OID
	Label  string   // French label
	Class  DocClass // JDV_J57 class
}

// Code systems of document types.
const (
	SystemLOINC  = "http://loinc.org"
	SystemTREA05 = "urn:oid:1.2.250.1.213.1.1.4.12"
)

var docTypes = []DocType{
	{"11490-0", SystemLOINC, "Lettre de liaison de sortie", "10"},
	{"11488-4", SystemLOINC, "Compte rendu de consultation", "10"},
	{"11502-2", SystemLOINC, "Compte rendu d'examens biologiques", "10"},
	{"18748-4", SystemLOINC, "Compte rendu d'imagerie", "31"},
	{"11526-1", SystemLOINC, "Compte rendu d'anatomo-pathologie", "10"},
	{"15507-7", SystemLOINC, "Compte rendu de passage aux urgences", "10"},
	{"15508-5", SystemLOINC, "Compte rendu d'accouchement", "10"},
	{"18761-7", SystemLOINC, "Synthèse de transfert", "11"},
	{"18776-5", SystemLOINC, "Plan de soins", "44"},
	{"11369-6", SystemLOINC, "Historique des vaccinations", "11"},
	{"29274-8", SystemLOINC, "Signes vitaux et mesures", "11"},
	{"57833-6", SystemLOINC, "Prescription de médicaments", "42"},
	{"60593-1", SystemLOINC, "Dispensation de médicaments", "43"},
	{"PRESC-BIO", SystemTREA05, "Prescription d'actes de biologie", "42"},
	{"PRESC-KINE", SystemTREA05, "Prescription d'actes de kinésithérapie", "42"},
	{"PRESC-INF", SystemTREA05, "Prescription d'actes infirmiers", "42"},
	{"PRESC-AAT", SystemTREA05, "Avis d'arrêt de travail", "52"},
	{"PROT_ALD", SystemTREA05, "Protocole de soins ALD", "44"},
	{"REMB", SystemTREA05, "Données de remboursement", "60"},
	{"ATTEST-RESID", SystemTREA05, "Attestation de résidence", "95"},
	{"EXPPAT_1", SystemTREA05, "Volontés et droits du patient", "90"},
	{"DOCPAT01", SystemTREA05, "Document du patient : synthèse", "90"},
	{"DOCPAT02", SystemTREA05, "Document du patient : traitement", "90"},
	{"DOCPAT03", SystemTREA05, "Document du patient : compte rendu", "90"},
	{"DOCPAT04", SystemTREA05, "Document du patient : dépistage, vaccination, prévention", "90"},
	{"DOCPAT05", SystemTREA05, "Document du patient : certificat", "90"},
	{"DOCPAT06", SystemTREA05, "Document du patient : imagerie", "90"},
	{"DOCPAT07", SystemTREA05, "Document du patient : biologie", "90"},
	{"DOCPAT08", SystemTREA05, "Document du patient : ordonnance", "90"},
	{"DOCPAT09", SystemTREA05, "Document du patient : autre", "90"},
}

var docTypeByCode = func() map[string]DocType {
	m := make(map[string]DocType, len(docTypes))
	for _, t := range docTypes {
		m[t.Code] = t
	}
	return m
}()

// LookupDocType returns the document type of a code, or an EINVALID error naming the code.
func LookupDocType(code string) (DocType, error) {
	t, ok := docTypeByCode[code]
	if !ok {
		return DocType{}, Errorf(EINVALID, "type de document inconnu : %q", code)
	}
	return t, nil
}

// DocTypes returns every known document type, in a stable order.
func DocTypes() []DocType { return append([]DocType(nil), docTypes...) }
