package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
)

// App is the portal with its use cases: the pages of patients and professionals on top of the
// service (the one door), with sessions in cookies and CSRF tokens on every form.
type App struct {
	site   *Site
	svc    *service.Service
	secure bool // cookies
	hsts   bool
	now    func() time.Time
	pro    ProLogin
	// proxies whose X-Forwarded-For is believed (see AppOptions.TrustedProxies).
	proxies []netip.Prefix
}

// AppOptions configure an App.
type AppOptions struct {
	// Secure marks cookies Secure and names the session cookie with the __Host- prefix; turn it
	// off only for plain-HTTP development on a loopback address.
	Secure bool
	// HSTS sends Strict-Transport-Security (the site is served over HTTPS).
	HSTS bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed: the attempt
	// limits per address then count the client's address, not the proxy's. Empty: the TCP peer
	// is the client.
	TrustedProxies []netip.Prefix
	// ProLogin authenticates professionals on the portal (nil: the professional pages answer
	// that no sign-in is configured).
	ProLogin ProLogin
}

// ProLogin signs a professional in and resolves their portal session.
type ProLogin interface {
	// Start begins a sign-in: for Pro Santé Connect, the URL of the authorization request;
	// for the demonstration sign-in, a local page.
	Start(w http.ResponseWriter, r *http.Request)
	// Actor returns the professional behind a request (EUNAUTHORIZED when none).
	Actor(r *http.Request) (carnet.Actor, error)
	// Register adds the sign-in's own routes (callback, form).
	Register(mux *http.ServeMux, a *App)
}

// NewApp builds the portal.
func NewApp(site *Site, svc *service.Service, o AppOptions) *App {
	return &App{site: site, svc: svc, secure: o.Secure, hsts: o.HSTS, now: time.Now, pro: o.ProLogin, proxies: o.TrustedProxies}
}

// Handler serves every page of the portal and its static files, with the security headers.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.routes(mux)
	mux.HandleFunc("/", a.site.NotFound)
	return SecurityHeaders(a.realAddress(mux), a.hsts)
}

// realAddress replaces the request's peer address by the client's when the peer is a trusted
// proxy: the right-most address of X-Forwarded-For that is not itself a trusted proxy (the
// left-most ones are whatever the client chose to send).
func (a *App) realAddress(next http.Handler) http.Handler {
	if len(a.proxies) == 0 {
		return next
	}
	trusted := func(s string) bool {
		ip, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range a.proxies {
			if p.Contains(ip.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err == nil && trusted(host) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				h := strings.TrimSpace(hops[i])
				if _, err := netip.ParseAddr(h); err != nil {
					break
				}
				if !trusted(h) {
					r = r.Clone(r.Context())
					r.RemoteAddr = net.JoinHostPort(h, "0")
					break
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Cookie names. With Secure, the __Host- prefix binds the cookie to this host, over HTTPS,
// for the whole site.
func (a *App) sessionCookie() string {
	if a.secure {
		return "__Host-carnet"
	}
	return "carnet"
}

func (a *App) formCookie() string {
	if a.secure {
		return "__Host-carnet-form"
	}
	return "carnet-form"
}

func (a *App) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

// setSession stores a session token (any step: activation, second factor, signed in).
func (a *App) setSession(w http.ResponseWriter, token string) {
	a.setCookie(w, a.sessionCookie(), token, 0)
}

func (a *App) clearSession(w http.ResponseWriter) {
	a.setCookie(w, a.sessionCookie(), "", -1)
}

func (a *App) sessionToken(r *http.Request) string {
	c, err := r.Cookie(a.sessionCookie())
	if err != nil {
		return ""
	}
	return c.Value
}

// client is what the service learns of the browser: its address, for the attempt limits.
func client(r *http.Request) service.Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return service.Client{Address: host, UserAgent: r.UserAgent()}
}

// ctxKey keys the request's session in its context.
type ctxKey struct{}

// Request is what a signed-in page handler receives.
type Request struct {
	*http.Request
	Session *service.SessionInfo
	Token   string
	// Actor and PatientID are who acts on whose space: the patient on their own, or a parent on
	// a child's (pages under /espace/enfants/{enfant}/...).
	Actor     carnet.Actor
	PatientID string
	Child     *carnet.Patient // the child whose space this is, for a parent
}

// csrf returns the CSRF token that a page's forms carry: the session's, or for anonymous forms
// (activation, sign-in) a random token kept in a cookie and echoed by the form.
func (a *App) csrf(w http.ResponseWriter, r *http.Request) string {
	if t := a.sessionToken(r); t != "" {
		if c := a.svc.CSRFFor(t); c != "" {
			return c
		}
	}
	if c, err := r.Cookie(a.formCookie()); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	a.setCookie(w, a.formCookie(), tok, 0)
	return tok
}

// checkCSRF refuses a form post without the right token, or sent from another site.
func (a *App) checkCSRF(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if got == "" {
		return false
	}
	if t := a.sessionToken(r); t != "" && a.svc.CheckCSRF(t, got) {
		return true
	}
	c, err := r.Cookie(a.formCookie())
	return err == nil && len(c.Value) == 43 && subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) == 1
}

// form wraps a handler of anonymous forms: posts are CSRF-checked.
func (a *App) form(h func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !a.checkCSRF(r) {
			a.site.Error(w, r, carnet.Errorf(carnet.EFORBIDDEN, "Le formulaire a expiré : rechargez la page et recommencez."))
			return
		}
		h(w, r)
	})
}

// patient wraps a handler of the signed-in patient's pages: no session sends to the sign-in
// page; posts are CSRF-checked; under /espace/enfants/{enfant}/ the parent acts for the child.
func (a *App) patient(h func(http.ResponseWriter, *Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := a.sessionToken(r)
		info, err := a.svc.Authenticate(r.Context(), tok)
		if err != nil {
			if carnet.ErrorCode(err) == carnet.EUNAUTHORIZED {
				a.clearSession(w)
				http.Redirect(w, r, "/connexion", http.StatusSeeOther)
				return
			}
			a.site.Error(w, r, err)
			return
		}
		if r.Method == http.MethodPost && !a.checkCSRF(r) {
			a.site.Error(w, r, carnet.Errorf(carnet.EFORBIDDEN, "Le formulaire a expiré : rechargez la page et recommencez."))
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, info)
		ctx = WithUser(ctx, &UserView{Name: info.Patient.DisplayName(), CSRF: info.CSRF})
		req := &Request{Request: r.WithContext(ctx), Session: info, Token: tok, Actor: info.Actor, PatientID: info.Actor.ID}
		if child := r.PathValue("enfant"); child != "" {
			actor, err := a.svc.ActFor(r.Context(), info.Actor, child)
			if err != nil {
				a.site.Error(w, req.Request, err)
				return
			}
			c, err := a.svc.Patient(r.Context(), actor, child)
			if err != nil {
				a.site.Error(w, req.Request, err)
				return
			}
			req.Actor, req.PatientID, req.Child = actor, child, c
		}
		if info.Closed && !strings.HasPrefix(r.URL.Path, "/espace/fermeture") && r.URL.Path != "/deconnexion" {
			http.Redirect(w, r, "/espace/fermeture", http.StatusSeeOther)
			return
		}
		h(w, req)
	})
}

// render renders a page for a request, with the session (if any) for the layout.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	a.site.Render(w, r, status, page, data)
}

// formError re-renders a form page with the error of a failed post: the field values the
// person typed come back (never passwords or codes), with the error summary at the top.
type formPage struct {
	CSRF   string
	Error  string
	Values map[string]string
	Extra  any
}

func (a *App) formPage(w http.ResponseWriter, r *http.Request, err error, keep ...string) formPage {
	p := formPage{CSRF: a.csrf(w, r), Values: map[string]string{}}
	if err != nil {
		p.Error = capitalize(carnet.ErrorMessage(err))
		if carnet.ErrorCode(err) == "" || carnet.ErrorCode(err) == carnet.EINTERNAL {
			p.Error = "Le service rencontre un problème : réessayez dans quelques instants."
		}
	}
	for _, k := range keep {
		p.Values[k] = r.PostFormValue(k)
	}
	return p
}

// statusOf is the HTTP status of a form's error (a refused form is re-shown with it).
func statusOf(err error) int {
	if st, ok := errorStatus[carnet.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}
