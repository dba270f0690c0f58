package policy

import (
	"time"

	"github.com/carnet-sante/carnet"
)

// Request is everything Decide needs: the policy reads nothing else. The service layer loads the
// facts and passes them in; pointers are read, never written nor kept.
type Request struct {
	Action   Action
	Actor    *carnet.Actor
	Settings *carnet.PatientSettings // the settings of the patient whose space is concerned
	// Doc is the document concerned, for actions whose NeedsDocument is true: for
	// ActionDepositDocument the new document (its type, author and flags), for
	// ActionReplaceDocument the version being replaced. Its PatientID must equal
	// Settings.PatientID.
	Doc  *carnet.Document
	Mode carnet.AccessMode // "" means carnet.ModeNormal
	Now  time.Time         // the transaction's clock
	Facts
}

// Facts are what the service computed about the actor and the patient. Their zero value is the
// most restrictive: a fact that was not computed denies.
type Facts struct {
	// Active: the professional (or regulating doctor) is active in the directory
	// (carnet.Professional.Active). An inactive professional is denied everything.
	Active bool
	// Blocked: a block of this professional is in force; StructureBlocked: a block of the
	// structure they act for (Actor.StructureID) is in force. See the Blocked function.
	Blocked          bool
	StructureBlocked bool
	// Consent is this professional's consent to put forward: the one in force for Purpose if
	// any, else the latest one declared (so that the decision can tell "expired" or "revoked"
	// from "none"); nil when they never declared one. See ConsentInForce. Its PatientID and
	// ProfessionalID must be the patient's and the actor's.
	Consent *carnet.Consent
	// Purpose of the access, matched against a purpose-bound consent (Consent.Purpose): a
	// consent with a purpose covers only accesses with that same purpose.
	Purpose string
	// EmergencyStart and EmergencyReason describe the emergency session (centre 15 or bris de
	// glace): when it started and the reason the professional recorded.
	EmergencyStart  time.Time
	EmergencyReason string
	// Representative: the actor is a legal representative of the patient (the parent who holds
	// the rights: Patient.RightsHolderID). PatientMinor: the patient is under 18 at Now.
	// A representative acts only while both hold.
	Representative bool
	PatientMinor   bool
	// AppAuthorized: the patient authorized this referenced app and the authorization is in
	// force.
	AppAuthorized bool
	// CandidateAccessedBefore, for ActionSetAdministrator only: the professional to be
	// designated has accessed the record before.
	CandidateAccessedBefore bool
}
