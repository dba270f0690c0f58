package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
)

// The pages of professionals without integrated software, under /pro: find a patient by INS
// (a POST: no NIR in any URL), the patient's page (identity, the documents the grid and flags
// allow, with their contents), declaring the patient's consent, depositing a document and the
// emergency access. Each page verifies the portal session (ProLogin.Actor) and calls the service,
// which decides and records every access; a refusal shows the service's French explanation.
//
// The emergency mode of a session is shown in the header of every page: on a patient's pages as
// the service reports it (service.WithSessionMode), and on the other pages from a cookie set
// when the emergency access starts, MACed with a key of this process.

// Limits of the deposit form: the file, and the other fields.
const (
	proFileLimit  = 20 << 20
	proFieldLimit = 4 << 10
	proMaxFields  = 32
)

// proPortal is the professionals' part of the App.
type proPortal struct {
	*App
	key []byte // MACs the emergency banner cookie
}

// proRoutes registers the pages of professionals without integrated software.
func (a *App) proRoutes(mux *http.ServeMux) {
	if a.pro == nil {
		off := func(w http.ResponseWriter, r *http.Request) {
			a.site.renderError(w, r, http.StatusServiceUnavailable, errorFor(http.StatusServiceUnavailable,
				"La connexion des professionnels de santé n’est pas configurée sur ce service."))
		}
		mux.HandleFunc("GET /pro", off)
		mux.HandleFunc("GET /pro/connexion", off)
		return
	}
	p := &proPortal{App: a, key: make([]byte, 32)}
	rand.Read(p.key)
	a.pro.Register(mux, a) // the sign-in's own routes (form, callback)
	mux.HandleFunc("GET /pro/connexion", p.signInPage)
	mux.Handle("POST /pro/deconnexion", a.form(p.signOut))
	mux.HandleFunc("GET /pro/deconnecte", p.signedOut)
	mux.Handle("GET /pro", p.pages(p.homePage))
	mux.Handle("POST /pro/recherche", p.pages(p.searchPatient))
	mux.Handle("GET /pro/patients/{patient}", p.pages(p.recordPage))
	mux.Handle("GET /pro/patients/{patient}/consentement", p.pages(p.consentPage))
	mux.Handle("POST /pro/patients/{patient}/consentement", p.pages(p.consentPage))
	mux.Handle("GET /pro/patients/{patient}/depot", p.pages(p.depositPage))
	mux.Handle("POST /pro/patients/{patient}/depot", p.pages(p.depositPage))
	mux.Handle("GET /pro/patients/{patient}/urgence", p.pages(p.emergencyPage))
	mux.Handle("POST /pro/patients/{patient}/urgence", p.pages(p.emergencyPage))
	mux.Handle("GET /pro/patients/{patient}/documents/{document}/contenu", p.pages(p.contentPage))
}

// proRequest is what a professional's page handler receives.
type proRequest struct {
	*http.Request
	Actor     carnet.Actor
	PatientID string // "" outside a patient's pages
	CSRF      string
	user      *UserView
	mode      *service.SessionMode
	file      *proFile // the deposit form's file
}

// proFile is a file of a multipart form, read in memory (never in a temporary file: it is a
// health document).
type proFile struct {
	Name, ContentType string
	Body              []byte
}

// pages wraps a handler of the professionals' pages: no portal session sends to the sign-in;
// posts are CSRF-checked; the header shows who is signed in and the emergency mode.
func (p *proPortal) pages(h func(http.ResponseWriter, *proRequest)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := p.pro.Actor(r)
		if err != nil {
			if carnet.ErrorCode(err) == carnet.EUNAUTHORIZED {
				http.Redirect(w, r, "/pro/connexion", http.StatusSeeOther)
				return
			}
			p.site.Error(w, r, err)
			return
		}
		actor.RequestID = w.Header().Get("X-Request-Id")
		csrf := p.csrf(w, r)
		ctx, mode := service.WithSessionMode(r.Context())
		user := &UserView{Name: actor.Name, CSRF: csrf, Professional: true}
		r = r.WithContext(WithUser(ctx, user))
		pr := &proRequest{Request: r, Actor: actor, PatientID: r.PathValue("patient"), CSRF: csrf, user: user, mode: mode}
		user.Mode = p.bannerMode(r, actor, pr.PatientID)
		if r.Method == http.MethodPost {
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
				if pr.file, err = proParseMultipart(w, r); err != nil {
					p.site.Error(w, r, err)
					return
				}
			}
			if !p.checkCSRF(r) {
				p.site.Error(w, r, carnet.Errorf(carnet.EFORBIDDEN, "Le formulaire a expiré : rechargez la page et recommencez."))
				return
			}
		}
		h(w, pr)
	})
}

// proParseMultipart reads a multipart form in memory, within limits: its fields become the
// request's form (for the CSRF check and the handler), its one file is returned.
func proParseMultipart(w http.ResponseWriter, r *http.Request) (*proFile, error) {
	r.Body = http.MaxBytesReader(w, r.Body, proFileLimit+proMaxFields*proFieldLimit+64<<10)
	tooLarge := carnet.Errorf(carnet.ETOOLARGE, "le fichier est trop volumineux : %d Mo au plus", proFileLimit>>20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, carnet.Errorf(carnet.EINVALID, "formulaire illisible")
	}
	form := url.Values{}
	var file *proFile
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		if err != nil || n > proMaxFields {
			return nil, carnet.Errorf(carnet.EINVALID, "formulaire illisible")
		}
		if part.FileName() != "" || part.FormName() == "fichier" {
			b, err := io.ReadAll(io.LimitReader(part, proFileLimit+1))
			if errors.As(err, &mbe) || len(b) > proFileLimit {
				return nil, tooLarge
			}
			if err != nil || file != nil {
				return nil, carnet.Errorf(carnet.EINVALID, "formulaire illisible")
			}
			file = &proFile{Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Body: b}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, proFieldLimit+1))
		if err != nil || len(b) > proFieldLimit {
			return nil, carnet.Errorf(carnet.EINVALID, "formulaire illisible : champ trop long")
		}
		form.Add(part.FormName(), string(b))
	}
	r.PostForm, r.Form = form, form
	return file, nil
}

// show renders a page with the emergency mode that the service reported for the request.
func (p *proPortal) show(w http.ResponseWriter, pr *proRequest, status int, page string, data any) {
	pr.syncMode()
	p.render(w, pr.Request, status, page, data)
}

// fail answers with the error page (the service's explanation for a refusal).
func (p *proPortal) fail(w http.ResponseWriter, pr *proRequest, err error) {
	pr.syncMode()
	p.site.Error(w, pr.Request, err)
}

func (pr *proRequest) syncMode() {
	if m := pr.mode.Mode; m != "" && m != carnet.ModeNormal {
		pr.user.Mode = m.Label()
	}
}

// proErrText is a failed form's message: the service's French sentence, or a generic one.
func proErrText(err error) string {
	if _, known := errorStatus[carnet.ErrorCode(err)]; !known {
		return "Le service rencontre un problème : réessayez dans quelques instants."
	}
	return capitalize(carnet.ErrorMessage(err))
}

// ---- sign-in and sign-out ----------------------------------------------------------------------

func (p *proPortal) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := p.pro.Actor(r); err == nil {
		http.Redirect(w, r, "/pro", http.StatusSeeOther)
		return
	}
	p.pro.Start(w, r)
}

func (p *proPortal) signOut(w http.ResponseWriter, r *http.Request) {
	if s, ok := p.pro.(interface {
		SignOut(http.ResponseWriter, *http.Request)
	}); ok {
		s.SignOut(w, r)
	}
	p.setCookie(w, p.bannerCookie(), "", -1)
	http.Redirect(w, r, "/pro/deconnecte", http.StatusSeeOther)
}

func (p *proPortal) signedOut(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "pro-deconnecte", nil)
}

// ---- the emergency banner cookie ---------------------------------------------------------------

func (p *proPortal) bannerCookie() string {
	if p.secure {
		return "__Host-carnet-pro-urgence"
	}
	return "carnet-pro-urgence"
}

func (p *proPortal) bannerMAC(actorID, patientID string, mode carnet.AccessMode, until int64) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(actorID + "\x00" + patientID + "\x00" + string(mode) + "\x00" + strconv.FormatInt(until, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// setBanner remembers an open emergency session, to show its mode on every page.
func (p *proPortal) setBanner(w http.ResponseWriter, actor carnet.Actor, patientID string, mode carnet.AccessMode, until time.Time) {
	maxAge := int(until.Sub(p.now()) / time.Second)
	if maxAge <= 0 {
		return
	}
	u := until.Unix()
	p.setCookie(w, p.bannerCookie(), strings.Join([]string{patientID, string(mode), strconv.FormatInt(u, 10),
		p.bannerMAC(actor.ID, patientID, mode, u)}, "."), maxAge)
}

// bannerMode is the label of the actor's open emergency session, on pages outside a patient's
// record or on that patient's pages ("" when none).
func (p *proPortal) bannerMode(r *http.Request, actor carnet.Actor, patientID string) string {
	c, err := r.Cookie(p.bannerCookie())
	if err != nil {
		return ""
	}
	f := strings.Split(c.Value, ".")
	if len(f) != 4 {
		return ""
	}
	mode := carnet.AccessMode(f[1])
	until, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || (mode != carnet.ModeBreakGlass && mode != carnet.ModeRegulation) || !p.now().Before(time.Unix(until, 0)) ||
		!hmac.Equal([]byte(f[3]), []byte(p.bannerMAC(actor.ID, f[0], mode, until))) {
		return ""
	}
	if patientID != "" && patientID != f[0] {
		return ""
	}
	return mode.Label()
}

// ---- home and search ---------------------------------------------------------------------------

// proHomeView is the data of the home page: the INS search form.
type proHomeView struct {
	formPage
	Name string
}

func (p *proPortal) homePage(w http.ResponseWriter, pr *proRequest) {
	p.show(w, pr, http.StatusOK, "pro-accueil", proHomeView{formPage: formPage{CSRF: pr.CSRF, Values: map[string]string{}}, Name: pr.Actor.Name})
}

// proIdentity is a patient's identity as the pages show it (the INS traits).
type proIdentity struct {
	ID, Name, INS, INSOID, BirthName, GivenNames, UsedName, Sex, BirthDate, BirthPlace string
}

func proIdentityOf(pt *carnet.Patient) *proIdentity {
	v := &proIdentity{ID: pt.ID, Name: pt.DisplayName(), INS: proFormatNIR(pt.NIR), INSOID: pt.INSOID, BirthName: pt.BirthName,
		GivenNames: pt.GivenNames, UsedName: pt.UsedName, BirthDate: pt.BirthDate.Format("02/01/2006"), BirthPlace: pt.BirthPlace}
	switch pt.Sex {
	case carnet.SexFemale:
		v.Sex = "Féminin"
	case carnet.SexMale:
		v.Sex = "Masculin"
	}
	return v
}

// proFormatNIR groups a NIR as printed on the Vitale card: "2 85 03 75 056 123 45".
func proFormatNIR(nir string) string {
	if len(nir) != 15 {
		return nir
	}
	return strings.Join([]string{nir[0:1], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:15]}, " ")
}

// searchPatient finds a patient by INS (the NIR), which the service records in the patient's history,
// and shows their identity traits, to check before opening the record.
func (p *proPortal) searchPatient(w http.ResponseWriter, pr *proRequest) {
	pt, err := p.svc.PatientByNIR(pr.Context(), pr.Actor, pr.PostFormValue("ins"))
	if err != nil {
		v := proHomeView{formPage: formPage{CSRF: pr.CSRF, Error: proErrText(err), Values: map[string]string{"ins": pr.PostFormValue("ins")}},
			Name: pr.Actor.Name}
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			v.Error = "Aucun espace santé ne correspond à cet INS : vérifiez le numéro saisi."
		}
		p.show(w, pr, statusOf(err), "pro-accueil", v)
		return
	}
	p.show(w, pr, http.StatusOK, "pro-recherche", proIdentityOf(pt))
}

// ---- the patient's page ------------------------------------------------------------------------

// proDoc is a document in the patient page's list.
type proDoc struct {
	ID, Date, Type, Class, Title, Author, Format, Size, Status string
	Flags                                                      []string
}

// proRecordView is the data of the patient's page.
type proRecordView struct {
	ID               string
	Identity         *proIdentity // nil when the professional may not access the record
	Refusal          string       // the service's explanation of that
	Documents        []proDoc
	DocumentsRefusal string
	Done             string
	Mode             string // the emergency mode of the session, if any
}

var proDoneMessages = map[string]string{
	"consentement": "Le consentement du patient est enregistré.",
	"depot":        "Le document est déposé dans l’espace santé du patient.",
	"urgence":      "L’accès d’urgence est ouvert : le patient en est informé, et chacune de vos consultations est tracée.",
}

func (p *proPortal) recordPage(w http.ResponseWriter, pr *proRequest) {
	v := proRecordView{ID: pr.PatientID, Done: proDoneMessages[pr.URL.Query().Get("fait")]}
	status := http.StatusOK
	pt, err := p.svc.Patient(pr.Context(), pr.Actor, pr.PatientID)
	switch carnet.ErrorCode(err) {
	case "":
		v.Identity = proIdentityOf(pt)
	case carnet.EFORBIDDEN:
		v.Refusal, status = proErrText(err), http.StatusForbidden
	default:
		p.fail(w, pr, err)
		return
	}
	if v.Identity != nil {
		docs, err := p.svc.ListDocuments(pr.Context(), pr.Actor, pr.PatientID, carnet.DocumentFilter{})
		switch carnet.ErrorCode(err) {
		case "":
			for _, d := range docs {
				v.Documents = append(v.Documents, proDocOf(d))
			}
		case carnet.EFORBIDDEN:
			v.DocumentsRefusal = proErrText(err)
		default:
			p.fail(w, pr, err)
			return
		}
	}
	pr.syncMode()
	v.Mode = pr.user.Mode
	p.show(w, pr, status, "pro-patient", v)
}

func proDocOf(d *carnet.Document) proDoc {
	t, _ := carnet.LookupDocType(d.TypeCode)
	v := proDoc{ID: d.ID, Date: d.ServiceDate.Format("02/01/2006"), Type: t.Label, Class: d.Class.Label(), Title: d.Title,
		Author: d.AuthorName, Format: proFormatLabel(d.MediaType), Size: proSize(d.Size)}
	if v.Type == "" {
		v.Type = d.TypeCode
	}
	if d.AuthorKind == carnet.AuthorPatient {
		v.Author = "Le patient"
	}
	switch d.Status {
	case carnet.DocDeprecated:
		v.Status = "Remplacé"
	case carnet.DocArchived:
		v.Status = "Archivé"
	}
	if d.HiddenFromProfessionals {
		v.Flags = append(v.Flags, "Masqué aux professionnels")
	}
	if d.HiddenFromPatient {
		v.Flags = append(v.Flags, "Invisible au patient")
	}
	if d.HiddenFromRepresentatives {
		v.Flags = append(v.Flags, "Invisible aux représentants légaux")
	}
	return v
}

func proFormatLabel(mediaType string) string {
	switch mediaType {
	case "application/pdf":
		return "PDF"
	case "image/jpeg":
		return "JPEG"
	case "image/png":
		return "PNG"
	case "text/plain":
		return "Texte"
	case "text/xml", "application/xml":
		return "XML"
	}
	return mediaType
}

func proSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " octets"
	case n < 1<<20:
		return strconv.FormatInt((n+1<<10-1)>>10, 10) + " ko"
	}
	return strings.Replace(strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64), ".", ",", 1) + " Mo"
}

// contentPage serves a document's body, inline or as an attachment (?telecharger=1), after the
// service decided and recorded the reading. A hostile file runs in a sandbox.
func (p *proPortal) contentPage(w http.ResponseWriter, pr *proRequest) {
	d, body, err := p.svc.ReadDocument(pr.Context(), pr.Actor, pr.PatientID, pr.PathValue("document"))
	if err != nil {
		p.fail(w, pr, err)
		return
	}
	ct, ext := d.MediaType, ""
	switch ct {
	case "application/pdf":
		ext = ".pdf"
	case "image/jpeg":
		ext = ".jpg"
	case "image/png":
		ext = ".png"
	case "text/plain":
		ct, ext = ct+"; charset=utf-8", ".txt"
	case "text/xml", "application/xml":
		ct, ext = ct+"; charset=utf-8", ".xml"
	}
	disposition := "inline"
	if pr.URL.Query().Get("telecharger") != "" || ext == ".xml" {
		disposition = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": "document-" + d.ID + ext}))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// ---- consent -----------------------------------------------------------------------------------

// proFormView is the data of the forms about one patient.
type proFormView struct {
	formPage
	ID    string
	Types []proTypeOption
	Today string
}

type proTypeOption struct {
	Code, Label, Class string
	Selected           bool
}

func (p *proPortal) formView(pr *proRequest, err error, keep ...string) proFormView {
	v := proFormView{formPage: formPage{CSRF: pr.CSRF, Values: map[string]string{}}, ID: pr.PatientID,
		Today: p.now().In(proParis).Format(time.DateOnly)}
	if err != nil {
		v.Error = proErrText(err)
	}
	for _, k := range keep {
		v.Values[k] = pr.PostFormValue(k)
	}
	return v
}

// consentPage declares the patient's consent, oral or written, optionally bound to a purpose and
// time-boxed.
func (p *proPortal) consentPage(w http.ResponseWriter, pr *proRequest) {
	keep := []string{"forme", "finalite", "echeance"}
	if pr.Method == http.MethodGet {
		v := p.formView(pr, nil)
		v.Values["forme"] = string(carnet.ConsentOral)
		p.show(w, pr, http.StatusOK, "pro-consentement", v)
		return
	}
	kind := carnet.ConsentKind(pr.PostFormValue("forme"))
	var expires *time.Time
	if s := strings.TrimSpace(pr.PostFormValue("echeance")); s != "" {
		day, err := time.ParseInLocation(time.DateOnly, s, proParis)
		if err != nil {
			p.show(w, pr, http.StatusBadRequest, "pro-consentement",
				p.formView(pr, carnet.Errorf(carnet.EINVALID, "date d'échéance invalide : AAAA-MM-JJ attendu"), keep...))
			return
		}
		end := day.AddDate(0, 0, 1) // in force through that day
		expires = &end
	}
	if _, err := p.svc.DeclareConsent(pr.Context(), pr.Actor, pr.PatientID, kind, strings.TrimSpace(pr.PostFormValue("finalite")), expires); err != nil {
		p.show(w, pr, statusOf(err), "pro-consentement", p.formView(pr, err, keep...))
		return
	}
	http.Redirect(w, pr.Request, "/pro/patients/"+url.PathEscape(pr.PatientID)+"?fait=consentement", http.StatusSeeOther)
}

// ---- deposit -----------------------------------------------------------------------------------

// proDepositTypes are the types a professional may deposit: not the patient's documents (class
// 90) nor reimbursement data (class 60). The service decides anyway.
func proDepositTypes(selected string) []proTypeOption {
	var out []proTypeOption
	for _, t := range carnet.DocTypes() {
		if t.Class == "90" || t.Class == "60" {
			continue
		}
		out = append(out, proTypeOption{Code: t.Code, Label: t.Label, Class: t.Class.Label(), Selected: t.Code == selected})
	}
	return out
}

// depositPage adds a document to the patient's space: a file, its type, title and date, and the
// flags a professional may set (invisible to the patient until the announcement consultation,
// invisible to legal representatives for a minor's confidential care).
func (p *proPortal) depositPage(w http.ResponseWriter, pr *proRequest) {
	keep := []string{"type", "titre", "date", "invisible-patient", "invisible-representants"}
	if pr.Method == http.MethodGet {
		v := p.formView(pr, nil)
		v.Types, v.Values["date"] = proDepositTypes(""), v.Today
		p.show(w, pr, http.StatusOK, "pro-depot", v)
		return
	}
	again := func(err error) {
		v := p.formView(pr, err, keep...)
		v.Types = proDepositTypes(pr.PostFormValue("type"))
		if v.Error != "" {
			v.Error += " Choisissez à nouveau le fichier."
		}
		p.show(w, pr, statusOf(err), "pro-depot", v)
	}
	if pr.file == nil || len(pr.file.Body) == 0 {
		again(carnet.Errorf(carnet.EINVALID, "choisissez le fichier du document."))
		return
	}
	var date time.Time
	if s := strings.TrimSpace(pr.PostFormValue("date")); s != "" {
		var err error
		if date, err = time.Parse(time.DateOnly, s); err != nil {
			again(carnet.Errorf(carnet.EINVALID, "date invalide : AAAA-MM-JJ attendu."))
			return
		}
	}
	_, err := p.svc.DepositDocument(pr.Context(), pr.Actor, pr.PatientID, service.NewDocument{
		TypeCode: pr.PostFormValue("type"), Title: strings.TrimSpace(pr.PostFormValue("titre")),
		MediaType: proMediaType(pr.file), ServiceDate: date, Body: bytes.NewReader(pr.file.Body),
		HiddenFromPatient:         pr.PostFormValue("invisible-patient") == "oui",
		HiddenFromRepresentatives: pr.PostFormValue("invisible-representants") == "oui",
	})
	if err != nil {
		again(err)
		return
	}
	http.Redirect(w, pr.Request, "/pro/patients/"+url.PathEscape(pr.PatientID)+"?fait=depot", http.StatusSeeOther)
}

// proMediaType is the media type of an uploaded file among those Carnet accepts: as the browser
// declared it, else by its first bytes. The service checks that the bytes match.
func proMediaType(f *proFile) string {
	if mt, _, err := mime.ParseMediaType(f.ContentType); err == nil && carnet.ValidMediaType(mt) {
		return mt
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(f.Body))
	return mt
}

// ---- emergency access --------------------------------------------------------------------------

// emergencyPage opens an emergency session on the patient's record: bris de glace, or centre 15 for
// the SAMU regulating doctor, with the reason, which the service records and announces to the
// patient.
func (p *proPortal) emergencyPage(w http.ResponseWriter, pr *proRequest) {
	keep := []string{"mode", "motif"}
	if pr.Method == http.MethodGet {
		v := p.formView(pr, nil)
		v.Values["mode"] = string(carnet.ModeBreakGlass)
		p.show(w, pr, http.StatusOK, "pro-urgence", v)
		return
	}
	mode := carnet.AccessMode(pr.PostFormValue("mode"))
	session, until, err := p.svc.StartEmergency(pr.Context(), pr.Actor, pr.PatientID, mode, strings.TrimSpace(pr.PostFormValue("motif")))
	if err != nil {
		p.show(w, pr, statusOf(err), "pro-urgence", p.formView(pr, err, keep...))
		return
	}
	p.setBanner(w, pr.Actor, pr.PatientID, session.Mode, until)
	http.Redirect(w, pr.Request, "/pro/patients/"+url.PathEscape(pr.PatientID)+"?fait=urgence", http.StatusSeeOther)
}

// proParis is where the dates of the forms are.
var proParis = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}()
