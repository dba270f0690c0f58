package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/service"
)

// The patient's own pages: the home of the space, the documents (list, one document with its
// content, visibility and access history, upload). Every page exists twice: for the patient at
// /espace/..., and for a parent in a child's space at /espace/enfants/{enfant}/..., where the
// patient middleware makes the parent the child's legal representative. Everything goes through
// the service, which decides and records each access.

// Upload limits: the file itself (the service's default MaxBodySize; the service enforces its
// own), and the whole multipart body, which also carries the other fields.
const (
	spaceFileLimit    = 20 << 20
	spaceBodyLimit    = spaceFileLimit + 1<<20
	spaceUploadMemory = 8 << 20 // parts beyond this go to temporary files, removed after the request
)

// Listing bounds: the store returns at most 1 000 documents at once.
const (
	spaceListLimit    = 1000
	spaceHomeDocs     = 5
	spaceHomeAccesses = 8
	spaceHistoryScan  = 1000 // a document's latest events shown on its page
)

func (a *App) patientRoutes(mux *http.ServeMux) {
	for _, base := range []string{"/espace", "/espace/enfants/{enfant}"} {
		mux.Handle("GET "+base, a.patient(a.spaceHome))
		mux.Handle("GET "+base+"/documents", a.patient(a.spaceDocuments))
		mux.Handle("GET "+base+"/documents/ajout", a.patient(a.spaceUploadForm))
		mux.Handle("POST "+base+"/documents/ajout", a.spaceLimitUpload(a.patient(a.spaceUpload)))
		mux.Handle("GET "+base+"/documents/{doc}", a.patient(a.spaceDocument))
		mux.Handle("GET "+base+"/documents/{doc}/contenu", a.patient(a.spaceContent))
		mux.Handle("POST "+base+"/documents/{doc}/visibilite", a.patient(a.spaceVisibility))
	}
}

// spaceView is what every page of a space needs: the prefix of its links, whose space it is,
// and the CSRF token of its forms.
type spaceView struct {
	Base      string // "/espace" or "/espace/enfants/<id>"
	ChildName string // the child's name, in a parent's view of a child's space
	CSRF      string
}

func spaceOf(r *Request) spaceView {
	v := spaceView{Base: "/espace", CSRF: r.Session.CSRF}
	if r.Child != nil {
		v.Base, v.ChildName = "/espace/enfants/"+r.Child.ID, r.Child.DisplayName()
	}
	return v
}

// spaceDoc is a document as lists and pages show it.
type spaceDoc struct {
	ID, URL                   string
	Title                     string
	Type, Class               string
	Date                      string // of the act, e.g. "2 mars 2026"
	DateISO                   string
	Added                     string // deposit date and time
	New                       bool   // added in the last week
	Author                    string
	HiddenFromProfessionals   bool
	HiddenFromRepresentatives bool
	Deprecated                bool
	Status                    string
	Format                    string
	Size                      string
}

func (a *App) spaceDocRow(r *Request, base string, d *carnet.Document) spaceDoc {
	row := spaceDoc{ID: d.ID, URL: base + "/documents/" + d.ID, Title: d.Title, Date: spaceDate(d.ServiceDate.UTC()),
		DateISO: d.ServiceDate.UTC().Format(time.DateOnly), Author: spaceAuthor(r, d),
		HiddenFromProfessionals: d.HiddenFromProfessionals, HiddenFromRepresentatives: d.HiddenFromRepresentatives,
		Deprecated: d.Status == carnet.DocDeprecated, Status: spaceStatusLabel(d.Status), Format: spaceFormatLabel(d.MediaType),
		Size: spaceSize(d.Size)}
	if t, err := carnet.LookupDocType(d.TypeCode); err == nil {
		row.Type = t.Label
	} else {
		row.Type = d.TypeCode
	}
	row.Class = d.Class.Label()
	if !d.CreatedAt.IsZero() {
		row.Added = spaceDateTime(d.CreatedAt)
		row.New = a.now().Sub(d.CreatedAt) < 7*24*time.Hour
	}
	return row
}

func spaceAuthor(r *Request, d *carnet.Document) string {
	switch {
	case d.AuthorID != "" && d.AuthorID == r.Actor.ID:
		return "Vous"
	case d.AuthorKind == carnet.AuthorPatient && r.Child != nil && d.AuthorID == r.Child.ID:
		return r.Child.DisplayName()
	case d.AuthorName != "":
		return d.AuthorName
	case d.AuthorKind == carnet.AuthorSystem:
		return "Assurance Maladie"
	}
	return "Auteur non précisé"
}

// spaceEvent is an access to the space, by someone else, as the pages show it.
type spaceEvent struct {
	When       string
	Who        string
	Profession string
	Action     string
	Mode       string
	Emergency  bool
	Denied     bool
	DocTitle   string // the document concerned, when the page knows it
	DocURL     string
}

func spaceEvents(evs []*carnet.AuditEvent, docs map[string]spaceDoc, limit int) []spaceEvent {
	var out []spaceEvent
	for _, e := range evs {
		if limit > 0 && len(out) == limit {
			break
		}
		row := spaceEvent{When: spaceDateTime(e.Time), Who: e.ActorName, Profession: e.ActorProfession.Label(),
			Action: audit.ActionLabel(e.Action), Mode: "Normal", Denied: e.Decision == carnet.DecisionDeny}
		switch e.ActorKind {
		case carnet.ActorOperator:
			row.Who, row.Profession = "Assurance Maladie", "organisme d’assurance maladie"
		case carnet.ActorSystem:
			row.Who, row.Profession = "Carnet", "traitement automatique"
		case carnet.ActorRegulator:
			row.Profession = "médecin régulateur du SAMU"
		case carnet.ActorApp:
			row.Profession = "application référencée"
		}
		if row.Who == "" {
			row.Who = "Non précisé"
		}
		if row.Profession == "" {
			row.Profession = "—"
		}
		if e.Mode == carnet.ModeRegulation || e.Mode == carnet.ModeBreakGlass {
			row.Mode, row.Emergency = audit.ModeLabel(e.Mode), true
		}
		if e.TargetType == "document" {
			if d, ok := docs[e.TargetID]; ok {
				row.DocTitle, row.DocURL = d.Title, d.URL
			}
		}
		out = append(out, row)
	}
	return out
}

// spaceTile is a link to an area of the space on the home page.
type spaceTile struct {
	Title, Desc, URL string
}

type spaceHomeView struct {
	spaceView
	Name     string
	News     []spaceDoc
	Accesses []spaceEvent
	Tiles    []spaceTile
}

func (a *App) spaceHome(w http.ResponseWriter, r *Request) {
	v := spaceHomeView{spaceView: spaceOf(r), Name: r.Session.Patient.DisplayName()}
	docs, err := a.svc.ListDocuments(r.Context(), r.Actor, r.PatientID, carnet.DocumentFilter{
		Statuses: []carnet.DocStatus{carnet.DocCurrent}, Page: carnet.Page{Limit: 100}})
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	byID := map[string]spaceDoc{}
	for _, d := range docs {
		byID[d.ID] = a.spaceDocRow(r, v.Base, d)
	}
	// What's new: the latest deposits first (the store sorts by the date of the act).
	slices.SortStableFunc(docs, func(x, y *carnet.Document) int { return y.CreatedAt.Compare(x.CreatedAt) })
	for _, d := range docs[:min(len(docs), spaceHomeDocs)] {
		v.News = append(v.News, byID[d.ID])
	}
	evs, err := a.svc.History(r.Context(), r.Actor, r.PatientID, carnet.AuditFilter{Limit: 200})
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	others, _ := service.SplitOwn(evs)
	v.Accesses = spaceEvents(others, byID, spaceHomeAccesses)

	b := v.Base
	v.Tiles = []spaceTile{
		{"Documents", "Comptes rendus, ordonnances, résultats : consulter, ajouter, masquer", b + "/documents"},
		{"Profil médical", "Maladies, traitements, allergies, vaccinations, mesures", b + "/profil"},
		{"Entourage et volontés", "Personne de confiance, directives anticipées, don d’organes", b + "/volontes"},
		{"Paramètres", "Qui peut accéder à l’espace, urgences, notifications", b + "/parametres"},
		{"Historique d’activité", "Toutes les actions et tous les accès à l’espace", b + "/historique"},
	}
	if r.Child == nil {
		children, err := a.svc.Children(r.Context(), r.Actor)
		if err != nil {
			a.site.Error(w, r.Request, err)
			return
		}
		if len(children) > 0 {
			v.Tiles = append(v.Tiles, spaceTile{"Mes enfants", "Les espaces santé des enfants dont vous êtes le représentant légal", "/espace/enfants"})
		}
		v.Tiles = append(v.Tiles, spaceTile{"Sécurité du compte", "Second facteur, clés d’accès, connexions", "/espace/securite"})
	}
	v.Tiles = append(v.Tiles, spaceTile{"Fermer l’espace santé", "Archiver ou détruire les données de l’espace", b + "/fermeture"})
	a.render(w, r.Request, http.StatusOK, "espace", v)
}

// spaceOption is one choice of a select.
type spaceOption struct {
	Value, Label string
	Selected     bool
}

type spaceOptionGroup struct {
	Label   string
	Options []spaceOption
}

type spaceDocGroup struct {
	ID, Label string
	Docs      []spaceDoc
}

type spaceDocumentsView struct {
	spaceView
	Groups    []spaceDocGroup
	Count     int
	Classes   []spaceOption
	Types     []spaceOptionGroup
	From, To  string
	Old       bool
	Filtered  bool
	Truncated bool
	Errors    []string
}

func (a *App) spaceDocuments(w http.ResponseWriter, r *Request) {
	v := spaceDocumentsView{spaceView: spaceOf(r)}
	q := r.URL.Query()
	f := carnet.DocumentFilter{Statuses: []carnet.DocStatus{carnet.DocCurrent, carnet.DocArchived}, Page: carnet.Page{Limit: spaceListLimit}}
	class, typ := q.Get("categorie"), q.Get("type")
	if class != "" {
		if carnet.DocClass(class).Valid() {
			f.Classes = []carnet.DocClass{carnet.DocClass(class)}
		} else {
			v.Errors, class = append(v.Errors, "Catégorie inconnue : le filtre par catégorie est ignoré."), ""
		}
	}
	if typ != "" {
		if _, err := carnet.LookupDocType(typ); err == nil {
			f.TypeCodes = []string{typ}
		} else {
			v.Errors, typ = append(v.Errors, "Type de document inconnu : le filtre par type est ignoré."), ""
		}
	}
	var from, to time.Time
	var ok bool
	if from, ok = spaceParseDay(q.Get("du")); !ok {
		v.Errors = append(v.Errors, "La date de début n’est pas une date valide (jj/mm/aaaa) : elle est ignorée.")
	} else if !from.IsZero() {
		f.From, v.From = from, from.Format(time.DateOnly)
	}
	if to, ok = spaceParseDay(q.Get("au")); !ok {
		v.Errors = append(v.Errors, "La date de fin n’est pas une date valide (jj/mm/aaaa) : elle est ignorée.")
	} else if !to.IsZero() {
		f.To, v.To = to.AddDate(0, 0, 1), to.Format(time.DateOnly) // the whole last day
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.Errors = append(v.Errors, "La date de fin précède la date de début : aucun document ne peut correspondre.")
	}
	if q.Get("anciennes") == "oui" {
		v.Old = true
		f.Statuses = append(f.Statuses, carnet.DocDeprecated)
	}
	v.Filtered = len(f.Classes) > 0 || len(f.TypeCodes) > 0 || !f.From.IsZero() || !f.To.IsZero() || v.Old

	docs, err := a.svc.ListDocuments(r.Context(), r.Actor, r.PatientID, f)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	v.Count, v.Truncated = len(docs), len(docs) >= spaceListLimit
	groups := map[carnet.DocClass][]spaceDoc{}
	for _, d := range docs {
		groups[d.Class] = append(groups[d.Class], a.spaceDocRow(r, v.Base, d))
	}
	for _, c := range carnet.DocClasses() {
		v.Classes = append(v.Classes, spaceOption{string(c), c.Label(), string(c) == class})
		if rows := groups[c]; len(rows) > 0 {
			slices.SortStableFunc(rows, func(x, y spaceDoc) int { return strings.Compare(y.DateISO, x.DateISO) })
			v.Groups = append(v.Groups, spaceDocGroup{ID: "categorie-" + string(c), Label: c.Label(), Docs: rows})
		}
		var g spaceOptionGroup
		for _, t := range carnet.DocTypes() {
			if t.Class == c {
				g.Options = append(g.Options, spaceOption{t.Code, t.Label, t.Code == typ})
			}
		}
		if len(g.Options) > 0 {
			g.Label = c.Label()
			v.Types = append(v.Types, g)
		}
	}
	a.render(w, r.Request, http.StatusOK, "documents", v)
}

// spaceParseDay reads a date of a form (yyyy-mm-dd from a date field, or dd/mm/yyyy typed by hand);
// an empty value is the zero time.
func spaceParseDay(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.DateOnly, "02/01/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

type spaceDocumentView struct {
	spaceView
	Doc         spaceDoc
	ContentURL  string
	DownloadURL string
	Viewer      string // "cadre" (iframe), "image" or "" (download only)
	WhoCanSee   []string
	Accesses    []spaceEvent
	Done        string
	Error       string
}

func (a *App) spaceDocument(w http.ResponseWriter, r *Request) {
	a.spaceDocumentPage(w, r, http.StatusOK, "")
}

// spaceDocumentPage renders a document's page, with an error of a refused change if any.
func (a *App) spaceDocumentPage(w http.ResponseWriter, r *Request, status int, errMsg string) {
	v := spaceDocumentView{spaceView: spaceOf(r), Error: errMsg}
	id := r.PathValue("doc")
	d, err := a.svc.DocumentInfo(r.Context(), r.Actor, r.PatientID, id)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	v.Doc = a.spaceDocRow(r, v.Base, d)
	v.ContentURL = v.Doc.URL + "/contenu"
	v.DownloadURL = v.ContentURL + "?telecharger=1"
	switch d.MediaType {
	case "image/jpeg", "image/png":
		v.Viewer = "image"
	case "application/pdf", "text/plain", "text/xml", "application/xml":
		v.Viewer = "cadre"
	}
	switch r.URL.Query().Get("fait") {
	case "ajoute":
		v.Done = "Le document est ajouté à l’espace santé."
	case "masque":
		v.Done = "Le document est masqué aux professionnels de santé."
	case "affiche":
		v.Done = "Le document n’est plus masqué aux professionnels de santé."
	}
	settings, err := a.svc.Settings(r.Context(), r.Actor, r.PatientID)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	v.WhoCanSee = a.spaceWhoCanSee(r, d, settings)
	mine, err := a.svc.History(r.Context(), r.Actor, r.PatientID, carnet.AuditFilter{TargetType: "document", TargetID: d.ID,
		Limit: spaceHistoryScan})
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	others, _ := service.SplitOwn(mine)
	v.Accesses = spaceEvents(others, nil, 0)
	a.render(w, r.Request, status, "document", v)
}

// spaceWhoCanSee explains, in French, who may read a document: the patient's side, then the
// professionals by the rules of access (flags, "tout masquer", médecin traitant, author, the
// authorization grid, emergencies, blocks), and who never may.
func (a *App) spaceWhoCanSee(r *Request, d *carnet.Document, s *carnet.PatientSettings) []string {
	// The texts speak to the patient, or to the parent about the child.
	your, you, consent := "votre", "Vous.", "à qui vous avez donné votre consentement"
	if r.Child != nil {
		your, you, consent = "son", r.Child.DisplayName()+" et vous, son représentant légal.", "à qui le consentement a été donné"
	}
	out := []string{you}
	author := d.AuthorKind == carnet.AuthorProfessional
	switch {
	case d.HiddenFromProfessionals:
		var who []string
		if author {
			who = append(who, "son auteur ("+d.AuthorName+")")
		}
		if s.TreatingDoctorID != "" {
			who = append(who, your+" médecin traitant")
		}
		if s.AdministratorID != "" {
			who = append(who, "l’administrateur de "+your+" espace santé")
		}
		if len(who) == 0 {
			out = append(out, "Masqué aux professionnels : aucun professionnel de santé ne peut le consulter.")
		} else {
			out = append(out, "Masqué aux professionnels : seuls "+spaceList(who)+" peuvent le consulter.")
		}
	case s.HideAll:
		if s.AdministratorID != "" {
			out = append(out, "Tout est masqué : seul l’administrateur de "+your+" espace santé peut le consulter, même en urgence.")
		} else {
			out = append(out, "Tout est masqué : aucun professionnel de santé ne peut le consulter, même en urgence.")
		}
	default:
		if author {
			out = append(out, "Son auteur, "+d.AuthorName+".")
		}
		if s.TreatingDoctorID != "" {
			out = append(out, capitalize(your)+" médecin traitant, qui peut consulter tous les documents.")
		}
		grid := a.svc.Grid()
		var professions []string
		for _, p := range carnet.Professions() {
			if grid.Allows(p, "", d.TypeCode) {
				professions = append(professions, p.Label())
			}
		}
		if len(professions) == 0 {
			out = append(out, "Aucune autre profession de santé n’a accès à ce type de document.")
			break
		}
		out = append(out, "Les professionnels de santé "+consent+", si leur profession a accès à ce type de document : "+
			strings.Join(professions, ", ")+".")
		var modes []string
		if s.BreakGlassAllowed {
			modes = append(modes, "en mode bris de glace, ces mêmes professions face à un risque immédiat pour la santé")
		}
		if s.RegulationAllowed && grid.Allows("10", "", d.TypeCode) {
			modes = append(modes, "en mode centre 15, le médecin régulateur du SAMU pendant un appel d’urgence")
		}
		if len(modes) > 0 {
			out = append(out, "En urgence, "+strings.Join(modes, " ; ")+". Chaque accès en urgence est signalé.")
		}
		out = append(out, "Les professionnels bloqués n’y ont jamais accès.")
	}
	return append(out, "Jamais : ni les assureurs, ni les employeurs, ni les banques.")
}

// spaceList joins items as French prose: "a", "a et b", "a, b et c".
func spaceList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " et " + items[len(items)-1]
}

// spaceContent serves a document's body: inline, for the viewer of its page, or as an
// attachment (?telecharger=1). The answer may only be framed by Carnet's own pages and runs in a
// sandbox, so that a hostile file cannot act as Carnet.
func (a *App) spaceContent(w http.ResponseWriter, r *Request) {
	d, body, err := a.svc.ReadDocument(r.Context(), r.Actor, r.PatientID, r.PathValue("doc"))
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	ct := d.MediaType
	if strings.HasPrefix(ct, "text/") || ct == "application/xml" {
		ct += "; charset=utf-8"
	}
	disposition := "inline"
	if r.URL.Query().Get("telecharger") != "" {
		disposition = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": spaceFileName(d)}))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// spaceFileName is a document's file name: its title, reduced to letters, digits and a few signs,
// with the extension of its format.
func spaceFileName(d *carnet.Document) string {
	var b strings.Builder
	for _, c := range d.Title {
		switch {
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			b.WriteRune(c)
		case c == '-' || c == '_' || c == '.' || c == ' ':
			b.WriteRune(c)
		default:
			b.WriteRune(' ')
		}
	}
	name := strings.Join(strings.Fields(b.String()), " ")
	name = strings.Trim(name, ". ")
	if name == "" {
		name = "document"
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	return name + spaceExtension(d.MediaType)
}

func spaceExtension(mediaType string) string {
	switch mediaType {
	case "application/pdf":
		return ".pdf"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "text/plain":
		return ".txt"
	case "text/xml", "application/xml":
		return ".xml"
	}
	return ""
}

// spaceVisibility hides a document from professionals, or shows it to them again.
func (a *App) spaceVisibility(w http.ResponseWriter, r *Request) {
	change, done := service.HideFromProfessionals, "masque"
	switch r.PostFormValue("masquer") {
	case "oui":
	case "non":
		change, done = service.UnhideFromProfessionals, "affiche"
	default:
		a.site.Error(w, r.Request, carnet.Errorf(carnet.EINVALID, "Choix de visibilité manquant."))
		return
	}
	id := r.PathValue("doc")
	if _, err := a.svc.ChangeDocument(r.Context(), r.Actor, r.PatientID, id, change); err != nil {
		if st := statusOf(err); st == http.StatusForbidden || st == http.StatusConflict || st == http.StatusBadRequest {
			a.spaceDocumentPage(w, r, st, capitalize(carnet.ErrorMessage(err)))
			return
		}
		a.site.Error(w, r.Request, err)
		return
	}
	http.Redirect(w, r.Request, spaceOf(r).Base+"/documents/"+id+"?fait="+done, http.StatusSeeOther)
}

// spaceUploadView is the data of the upload form.
type spaceUploadView struct {
	spaceView
	Error  string            // the summary at the top
	Fields map[string]string // the error of each field
	Types  []spaceOption
	Title  string
	Date   string
	Hidden bool
	Today  string
	Limit  string
}

func (a *App) newSpaceUploadView(r *Request) spaceUploadView {
	v := spaceUploadView{spaceView: spaceOf(r), Fields: map[string]string{}, Today: a.now().In(spaceParis).Format(time.DateOnly),
		Limit: spaceSize(spaceFileLimit)}
	for _, t := range spacePatientTypes() {
		v.Types = append(v.Types, spaceOption{Value: t.Code, Label: t.Label})
	}
	return v
}

// spacePatientTypes are the types a patient (or a parent) may deposit: the patient documents.
func spacePatientTypes() []carnet.DocType {
	var out []carnet.DocType
	for _, t := range carnet.DocTypes() {
		if t.Class == "90" {
			out = append(out, t)
		}
	}
	return out
}

func (a *App) spaceUploadForm(w http.ResponseWriter, r *Request) {
	v := a.newSpaceUploadView(r)
	if r.URL.Query().Get("erreur") == "taille" {
		v.Error = "Le fichier est trop volumineux : " + v.Limit + " au plus."
		v.Fields["fichier"] = v.Error
		a.render(w, r.Request, http.StatusRequestEntityTooLarge, "document-ajout", v)
		return
	}
	a.render(w, r.Request, http.StatusOK, "document-ajout", v)
}

// spaceLimitUpload bounds an upload's body before anything reads it (the patient middleware reads
// the form for its CSRF check). A body too large sends back to the form, which says so.
func (a *App) spaceLimitUpload(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge := func() {
			http.Redirect(w, r, r.URL.EscapedPath()+"?erreur=taille", http.StatusSeeOther)
		}
		if r.ContentLength > spaceBodyLimit {
			tooLarge()
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, spaceBodyLimit)
		var tooBig *http.MaxBytesError
		if err := r.ParseMultipartForm(spaceUploadMemory); errors.As(err, &tooBig) {
			tooLarge()
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) spaceUpload(w http.ResponseWriter, r *Request) {
	v := a.newSpaceUploadView(r)
	v.Title = strings.TrimSpace(r.PostFormValue("titre"))
	v.Date = strings.TrimSpace(r.PostFormValue("date"))
	v.Hidden = r.PostFormValue("masquer") == "oui"
	typ := r.PostFormValue("type")
	for i := range v.Types {
		v.Types[i].Selected = v.Types[i].Value == typ
	}
	if !slices.ContainsFunc(spacePatientTypes(), func(t carnet.DocType) bool { return t.Code == typ }) {
		v.Fields["type"] = "Choisissez le type du document."
	}
	if v.Title == "" {
		v.Fields["titre"] = "Indiquez un titre."
	} else if len([]rune(v.Title)) > 200 {
		v.Fields["titre"] = "Le titre compte 200 caractères au plus."
	}
	date, ok := spaceParseDay(v.Date)
	switch {
	case !ok:
		v.Fields["date"] = "Indiquez une date valide, par exemple 02/03/2026."
	case date.After(spaceToday(a.now())):
		v.Fields["date"] = "La date ne peut pas être dans le futur."
	}
	var body []byte
	var mediaType string
	f, fh, err := r.FormFile("fichier")
	switch {
	case err != nil:
		v.Fields["fichier"] = "Choisissez un fichier."
	case fh.Size > spaceFileLimit:
		f.Close()
		v.Fields["fichier"] = "Le fichier est trop volumineux : " + v.Limit + " au plus."
	default:
		body, err = io.ReadAll(io.LimitReader(f, spaceFileLimit+1))
		f.Close()
		switch {
		case err != nil:
			v.Fields["fichier"] = "Le fichier n’a pas pu être lu : choisissez-le à nouveau."
		case len(body) == 0:
			v.Fields["fichier"] = "Le fichier est vide."
		case len(body) > spaceFileLimit:
			v.Fields["fichier"] = "Le fichier est trop volumineux : " + v.Limit + " au plus."
		default:
			if mediaType = spaceMediaType(fh.Filename, fh.Header.Get("Content-Type"), body); mediaType == "" {
				v.Fields["fichier"] = "Format non pris en charge : choisissez un fichier PDF, JPEG, PNG, texte ou XML."
			}
		}
	}
	if len(v.Fields) > 0 {
		v.Error = "Le formulaire comporte des erreurs : corrigez les champs signalés."
		if _, ok := v.Fields["fichier"]; !ok {
			v.Error += " Choisissez à nouveau le fichier."
		}
		a.render(w, r.Request, http.StatusBadRequest, "document-ajout", v)
		return
	}
	d, err := a.svc.DepositDocument(r.Context(), r.Actor, r.PatientID, service.NewDocument{TypeCode: typ, Title: v.Title,
		MediaType: mediaType, ServiceDate: date, Body: bytes.NewReader(body), HiddenFromProfessionals: v.Hidden})
	if err != nil {
		v.Error = capitalize(carnet.ErrorMessage(err)) + ". Choisissez à nouveau le fichier."
		if _, known := errorStatus[carnet.ErrorCode(err)]; !known {
			a.site.log.Error("web: deposit", "route", r.Pattern, "err", err)
			v.Error = "Le service rencontre un problème : réessayez dans quelques instants."
		}
		a.render(w, r.Request, statusOf(err), "document-ajout", v)
		return
	}
	http.Redirect(w, r.Request, v.Base+"/documents/"+d.ID+"?fait=ajoute", http.StatusSeeOther)
}

// spaceMediaType returns the media type of an uploaded file among those Carnet accepts: by its
// extension, else as the browser declared it, else by its first bytes; "" when none fits. The
// service then checks that the bytes match it.
func spaceMediaType(name, declared string, body []byte) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".pdf":
		return "application/pdf"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".txt":
		return "text/plain"
	case ".xml":
		return "text/xml"
	}
	if mt, _, err := mime.ParseMediaType(declared); err == nil && carnet.ValidMediaType(mt) {
		return mt
	}
	if mt, _, err := mime.ParseMediaType(http.DetectContentType(body)); err == nil && carnet.ValidMediaType(mt) {
		return mt
	}
	return ""
}

// French formats.

// spaceToday is the date of t in Paris, as a date of a form (UTC midnight).
func spaceToday(t time.Time) time.Time {
	y, m, d := t.In(spaceParis).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var spaceParis = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}()

// spaceDate formats a date as written in French: "1er mars 2026", "12 mars 2026".
func spaceDate(t time.Time) string {
	if t.IsZero() {
		return "date inconnue"
	}
	return carnet.FrenchDate(t)
}

// spaceDateTime formats an instant in Paris time: "2 mars 2026 à 09 h 05".
func spaceDateTime(t time.Time) string {
	t = t.In(spaceParis)
	return spaceDate(t) + " à " + t.Format("15 h 04")
}

// spaceSize formats a size in bytes: "512 octets", "12 ko", "1,5 Mo" (1 ko = 1 024 octets).
func spaceSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " octets"
	case n < 1<<20:
		return strconv.FormatInt((n+1<<10-1)>>10, 10) + " ko"
	}
	s := fmt.Sprintf("%.1f", float64(n)/(1<<20))
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1) + " Mo"
}

func spaceFormatLabel(mediaType string) string {
	switch mediaType {
	case "application/pdf":
		return "PDF"
	case "image/jpeg":
		return "Image JPEG"
	case "image/png":
		return "Image PNG"
	case "text/plain":
		return "Texte"
	case "text/xml", "application/xml":
		return "XML (document structuré CDA)"
	}
	return mediaType
}

func spaceStatusLabel(s carnet.DocStatus) string {
	switch s {
	case carnet.DocCurrent:
		return "En vigueur"
	case carnet.DocDeprecated:
		return "Remplacé par une version plus récente"
	case carnet.DocArchived:
		return "Archivé"
	case carnet.DocDeleted:
		return "Supprimé"
	}
	return string(s)
}
