package carnet

import "time"

// ActorKind is who is acting.
type ActorKind string

const (
	ActorPatient        ActorKind = "patient"        // the owner of the space
	ActorRepresentative ActorKind = "representative" // a legal representative (parent of a minor)
	ActorProfessional   ActorKind = "professional"   // a health professional
	ActorRegulator      ActorKind = "regulator"      // the SAMU regulating doctor (centre 15)
	ActorApp            ActorKind = "app"            // a referenced app, with scopes
	ActorOperator       ActorKind = "operator"       // the insurance fund's operator: never reads health content
	ActorSystem         ActorKind = "system"         // Carnet itself (jobs)
)

// AccessMode is the mode of a professional's access.
type AccessMode string

const (
	ModeNormal     AccessMode = "normal"
	ModeRegulation AccessMode = "centre15" // SAMU regulation
	ModeBreakGlass AccessMode = "bris_de_glace"
)

// Label returns the French label of the mode.
func (m AccessMode) Label() string {
	switch m {
	case ModeRegulation:
		return "centre 15"
	case ModeBreakGlass:
		return "bris de glace"
	}
	return "normal"
}

// Actor is the authenticated caller of a use case, as the API, pages, jobs and CLI build it.
type Actor struct {
	Kind          ActorKind
	ID            string // patient, professional, app or operator ID
	Name          string
	Profession    Profession // professionals
	Specialty     string     // professionals
	StructureID   string     // professionals: the structure they act for
	StructureName string
	Scopes        []string // apps
	RequestID     string
	// The emergency session of a professional, as the authentication layer carries it: the mode,
	// the reason given when entering it and when it started. ModeNormal (or "") otherwise.
	Mode       AccessMode
	ModeReason string
	ModeSince  time.Time
	// OnBehalfOf is the patient a legal representative acts for.
	OnBehalfOf string
}

// ConsentKind is how the patient gave consent to a professional.
type ConsentKind string

const (
	ConsentOral    ConsentKind = "oral"
	ConsentWritten ConsentKind = "written"
)

// Consent is a professional's declaration that the patient consented to their access. It may be
// time-boxed (ExpiresAt) and bound to a purpose.
type Consent struct {
	ID             string
	PatientID      string
	ProfessionalID string
	Kind           ConsentKind
	Purpose        string // free text or a purpose code ("soins", ...), optional
	DeclaredAt     time.Time
	ExpiresAt      *time.Time
	RevokedAt      *time.Time
}

// ActiveAt reports whether the consent is in force at t.
func (c *Consent) ActiveAt(t time.Time) bool {
	if c.RevokedAt != nil && !c.RevokedAt.After(t) {
		return false
	}
	if c.ExpiresAt != nil && !c.ExpiresAt.After(t) {
		return false
	}
	return !c.DeclaredAt.After(t)
}

// Block is the patient's refusal of access by a professional, or by every professional of a
// structure (StructureID set, ProfessionalID empty).
type Block struct {
	ID             string
	PatientID      string
	ProfessionalID string
	StructureID    string
	CreatedAt      time.Time
	RemovedAt      *time.Time
}

// PatientSettings are the access choices of a patient.
type PatientSettings struct {
	PatientID         string
	HideAll           bool // "tout masquer": only the patient and the administrator read
	RegulationAllowed bool // centre 15 access allowed (default true)
	BreakGlassAllowed bool // bris de glace access allowed (default true)
	TreatingDoctorID  string
	AdministratorID   string
	// Notification channels chosen by the patient, per kind of event: "email", "sms", "none".
	NotifyAccess    string
	NotifyAction    string
	NotifyEmergency string
	UpdatedAt       time.Time
}

// DefaultSettings returns the settings of a patient who changed nothing.
func DefaultSettings(patientID string) PatientSettings {
	return PatientSettings{
		PatientID:         patientID,
		RegulationAllowed: true,
		BreakGlassAllowed: true,
		NotifyAccess:      "email",
		NotifyAction:      "email",
		NotifyEmergency:   "email",
	}
}

// EmergencySession is a professional's open emergency access to a patient's record: every
// request of theirs on that record until EndsAt is made in Mode, with Reason recorded.
type EmergencySession struct {
	PatientID      string
	ProfessionalID string
	Mode           AccessMode
	Reason         string
	StartedAt      time.Time
	EndsAt         time.Time
}
