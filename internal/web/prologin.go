package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
)

// How professionals sign in on the portal (the ProLogin implementations) and their portal
// session.
//
// Whatever the sign-in, the portal session is the same: a short-lived token of Carnet's embedded
// issuer (auth.Issuer), bound to the professional's directory entry and to the portal's own
// scope, in an HttpOnly, Secure, SameSite=Strict cookie. Each request verifies it as the API
// verifies a bearer token; the service then reads the directory in each decision, so a
// deactivated professional loses access at once.

// PortalScope is the scope of portal session tokens: a page accepts no other token (an API
// token copied into the cookie is refused).
const PortalScope = "carnet/portail"

// DefaultProSessionTTL is the life of a professional's portal session.
const DefaultProSessionTTL = time.Hour

// Paths of the sign-in routes.
const (
	proDemoPath     = "/pro/connexion/demo"
	proCallbackPath = "/pro/connexion/retour"
)

// proSessions issues and verifies the portal session of professionals.
type proSessions struct {
	iss *auth.Issuer
	ver *auth.EmbeddedVerifier
	ttl time.Duration
	app *App // set by Register: the cookies follow the App's Secure option
}

func newProSessions(iss *auth.Issuer, ttl time.Duration) (*proSessions, error) {
	if iss == nil {
		return nil, carnet.Errorf(carnet.EINVALID, "émetteur de jetons requis pour les sessions des professionnels")
	}
	if ttl == 0 {
		ttl = DefaultProSessionTTL
	}
	if ttl < time.Minute || ttl > auth.MaxTTL {
		return nil, carnet.Errorf(carnet.EINVALID, "durée de session des professionnels hors limites : entre 1 min et %s", auth.MaxTTL)
	}
	return &proSessions{iss: iss, ver: iss.Verifier(), ttl: ttl}, nil
}

func (s *proSessions) secure() bool { return s.app == nil || s.app.secure }

// cookieName is the session cookie's name: with Secure, the __Host- prefix binds it to this
// host, over HTTPS, for the whole site.
func (s *proSessions) cookieName() string {
	if s.secure() {
		return "__Host-carnet-pro"
	}
	return "carnet-pro"
}

// signIn opens the portal session of a professional of the directory.
func (s *proSessions) signIn(w http.ResponseWriter, pro *carnet.Professional) error {
	claims, err := auth.ClaimsFor(pro, []string{PortalScope})
	if err != nil {
		return err
	}
	tok, err := s.iss.Issue(claims, s.ttl)
	if err != nil {
		return err
	}
	s.app.setCookie(w, s.cookieName(), tok, int(s.ttl/time.Second))
	return nil
}

// Actor implements ProLogin: the professional of the request's portal session.
func (s *proSessions) Actor(r *http.Request) (carnet.Actor, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return carnet.Actor{}, carnet.Errorf(carnet.EUNAUTHORIZED, "connectez-vous à l'espace professionnel")
	}
	p, err := s.ver.Verify(r.Context(), c.Value)
	if err != nil {
		return carnet.Actor{}, err
	}
	if !slices.Contains(p.Scopes, PortalScope) || p.Actor.ID == "" {
		return carnet.Actor{}, carnet.Errorf(carnet.EUNAUTHORIZED, "session de l'espace professionnel invalide : reconnectez-vous")
	}
	return p.Actor, nil
}

// SignOut ends the portal session (POST /pro/deconnexion calls it).
func (s *proSessions) SignOut(w http.ResponseWriter, _ *http.Request) {
	s.app.setCookie(w, s.cookieName(), "", -1)
}

// ---- the demonstration sign-in ---------------------------------------------------------------

// DemoLogin is the demonstration sign-in, for `carnet serve --demo` only: a form lists the
// professionals of the demonstration directory and one is chosen, without any credential. It
// must never be configured on a real service.
type DemoLogin struct {
	*proSessions
	list func(context.Context) ([]*carnet.Professional, error)
}

// NewDemoLogin returns the demonstration sign-in: list returns the professionals offered (the
// demonstration directory), iss signs the portal sessions, valid for ttl (0: DefaultProSessionTTL).
func NewDemoLogin(iss *auth.Issuer, ttl time.Duration, list func(context.Context) ([]*carnet.Professional, error)) (*DemoLogin, error) {
	if list == nil {
		return nil, carnet.Errorf(carnet.EINVALID, "liste des professionnels de démonstration requise")
	}
	s, err := newProSessions(iss, ttl)
	if err != nil {
		return nil, err
	}
	return &DemoLogin{proSessions: s, list: list}, nil
}

// Register implements ProLogin: the form's post.
func (d *DemoLogin) Register(mux *http.ServeMux, a *App) {
	d.app = a
	mux.Handle("POST "+proDemoPath, a.form(d.choose))
}

// proDemoView is the data of the demonstration sign-in page.
type proDemoView struct {
	formPage
	Professionals []proDemoChoice
	Action        string
}

type proDemoChoice struct {
	RPPS, Name, Profession, Structure string
}

// Start implements ProLogin: the demonstration form.
func (d *DemoLogin) Start(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, nil)
}

func (d *DemoLogin) render(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	pros, err := d.list(r.Context())
	if err != nil {
		d.app.site.Error(w, r, err)
		return
	}
	v := proDemoView{formPage: d.app.formPage(w, r, ferr, "rpps"), Action: proDemoPath}
	for _, p := range pros {
		if !p.Active {
			continue
		}
		v.Professionals = append(v.Professionals, proDemoChoice{RPPS: p.RPPS, Name: p.DisplayName(),
			Profession: proProfessionText(p.Profession, p.Specialty), Structure: p.StructureName})
	}
	d.app.render(w, r, status, "pro-connexion-demo", v)
}

func (d *DemoLogin) choose(w http.ResponseWriter, r *http.Request) {
	rpps := r.PostFormValue("rpps")
	pros, err := d.list(r.Context())
	if err != nil {
		d.app.site.Error(w, r, err)
		return
	}
	i := slices.IndexFunc(pros, func(p *carnet.Professional) bool { return p.Active && p.RPPS == rpps })
	if rpps == "" || i < 0 {
		d.render(w, r, http.StatusBadRequest, carnet.Errorf(carnet.EINVALID, "choisissez un professionnel de la liste"))
		return
	}
	pro, err := d.app.svc.ProfessionalByRPPS(r.Context(), rpps)
	if err == nil && !pro.Active {
		err = carnet.Errorf(carnet.EFORBIDDEN, "professionnel désactivé dans l'annuaire")
	}
	if err == nil {
		err = d.signIn(w, pro)
	}
	if err != nil {
		d.render(w, r, statusOf(err), err)
		return
	}
	http.Redirect(w, r, "/pro", http.StatusSeeOther)
}

// ---- OpenID Connect (Pro Santé Connect) ----------------------------------------------------

// OIDCConfig configures the sign-in with an OpenID Connect provider, Pro Santé Connect in
// production.
type OIDCConfig struct {
	Issuer       string // the provider's issuer identifier ("iss"), where discovery starts
	ClientID     string // Carnet's client ID at the provider (the ID tokens' audience)
	ClientSecret string
	// RedirectURL is the callback registered at the provider, ending in /pro/connexion/retour.
	// Empty: built from the request's host (https, or http on a loopback address).
	RedirectURL string
	Scopes      []string      // requested scopes; "openid" is always asked
	Claims      auth.ClaimMap // where the professional's identity is in the ID token
	HTTPClient  *http.Client  // for discovery, keys and the token endpoint (default: 10 s timeout)
	SessionTTL  time.Duration // the portal session (0: DefaultProSessionTTL)
}

// OIDCLogin signs professionals in with the authorization-code flow and PKCE: state, nonce and
// the PKCE verifier wait in a short-lived HttpOnly cookie; the ID token is verified by
// auth.OIDCVerifier (signature, issuer, audience, validity, then the claim mapping to an RPPS),
// its nonce is checked, and the professional is looked up in the directory through the
// service. The provider is discovered on the first sign-in, so that Carnet starts even when the
// provider is down.
type OIDCLogin struct {
	*proSessions
	cfg    OIDCConfig
	client *http.Client

	mu       sync.Mutex
	endpoint *oauth2.Endpoint
	verifier *auth.OIDCVerifier
}

// NewOIDCLogin checks the configuration; nothing is fetched yet.
func NewOIDCLogin(iss *auth.Issuer, cfg OIDCConfig) (*OIDCLogin, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "fournisseur d'identité et identifiant client requis")
	}
	if cfg.RedirectURL != "" {
		u, err := url.Parse(cfg.RedirectURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != proCallbackPath {
			return nil, carnet.Errorf(carnet.EINVALID, "adresse de retour invalide : une URL absolue se terminant par %s est attendue", proCallbackPath)
		}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	s, err := newProSessions(iss, cfg.SessionTTL)
	if err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDCLogin{proSessions: s, cfg: cfg, client: client}, nil
}

// Register implements ProLogin: the callback.
func (l *OIDCLogin) Register(mux *http.ServeMux, a *App) {
	l.app = a
	mux.HandleFunc("GET "+proCallbackPath, l.callback)
}

// discover returns the provider's endpoints and the ID token verifier, discovering them once.
func (l *OIDCLogin) discover(ctx context.Context) (oauth2.Endpoint, *auth.OIDCVerifier, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.endpoint != nil {
		return *l.endpoint, l.verifier, nil
	}
	ctx = oidc.ClientContext(context.WithoutCancel(ctx), l.client)
	p, err := oidc.NewProvider(ctx, l.cfg.Issuer)
	if err != nil {
		return oauth2.Endpoint{}, nil, &carnet.Error{Code: carnet.EUNAVAILABLE, Op: "web.OIDCLogin.discover", Err: err,
			Message: "le service d'authentification des professionnels est momentanément indisponible"}
	}
	v, err := auth.NewOIDCVerifier(ctx, l.cfg.Issuer, l.cfg.ClientID, l.cfg.Claims, auth.WithHTTPClient(l.client))
	if err != nil {
		return oauth2.Endpoint{}, nil, err
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	l.endpoint, l.verifier = &ep, v
	return ep, v, nil
}

func (l *OIDCLogin) config(r *http.Request, ep oauth2.Endpoint) *oauth2.Config {
	return &oauth2.Config{ClientID: l.cfg.ClientID, ClientSecret: l.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: l.redirectURL(r), Scopes: l.cfg.Scopes}
}

// redirectURL is the configured callback, or one built from the request's host.
func (l *OIDCLogin) redirectURL(r *http.Request) string {
	if l.cfg.RedirectURL != "" {
		return l.cfg.RedirectURL
	}
	scheme := "https"
	if host, _, err := net.SplitHostPort(r.Host); r.TLS == nil && err == nil {
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			scheme = "http"
		}
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: proCallbackPath}).String()
}

// The cookie of a sign-in in progress. SameSite=Lax, not Strict: the provider's redirect back
// to the callback is a cross-site navigation, on which a Strict cookie would not be sent.
func (l *OIDCLogin) flowCookie() string {
	if l.secure() {
		return "__Host-carnet-psc"
	}
	return "carnet-psc"
}

const proFlowMaxAge = 10 * 60

func (l *OIDCLogin) setFlow(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: l.flowCookie(), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: l.secure(), SameSite: http.SameSiteLaxMode})
}

// Start implements ProLogin: the redirect to the provider's authorization endpoint.
func (l *OIDCLogin) Start(w http.ResponseWriter, r *http.Request) {
	ep, _, err := l.discover(r.Context())
	if err != nil {
		l.app.site.Error(w, r, err)
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	l.setFlow(w, state+"."+nonce+"."+verifier, proFlowMaxAge)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.config(r, ep).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback ends the sign-in: the state, the code exchanged with the PKCE verifier, the ID token
// and its nonce, then the directory.
func (l *OIDCLogin) callback(w http.ResponseWriter, r *http.Request) {
	const op = "web.OIDCLogin.callback"
	fail := func(err error) {
		if code := carnet.ErrorCode(err); code == carnet.EUNAUTHORIZED || code == carnet.EFORBIDDEN {
			l.app.site.log.Warn("professional sign-in refused", "op", op, "err", err)
		}
		l.app.site.Error(w, r, err)
	}
	c, err := r.Cookie(l.flowCookie())
	l.setFlow(w, "", -1) // one use
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(&carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Message: "la connexion a été annulée ou refusée par le fournisseur d'identité : recommencez",
			Err: &oauth2.RetrieveError{ErrorCode: e, ErrorDescription: q.Get("error_description")}})
		return
	}
	var parts []string
	if err == nil {
		parts = strings.Split(c.Value, ".")
	}
	if len(parts) != 3 || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		fail(carnet.Errorf(carnet.EINVALID, "cette réponse du fournisseur d'identité ne correspond à aucune connexion en cours : recommencez la connexion"))
		return
	}
	nonce, verifier := parts[1], parts[2]
	ep, idv, err := l.discover(r.Context())
	if err != nil {
		fail(err)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, l.client)
	tok, err := l.config(r, ep).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fail(&carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Err: err,
			Message: "le fournisseur d'identité a refusé le code de connexion : recommencez"})
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(carnet.Errorf(carnet.EUNAUTHORIZED, "le fournisseur d'identité n'a pas renvoyé de jeton d'identité"))
		return
	}
	p, err := idv.Verify(r.Context(), raw)
	if err != nil {
		fail(err)
		return
	}
	if got := proVerifiedNonce(raw); subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		fail(carnet.Errorf(carnet.EUNAUTHORIZED, "jeton d'identité rejeté : il n'a pas été émis pour cette connexion (nonce)"))
		return
	}
	pro, err := l.app.svc.ProfessionalByRPPS(r.Context(), p.RPPS)
	if err != nil || !pro.Active {
		if err == nil || carnet.ErrorCode(err) == carnet.ENOTFOUND {
			err = carnet.Errorf(carnet.EFORBIDDEN, "vous n'êtes pas inscrit dans l'annuaire des professionnels de ce service, ou votre inscription est désactivée")
		}
		fail(err)
		return
	}
	if err := l.signIn(w, pro); err != nil {
		fail(err)
		return
	}
	// The session cookie is SameSite=Strict, and a redirect chain that started on the provider
	// is cross-site: the next page is reached from this one, same-site, so that the cookie goes.
	w.Header().Set("Refresh", "0; url=/pro")
	l.app.render(w, r, http.StatusOK, "pro-connecte", map[string]string{"Name": pro.DisplayName()})
}

// proVerifiedNonce reads the "nonce" claim of a JWT whose signature was already verified.
func proVerifiedNonce(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Nonce
}

// proProfessionText is "médecin — médecine générale", for lists.
func proProfessionText(p carnet.Profession, specialty string) string {
	s := p.Label()
	if l := carnet.SpecialtyLabel(specialty); l != "" {
		s += " — " + l
	}
	return capitalize(s)
}
