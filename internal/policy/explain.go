package policy

import (
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// ExplainNames are the display data Explain needs beyond the request.
type ExplainNames struct {
	// Actor is who acts, as the patient knows them ("Dr Marie Martin", an app's name); empty:
	// Actor.Name.
	Actor string
	// Structure is the name of the actor's structure; empty: Actor.StructureName.
	Structure string
	// Location is the time zone of the dates shown; nil: UTC. Pass Europe/Paris.
	Location *time.Location
}

// Explain returns the decision as one French sentence that the patient understands, such as
// "Le Dr Martin, masseur-kinésithérapeute, peut lire ce compte rendu de consultation car vous
// l'avez autorisé le 3 mars 2026 et la grille l'autorise pour sa profession." The patient (or
// their legal representative) is addressed as "vous". Unlike Decide, Explain allocates.
func (p *Policy) Explain(d Decision, req Request, n ExplainNames) string {
	e := explainer{p: p, r: &req, n: n}
	if req.Actor != nil {
		if e.n.Actor == "" {
			e.n.Actor = strings.TrimSpace(req.Actor.Name)
		}
		if e.n.Structure == "" {
			e.n.Structure = strings.TrimSpace(req.Actor.StructureName)
		}
		e.you = req.Actor.Kind == carnet.ActorPatient || req.Actor.Kind == carnet.ActorRepresentative
		e.child = req.Actor.Kind == carnet.ActorRepresentative
		e.app = req.Actor.Kind == carnet.ActorApp
	}
	if e.n.Location == nil {
		e.n.Location = time.UTC
	}
	var b strings.Builder
	b.WriteString(e.subject())
	b.WriteByte(' ')
	b.WriteString(e.verb(d.Allow))
	b.WriteByte(' ')
	b.WriteString(e.object())
	b.WriteString(e.clause(d.Reason))
	b.WriteByte('.')
	return b.String()
}

type explainer struct {
	p     *Policy
	r     *Request
	n     ExplainNames
	you   bool // the actor is the patient or their representative: "vous"
	child bool // the actor is a representative: the space is their child's
	app   bool // the actor is an app: feminine agreement ("autorisée")
}

// subject names the actor, with their profession in apposition.
func (e *explainer) subject() string {
	a := e.r.Actor
	if a == nil {
		return "Cet intervenant"
	}
	switch a.Kind {
	case carnet.ActorPatient, carnet.ActorRepresentative:
		return "Vous"
	case carnet.ActorProfessional:
		label := a.Profession.Label()
		if e.n.Actor == "" {
			if label == "" {
				return "Ce professionnel"
			}
			return "Ce professionnel, " + label + ","
		}
		if label == "" {
			return person(e.n.Actor)
		}
		return person(e.n.Actor) + ", " + label + ","
	case carnet.ActorRegulator:
		if e.n.Actor == "" {
			return "Le médecin régulateur du SAMU (centre 15)"
		}
		return person(e.n.Actor) + ", médecin régulateur du SAMU (centre 15),"
	case carnet.ActorApp:
		if e.n.Actor == "" {
			return "Cette application"
		}
		return "L'application « " + e.n.Actor + " »"
	case carnet.ActorOperator:
		return "Un agent de l'Assurance Maladie"
	case carnet.ActorSystem:
		return "Carnet"
	}
	return "Cet intervenant"
}

// person puts the article before a title: "Dr Martin" → "Le Dr Martin".
func person(name string) string {
	for _, title := range []string{"Dr ", "Dr. ", "Pr ", "Pr. "} {
		if strings.HasPrefix(name, title) {
			return "Le " + name
		}
	}
	return name
}

func (e *explainer) verb(allow bool) string {
	switch {
	case e.you && allow:
		return "pouvez"
	case e.you:
		return "ne pouvez pas"
	case allow:
		return "peut"
	}
	return "ne peut pas"
}

// yours returns the owner's form ("votre profil médical") or, for a representative, the child's
// form ("le profil médical de votre enfant").
func (e *explainer) yours(owner, child string) string {
	if e.child {
		return child
	}
	return owner
}

// object says what the actor wanted to do.
func (e *explainer) object() string {
	doc := e.docPhrase()
	switch e.r.Action {
	case ActionReadDocument:
		return "lire " + doc
	case ActionListDocument:
		return "voir " + doc + " dans la liste des documents"
	case ActionDepositDocument:
		return "ajouter " + doc + e.yours(" à votre espace santé", " à l'espace santé de votre enfant")
	case ActionReplaceDocument:
		return "remplacer " + doc + " par une nouvelle version"
	case ActionDeleteDocument:
		return "supprimer " + doc
	case ActionHideDocument:
		return "masquer " + doc + " aux professionnels"
	case ActionUnhideDocument:
		return "rendre " + doc + " de nouveau visible aux professionnels"
	case ActionRevealToPatient:
		return "rendre " + doc + e.yours(" visible pour vous", " visible pour votre enfant")
	case ActionRevealToRepresentatives:
		return "rendre " + doc + e.yours(" visible à vos représentants légaux", " visible aux représentants légaux")
	case ActionReadProfile:
		return "consulter " + e.yours("votre profil médical", "le profil médical de votre enfant")
	case ActionWriteProfile:
		return "modifier " + e.yours("votre profil médical", "le profil médical de votre enfant")
	case ActionReadVaccinations:
		return "consulter " + e.yours("vos vaccinations", "les vaccinations de votre enfant")
	case ActionAddVaccination:
		return "ajouter une vaccination " + e.yours("à votre profil médical", "au profil médical de votre enfant")
	case ActionReadWishes:
		return "consulter " + e.yours("votre rubrique « Entourage et volontés »", "la rubrique « Entourage et volontés » de votre enfant")
	case ActionWriteWishes:
		return "modifier " + e.yours("votre rubrique « Entourage et volontés »", "la rubrique « Entourage et volontés » de votre enfant")
	case ActionWriteSettings:
		return "modifier " + e.yours("vos paramètres de confidentialité", "les paramètres de confidentialité de votre enfant")
	case ActionBlock:
		return "bloquer l'accès d'un professionnel " + e.space()
	case ActionUnblock:
		return "débloquer l'accès d'un professionnel " + e.space()
	case ActionDeclareConsent:
		return "enregistrer un accord d'accès " + e.space()
	case ActionRevokeConsent:
		return "retirer un accord d'accès " + e.space()
	case ActionReadHistory:
		return "consulter l'historique d'activité " + e.yours("de votre espace santé", "de l'espace santé de votre enfant")
	case ActionSetAdministrator:
		return "désigner l'administrateur " + e.yours("de votre espace santé", "de l'espace santé de votre enfant")
	}
	return "effectuer cette action"
}

func (e *explainer) space() string {
	return e.yours("à votre espace santé", "à l'espace santé de votre enfant")
}

// docPhrase is the document with a demonstrative: "ce compte rendu de consultation".
func (e *explainer) docPhrase() string {
	if e.r.Doc != nil {
		if s, ok := docPhrases[e.r.Doc.TypeCode]; ok {
			return s
		}
	}
	return "ce document"
}

// docPhrases give each document type its demonstrative and gender.
var docPhrases = map[string]string{
	"11490-0":      "cette lettre de liaison de sortie",
	"11488-4":      "ce compte rendu de consultation",
	"11502-2":      "ce compte rendu d'examens biologiques",
	"18748-4":      "ce compte rendu d'imagerie",
	"11526-1":      "ce compte rendu d'anatomo-pathologie",
	"15507-7":      "ce compte rendu de passage aux urgences",
	"15508-5":      "ce compte rendu d'accouchement",
	"18761-7":      "cette synthèse de transfert",
	"18776-5":      "ce plan de soins",
	"11369-6":      "cet historique des vaccinations",
	"29274-8":      "ce relevé de signes vitaux et de mesures",
	"57833-6":      "cette prescription de médicaments",
	"60593-1":      "cette dispensation de médicaments",
	"PRESC-BIO":    "cette prescription d'actes de biologie",
	"PRESC-KINE":   "cette prescription d'actes de kinésithérapie",
	"PRESC-INF":    "cette prescription d'actes infirmiers",
	"PRESC-AAT":    "cet avis d'arrêt de travail",
	"PROT_ALD":     "ce protocole de soins ALD",
	"REMB":         "ce relevé de remboursements",
	"ATTEST-RESID": "cette attestation de résidence",
	"EXPPAT_1":     "ce document de volontés et droits",
	"DOCPAT01":     "ce document personnel (synthèse)",
	"DOCPAT02":     "ce document personnel (traitement)",
	"DOCPAT03":     "ce document personnel (compte rendu)",
	"DOCPAT04":     "ce document personnel (dépistage, vaccination, prévention)",
	"DOCPAT05":     "ce document personnel (certificat)",
	"DOCPAT06":     "ce document personnel (imagerie)",
	"DOCPAT07":     "ce document personnel (biologie)",
	"DOCPAT08":     "ce document personnel (ordonnance)",
	"DOCPAT09":     "ce document personnel (autre)",
}

// clause is " car …" (or the mode and " car …"): why.
func (e *explainer) clause(r Reason) string {
	if s := e.allowClause(r); s != "" {
		return s
	}
	return e.denyClause(r)
}

func (e *explainer) allowClause(r Reason) string {
	switch r {
	case ReasonPatient:
		return " car c'est votre espace santé"
	case ReasonRepresentative:
		return " car vous êtes le représentant légal de cet enfant mineur"
	case ReasonConsent:
		if e.readsDocument() {
			return " car " + e.consented() + " et la grille l'autorise pour sa profession"
		}
		return " car " + e.consented()
	case ReasonTreatingDoctor:
		return " car c'est " + e.yours("votre médecin traitant", "le médecin traitant de votre enfant") +
			" et " + e.consented()
	case ReasonAuthor:
		if e.readsDocument() {
			return " car c'est l'auteur de ce document et " + e.consented()
		}
		return " car c'est l'auteur de ce document"
	case ReasonAdministrator:
		s := " car vous l'avez désigné comme administrateur " + e.yours("de votre espace santé", "de l'espace santé de votre enfant")
		if e.readsDocument() || e.r.Action.ReadsHealthContent() {
			s += " et " + e.consented()
		}
		return s
	case ReasonRegulation:
		return " en mode centre 15 (motif : « " + e.reason() + " »), car vous n'avez pas désactivé ce mode" + e.gridToo()
	case ReasonBreakGlass:
		return " en mode bris de glace (motif : « " + e.reason() + " ») jusqu'au " +
			e.dateTime(e.p.EmergencyDeadline(carnet.ModeBreakGlass, e.r.EmergencyStart)) +
			", car vous n'avez pas désactivé ce mode" + e.gridToo()
	case ReasonFeeding:
		return " car les professionnels de santé peuvent alimenter l'espace santé sans accord préalable"
	case ReasonConsentDeclaration:
		if e.r.Action == ActionRevokeConsent {
			return " car un professionnel peut renoncer à l'accès que vous lui aviez accordé"
		}
		return " car c'est au professionnel de déclarer l'accord que vous lui donnez"
	case ReasonAppScope:
		return " car vous l'avez autorisée à le faire"
	case ReasonSystemFeed:
		return " car l'Assurance Maladie y verse vos données de remboursement"
	}
	return ""
}

func (e *explainer) denyClause(r Reason) string {
	switch r {
	case ReasonIncomplete:
		return " car la demande est incomplète"
	case ReasonUnknownAction:
		return " car cette action n'existe pas"
	case ReasonPatientMismatch:
		return " car ce document n'appartient pas à cet espace santé"
	case ReasonSpaceNotOpen:
		return " car cet espace santé n'est pas ouvert (pas encore créé, refusé ou fermé)"
	case ReasonOperator:
		return " car les agents de l'Assurance Maladie n'ont jamais accès au contenu de santé"
	case ReasonUnknownActor:
		return " car seuls vous, vos représentants légaux et les professionnels de santé que vous autorisez y ont accès"
	case ReasonNotOwner:
		return " car ce n'est pas votre espace santé"
	case ReasonNotRepresentative:
		return " car vous n'êtes pas enregistré comme représentant légal de ce patient mineur"
	case ReasonNotPermitted:
		return " car cette action " + e.pick("ne vous est pas ouverte", "ne lui est pas ouverte")
	case ReasonModeNotAllowed:
		return " car le mode d'accès « " + modeOf(e.r).Label() + " » ne le permet pas"
	case ReasonInactive:
		return " car ce professionnel n'est pas en exercice selon l'annuaire des professionnels de santé"
	case ReasonBlocked:
		return " car vous avez bloqué son accès " + e.space()
	case ReasonStructureBlocked:
		if e.n.Structure != "" {
			return " car vous avez bloqué l'accès de son établissement (" + e.n.Structure + ")"
		}
		return " car vous avez bloqué l'accès de son établissement"
	case ReasonHideAll:
		return " car vous avez choisi de tout masquer aux professionnels, sauf à votre administrateur"
	case ReasonNoConsent:
		return " car vous ne l'avez pas autorisé à accéder " + e.space()
	case ReasonConsentExpired:
		return " car l'accord que vous lui aviez donné a expiré" + e.consentDate(func(c *carnet.Consent) *time.Time { return c.ExpiresAt })
	case ReasonConsentRevoked:
		return " car vous avez retiré votre accord" + e.consentDate(func(c *carnet.Consent) *time.Time { return c.RevokedAt })
	case ReasonConsentPurpose:
		if c := e.r.Consent; c != nil && c.Purpose != "" {
			return " car votre accord est limité au motif « " + c.Purpose + " »"
		}
		return " car votre accord ne couvre pas ce motif d'accès"
	case ReasonGridDenied:
		return " car la grille d'habilitation ne l'autorise pas pour sa profession"
	case ReasonUnknownProfession:
		return " car sa profession ne donne pas accès à l'espace santé"
	case ReasonUnknownType:
		return " car ce type de document n'est pas reconnu"
	case ReasonHiddenFromProfessionals:
		return " car ce document est masqué aux professionnels"
	case ReasonHiddenFromPatient:
		return " car ce document " + e.yours("ne vous sera rendu visible", "ne sera rendu visible") +
			" qu'après une consultation avec un professionnel de santé"
	case ReasonHiddenFromRepresentatives:
		return " car ce document concerne des soins confidentiels de votre enfant"
	case ReasonDeleted:
		return " car ce document a été supprimé"
	case ReasonNotCurrent:
		return " car ce document a été remplacé par une version plus récente ou archivé"
	case ReasonNotAuthor:
		if e.r.Action == ActionDepositDocument {
			return " car un document ne peut être déposé qu'au nom de son auteur"
		}
		return " car " + e.pick("vous n'en êtes pas l'auteur", "ce n'est pas l'auteur de ce document")
	case ReasonExclusiveFlags:
		return " car un document ne peut pas être à la fois masqué aux professionnels et invisible pour le patient"
	case ReasonFlagsNotAllowed:
		return " car ce réglage de visibilité " + e.pick("ne vous est pas permis", "ne lui est pas permis")
	case ReasonTypeNotAllowed:
		return " car ce type de document " + e.pick("ne peut pas être déposé par vous", "ne peut pas être déposé par "+e.pronoun())
	case ReasonRegulationDisabled:
		return " car vous avez désactivé l'accès en mode centre 15"
	case ReasonBreakGlassDisabled:
		return " car vous avez désactivé l'accès en mode bris de glace"
	case ReasonEmergencyReasonMissing:
		return " car aucun motif d'urgence n'a été enregistré"
	case ReasonNoEmergencySession:
		return " car aucune session d'urgence n'est en cours"
	case ReasonRegulationExpired:
		return " car son accès en mode centre 15 a pris fin le " +
			e.dateTime(e.p.EmergencyDeadline(carnet.ModeRegulation, e.r.EmergencyStart))
	case ReasonBreakGlassExpired:
		return " car son accès en mode bris de glace a pris fin le " +
			e.dateTime(e.p.EmergencyDeadline(carnet.ModeBreakGlass, e.r.EmergencyStart))
	case ReasonAppNotAuthorized:
		return " car vous ne l'avez pas autorisée à se connecter " + e.space()
	case ReasonScopeMissing:
		return " car vous ne lui avez pas donné cette autorisation"
	case ReasonCandidateNeverAccessed:
		return " car ce professionnel n'a encore jamais consulté " + e.yours("votre espace santé", "l'espace santé de votre enfant")
	}
	return " car aucune règle ne le permet"
}

// pronoun is the actor's stressed pronoun: "elle" for an app, "lui" otherwise.
func (e *explainer) pronoun() string {
	if e.app {
		return "elle"
	}
	return "lui"
}

// pick returns the second-person or third-person form.
func (e *explainer) pick(you, other string) string {
	if e.you {
		return you
	}
	return other
}

// readsDocument: the action is judged by the grid.
func (e *explainer) readsDocument() bool {
	switch e.r.Action {
	case ActionReadDocument, ActionListDocument, ActionRevealToPatient:
		return true
	}
	return false
}

// gridToo adds the grid when it was consulted and allows.
func (e *explainer) gridToo() string {
	a, d := e.r.Actor, e.r.Doc
	if !e.readsDocument() || a == nil || d == nil {
		return ""
	}
	prof := a.Profession
	if a.Kind == carnet.ActorRegulator {
		prof = professionMedecin
	}
	if !e.p.grid.Allows(prof, a.Specialty, d.TypeCode) {
		return ""
	}
	return " et la grille l'autorise pour sa profession"
}

// consented is "vous l'avez autorisé le 3 mars 2026", with the purpose and expiry if any.
func (e *explainer) consented() string {
	s := "vous l'avez autorisé"
	if e.app {
		s += "e"
	}
	c := e.r.Consent
	if c == nil {
		return s
	}
	if !c.DeclaredAt.IsZero() {
		s += " le " + e.date(c.DeclaredAt)
	}
	if c.Purpose != "" {
		s += " pour le motif « " + c.Purpose + " »"
	}
	if c.ExpiresAt != nil {
		s += " (accord valable jusqu'au " + e.date(*c.ExpiresAt) + ")"
	}
	return s
}

func (e *explainer) consentDate(field func(*carnet.Consent) *time.Time) string {
	if c := e.r.Consent; c != nil {
		if t := field(c); t != nil {
			return " le " + e.date(*t)
		}
	}
	return ""
}

// reason is the recorded emergency reason, trimmed and bounded.
func (e *explainer) reason() string {
	s := strings.Join(strings.Fields(e.r.EmergencyReason), " ")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	return s
}

// date is "3 mars 2026" ("1er mars 2026" on the first).
func (e *explainer) date(t time.Time) string { return frenchDate(t.In(e.n.Location)) }

// dateTime is "8 mars 2026 à 14 h 05".
func (e *explainer) dateTime(t time.Time) string {
	t = t.In(e.n.Location)
	return frenchDate(t) + " à " + strconv.Itoa(t.Hour()) + " h " + twoDigit(t.Minute())
}

func frenchDate(t time.Time) string { return carnet.FrenchDate(t) }

func twoDigit(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
