package fhir

import "strings"

// CapabilityStatement is a FHIR CapabilityStatement: what Carnet's FHIR facade does, served at
// /metadata.
type CapabilityStatement struct {
	ResourceType   string                    `json:"resourceType"`
	Status         string                    `json:"status"`
	Date           string                    `json:"date"`
	Publisher      string                    `json:"publisher,omitempty"`
	Kind           string                    `json:"kind"`
	Software       *CapabilitySoftware       `json:"software,omitempty"`
	Implementation *CapabilityImplementation `json:"implementation,omitempty"`
	FHIRVersion    string                    `json:"fhirVersion"`
	Format         []string                  `json:"format"`
	Rest           []CapabilityRest          `json:"rest,omitempty"`
}

// CapabilitySoftware names the software.
type CapabilitySoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// CapabilityImplementation describes this instance.
type CapabilityImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is the RESTful server part.
type CapabilityRest struct {
	Mode          string               `json:"mode"`
	Documentation string               `json:"documentation,omitempty"`
	Security      *CapabilitySecurity  `json:"security,omitempty"`
	Resource      []CapabilityResource `json:"resource,omitempty"`
	// Interaction lists the system-level interactions (transaction: IHE MHD ITI-65).
	Interaction []CapabilityInteraction `json:"interaction,omitempty"`
}

// CapabilitySecurity says how clients authenticate.
type CapabilitySecurity struct {
	CORS        bool              `json:"cors,omitempty"`
	Service     []CodeableConcept `json:"service,omitempty"`
	Description string            `json:"description,omitempty"`
}

// CapabilityResource is what the server does with one resource type.
type CapabilityResource struct {
	Type          string                  `json:"type"`
	Profile       string                  `json:"profile,omitempty"`
	Documentation string                  `json:"documentation,omitempty"`
	Interaction   []CapabilityInteraction `json:"interaction"`
	SearchParam   []CapabilitySearchParam `json:"searchParam,omitempty"`
}

// CapabilityInteraction is a RESTful interaction: read, search-type, create...
type CapabilityInteraction struct {
	Code string `json:"code"`
}

// CapabilitySearchParam is a supported search parameter.
type CapabilitySearchParam struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// CapabilityDate is the date of the facade's current surface; change it with the surface.
const CapabilityDate = "2026-11-23"

func interactions(codes ...string) []CapabilityInteraction {
	out := make([]CapabilityInteraction, len(codes))
	for i, c := range codes {
		out[i] = CapabilityInteraction{Code: c}
	}
	return out
}

var (
	paramPatient = CapabilitySearchParam{Name: "patient", Type: "reference", Documentation: "le patient (Patient/<id>), obligatoire"}
	paramDate    = CapabilitySearchParam{Name: "date", Type: "date", Documentation: "préfixes eq, ge, gt, le, lt ; précision AAAA, AAAA-MM ou AAAA-MM-JJ"}
)

// Capability returns the CapabilityStatement of the facade served under baseURL by Carnet of the
// given version.
func Capability(baseURL, version string) CapabilityStatement {
	base := strings.TrimRight(baseURL, "/")
	return CapabilityStatement{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         CapabilityDate,
		Publisher:    "Carnet",
		Kind:         "instance",
		Software:     &CapabilitySoftware{Name: "Carnet", Version: version},
		Implementation: &CapabilityImplementation{
			Description: "Carnet : façade FHIR R4 de l'espace santé (documents, profil médical, consentements, historique)",
			URL:         base,
		},
		FHIRVersion: Version,
		Format:      []string{"json", "application/fhir+json"},
		Rest: []CapabilityRest{{
			Mode:          "server",
			Interaction:   interactions("transaction"),
			Documentation: "Réponses en JSON seulement. Les erreurs sont des OperationOutcome dont le texte est en français.",
			Security: &CapabilitySecurity{
				CORS: true,
				Service: []CodeableConcept{{
					Coding: []Coding{{System: SystemRestfulSecurityService, Code: "SMART-on-FHIR", Display: "SMART-on-FHIR"}},
					Text:   "OAuth 2.0, SMART App Launch 2",
				}},
				Description: "Jetons OAuth 2.0 selon SMART App Launch 2 (portées patient/*.rs, launch/patient, openid fhirUser) ; " +
					"découverte sur " + base + "/.well-known/smart-configuration. Les professionnels s'authentifient par Pro Santé Connect.",
			},
			Resource: []CapabilityResource{
				{
					Type: "Patient", Profile: ProfileFRCorePatient,
					Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{{Name: "identifier", Type: "token",
						Documentation: "l'INS : urn:oid:1.2.250.1.213.1.4.8|<NIR>"}},
				},
				{
					Type:          "DocumentReference",
					Documentation: "IHE MHD ; visibilité par securityLabel (TRE_A07), versions par relatesTo replaces, contenu inline (attachment.data) ou dans un Binary de la même transaction (IHE MHD ITI-65, POST sur la base)",
					Interaction:   interactions("read", "search-type", "create"),
					SearchParam: []CapabilitySearchParam{
						paramPatient,
						{Name: "type", Type: "token", Documentation: "LOINC ou TRE_A05"},
						{Name: "category", Type: "token", Documentation: "classe TRE_A03 (JDV_J57)"},
						{Name: "date", Type: "date", Documentation: "date de l'acte ; préfixes eq, ge, gt, le, lt ; précision AAAA, AAAA-MM ou AAAA-MM-JJ"},
						{Name: "status", Type: "token", Documentation: "current, superseded ou entered-in-error"},
					},
				},
				{Type: "Binary", Interaction: interactions("read")},
				{
					Type: "Immunization", Interaction: interactions("read", "search-type", "create"),
					SearchParam: []CapabilitySearchParam{paramPatient},
				},
				{
					Type: "AllergyIntolerance", Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{paramPatient},
				},
				{
					Type: "Condition", Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{paramPatient},
				},
				{
					Type: "FamilyMemberHistory", Documentation: "antécédents familiaux",
					Interaction: interactions("read", "search-type"),
					SearchParam: []CapabilitySearchParam{paramPatient},
				},
				{
					Type: "Consent", Documentation: "déclaration par un professionnel du consentement du patient à son accès",
					Interaction: interactions("search-type", "create"),
					SearchParam: []CapabilitySearchParam{paramPatient},
				},
				{
					Type: "AuditEvent", Documentation: "historique des accès et actions sur l'espace santé",
					Interaction: interactions("search-type"),
					SearchParam: []CapabilitySearchParam{paramPatient, paramDate},
				},
			},
		}},
	}
}
