package audit

import (
	"encoding/csv"
	"io"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Paris even on hosts without a time zone database
	"unicode"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// actionLabels are the French labels of the actions recorded by the service. Both spellings of
// the reveal and block actions are listed (the policy's codes and the earlier ones).
var actionLabels = map[string]string{
	"document.read":                      "Consultation d'un document",
	"document.list":                      "Consultation de la liste des documents",
	"document.deposit":                   "Ajout d'un document",
	"document.replace":                   "Remplacement d'un document par une nouvelle version",
	"document.delete":                    "Suppression d'un document",
	"document.hide":                      "Masquage d'un document aux professionnels",
	"document.unhide":                    "Fin du masquage d'un document aux professionnels",
	"document.reveal_patient":            "Document rendu visible au patient",
	"document.reveal_to_patient":         "Document rendu visible au patient",
	"document.reveal_representatives":    "Document rendu visible aux représentants légaux",
	"document.reveal_to_representatives": "Document rendu visible aux représentants légaux",
	"profile.read":                       "Consultation du profil médical",
	"profile.add":                        "Ajout au profil médical",
	"profile.write":                      "Modification du profil médical",
	"vaccination.read":                   "Consultation des vaccinations",
	"vaccination.add":                    "Ajout d'une vaccination",
	"wishes.read":                        "Consultation d'Entourage et volontés",
	"wishes.write":                       "Modification d'Entourage et volontés",
	"settings.write":                     "Modification des paramètres de l'espace santé",
	"consent.declare":                    "Déclaration du consentement du patient",
	"consent.revoke":                     "Retrait du consentement",
	"block.add":                          "Blocage d'un professionnel",
	"block.create":                       "Blocage d'un professionnel",
	"block.remove":                       "Levée d'un blocage",
	"administrator.set":                  "Désignation de l'administrateur de l'espace santé",
	"emergency.start":                    "Début d'un accès en urgence",
	"history.read":                       "Consultation de l'historique d'activité",
	"history.export":                     "Export de l'historique d'activité",
	"export":                             "Export des données de l'espace santé",
	"patient.create":                     "Création de l'espace santé",
	"patient.activate":                   "Activation de l'espace santé",
	"patient.close":                      "Fermeture de l'espace santé",
	"patient.reopen":                     "Réouverture de l'espace santé",
	"patient.destroy":                    "Destruction des données de l'espace santé",
	"key.destroy":                        "Destruction de la clé de chiffrement des données",
	"patient.enrol":                      "Inscription par l'Assurance Maladie",
	"patient.autocreate":                 "Création automatique de l'espace santé (sans opposition)",
	"patient.oppose":                     "Opposition à la création de l'espace santé",
	"patient.request":                    "Création de l'espace santé à la demande de la personne",
	"patient.code":                       "Envoi d'un nouveau code provisoire",
	"patient.handover":                   "Fin de l'accès du représentant légal (majorité)",
	"settings.read":                      "Consultation des paramètres de l'espace santé",
	"account.activate":                   "Activation du compte",
	"account.login":                      "Connexion",
	"account.logout_all":                 "Déconnexion de tous les appareils",
	"account.code_failure":               "Code provisoire saisi incorrect",
	"account.totp_added":                 "Ajout d'une application d'authentification",
	"account.passkey_added":              "Ajout d'une clé d'accès",
}

// Parts of action codes, for the labels of codes not listed above.
var (
	actionObjects = map[string]string{
		"document": "un document", "profile": "le profil médical", "vaccination": "les vaccinations",
		"wishes": "Entourage et volontés", "settings": "les paramètres", "consent": "le consentement",
		"block": "un blocage", "administrator": "l'administrateur", "emergency": "un accès en urgence",
		"history": "l'historique d'activité", "patient": "l'espace santé", "key": "la clé de chiffrement",
		"message": "la messagerie", "appointment": "l'agenda", "app": "une application",
	}
	actionVerbs = map[string]string{
		"read": "Consultation", "list": "Consultation", "search": "Recherche", "add": "Ajout",
		"create": "Ajout", "deposit": "Ajout", "write": "Modification", "update": "Modification",
		"replace": "Remplacement", "delete": "Suppression", "remove": "Suppression",
		"destroy": "Destruction", "export": "Export", "hide": "Masquage", "start": "Début",
		"stop": "Fin",
	}
)

// ActionLabel returns the French label of an action code ("document.read" → "Consultation
// d'un document"). An unknown code gets a label built from its parts when they are known
// ("document.archive" → "Action sur un document (archive)"), else one that quotes it.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	if action == "" {
		return "Action non précisée"
	}
	object, verb, _ := strings.Cut(action, ".")
	o, okObject := actionObjects[object]
	v, okVerb := actionVerbs[verb]
	switch {
	case okObject && okVerb:
		return v + " : " + o
	case okObject && verb != "":
		return "Action sur " + o + " (" + verb + ")"
	}
	return "Action « " + action + " »"
}

// ModeLabel returns the French label of an access mode, "" for none.
func ModeLabel(m carnet.AccessMode) string {
	switch m {
	case "":
		return ""
	case carnet.ModeNormal:
		return "Normal"
	case carnet.ModeRegulation:
		return "Centre 15 (régulation médicale du SAMU)"
	case carnet.ModeBreakGlass:
		return "Bris de glace (urgence)"
	}
	return string(m)
}

// DecisionLabel returns "Autorisé" or "Refusé" (the recorded value if it is neither).
func DecisionLabel(decision string) string {
	switch decision {
	case carnet.DecisionAllow:
		return "Autorisé"
	case carnet.DecisionDeny:
		return "Refusé"
	}
	return decision
}

// ActorKindLabel returns the French name of a kind of actor.
func ActorKindLabel(k carnet.ActorKind) string {
	switch k {
	case carnet.ActorPatient:
		return "titulaire de l'espace santé"
	case carnet.ActorRepresentative:
		return "représentant légal"
	case carnet.ActorProfessional:
		return "professionnel de santé"
	case carnet.ActorRegulator:
		return "médecin régulateur du SAMU"
	case carnet.ActorApp:
		return "application"
	case carnet.ActorOperator:
		return "Assurance Maladie"
	case carnet.ActorSystem:
		return "Carnet (traitement automatique)"
	}
	return string(k)
}

// reasonLabels are the French labels of the policy's reason codes (internal/policy), for display.
var reasonLabels = map[string]string{
	"patient":                      "Titulaire de l'espace santé",
	"representative":               "Représentant légal",
	"consent":                      "Consentement du patient",
	"treating_doctor":              "Médecin traitant",
	"author":                       "Auteur du document",
	"administrator":                "Administrateur de l'espace santé",
	"regulation":                   "Mode centre 15",
	"break_glass":                  "Bris de glace",
	"feeding":                      "Alimentation de l'espace santé",
	"consent_declaration":          "Déclaration de consentement",
	"app_scope":                    "Application autorisée par le patient",
	"system_feed":                  "Alimentation automatique",
	"incomplete_request":           "Demande incomplète",
	"unknown_action":               "Action inconnue",
	"patient_mismatch":             "Document d'un autre patient",
	"operator":                     "L'Assurance Maladie n'accède pas aux données de santé",
	"unknown_actor":                "Demandeur inconnu",
	"not_owner":                    "Espace santé d'une autre personne",
	"not_representative":           "Pas représentant légal",
	"not_permitted":                "Action non permise",
	"mode_not_allowed":             "Action non permise dans ce mode d'accès",
	"inactive_professional":        "Professionnel inactif",
	"blocked":                      "Professionnel bloqué par le patient",
	"structure_blocked":            "Structure bloquée par le patient",
	"hide_all":                     "Espace santé entièrement masqué",
	"no_consent":                   "Pas de consentement déclaré",
	"consent_expired":              "Consentement expiré",
	"consent_revoked":              "Consentement retiré",
	"consent_purpose":              "Consentement donné pour un autre motif",
	"grid_denied":                  "Type de document non accessible à cette profession",
	"unknown_profession":           "Profession inconnue",
	"unknown_type":                 "Type de document inconnu",
	"hidden_from_professionals":    "Document masqué aux professionnels",
	"hidden_from_patient":          "Document pas encore visible par le patient",
	"hidden_from_representatives":  "Document invisible aux représentants légaux",
	"deleted":                      "Document supprimé",
	"not_current":                  "Version remplacée",
	"not_author":                   "Réservé à l'auteur du document",
	"exclusive_flags":              "Masquages incompatibles",
	"flags_not_allowed":            "Masquage non permis",
	"type_not_allowed":             "Type de document non permis",
	"regulation_disabled":          "Mode centre 15 désactivé par le patient",
	"break_glass_disabled":         "Bris de glace désactivé par le patient",
	"emergency_reason_missing":     "Motif de l'urgence manquant",
	"no_emergency_session":         "Pas d'accès en urgence en cours",
	"regulation_expired":           "Accès centre 15 terminé",
	"break_glass_expired":          "Accès en bris de glace terminé",
	"app_not_authorized":           "Application non autorisée par le patient",
	"scope_missing":                "Autorisation de l'application insuffisante",
	"administrator_never_accessed": "Le professionnel n'a jamais accédé à l'espace santé",
}

// ReasonLabel returns the recorded reason in French: the policy's code ("blocked") becomes its
// label, and what follows it (" ; motif : ..." for an emergency) is kept. Text that is not a
// known code is returned as is.
func ReasonLabel(reason string) string {
	code, rest, found := strings.Cut(reason, " ; ")
	code, _, _ = strings.Cut(code, "@") // the grid version a decision records ("no_consent@2023-10-26.1")
	l, ok := reasonLabels[strings.TrimSpace(code)]
	if !ok {
		return reason
	}
	if found {
		return l + " ; " + rest
	}
	return l
}

// TargetLabel returns the French description of what an action concerned.
func TargetLabel(targetType, targetID string) string {
	var l string
	switch targetType {
	case "":
		return targetID
	case "document":
		l = "Document"
	case "profile":
		l = "Profil médical"
	case "vaccination":
		l = "Vaccination"
	case "wishes":
		l = "Entourage et volontés"
	case "settings":
		return "Paramètres de l'espace santé"
	case "consent":
		l = "Consentement"
	case "block":
		l = "Blocage"
	case "patient":
		return "Espace santé"
	case "history":
		return "Historique d'activité"
	default:
		l = upperFirst(targetType)
	}
	if targetID == "" {
		return l
	}
	return l + " (réf. " + targetID + ")"
}

// ParisLocation returns the Europe/Paris time zone, or, should it be missing, a fixed zone at
// UTC+1 named CET (winter time; summer dates are then an hour early).
func ParisLocation() *time.Location { return parisLocation() }

var parisLocation = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
})

// HistoryEntry is one event of the history, as the patient's pages show it.
type HistoryEntry struct {
	Time       time.Time // in the History's time zone
	Date       string    // "01/03/2026 10:31:05"
	Who        string    // "Dr Marie Martin", "Jeanne Dupont (représentant légal)"
	Profession string    // "Médecin", "" when not a professional
	Structure  string
	Action     string
	Target     string
	Mode       string
	Decision   string
	Reason     string
	Emergency  bool // centre 15 or bris de glace: to highlight
	Denied     bool
}

// History turns audit events into what the patient reads. The zero value shows dates in
// Europe/Paris and reasons with ReasonLabel.
type History struct {
	Location *time.Location             // nil: ParisLocation()
	Reason   func(reason string) string // nil: ReasonLabel
}

// Entry returns the view of one event.
func (h History) Entry(e *carnet.AuditEvent) HistoryEntry {
	loc := h.Location
	if loc == nil {
		loc = ParisLocation()
	}
	reason := h.Reason
	if reason == nil {
		reason = ReasonLabel
	}
	t := e.Time.In(loc)
	who := strings.TrimSpace(e.ActorName)
	qualifier := ""
	switch e.ActorKind {
	case carnet.ActorPatient, carnet.ActorRepresentative, carnet.ActorRegulator, carnet.ActorApp, carnet.ActorOperator:
		qualifier = ActorKindLabel(e.ActorKind)
	}
	switch {
	case who == "":
		who = upperFirst(ActorKindLabel(e.ActorKind))
	case qualifier != "":
		who += " (" + qualifier + ")"
	}
	return HistoryEntry{
		Time:       t,
		Date:       t.Format("02/01/2006 15:04:05"),
		Who:        who,
		Profession: upperFirst(e.ActorProfession.Label()),
		Structure:  e.ActorStructure,
		Action:     ActionLabel(e.Action),
		Target:     TargetLabel(e.TargetType, e.TargetID),
		Mode:       ModeLabel(e.Mode),
		Decision:   DecisionLabel(e.Decision),
		Reason:     reason(e.Reason),
		Emergency:  e.Mode == carnet.ModeRegulation || e.Mode == carnet.ModeBreakGlass,
		Denied:     e.Decision == carnet.DecisionDeny,
	}
}

// csvHeader is the first line of the CSV export.
var csvHeader = []string{"Date", "Qui", "Profession", "Structure", "Action", "Cible", "Mode", "Décision", "Motif"}

// WriteCSV writes the events as CSV for a spreadsheet, one line each in the given order, after
// a header line: Date, Qui, Profession, Structure, Action, Cible, Mode, Décision, Motif. It follows the French spreadsheet habit: a UTF-8 byte order mark, ";" as
// the separator, CRLF line ends. Cells that a spreadsheet would run as a formula (starting with
// =, +, -, @) are prefixed with an apostrophe: actor names and emergency reasons are typed by
// users.
func (h History) WriteCSV(w io.Writer, events []*carnet.AuditEvent) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range events {
		x := h.Entry(e)
		row := []string{x.Date, x.Who, x.Profession, x.Structure, x.Action, x.Target, x.Mode, x.Decision, x.Reason}
		for i := range row {
			row[i] = defuse(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSV writes the events as CSV with the default History (Europe/Paris, French reasons).
func WriteCSV(w io.Writer, events []*carnet.AuditEvent) error { return History{}.WriteCSV(w, events) }

// defuse keeps a spreadsheet from taking a cell for a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
