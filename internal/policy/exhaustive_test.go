package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// This file states the rules a second time, deliberately differently from policy.go: as flat
// lists of "deny if" predicates over a described situation. A request is allowed when no
// predicate holds; when Decide denies, its reason must be one of the predicates that hold. The
// generated tests run every profession × every document type × every flag combination × the
// relevant facts through both and compare.

// situation describes one request in plain terms.
type situation struct {
	regulator  bool // the SAMU regulating doctor rather than a professional
	profession carnet.Profession
	specialty  string
	typeCode   string
	typeClass  carnet.DocClass // "" for an unknown type

	hiddenFromPros, hiddenFromPatient, hiddenFromReps bool
	deleted                                           bool

	treatingDoctor, administrator, author bool
	hideAll                               bool

	standing string // "ok", "blocked", "structure blocked", "inactive"
	basis    basis
}

// basis is how the reader claims access: a consent state in normal mode, or an emergency.
type basis struct {
	name       string
	mode       carnet.AccessMode
	consent    string // "none", "in force", "expired", "revoked", "other purpose", "other professional"
	modeOn     bool   // the patient left the emergency mode on
	reason     bool   // an emergency reason is recorded
	sessionAge time.Duration
}

var bases = []basis{
	{name: "normal, no consent", mode: carnet.ModeNormal, consent: "none"},
	{name: "normal, consent", mode: carnet.ModeNormal, consent: "in force"},
	{name: "normal, expired consent", mode: carnet.ModeNormal, consent: "expired"},
	{name: "normal, revoked consent", mode: carnet.ModeNormal, consent: "revoked"},
	{name: "normal, consent for another purpose", mode: carnet.ModeNormal, consent: "other purpose"},
	{name: "normal, another professional's consent", mode: carnet.ModeNormal, consent: "other professional"},
	{name: "bris de glace", mode: carnet.ModeBreakGlass, consent: "none", modeOn: true, reason: true, sessionAge: time.Hour},
	{name: "bris de glace with consent", mode: carnet.ModeBreakGlass, consent: "in force", modeOn: true, reason: true, sessionAge: time.Hour},
	{name: "bris de glace off, with consent", mode: carnet.ModeBreakGlass, consent: "in force", reason: true, sessionAge: time.Hour},
	{name: "bris de glace without reason", mode: carnet.ModeBreakGlass, consent: "none", modeOn: true, sessionAge: time.Hour},
	{name: "bris de glace after 6 days", mode: carnet.ModeBreakGlass, consent: "none", modeOn: true, reason: true, sessionAge: 6 * 24 * time.Hour},
	{name: "bris de glace not started", mode: carnet.ModeBreakGlass, consent: "none", modeOn: true, reason: true, sessionAge: -time.Hour},
	{name: "centre 15", mode: carnet.ModeRegulation, consent: "none", modeOn: true, reason: true, sessionAge: time.Hour},
	{name: "centre 15 off", mode: carnet.ModeRegulation, consent: "none", reason: true, sessionAge: time.Hour},
	{name: "centre 15 without reason", mode: carnet.ModeRegulation, consent: "none", modeOn: true, sessionAge: time.Hour},
	{name: "centre 15 after 2 days", mode: carnet.ModeRegulation, consent: "none", modeOn: true, reason: true, sessionAge: 48 * time.Hour},
}

// gridSays reads a grid's rows the slow, obvious way: among the rows of the profession that
// match the type, the specialty's rows beat the profession's, and a type row beats a class
// row, which beats "*". No matching row: denied.
func gridSays(rows []GridRow, p carnet.Profession, specialty, typeCode string, class carnet.DocClass) bool {
	best, allow := 0, false
	for _, r := range rows {
		if r.Profession != p {
			continue
		}
		who := 0
		switch r.Specialty {
		case "":
			who = 1
		case specialty:
			who = 2
		default:
			continue
		}
		what := 0
		switch r.Document {
		case typeCode:
			what = 3
		case "class:" + string(class):
			what = 2
		case "*":
			what = 1
		default:
			continue
		}
		if score := who*10 + what; score > best {
			best, allow = score, r.Allow
		}
	}
	return allow
}

// reasonSet is a set of reasons.
type reasonSet uint64

func (rs reasonSet) has(r Reason) bool { return rs&(1<<r) != 0 }

func (rs reasonSet) String() string {
	var names []string
	for _, r := range Reasons() {
		if rs.has(r) {
			names = append(names, r.String())
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// gridAnswers memoizes gridSays, which scans every row.
type gridAnswers struct {
	rows []GridRow
	memo map[[3]string]bool
}

func newGridAnswers(rows []GridRow) *gridAnswers {
	return &gridAnswers{rows: rows, memo: map[[3]string]bool{}}
}

func (g *gridAnswers) says(p carnet.Profession, specialty, typeCode string, class carnet.DocClass) bool {
	k := [3]string{string(p), specialty, typeCode}
	v, ok := g.memo[k]
	if !ok {
		v = gridSays(g.rows, p, specialty, typeCode, class)
		g.memo[k] = v
	}
	return v
}

// readDenials are the reasons a professional or the regulator may not read a document: the set
// of the rules that apply.
func readDenials(s *situation, grid *gridAnswers) reasonSet {
	var out reasonSet
	deny := func(cond bool, r Reason) {
		if cond {
			out |= 1 << r
		}
	}
	b := s.basis
	gridProfession := s.profession
	if s.regulator {
		gridProfession = "10"
	}
	// Who they are.
	deny(!s.regulator && !s.profession.Valid(), ReasonUnknownProfession)
	deny(s.regulator && s.profession != "" && s.profession != "10", ReasonUnknownProfession)
	deny(s.standing == "blocked", ReasonBlocked)
	deny(s.standing == "structure blocked", ReasonStructureBlocked)
	deny(s.standing == "inactive", ReasonInactive)
	// What the document is.
	deny(s.deleted, ReasonDeleted)
	deny(s.hiddenFromPros && s.hiddenFromPatient, ReasonExclusiveFlags)
	// Modes: centre 15 belongs to the regulator, who has no other.
	deny(!s.regulator && b.mode == carnet.ModeRegulation, ReasonModeNotAllowed)
	deny(s.regulator && b.mode != carnet.ModeRegulation, ReasonModeNotAllowed)
	// Hide everything: only the patient and the administrator.
	deny(s.hideAll && !s.administrator, ReasonHideAll)
	// No consent, no access, outside emergencies.
	if b.mode == carnet.ModeNormal {
		switch b.consent {
		case "none", "other professional":
			deny(true, ReasonNoConsent)
		case "expired":
			deny(true, ReasonConsentExpired)
		case "revoked":
			deny(true, ReasonConsentRevoked)
		case "other purpose":
			deny(true, ReasonConsentPurpose)
		}
	}
	// Emergencies: on, with a reason, within their window.
	if b.mode != carnet.ModeNormal {
		window, off, expired := DefaultBreakGlassWindow, ReasonBreakGlassDisabled, ReasonBreakGlassExpired
		if b.mode == carnet.ModeRegulation {
			window, off, expired = DefaultRegulationWindow, ReasonRegulationDisabled, ReasonRegulationExpired
		}
		deny(!b.modeOn, off)
		deny(!b.reason, ReasonEmergencyReasonMissing)
		deny(b.sessionAge < 0, ReasonNoEmergencySession)
		deny(b.sessionAge >= window, expired)
	}
	// The document's type and visibility, the grid.
	deny(s.typeClass == "", ReasonUnknownType)
	privileged := s.treatingDoctor || s.author
	deny(s.hiddenFromPros && !privileged && !s.administrator, ReasonHiddenFromProfessionals)
	deny(s.typeClass != "" && !privileged && !grid.says(gridProfession, s.specialty, s.typeCode, s.typeClass), ReasonGridDenied)
	return out
}

// buffers are reused from one situation to the next, so that the generated tests run fast.
type buffers struct {
	actor                                                      carnet.Actor
	settings                                                   carnet.PatientSettings
	doc                                                        carnet.Document
	inForce, expired, revoked, otherPurpose, otherProfessional *carnet.Consent
}

func newBuffers() *buffers {
	return &buffers{
		inForce:           consentOf(proID),
		expired:           consentOf(proID, func(c *carnet.Consent) { c.ExpiresAt = ptr(now.Add(-time.Minute)) }),
		revoked:           consentOf(proID, func(c *carnet.Consent) { c.RevokedAt = ptr(now.Add(-time.Minute)) }),
		otherPurpose:      consentOf(proID, func(c *carnet.Consent) { c.Purpose = "recherche" }),
		otherProfessional: consentOf(otherProID),
	}
}

// request builds the Request that describes s, in buf.
func (s *situation) request(a Action, buf *buffers) Request {
	actor := &buf.actor
	*actor = carnet.Actor{Kind: carnet.ActorProfessional, ID: proID, Name: "Dr Test", Profession: s.profession,
		Specialty: s.specialty, StructureID: structureID}
	if s.regulator {
		actor.Kind = carnet.ActorRegulator
	}
	st := &buf.settings
	*st = carnet.DefaultSettings(patientID)
	st.HideAll = s.hideAll
	b := s.basis
	if b.mode == carnet.ModeBreakGlass {
		st.BreakGlassAllowed = b.modeOn
	}
	if b.mode == carnet.ModeRegulation {
		st.RegulationAllowed = b.modeOn
	}
	if s.treatingDoctor {
		st.TreatingDoctorID = proID
	}
	if s.administrator {
		st.AdministratorID = proID
	}
	d := &buf.doc
	*d = carnet.Document{ID: "d", PatientID: patientID, TypeCode: s.typeCode, Class: s.typeClass,
		AuthorKind: carnet.AuthorProfessional, AuthorID: otherProID, Status: carnet.DocCurrent,
		HiddenFromProfessionals: s.hiddenFromPros, HiddenFromPatient: s.hiddenFromPatient,
		HiddenFromRepresentatives: s.hiddenFromReps}
	if s.author {
		d.AuthorID = proID
	}
	if s.deleted {
		d.Status = carnet.DocDeleted
	}
	r := Request{Action: a, Actor: actor, Settings: st, Doc: d, Mode: b.mode, Now: now, Facts: Facts{
		Active:           s.standing != "inactive",
		Blocked:          s.standing == "blocked",
		StructureBlocked: s.standing == "structure blocked",
		Purpose:          "soins",
	}}
	switch b.consent {
	case "in force":
		r.Consent = buf.inForce
	case "expired":
		r.Consent = buf.expired
	case "revoked":
		r.Consent = buf.revoked
	case "other purpose":
		r.Consent = buf.otherPurpose
	case "other professional":
		r.Consent = buf.otherProfessional
	}
	if b.mode != carnet.ModeNormal {
		r.EmergencyStart = now.Add(-b.sessionAge)
		if b.reason {
			r.EmergencyReason = "détresse respiratoire"
		}
	}
	return r
}

func (s *situation) String() string {
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{s.hiddenFromPros, "masqué PS"}, {s.hiddenFromPatient, "invisible patient"}, {s.hiddenFromReps, "invisible RL"},
		{s.deleted, "supprimé"}, {s.treatingDoctor, "médecin traitant"}, {s.administrator, "administrateur"},
		{s.author, "auteur"}, {s.hideAll, "tout masquer"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	who := "professionnel"
	if s.regulator {
		who = "régulateur"
	}
	return fmt.Sprintf("%s %s/%s %s [%s] %s, %s", who, s.profession, s.specialty, s.typeCode,
		strings.Join(flags, ", "), s.standing, s.basis.name)
}

// bits enumerates the 2^n combinations of n booleans.
func bits(n int) [][]bool {
	out := make([][]bool, 0, 1<<n)
	for m := 0; m < 1<<n; m++ {
		v := make([]bool, n)
		for i := range v {
			v[i] = m&(1<<i) != 0
		}
		out = append(out, v)
	}
	return out
}

var standings = []string{"ok", "blocked", "structure blocked", "inactive"}

// checkRead compares Decide with readDenials for one situation, on read and list.
func checkRead(t *testing.T, pol *Policy, grid *gridAnswers, buf *buffers, s *situation) bool {
	denials := readDenials(s, grid)
	for _, a := range [...]Action{ActionReadDocument, ActionListDocument} {
		d := pol.Decide(s.request(a, buf))
		if d.Allow != (denials == 0) {
			t.Errorf("%s, %s: Decide = %v (%s), the rules say allowed = %v %v", s, a, d.Allow, d.Reason, denials == 0, denials)
			return false
		}
		if !d.Allow && !denials.has(d.Reason) {
			t.Errorf("%s, %s: Decide denies with %s, not one of the rules that apply %v", s, a, d.Reason, denials)
			return false
		}
		if d.Allow && !allowReasonFits(s, d.Reason) {
			t.Errorf("%s, %s: Decide allows with %s", s, a, d.Reason)
			return false
		}
	}
	return true
}

// allowReasonFits: an emergency read is reported as the emergency; a normal one names the role.
func allowReasonFits(s *situation, r Reason) bool {
	switch s.basis.mode {
	case carnet.ModeBreakGlass:
		return r == ReasonBreakGlass
	case carnet.ModeRegulation:
		return r == ReasonRegulation
	}
	switch {
	case s.treatingDoctor:
		return r == ReasonTreatingDoctor
	case s.author:
		return r == ReasonAuthor
	case s.administrator && (s.hiddenFromPros || s.hideAll):
		return r == ReasonAdministrator
	}
	return r == ReasonConsent
}

func TestGeneratedProfessionalReads(t *testing.T) {
	profs := append(carnet.Professions(), "99", "")
	types := append(carnet.DocTypes(), carnet.DocType{Code: "XYZ-0"})
	flagSets, roleSets := bits(4), bits(4)
	n := 0
	for _, p := range profs {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			grid, buf := newGridAnswers(defaultRules.Rows()), newBuffers()
			failures, i := 0, 0
			for _, ty := range types {
				for _, f := range flagSets {
					for _, role := range roleSets {
						for _, st := range standings {
							for _, b := range bases {
								s := situation{profession: p, typeCode: ty.Code, typeClass: ty.Class,
									hiddenFromPros: f[0], hiddenFromPatient: f[1], hiddenFromReps: f[2], deleted: f[3],
									treatingDoctor: role[0], administrator: role[1], author: role[2], hideAll: role[3],
									standing: st, basis: b}
								if i++; testing.Short() && i%5 != 0 {
									continue // -short (e.g. with -race): one situation in five
								}
								if !checkRead(t, testPolicy, grid, buf, &s) {
									if failures++; failures > 5 {
										t.Fatal("too many failures")
									}
								}
							}
						}
					}
				}
			}
		})
		n += len(types) * len(flagSets) * len(roleSets) * len(standings) * len(bases) * 2
	}
	t.Logf("%d decisions to check (one in five with -short)", n)
}

func TestGeneratedRegulatorReads(t *testing.T) {
	grid, buf := newGridAnswers(defaultRules.Rows()), newBuffers()
	types := append(carnet.DocTypes(), carnet.DocType{Code: "XYZ-0"})
	for _, spec := range []string{"", "SM53"} {
		for _, prof := range []carnet.Profession{"", "10", "60"} {
			for _, ty := range types {
				for _, f := range bits(4) {
					for _, role := range bits(4) {
						for _, st := range standings {
							for _, b := range bases {
								s := situation{regulator: true, profession: prof, specialty: spec, typeCode: ty.Code, typeClass: ty.Class,
									hiddenFromPros: f[0], hiddenFromPatient: f[1], hiddenFromReps: f[2], deleted: f[3],
									treatingDoctor: role[0], administrator: role[1], author: role[2], hideAll: role[3],
									standing: st, basis: b}
								if !checkRead(t, testPolicy, grid, buf, &s) {
									t.FailNow()
								}
							}
						}
					}
				}
			}
		}
	}
}

// specialtyGrid is the shipped grid plus specialty rows, to exercise the precedence.
const specialtyRows = `
10,SM42,11526-1,deny,approx
10,SM42,class:11,deny,approx
10,SM03,*,deny,approx
10,SM03,class:10,allow,approx
21,SM03,11526-1,allow,approx
70,SM04,class:10,allow,approx
70,SM04,11502-2,deny,approx
`

func TestGeneratedSpecialtyReads(t *testing.T) {
	g, err := ParseGrid(strings.NewReader(string(defaultGridData) + specialtyRows))
	if err != nil {
		t.Fatal(err)
	}
	pol := New(g, Options{})
	grid, buf := newGridAnswers(g.Rows()), newBuffers()
	for _, p := range carnet.Professions() {
		for _, spec := range []string{"", "SM42", "SM03", "SM04", "SM53"} {
			for _, ty := range carnet.DocTypes() {
				for _, role := range bits(3) {
					for _, hidden := range []bool{false, true} {
						for _, b := range []basis{bases[1], bases[6]} {
							s := situation{profession: p, specialty: spec, typeCode: ty.Code, typeClass: ty.Class,
								hiddenFromPros: hidden, treatingDoctor: role[0], administrator: role[1], author: role[2],
								standing: "ok", basis: b}
							if !checkRead(t, pol, grid, buf, &s) {
								t.FailNow()
							}
						}
					}
				}
			}
		}
	}
}

// The patient's side, stated again: the patient in their own space, a representative of a
// minor, every action, every type, every flag combination.

type sideSituation struct {
	representative bool
	ownSpace       bool // patient: their own space; representative: a representative of a minor
	action         Action
	typeCode       string
	class          carnet.DocClass
	byPatient      bool
	status         carnet.DocStatus

	hiddenFromPros, hiddenFromPatient, hiddenFromReps bool
	hideAll, candidateAccessed                        bool
	mode                                              carnet.AccessMode
}

// sideDenials are the reasons the patient's side may not act.
func sideDenials(s *sideSituation) []Reason {
	var out []Reason
	deny := func(cond bool, r Reason) {
		if cond {
			out = append(out, r)
		}
	}
	a, doc := s.action, s.action.NeedsDocument()
	touchesExisting := doc && a != ActionDepositDocument
	deny(!s.representative && !s.ownSpace, ReasonNotOwner)
	deny(s.representative && !s.ownSpace, ReasonNotRepresentative)
	deny(doc && s.status == carnet.DocDeleted, ReasonDeleted)
	deny(doc && s.hiddenFromPros && s.hiddenFromPatient, ReasonExclusiveFlags)
	// They act on what they see.
	deny(touchesExisting && s.hiddenFromPatient, ReasonHiddenFromPatient)
	deny(touchesExisting && s.representative && s.hiddenFromReps, ReasonHiddenFromRepresentatives)
	// Professional acts, the representative's limits.
	deny(a == ActionRevealToPatient, ReasonNotPermitted)
	deny(a == ActionRevealToRepresentatives && s.representative, ReasonNotPermitted)
	// Versions and deposits.
	current := s.status == carnet.DocCurrent
	deny(a == ActionReplaceDocument && !s.byPatient, ReasonNotAuthor)
	deny(a == ActionReplaceDocument && !current, ReasonNotCurrent)
	deny(a == ActionDepositDocument && !current, ReasonNotCurrent)
	deny(a == ActionDepositDocument && s.class != "90", ReasonTypeNotAllowed)
	deny(a == ActionDepositDocument && !s.byPatient, ReasonNotAuthor)
	deny(a == ActionDepositDocument && s.hiddenFromPatient, ReasonFlagsNotAllowed)
	deny(a == ActionDepositDocument && s.representative && s.hiddenFromReps, ReasonFlagsNotAllowed)
	// The administrator must have accessed the record.
	deny(a == ActionSetAdministrator && !s.candidateAccessed, ReasonCandidateNeverAccessed)
	return out
}

func (s *sideSituation) request() Request {
	r := patientRequest(s.action, nil)
	if s.representative {
		r = representativeRequest(s.action, nil)
		r.Representative, r.PatientMinor = s.ownSpace, s.ownSpace
	} else if !s.ownSpace {
		r.Actor.ID = "pat-2"
	}
	r.Settings.HideAll = s.hideAll
	r.Mode = s.mode
	r.CandidateAccessedBefore = s.candidateAccessed
	if s.action.NeedsDocument() {
		r.Doc = &carnet.Document{ID: "d", PatientID: patientID, TypeCode: s.typeCode, Class: s.class,
			AuthorKind: carnet.AuthorProfessional, AuthorID: otherProID, Status: s.status,
			HiddenFromProfessionals: s.hiddenFromPros, HiddenFromPatient: s.hiddenFromPatient,
			HiddenFromRepresentatives: s.hiddenFromReps}
		if s.byPatient {
			r.Doc.AuthorKind, r.Doc.AuthorID = carnet.AuthorPatient, patientID
		}
	}
	return r
}

func TestGeneratedPatientSide(t *testing.T) {
	statuses := []carnet.DocStatus{carnet.DocCurrent, carnet.DocDeprecated, carnet.DocArchived, carnet.DocDeleted}
	n := 0
	for _, who := range bits(2) {
		for _, a := range Actions() {
			for _, ty := range carnet.DocTypes() {
				if !a.NeedsDocument() && ty.Code != "11488-4" {
					continue // the type does not matter
				}
				for _, f := range bits(7) {
					for _, st := range statuses {
						for _, mode := range []carnet.AccessMode{"", carnet.ModeBreakGlass} {
							s := sideSituation{representative: who[0], ownSpace: who[1], action: a, typeCode: ty.Code, class: ty.Class,
								status: st, byPatient: f[0], hiddenFromPros: f[1], hiddenFromPatient: f[2], hiddenFromReps: f[3],
								hideAll: f[4], candidateAccessed: f[5], mode: mode}
							if f[6] {
								continue // spare bit
							}
							denials := sideDenials(&s)
							d := testPolicy.Decide(s.request())
							n++
							if d.Allow != (len(denials) == 0) || (!d.Allow && !slices.Contains(denials, d.Reason)) {
								t.Fatalf("%+v: Decide = %v (%s), the rules deny with %v", s, d.Allow, d.Reason, denials)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d decisions checked", n)
}

// Operators, unknown kinds: every action on every type with every flag combination is denied.
func TestGeneratedOperatorsNeverReach(t *testing.T) {
	kinds := []carnet.ActorKind{carnet.ActorOperator, "insurer", "employer", "bank", "admin", ""}
	for _, kind := range kinds {
		for _, a := range Actions() {
			for _, ty := range carnet.DocTypes() {
				for _, f := range bits(3) {
					r := proRequest(a, "10", document(ty.Code, byActor))
					r.Actor.Kind = kind
					r.Doc.HiddenFromProfessionals, r.Doc.HiddenFromPatient, r.Doc.HiddenFromRepresentatives = f[0], f[1], f[2]
					r.Settings.TreatingDoctorID, r.Settings.AdministratorID = proID, proID
					r.Representative, r.PatientMinor, r.AppAuthorized = true, true, true
					if d := testPolicy.Decide(r); d.Allow {
						t.Fatalf("%q may %s %s: %s", kind, a, ty.Code, d.Reason)
					}
				}
			}
		}
	}
}
