package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/web/browsertest"
)

// spaceWorld is the portal's handler over a real service and SQLite store, with a parent
// signed in (session token), her child, and a médecin to whom she consented.
type spaceWorld struct {
	svc    *service.Service
	st     carnet.Store
	h      http.Handler
	parent *carnet.Patient
	child  *carnet.Patient
	doctor carnet.Actor
	token  string
}

var spaceOperator = carnet.Actor{Kind: carnet.ActorOperator, ID: "op-test", Name: "Assurance Maladie"}

var spaceCtx = context.Background()

func newSpaceWorld(t *testing.T) *spaceWorld {
	t.Helper()
	svc, st := newTestService(t, service.Config{BaseURL: "https://carnet.test", MaxBodySize: 1 << 20})
	site, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &spaceWorld{svc: svc, st: st, h: NewApp(site, svc, AppOptions{}).Handler()}
	w.parent, err = svc.CreatePatient(spaceCtx, spaceOperator, &carnet.Patient{NIR: "255081416802538", BirthName: "DUPONT",
		GivenNames: "Marie", Sex: carnet.SexFemale, BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC),
		Email: "marie@example.org", Status: carnet.PatientActive})
	if err != nil {
		t.Fatal(err)
	}
	birth := time.Now().AddDate(-8, 0, 0).UTC().Truncate(24 * time.Hour)
	body := "2" + birth.Format("06") + birth.Format("01") + "75056" + "001"
	key, err := carnet.NIRKey(body)
	if err != nil {
		t.Fatal(err)
	}
	w.child, err = svc.CreatePatient(spaceCtx, spaceOperator, &carnet.Patient{NIR: fmt.Sprintf("%s%02d", body, key), BirthName: "DUPONT",
		GivenNames: "Léa", Sex: carnet.SexFemale, BirthDate: birth, RightsHolderID: w.parent.ID, Status: carnet.PatientActive})
	if err != nil {
		t.Fatal(err)
	}
	w.doctor = w.professional(t, "10000000018", "Lefèvre")
	if _, err := svc.DeclareConsent(spaceCtx, w.doctor, w.parent.ID, carnet.ConsentOral, "", nil); err != nil {
		t.Fatal(err)
	}

	// The parent activates her account through the service, as the activation pages do.
	if err := svc.IssueCode(spaceCtx, spaceOperator, w.parent.ID, "1234 5678 9012"); err != nil {
		t.Fatal(err)
	}
	browser := service.Client{Address: "192.0.2.1", UserAgent: "test"}
	tok, err := svc.BeginActivation(spaceCtx, service.ActivationCheck{NIR: w.parent.NIR, Code: w.code(t, "activation_code"),
		VitaleSerial: "1234 5678 9012"}, browser)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetCredentials(spaceCtx, tok, service.Credentials{Login: "marie.d", Password: "Cerisier-Lumineux-47",
		Channel: "email", Contact: "marie@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ConfirmContact(spaceCtx, tok, w.code(t, "one_time_code"), browser); err != nil {
		t.Fatal(err)
	}
	w.token = tok
	return w
}

func (w *spaceWorld) professional(t *testing.T, rpps, name string) carnet.Actor {
	t.Helper()
	p, _, err := w.svc.UpsertProfessional(spaceCtx, spaceOperator, &carnet.Professional{RPPS: rpps, Profession: "10",
		Specialty: "SM54", Civility: "Dr", FamilyName: name, GivenName: "Alex", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return service.ActorFor(p)
}

// code reveals the latest code of a kind sent to the parent.
func (w *spaceWorld) code(t *testing.T, kind string) string {
	t.Helper()
	var msgs []*carnet.OutboxMessage
	if err := w.st.View(spaceCtx, func(tx carnet.Tx) error {
		var err error
		msgs, err = tx.ListOutbox(spaceCtx, w.parent.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Kind == kind && len(m.Secret) > 0 {
			c, err := w.svc.RevealSecret(m)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no %s message", kind)
	return ""
}

// deposit adds a text document to a space, as a professional's software would.
func (w *spaceWorld) deposit(t *testing.T, actor carnet.Actor, patientID, typ, title string, date time.Time, hideFromParents bool) *carnet.Document {
	t.Helper()
	d, err := w.svc.DepositDocument(spaceCtx, actor, patientID, service.NewDocument{TypeCode: typ, Title: title, MediaType: "text/plain",
		ServiceDate: date, Body: strings.NewReader("Contenu de " + title), HiddenFromRepresentatives: hideFromParents})
	if err != nil {
		t.Fatalf("deposit %q: %v", title, err)
	}
	return d
}

// serve sends a request with the session cookie (no Origin: a same-site form post).
func (w *spaceWorld) serve(t *testing.T, method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.AddCookie(&http.Cookie{Name: "carnet", Value: w.token})
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return rec
}

// page gets a page, wants 200 and a page the CSP allows, and returns its body.
func (w *spaceWorld) page(t *testing.T, target string) string {
	t.Helper()
	rec := w.serve(t, http.MethodGet, target, nil, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", target, rec.Code, rec.Body)
	}
	body := rec.Body.String()
	checkCSPClean(t, body)
	return body
}

func (w *spaceWorld) post(t *testing.T, target string, form url.Values, csrf bool) *httptest.ResponseRecorder {
	t.Helper()
	if csrf {
		form.Set("csrf", w.svc.CSRFFor(w.token))
	}
	return w.serve(t, http.MethodPost, target, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// upload posts the upload form: fields, then a file part when name is not empty.
func (w *spaceWorld) upload(t *testing.T, target string, fields map[string]string, name string, content []byte, csrf bool) *httptest.ResponseRecorder {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf {
		mw.WriteField("csrf", w.svc.CSRFFor(w.token))
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if name != "" {
		fw, err := mw.CreateFormFile("fichier", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return w.serve(t, http.MethodPost, target, &buf, mw.FormDataContentType())
}

func spaceWantSeeOther(t *testing.T, rec *httptest.ResponseRecorder, prefix string) string {
	t.Helper()
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("got %d → %q, want 303 → %s…\n%s", rec.Code, loc, prefix, rec.Body)
	}
	return loc
}

func spaceWantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, s := range wants {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

func spaceWantNotIn(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, s := range nots {
		if strings.Contains(body, s) {
			t.Errorf("%s holds %q", what, s)
		}
	}
}

func TestSpaceHome(t *testing.T) {
	w := newSpaceWorld(t)
	d := w.deposit(t, w.doctor, w.parent.ID, "11488-4", "Consultation de cardiologie", time.Time{}, false)
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	// A médecin without consent reads it in bris de glace: the mode is shown.
	stranger := w.professional(t, "10000000026", "Urgentiste")
	em, _, err := w.svc.StartEmergency(spaceCtx, stranger, w.parent.ID, carnet.ModeBreakGlass, "Patiente inconsciente aux urgences")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.ReadDocument(spaceCtx, em, w.parent.ID, d.ID); err != nil {
		t.Fatal(err)
	}

	body := w.page(t, "/espace")
	spaceWantIn(t, "the home page", body,
		"<h1>Bonjour Marie DUPONT</h1>",
		`href="/espace/documents/`+d.ID+`">Consultation de cardiologie</a>`, "Dr Alex Lefèvre",
		"Consultation d&#39;un document", "médecin", "Bris de glace (urgence)", "Dr Alex Urgentiste",
		`href="/espace/documents"`, `href="/espace/profil"`, `href="/espace/volontes"`, `href="/espace/parametres"`,
		`href="/espace/historique"`, `href="/espace/enfants"`, `href="/espace/securite"`, `href="/espace/fermeture"`,
		`<th scope="col">`, "<caption>")
	spaceWantNotIn(t, "the home page", body, w.parent.NIR)

	// Without a session, the space sends to the sign-in page.
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/espace/documents", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/connexion" {
		t.Errorf("anonymous: %d → %s", rec.Code, rec.Header().Get("Location"))
	}
}

func TestDocumentListAndFilter(t *testing.T) {
	w := newSpaceWorld(t)
	w.deposit(t, w.doctor, w.parent.ID, "11488-4", "Consultation de cardiologie", time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), false)
	w.deposit(t, w.doctor, w.parent.ID, "11502-2", "Bilan sanguin", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), false)
	w.deposit(t, w.doctor, w.parent.ID, "57833-6", "Ordonnance amoxicilline", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), false)
	mine, err := w.svc.DepositDocument(spaceCtx, service.PatientActor(w.parent), w.parent.ID, service.NewDocument{TypeCode: "DOCPAT09",
		Title: "Notes personnelles", MediaType: "text/plain", Body: strings.NewReader("notes"), HiddenFromProfessionals: true})
	if err != nil {
		t.Fatal(err)
	}

	body := w.page(t, "/espace/documents")
	spaceWantIn(t, "the list", body, "4 documents", "Consultation de cardiologie", "Bilan sanguin", "Ordonnance amoxicilline", "Notes personnelles",
		">Compte rendu (2)</h3>", ">Prescription (1)</h3>", ">Document déposé par le patient (1)</h3>",
		`href="/espace/documents/`+mine.ID+`"`, "Masqué aux professionnels", `<form method="get" action="/espace/documents">`,
		`<label class="fr-label" for="categorie">`, `<label class="fr-label" for="du">`)
	// Within a category, the newest first.
	if i, j := strings.Index(body, "Bilan sanguin"), strings.Index(body, "Consultation de cardiologie"); i > j {
		t.Error("the lab report of 2025 should come before the consultation of 2024")
	}

	body = w.page(t, "/espace/documents?categorie=42")
	spaceWantIn(t, "the prescriptions", body, "1 document correspondant", "Ordonnance amoxicilline", `<option value="42" selected>`)
	spaceWantNotIn(t, "the prescriptions", body, "Consultation de cardiologie", "Notes personnelles")

	body = w.page(t, "/espace/documents?type=11502-2")
	spaceWantIn(t, "the lab reports", body, "Bilan sanguin")
	spaceWantNotIn(t, "the lab reports", body, "Consultation de cardiologie", "Ordonnance amoxicilline")

	body = w.page(t, "/espace/documents?du=2025-01-01&au=2025-03-31")
	spaceWantIn(t, "the first quarter of 2025", body, "Bilan sanguin", `value="2025-01-01"`)
	spaceWantNotIn(t, "the first quarter of 2025", body, "Consultation de cardiologie", "Ordonnance amoxicilline", "Notes personnelles")

	body = w.page(t, "/espace/documents?au=31/05/2025")
	spaceWantIn(t, "until May 2025", body, "Bilan sanguin", "Consultation de cardiologie")
	spaceWantNotIn(t, "until May 2025", body, "Ordonnance amoxicilline")

	body = w.page(t, "/espace/documents?du=demain&categorie=99")
	spaceWantIn(t, "a bad filter", body, "La date de début n’est pas une date valide", "Catégorie inconnue", "4 documents")
}

func TestDocumentPageAndContent(t *testing.T) {
	w := newSpaceWorld(t)
	d := w.deposit(t, w.doctor, w.parent.ID, "11488-4", "Consultation de cardiologie", time.Time{}, false)
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	base := "/espace/documents/" + d.ID
	body := w.page(t, base)
	spaceWantIn(t, "the document page", body,
		"<h1>Consultation de cardiologie</h1>", "Compte rendu de consultation", "Dr Alex Lefèvre",
		`<iframe class="fr-responsive-vid__player" src="`+base+`/contenu" title=`, `href="`+base+`/contenu?telecharger=1"`,
		"Qui peut voir ce document ?", "Son auteur, Dr Alex Lefèvre.", "masseur-kinésithérapeute",
		`action="`+base+`/visibilite"`, `name="masquer" value="oui"`,
		// The document's own history: the médecin's read.
		"Historique des accès à ce document", "<th scope=\"row\">Dr Alex Lefèvre</th>", "Consultation d&#39;un document")

	rec := w.serve(t, http.MethodGet, base+"/contenu", nil, "")
	h := rec.Header()
	if rec.Code != http.StatusOK || rec.Body.String() != "Contenu de Consultation de cardiologie" {
		t.Fatalf("content: %d %q", rec.Code, rec.Body)
	}
	if h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "inline;") || !strings.Contains(h.Get("Content-Disposition"), "Consultation de cardiologie.txt") ||
		!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox;") || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'self'") ||
		h.Get("X-Frame-Options") != "SAMEORIGIN" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("content headers: %v", h)
	}
	rec = w.serve(t, http.MethodGet, base+"/contenu?telecharger=1", nil, "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") {
		t.Errorf("download: %d %q", rec.Code, rec.Header().Get("Content-Disposition"))
	}
	if rec := w.serve(t, http.MethodGet, "/espace/documents/inconnu", nil, ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown document: %d", rec.Code)
	}
}

func TestUploadAndHideFromProfessionals(t *testing.T) {
	w := newSpaceWorld(t)
	body := w.page(t, "/espace/documents/ajout")
	spaceWantIn(t, "the upload form", body, `enctype="multipart/form-data"`, `name="csrf"`, `<label class="fr-label" for="fichier">`,
		`<option value="DOCPAT07">`, `name="masquer" value="oui"`, "20 Mo")
	spaceWantNotIn(t, "the upload form", body, `<option value="11488-4">`)

	// Errors come back in the form, in French, with the values typed.
	rec := w.upload(t, "/espace/documents/ajout", map[string]string{"titre": "Bilan de mars", "type": "DOCPAT07"}, "", nil, true)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("no file: %d", rec.Code)
	}
	spaceWantIn(t, "the form without a file", rec.Body.String(), "Choisissez un fichier.", `value="Bilan de mars"`,
		`<option value="DOCPAT07" selected>`, "fr-upload-group--error", `aria-describedby="fichier-erreur"`)
	rec = w.upload(t, "/espace/documents/ajout", map[string]string{"titre": "", "type": "11488-4", "date": "2999-01-01"},
		"bilan.pdf", []byte("%PDF-1.4\n"), true)
	spaceWantIn(t, "the form with bad fields", rec.Body.String(), "Indiquez un titre.", "Choisissez le type du document.",
		"La date ne peut pas être dans le futur.")
	rec = w.upload(t, "/espace/documents/ajout", map[string]string{"titre": "Bilan", "type": "DOCPAT07"}, "bilan.pdf", []byte("pas un PDF"), true)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "ne correspond pas au format déclaré") {
		t.Errorf("a false PDF: %d\n%s", rec.Code, rec.Body)
	}
	// A body over the limit is turned away before it is read.
	r := httptest.NewRequest(http.MethodPost, "/espace/documents/ajout", strings.NewReader("x"))
	r.ContentLength = spaceBodyLimit + 1
	r.AddCookie(&http.Cookie{Name: "carnet", Value: w.token})
	rec = httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	loc := spaceWantSeeOther(t, rec, "/espace/documents/ajout?erreur=taille")
	if rec := w.serve(t, http.MethodGet, loc, nil, ""); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "trop volumineux") {
		t.Errorf("too large: %d", rec.Code)
	}

	rec = w.upload(t, "/espace/documents/ajout", map[string]string{"titre": "Bilan de mars", "type": "DOCPAT07", "date": "2026-03-02"},
		"bilan.pdf", []byte("%PDF-1.4\n1 0 obj\n"), true)
	loc = spaceWantSeeOther(t, rec, "/espace/documents/")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/espace/documents/"), "?fait=ajoute")
	d, content, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, id)
	if err != nil || d.Title != "Bilan de mars" || d.MediaType != "application/pdf" || d.AuthorKind != carnet.AuthorPatient ||
		d.ServiceDate.Format(time.DateOnly) != "2026-03-02" || string(content) != "%PDF-1.4\n1 0 obj\n" {
		t.Fatalf("the deposit as the médecin reads it: %+v %v", d, err)
	}
	spaceWantIn(t, "the new document's page", w.page(t, loc), "Le document est ajouté", "<h1>Bilan de mars</h1>", "PDF")

	// Hide it from professionals: the médecin no longer finds it.
	rec = w.post(t, "/espace/documents/"+id+"/visibilite", url.Values{"masquer": {"oui"}}, true)
	spaceWantSeeOther(t, rec, "/espace/documents/"+id+"?fait=masque")
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, id); carnet.ErrorCode(err) != carnet.ENOTFOUND {
		t.Errorf("a médecin reads a hidden document: %v", err)
	}
	body = w.page(t, "/espace/documents/"+id+"?fait=masque")
	spaceWantIn(t, "the hidden document's page", body, "Le document est masqué", "Masqué aux professionnels", `name="masquer" value="non"`)
	spaceWantIn(t, "the list", w.page(t, "/espace/documents"), "Masqué aux professionnels")

	// And show it again.
	rec = w.post(t, "/espace/documents/"+id+"/visibilite", url.Values{"masquer": {"non"}}, true)
	spaceWantSeeOther(t, rec, "/espace/documents/"+id+"?fait=affiche")
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, id); err != nil {
		t.Errorf("the médecin after unhiding: %v", err)
	}
}

func TestSpacePostsNeedTheCSRFToken(t *testing.T) {
	w := newSpaceWorld(t)
	d := w.deposit(t, w.doctor, w.parent.ID, "11488-4", "Consultation de cardiologie", time.Time{}, false)
	rec := w.post(t, "/espace/documents/"+d.ID+"/visibilite", url.Values{"masquer": {"oui"}}, false)
	if rec.Code != http.StatusForbidden {
		t.Errorf("hide without CSRF: %d, want 403", rec.Code)
	}
	rec = w.post(t, "/espace/documents/"+d.ID+"/visibilite", url.Values{"masquer": {"oui"}, "csrf": {strings.Repeat("A", 43)}}, false)
	if rec.Code != http.StatusForbidden {
		t.Errorf("hide with a forged CSRF token: %d, want 403", rec.Code)
	}
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, d.ID); err != nil {
		t.Errorf("the document changed: %v", err)
	}
	rec = w.upload(t, "/espace/documents/ajout", map[string]string{"titre": "Notes", "type": "DOCPAT09"}, "notes.txt", []byte("notes"), false)
	if rec.Code != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d, want 403", rec.Code)
	}
	docs, err := w.svc.ListDocuments(spaceCtx, service.PatientActor(w.parent), w.parent.ID, carnet.DocumentFilter{})
	if err != nil || len(docs) != 1 || docs[0].HiddenFromProfessionals {
		t.Errorf("the space changed: %d documents, %v", len(docs), err)
	}
}

func TestChildSpace(t *testing.T) {
	w := newSpaceWorld(t)
	seen := w.deposit(t, w.doctor, w.child.ID, "11369-6", "Vaccinations de Léa", time.Time{}, false)
	secret := w.deposit(t, w.doctor, w.child.ID, "11488-4", "Consultation confidentielle", time.Time{}, true)
	base := "/espace/enfants/" + w.child.ID

	body := w.page(t, base)
	spaceWantIn(t, "the child's home", body, "Espace santé de Léa DUPONT", "représentant légal", "Vaccinations de Léa",
		`href="`+base+`/documents"`, `href="`+base+`/historique"`)
	spaceWantNotIn(t, "the child's home", body, "Consultation confidentielle", `href="/espace/securite"`)

	body = w.page(t, base+"/documents")
	spaceWantIn(t, "the child's documents", body, "1 document", `href="`+base+`/documents/`+seen.ID+`"`, "Vaccinations de Léa")
	spaceWantNotIn(t, "the child's documents", body, "Consultation confidentielle", secret.ID)

	spaceWantIn(t, "a child's document", w.page(t, base+"/documents/"+seen.ID), "Léa DUPONT et vous, son représentant légal.")
	for _, p := range []string{base + "/documents/" + secret.ID, base + "/documents/" + secret.ID + "/contenu"} {
		if rec := w.serve(t, http.MethodGet, p, nil, ""); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "confidentielle") {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	rec := w.post(t, base+"/documents/"+secret.ID+"/visibilite", url.Values{"masquer": {"oui"}}, true)
	if rec.Code != http.StatusNotFound {
		t.Errorf("hiding a confidential document: %d, want 404", rec.Code)
	}

	// The parent uploads to the child's space.
	rec = w.upload(t, base+"/documents/ajout", map[string]string{"titre": "Carnet de santé, page 12", "type": "DOCPAT04"},
		"page.txt", []byte("Rougeole : vaccin fait."), true)
	loc := spaceWantSeeOther(t, rec, base+"/documents/")
	spaceWantIn(t, "the uploaded page", w.page(t, loc), "Carnet de santé, page 12", "Vous")

	// Another child's space is not hers.
	if rec := w.serve(t, http.MethodGet, "/espace/enfants/"+w.doctor.ID+"/documents", nil, ""); rec.Code != http.StatusNotFound {
		t.Errorf("someone else's space: %d, want 404", rec.Code)
	}
}

// TestSpacePagesInBrowser loads the pages in Chromium, with and without JavaScript: no
// accessibility violation (axe-core), nothing the CSP blocks (the document viewer's frame
// included), and an upload through the form with scripts off.
func TestSpacePagesInBrowser(t *testing.T) {
	w := newSpaceWorld(t)
	text := w.deposit(t, w.doctor, w.parent.ID, "11488-4", "Consultation de cardiologie", time.Time{}, false)
	if _, _, err := w.svc.ReadDocument(spaceCtx, w.doctor, w.parent.ID, text.ID); err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		m.Set(x, 15, color.Black)
	}
	png.Encode(&img, m)
	scan, err := w.svc.DepositDocument(spaceCtx, service.PatientActor(w.parent), w.parent.ID, service.NewDocument{TypeCode: "DOCPAT06",
		Title: "Radio du poignet", MediaType: "image/png", Body: bytes.NewReader(img.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	w.deposit(t, w.doctor, w.child.ID, "11369-6", "Vaccinations de Léa", time.Time{}, false)
	srv := httptest.NewServer(w.h)
	t.Cleanup(srv.Close)
	browser := browsertest.Start(t)
	if _, err := chromedp.Call(browser, network.SetCookie, network.SetCookieParams{Name: "carnet", Value: w.token, URL: srv.URL,
		Path: "/", HTTPOnly: new(true)}); err != nil {
		t.Fatal(err)
	}
	child := "/espace/enfants/" + w.child.ID
	pages := []string{"/espace", "/espace/documents", "/espace/documents?categorie=10&du=2020-01-01",
		"/espace/documents/" + text.ID, "/espace/documents/" + scan.ID, "/espace/documents/ajout", child, child + "/documents"}
	for _, js := range []bool{true, false} {
		var opts []browsertest.TabOption
		if !js {
			opts = append(opts, browsertest.WithoutJavaScript())
		}
		for _, p := range pages {
			t.Run(fmt.Sprintf("%s js=%t", p, js), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(browsertest.NewTab(t, browser, opts...), 30*time.Second)
				defer cancel()
				resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+p))
				if err != nil {
					t.Fatal(err)
				}
				if resp.Status != http.StatusOK {
					t.Fatalf("status %d", resp.Status)
				}
				if p == "/espace/documents/"+scan.ID {
					width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("main figure img").naturalWidth`))
					if err != nil || width != 40 {
						t.Errorf("the image did not load: width %d, %v", width, err)
					}
				}
				browsertest.Axe(ctx, t)
				browsertest.NoConsoleErrors(ctx, t)
				if err := browsertest.Screenshot(ctx, filepath.Join(t.ArtifactDir(), "page.png")); err != nil {
					t.Error(err)
				}
			})
		}
	}

	t.Run("upload without JavaScript", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(browsertest.NewTab(t, browser, browsertest.WithoutJavaScript()), 30*time.Second)
		defer cancel()
		file := filepath.Join(t.TempDir(), "ordonnance.txt")
		if err := os.WriteFile(file, []byte("Paracétamol 1 g, 3 fois par jour."), 0o600); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/espace/documents/ajout"),
			chromedp.SetUploadFiles(chromedp.ID("fichier"), []string{file}),
			chromedp.SetValue(chromedp.ID("type"), "DOCPAT08"),
			chromedp.SetValue(chromedp.ID("titre"), "Ordonnance du Dr Martin"),
			chromedp.Click(chromedp.CSS(`form[enctype] button[type="submit"]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		var loc string
		for range 50 { // the form posts, then the browser follows the redirect
			if loc, err = chromedp.Run(ctx, chromedp.Location()); err == nil && strings.HasSuffix(loc, "?fait=ajoute") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !strings.HasSuffix(loc, "?fait=ajoute") {
			t.Fatalf("no redirect to the new document: at %s, %v", loc, err)
		}
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
		if err != nil || h1 != "Ordonnance du Dr Martin" {
			t.Errorf("h1 = %q, %v", h1, err)
		}
		browsertest.Axe(ctx, t)
		browsertest.NoConsoleErrors(ctx, t)
	})
}

func TestSpaceFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{spaceDate(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)), "1er mars 2026"},
		{spaceDate(time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC)), "24 décembre 2025"},
		{spaceDateTime(time.Date(2026, 7, 14, 8, 5, 0, 0, time.UTC)), "14 juillet 2026 à 10 h 05"},
		{spaceSize(512), "512 octets"},
		{spaceSize(12 * 1024), "12 ko"},
		{spaceSize(3 << 19), "1,5 Mo"},
		{spaceSize(20 << 20), "20 Mo"},
		{spaceList([]string{"a"}), "a"},
		{spaceList([]string{"a", "b", "c"}), "a, b et c"},
		{spaceFileName(&carnet.Document{Title: "Bilan: mars/2026 \"final\"", MediaType: "application/pdf"}), "Bilan mars 2026 final.pdf"},
		{spaceFileName(&carnet.Document{Title: "../..", MediaType: "text/plain"}), "document.txt"},
		{spaceMediaType("scan.JPG", "", nil), "image/jpeg"},
		{spaceMediaType("compte-rendu", "application/pdf", nil), "application/pdf"},
		{spaceMediaType("sans-extension", "application/octet-stream", []byte("\x89PNG\r\n\x1a\n....")), "image/png"},
		{spaceMediaType("page.html", "text/html", []byte("<html><script>")), ""},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
