package policy

import (
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// One table per rule of issue 3, each with both outcomes.

func TestRuleConsent(t *testing.T) {
	read := func(c *carnet.Consent, mods ...func(*Request)) Request {
		r := proRequest(ActionReadDocument, "10", document("11488-4"))
		r.Consent = c
		for _, m := range mods {
			m(&r)
		}
		return r
	}
	purpose := func(p string) func(*Request) { return func(r *Request) { r.Purpose = p } }
	runRuleCases(t, testPolicy, []ruleCase{
		{"oral consent in force", read(consentOf(proID)), ReasonConsent},
		{"written consent in force", read(consentOf(proID, func(c *carnet.Consent) { c.Kind = carnet.ConsentWritten })), ReasonConsent},
		{"no consent", read(nil), ReasonNoConsent},
		{"another professional's consent", read(consentOf(otherProID)), ReasonNoConsent},
		{"another patient's consent", read(consentOf(proID, func(c *carnet.Consent) { c.PatientID = "pat-2" })), ReasonNoConsent},
		{"a consent without patient", read(consentOf(proID, func(c *carnet.Consent) { c.PatientID = "" })), ReasonNoConsent},
		{"consent declared later", read(consentOf(proID, func(c *carnet.Consent) { c.DeclaredAt = now.Add(time.Hour) })), ReasonNoConsent},
		{"consent without date", read(consentOf(proID, func(c *carnet.Consent) { c.DeclaredAt = time.Time{} })), ReasonNoConsent},
		{"time-boxed consent before expiry", read(consentOf(proID, func(c *carnet.Consent) { c.ExpiresAt = ptr(now.Add(time.Second)) })), ReasonConsent},
		{"time-boxed consent at expiry", read(consentOf(proID, func(c *carnet.Consent) { c.ExpiresAt = ptr(now) })), ReasonConsentExpired},
		{"revoked consent", read(consentOf(proID, func(c *carnet.Consent) { c.RevokedAt = ptr(now.Add(-time.Hour)) })), ReasonConsentRevoked},
		{"revocation scheduled later", read(consentOf(proID, func(c *carnet.Consent) { c.RevokedAt = ptr(now.Add(time.Hour)) })), ReasonConsent},
		{"purpose-bound consent, same purpose", read(consentOf(proID, func(c *carnet.Consent) { c.Purpose = "soins" }), purpose("soins")), ReasonConsent},
		{"purpose-bound consent, other purpose", read(consentOf(proID, func(c *carnet.Consent) { c.Purpose = "soins" }), purpose("recherche")), ReasonConsentPurpose},
		{"purpose-bound consent, no purpose given", read(consentOf(proID, func(c *carnet.Consent) { c.Purpose = "soins" })), ReasonConsentPurpose},
		{"consent without purpose covers any purpose", read(consentOf(proID), purpose("recherche")), ReasonConsent},
		{"no consent, bris de glace", breakGlass(read(nil)), ReasonBreakGlass},
		{"no consent, profile", func() Request { r := read(nil); r.Action, r.Doc = ActionReadProfile, nil; return r }(), ReasonNoConsent},
		{"consent, profile", func() Request { r := read(consentOf(proID)); r.Action, r.Doc = ActionReadProfile, nil; return r }(), ReasonConsent},
		{"no consent, regulation", regulation(ActionReadDocument, document("11488-4")), ReasonRegulation},
	})
}

func TestRuleTreatingDoctor(t *testing.T) {
	td := func(r Request) Request {
		s := *r.Settings
		s.TreatingDoctorID = proID
		r.Settings = &s
		return r
	}
	hideAll := func(r Request) Request { r.Settings.HideAll = true; return r }
	runRuleCases(t, testPolicy, []ruleCase{
		{"reads a document", td(proRequest(ActionReadDocument, "10", document("11488-4"))), ReasonTreatingDoctor},
		{"reads a hidden document", td(proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros))), ReasonTreatingDoctor},
		{"reads what the grid denies médecins", td(proRequest(ActionReadDocument, "10", document("ATTEST-RESID"))), ReasonTreatingDoctor},
		{"lists a hidden document", td(proRequest(ActionListDocument, "10", document("11526-1", hiddenFromPros))), ReasonTreatingDoctor},
		{"reads the profile", td(proRequest(ActionReadProfile, "10", nil)), ReasonTreatingDoctor},
		{"another médecin: hidden document", proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros)), ReasonHiddenFromProfessionals},
		{"another médecin: ATTEST-RESID", proRequest(ActionReadDocument, "10", document("ATTEST-RESID")), ReasonGridDenied},
		{"still needs a consent", func() Request {
			r := td(proRequest(ActionReadDocument, "10", document("11488-4")))
			r.Consent = nil
			return r
		}(), ReasonNoConsent},
		{"hide everything beats it", hideAll(td(proRequest(ActionReadDocument, "10", document("11488-4")))), ReasonHideAll},
		{"deleted stays deleted", td(proRequest(ActionReadDocument, "10", document("11488-4", deleted))), ReasonDeleted},
		{"bris de glace, hidden document", breakGlass(td(proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros)))), ReasonBreakGlass},
	})
}

func TestRuleBlocked(t *testing.T) {
	blocks := []*carnet.Block{{ID: "b-1", PatientID: patientID, ProfessionalID: proID, CreatedAt: consentAt.Add(time.Hour)}}
	withBlocks := func(r Request, bs []*carnet.Block) Request {
		r.Blocked, r.StructureBlocked = Blocked(bs, r.Actor.ID, r.Actor.StructureID, r.Now)
		return r
	}
	unblocked := []*carnet.Block{{ID: "b-1", PatientID: patientID, ProfessionalID: proID, CreatedAt: consentAt.Add(time.Hour), RemovedAt: ptr(now.Add(-time.Minute))}}
	structure := []*carnet.Block{{ID: "b-2", PatientID: patientID, StructureID: structureID}}
	read := proRequest(ActionReadDocument, "10", document("11488-4"))
	asTD := func(r Request) Request {
		s := *r.Settings
		s.TreatingDoctorID, s.AdministratorID = proID, proID
		r.Settings = &s
		return r
	}
	runRuleCases(t, testPolicy, []ruleCase{
		{"not blocked", withBlocks(read, nil), ReasonConsent},
		{"blocked despite consent", withBlocks(read, blocks), ReasonBlocked},
		{"blocked in bris de glace", withBlocks(breakGlass(read), blocks), ReasonBlocked},
		{"blocked médecin traitant and administrator", withBlocks(asTD(read), blocks), ReasonBlocked},
		{"blocked author of the document", withBlocks(proRequest(ActionReadDocument, "10", document("11488-4", byActor)), blocks), ReasonBlocked},
		{"blocked: no deposit either", withBlocks(proRequest(ActionDepositDocument, "10", document("11488-4", byActor)), blocks), ReasonBlocked},
		{"blocked: no consent declaration", withBlocks(proRequest(ActionDeclareConsent, "10", nil), blocks), ReasonBlocked},
		{"unblocked: the earlier consent applies again", withBlocks(read, unblocked), ReasonConsent},
		{"unblocked médecin traitant reads hidden documents again", withBlocks(asTD(proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros))), unblocked), ReasonTreatingDoctor},
		{"block of another professional", withBlocks(read, []*carnet.Block{{ProfessionalID: otherProID}}), ReasonConsent},
		{"structure blocked", withBlocks(read, structure), ReasonStructureBlocked},
		{"structure blocked, bris de glace", withBlocks(breakGlass(read), structure), ReasonStructureBlocked},
		{"another structure blocked", withBlocks(read, []*carnet.Block{{StructureID: "finess-2"}}), ReasonConsent},
		{"regulator blocked", func() Request { r := regulation(ActionReadDocument, document("11488-4")); r.Blocked = true; return r }(), ReasonBlocked},
		{"regulator not blocked", regulation(ActionReadDocument, document("11488-4")), ReasonRegulation},
	})
}

func TestRuleHiddenFromProfessionals(t *testing.T) {
	hidden := document("11488-4", hiddenFromPros)
	as := func(r Request, treating, admin string) Request {
		s := *r.Settings
		s.TreatingDoctorID, s.AdministratorID = treating, admin
		r.Settings = &s
		return r
	}
	runRuleCases(t, testPolicy, []ruleCase{
		{"another professional", proRequest(ActionReadDocument, "10", hidden), ReasonHiddenFromProfessionals},
		{"another professional lists it", proRequest(ActionListDocument, "10", hidden), ReasonHiddenFromProfessionals},
		{"another professional, bris de glace", breakGlass(proRequest(ActionReadDocument, "10", hidden)), ReasonHiddenFromProfessionals},
		{"the regulator", regulation(ActionReadDocument, hidden), ReasonHiddenFromProfessionals},
		{"its author", proRequest(ActionReadDocument, "70", document("11502-2", hiddenFromPros, byActor)), ReasonAuthor},
		{"the médecin traitant", as(proRequest(ActionReadDocument, "10", hidden), proID, ""), ReasonTreatingDoctor},
		{"the administrator", as(proRequest(ActionReadDocument, "10", hidden), "", proID), ReasonAdministrator},
		{"the administrator still needs the grid", as(proRequest(ActionReadDocument, "70", document("11502-2", hiddenFromPros)), "", proID), ReasonGridDenied},
		{"the patient", patientRequest(ActionReadDocument, hidden), ReasonPatient},
		{"not hidden", proRequest(ActionReadDocument, "10", document("11488-4")), ReasonConsent},
	})
}

func TestRuleHideAll(t *testing.T) {
	hideAll := func(r Request) Request {
		s := *r.Settings
		s.HideAll = true
		r.Settings = &s
		return r
	}
	admin := func(r Request) Request { r.Settings.AdministratorID = r.Actor.ID; return r }
	treating := func(r Request) Request { r.Settings.TreatingDoctorID = r.Actor.ID; return r }
	doc := document("11488-4")
	runRuleCases(t, testPolicy, []ruleCase{
		{"the patient", hideAll(patientRequest(ActionReadDocument, doc)), ReasonPatient},
		{"the representative", hideAll(representativeRequest(ActionReadDocument, doc)), ReasonRepresentative},
		{"the administrator", admin(hideAll(proRequest(ActionReadDocument, "10", doc))), ReasonAdministrator},
		{"the administrator, profile", admin(hideAll(proRequest(ActionReadProfile, "10", nil))), ReasonAdministrator},
		{"the administrator, bris de glace", admin(hideAll(breakGlass(proRequest(ActionReadDocument, "10", doc)))), ReasonBreakGlass},
		{"a professional with consent", hideAll(proRequest(ActionReadDocument, "10", doc)), ReasonHideAll},
		{"the médecin traitant", treating(hideAll(proRequest(ActionReadDocument, "10", doc))), ReasonHideAll},
		{"the author", hideAll(proRequest(ActionReadDocument, "10", document("11488-4", byActor))), ReasonHideAll},
		{"bris de glace", hideAll(breakGlass(proRequest(ActionReadDocument, "10", doc))), ReasonHideAll},
		{"centre 15", hideAll(regulation(ActionReadDocument, doc)), ReasonHideAll},
		{"vaccinations", hideAll(proRequest(ActionReadVaccinations, "60", nil)), ReasonHideAll},
		{"Entourage & Volontés in bris de glace", hideAll(breakGlass(proRequest(ActionReadWishes, "10", nil))), ReasonHideAll},
		{"deposit still allowed", hideAll(proRequest(ActionDepositDocument, "10", document("11488-4", byActor))), ReasonFeeding},
		{"off", proRequest(ActionReadDocument, "10", doc), ReasonConsent},
	})
}

func TestRuleEmergencyModes(t *testing.T) {
	read := proRequest(ActionReadDocument, "10", document("11488-4"))
	bg := breakGlass(read)
	with := func(r Request, f func(*Request)) Request {
		s := *r.Settings
		r.Settings = &s
		f(&r)
		return r
	}
	short := New(nil, Options{BreakGlassWindow: time.Hour, RegulationWindow: time.Minute})
	cases := []ruleCase{
		// bris de glace
		{"bris de glace", bg, ReasonBreakGlass},
		{"bris de glace switched off", with(bg, func(r *Request) { r.Settings.BreakGlassAllowed = false }), ReasonBreakGlassDisabled},
		{"bris de glace switched off, even with consent", with(bg, func(r *Request) { r.Settings.BreakGlassAllowed = false; r.Consent = consentOf(proID) }), ReasonBreakGlassDisabled},
		{"bris de glace without reason", with(bg, func(r *Request) { r.EmergencyReason = "  " }), ReasonEmergencyReasonMissing},
		{"bris de glace without session", with(bg, func(r *Request) { r.EmergencyStart = time.Time{} }), ReasonNoEmergencySession},
		{"bris de glace session starting later", with(bg, func(r *Request) { r.EmergencyStart = now.Add(time.Minute) }), ReasonNoEmergencySession},
		{"bris de glace just before 5 days", with(bg, func(r *Request) { r.EmergencyStart = now.Add(-DefaultBreakGlassWindow + time.Nanosecond) }), ReasonBreakGlass},
		{"bris de glace after 5 days", with(bg, func(r *Request) { r.EmergencyStart = now.Add(-DefaultBreakGlassWindow) }), ReasonBreakGlassExpired},
		{"bris de glace: the grid still applies", breakGlass(proRequest(ActionReadDocument, "70", document("11502-2"))), ReasonGridDenied},
		{"bris de glace: read the profile", breakGlass(proRequest(ActionReadProfile, "60", nil)), ReasonBreakGlass},
		{"bris de glace: read Entourage & Volontés", breakGlass(proRequest(ActionReadWishes, "60", nil)), ReasonBreakGlass},
		{"bris de glace: no deposit", breakGlass(proRequest(ActionDepositDocument, "10", document("11488-4", byActor))), ReasonModeNotAllowed},
		{"bris de glace: not for the regulator", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.Mode = carnet.ModeBreakGlass }), ReasonModeNotAllowed},
		// centre 15
		{"centre 15", regulation(ActionReadDocument, document("11488-4")), ReasonRegulation},
		{"centre 15: vaccinations", regulation(ActionReadVaccinations, nil), ReasonRegulation},
		{"centre 15 switched off", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.Settings.RegulationAllowed = false }), ReasonRegulationDisabled},
		{"centre 15 without reason", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.EmergencyReason = "" }), ReasonEmergencyReasonMissing},
		{"centre 15 after 24 hours", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.EmergencyStart = now.Add(-25 * time.Hour) }), ReasonRegulationExpired},
		{"centre 15: the grid applies (médecin rows)", regulation(ActionReadDocument, document("ATTEST-RESID")), ReasonGridDenied},
		{"centre 15: the regulator does not write", regulation(ActionAddVaccination, nil), ReasonNotPermitted},
		{"centre 15: not for other professionals", with(read, func(r *Request) {
			r.Mode = carnet.ModeRegulation
			r.EmergencyStart, r.EmergencyReason = emergencyAt, "x"
		}), ReasonModeNotAllowed},
		{"the regulator in normal mode", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.Mode = carnet.ModeNormal }), ReasonModeNotAllowed},
		{"a regulator who is not a médecin", with(regulation(ActionReadDocument, document("11488-4")), func(r *Request) { r.Actor.Profession = "60" }), ReasonUnknownProfession},
		{"unknown mode", with(read, func(r *Request) { r.Mode = "panique" }), ReasonModeNotAllowed},
	}
	runRuleCases(t, testPolicy, cases)
	t.Run("configurable window", func(t *testing.T) {
		runRuleCases(t, short, []ruleCase{
			{"bris de glace within 1 hour", with(bg, func(r *Request) { r.EmergencyStart = now.Add(-59 * time.Minute) }), ReasonBreakGlass},
			{"bris de glace after 1 hour", bg, ReasonBreakGlassExpired},
			{"centre 15 after 1 minute", regulation(ActionReadDocument, document("11488-4")), ReasonRegulationExpired},
		})
	})
	if got := testPolicy.EmergencyDeadline(carnet.ModeBreakGlass, emergencyAt); !got.Equal(emergencyAt.Add(5 * 24 * time.Hour)) {
		t.Errorf("EmergencyDeadline = %v", got)
	}
	if got := testPolicy.EmergencyDeadline(carnet.ModeNormal, emergencyAt); !got.IsZero() {
		t.Errorf("EmergencyDeadline(normal) = %v, want zero", got)
	}
}

func TestRuleVisibilityFlags(t *testing.T) {
	invisible := document("11526-1", hiddenFromPatient)
	confidential := document("15508-5", hiddenFromReps)
	runRuleCases(t, testPolicy, []ruleCase{
		// invisible to the patient until the announcement consultation
		{"patient: invisible document", patientRequest(ActionReadDocument, invisible), ReasonHiddenFromPatient},
		{"patient: invisible document in the list", patientRequest(ActionListDocument, invisible), ReasonHiddenFromPatient},
		{"patient: visible document", patientRequest(ActionReadDocument, document("11526-1")), ReasonPatient},
		{"representative: invisible to the patient", representativeRequest(ActionReadDocument, invisible), ReasonHiddenFromPatient},
		{"professional reads an invisible document", proRequest(ActionReadDocument, "10", invisible), ReasonConsent},
		{"professional makes it visible to the patient", proRequest(ActionRevealToPatient, "10", invisible), ReasonConsent},
		{"author makes it visible to the patient", proRequest(ActionRevealToPatient, "10", document("11526-1", hiddenFromPatient, byActor)), ReasonAuthor},
		{"professional without consent cannot", func() Request { r := proRequest(ActionRevealToPatient, "10", invisible); r.Consent = nil; return r }(), ReasonNoConsent},
		{"professional the grid denies cannot", proRequest(ActionRevealToPatient, "21", invisible), ReasonGridDenied},
		{"patient cannot make it visible", patientRequest(ActionRevealToPatient, invisible), ReasonNotPermitted},
		// invisible to legal representatives
		{"representative: confidential document", representativeRequest(ActionReadDocument, confidential), ReasonHiddenFromRepresentatives},
		{"representative: confidential document in the list", representativeRequest(ActionListDocument, confidential), ReasonHiddenFromRepresentatives},
		{"representative: other document", representativeRequest(ActionReadDocument, document("15508-5")), ReasonRepresentative},
		{"minor patient: confidential document", patientRequest(ActionReadDocument, confidential), ReasonPatient},
		{"professional: confidential document", proRequest(ActionReadDocument, "10", confidential), ReasonConsent},
		{"author makes it visible to representatives", proRequest(ActionRevealToRepresentatives, "10", document("15508-5", hiddenFromReps, byActor)), ReasonAuthor},
		{"another professional cannot", proRequest(ActionRevealToRepresentatives, "10", confidential), ReasonNotAuthor},
		{"the minor makes it visible", patientRequest(ActionRevealToRepresentatives, confidential), ReasonPatient},
		{"the representative cannot", representativeRequest(ActionRevealToRepresentatives, confidential), ReasonNotPermitted},
		// never both hidden from professionals and invisible to the patient
		{"hide an invisible document", func() Request {
			r := proRequest(ActionHideDocument, "10", document("11526-1", hiddenFromPatient, byActor))
			return r
		}(), ReasonExclusiveFlags},
		{"deposit with both flags", proRequest(ActionDepositDocument, "10", document("11526-1", hiddenFromPatient, hiddenFromPros, byActor)), ReasonExclusiveFlags},
		{"deposit invisible to the patient", proRequest(ActionDepositDocument, "10", document("11526-1", hiddenFromPatient, byActor)), ReasonFeeding},
		{"read a document with both flags", proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPatient, hiddenFromPros, byActor)), ReasonExclusiveFlags},
		{"patient hides a visible document", patientRequest(ActionHideDocument, document("11526-1")), ReasonPatient},
		{"patient deposits a document invisible to themselves", patientRequest(ActionDepositDocument, document("DOCPAT01", byPatient, hiddenFromPatient)), ReasonFlagsNotAllowed},
		{"representative deposits a document hidden from representatives", representativeRequest(ActionDepositDocument, document("DOCPAT01", byPatient, hiddenFromReps)), ReasonFlagsNotAllowed},
		{"patient deposits a document hidden from professionals", patientRequest(ActionDepositDocument, document("DOCPAT01", byPatient, hiddenFromPros)), ReasonPatient},
	})
}

func TestRuleAdministrator(t *testing.T) {
	admin := func(r Request) Request { s := *r.Settings; s.AdministratorID = r.Actor.ID; r.Settings = &s; return r }
	designate := func(accessed bool) Request {
		r := patientRequest(ActionSetAdministrator, nil)
		r.CandidateAccessedBefore = accessed
		return r
	}
	runRuleCases(t, testPolicy, []ruleCase{
		{"hides a document they did not write", admin(proRequest(ActionHideDocument, "10", document("11488-4"))), ReasonAdministrator},
		{"a non-administrator cannot", proRequest(ActionHideDocument, "10", document("11488-4")), ReasonNotAuthor},
		{"unhides a document", admin(proRequest(ActionUnhideDocument, "10", document("11488-4", hiddenFromPros))), ReasonAdministrator},
		{"blocks a professional", admin(proRequest(ActionBlock, "10", nil)), ReasonAdministrator},
		{"a non-administrator cannot block", proRequest(ActionBlock, "10", nil), ReasonNotPermitted},
		{"cannot unblock", admin(proRequest(ActionUnblock, "10", nil)), ReasonNotPermitted},
		{"cannot change settings", admin(proRequest(ActionWriteSettings, "10", nil)), ReasonNotPermitted},
		{"reads hidden documents", admin(proRequest(ActionReadDocument, "10", document("11488-4", hiddenFromPros))), ReasonAdministrator},
		{"cannot delete others' documents", admin(proRequest(ActionDeleteDocument, "10", document("11488-4"))), ReasonNotAuthor},
		{"designated after accessing the record", designate(true), ReasonPatient},
		{"not designated before accessing it", designate(false), ReasonCandidateNeverAccessed},
		{"representative designates", func() Request {
			r := representativeRequest(ActionSetAdministrator, nil)
			r.CandidateAccessedBefore = true
			return r
		}(), ReasonRepresentative},
		{"a professional cannot designate", proRequest(ActionSetAdministrator, "10", nil), ReasonNotPermitted},
	})
}

func TestRuleProfessionalActions(t *testing.T) {
	noConsent := func(r Request) Request { r.Consent = nil; return r }
	runRuleCases(t, testPolicy, []ruleCase{
		{"deposit", noConsent(proRequest(ActionDepositDocument, "70", document("11488-4", byActor))), ReasonFeeding},
		{"deposit in another's name", proRequest(ActionDepositDocument, "10", document("11488-4")), ReasonNotAuthor},
		{"deposit as the patient", proRequest(ActionDepositDocument, "10", document("11488-4", byPatient)), ReasonNotAuthor},
		{"deposit a patient document", proRequest(ActionDepositDocument, "10", document("DOCPAT01", byActor)), ReasonTypeNotAllowed},
		{"deposit reimbursement data", proRequest(ActionDepositDocument, "10", document("REMB", byActor)), ReasonTypeNotAllowed},
		{"deposit an unknown type", proRequest(ActionDepositDocument, "10", document("XYZ", byActor)), ReasonUnknownType},
		{"deposit a deprecated version", proRequest(ActionDepositDocument, "10", document("11488-4", byActor, deprecated)), ReasonNotCurrent},
		{"replace own document", noConsent(proRequest(ActionReplaceDocument, "10", document("11488-4", byActor))), ReasonAuthor},
		{"replace a deprecated version", proRequest(ActionReplaceDocument, "10", document("11488-4", byActor, deprecated)), ReasonNotCurrent},
		{"replace another's document", proRequest(ActionReplaceDocument, "10", document("11488-4")), ReasonNotAuthor},
		{"delete own document", proRequest(ActionDeleteDocument, "10", document("11488-4", byActor)), ReasonAuthor},
		{"delete another's document", proRequest(ActionDeleteDocument, "10", document("11488-4")), ReasonNotAuthor},
		{"delete a deleted document", proRequest(ActionDeleteDocument, "10", document("11488-4", byActor, deleted)), ReasonDeleted},
		{"hide own document", proRequest(ActionHideDocument, "10", document("11488-4", byActor)), ReasonAuthor},
		{"unhide own document", proRequest(ActionUnhideDocument, "10", document("11488-4", byActor, hiddenFromPros)), ReasonAuthor},
		{"hide another's document", proRequest(ActionHideDocument, "10", document("11488-4")), ReasonNotAuthor},
		{"read vaccinations", proRequest(ActionReadVaccinations, "60", nil), ReasonConsent},
		{"read vaccinations without consent", noConsent(proRequest(ActionReadVaccinations, "60", nil)), ReasonNoConsent},
		{"add a vaccination", noConsent(proRequest(ActionAddVaccination, "21", nil)), ReasonFeeding},
		{"read Entourage & Volontés", proRequest(ActionReadWishes, "80", nil), ReasonConsent},
		{"read Entourage & Volontés without consent", noConsent(proRequest(ActionReadWishes, "80", nil)), ReasonNoConsent},
		{"write Entourage & Volontés", proRequest(ActionWriteWishes, "10", nil), ReasonNotPermitted},
		{"write the profile", proRequest(ActionWriteProfile, "10", nil), ReasonNotPermitted},
		{"read the history", proRequest(ActionReadHistory, "10", nil), ReasonNotPermitted},
		{"declare own consent", noConsent(proRequest(ActionDeclareConsent, "10", nil)), ReasonConsentDeclaration},
		{"withdraw own consent", proRequest(ActionRevokeConsent, "10", nil), ReasonConsentDeclaration},
		{"inactive in the directory", func() Request {
			r := proRequest(ActionReadDocument, "10", document("11488-4"))
			r.Active = false
			return r
		}(), ReasonInactive},
		{"unknown profession", proRequest(ActionReadDocument, "99", document("11488-4")), ReasonUnknownProfession},
		{"read an unknown type", proRequest(ActionReadDocument, "10", document("XYZ")), ReasonUnknownType},
		{"without an ID", func() Request {
			r := proRequest(ActionReadDocument, "10", document("11488-4"))
			r.Actor.ID = ""
			return r
		}(), ReasonIncomplete},
	})
}

func TestRuleDeletedReadableByNoOne(t *testing.T) {
	gone := document("11488-4", deleted, byActor)
	td := func(r Request) Request {
		s := *r.Settings
		s.TreatingDoctorID, s.AdministratorID = proID, proID
		r.Settings = &s
		return r
	}
	appReq := Request{Action: ActionReadDocument, Actor: app("patient/DocumentReference.rs"), Settings: settings(), Doc: gone, Now: now, Facts: Facts{AppAuthorized: true}}
	runRuleCases(t, testPolicy, []ruleCase{
		{"patient", patientRequest(ActionReadDocument, gone), ReasonDeleted},
		{"patient lists", patientRequest(ActionListDocument, gone), ReasonDeleted},
		{"representative", representativeRequest(ActionReadDocument, gone), ReasonDeleted},
		{"author, médecin traitant and administrator", td(proRequest(ActionReadDocument, "10", gone)), ReasonDeleted},
		{"bris de glace", breakGlass(proRequest(ActionReadDocument, "10", gone)), ReasonDeleted},
		{"centre 15", regulation(ActionReadDocument, gone), ReasonDeleted},
		{"app", appReq, ReasonDeleted},
		{"not deleted", patientRequest(ActionReadDocument, document("11488-4")), ReasonPatient},
		{"archived", patientRequest(ActionReadDocument, document("11488-4", func(d *carnet.Document) { d.Status = carnet.DocArchived })), ReasonPatient},
		{"deprecated", proRequest(ActionReadDocument, "10", document("11488-4", deprecated)), ReasonConsent},
	})
}

func TestRuleNoHealthContentForOperatorsInsurersEmployers(t *testing.T) {
	var cases []ruleCase
	kinds := []carnet.ActorKind{carnet.ActorOperator, "insurer", "employer", "bank", "", "PROFESSIONAL"}
	for _, kind := range kinds {
		for _, a := range append(Actions(), ActionNone, actionCount) {
			r := proRequest(a, "10", document("11488-4", byActor))
			r.Actor.Kind = kind
			r.Actor.Scopes = []string{"patient/*.*"}
			r.Settings.AdministratorID, r.Settings.TreatingDoctorID = proID, proID
			r.Mode, r.EmergencyStart, r.EmergencyReason = carnet.ModeBreakGlass, emergencyAt, "x"
			r.Representative, r.PatientMinor, r.AppAuthorized, r.CandidateAccessedBefore = true, true, true, true
			want := ReasonUnknownActor
			if kind == carnet.ActorOperator {
				want = ReasonOperator
			}
			cases = append(cases, ruleCase{string(kind) + "/" + a.String(), r, want})
		}
	}
	cases = append(cases,
		ruleCase{"the system feeds reimbursement data", Request{Action: ActionDepositDocument, Actor: &carnet.Actor{Kind: carnet.ActorSystem, ID: "jobs"}, Settings: settings(), Now: now,
			Doc: document("REMB", func(d *carnet.Document) { d.AuthorKind, d.AuthorID = carnet.AuthorSystem, "cnam" })}, ReasonSystemFeed},
		ruleCase{"the system reads nothing", Request{Action: ActionReadDocument, Actor: &carnet.Actor{Kind: carnet.ActorSystem, ID: "jobs"}, Settings: settings(), Now: now,
			Doc: document("REMB", func(d *carnet.Document) { d.AuthorKind, d.AuthorID = carnet.AuthorSystem, "cnam" })}, ReasonNotPermitted},
		ruleCase{"the system deposits no health document", Request{Action: ActionDepositDocument, Actor: &carnet.Actor{Kind: carnet.ActorSystem, ID: "jobs"}, Settings: settings(), Now: now,
			Doc: document("11488-4", func(d *carnet.Document) { d.AuthorKind, d.AuthorID = carnet.AuthorSystem, "cnam" })}, ReasonTypeNotAllowed},
	)
	runRuleCases(t, testPolicy, cases)
}

func TestRulePatientAndRepresentative(t *testing.T) {
	other := func(r Request) Request { r.Actor.ID = "pat-2"; return r }
	adult := func(r Request) Request { r.PatientMinor = false; return r }
	notRep := func(r Request) Request { r.Representative = false; return r }
	runRuleCases(t, testPolicy, []ruleCase{
		{"patient reads", patientRequest(ActionReadDocument, document("11488-4")), ReasonPatient},
		{"another patient", other(patientRequest(ActionReadDocument, document("11488-4"))), ReasonNotOwner},
		{"another patient's document", patientRequest(ActionReadDocument, document("11488-4", func(d *carnet.Document) { d.PatientID = "pat-2" })), ReasonPatientMismatch},
		{"patient deposits a patient document", patientRequest(ActionDepositDocument, document("DOCPAT03", byPatient)), ReasonPatient},
		{"patient deposits a professional type", patientRequest(ActionDepositDocument, document("11488-4", byPatient)), ReasonTypeNotAllowed},
		{"patient deposits as a professional", patientRequest(ActionDepositDocument, document("DOCPAT03")), ReasonNotAuthor},
		{"patient replaces own document", patientRequest(ActionReplaceDocument, document("DOCPAT03", byPatient)), ReasonPatient},
		{"patient replaces a professional's document", patientRequest(ActionReplaceDocument, document("11488-4")), ReasonNotAuthor},
		{"patient deletes a document", patientRequest(ActionDeleteDocument, document("11488-4")), ReasonPatient},
		{"patient writes settings", patientRequest(ActionWriteSettings, nil), ReasonPatient},
		{"patient blocks", patientRequest(ActionBlock, nil), ReasonPatient},
		{"patient unblocks", patientRequest(ActionUnblock, nil), ReasonPatient},
		{"patient revokes a consent", patientRequest(ActionRevokeConsent, nil), ReasonPatient},
		{"patient reads the history", patientRequest(ActionReadHistory, nil), ReasonPatient},
		{"another patient reads the history", other(patientRequest(ActionReadHistory, nil)), ReasonNotOwner},
		{"representative reads the history", representativeRequest(ActionReadHistory, nil), ReasonRepresentative},
		{"representative of an adult", adult(representativeRequest(ActionReadDocument, document("11488-4"))), ReasonNotRepresentative},
		{"not a representative", notRep(representativeRequest(ActionReadProfile, nil)), ReasonNotRepresentative},
		{"representative writes settings", representativeRequest(ActionWriteSettings, nil), ReasonRepresentative},
		{"representative deletes a confidential document", representativeRequest(ActionDeleteDocument, document("11488-4", hiddenFromReps)), ReasonHiddenFromRepresentatives},
		{"missing document", patientRequest(ActionReadDocument, nil), ReasonIncomplete},
		{"missing settings", func() Request { r := patientRequest(ActionReadProfile, nil); r.Settings = nil; return r }(), ReasonIncomplete},
		{"missing actor", func() Request { r := patientRequest(ActionReadProfile, nil); r.Actor = nil; return r }(), ReasonIncomplete},
		{"no action", patientRequest(ActionNone, nil), ReasonUnknownAction},
	})
}

func TestRuleApps(t *testing.T) {
	req := func(a Action, d *carnet.Document, scopes ...string) Request {
		return Request{Action: a, Actor: app(scopes...), Settings: settings(), Doc: d, Now: now, Facts: Facts{AppAuthorized: true}}
	}
	runRuleCases(t, testPolicy, []ruleCase{
		{"reads with a v2 scope", req(ActionReadDocument, document("11488-4"), "patient/DocumentReference.rs"), ReasonAppScope},
		{"lists with a v1 scope", req(ActionListDocument, document("11488-4"), "patient/DocumentReference.read"), ReasonAppScope},
		{"reads with a wildcard", req(ActionReadDocument, document("11488-4"), "patient/*.r"), ReasonAppScope},
		{"search only", req(ActionReadDocument, document("11488-4"), "patient/DocumentReference.s"), ReasonScopeMissing},
		{"user scope", req(ActionReadDocument, document("11488-4"), "user/DocumentReference.rs"), ReasonScopeMissing},
		{"narrowed scope", req(ActionReadDocument, document("11488-4"), "patient/DocumentReference.rs?category=x"), ReasonScopeMissing},
		{"malformed permissions", req(ActionReadDocument, document("11488-4"), "patient/DocumentReference.sr"), ReasonScopeMissing},
		{"not authorized by the patient", func() Request {
			r := req(ActionReadDocument, document("11488-4"), "patient/DocumentReference.rs")
			r.AppAuthorized = false
			return r
		}(), ReasonAppNotAuthorized},
		{"invisible to the patient", req(ActionReadDocument, document("11488-4", hiddenFromPatient), "patient/DocumentReference.rs"), ReasonHiddenFromPatient},
		{"deposits a patient document", req(ActionDepositDocument, document("DOCPAT04", byPatient), "patient/DocumentReference.c"), ReasonAppScope},
		{"deposits a professional document", req(ActionDepositDocument, document("11488-4", byPatient), "patient/DocumentReference.cruds"), ReasonTypeNotAllowed},
		{"adds a vaccination", req(ActionAddVaccination, nil, "patient/Immunization.write"), ReasonAppScope},
		{"reads the profile", req(ActionReadProfile, nil, "patient/Condition.rs"), ReasonAppScope},
		{"reads Entourage & Volontés", req(ActionReadWishes, nil, "patient/RelatedPerson.r"), ReasonAppScope},
		{"changes settings", req(ActionWriteSettings, nil, "patient/*.*"), ReasonNotPermitted},
		{"reads the history", req(ActionReadHistory, nil, "patient/*.*"), ReasonNotPermitted},
		{"blocks", req(ActionBlock, nil, "patient/*.*"), ReasonNotPermitted},
	})
}
