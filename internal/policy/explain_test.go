package policy

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

var paris = time.FixedZone("CET", 3600) // Europe/Paris in March, without depending on tzdata

func TestExplainSentences(t *testing.T) {
	kine := proRequest(ActionReadDocument, "70", document("11490-0"))
	blocked := kine
	blocked.Blocked = true
	structure := kine
	structure.StructureBlocked = true
	expired := proRequest(ActionReadProfile, "10", nil)
	expired.Consent = consentOf(proID, func(c *carnet.Consent) { c.ExpiresAt = ptr(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) })
	timeBoxed := proRequest(ActionReadDocument, "10", document("18748-4"))
	timeBoxed.Consent = consentOf(proID, func(c *carnet.Consent) {
		c.Purpose, c.ExpiresAt = "soins", ptr(time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC))
	})
	timeBoxed.Purpose = "soins"
	treating := proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros))
	treating.Settings.TreatingDoctorID = proID
	hideAll := proRequest(ActionReadDocument, "10", document("11488-4"))
	hideAll.Settings.HideAll = true
	operator := proRequest(ActionReadDocument, "10", document("11488-4"))
	operator.Actor = &carnet.Actor{Kind: carnet.ActorOperator, ID: "op-1", Name: "Agent 12"}
	appReq := Request{Action: ActionListDocument, Actor: app("patient/DocumentReference.rs"), Settings: settings(),
		Doc: document("11502-2"), Now: now, Facts: Facts{AppAuthorized: true}}
	cases := []struct {
		name  string
		req   Request
		names ExplainNames
		want  string
	}{
		{"the issue's example", kine, ExplainNames{},
			"Le Dr Martin, masseur-kinésithérapeute, peut lire cette lettre de liaison de sortie car vous l'avez autorisé le 3 mars 2026 et la grille l'autorise pour sa profession."},
		{"the grid denies", proRequest(ActionReadDocument, "70", document("11502-2")), ExplainNames{Actor: "Dr Paul Martin"},
			"Le Dr Paul Martin, masseur-kinésithérapeute, ne peut pas lire ce compte rendu d'examens biologiques car la grille d'habilitation ne l'autorise pas pour sa profession."},
		{"blocked", blocked, ExplainNames{Actor: "Mme Claire Petit"},
			"Mme Claire Petit, masseur-kinésithérapeute, ne peut pas lire cette lettre de liaison de sortie car vous avez bloqué son accès à votre espace santé."},
		{"structure blocked", structure, ExplainNames{},
			"Le Dr Martin, masseur-kinésithérapeute, ne peut pas lire cette lettre de liaison de sortie car vous avez bloqué l'accès de son établissement (Clinique du Parc)."},
		{"consent expired on the first", expired, ExplainNames{Location: paris},
			"Le Dr Martin, médecin, ne peut pas consulter votre profil médical car l'accord que vous lui aviez donné a expiré le 1er mars 2026."},
		{"time-boxed, purpose-bound consent", timeBoxed, ExplainNames{},
			"Le Dr Martin, médecin, peut lire ce compte rendu d'imagerie car vous l'avez autorisé le 3 mars 2026 pour le motif « soins » (accord valable jusqu'au 3 juin 2026) et la grille l'autorise pour sa profession."},
		{"médecin traitant", treating, ExplainNames{},
			"Le Dr Martin, médecin, peut lire ce compte rendu d'anatomo-pathologie car c'est votre médecin traitant et vous l'avez autorisé le 3 mars 2026."},
		{"hidden", proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros)), ExplainNames{},
			"Le Dr Martin, médecin, ne peut pas lire ce compte rendu d'anatomo-pathologie car ce document est masqué aux professionnels."},
		{"hide everything", hideAll, ExplainNames{},
			"Le Dr Martin, médecin, ne peut pas lire ce compte rendu de consultation car vous avez choisi de tout masquer aux professionnels, sauf à votre administrateur."},
		{"bris de glace", breakGlass(proRequest(ActionReadDocument, "60", document("11502-2"))), ExplainNames{Location: paris},
			"Le Dr Martin, infirmier, peut lire ce compte rendu d'examens biologiques en mode bris de glace (motif : « patient inconscient ») jusqu'au 15 mars 2026 à 9 h 00, car vous n'avez pas désactivé ce mode et la grille l'autorise pour sa profession."},
		{"centre 15", regulation(ActionReadVaccinations, nil), ExplainNames{},
			"Le Dr Samu, médecin régulateur du SAMU (centre 15), peut consulter vos vaccinations en mode centre 15 (motif : « appel au 15 : douleur thoracique »), car vous n'avez pas désactivé ce mode."},
		{"no consent, no name", func() Request {
			r := proRequest(ActionReadWishes, "21", nil)
			r.Consent, r.Actor.Name = nil, ""
			return r
		}(), ExplainNames{},
			"Ce professionnel, pharmacien, ne peut pas consulter votre rubrique « Entourage et volontés » car vous ne l'avez pas autorisé à accéder à votre espace santé."},
		{"the patient", patientRequest(ActionReadDocument, document("11526-1", hiddenFromPatient)), ExplainNames{},
			"Vous ne pouvez pas lire ce compte rendu d'anatomo-pathologie car ce document ne vous sera rendu visible qu'après une consultation avec un professionnel de santé."},
		{"the representative", representativeRequest(ActionReadDocument, document("15508-5", hiddenFromReps)), ExplainNames{},
			"Vous ne pouvez pas lire ce compte rendu d'accouchement car ce document concerne des soins confidentiels de votre enfant."},
		{"the representative, profile", representativeRequest(ActionReadProfile, nil), ExplainNames{},
			"Vous pouvez consulter le profil médical de votre enfant car vous êtes le représentant légal de cet enfant mineur."},
		{"an operator", operator, ExplainNames{},
			"Un agent de l'Assurance Maladie ne peut pas lire ce compte rendu de consultation car les agents de l'Assurance Maladie n'ont jamais accès au contenu de santé."},
		{"an app", appReq, ExplainNames{},
			"L'application « Mon Suivi » peut voir ce compte rendu d'examens biologiques dans la liste des documents car vous l'avez autorisée à le faire."},
		{"deposit", proRequest(ActionDepositDocument, "10", document("11490-0", byActor)), ExplainNames{},
			"Le Dr Martin, médecin, peut ajouter cette lettre de liaison de sortie à votre espace santé car les professionnels de santé peuvent alimenter l'espace santé sans accord préalable."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := testPolicy.Decide(c.req)
			if got := testPolicy.Explain(d, c.req, c.names); got != c.want {
				t.Errorf("Explain:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// Every reason has its own words, and every combination of actor, action and reason makes one
// well-formed sentence.
func TestExplainEveryReason(t *testing.T) {
	actors := []*carnet.Actor{patient(), representative(), professional("70"), regulator(), app(),
		{Kind: carnet.ActorOperator}, {Kind: carnet.ActorSystem}, {Kind: "insurer"}, nil,
		{Kind: carnet.ActorProfessional, Profession: "99"}}
	types := append(carnet.DocTypes(), carnet.DocType{Code: "XYZ"})
	for _, r := range Reasons() {
		if clause := (&explainer{p: testPolicy, r: &Request{}, n: ExplainNames{Location: time.UTC}}).clause(r); strings.Contains(clause, "aucune règle") {
			t.Errorf("reason %s has no words of its own", r)
		}
	}
	for _, a := range append(Actions(), ActionNone) {
		for _, actor := range actors {
			for i, r := range append(Reasons(), ReasonNone) {
				req := breakGlass(proRequest(a, "10", document(types[i%len(types)].Code)))
				req.Actor = actor
				req.Consent = consentOf(proID, func(c *carnet.Consent) { c.ExpiresAt, c.RevokedAt = ptr(now), ptr(now) })
				s := testPolicy.Explain(Decision{Allow: r.Allows(), Reason: r}, req, ExplainNames{})
				first, _ := utf8.DecodeRuneInString(s)
				if !unicode.IsUpper(first) || !strings.HasSuffix(s, ".") || strings.Count(s, ". ") > 0 ||
					strings.Contains(s, "  ") || strings.Contains(s, " .") || strings.Contains(s, " ,") ||
					strings.Contains(s, "%!") || !strings.Contains(s, " car ") {
					t.Errorf("%v / %s / %s: %q", actor, a, r, s)
				}
			}
		}
	}
}

func TestExplainNames(t *testing.T) {
	if got := person("Pr Durand"); got != "Le Pr Durand" {
		t.Error(got)
	}
	if got := person("Marie Martin"); got != "Marie Martin" {
		t.Error(got)
	}
	for in, want := range map[time.Time]string{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC):    "1er janvier 2026",
		time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC):   "15 août 2026",
		time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC): "31 décembre 2025",
	} {
		if got := frenchDate(in); got != want {
			t.Errorf("frenchDate(%v) = %q, want %q", in, got, want)
		}
	}
	long := breakGlass(proRequest(ActionReadProfile, "10", nil))
	long.EmergencyReason = strings.Repeat("très ", 60) + "\n grave"
	s := testPolicy.Explain(testPolicy.Decide(long), long, ExplainNames{})
	if strings.Contains(s, "\n") || !strings.Contains(s, "…") {
		t.Errorf("the reason should be trimmed to one bounded line: %q", s)
	}
	if len(docPhrases) != len(carnet.DocTypes()) {
		t.Errorf("%d document phrases for %d types", len(docPhrases), len(carnet.DocTypes()))
	}
}

// Decide does not allocate, whatever path it takes.
func TestDecideDoesNotAllocate(t *testing.T) {
	reqs := []Request{
		proRequest(ActionReadDocument, "70", document("11490-0")),
		proRequest(ActionReadDocument, "70", document("11502-2")),
		breakGlass(proRequest(ActionReadDocument, "10", document("11526-1", hiddenFromPros))),
		regulation(ActionReadProfile, nil),
		patientRequest(ActionReadDocument, document("11488-4")),
		representativeRequest(ActionListDocument, document("11488-4", hiddenFromReps)),
		{Action: ActionReadDocument, Actor: app("openid", "patient/DocumentReference.rs"), Settings: settings(), Doc: document("11488-4"), Now: now, Facts: Facts{AppAuthorized: true}},
		proRequest(ActionDepositDocument, "10", document("11488-4", byActor)),
	}
	g, err := ParseGrid(strings.NewReader(string(defaultGridData) + specialtyRows))
	if err != nil {
		t.Fatal(err)
	}
	withSpecialties := New(g, Options{})
	for i, r := range reqs {
		r.Actor.Specialty = "SM42"
		if n := testing.AllocsPerRun(100, func() { testPolicy.Decide(r); withSpecialties.Decide(r) }); n != 0 {
			t.Errorf("request %d: %v allocations", i, n)
		}
	}
}
