package policy

import "github.com/carnet-sante/carnet"

// Reason is the rule that settled a decision. Each reason either allows or denies: Decision.Allow
// is Reason.Allows(). Its String form ("consent", "blocked", ...) is stable and goes to the
// audit log; the French sentence comes from Policy.Explain.
type Reason uint8

// Reasons that allow.
const (
	ReasonNone Reason = iota // never returned by Decide; denies

	ReasonPatient            // the patient in their own space
	ReasonRepresentative     // a legal representative of a minor patient
	ReasonConsent            // a professional with a consent in force (and, for documents, the grid)
	ReasonTreatingDoctor     // the declared médecin traitant, with a consent in force
	ReasonAuthor             // the professional who wrote the document
	ReasonAdministrator      // the administrator designated by the patient
	ReasonRegulation         // centre 15 (SAMU regulation) mode
	ReasonBreakGlass         // bris de glace mode
	ReasonFeeding            // a professional adding to the space (no consent needed)
	ReasonConsentDeclaration // a professional recording or withdrawing their own consent
	ReasonAppScope           // a referenced app authorized by the patient, within its scopes
	ReasonSystemFeed         // Carnet's jobs feeding reimbursement data

	reasonFirstDeny
)

// Reasons that deny.
const (
	ReasonIncomplete                Reason = iota + reasonFirstDeny + 1 // actor, settings or document missing
	ReasonUnknownAction                                                 // no such action
	ReasonPatientMismatch                                               // the document belongs to another patient
	ReasonOperator                                                      // an operator: never reads nor writes health content
	ReasonUnknownActor                                                  // an unknown kind of actor
	ReasonNotOwner                                                      // a patient in someone else's space
	ReasonNotRepresentative                                             // not a legal representative of a minor patient
	ReasonNotPermitted                                                  // this kind of actor may not do this action
	ReasonModeNotAllowed                                                // the access mode does not allow this action for this actor
	ReasonInactive                                                      // the professional is not active in the directory
	ReasonBlocked                                                       // the patient blocked the professional
	ReasonStructureBlocked                                              // the patient blocked the professional's structure
	ReasonHideAll                                                       // "hide everything": only the patient and the administrator
	ReasonNoConsent                                                     // no consent declared
	ReasonConsentExpired                                                // the consent expired
	ReasonConsentRevoked                                                // the consent was withdrawn
	ReasonConsentPurpose                                                // the consent is bound to another purpose
	ReasonGridDenied                                                    // the grid denies the profession this type
	ReasonUnknownProfession                                             // not a known profession (or a regulator who is not a médecin)
	ReasonUnknownType                                                   // not a known document type
	ReasonHiddenFromProfessionals                                       // hidden from professionals
	ReasonHiddenFromPatient                                             // invisible to the patient
	ReasonHiddenFromRepresentatives                                     // invisible to legal representatives
	ReasonDeleted                                                       // deleted: readable by no one
	ReasonNotCurrent                                                    // only a current version can be deposited or replaced
	ReasonNotAuthor                                                     // only the author may do this
	ReasonExclusiveFlags                                                // never both hidden from professionals and invisible to the patient
	ReasonFlagsNotAllowed                                               // this actor may not set that visibility flag
	ReasonTypeNotAllowed                                                // this actor may not deposit that type
	ReasonSpaceNotOpen                                                  // the space is not open (not created, refused, closed)
	ReasonRegulationDisabled                                            // the patient switched centre 15 access off
	ReasonBreakGlassDisabled                                            // the patient switched bris de glace off
	ReasonEmergencyReasonMissing                                        // no recorded reason for the emergency session
	ReasonNoEmergencySession                                            // no emergency session started (or it starts later)
	ReasonRegulationExpired                                             // the centre 15 window is over
	ReasonBreakGlassExpired                                             // the bris de glace window is over
	ReasonAppNotAuthorized                                              // the patient has not authorized this app
	ReasonScopeMissing                                                  // the app lacks the scope
	ReasonCandidateNeverAccessed                                        // the would-be administrator never accessed the record

	reasonCount
)

var reasonNames = [reasonCount]string{
	ReasonNone:               "none",
	ReasonPatient:            "patient",
	ReasonRepresentative:     "representative",
	ReasonConsent:            "consent",
	ReasonTreatingDoctor:     "treating_doctor",
	ReasonAuthor:             "author",
	ReasonAdministrator:      "administrator",
	ReasonRegulation:         "regulation",
	ReasonBreakGlass:         "break_glass",
	ReasonFeeding:            "feeding",
	ReasonConsentDeclaration: "consent_declaration",
	ReasonAppScope:           "app_scope",
	ReasonSystemFeed:         "system_feed",
	reasonFirstDeny:          "",

	ReasonIncomplete:                "incomplete_request",
	ReasonUnknownAction:             "unknown_action",
	ReasonPatientMismatch:           "patient_mismatch",
	ReasonOperator:                  "operator",
	ReasonUnknownActor:              "unknown_actor",
	ReasonNotOwner:                  "not_owner",
	ReasonNotRepresentative:         "not_representative",
	ReasonNotPermitted:              "not_permitted",
	ReasonModeNotAllowed:            "mode_not_allowed",
	ReasonInactive:                  "inactive_professional",
	ReasonBlocked:                   "blocked",
	ReasonStructureBlocked:          "structure_blocked",
	ReasonHideAll:                   "hide_all",
	ReasonNoConsent:                 "no_consent",
	ReasonConsentExpired:            "consent_expired",
	ReasonConsentRevoked:            "consent_revoked",
	ReasonConsentPurpose:            "consent_purpose",
	ReasonGridDenied:                "grid_denied",
	ReasonUnknownProfession:         "unknown_profession",
	ReasonUnknownType:               "unknown_type",
	ReasonHiddenFromProfessionals:   "hidden_from_professionals",
	ReasonHiddenFromPatient:         "hidden_from_patient",
	ReasonHiddenFromRepresentatives: "hidden_from_representatives",
	ReasonDeleted:                   "deleted",
	ReasonNotCurrent:                "not_current",
	ReasonNotAuthor:                 "not_author",
	ReasonExclusiveFlags:            "exclusive_flags",
	ReasonFlagsNotAllowed:           "flags_not_allowed",
	ReasonTypeNotAllowed:            "type_not_allowed",
	ReasonSpaceNotOpen:              "space_not_open",
	ReasonRegulationDisabled:        "regulation_disabled",
	ReasonBreakGlassDisabled:        "break_glass_disabled",
	ReasonEmergencyReasonMissing:    "emergency_reason_missing",
	ReasonNoEmergencySession:        "no_emergency_session",
	ReasonRegulationExpired:         "regulation_expired",
	ReasonBreakGlassExpired:         "break_glass_expired",
	ReasonAppNotAuthorized:          "app_not_authorized",
	ReasonScopeMissing:              "scope_missing",
	ReasonCandidateNeverAccessed:    "administrator_never_accessed",
}

// Allows reports whether the reason grants the request.
func (r Reason) Allows() bool { return r > ReasonNone && r < reasonFirstDeny }

// String returns the reason's stable code.
func (r Reason) String() string {
	if r < reasonCount && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "unknown"
}

// MarshalText returns the reason's code.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a code returned by String.
func (r *Reason) UnmarshalText(b []byte) error {
	v, ok := ParseReason(string(b))
	if !ok {
		return carnet.Errorf(carnet.EINVALID, "motif de décision inconnu : %q", b)
	}
	*r = v
	return nil
}

// ParseReason returns the reason of a code returned by String.
func ParseReason(s string) (Reason, bool) {
	for r := ReasonNone + 1; r < reasonCount; r++ {
		if r != reasonFirstDeny && reasonNames[r] == s {
			return r, true
		}
	}
	return ReasonNone, false
}

// Reasons returns every reason a decision can carry, allowing ones first.
func Reasons() []Reason {
	out := make([]Reason, 0, reasonCount)
	for r := ReasonNone + 1; r < reasonCount; r++ {
		if r != reasonFirstDeny {
			out = append(out, r)
		}
	}
	return out
}

// Decision is the answer of the policy to one request.
type Decision struct {
	Allow  bool
	Reason Reason
	// GridVersion is the version of the grid the policy held when it decided; it is part of the
	// decision's reason (Code) even when the grid was not consulted.
	GridVersion string
}

// Code is the reason and the grid version, as the audit log records them: "consent@2023-10-26.1".
// It allocates; Decide does not call it.
func (d Decision) Code() string { return d.Reason.String() + "@" + d.GridVersion }
