package policy

import (
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// Default lengths of the emergency windows, counted from Facts.EmergencyStart.
const (
	// DefaultBreakGlassWindow bounds a bris de glace session, as Australia's record does.
	DefaultBreakGlassWindow = 5 * 24 * time.Hour
	// DefaultRegulationWindow bounds a centre 15 session: a regulation call lasts minutes, the
	// patient's care that follows it a day at most.
	DefaultRegulationWindow = 24 * time.Hour
)

// Codes the rules name.
const (
	professionMedecin  carnet.Profession = "10"
	classPatient       carnet.DocClass   = "90"
	classReimbursement carnet.DocClass   = "60"
)

// Options configure a Policy. Zero values take the defaults.
type Options struct {
	BreakGlassWindow time.Duration // 0: DefaultBreakGlassWindow
	RegulationWindow time.Duration // 0: DefaultRegulationWindow
}

// Policy decides requests against one grid and one set of options. It is immutable and safe for
// concurrent use; to load a new grid at run time, build a new Policy (WithGrid) and swap it in.
type Policy struct {
	grid       *Grid
	breakGlass time.Duration
	regulation time.Duration
}

// New returns a policy over grid g (DefaultGrid when nil).
func New(g *Grid, o Options) *Policy {
	if g == nil {
		g = DefaultGrid()
	}
	if o.BreakGlassWindow <= 0 {
		o.BreakGlassWindow = DefaultBreakGlassWindow
	}
	if o.RegulationWindow <= 0 {
		o.RegulationWindow = DefaultRegulationWindow
	}
	return &Policy{grid: g, breakGlass: o.BreakGlassWindow, regulation: o.RegulationWindow}
}

// Grid returns the policy's grid.
func (p *Policy) Grid() *Grid { return p.grid }

// WithGrid returns a copy of the policy that decides with grid g.
func (p *Policy) WithGrid(g *Grid) *Policy {
	q := *p
	q.grid = g
	return &q
}

// EmergencyDeadline returns when an emergency session of that mode started at start lapses
// (zero for ModeNormal), for the service to show the mode "for the whole session".
func (p *Policy) EmergencyDeadline(mode carnet.AccessMode, start time.Time) time.Time {
	switch mode {
	case carnet.ModeBreakGlass:
		return start.Add(p.breakGlass)
	case carnet.ModeRegulation:
		return start.Add(p.regulation)
	}
	return time.Time{}
}

// Decide answers one request. It is pure (no I/O, no clock: Request.Now), does not allocate, and
// denies whatever it does not explicitly allow. The package documentation lists the rules.
func (p *Policy) Decide(req Request) Decision {
	r := p.decide(&req)
	return Decision{Allow: r.Allows(), Reason: r, GridVersion: p.grid.version}
}

func (p *Policy) decide(r *Request) Reason {
	if r.Actor == nil {
		return ReasonIncomplete
	}
	switch r.Actor.Kind {
	case carnet.ActorPatient, carnet.ActorRepresentative, carnet.ActorProfessional,
		carnet.ActorRegulator, carnet.ActorApp, carnet.ActorSystem:
	case carnet.ActorOperator:
		// Operators never read nor write health content: no rule below is reachable by them.
		return ReasonOperator
	default:
		return ReasonUnknownActor
	}
	if reason := checkRequest(r); reason != ReasonNone {
		return reason
	}
	switch r.Actor.Kind {
	case carnet.ActorPatient:
		return decidePatient(r)
	case carnet.ActorRepresentative:
		return decideRepresentative(r)
	case carnet.ActorProfessional:
		return p.decideProfessional(r)
	case carnet.ActorRegulator:
		return p.decideRegulator(r)
	case carnet.ActorApp:
		return decideApp(r)
	case carnet.ActorSystem:
		return decideSystem(r)
	}
	return ReasonUnknownActor
}

// checkRequest checks that the request is complete and consistent. It works on Decide's copy of
// the request.
func checkRequest(r *Request) Reason {
	switch {
	case r.Settings == nil || r.Settings.PatientID == "":
		return ReasonIncomplete
	case !r.Action.valid():
		return ReasonUnknownAction
	case !r.Action.NeedsDocument():
		r.Doc = nil // a document passed with another action plays no part (r is Decide's copy)
		return ReasonNone
	case r.Doc == nil:
		return ReasonIncomplete
	case r.Doc.PatientID != r.Settings.PatientID:
		return ReasonPatientMismatch
	}
	return ReasonNone
}

// docState denies every action on a deleted document, and on a document that is both hidden from
// professionals and invisible to the patient (which no action can produce).
func docState(d *carnet.Document) Reason {
	switch {
	case d == nil:
		return ReasonNone
	case d.Status == carnet.DocDeleted:
		return ReasonDeleted
	case d.HiddenFromProfessionals && d.HiddenFromPatient:
		return ReasonExclusiveFlags
	}
	return ReasonNone
}

func isCurrent(d *carnet.Document) bool { return d.Status == "" || d.Status == carnet.DocCurrent }

func modeOf(r *Request) carnet.AccessMode {
	if r.Mode == "" {
		return carnet.ModeNormal
	}
	return r.Mode
}

// The patient's side: the patient, a legal representative, an app acting for the patient.

// side says who acts for the patient.
type side uint8

const (
	sideOwner side = iota
	sideRepresentative
	sideApp
)

func decidePatient(r *Request) Reason {
	if r.Actor.ID == "" || r.Actor.ID != r.Settings.PatientID {
		return ReasonNotOwner
	}
	return patientSide(r, sideOwner, ReasonPatient)
}

func decideRepresentative(r *Request) Reason {
	if r.Actor.ID == "" || !r.Representative || !r.PatientMinor {
		return ReasonNotRepresentative
	}
	return patientSide(r, sideRepresentative, ReasonRepresentative)
}

// patientSide applies the rules of the patient's own side. The access mode is a professional's
// notion and is ignored here; "hide everything", blocks and consents do not concern this side.
func patientSide(r *Request, s side, allow Reason) Reason {
	if reason := docState(r.Doc); reason != ReasonNone {
		return reason
	}
	d := r.Doc
	switch r.Action {
	case ActionReadDocument, ActionListDocument, ActionDeleteDocument, ActionHideDocument,
		ActionUnhideDocument:
		return visibleTo(d, s, allow)
	case ActionReplaceDocument:
		if reason := visibleTo(d, s, allow); !reason.Allows() {
			return reason
		}
		if d.AuthorKind != carnet.AuthorPatient {
			return ReasonNotAuthor
		}
		if !isCurrent(d) {
			return ReasonNotCurrent
		}
		return allow
	case ActionDepositDocument:
		return patientDeposit(d, s, allow)
	case ActionRevealToRepresentatives:
		if s != sideOwner {
			return ReasonNotPermitted
		}
		return visibleTo(d, s, allow)
	case ActionSetAdministrator:
		if !r.CandidateAccessedBefore {
			return ReasonCandidateNeverAccessed
		}
		return allow
	case ActionReadProfile, ActionWriteProfile, ActionReadVaccinations, ActionAddVaccination,
		ActionReadWishes, ActionWriteWishes, ActionWriteSettings, ActionBlock, ActionUnblock,
		ActionDeclareConsent, ActionRevokeConsent, ActionReadHistory:
		return allow
	}
	return ReasonNotPermitted // ActionRevealToPatient: a professional's act
}

// visibleTo says whether the patient's side sees document d.
func visibleTo(d *carnet.Document, s side, allow Reason) Reason {
	if d.HiddenFromPatient {
		return ReasonHiddenFromPatient
	}
	if s == sideRepresentative && d.HiddenFromRepresentatives {
		return ReasonHiddenFromRepresentatives
	}
	return allow
}

// patientDeposit: the patient's side deposits patient documents (class 90) only, never
// invisible to the patient; a representative cannot hide a document from representatives.
func patientDeposit(d *carnet.Document, s side, allow Reason) Reason {
	class := typeClass(d.TypeCode)
	switch {
	case !isCurrent(d):
		return ReasonNotCurrent
	case class == "":
		return ReasonUnknownType
	case class != classPatient:
		return ReasonTypeNotAllowed
	case d.AuthorKind != carnet.AuthorPatient:
		return ReasonNotAuthor
	case d.HiddenFromPatient, s == sideRepresentative && d.HiddenFromRepresentatives:
		return ReasonFlagsNotAllowed
	}
	return allow
}

// decideApp: a referenced app acts for the patient, within the scopes the patient granted.
func decideApp(r *Request) Reason {
	if !r.AppAuthorized {
		return ReasonAppNotAuthorized
	}
	resource, perm := appScope(r.Action)
	if resource == "" {
		return ReasonNotPermitted
	}
	if !hasScope(r.Actor.Scopes, resource, perm) {
		return ReasonScopeMissing
	}
	return patientSide(r, sideApp, ReasonAppScope)
}

// appScope maps an action to the SMART resource and permission it needs; "" when no app may do
// it.
func appScope(a Action) (resource string, perm byte) {
	switch a {
	case ActionReadDocument:
		return "DocumentReference", 'r'
	case ActionListDocument:
		return "DocumentReference", 's'
	case ActionDepositDocument:
		return "DocumentReference", 'c'
	case ActionReadProfile:
		return "Condition", 'r'
	case ActionReadVaccinations:
		return "Immunization", 'r'
	case ActionAddVaccination:
		return "Immunization", 'c'
	case ActionReadWishes:
		return "RelatedPerson", 'r'
	}
	return "", 0
}

// hasScope reports whether a patient-context SMART scope grants perm on resource:
// "patient/DocumentReference.rs" (v2) or "patient/DocumentReference.read" (v1), or a "*"
// resource. Scopes narrowed by a query ("?category=...") are not honoured.
func hasScope(scopes []string, resource string, perm byte) bool {
	for _, s := range scopes {
		rest, ok := strings.CutPrefix(s, "patient/")
		if !ok || strings.IndexByte(rest, '?') >= 0 {
			continue
		}
		res, perms, ok := strings.Cut(rest, ".")
		if ok && (res == resource || res == "*") && permits(perms, perm) {
			return true
		}
	}
	return false
}

// permits reads SMART permissions: v1 "read", "write", "*"; v2 letters of "cruds" in order.
func permits(perms string, perm byte) bool {
	switch perms {
	case "*":
		return true
	case "read":
		return perm == 'r' || perm == 's'
	case "write":
		return perm == 'c' || perm == 'u' || perm == 'd'
	}
	const order = "cruds"
	last, found := -1, false
	for i := 0; i < len(perms); i++ {
		at := strings.IndexByte(order, perms[i])
		if at <= last {
			return false
		}
		last = at
		found = found || perms[i] == perm
	}
	return found
}

// decideSystem: Carnet's own jobs only feed reimbursement data (class 60).
func decideSystem(r *Request) Reason {
	if r.Action != ActionDepositDocument {
		return ReasonNotPermitted
	}
	d := r.Doc
	if reason := docState(d); reason != ReasonNone {
		return reason
	}
	class := typeClass(d.TypeCode)
	switch {
	case !isCurrent(d):
		return ReasonNotCurrent
	case class == "":
		return ReasonUnknownType
	case class != classReimbursement:
		return ReasonTypeNotAllowed
	case d.AuthorKind != carnet.AuthorSystem:
		return ReasonNotAuthor
	case d.HiddenFromProfessionals || d.HiddenFromPatient || d.HiddenFromRepresentatives:
		return ReasonFlagsNotAllowed
	}
	return ReasonSystemFeed
}

// Professionals and the regulating doctor.

func (p *Policy) decideProfessional(r *Request) Reason {
	pi := professionIndex(r.Actor.Profession)
	if pi < 0 {
		return ReasonUnknownProfession
	}
	if reason := standing(r); reason != ReasonNone {
		return reason
	}
	mode := modeOf(r)
	if mode != carnet.ModeNormal && mode != carnet.ModeBreakGlass {
		return ReasonModeNotAllowed // centre 15 is the regulator's
	}
	return p.clinician(r, pi, mode)
}

// decideRegulator: the SAMU regulating doctor (a médecin) only reads, in centre 15 mode.
func (p *Policy) decideRegulator(r *Request) Reason {
	if r.Actor.Profession != "" && r.Actor.Profession != professionMedecin {
		return ReasonUnknownProfession
	}
	if reason := standing(r); reason != ReasonNone {
		return reason
	}
	if modeOf(r) != carnet.ModeRegulation {
		return ReasonModeNotAllowed
	}
	if !r.Action.ReadsHealthContent() {
		return ReasonNotPermitted
	}
	return p.clinician(r, professionIndex(professionMedecin), carnet.ModeRegulation)
}

// standing: blocks beat everything, then the directory.
func standing(r *Request) Reason {
	switch {
	case r.Actor.ID == "":
		return ReasonIncomplete
	case r.Blocked:
		return ReasonBlocked
	case r.StructureBlocked:
		return ReasonStructureBlocked
	case !r.Active:
		return ReasonInactive
	}
	return ReasonNone
}

func isTreatingDoctor(r *Request) bool {
	return r.Actor.ID != "" && r.Settings.TreatingDoctorID == r.Actor.ID
}

func isAdministrator(r *Request) bool {
	return r.Actor.ID != "" && r.Settings.AdministratorID == r.Actor.ID
}

func isAuthor(r *Request) bool {
	d := r.Doc
	return d != nil && d.AuthorKind == carnet.AuthorProfessional && d.AuthorID != "" &&
		d.AuthorID == r.Actor.ID
}

func (p *Policy) clinician(r *Request, pi int, mode carnet.AccessMode) Reason {
	if reason := docState(r.Doc); reason != ReasonNone {
		return reason
	}
	switch r.Action {
	case ActionReadDocument, ActionListDocument:
		return p.readDocument(r, pi, mode)
	case ActionReadProfile, ActionReadVaccinations, ActionReadWishes:
		return p.readSpace(r, mode)
	}
	if mode != carnet.ModeNormal {
		return ReasonModeNotAllowed // emergency modes only read
	}
	return p.professionalWrite(r, pi)
}

// basis is what lets a professional in at all: a consent in force in normal mode, an open
// emergency session in the emergency modes.
func (p *Policy) basis(r *Request, mode carnet.AccessMode) Reason {
	switch mode {
	case carnet.ModeNormal:
		if r.Consent != nil && r.Consent.PatientID != r.Settings.PatientID {
			return ReasonNoConsent // another patient's consent
		}
		if reason := consentCheck(r.Consent, r.Actor.ID, r.Purpose, r.Now); reason != ReasonNone {
			return reason
		}
		return ReasonConsent
	case carnet.ModeBreakGlass:
		if !r.Settings.BreakGlassAllowed {
			return ReasonBreakGlassDisabled
		}
		return emergencySession(r, p.breakGlass, ReasonBreakGlassExpired, ReasonBreakGlass)
	case carnet.ModeRegulation:
		if !r.Settings.RegulationAllowed {
			return ReasonRegulationDisabled
		}
		return emergencySession(r, p.regulation, ReasonRegulationExpired, ReasonRegulation)
	}
	return ReasonModeNotAllowed
}

func emergencySession(r *Request, window time.Duration, expired, allow Reason) Reason {
	switch {
	case strings.TrimSpace(r.EmergencyReason) == "":
		return ReasonEmergencyReasonMissing
	case r.EmergencyStart.IsZero() || r.Now.Before(r.EmergencyStart):
		return ReasonNoEmergencySession
	case !r.Now.Before(r.EmergencyStart.Add(window)):
		return expired
	}
	return allow
}

// readDocument: hide everything, then the basis, then who the reader is, the hidden flag and the
// grid.
func (p *Policy) readDocument(r *Request, pi int, mode carnet.AccessMode) Reason {
	d := r.Doc
	admin := isAdministrator(r)
	if r.Settings.HideAll && !admin {
		return ReasonHideAll
	}
	basis := p.basis(r, mode)
	if !basis.Allows() {
		return basis
	}
	ti := typeIndex(d.TypeCode)
	if ti < 0 {
		return ReasonUnknownType
	}
	normal := mode == carnet.ModeNormal
	switch {
	case isTreatingDoctor(r): // reads everything, hidden documents included
		return pick(normal, ReasonTreatingDoctor, basis)
	case isAuthor(r): // reads what they wrote, whatever the grid
		return pick(normal, ReasonAuthor, basis)
	case d.HiddenFromProfessionals && !admin:
		return ReasonHiddenFromProfessionals
	case !p.grid.allows(pi, r.Actor.Specialty, ti):
		return ReasonGridDenied
	case admin && (d.HiddenFromProfessionals || r.Settings.HideAll):
		return pick(normal, ReasonAdministrator, basis)
	}
	return basis
}

// readSpace: the medical profile, vaccinations, Entourage & Volontés; no grid.
func (p *Policy) readSpace(r *Request, mode carnet.AccessMode) Reason {
	admin := isAdministrator(r)
	if r.Settings.HideAll && !admin {
		return ReasonHideAll
	}
	basis := p.basis(r, mode)
	if !basis.Allows() || mode != carnet.ModeNormal {
		return basis
	}
	switch {
	case isTreatingDoctor(r):
		return ReasonTreatingDoctor
	case admin && r.Settings.HideAll:
		return ReasonAdministrator
	}
	return basis
}

// pick names the role in normal mode and the emergency mode otherwise.
func pick(normal bool, role, basis Reason) Reason {
	if normal {
		return role
	}
	return basis
}

// professionalWrite: the actions of a professional in normal mode other than reading.
func (p *Policy) professionalWrite(r *Request, pi int) Reason {
	d := r.Doc
	switch r.Action {
	case ActionDepositDocument:
		return professionalDeposit(r)
	case ActionAddVaccination:
		return ReasonFeeding
	case ActionReplaceDocument:
		if !isAuthor(r) {
			return ReasonNotAuthor
		}
		if !isCurrent(d) {
			return ReasonNotCurrent
		}
		return ReasonAuthor
	case ActionDeleteDocument, ActionRevealToRepresentatives:
		if !isAuthor(r) {
			return ReasonNotAuthor
		}
		return ReasonAuthor
	case ActionHideDocument, ActionUnhideDocument:
		if r.Action == ActionHideDocument && d.HiddenFromPatient {
			return ReasonExclusiveFlags
		}
		if isAuthor(r) {
			return ReasonAuthor
		}
		if isAdministrator(r) {
			return ReasonAdministrator
		}
		return ReasonNotAuthor
	case ActionRevealToPatient:
		// After the announcement consultation, by a professional who may read the document.
		return p.readDocument(r, pi, carnet.ModeNormal)
	case ActionBlock:
		if isAdministrator(r) {
			return ReasonAdministrator
		}
		return ReasonNotPermitted
	case ActionDeclareConsent, ActionRevokeConsent:
		return ReasonConsentDeclaration
	}
	return ReasonNotPermitted
}

// professionalDeposit: professional documents only (not patient documents nor reimbursement
// data), in the professional's own name; no consent needed.
func professionalDeposit(r *Request) Reason {
	d := r.Doc
	class := typeClass(d.TypeCode)
	switch {
	case !isCurrent(d):
		return ReasonNotCurrent
	case class == "":
		return ReasonUnknownType
	case class == classPatient || class == classReimbursement:
		return ReasonTypeNotAllowed
	case !isAuthor(r):
		return ReasonNotAuthor
	}
	return ReasonFeeding
}
