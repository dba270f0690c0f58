package fhir

import (
	"strings"

	"github.com/carnet-sante/carnet"
)

// Version is the FHIR version Carnet speaks.
const Version = "4.0.1"

// Canonical is the base of Carnet's own extensions and code systems, the same as the audit
// package's (audit.CarnetCanonicalBase).
const Canonical = "https://carnet-sante.github.io/fhir"

// Carnet's extensions and code systems.
const (
	// ExtAttachmentSHA256 carries the base64 SHA-256 of an attachment's bytes (valueBase64Binary),
	// since FHIR R4 defines Attachment.hash as a SHA-1.
	ExtAttachmentSHA256 = Canonical + "/StructureDefinition/attachment-sha256"
	// ExtConsentKind says how the patient gave consent (valueCode "oral" or "written").
	ExtConsentKind = Canonical + "/StructureDefinition/consent-kind"
	// SystemDocumentLifecycle tags a DocumentReference with Carnet's lifecycle states that the
	// FHIR status cannot express (TagArchived).
	SystemDocumentLifecycle = Canonical + "/CodeSystem/document-lifecycle"
	// TagArchived is the meta.tag code of an archived document (status current).
	TagArchived = "archived"
)

// Terminologies of the ANS (France), by their FHIR canonical URLs and their OIDs.
const (
	// SystemTREA03 is TRE_A03-ClasseDocument, the document classes (JDV_J57 for the DMP).
	SystemTREA03    = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
	SystemTREA03OID = "urn:oid:1.2.250.1.213.1.1.4.1"
	// SystemTREA05 is TRE_A05-TypeDocComplementaire, the French document types (carnet.SystemTREA05
	// is its urn:oid form).
	SystemTREA05    = "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire"
	SystemTREA05OID = carnet.SystemTREA05
	// SystemTREA07 is TRE_A07-StatutVisibiliteDocument, the DMP's visibility codes.
	SystemTREA07    = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"
	SystemTREA07OID = "urn:oid:1.2.250.1.213.1.1.4.13"
	// SystemTRER13 is TRE_R13-CommuneOM, the INSEE commune codes.
	SystemTRER13 = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
)

// Visibility codes of TRE_A07.
const (
	CodeHiddenFromProfessionals   = "MASQUE_PS"
	CodeHiddenFromPatient         = "INVISIBLE_PATIENT"
	CodeHiddenFromRepresentatives = "INVISIBLE_REPRESENTANTS_LEGAUX"
)

// FR Core (Interop'Santé).
const (
	// SystemFRCoreIdentifierType is FR Core's identifier-type code system (HL7 v2 table 0203 for France).
	SystemFRCoreIdentifierType = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
	// Identifier types of an INS.
	CodeINSNIR     = "INS-NIR"
	CodeINSNIA     = "INS-NIA"
	CodeINSNIRTest = "INS-NIR-TEST"
	CodeINSNIRDemo = "INS-NIR-DEMO"
	// ProfileFRCorePatient is the FR Core Patient profile.
	ProfileFRCorePatient = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"
	// ExtBirthListGivenName holds the whole list of birth given names of an official name.
	ExtBirthListGivenName = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name"
	// ExtAddressINSEECode holds the INSEE code of an address (valueCoding).
	ExtAddressINSEECode = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
)

// HL7 and IHE code systems and extensions.
const (
	SystemLOINC                    = carnet.SystemLOINC
	SystemSNOMED                   = "http://snomed.info/sct"
	SystemATC                      = "http://www.whocc.no/atc"
	SystemICD10                    = "http://hl7.org/fhir/sid/icd-10"
	SystemConfidentiality          = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	SystemActCode                  = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	SystemActReason                = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemRoleCode                 = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
	SystemParticipationType        = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	SystemConsentScope             = "http://terminology.hl7.org/CodeSystem/consentscope"
	SystemAllergyClinical          = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	SystemAllergyVerification      = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	SystemConditionClinical        = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	SystemConditionVerification    = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	SystemConditionCategory        = "http://terminology.hl7.org/CodeSystem/condition-category"
	SystemImmunizationOrigin       = "http://terminology.hl7.org/CodeSystem/immunization-origin"
	SystemRestfulSecurityService   = "http://terminology.hl7.org/CodeSystem/restful-security-service"
	SystemIHEFormatCode            = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
	ExtPatientBirthPlace           = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
	CodeFormatMimeTypeSufficient   = "urn:ihe:iti:xds:2017:mimeTypeSufficient"
	CodeConsentCategoryLOINC       = "59284-0"
	CodeConsentScopePatientPrivacy = "patient-privacy"
)

// codeSystemAliases maps the short names that profile entries may carry in CodeSystem to FHIR
// system URIs.
var codeSystemAliases = map[string]string{
	"snomed":    SystemSNOMED,
	"snomedct":  SystemSNOMED,
	"snomed ct": SystemSNOMED,
	"sct":       SystemSNOMED,
	"loinc":     SystemLOINC,
	"atc":       SystemATC,
	"icd-10":    SystemICD10,
	"icd10":     SystemICD10,
	"cim-10":    SystemICD10,
	"cim10":     SystemICD10,
}

// CodeSystemURI returns the FHIR system URI of a profile entry's CodeSystem: the value itself when
// it is already a URI (it holds a ':'), the URI of a known short name ("SNOMED CT", "ATC",
// "LOINC", "CIM-10"), or "" when it is unknown.
func CodeSystemURI(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, ":") {
		return s
	}
	return codeSystemAliases[strings.ToLower(strings.TrimSpace(s))]
}

// typeSystem returns the FHIR system of a document type's system as carnet records it.
func typeSystem(s string) string {
	if s == carnet.SystemTREA05 {
		return SystemTREA05
	}
	return s
}

// sameSystem reports whether a system received on the wire names the same code system as want,
// accepting the urn:oid form of the French terminologies.
func sameSystem(got, want string) bool {
	if got == want {
		return true
	}
	switch want {
	case SystemTREA03:
		return got == SystemTREA03OID
	case SystemTREA05:
		return got == SystemTREA05OID
	case SystemTREA07:
		return got == SystemTREA07OID
	}
	return false
}
