package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/service"
)

// accountWorld is a portal over a real service and SQLite store, served over TLS so that the
// browser-like client keeps Secure cookies.
type accountWorld struct {
	svc     *service.Service
	st      carnet.Store
	srv     *httptest.Server
	patient *carnet.Patient
}

var operatorActor = carnet.Actor{Kind: carnet.ActorOperator, ID: "test", Name: "opérateur"}

func newAccountWorld(t *testing.T) *accountWorld {
	t.Helper()
	ctx := context.Background()
	svc, st := newTestService(t, service.Config{BaseURL: "https://carnet.test"})
	site, err := New(Options{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &accountWorld{svc: svc, st: st}
	w.srv = httptest.NewTLSServer(NewApp(site, svc, AppOptions{Secure: true, HSTS: true}).Handler())
	t.Cleanup(w.srv.Close)
	w.patient, err = svc.CreatePatient(ctx, operatorActor, &carnet.Patient{NIR: "255081416802538", BirthName: "DUPONT",
		GivenNames: "Marie", Sex: carnet.SexFemale, BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC),
		Email: "marie@example.org", Status: carnet.PatientActive})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// code reveals the latest code of a kind sent to the patient, as she would read it.
func (w *accountWorld) code(t *testing.T, kind string) string {
	t.Helper()
	var msgs []*carnet.OutboxMessage
	w.st.View(context.Background(), func(tx carnet.Tx) error {
		var err error
		msgs, err = tx.ListOutbox(context.Background(), w.patient.ID)
		return err
	})
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Kind == kind && len(m.Secret) > 0 {
			c, err := w.svc.RevealSecret(m)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(m.Body, c) || !strings.Contains(m.Body, carnet.SecretPlaceholder) {
				t.Fatal("a stored message body holds its code in clear")
			}
			return c
		}
	}
	t.Fatalf("no %s message", kind)
	return ""
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
	w *accountWorld
}

func (w *accountWorld) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := w.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, c: c, w: w}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status, body and the CSRF token of its forms.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.w.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	csrf := ""
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		csrf = m[1]
	}
	return resp.StatusCode, string(body), csrf
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.w.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.w.srv.URL)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// submit gets the form page, then posts the form with its CSRF token.
func (b *browser) submit(page, action string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	_, _, csrf := b.get(page)
	if csrf == "" {
		b.t.Fatalf("%s has no CSRF token", page)
	}
	form.Set("csrf", csrf)
	return b.post(action, form)
}

func wantRedirect(t *testing.T, resp *http.Response, body, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != to {
		t.Fatalf("got %d → %q, want 303 → %q\n%s", resp.StatusCode, resp.Header.Get("Location"), to, body)
	}
}

const strongPassword = "Cerisier-Lumineux-47"

// activate runs the three activation pages and returns the signed-in browser.
func (w *accountWorld) activate(t *testing.T) *browser {
	t.Helper()
	if err := w.svc.IssueCode(context.Background(), operatorActor, w.patient.ID, "1234 5678 9012"); err != nil {
		t.Fatal(err)
	}
	b := w.browser(t)
	resp, body := b.submit("/activer", "/activer", url.Values{"nir": {"2 55 08 14 168 025 38"}, "code": {w.code(t, "activation_code")},
		"vitale": {"123456789012"}})
	wantRedirect(t, resp, body, "/activer/identifiants")
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-carnet" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v: want __Host-, HttpOnly, Secure, SameSite=Strict, Path=/", session)
	}
	resp, body = b.submit("/activer/identifiants", "/activer/identifiants", url.Values{"identifiant": {"marie.d"},
		"motdepasse": {"marie1955"}, "canal": {"email"}, "contact": {"marie@example.org"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "mot de passe") {
		t.Fatalf("weak password: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `value="marie.d"`) || strings.Contains(body, "marie1955") {
		t.Error("the form should keep the identifier and never echo the password")
	}
	resp, body = b.submit("/activer/identifiants", "/activer/identifiants", url.Values{"identifiant": {"marie.d"},
		"motdepasse": {strongPassword}, "canal": {"email"}, "contact": {"marie@example.org"}})
	wantRedirect(t, resp, body, "/activer/confirmation")
	resp, body = b.submit("/activer/confirmation", "/activer/confirmation", url.Values{"code": {w.code(t, "one_time_code")}})
	wantRedirect(t, resp, body, "/espace")
	return b
}

func TestActivationAndSignInPages(t *testing.T) {
	w := newAccountWorld(t)
	b := w.activate(t)
	code, body, _ := b.get("/espace")
	if code != http.StatusOK || !strings.Contains(body, "Bonjour Marie DUPONT") || !strings.Contains(body, "Se déconnecter") {
		t.Fatalf("home after activation: %d\n%s", code, body)
	}

	// Log out, then sign in again: identifier, password, and the emailed code.
	_, _, csrf := b.get("/espace")
	resp, _ := b.post("/deconnexion", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "", "/connexion?deconnecte=1")
	resp, _ = b.c.Get(w.srv.URL + "/espace")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/connexion" {
		t.Fatalf("after logout /espace gives %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = b.submit("/connexion", "/connexion", url.Values{"identifiant": {"marie.d"}, "motdepasse": {"wrong-password-1"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, identity.MsgLoginFailed) {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, body = b.submit("/connexion", "/connexion", url.Values{"identifiant": {"nobody"}, "motdepasse": {"wrong-password-1"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, identity.MsgLoginFailed) {
		t.Fatalf("unknown identifier: %d", resp.StatusCode)
	}
	resp, body = b.submit("/connexion", "/connexion", url.Values{"identifiant": {"Marie.D"}, "motdepasse": {strongPassword}})
	wantRedirect(t, resp, body, "/connexion/code")
	_, page, _ := b.get("/connexion/code")
	if !strings.Contains(page, "m***@e***.org") {
		t.Errorf("the code page should say where the code went (masked):\n%s", page)
	}
	resp, body = b.submit("/connexion/code", "/connexion/code", url.Values{"code": {"000000"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, identity.MsgCodeRejected) {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	resp, body = b.submit("/connexion/code", "/connexion/code", url.Values{"code": {w.code(t, "one_time_code")}})
	wantRedirect(t, resp, body, "/espace")
	if code, _, _ := b.get("/espace"); code != http.StatusOK {
		t.Fatalf("signed in: %d", code)
	}
}

func TestFormsNeedTheirCSRFToken(t *testing.T) {
	w := newAccountWorld(t)
	b := w.browser(t)
	b.get("/connexion") // gets the form cookie
	resp, _ := b.post("/connexion", url.Values{"identifiant": {"x"}, "motdepasse": {"y"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, _ = b.post("/connexion", url.Values{"identifiant": {"x"}, "motdepasse": {"y"}, "csrf": {strings.Repeat("A", 43)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged CSRF token: %d, want 403", resp.StatusCode)
	}
	signed := w.activate(t)
	_, _, csrf := signed.get("/espace/fermeture")
	// A cross-site post, even with the right token, is refused.
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/espace/fermeture", strings.NewReader(url.Values{"csrf": {csrf},
		"confirmation": {"oui"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := signed.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site close: %d, want 403", resp.StatusCode)
	}
	// Without the token: refused, the space stays open.
	resp, _ = signed.post("/espace/fermeture", url.Values{"confirmation": {"oui"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("close without CSRF: %d, want 403", resp.StatusCode)
	}
	p, err := w.svc.Patient(context.Background(), operatorActor, w.patient.ID)
	if err != nil || p.Status != carnet.PatientActive {
		t.Fatalf("the space changed: %v %v", p.Status, err)
	}
}

func TestLogoutEverywhereAndClosing(t *testing.T) {
	w := newAccountWorld(t)
	first := w.activate(t)
	second := w.browser(t)
	resp, body := second.submit("/connexion", "/connexion", url.Values{"identifiant": {"marie.d"}, "motdepasse": {strongPassword}})
	wantRedirect(t, resp, body, "/connexion/code")
	resp, body = second.submit("/connexion/code", "/connexion/code", url.Values{"code": {w.code(t, "one_time_code")}})
	wantRedirect(t, resp, body, "/espace")

	resp, body = first.submit("/espace/securite", "/espace/securite/deconnexion-partout", url.Values{})
	wantRedirect(t, resp, body, "/connexion?deconnecte=partout")
	for _, b := range []*browser{first, second} {
		resp, _ := b.c.Get(w.srv.URL + "/espace")
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("a session survived log out everywhere: %d", resp.StatusCode)
		}
	}

	// Close the space, sign in again: only reopening is offered; reopen.
	resp, body = second.submit("/connexion", "/connexion", url.Values{"identifiant": {"marie.d"}, "motdepasse": {strongPassword}})
	wantRedirect(t, resp, body, "/connexion/code")
	resp, body = second.submit("/connexion/code", "/connexion/code", url.Values{"code": {w.code(t, "one_time_code")}})
	wantRedirect(t, resp, body, "/espace")
	resp, body = second.submit("/espace/fermeture", "/espace/fermeture", url.Values{"confirmation": {"oui"}})
	wantRedirect(t, resp, body, "/connexion?deconnecte=fermeture")
	resp, body = second.submit("/connexion", "/connexion", url.Values{"identifiant": {"marie.d"}, "motdepasse": {strongPassword}})
	wantRedirect(t, resp, body, "/connexion/code")
	resp, body = second.submit("/connexion/code", "/connexion/code", url.Values{"code": {w.code(t, "one_time_code")}})
	wantRedirect(t, resp, body, "/espace")
	resp, _ = second.c.Get(w.srv.URL + "/espace")
	resp.Body.Close()
	if resp.Header.Get("Location") != "/espace/fermeture" {
		t.Fatalf("a closed space should lead to the reopening page, got %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = second.submit("/espace/fermeture", "/espace/fermeture/rouvrir", url.Values{})
	wantRedirect(t, resp, body, "/espace")
	if code, _, _ := second.get("/espace"); code != http.StatusOK {
		t.Fatalf("reopened space: %d", code)
	}
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	w := newAccountWorld(t)
	resp, err := w.srv.Client().Get(w.srv.URL + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	for k, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age=", "Cache-Control": "no-store"} {
		if !strings.Contains(h.Get(k), want) {
			t.Errorf("%s = %q, want it to contain %q", k, h.Get(k), want)
		}
	}
}

func TestRealAddressBehindTrustedProxies(t *testing.T) {
	a := &App{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	var seen string
	h := a.realAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = client(r).Address }))
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.1.2.3:4000", "203.0.113.7", "203.0.113.7"},
		{"10.1.2.3:4000", "198.51.100.1, 203.0.113.7, 10.9.9.9", "203.0.113.7"}, // spoofed left-most hop ignored
		{"192.0.2.50:4000", "203.0.113.7", "192.0.2.50"},                        // untrusted peer: header ignored
		{"10.1.2.3:4000", "", "10.1.2.3"},
		{"10.1.2.3:4000", "not-an-address", "10.1.2.3"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, seen, tc.want)
		}
	}
}
