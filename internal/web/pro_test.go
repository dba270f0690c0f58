package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
	"github.com/carnet-sante/carnet/internal/service"
)

// proWorld is the portal over a real service and SQLite store, with the demonstration sign-in
// and a small directory, served over TLS so that the client keeps Secure cookies.
type proWorld struct {
	svc     *service.Service
	iss     *auth.Issuer
	srv     *httptest.Server
	patient *carnet.Patient
	pros    map[string]*carnet.Professional
	labDoc  *carnet.Document // a lab report, which the grid keeps from a kinésithérapeute
}

const proTestNIR = "255081416802538"

func newProWorld(t *testing.T) *proWorld {
	t.Helper()
	ctx := context.Background()
	w := &proWorld{pros: map[string]*carnet.Professional{}}
	var err error
	w.svc, _ = newTestService(t, service.Config{BaseURL: "https://carnet.test", MaxBodySize: 1 << 20})
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if w.iss, err = auth.NewIssuer("https://carnet.test/jetons", key); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ key, rpps, profession, specialty, civility, family, given string }{
		{"generaliste", "10001234563", "10", "SM54", "Dr", "Lefèvre", "Claire"},
		{"kine", "10003456782", "70", "", "M.", "Bernard", "Sophie"},
		{"urgentiste", "10006789011", "10", "SM53", "Dr", "Garnier", "Hugo"},
	} {
		pro, _, err := w.svc.UpsertProfessional(ctx, operatorActor, &carnet.Professional{RPPS: p.rpps, Profession: carnet.Profession(p.profession),
			Specialty: p.specialty, Civility: p.civility, FamilyName: p.family, GivenName: p.given, StructureName: "Cabinet " + p.family, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		w.pros[p.key] = pro
	}
	if w.patient, err = w.svc.CreatePatient(ctx, operatorActor, &carnet.Patient{NIR: proTestNIR, BirthName: "DUPONT", GivenNames: "Marie Louise",
		Sex: carnet.SexFemale, BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC), BirthPlace: "14168", Email: "marie@example.org",
		Status: carnet.PatientActive}); err != nil {
		t.Fatal(err)
	}
	// A lab report by the médecin, deposited without consent (feeding the record is not reading it).
	if w.labDoc, err = w.svc.DepositDocument(ctx, service.ActorFor(w.pros["generaliste"]), w.patient.ID, service.NewDocument{
		TypeCode: "11502-2", Title: "Bilan sanguin annuel", MediaType: "text/plain", Body: strings.NewReader("Glycémie 0,92 g/l")}); err != nil {
		t.Fatal(err)
	}
	list := func(context.Context) ([]*carnet.Professional, error) {
		return []*carnet.Professional{w.pros["generaliste"], w.pros["kine"], w.pros["urgentiste"]}, nil
	}
	login, err := NewDemoLogin(w.iss, 0, list)
	if err != nil {
		t.Fatal(err)
	}
	site, err := New(Options{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewTLSServer(NewApp(site, w.svc, AppOptions{Secure: true, HSTS: true, ProLogin: login}).Handler())
	t.Cleanup(w.srv.Close)
	return w
}

// proClient is a browser with its own cookies that does not follow redirects.
type proClient struct {
	t *testing.T
	c *http.Client
	w *proWorld
}

func (w *proWorld) client(t *testing.T) *proClient {
	jar, _ := cookiejar.New(nil)
	c := *w.srv.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &proClient{t: t, c: &c, w: w}
}

var proCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends a request and returns the response and its body, HTML-unescaped. No URL may ever
// carry the NIR.
func (b *proClient) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	if strings.Contains(req.URL.String(), proTestNIR) {
		b.t.Fatalf("a NIR in a URL: %s", req.URL)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); strings.Contains(loc, proTestNIR) {
		b.t.Fatalf("a NIR in a redirect: %s", loc)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		checkCSPClean(b.t, string(body))
		for _, href := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(string(body), -1) {
			if strings.Contains(strings.ReplaceAll(href[1], " ", ""), proTestNIR) {
				b.t.Fatalf("a NIR in a link: %s", href[1])
			}
		}
	}
	return resp, html.UnescapeString(string(body))
}

func (b *proClient) get(path string) (*http.Response, string, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.w.srv.URL+path, nil)
	resp, body := b.do(req)
	csrf := ""
	if m := proCSRF.FindStringSubmatch(body); m != nil {
		csrf = m[1]
	}
	return resp, body, csrf
}

func (b *proClient) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.w.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.w.srv.URL)
	return b.do(req)
}

// submit gets a form's page, then posts the form with the page's CSRF token.
func (b *proClient) submit(page, action string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	_, _, csrf := b.get(page)
	if csrf == "" {
		b.t.Fatalf("%s has no CSRF token", page)
	}
	form.Set("csrf", csrf)
	return b.post(action, form)
}

// upload posts the deposit form (multipart) with a text file.
func (b *proClient) upload(path string, fields map[string]string, fileName, content string) (*http.Response, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileName != "" {
		fw, _ := mw.CreateFormFile("fichier", fileName)
		io.WriteString(fw, content)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.w.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.w.srv.URL)
	return b.do(req)
}

func wantStatus(t *testing.T, resp *http.Response, body string, code int, location string) {
	t.Helper()
	if resp.StatusCode != code || (location != "" && resp.Header.Get("Location") != location) {
		t.Fatalf("got %d → %q, want %d → %q\n%s", resp.StatusCode, resp.Header.Get("Location"), code, location, body)
	}
}

// signIn runs the demonstration sign-in as the professional of the directory.
func (b *proClient) signIn(pro *carnet.Professional) {
	b.t.Helper()
	resp, body := b.submit("/pro/connexion", "/pro/connexion/demo", url.Values{"rpps": {pro.RPPS}})
	wantStatus(b.t, resp, body, http.StatusSeeOther, "/pro")
}

func (w *proWorld) history(t *testing.T) []*carnet.AuditEvent {
	t.Helper()
	evs, err := w.svc.History(context.Background(), service.PatientActor(w.patient), w.patient.ID, carnet.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func hasEvent(evs []*carnet.AuditEvent, actorID, action string, mode carnet.AccessMode) bool {
	for _, e := range evs {
		if e.ActorID == actorID && e.Action == action && (mode == "" || e.Mode == mode) {
			return true
		}
	}
	return false
}

const proBanner = "Accès en mode bris de glace"

func TestProDemoSignInAndSession(t *testing.T) {
	w := newProWorld(t)
	b := w.client(t)
	resp, body, _ := b.get("/pro")
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro/connexion")
	resp, body, _ = b.get("/pro/connexion")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "démonstration") || !strings.Contains(body, "Dr Claire Lefèvre") ||
		!strings.Contains(body, "Masseur-kinésithérapeute") {
		t.Fatalf("demonstration sign-in page: %d\n%s", resp.StatusCode, body)
	}
	// Without its CSRF token, or with a professional outside the list, the form is refused.
	resp, _ = b.post("/pro/connexion/demo", url.Values{"rpps": {w.pros["generaliste"].RPPS}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("demo sign-in without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body = b.submit("/pro/connexion", "/pro/connexion/demo", url.Values{"rpps": {"10000000018"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choisissez un professionnel") {
		t.Errorf("unknown professional: %d", resp.StatusCode)
	}

	resp, body = b.submit("/pro/connexion", "/pro/connexion/demo", url.Values{"rpps": {w.pros["generaliste"].RPPS}})
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro")
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-carnet-pro" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" ||
		session.MaxAge <= 0 || session.MaxAge > int(time.Hour/time.Second) {
		t.Fatalf("session cookie %+v: want __Host-carnet-pro, HttpOnly, Secure, SameSite=Strict, Path=/, short-lived", session)
	}
	// The session is a token of the embedded issuer, for the portal only.
	p, err := w.iss.Verifier().Verify(context.Background(), session.Value)
	if err != nil || p.Actor.ID != w.pros["generaliste"].ID || len(p.Scopes) != 1 || p.Scopes[0] != PortalScope {
		t.Fatalf("session token: %+v %v", p, err)
	}
	resp, body, _ = b.get("/pro")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Dr Claire Lefèvre") || !strings.Contains(body, `action="/pro/deconnexion"`) ||
		strings.Contains(body, proBanner) {
		t.Fatalf("home: %d\n%s", resp.StatusCode, body)
	}
	// Signed in, the sign-in page sends home.
	resp, body, _ = b.get("/pro/connexion")
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro")

	// Sign out: CSRF-checked, then the session is gone.
	resp, _ = b.post("/pro/deconnexion", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign out without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body = b.submit("/pro", "/pro/deconnexion", url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro/deconnecte")
	resp, body, _ = b.get("/pro")
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro/connexion")

	// A token of the API (embedded issuer, SMART scopes) is no portal session; nor is garbage.
	claims, err := auth.ClaimsFor(w.pros["generaliste"], auth.DefaultScopes())
	if err != nil {
		t.Fatal(err)
	}
	apiToken, err := w.iss.Issue(claims, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{apiToken, "garbage", session.Value + "x"} {
		req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/pro", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-carnet-pro", Value: v})
		resp, err := w.srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pro/connexion" {
			t.Errorf("cookie %.20q…: %d, want a redirect to the sign-in", v, resp.StatusCode)
		}
	}
}

func TestProPatientPages(t *testing.T) {
	w := newProWorld(t)
	doctor := w.pros["generaliste"]
	b := w.client(t)
	b.signIn(doctor)

	// Find the patient by INS: a POST, CSRF-checked, recorded in the patient's history.
	resp, _ := b.post("/pro/recherche", url.Values{"ins": {proTestNIR}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("search without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body := b.submit("/pro", "/pro/recherche", url.Values{"ins": {"2 55 08 14 168 025 39"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "NIR") {
		t.Errorf("wrong key: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.submit("/pro", "/pro/recherche", url.Values{"ins": {"2 55 08 14 168 025 38"}})
	record := "/pro/patients/" + w.patient.ID
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "DUPONT") || !strings.Contains(body, "Marie Louise") ||
		!strings.Contains(body, `href="`+record+`"`) || !strings.Contains(body, "2 55 08 14 168 025 38") {
		t.Fatalf("search result: %d\n%s", resp.StatusCode, body)
	}
	if !hasEvent(w.history(t), doctor.ID, "patient.search", "") {
		t.Error("the search is not in the patient's history")
	}

	// Without consent, the record is refused with the service's explanation; consent opens it.
	resp, body, _ = b.get(record)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Accès au dossier refusé") || strings.Contains(body, "Bilan sanguin") {
		t.Fatalf("record without consent: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.post(record+"/consentement", url.Values{"forme": {"oral"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("consent without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body = b.submit(record+"/consentement", record+"/consentement", url.Values{"forme": {"oral"}, "finalite": {"suivi"},
		"echeance": {"2001-01-01"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "échéance est passée") {
		t.Errorf("consent ending in the past: %d\n%s", resp.StatusCode, body)
	}
	// A consent bound to a purpose does not open the record to the portal's reads, which name
	// none (the service decides with an empty purpose): the refusal says so.
	resp, body = b.submit(record+"/consentement", record+"/consentement", url.Values{"forme": {"written"}, "finalite": {"suivi"},
		"echeance": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}})
	wantStatus(t, resp, body, http.StatusSeeOther, record+"?fait=consentement")
	if resp, body, _ = b.get(record); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "limité au motif « suivi »") {
		t.Errorf("record with a purpose-bound consent: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.submit(record+"/consentement", record+"/consentement", url.Values{"forme": {"oral"},
		"echeance": {time.Now().AddDate(0, 1, 0).Format(time.DateOnly)}})
	wantStatus(t, resp, body, http.StatusSeeOther, record+"?fait=consentement")
	resp, body, _ = b.get(record + "?fait=consentement")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "consentement du patient est enregistré") ||
		!strings.Contains(body, "Bilan sanguin annuel") || !strings.Contains(body, "Date de naissance") {
		t.Fatalf("record with consent: %d\n%s", resp.StatusCode, body)
	}

	// Deposit a document (multipart), invisible to the patient until the announcement.
	_, _, csrf := b.get(record + "/depot")
	resp, _ = b.upload(record+"/depot", map[string]string{"type": "11488-4", "titre": "Consultation du 3 mars"}, "cr.txt", "RAS")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("deposit without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body = b.upload(record+"/depot", map[string]string{"csrf": csrf, "type": "11488-4", "titre": "Consultation du 3 mars",
		"date": "2026-03-03", "invisible-patient": "oui"}, "", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choisissez le fichier") || !strings.Contains(body, `value="Consultation du 3 mars"`) {
		t.Errorf("deposit without a file: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.upload(record+"/depot", map[string]string{"csrf": csrf, "type": "DOCPAT01", "titre": "Notes"}, "notes.txt", "x")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Choisissez à nouveau le fichier") {
		t.Errorf("deposit of a patient's type: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.upload(record+"/depot", map[string]string{"csrf": csrf, "type": "11488-4", "titre": "Consultation du 3 mars",
		"date": "2026-03-03", "invisible-patient": "oui"}, "cr.txt", "Examen clinique sans particularité.")
	wantStatus(t, resp, body, http.StatusSeeOther, record+"?fait=depot")
	docs, err := w.svc.ListDocuments(context.Background(), service.ActorFor(doctor), w.patient.ID, carnet.DocumentFilter{TypeCodes: []string{"11488-4"}})
	if err != nil || len(docs) != 1 || !docs[0].HiddenFromPatient || docs[0].Title != "Consultation du 3 mars" || docs[0].MediaType != "text/plain" ||
		docs[0].ServiceDate.Format(time.DateOnly) != "2026-03-03" || docs[0].AuthorID != doctor.ID {
		t.Fatalf("deposited: %+v %v", docs, err)
	}
	_, body, _ = b.get(record)
	if !strings.Contains(body, "Consultation du 3 mars") || !strings.Contains(body, "Invisible au patient") {
		t.Errorf("the record page lacks the new document:\n%s", body)
	}

	// View and download.
	content := record + "/documents/" + docs[0].ID + "/contenu"
	resp, body, _ = b.get(content)
	if resp.StatusCode != http.StatusOK || body != "Examen clinique sans particularité." ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("content: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	resp, _, _ = b.get(content + "?telecharger=1")
	if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %q", resp.Header.Get("Content-Disposition"))
	}
	if !hasEvent(w.history(t), doctor.ID, "document.read", carnet.ModeNormal) {
		t.Error("the reading is not in the patient's history")
	}
}

func TestProGridRefusalIsExplained(t *testing.T) {
	w := newProWorld(t)
	kine := w.pros["kine"]
	b := w.client(t)
	b.signIn(kine)
	record := "/pro/patients/" + w.patient.ID
	resp, body := b.submit(record+"/consentement", record+"/consentement", url.Values{"forme": {"oral"}})
	wantStatus(t, resp, body, http.StatusSeeOther, record+"?fait=consentement")
	// The lab report is not listed for a kinésithérapeute, and reading it is refused, with why.
	resp, body, _ = b.get(record)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "Bilan sanguin") {
		t.Fatalf("record for the kinésithérapeute: %d\n%s", resp.StatusCode, body)
	}
	resp, body, _ = b.get(record + "/documents/" + w.labDoc.ID + "/contenu")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "grille d'habilitation ne l'autorise pas pour sa profession") ||
		strings.Contains(body, "Glycémie") {
		t.Fatalf("lab report read by a kinésithérapeute: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "Sophie Bernard") {
		t.Error("the refusal page should keep the header of the signed-in professional")
	}
}

func TestProEmergencyBannerOnEveryPage(t *testing.T) {
	w := newProWorld(t)
	doctor := w.pros["urgentiste"]
	b := w.client(t)
	b.signIn(doctor)
	record := "/pro/patients/" + w.patient.ID
	resp, body, _ := b.get(record)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, proBanner) {
		t.Fatalf("before the emergency: %d", resp.StatusCode)
	}
	resp, _ = b.post(record+"/urgence", url.Values{"mode": {"bris_de_glace"}, "motif": {"Patiente inconsciente aux urgences"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("emergency without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, body = b.submit(record+"/urgence", record+"/urgence", url.Values{"mode": {"bris_de_glace"}, "motif": {"abc"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "motif") {
		t.Errorf("emergency without a real reason: %d", resp.StatusCode)
	}
	resp, body = b.submit(record+"/urgence", record+"/urgence", url.Values{"mode": {"bris_de_glace"}, "motif": {"Patiente inconsciente aux urgences"}})
	wantStatus(t, resp, body, http.StatusSeeOther, record+"?fait=urgence")

	// The banner is on the record, its forms, its documents' refusals and the other pages.
	resp, body, _ = b.get(record + "?fait=urgence")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, proBanner) || !strings.Contains(body, "Bilan sanguin annuel") {
		t.Fatalf("record in emergency: %d\n%s", resp.StatusCode, body)
	}
	for _, page := range []string{"/pro", record + "/depot", record + "/consentement", record + "/documents/inconnu/contenu"} {
		if _, body, _ := b.get(page); !strings.Contains(body, proBanner) {
			t.Errorf("%s lacks the emergency banner:\n%s", page, body)
		}
	}
	// Even without the banner's cookie, the record's pages show the mode the service acted in.
	req, _ := http.NewRequest(http.MethodGet, w.srv.URL+record, nil)
	u, _ := url.Parse(w.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "__Host-carnet-pro" {
			req.AddCookie(c)
		}
	}
	resp, body = w.client(t).do(req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, proBanner) {
		t.Errorf("record without the banner cookie: %d", resp.StatusCode)
	}
	// Emergency modes only read: a deposit is refused, with the explanation.
	_, _, csrf := b.get(record + "/depot")
	resp, body = b.upload(record+"/depot", map[string]string{"csrf": csrf, "type": "15507-7", "titre": "Passage aux urgences"}, "u.txt", "x")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, proBanner) {
		t.Errorf("deposit in emergency mode: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	evs := w.history(t)
	if !hasEvent(evs, doctor.ID, "emergency.start", carnet.ModeBreakGlass) || !hasEvent(evs, doctor.ID, "document.list", carnet.ModeBreakGlass) {
		t.Error("the emergency and the reading in its mode are not in the history")
	}
	// The banner's cookie is bound to the professional: another one does not inherit it.
	other := w.client(t)
	other.signIn(w.pros["kine"])
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "__Host-carnet-pro-urgence" {
			other.c.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/", Secure: true}})
		}
	}
	if _, body, _ := other.get("/pro"); strings.Contains(body, proBanner) {
		t.Error("the banner followed another professional")
	}
	// Signing out ends the banner too.
	resp, body = b.submit("/pro", "/pro/deconnexion", url.Values{})
	wantStatus(t, resp, body, http.StatusSeeOther, "/pro/deconnecte")
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "__Host-carnet-pro") {
			t.Errorf("cookie %s survived the sign-out", c.Name)
		}
	}
}

func TestProWithoutSignIn(t *testing.T) {
	site, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewApp(site, nil, AppOptions{}).Handler()
	for _, path := range []string{"/pro", "/pro/connexion"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "pas configurée") {
			t.Errorf("%s without a sign-in: %d", path, rec.Code)
		}
	}
}

func TestProVerifiedNonce(t *testing.T) {
	for raw, want := range map[string]string{
		"a.eyJub25jZSI6ImFiYyJ9.c": "abc",
		"a.eyJzdWIiOiJ4In0.c":      "",
		"a.!!!.c":                  "",
		"a.b":                      "",
	} {
		if got := proVerifiedNonce(raw); got != want {
			t.Errorf("proVerifiedNonce(%q) = %q, want %q", raw, got, want)
		}
	}
}
