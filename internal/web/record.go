package web

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/carnet-sante/carnet/internal/pdftext"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/fhir"
	"github.com/carnet-sante/carnet/internal/service"
)

// The pages of a patient's record: medical profile, Entourage & Volontés, settings (who may
// access, emergency modes, administrator, notifications), history with its exports, the
// children whose rights the patient holds, and the export of everything (FHIR Bundle, PDF).
// Each page but the children's also exists under /espace/enfants/{enfant}/, where a parent acts
// as the child's legal representative (see App.patient). Everything goes through the service,
// which decides and records each read and change.

// recordRoutes registers the patient's medical profile, wishes, settings, history, children and
// export pages.
func (a *App) recordRoutes(mux *http.ServeMux) {
	// Each pattern for the patient's own space and for a child's, managed by a parent.
	both := func(method, path string, h func(http.ResponseWriter, *Request)) {
		mux.Handle(method+" /espace"+path, a.patient(h))
		mux.Handle(method+" /espace/enfants/{enfant}"+path, a.patient(h))
	}
	both("GET", "/profil", a.profilePage)
	both("POST", "/profil", a.addProfileEntry)
	both("GET", "/volontes", a.wishesPage)
	both("POST", "/volontes", a.saveWishes)
	both("GET", "/parametres", a.settingsPage)
	both("POST", "/parametres/acces", a.changeAccessSettings)
	both("POST", "/parametres/notifications", a.changeNotifications)
	both("POST", "/parametres/administrateur", a.chooseAdministrator)
	both("POST", "/parametres/blocage", a.blockProfessional)
	both("POST", "/parametres/deblocage", a.unblockProfessional)
	both("POST", "/parametres/consentement", a.revokeConsent)
	both("GET", "/historique", a.historyPage)
	both("GET", "/historique/export.csv", a.historyExport(service.ExportCSV))
	both("GET", "/historique/export.json", a.historyExport(service.ExportFHIR))
	both("GET", "/export", a.exportBundle)
	both("GET", "/export.pdf", a.exportPDF)
	mux.Handle("GET /espace/enfants", a.patient(a.childrenPage))
	// The notifications link to the history here.
	mux.Handle("GET /historique", http.RedirectHandler("/espace/historique", http.StatusSeeOther))
}

// recordPage is what every page of the record carries.
type recordPage struct {
	CSRF  string
	Base  string          // "/espace", or "/espace/enfants/<id>" for a child's space
	Child *carnet.Patient // the child whose space this is, for a parent
	Owner string          // whose space it is
	Nav   string          // the current page, for the navigation
	Error string
	Done  string
}

func (a *App) recordPageFor(r *Request, nav string) recordPage {
	p := recordPage{CSRF: r.Session.CSRF, Base: recBase(r), Child: r.Child, Owner: r.Session.Patient.DisplayName(), Nav: nav}
	if r.Child != nil {
		p.Owner = r.Child.DisplayName()
	}
	return p
}

// recBase is the path under which the pages of the request's space are.
func recBase(r *Request) string {
	if r.Child != nil {
		return "/espace/enfants/" + url.PathEscape(r.Child.ID)
	}
	return "/espace"
}

// recErrorText is the text shown for a failed action: the error's own message, or, for an
// internal error, a generic one (the cause goes to the log).
func (a *App) recErrorText(r *http.Request, err error) string {
	if _, ok := errorStatus[carnet.ErrorCode(err)]; !ok {
		a.site.log.Error("web: internal error", "route", r.Pattern, "err", err)
		return "Le service rencontre un problème : réessayez dans quelques instants."
	}
	return capitalize(carnet.ErrorMessage(err))
}

// Dates are shown and typed in French, in Paris time.
func recDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(audit.ParisLocation()).Format("02/01/2006")
}

// recDay shows a calendar date (stored at UTC midnight) as it is.
func recDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("02/01/2006")
}

// recParseDay reads a date typed as AAAA-MM-JJ (date field) or JJ/MM/AAAA; "" is a zero date.
func recParseDay(s, what string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "02/01/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, carnet.Errorf(carnet.EINVALID, "%s invalide : indiquez une date au format JJ/MM/AAAA", what)
}

// recNumber shows a number the French way ("72,5").
func recNumber(v float64) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', -1, 64), ".", ",", 1)
}

// recDone is a success message, from the "fait" parameter of the page the action redirected to.
func recDone(r *Request, messages map[string]string) string {
	return messages[r.URL.Query().Get("fait")]
}

// The medical profile.

// recordKinds are the sections of the profile, in the page's order, with their forms' texts.
var recordKinds = []struct {
	Kind                      carnet.ProfileKind
	Add, Label, Date, EndDate string
}{
	{carnet.ProfileAllergy, "Ajouter une allergie", "Allergie ou intolérance", "Date de découverte", "Date de fin, si elle a disparu"},
	{carnet.ProfileCondition, "Ajouter une maladie ou un antécédent", "Maladie, opération ou hospitalisation", "Date de début", "Date de guérison"},
	{carnet.ProfileFamilyHistory, "Ajouter un antécédent familial", "Maladie et lien de parenté", "Date, même approximative", ""},
	{carnet.ProfileVaccination, "Ajouter une vaccination", "Vaccin", "Date de la vaccination", ""},
	{carnet.ProfileTreatment, "Ajouter un traitement", "Médicament et posologie", "Date de début", "Date de fin"},
	{carnet.ProfileMeasure, "Ajouter une mesure", "", "Date de la mesure", ""},
}

// recordMeasures are the measures the profile records (LOINC), with their French names and
// units as shown.
var recordMeasures = []struct{ Code, Name, Unit string }{
	{"29463-7", "Poids", "kg"},
	{"8302-2", "Taille", "cm"},
	{"8480-6", "Tension artérielle systolique", "mmHg"},
	{"8462-4", "Tension artérielle diastolique", "mmHg"},
	{"8867-4", "Fréquence cardiaque", "battements/min"},
	{"2339-0", "Glycémie", "g/L"},
	{"8310-5", "Température", "°C"},
}

func recMeasure(code string) (name, unit string, ok bool) {
	for _, m := range recordMeasures {
		if m.Code == code {
			return m.Name, m.Unit, true
		}
	}
	return "", "", false
}

type recordOption struct {
	Value, Label string
	Selected     bool
}

type recordEntry struct {
	Label, Date, End, Notes, Author, Value string
}

type recordSection struct {
	Kind                         string
	Title, Add                   string
	LabelText, DateText, EndText string
	Entries                      []recordEntry
	Charts                       []recordChart
	Measures                     []recordOption
	Error                        string
	Done                         bool
	Values                       map[string]string
	Measure, HasEnd              bool
}

type recordProfileView struct {
	recordPage
	Sections []*recordSection
}

func (a *App) profilePage(w http.ResponseWriter, r *Request) {
	a.renderProfile(w, r, http.StatusOK, "", nil)
}

// renderProfile shows the profile; failed, when not empty, is the section whose form failed,
// with err.
func (a *App) renderProfile(w http.ResponseWriter, r *Request, status int, failed carnet.ProfileKind, err error) {
	entries, rerr := a.svc.Profile(r.Context(), r.Actor, r.PatientID, "")
	if rerr != nil {
		a.site.Error(w, r.Request, rerr)
		return
	}
	v := recordProfileView{recordPage: a.recordPageFor(r, "profil")}
	done := carnet.ProfileKind(r.URL.Query().Get("fait"))
	for _, k := range recordKinds {
		s := &recordSection{Kind: string(k.Kind), Title: k.Kind.Label(), Add: k.Add, LabelText: k.Label, DateText: k.Date,
			EndText: k.EndDate, HasEnd: k.EndDate != "", Measure: k.Kind == carnet.ProfileMeasure, Done: done == k.Kind,
			Values: map[string]string{}}
		var mine []*carnet.ProfileEntry
		for _, e := range entries {
			if e.Kind == k.Kind {
				mine = append(mine, e)
			}
		}
		if s.Measure {
			s.Charts = recCharts(mine)
		} else {
			sort.SliceStable(mine, func(i, j int) bool { return mine[i].Date.After(mine[j].Date) })
			for _, e := range mine {
				s.Entries = append(s.Entries, recEntry(e))
			}
		}
		if failed == k.Kind && err != nil {
			s.Error = a.recErrorText(r.Request, err)
			for _, f := range []string{"libelle", "date", "fin", "notes", "mesure", "valeur"} {
				s.Values[f] = r.PostFormValue(f)
			}
		}
		if s.Measure {
			for _, m := range recordMeasures {
				s.Measures = append(s.Measures, recordOption{Value: m.Code, Label: m.Name + " (" + m.Unit + ")", Selected: s.Values["mesure"] == m.Code})
			}
		}
		v.Sections = append(v.Sections, s)
	}
	a.render(w, r.Request, status, "profil", v)
}

func recEntry(e *carnet.ProfileEntry) recordEntry {
	x := recordEntry{Label: e.Label, Date: recDay(e.Date), Notes: e.Notes, Author: "Patient"}
	if e.EndDate != nil {
		x.End = recDay(*e.EndDate)
	}
	switch e.AuthorKind {
	case carnet.AuthorProfessional:
		x.Author = "Professionnel de santé"
	case carnet.AuthorSystem:
		x.Author = "Carnet"
	}
	if e.Kind == carnet.ProfileMeasure {
		_, unit, ok := recMeasure(e.Code)
		if !ok {
			unit = e.Unit
		}
		x.Value = recNumber(e.Value) + " " + unit
	}
	return x
}

func (a *App) addProfileEntry(w http.ResponseWriter, r *Request) {
	kind := carnet.ProfileKind(r.PostFormValue("rubrique"))
	if !kind.Valid() {
		a.site.Error(w, r.Request, carnet.Errorf(carnet.EINVALID, "rubrique du profil médical inconnue"))
		return
	}
	e := &carnet.ProfileEntry{Kind: kind, Label: strings.TrimSpace(r.PostFormValue("libelle")), Notes: strings.TrimSpace(r.PostFormValue("notes"))}
	err := func() error {
		var err error
		if e.Date, err = recParseDay(r.PostFormValue("date"), "date"); err != nil {
			return err
		}
		if end, err := recParseDay(r.PostFormValue("fin"), "date de fin"); err != nil {
			return err
		} else if !end.IsZero() {
			e.EndDate = &end
		}
		if kind == carnet.ProfileMeasure {
			e.Code, e.CodeSystem, e.Notes = r.PostFormValue("mesure"), fhir.SystemLOINC, ""
			name, _, ok := recMeasure(e.Code)
			if !ok {
				return carnet.Errorf(carnet.EINVALID, "choisissez la mesure")
			}
			e.Label, e.Unit = name, carnet.MeasureUnit(e.Code)
			raw := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("valeur")), ",", ".")
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return carnet.Errorf(carnet.EINVALID, "valeur invalide : indiquez un nombre, par exemple 72,5")
			}
			e.Value = v
		}
		_, err = a.svc.AddProfileEntry(r.Context(), r.Actor, r.PatientID, e)
		return err
	}()
	if err != nil {
		a.renderProfile(w, r, statusOf(err), kind, err)
		return
	}
	http.Redirect(w, r.Request, recBase(r)+"/profil?fait="+url.QueryEscape(string(kind))+"#rubrique-"+string(kind), http.StatusSeeOther)
}

// recordChart is a small server-drawn SVG chart of one measure over time, with its values as a
// table for those who do not see the chart.
type recordChart struct {
	ID, Name, Unit string
	Width, Height  int
	Line           string // the polyline's points
	Points         []recordPoint
	YTicks, XTicks []recordTick
	Left, Right    string // the plot's left and right x
	Top, Bottom    string // the plot's top and bottom y
	Desc           string
	Rows           []recordEntry
}

type recordPoint struct{ X, Y, Label string }

type recordTick struct{ X, Y, Label, Anchor string }

const (
	chartW, chartH                      = 640, 260
	chartL, chartR, chartT, chartBottom = 64.0, 24.0, 20.0, 44.0
)

func recCoord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// recCharts draws one chart per measure, in the order of recordMeasures.
func recCharts(entries []*carnet.ProfileEntry) []recordChart {
	byCode := map[string][]*carnet.ProfileEntry{}
	for _, e := range entries {
		byCode[e.Code] = append(byCode[e.Code], e)
	}
	var out []recordChart
	for _, m := range recordMeasures {
		if pts := byCode[m.Code]; len(pts) > 0 {
			out = append(out, recChart("mesure-"+strings.ReplaceAll(m.Code, "-", ""), m.Name, m.Unit, pts))
		}
	}
	return out
}

func recChart(id, name, unit string, pts []*carnet.ProfileEntry) recordChart {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Date.Before(pts[j].Date) })
	c := recordChart{ID: id, Name: name, Unit: unit, Width: chartW, Height: chartH,
		Left: recCoord(chartL), Right: recCoord(chartW - chartR), Top: recCoord(chartT), Bottom: recCoord(chartH - chartBottom)}
	plotW, plotH := chartW-chartL-chartR, chartH-chartT-chartBottom
	lo, hi := pts[0].Value, pts[0].Value
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	vmin, vmax := lo, hi
	pad := (hi - lo) * 0.1
	if pad == 0 {
		pad = math.Max(math.Abs(hi)*0.05, 1)
	}
	lo, hi = lo-pad, hi+pad
	if vmin >= 0 && lo < 0 {
		lo = 0
	}
	step := recNiceStep((hi - lo) / 4)
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step)))
	}
	y := func(v float64) float64 { return chartT + plotH*(1-(v-lo)/(hi-lo)) }
	for t := math.Ceil(lo/step) * step; t <= hi+step/1e6; t += step {
		label := strings.Replace(strconv.FormatFloat(t, 'f', decimals, 64), ".", ",", 1)
		c.YTicks = append(c.YTicks, recordTick{Y: recCoord(y(t)), Label: label})
	}
	t0, t1 := pts[0].Date, pts[len(pts)-1].Date
	x := func(t time.Time) float64 {
		if !t1.After(t0) {
			return chartL + plotW/2
		}
		return chartL + plotW*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	var line []string
	for _, p := range pts {
		px, py := recCoord(x(p.Date)), recCoord(y(p.Value))
		line = append(line, px+","+py)
		label := recDay(p.Date) + " : " + recNumber(p.Value) + " " + unit
		c.Points = append(c.Points, recordPoint{X: px, Y: py, Label: label})
		c.Rows = append(c.Rows, recordEntry{Date: recDay(p.Date), Value: recNumber(p.Value) + " " + unit})
	}
	c.Line = strings.Join(line, " ")
	// The first and last dates under the axis, aligned so as to stay within the drawing.
	if t1.After(t0) {
		c.XTicks = append(c.XTicks, recordTick{X: recCoord(x(t0)), Label: recDay(t0), Anchor: "start"},
			recordTick{X: recCoord(x(t1)), Label: recDay(t1), Anchor: "end"})
	} else {
		c.XTicks = append(c.XTicks, recordTick{X: recCoord(x(t0)), Label: recDay(t0), Anchor: "middle"})
	}
	if len(pts) == 1 {
		c.Desc = fmt.Sprintf("Une mesure : %s %s le %s.", recNumber(vmin), unit, recDay(t0))
	} else {
		c.Desc = fmt.Sprintf("%d mesures du %s au %s, de %s à %s %s ; dernière valeur : %s %s.", len(pts), recDay(t0), recDay(t1),
			recNumber(vmin), recNumber(vmax), unit, recNumber(pts[len(pts)-1].Value), unit)
	}
	// The table lists the newest first.
	for i, j := 0, len(c.Rows)-1; i < j; i, j = i+1, j-1 {
		c.Rows[i], c.Rows[j] = c.Rows[j], c.Rows[i]
	}
	return c
}

// recNiceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func recNiceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Entourage & Volontés.

type recordRelative struct {
	N, Num int // the form's index, and the number shown (from 1)
	carnet.Contact
}

type recordWishesView struct {
	recordPage
	Stored        *carnet.Wishes
	StoredLines   []string // the stored advance directives, line by line
	DonationLabel string
	Trusted       carnet.Contact
	Relatives     []recordRelative
	Directives    string
	Donation      string
}

var recDonationLabels = map[carnet.OrganDonation]string{
	carnet.OrganDonationUnstated: "Non précisée (le consentement présumé s’applique)",
	carnet.OrganDonationAccepts:  "J’accepte le don de mes organes et tissus",
	carnet.OrganDonationRefuses:  "Je refuse le don de mes organes et tissus",
}

const recMaxRelatives = 10

func (a *App) wishesPage(w http.ResponseWriter, r *Request) {
	a.renderWishes(w, r, http.StatusOK, nil, nil)
}

// renderWishes shows the stored wishes and the form: with typed, the values of a refused post.
func (a *App) renderWishes(w http.ResponseWriter, r *Request, status int, typed *carnet.Wishes, err error) {
	stored, rerr := a.svc.Wishes(r.Context(), r.Actor, r.PatientID)
	if rerr != nil {
		a.site.Error(w, r.Request, rerr)
		return
	}
	v := recordWishesView{recordPage: a.recordPageFor(r, "volontes"), Stored: stored, DonationLabel: recDonationLabels[stored.OrganDonation]}
	v.Done = recDone(r, map[string]string{"1": "Les informations sont enregistrées."})
	if d := strings.TrimSpace(stored.AdvanceDirectives); d != "" {
		v.StoredLines = strings.Split(strings.ReplaceAll(d, "\r\n", "\n"), "\n")
	}
	form := stored
	if typed != nil {
		form = typed
		v.Error = a.recErrorText(r.Request, err)
	}
	if form.TrustedPerson != nil {
		v.Trusted = *form.TrustedPerson
	}
	for i, c := range form.Relatives {
		v.Relatives = append(v.Relatives, recordRelative{N: i, Num: i + 1, Contact: c})
	}
	if len(v.Relatives) < recMaxRelatives {
		v.Relatives = append(v.Relatives, recordRelative{N: len(v.Relatives), Num: len(v.Relatives) + 1})
	}
	v.Directives, v.Donation = form.AdvanceDirectives, string(form.OrganDonation)
	a.render(w, r.Request, status, "volontes", v)
}

func recContact(r *Request, prefix string) (carnet.Contact, bool) {
	c := carnet.Contact{
		Name:     strings.TrimSpace(r.PostFormValue(prefix + "nom")),
		Relation: strings.TrimSpace(r.PostFormValue(prefix + "lien")),
		Phone:    strings.TrimSpace(r.PostFormValue(prefix + "telephone")),
		Email:    strings.TrimSpace(r.PostFormValue(prefix + "courriel")),
	}
	return c, c != carnet.Contact{}
}

func (a *App) saveWishes(w http.ResponseWriter, r *Request) {
	in := &carnet.Wishes{AdvanceDirectives: strings.TrimSpace(r.PostFormValue("directives")),
		OrganDonation: carnet.OrganDonation(r.PostFormValue("don"))}
	if c, ok := recContact(r, "confiance-"); ok {
		in.TrustedPerson = &c
	}
	for i := range recMaxRelatives {
		if c, ok := recContact(r, fmt.Sprintf("proche-%d-", i)); ok {
			in.Relatives = append(in.Relatives, c)
		}
	}
	if err := a.svc.PutWishes(r.Context(), r.Actor, r.PatientID, in); err != nil {
		a.renderWishes(w, r, statusOf(err), in, err)
		return
	}
	http.Redirect(w, r.Request, recBase(r)+"/volontes?fait=1", http.StatusSeeOther)
}

// Settings.

type recordConsent struct{ ID, Date, Kind, Expires string }

type recordPro struct {
	ID, Name, Profession, Structure, StructureID string
	Consents                                     []recordConsent
	LastAccess                                   string
	Accesses                                     int
	Blocked, StructureBlocked                    bool
	Administrator, TreatingDoctor                bool
}

type recordBlock struct{ ID, What, Kind, Since string }

type recordNotify struct {
	Name, Legend, Hint string
	Options            []recordOption
}

type recordSettingsView struct {
	recordPage
	S             *carnet.PatientSettings
	Pros          []recordPro
	Blocks        []recordBlock
	Administrator string
	Candidates    []recordOption
	Notify        []recordNotify
}

var recSettingsDone = map[string]string{
	"acces":          "Vos choix d’accès sont enregistrés.",
	"notifications":  "Vos choix de notification sont enregistrés.",
	"administrateur": "L’administrateur de l’espace santé est enregistré.",
	"blocage":        "Le blocage est enregistré : l’accès est refusé, même en urgence.",
	"deblocage":      "Le blocage est levé.",
	"consentement":   "Le consentement est retiré.",
}

func (a *App) settingsPage(w http.ResponseWriter, r *Request) {
	a.renderSettings(w, r, http.StatusOK, nil)
}

func (a *App) renderSettings(w http.ResponseWriter, r *Request, status int, failure error) {
	st, err := a.svc.Settings(r.Context(), r.Actor, r.PatientID)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	ov, err := a.svc.AccessOverview(r.Context(), r.Actor, r.PatientID)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	v := recordSettingsView{recordPage: a.recordPageFor(r, "parametres"), S: st}
	v.Done = recDone(r, recSettingsDone)
	if failure != nil {
		v.Error = a.recErrorText(r.Request, failure)
	}
	v.Candidates = []recordOption{{Value: "", Label: "Aucun administrateur", Selected: st.AdministratorID == ""}}
	for _, p := range ov.Professionals {
		x := recordPro{ID: p.Professional.ID, Name: p.Professional.DisplayName(), Profession: capitalize(p.Professional.Profession.Label()),
			Structure: p.Professional.StructureName, StructureID: p.Professional.StructureID, LastAccess: recDate(p.LastAccess),
			Accesses: p.Accesses, Blocked: p.Block != nil, StructureBlocked: p.StructureBlock != nil,
			Administrator: p.Administrator, TreatingDoctor: p.TreatingDoctor}
		if s := carnet.SpecialtyLabel(p.Professional.Specialty); s != "" {
			x.Profession += " (" + s + ")"
		}
		for _, c := range p.Consents {
			rc := recordConsent{ID: c.ID, Date: recDate(c.DeclaredAt), Kind: "oral"}
			if c.Kind == carnet.ConsentWritten {
				rc.Kind = "écrit"
			}
			if c.ExpiresAt != nil {
				rc.Expires = recDate(*c.ExpiresAt)
			}
			x.Consents = append(x.Consents, rc)
		}
		v.Pros = append(v.Pros, x)
		if p.Administrator {
			v.Administrator = x.Name
		}
		if p.Consulted || p.Administrator {
			v.Candidates = append(v.Candidates, recordOption{Value: x.ID, Label: x.Name + " – " + x.Profession, Selected: p.Administrator})
		}
	}
	for _, b := range ov.Blocks {
		x := recordBlock{ID: b.Block.ID, Since: recDate(b.Block.CreatedAt)}
		switch {
		case b.Block.ProfessionalID != "" && b.Professional != nil:
			x.Kind, x.What = "Professionnel", b.Professional.DisplayName()+" – "+capitalize(b.Professional.Profession.Label())
		case b.Block.ProfessionalID != "":
			x.Kind, x.What = "Professionnel", "Professionnel retiré de l’annuaire"
		case b.StructureName != "":
			x.Kind, x.What = "Structure", b.StructureName
		default:
			x.Kind, x.What = "Structure", "Structure "+b.Block.StructureID
		}
		v.Blocks = append(v.Blocks, x)
	}
	channels := func(name, legend, hint, current string, none bool) recordNotify {
		n := recordNotify{Name: name, Legend: legend, Hint: hint}
		opts := []recordOption{{Value: "email", Label: "Par courriel"}, {Value: "sms", Label: "Par SMS"}}
		if none {
			opts = append(opts, recordOption{Value: "none", Label: "Ne pas me prévenir"})
		}
		for _, o := range opts {
			o.Selected = o.Value == current
			n.Options = append(n.Options, o)
		}
		return n
	}
	v.Notify = []recordNotify{
		channels("acces", "Premier accès d’un professionnel", "Quand un professionnel ou un établissement consulte l’espace pour la première fois.", st.NotifyAccess, true),
		channels("actions", "Actions des professionnels", "Ajout ou remplacement d’un document, déclaration d’un consentement… (un message groupé).", st.NotifyAction, true),
		channels("urgences", "Accès en urgence", "Les accès en mode centre 15 ou bris de glace sont toujours signalés : choisissez seulement le moyen.", st.NotifyEmergency, false),
	}
	a.render(w, r.Request, status, "parametres", v)
}

// settingsDone answers a settings action: back to the page with its message, or the page again
// with the error.
func (a *App) settingsDone(w http.ResponseWriter, r *Request, err error, done string) {
	if err != nil {
		a.renderSettings(w, r, statusOf(err), err)
		return
	}
	http.Redirect(w, r.Request, recBase(r)+"/parametres?fait="+done, http.StatusSeeOther)
}

func recBool(b bool) *bool { return &b }

func (a *App) changeAccessSettings(w http.ResponseWriter, r *Request) {
	on := func(name string) *bool { return recBool(r.PostFormValue(name) == "oui") }
	_, err := a.svc.ChangeSettings(r.Context(), r.Actor, r.PatientID, service.SettingsChange{
		RegulationAllowed: on("centre15"), BreakGlassAllowed: on("bris-de-glace"), HideAll: on("tout-masquer")})
	a.settingsDone(w, r, err, "acces")
}

func (a *App) changeNotifications(w http.ResponseWriter, r *Request) {
	var c service.SettingsChange
	for _, f := range []struct {
		name string
		dst  **string
	}{{"acces", &c.NotifyAccess}, {"actions", &c.NotifyAction}, {"urgences", &c.NotifyEmergency}} {
		if v := r.PostFormValue(f.name); v != "" {
			*f.dst = &v
		}
	}
	_, err := a.svc.ChangeSettings(r.Context(), r.Actor, r.PatientID, c)
	a.settingsDone(w, r, err, "notifications")
}

func (a *App) chooseAdministrator(w http.ResponseWriter, r *Request) {
	err := a.svc.SetAdministrator(r.Context(), r.Actor, r.PatientID, r.PostFormValue("professionnel"))
	a.settingsDone(w, r, err, "administrateur")
}

func (a *App) blockProfessional(w http.ResponseWriter, r *Request) {
	pro, structure := r.PostFormValue("professionnel"), r.PostFormValue("structure")
	var err error
	if rpps := strings.TrimSpace(r.PostFormValue("rpps")); rpps != "" && pro == "" && structure == "" {
		if err = carnet.ValidateRPPS(carnet.NormalizeRPPS(rpps)); err == nil {
			var p *carnet.Professional
			if p, err = a.svc.ProfessionalByRPPS(r.Context(), rpps); carnet.ErrorCode(err) == carnet.ENOTFOUND {
				err = carnet.Errorf(carnet.EINVALID, "aucun professionnel de l’annuaire n’a ce numéro RPPS")
			} else if err == nil {
				pro = p.ID
			}
		}
	}
	if err == nil {
		_, err = a.svc.Block(r.Context(), r.Actor, r.PatientID, pro, structure)
	}
	a.settingsDone(w, r, err, "blocage")
}

func (a *App) unblockProfessional(w http.ResponseWriter, r *Request) {
	err := a.svc.Unblock(r.Context(), r.Actor, r.PatientID, r.PostFormValue("blocage"))
	a.settingsDone(w, r, err, "deblocage")
}

func (a *App) revokeConsent(w http.ResponseWriter, r *Request) {
	err := a.svc.RevokeConsent(r.Context(), r.Actor, r.PatientID, r.PostFormValue("consentement"))
	a.settingsDone(w, r, err, "consentement")
}

// History.

// recordHistoryFilter is the history's filters, as the GET form sends them.
type recordHistoryFilter struct {
	Person, Action, From, To string
	from, to                 time.Time // to: the day after the last one
}

func recHistoryFilter(r *Request) (recordHistoryFilter, error) {
	q := r.URL.Query()
	f := recordHistoryFilter{Person: q.Get("personne"), Action: q.Get("action"), From: q.Get("du"), To: q.Get("au")}
	loc := audit.ParisLocation()
	day := func(s, what string) (time.Time, error) {
		t, err := recParseDay(s, what)
		if err != nil || t.IsZero() {
			return t, err
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc), nil
	}
	var err error
	if f.from, err = day(f.From, "date de début"); err != nil {
		return f, err
	}
	if f.to, err = day(f.To, "date de fin"); err != nil {
		return f, err
	}
	if !f.to.IsZero() {
		f.to = f.to.AddDate(0, 0, 1)
	}
	if !f.from.IsZero() && !f.to.IsZero() && !f.from.Before(f.to) {
		return f, carnet.Errorf(carnet.EINVALID, "la date de début suit la date de fin")
	}
	return f, nil
}

func (f recordHistoryFilter) audit() carnet.AuditFilter {
	return carnet.AuditFilter{ActorID: f.Person, Action: f.Action, From: f.from, To: f.to}
}

func (f recordHistoryFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"personne": f.Person, "action": f.Action, "du": f.From, "au": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// recHistoryRows bounds the rows of each table of the page (the exports hold everything).
const recHistoryRows = 500

type recordHistoryView struct {
	recordPage
	Filter                recordHistoryFilter
	Persons, Actions      []recordOption
	Others, Own           []audit.HistoryEntry
	OthersMore, OwnMore   int
	Filtered              bool
	CSV, FHIR             string
	OthersCount, OwnCount int
}

func (a *App) historyPage(w http.ResponseWriter, r *Request) {
	v := recordHistoryView{recordPage: a.recordPageFor(r, "historique")}
	f, ferr := recHistoryFilter(r)
	status := http.StatusOK
	if ferr != nil {
		v.Error, status = a.recErrorText(r.Request, ferr), statusOf(ferr)
		f = recordHistoryFilter{Person: f.Person, Action: f.Action}
	}
	v.Filter, v.Filtered = f, f.query() != ""
	// The period is asked of the service; the person and the action are chosen among the
	// period's events, so that the lists offer only what is there.
	evs, err := a.svc.History(r.Context(), r.Actor, r.PatientID, carnet.AuditFilter{From: f.from, To: f.to})
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	h := audit.History{Reason: recReason}
	persons, actions := map[string]string{}, map[string]string{}
	var kept []*carnet.AuditEvent
	for _, e := range evs {
		if e.ActorID != "" {
			persons[e.ActorID] = h.Entry(e).Who
		}
		actions[e.Action] = audit.ActionLabel(e.Action)
		if (f.Person == "" || e.ActorID == f.Person) && (f.Action == "" || e.Action == f.Action) {
			kept = append(kept, e)
		}
	}
	// The documents' titles, for the "document" column; without them, the references.
	titles := map[string]string{}
	if docs, err := a.svc.ListDocuments(r.Context(), r.Actor, r.PatientID, carnet.DocumentFilter{Page: carnet.Page{Limit: 1000}}); err == nil {
		for _, d := range docs {
			titles[d.ID] = d.Title
		}
	}
	entry := func(e *carnet.AuditEvent) audit.HistoryEntry {
		x := h.Entry(e)
		switch {
		case e.TargetType == "document" && titles[e.TargetID] != "":
			x.Target = "Document « " + titles[e.TargetID] + " »"
		case e.TargetType != "document":
			x.Target = audit.TargetLabel(e.TargetType, "") // a reference tells the patient nothing
		}
		return x
	}
	v.Persons = recOptions(persons, f.Person, "Toutes les personnes")
	v.Actions = recOptions(actions, f.Action, "Toutes les actions")
	others, own := service.SplitOwn(kept)
	v.OthersCount, v.OwnCount = len(others), len(own)
	for i, e := range others {
		if i == recHistoryRows {
			v.OthersMore = len(others) - i
			break
		}
		v.Others = append(v.Others, entry(e))
	}
	for i, e := range own {
		if i == recHistoryRows {
			v.OwnMore = len(own) - i
			break
		}
		v.Own = append(v.Own, entry(e))
	}
	v.CSV = v.Base + "/historique/export.csv" + f.query()
	v.FHIR = v.Base + "/historique/export.json" + f.query()
	a.render(w, r.Request, status, "historique", v)
}

// recReason is the French label of a recorded reason: the policy's code, recorded with the grid
// version ("no_consent@2023-10-26.1"), then what follows it (an emergency's motive).
func recReason(reason string) string {
	code, rest, found := strings.Cut(reason, " ; ")
	code, _, _ = strings.Cut(code, "@")
	if found {
		return audit.ReasonLabel(code + " ; " + rest)
	}
	return audit.ReasonLabel(code)
}

// recOptions returns a select's options sorted by label, after a first option for "any".
func recOptions(m map[string]string, selected, any string) []recordOption {
	out := []recordOption{{Value: "", Label: any, Selected: selected == ""}}
	var opts []recordOption
	for k, l := range m {
		opts = append(opts, recordOption{Value: k, Label: l, Selected: k == selected})
	}
	sort.Slice(opts, func(i, j int) bool {
		if opts[i].Label != opts[j].Label {
			return opts[i].Label < opts[j].Label
		}
		return opts[i].Value < opts[j].Value
	})
	return append(out, opts...)
}

func (a *App) historyExport(format string) func(http.ResponseWriter, *Request) {
	return func(w http.ResponseWriter, r *Request) {
		f, err := recHistoryFilter(r)
		if err != nil {
			a.site.Error(w, r.Request, err)
			return
		}
		b, ct, err := a.svc.ExportHistory(r.Context(), r.Actor, r.PatientID, format, f.audit())
		if err != nil {
			a.site.Error(w, r.Request, err)
			return
		}
		ext := "csv"
		if format == service.ExportFHIR {
			ext = "json"
		}
		recAttachment(w, ct, "historique-carnet-"+a.now().In(audit.ParisLocation()).Format("2006-01-02")+"."+ext, b)
	}
}

// recAttachment sends a download.
func recAttachment(w http.ResponseWriter, contentType, filename string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// Children.

type recordChild struct {
	ID, Name, BirthDate, Status string
	Managed                     bool   // the parent acts for the child (under the hand-over age)
	Reason                      string // why not
}

type recordChildrenView struct {
	recordPage
	Children []recordChild
}

func (a *App) childrenPage(w http.ResponseWriter, r *Request) {
	kids, err := a.svc.Children(r.Context(), r.Actor)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	v := recordChildrenView{recordPage: a.recordPageFor(r, "enfants")}
	for _, c := range kids {
		x := recordChild{ID: c.ID, Name: c.DisplayName(), BirthDate: recDay(c.BirthDate), Status: recStatus(c.Status)}
		if _, err := a.svc.ActFor(r.Context(), r.Actor, c.ID); err == nil {
			x.Managed = true
		} else if carnet.ErrorCode(err) == carnet.EFORBIDDEN {
			x.Reason = capitalize(carnet.ErrorMessage(err)) + "."
		} else {
			continue // no longer theirs
		}
		v.Children = append(v.Children, x)
	}
	a.render(w, r.Request, http.StatusOK, "enfants", v)
}

func recStatus(s carnet.PatientStatus) string {
	switch s {
	case carnet.PatientEnrolled:
		return "Pas encore activé"
	case carnet.PatientActive:
		return "Ouvert"
	case carnet.PatientClosed:
		return "Fermé (archivé)"
	case carnet.PatientDestroyed:
		return "Détruit"
	case carnet.PatientOpposed:
		return "Opposition à la création"
	}
	return string(s)
}

// Export of everything.

// recordExport is what the service let the actor read of the space, for the exports.
type recordExport struct {
	Patient *carnet.Patient
	Docs    []*carnet.Document
	Profile []*carnet.ProfileEntry
	Wishes  *carnet.Wishes
	History []*carnet.AuditEvent
}

// gatherExport reads the space through the service, each read decided and recorded as any
// other: identity, the list of documents (without their contents: the FHIR export reads them one
// at a time as it writes them), profile, wishes, history (its last historyLimit events; 0 for
// all).
func (a *App) gatherExport(r *Request, historyLimit int) (*recordExport, error) {
	ctx := r.Context()
	x := &recordExport{}
	var err error
	if x.Patient, err = a.svc.Patient(ctx, r.Actor, r.PatientID); err != nil {
		return nil, err
	}
	if x.Docs, err = a.svc.ListDocuments(ctx, r.Actor, r.PatientID, carnet.DocumentFilter{Page: carnet.Page{Limit: 1000}}); err != nil {
		return nil, err
	}
	if x.Profile, err = a.svc.Profile(ctx, r.Actor, r.PatientID, ""); err != nil {
		return nil, err
	}
	if x.Wishes, err = a.svc.Wishes(ctx, r.Actor, r.PatientID); err != nil {
		return nil, err
	}
	if x.History, err = a.svc.History(ctx, r.Actor, r.PatientID, carnet.AuditFilter{Limit: historyLimit}); err != nil {
		return nil, err
	}
	return x, nil
}

// recExportName names a download after the space's kind and the day.
func (a *App) recExportName(r *Request, ext string) string {
	who := "mon-espace-sante"
	if r.Child != nil {
		who = "espace-sante-enfant"
	}
	return "carnet-" + who + "-" + a.now().In(audit.ParisLocation()).Format("2006-01-02") + "." + ext
}

func (a *App) exportBundle(w http.ResponseWriter, r *Request) {
	x, err := a.gatherExport(r, 0)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	// The bundle is written as it is made: one document's content in memory at a time, whatever
	// the size of the space, and no decrypted copy on disk. Everything but the contents was read
	// above, so that a failure there is still an error page; a document that fails once the
	// answer has begun (other than one hidden or removed since the listing, left out) cuts the
	// connection, so that the download fails instead of ending as a valid, incomplete file.
	h := w.Header()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.recExportName(r, "json")}))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	read := func(d *carnet.Document) (*carnet.Document, []byte, error) {
		doc, body, err := a.svc.ReadDocument(r.Context(), r.Actor, r.PatientID, d.ID)
		switch carnet.ErrorCode(err) {
		case carnet.ENOTFOUND, carnet.EFORBIDDEN:
			return nil, nil, nil
		}
		return doc, body, err
	}
	if err := writeRecBundle(w, a.svc.FHIRBase(), x, a.now(), read); err != nil {
		a.site.log.Error("web: export interrupted", "route", r.Pattern, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// writeRecBundle writes the export as a FHIR R4 collection Bundle: the Patient, a
// DocumentReference per document with its content inline (read by read, one at a time; a nil
// document is left out), every profile entry (AllergyIntolerance, Condition,
// FamilyMemberHistory, Immunization, MedicationStatement, Observation), Entourage & Volontés
// (RelatedPerson, Consent of scope "adr") and the history as AuditEvent resources.
func writeRecBundle(w io.Writer, base string, x *recordExport, now time.Time,
	read func(*carnet.Document) (*carnet.Document, []byte, error)) error {
	base = strings.TrimRight(base, "/")
	head, err := audit.MarshalFHIR(fhir.Bundle{ResourceType: "Bundle", Type: "collection",
		Meta: &fhir.Meta{LastUpdated: now.UTC().Format(time.RFC3339)}})
	if err != nil {
		return err
	}
	// The bundle without entries ends with its type: the entries go in before the final brace.
	if _, err := w.Write(append(head[:len(head)-1], `,"entry":[`...)); err != nil {
		return err
	}
	n := 0
	add := func(typ, id string, res any) error {
		b, err := audit.MarshalFHIR(fhir.BundleEntry{FullURL: base + "/" + typ + "/" + id, Resource: res})
		if err != nil {
			return err
		}
		if n > 0 {
			b = append([]byte{','}, b...)
		}
		n++
		_, err = w.Write(b)
		return err
	}
	if err := add("Patient", x.Patient.ID, fhir.PatientToFHIR(x.Patient)); err != nil {
		return err
	}
	for _, d := range x.Docs {
		doc, body, err := read(d)
		if err != nil {
			return err
		}
		if doc == nil {
			continue
		}
		if err := add("DocumentReference", doc.ID, fhir.DocumentReferenceToFHIR(doc, fhir.DocumentOptions{Data: body})); err != nil {
			return err
		}
	}
	for _, e := range x.Profile {
		res, err := fhir.ProfileEntryToFHIR(e)
		if err != nil {
			continue // a kind without a FHIR form (none today)
		}
		typ, id := fhir.TypeAndID(res)
		if err := add(typ, id, res); err != nil {
			return err
		}
	}
	if x.Wishes != nil {
		for _, res := range fhir.WishesToFHIR(x.Wishes) {
			typ, id := fhir.TypeAndID(res)
			if err := add(typ, id, res); err != nil {
				return err
			}
		}
	}
	for _, e := range x.History {
		if err := add("AuditEvent", e.ID, audit.ToFHIR(e, base)); err != nil {
			return err
		}
	}
	_, err = w.Write([]byte("]}"))
	return err
}

// recPDFHistory is how many of the latest events the PDF summary lists.
const recPDFHistory = 50

func (a *App) exportPDF(w http.ResponseWriter, r *Request) {
	x, err := a.gatherExport(r, recPDFHistory)
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	b, err := recPDF(x, a.now())
	if err != nil {
		a.site.Error(w, r.Request, err)
		return
	}
	recAttachment(w, "application/pdf", a.recExportName(r, "pdf"), b)
}

// recPDF lays out the summary: identity, documents, profile, wishes, recent history.
func recPDF(x *recordExport, now time.Time) ([]byte, error) {
	const margin, width, lineH = 20.0, 170.0, 5.5
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetCreator("Carnet", false)
	pdf.SetTitle("Synthèse de l’espace santé", true)
	pdf.SetMargins(margin, 15, margin)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AliasNbPages("")
	tr := pdftext.CP1252(pdf.UnicodeTranslatorFromDescriptor(""))
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("Carnet – synthèse éditée le %s – page %d/{nb}", recDate(now), pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	heading := func(s string) {
		pdf.Ln(3)
		pdf.SetFont("Helvetica", "B", 13)
		pdf.MultiCell(width, 7, tr(s), "", "L", false)
		pdf.SetFont("Helvetica", "", 10)
	}
	sub := func(s string) {
		pdf.SetFont("Helvetica", "B", 10.5)
		pdf.MultiCell(width, lineH+0.5, tr(s), "", "L", false)
		pdf.SetFont("Helvetica", "", 10)
	}
	line := func(s string) { pdf.MultiCell(width, lineH, tr(s), "", "L", false) }
	field := func(label, value string) {
		if value != "" {
			line(label + " : " + value)
		}
	}

	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.MultiCell(width, 8, tr("Carnet – Mon espace santé"), "", "L", false)
	pdf.SetFont("Helvetica", "", 11)
	line("Synthèse de l’espace santé de " + x.Patient.DisplayName() + ", éditée le " + recDate(now) + ".")
	line("Ce document contient des données de santé : conservez-le en lieu sûr.")

	p := x.Patient
	heading("Identité")
	field("Nom de naissance", p.BirthName)
	field("Prénoms", p.GivenNames)
	field("Nom d’usage", p.UsedName)
	switch p.Sex {
	case carnet.SexFemale:
		field("Sexe", "féminin")
	case carnet.SexMale:
		field("Sexe", "masculin")
	}
	field("Date de naissance", recDay(p.BirthDate))
	field("Numéro de sécurité sociale", p.NIR)

	heading(fmt.Sprintf("Documents (%d)", len(x.Docs)))
	if len(x.Docs) == 0 {
		line("Aucun document.")
	}
	for _, d := range x.Docs {
		kind := d.TypeCode
		if t, err := carnet.LookupDocType(d.TypeCode); err == nil {
			kind = t.Label
		}
		s := recDay(d.ServiceDate) + " – " + d.Title + " (" + kind + ")"
		if d.AuthorName != "" {
			s += " – " + d.AuthorName
		}
		line(s)
	}

	heading("Profil médical")
	for _, k := range recordKinds {
		var rows []string
		for _, e := range x.Profile {
			if e.Kind != k.Kind {
				continue
			}
			x := recEntry(e)
			s := x.Date + " – " + x.Label
			if x.Value != "" {
				s += " : " + x.Value
			}
			if x.End != "" {
				s += " (jusqu’au " + x.End + ")"
			}
			if x.Notes != "" {
				s += " – " + x.Notes
			}
			rows = append(rows, s)
		}
		sub(k.Kind.Label())
		if len(rows) == 0 {
			line("Rien d’indiqué.")
		}
		for _, s := range rows {
			line(s)
		}
	}

	heading("Entourage et volontés")
	wi := x.Wishes
	contact := func(c carnet.Contact) string {
		s := c.Name
		for _, part := range []string{c.Relation, c.Phone, c.Email} {
			if part != "" {
				s += ", " + part
			}
		}
		return s
	}
	if wi.TrustedPerson != nil {
		field("Personne de confiance", contact(*wi.TrustedPerson))
	} else {
		field("Personne de confiance", "non désignée")
	}
	for _, c := range wi.Relatives {
		field("Proche à prévenir", contact(c))
	}
	field("Don d’organes", recDonationLabels[wi.OrganDonation])
	if wi.AdvanceDirectives != "" {
		sub("Directives anticipées")
		line(wi.AdvanceDirectives)
	} else {
		field("Directives anticipées", "aucune")
	}

	heading("Activité récente")
	h := audit.History{Reason: recReason}
	if len(x.History) == 0 {
		line("Aucune activité.")
	}
	for _, e := range x.History {
		v := h.Entry(e)
		s := v.Date + " – " + v.Who
		if v.Profession != "" {
			s += " (" + v.Profession + ")"
		}
		s += " – " + v.Action
		if v.Emergency {
			s += " – mode " + v.Mode
		}
		if v.Denied {
			s += " – refusé"
		}
		line(s)
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	if buf.Len() == 0 {
		return nil, errors.New("pdf: empty output")
	}
	return buf.Bytes(), nil
}
