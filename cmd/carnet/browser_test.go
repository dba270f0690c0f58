package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet/internal/notify/smtptest"
	"github.com/carnet-sante/carnet/internal/web/browsertest"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// portal is the whole program serving the demo world, with its mail going to a real SMTP
// server on loopback, driven by a real Chromium.
type portal struct {
	t       *testing.T
	s       *server
	smtp    *smtptest.Server
	env     map[string]string
	browser context.Context
	shots   string // directory of screenshots (CARNET_SCREENSHOTS), "" for none
}

func startPortal(t *testing.T) *portal {
	t.Helper()
	browser := browsertest.Start(t) // skips without Chromium, fails in CI
	mail := smtptest.Start(t)
	env := map[string]string{
		"CARNET_DATA": t.TempDir(), "CARNET_SMTP_HOST": mail.Host(), "CARNET_SMTP_PORT": strconv.Itoa(mail.Port()),
		"CARNET_SMTP_TLS": "none", "CARNET_PASSWORD_COST": "test",
	}
	p := &portal{t: t, s: start(t, env, "serve", "--demo"), smtp: mail, env: env, browser: browser}
	if dir := os.Getenv("CARNET_SCREENSHOTS"); dir != "" {
		p.shots, _ = filepath.Abs(dir)
	}
	return p
}

// tab opens a new browser tab (its own cookies are shared by the browser context) with a
// deadline.
func (p *portal) tab() context.Context {
	ctx := browsertest.NewTab(p.t, p.browser)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	p.t.Cleanup(cancel)
	return ctx
}

// do runs browser actions and fails the test on error.
func (p *portal) do(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		p.t.Fatalf("%s: %v\n%s", what, err, html)
	}
}

// page checks the page the tab is on: the path, no serious accessibility violation, no console
// error; and saves a screenshot under name when asked to.
func (p *portal) page(ctx context.Context, path, name string) {
	p.t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	if !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], path) {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		p.t.Fatalf("on %s, want %s\n%s", loc, path, html)
	}
	browsertest.Axe(ctx, p.t)
	browsertest.NoConsoleErrors(ctx, p.t)
	if p.shots != "" && name != "" {
		if err := os.MkdirAll(p.shots, 0o755); err != nil {
			p.t.Fatal(err)
		}
		if err := browsertest.Screenshot(ctx, filepath.Join(p.shots, name+".png")); err != nil {
			p.t.Fatal(err)
		}
	}
}

// wantText waits (10 s at most) until the page's <main> contains text, and fails the test
// with the page's HTML otherwise. Polling in the page rather than reading it once keeps the check
// out of the way of a page still loading after a redirect.
func (p *portal) wantText(ctx context.Context, text string) {
	p.t.Helper()
	b, _ := json.Marshal(text)
	ok, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector("main") || {innerText: ""}).innerText.includes(`+string(b)+`)`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !ok {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		p.t.Fatalf("the page does not say %q (%v):\n%s", text, err, html)
	}
}

// fill types values into a form's fields (by id), submits it with the button and waits for the
// page named next (the layout marks <main> with data-page).
func fill(fields map[string]string, submit, next string) []chromedp.Action[chromedp.Void] {
	var a []chromedp.Action[chromedp.Void]
	for id, v := range fields {
		a = append(a, chromedp.SetValue(chromedp.ID(id), v))
	}
	return append(a, clickTo(submit, next)...)
}

// clickTo clicks and waits for the next page (not the current one, even when both have the
// same name: the current page's body is marked before the click).
func clickTo(sel, next string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Evaluate[bool](`document.body.dataset.old = "1", true`)(ctx, t)
			return chromedp.Void{}, err
		},
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitReady(chromedp.CSS(`body:not([data-old]) main[data-page="` + next + `"]`)),
	}
}

const submitButton = "main form button[type=submit]"

// TestPortalPatientActivatesAndSignsIn enrols a person with `carnet enroll`, reads the
// provisional code from the email that the server sent over SMTP, and activates the space in
// Chromium, confirming the address with the emailed one-time code; then signs out and in again.
func TestPortalPatientActivatesAndSignsIn(t *testing.T) {
	p := startPortal(t)
	csv := filepath.Join(t.TempDir(), "assures.csv")
	os.WriteFile(csv, []byte("nir;vitale_serial;birth_name;given_names;sex;birth_date;email\n"+
		"269054958815780;900011112222;ROBERT;Sophie;F;1969-05-21;sophie.robert@example.org\n"), 0o600)
	if out, err := runCLI(t, p.env, "enroll", "--quiet", csv); err != nil || !strings.Contains(out, "1 inscrits") {
		t.Fatalf("enroll: %q %v", out, err)
	}
	msg := p.smtp.WaitFor(t, smtptest.To("sophie.robert@example.org"), 15*time.Second)
	code := msg.Find(`code provisoire : ([A-Z0-9]{12})`)
	if code == "" {
		t.Fatalf("no code in the email:\n%s", msg.Text)
	}

	ctx := p.tab()
	p.do(ctx, "landing", chromedp.Navigate(p.s.url+"/"))
	p.page(ctx, "/", "accueil")
	p.do(ctx, "activation page", chromedp.Navigate(p.s.url+"/activer"))
	p.page(ctx, "/activer", "activer")
	p.do(ctx, "activation", fill(map[string]string{"code": code, "nir": "2 69 05 49 588 157 80", "vitale": "900011112222"}, submitButton, "activer-identifiants")...)
	p.page(ctx, "/activer/identifiants", "activer-identifiants")
	p.do(ctx, "credentials", fill(map[string]string{"identifiant": "sophie.r", "motdepasse": "Parapluie-Vert-2031",
		"contact": "sophie.robert@example.org"}, submitButton, "activer-confirmation")...)
	p.page(ctx, "/activer/confirmation", "")
	otp := p.smtp.WaitFor(t, func(m smtptest.Message) bool {
		return smtptest.To("sophie.robert@example.org")(m) && strings.Contains(m.Text, "confirmer votre adresse")
	}, 15*time.Second).Find(`adresse : (\d{6})`)
	p.do(ctx, "confirmation", fill(map[string]string{"code": otp}, submitButton, "espace")...)
	p.page(ctx, "/espace", "")
	h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
	if !strings.Contains(h1, "Sophie") {
		t.Errorf("home page h1 %q", h1)
	}

	// Sign out, sign in again with the code of this sign-in.
	p.do(ctx, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/deconnexion"] button`)), chromedp.WaitReady(chromedp.CSS(`main[data-page="connexion"]`)))
	p.page(ctx, "/connexion", "connexion")
	p.do(ctx, "sign in", fill(map[string]string{"identifiant": "sophie.r", "motdepasse": "Parapluie-Vert-2031"}, submitButton, "connexion-code")...)
	p.page(ctx, "/connexion/code", "connexion-code")
	login := p.smtp.WaitFor(t, func(m smtptest.Message) bool {
		return smtptest.To("sophie.robert@example.org")(m) && strings.Contains(m.Text, "vous connecter")
	}, 15*time.Second).Find(`connecter : (\d{6})`)
	p.do(ctx, "code", fill(map[string]string{"code": login}, submitButton, "espace")...)
	p.page(ctx, "/espace", "")
	p.do(ctx, "security page", chromedp.Navigate(p.s.url+"/espace/securite"))
	p.page(ctx, "/espace/securite", "securite")
}

// signIn signs Marie (the demo's patient) in through the pages, with the emailed code.
func (p *portal) signIn(ctx context.Context) {
	p.t.Helper()
	since := time.Now()
	p.do(ctx, "sign-in page", chromedp.Navigate(p.s.url+"/connexion"))
	p.do(ctx, "sign in", fill(map[string]string{"identifiant": DemoLogin, "motdepasse": DemoPassword}, submitButton, "connexion-code")...)
	code := p.smtp.WaitFor(p.t, func(m smtptest.Message) bool {
		return smtptest.To("marie.dupont@example.org")(m) && strings.Contains(m.Text, "vous connecter") && m.Received.After(since)
	}, 15*time.Second).Find(`connecter : (\d{6})`)
	p.do(ctx, "code", fill(map[string]string{"code": code}, submitButton, "espace")...)
}

// TestPortalPatientPages: Marie signs in with the emailed code, uploads a document and hides
// it from professionals, blocks a professional, reads her history, and visits every page of
// her space (each checked by axe-core; pictures for docs/screenshots).
func TestPortalPatientPages(t *testing.T) {
	p := startPortal(t)
	ctx := p.tab()
	p.signIn(ctx)
	p.page(ctx, "/espace", "espace")

	// Upload a document of her own, then hide it from professionals.
	file := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(file, []byte("Tension mesurée à la pharmacie : 12/8.\n"), 0o600)
	p.do(ctx, "upload page", chromedp.Navigate(p.s.url+"/espace/documents/ajout"))
	p.page(ctx, "/espace/documents/ajout", "document-ajout")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('#type').selectedIndex = 1`)); err != nil {
		t.Fatal(err)
	}
	p.do(ctx, "upload", append([]chromedp.Action[chromedp.Void]{chromedp.SetUploadFiles(chromedp.ID("fichier"), []string{file})},
		fill(map[string]string{"titre": "Relevé de tension", "date": "2026-11-20"}, submitButton, "document")...)...)
	p.page(ctx, "", "document")
	p.do(ctx, "hide", clickTo(`form[action$="/visibilite"] button`, "document")...)
	p.wantText(ctx, "Ne plus masquer aux professionnels")
	p.do(ctx, "documents", chromedp.Navigate(p.s.url+"/espace/documents"))
	p.page(ctx, "/espace/documents", "documents")

	// Block the first professional listed in her settings.
	p.do(ctx, "settings", chromedp.Navigate(p.s.url+"/espace/parametres"))
	p.page(ctx, "/espace/parametres", "parametres")
	p.do(ctx, "block", clickTo(`form[action$="/parametres/blocage"] input[name="professionnel"] ~ button`, "parametres")...)
	p.wantText(ctx, "Lever le blocage")

	// Her history names the professionals who accessed her space.
	p.do(ctx, "history", chromedp.Navigate(p.s.url+"/espace/historique"))
	p.page(ctx, "/espace/historique", "historique")
	p.wantText(ctx, "Lefèvre")
	for _, pg := range []struct{ path, name string }{{"/espace/profil", "profil"}, {"/espace/volontes", "volontes"},
		{"/espace/enfants", "enfants"}, {"/espace/securite", "securite"}} {
		p.do(ctx, pg.name, chromedp.Navigate(p.s.url+pg.path))
		p.page(ctx, pg.path, pg.name)
	}
}

// TestPortalProfessionalPages: the demo's kinésithérapeute signs in, finds Marie by INS,
// declares her consent, deposits a document, and is refused a laboratory report, which the
// authorization grid keeps from his profession, with the explanation.
func TestPortalProfessionalPages(t *testing.T) {
	p := startPortal(t)
	// The laboratory report's address, as Marie's documents page gives it.
	marie := p.tab()
	p.signIn(marie)
	p.do(marie, "documents", chromedp.Navigate(p.s.url+"/espace/documents"))
	lab, err := chromedp.Run(marie, chromedp.Evaluate[string](
		`[...document.querySelectorAll('main a')].find(a => a.textContent.includes('Bilan sanguin')).getAttribute('href')`))
	if err != nil || !strings.HasPrefix(lab, "/espace/documents/") {
		t.Fatalf("no link to the laboratory report: %q %v", lab, err)
	}
	docID := strings.TrimPrefix(lab, "/espace/documents/")

	ctx := p.tab()
	p.do(ctx, "pro sign-in page", chromedp.Navigate(p.s.url+"/pro/connexion"))
	p.page(ctx, "/pro/connexion", "pro-connexion")
	kine := rppsWithLuhn("1000345678")
	p.do(ctx, "demo sign-in", append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`input[name="rpps"][value="` + kine + `"]`))},
		clickTo(submitButton, "pro-accueil")...)...)
	p.page(ctx, "/pro", "pro-accueil")
	p.do(ctx, "find by INS", fill(map[string]string{"ins": DemoMarieNIR}, submitButton, "pro-recherche")...)
	p.page(ctx, "/pro/recherche", "pro-recherche")
	p.do(ctx, "consent page", clickTo(`a[href$="/consentement"]`, "pro-consentement")...)
	p.do(ctx, "consent", append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("forme-oral"))},
		clickTo(submitButton, "pro-patient")...)...)
	p.page(ctx, "", "pro-patient")
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	patientURL := strings.SplitN(loc, "?", 2)[0]

	file := filepath.Join(t.TempDir(), "bilan.txt")
	os.WriteFile(file, []byte("Bilan kinésithérapique : genou droit, amplitude 120°.\n"), 0o600)
	p.do(ctx, "deposit page", chromedp.Navigate(patientURL+"/depot"))
	p.page(ctx, "", "pro-depot")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('#type').selectedIndex = 1`)); err != nil {
		t.Fatal(err)
	}
	p.do(ctx, "deposit", append([]chromedp.Action[chromedp.Void]{chromedp.SetUploadFiles(chromedp.ID("fichier"), []string{file})},
		fill(map[string]string{"titre": "Bilan kinésithérapique", "date": "2026-11-20"}, submitButton, "pro-patient")...)...)
	p.wantText(ctx, "Bilan kinésithérapique")

	// The grid keeps laboratory reports from kinésithérapeutes: refused, with the reason.
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(patientURL+"/documents/"+docID+"/contenu"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if resp.Status != 403 && resp.Status != 404 {
		t.Errorf("the kinésithérapeute read a laboratory report: %d", resp.Status)
	}
	if !strings.Contains(body, "grille") {
		t.Errorf("the refusal does not explain itself:\n%s", body)
	}
	p.page(ctx, "/contenu", "pro-refus")
}

// TestPortalPasskey adds a passkey to Marie's account in Chromium (a virtual authenticator
// stands for her phone), then signs her in with it instead of a one-time code. WebAuthn needs
// a domain, so the server is reached as http://localhost.
func TestPortalPasskey(t *testing.T) {
	browser := browsertest.Start(t)
	mail := smtptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env := map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_SMTP_HOST": mail.Host(), "CARNET_SMTP_PORT": strconv.Itoa(mail.Port()),
		"CARNET_SMTP_TLS": "none", "CARNET_PASSWORD_COST": "test"}
	base := "http://localhost:" + strconv.Itoa(port)
	s := start(t, env, "serve", "--demo", "--addr", "127.0.0.1:"+strconv.Itoa(port), "--base-url", base)
	s.url = base
	p := &portal{t: t, s: s, smtp: mail, env: env, browser: browser}
	ctx := p.tab()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatal(err)
	}
	p.signIn(ctx)
	p.do(ctx, "security page", chromedp.Navigate(base+"/espace/securite"), chromedp.WaitVisible(chromedp.CSS(`[data-passkey-register]`)))
	p.do(ctx, "add a passkey", clickTo(`[data-passkey-register]`, "securite")...)
	p.wantText(ctx, "La clé d’accès est enregistrée")
	p.do(ctx, "sign out", clickTo(`header form[action="/deconnexion"] button`, "connexion")...)
	p.do(ctx, "password", fill(map[string]string{"identifiant": DemoLogin, "motdepasse": DemoPassword}, submitButton, "connexion-code")...)
	p.do(ctx, "passkey sign-in", append([]chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.CSS(`[data-passkey-login]`))},
		clickTo(`[data-passkey-login]`, "espace")...)...)
	p.page(ctx, "/espace", "")
}
