// Package policy decides who may do what in a patient's space. It is pure: Decide reads a
// Request (the actor, the patient's settings, the document, the mode, the clock and the facts
// the service computed) and returns a Decision{Allow, Reason, GridVersion}, with no I/O and no
// allocation. Explain turns a decision into one French sentence for the patient. The
// authorization grid (matrice d'habilitation) is versioned data: ParseGrid, DefaultGrid, Diff.
//
// # How the service calls it
//
//	pol := policy.New(grid, policy.Options{})           // once; swap on `carnet grid load`
//	consent, _ := policy.ConsentInForce(consents, pro.ID, purpose, now)
//	byPro, byStructure := policy.Blocked(blocks, pro.ID, actor.StructureID, now)
//	d := pol.Decide(policy.Request{Action: policy.ActionReadDocument, Actor: actor,
//		Settings: settings, Doc: doc, Mode: mode, Now: now, Facts: policy.Facts{
//			Active: pro.Active, Blocked: byPro, StructureBlocked: byStructure,
//			Consent: consent, Purpose: purpose,
//			EmergencyStart: session.Start, EmergencyReason: session.Reason}})
//	event.Decision, event.Reason = allowOrDeny(d.Allow), d.Code()
//	text := pol.Explain(d, req, policy.ExplainNames{Actor: pro.DisplayName(), Location: paris})
//
// # Order of the rules
//
// Decide denies whatever no rule allows. In order:
//
//  1. A request without an actor, without settings, with an unknown action, or whose document
//     is missing or belongs to another patient is denied.
//  2. The actor's kind: an operator (carnet.ActorOperator) is denied every action, and so is any
//     kind this package does not know, before anything else is looked at. Insurers, employers
//     and banks have no actor kind at all. There is no code path that lets them in.
//  3. Professionals and the regulating doctor: a known profession, then a block of the
//     professional or of their structure (blocks beat everything: consent, médecin traitant,
//     administrator, emergencies), then being active in the directory.
//  4. Documents: a deleted document is open to no one, for any action; a document both hidden
//     from professionals and invisible to the patient is refused (no action can produce one).
//  5. The rules of each kind of actor, below.
//
// # Who may do what
//
// The patient (carnet.ActorPatient, Actor.ID = Settings.PatientID), in their own space: read and
// list every document except those invisible to them (HiddenFromPatient); delete, hide from
// professionals and unhide those same documents; deposit patient documents (class 90), possibly
// hidden from professionals or from representatives, never invisible to themselves; replace a
// current patient-authored document; make a document visible to their legal representatives
// (irreversible: there is no action to hide it from them again); read and edit the medical
// profile, vaccinations, Entourage & Volontés and settings; block and unblock; record and
// withdraw consents; read the history; designate an administrator, who must have accessed the
// record before (Facts.CandidateAccessedBefore). "Hide everything", blocks and consents do not
// concern the patient, and the access mode is ignored.
//
// A legal representative (carnet.ActorRepresentative, with Facts.Representative and
// Facts.PatientMinor): the patient's rights, except that documents invisible to legal
// representatives (a minor's confidential care) stay out of their reach for every action, they
// may not deposit a document hidden from representatives, and they may not make documents
// visible to representatives.
//
// A referenced app (carnet.ActorApp, with Facts.AppAuthorized) acts for the patient, with the
// patient's view of documents, and only within its SMART scopes ("patient/<Resource>.<perms>",
// v1 "read"/"write"/"*" or v2 "cruds"; scopes narrowed by a query are ignored):
// DocumentReference r (read), s (list), c (deposit a patient document); Condition r (medical
// profile); Immunization r and c (vaccinations); RelatedPerson r (Entourage & Volontés).
// Everything else is denied to apps.
//
// A health professional (carnet.ActorProfessional) reads — documents, listing, medical profile,
// vaccinations, Entourage & Volontés — in normal mode with a consent in force (declared for this
// patient, not expired, not withdrawn, and for Facts.Purpose when the consent is purpose-bound),
// or in bris de glace mode (below). "Hide everything" denies every read but the administrator's, emergencies
// included. Then for documents: the declared médecin traitant reads every document, hidden ones
// included, whatever the grid; the author reads what they wrote, whatever the grid; a document
// hidden from professionals is read by no other professional but the administrator; everyone
// else (the administrator included) needs the grid. The profile, vaccinations and Entourage &
// Volontés are not in the grid: every profession reads them.
//
// Outside reading, and in normal mode only, a professional may: deposit professional documents
// (not class 90 patient documents nor class 60 reimbursement data) in their own name, and add
// vaccinations — without consent, since feeding the record is not reading it (as in France);
// replace (if current), delete, hide, unhide, and make visible to legal representatives the
// documents they wrote; make a document visible to the patient after the announcement
// consultation, if they may read it; record or withdraw their own consent. The administrator
// (Settings.AdministratorID) may also hide and unhide documents they did not write, and block a
// professional or a structure; lifting blocks, settings, Entourage & Volontés, the profile (other
// than vaccinations), the history and the designation of the administrator are the patient's.
// A professional may not hide a document that is invisible to the patient.
//
// Emergency modes only read. Bris de glace (carnet.ModeBreakGlass) is for professionals;
// centre 15 (carnet.ModeRegulation) is for the SAMU regulating doctor only
// (carnet.ActorRegulator, a médecin: the médecin rows of the grid apply, with the doctor's
// specialty), who acts in no other mode. Each mode must be left on by the patient
// (Settings.BreakGlassAllowed, Settings.RegulationAllowed; both on by default), needs a recorded
// reason (Facts.EmergencyReason) and an emergency session that started at Facts.EmergencyStart
// and lapses after Options.BreakGlassWindow (default 5 days, as in Australia's record) or
// Options.RegulationWindow (default 24 hours). An emergency stands in for the consent only:
// blocks, "hide everything", hidden documents and the grid still apply.
//
// Carnet's own jobs (carnet.ActorSystem) may only deposit reimbursement data (class 60), with no
// visibility flag. Operators (carnet.ActorOperator) may do nothing here.
//
// # The grid
//
// The grid maps (profession, optional specialty) × document type to a read right. The shipped
// file, grid/grid-2023-10-26.csv, reproduces the public grid of the Arrêté du 26 octobre 2023 as
// far as the sources go and marks its approximations; see its header for the format and the
// precedence of rows. Every decision carries the version of the grid its policy holds.
package policy
