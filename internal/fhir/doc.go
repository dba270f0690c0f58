// Package fhir is Carnet's FHIR R4 (4.0.1) wire format, JSON only: typed structs holding the
// elements Carnet uses, and pure conversion functions between them and the domain types of
// package carnet. It does no I/O: the HTTP handlers of the /fhir facade call it on both sides of
// the service layer. It imports the standard library and the root package only.
//
// # Choices
//
// Patient (FR Core). The INS is an identifier whose system is "urn:oid:" + the INS OID and whose
// type comes from the FR Core identifier-type code system (fr-core-cs-v2-0203): INS-NIR
// (use official), INS-NIA (use temp), INS-NIR-TEST (OID …4.10) and INS-NIR-DEMO (OID …4.11, which
// FR Core calls a demonstration NIR). The birth name is the official name; as the FR Core INS
// profile asks, its given holds the first given name only and the whole list of birth given names
// goes in the fr-core-patient-birth-list-given-name extension. The used name (nom d'usage) is a
// second name with use usual. The birth place is the patient-birthPlace extension carrying the
// INSEE code (fr-core-address-insee-code).
//
// DocumentReference (IHE MHD). Document types and classes use the French code systems under their
// FHIR canonical URLs as the ANS publishes them (TRE_A05, TRE_A03); the urn:oid forms are accepted
// on input. Status: current → current, deprecated → superseded, deleted → entered-in-error, and
// archived → current with a meta.tag (TagArchived): an archived document is still valid, it is
// only filed away, and DocumentReference.status has no other code for it. The visibility flags are
// security labels from TRE_A07 (StatutVisibiliteDocument, OID 1.2.250.1.213.1.1.4.13: MASQUE_PS,
// INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX), next to the HL7 confidentiality code N that
// the DMP also sends. FHIR R4 defines Attachment.hash as a SHA-1, while Carnet records the SHA-256
// of every body: the SHA-256 goes in the extension ExtAttachmentSHA256, and hash carries a SHA-1
// only when the body itself is inline (we can compute it then). The service date is
// context.period.start.
//
// Medical profile. Vaccinations are Immunization, allergies AllergyIntolerance, conditions
// Condition. Family history is FamilyMemberHistory rather than a Condition: a Condition's subject
// has the disease, and a family member's diabetes listed among the patient's own conditions would
// mislead any software that reads it. Carnet does not record which relative, so the relationship
// is the generic FAMMEMB (family member) and the label says the rest ("Diabète de type 2 (père)").
//
// Errors. Parse functions return *carnet.Error values with code EINVALID (ETOOLARGE for an
// oversized body) and a French message; OutcomeFromError turns any error into an HTTP status and an
// OperationOutcome, refining the issue code and adding the FHIRPath of the faulty element when the
// error comes from this package.
package fhir
