package main

// The sign-in of professionals with OpenID Connect, against a real OpenID Provider
// (zitadel/oidc's pkg/op) on 127.0.0.1 with an in-memory storage that supports the
// authorization-code flow with PKCE, and `carnet serve` started by run, as in production.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ---- the OpenID Provider ---------------------------------------------------------------------

type pscKey struct {
	id   string
	priv *rsa.PrivateKey
}

func (k pscKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k pscKey) Key() any                                    { return k.priv }
func (k pscKey) ID() string                                  { return k.id }
func (k pscKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k pscKey) Use() string                                 { return "sig" }

type pscPublicKey struct{ pscKey }

func (k pscPublicKey) Key() any { return &k.priv.PublicKey }

// pscClient is Carnet registered at the provider.
type pscClient struct {
	id, secret string
	op         *pscOP
}

func (c *pscClient) GetID() string { return c.id }
func (c *pscClient) RedirectURIs() []string {
	c.op.mu.Lock()
	defer c.op.mu.Unlock()
	return c.op.redirects
}
func (c *pscClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *pscClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *pscClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *pscClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *pscClient) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *pscClient) LoginURL(id string) string    { return "/login?id=" + url.QueryEscape(id) }
func (c *pscClient) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c *pscClient) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c *pscClient) DevMode() bool                        { return true }
func (c *pscClient) IsScopeAllowed(string) bool           { return true }
func (c *pscClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *pscClient) ClockSkew() time.Duration             { return 0 }
func (c *pscClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *pscClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// pscRequest is an authorization request, done once the user signed in.
type pscRequest struct {
	id      string
	req     oidc.AuthRequest
	subject string
	done    bool
	at      time.Time
}

func (r *pscRequest) GetID() string          { return r.id }
func (r *pscRequest) GetACR() string         { return "" }
func (r *pscRequest) GetAMR() []string       { return []string{"pwd"} }
func (r *pscRequest) GetAudience() []string  { return []string{r.req.ClientID} }
func (r *pscRequest) GetAuthTime() time.Time { return r.at }
func (r *pscRequest) GetClientID() string    { return r.req.ClientID }
func (r *pscRequest) GetNonce() string       { return r.req.Nonce }
func (r *pscRequest) GetRedirectURI() string { return r.req.RedirectURI }
func (r *pscRequest) GetScopes() []string    { return r.req.Scopes }
func (r *pscRequest) GetState() string       { return r.req.State }
func (r *pscRequest) GetSubject() string     { return r.subject }
func (r *pscRequest) Done() bool             { return r.done }
func (r *pscRequest) GetResponseMode() oidc.ResponseMode {
	return r.req.ResponseMode
}
func (r *pscRequest) GetResponseType() oidc.ResponseType {
	return r.req.ResponseType
}
func (r *pscRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if r.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: r.req.CodeChallenge, Method: r.req.CodeChallengeMethod}
}

var errPSCUnsupported = errors.New("non pris en charge par le fournisseur de test")

// pscOP is the provider and its storage, in memory.
type pscOP struct {
	url       string
	key       pscKey
	client    *pscClient
	mu        sync.Mutex
	redirects []string
	requests  map[string]*pscRequest
	codes     map[string]string
	claims    map[string]any // the signed-in professional's
}

func (s *pscOP) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar := &pscRequest{id: rand.Text(), req: *r}
	s.requests[ar.id] = ar
	return ar, nil
}
func (s *pscOP) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.requests[id]; ok {
		return r, nil
	}
	return nil, errors.New("demande inconnue")
}
func (s *pscOP) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("code inconnu")
	}
	return s.AuthRequestByID(ctx, id)
}
func (s *pscOP) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}
func (s *pscOP) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}
func (s *pscOP) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return rand.Text(), time.Now().Add(5 * time.Minute), nil
}
func (s *pscOP) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errPSCUnsupported
}
func (s *pscOP) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errPSCUnsupported
}
func (s *pscOP) TerminateSession(context.Context, string, string) error { return nil }
func (s *pscOP) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return nil
}
func (s *pscOP) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *pscOP) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }
func (s *pscOP) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *pscOP) KeySet(context.Context) ([]op.Key, error) { return []op.Key{pscPublicKey{s.key}}, nil }
func (s *pscOP) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errors.New("client inconnu")
	}
	return s.client, nil
}
func (s *pscOP) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.client.id || secret != s.client.secret {
		return errors.New("identifiants du client invalides")
	}
	return nil
}
func (s *pscOP) SetUserinfoFromScopes(_ context.Context, u *oidc.UserInfo, userID, _ string, _ []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Subject = userID
	for k, v := range s.claims {
		u.AppendClaims(k, v)
	}
	return nil
}
func (s *pscOP) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return nil
}
func (s *pscOP) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return nil
}
func (s *pscOP) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
func (s *pscOP) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errPSCUnsupported
}
func (s *pscOP) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}
func (s *pscOP) Health(context.Context) error { return nil }

// setClaims sets the claims of the professional who signs in next.
func (s *pscOP) setClaims(rpps string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = map[string]any{"SubjectNameID": "8" + rpps, "SubjectRole": []string{"10^1.2.250.1.213.1.1.5.5"},
		"given_name": "Claire", "family_name": "LEFÈVRE"}
}

// startPSC runs the provider; its login page signs the user in at once.
func startPSC(t *testing.T) *pscOP {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &pscOP{key: pscKey{id: rand.Text(), priv: priv}, requests: map[string]*pscRequest{}, codes: map[string]string{}}
	s.client = &pscClient{id: "carnet-portail", secret: "secret-du-portail", op: s}
	var provider *op.Provider
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			id := r.URL.Query().Get("id")
			s.mu.Lock()
			req, ok := s.requests[id]
			if ok {
				req.subject, req.done, req.at = "f:550dc1c8:0000000001", true, time.Now()
			}
			s.mu.Unlock()
			if !ok {
				http.Error(w, "demande inconnue", http.StatusBadRequest)
				return
			}
			http.Redirect(w, r, "/authorize/callback?id="+url.QueryEscape(id), http.StatusFound)
			return
		}
		provider.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	provider, err = op.NewProvider(&op.Config{CryptoKey: cryptoKey, CodeMethodS256: true}, s, op.StaticIssuer(srv.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ---- the test --------------------------------------------------------------------------------

// pscBrowser keeps Carnet's cookies and follows no redirect.
type pscBrowser struct {
	t *testing.T
	c *http.Client
}

func newPSCBrowser(t *testing.T) *pscBrowser {
	jar, _ := cookiejar.New(nil)
	return &pscBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *pscBrowser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// authorize starts the sign-in on Carnet and returns the authorization request's URL.
func (b *pscBrowser) authorize(carnetURL, opURL string) *url.URL {
	b.t.Helper()
	resp, body := b.get(carnetURL + "/pro/connexion")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), opURL+"/authorize?") {
		b.t.Fatalf("sign-in start: %d → %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return loc
}

// signInAtProvider plays the provider's side (authorization, login, callback) and returns
// Carnet's callback URL with the code.
func (b *pscBrowser) signInAtProvider(authURL *url.URL) string {
	b.t.Helper()
	next := authURL.String()
	for range 5 {
		resp, body := b.get(next)
		if resp.StatusCode != http.StatusFound {
			b.t.Fatalf("provider: %s → %d\n%s", next, resp.StatusCode, body)
		}
		loc, err := resp.Location()
		if err != nil {
			b.t.Fatal(err)
		}
		if strings.Contains(loc.Path, "/pro/connexion/retour") {
			return loc.String()
		}
		next = loc.String()
	}
	b.t.Fatal("the provider never redirected back to Carnet")
	return ""
}

func TestProLoginOIDC(t *testing.T) {
	psc := startPSC(t)
	doctorRPPS := rppsWithLuhn("1000123456") // the demo's médecin généraliste
	psc.setClaims(doctorRPPS)
	s := start(t, map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_INSECURE_COOKIES": "1",
		"CARNET_OIDC_ISSUER": psc.url, "CARNET_OIDC_CLIENT_ID": psc.client.id, "CARNET_OIDC_CLIENT_SECRET": psc.client.secret},
		"serve", "--demo")
	callback := s.url + "/pro/connexion/retour"
	psc.mu.Lock()
	psc.redirects = []string{callback}
	psc.mu.Unlock()

	// The redirect: code flow, PKCE S256, state and nonce, kept in a short-lived HttpOnly cookie.
	b := newPSCBrowser(t)
	auth := b.authorize(s.url, psc.url)
	q := auth.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": "carnet-portail", "redirect_uri": callback,
		"code_challenge_method": "S256"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("state") == "" || q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorization request without state, nonce, PKCE challenge or openid scope: %v", q)
	}
	u, _ := url.Parse(s.url)
	var flow *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "carnet-psc" {
			flow = c
		}
	}
	if flow == nil || strings.Contains(flow.Value, q.Get("code_challenge")) {
		t.Fatalf("flow cookie %+v", flow)
	}

	// A callback whose state is not the one of the flow is refused, and ends the flow.
	resp, body := b.get(callback + "?code=abc&state=" + url.QueryEscape("autre-etat"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "aucune connexion en cours") {
		t.Fatalf("bad state: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get(s.url + "/pro"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed in after a bad state: %d", resp.StatusCode)
	}
	// The provider's refusal is shown.
	b.authorize(s.url, psc.url)
	resp, body = b.get(callback + "?error=access_denied&state=x")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "annulée ou refusée") {
		t.Errorf("provider's refusal: %d", resp.StatusCode)
	}

	// A successful sign-in: the code exchanged with the PKCE verifier, the ID token verified, the
	// RPPS found in the directory; the next page is reached from Carnet's own page.
	back := b.signInAtProvider(b.authorize(s.url, psc.url))
	resp, body = b.get(back)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Connexion réussie") || resp.Header.Get("Refresh") != "0; url=/pro" {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "carnet-pro" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", session)
	}
	resp, body = b.get(s.url + "/pro")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Dr Claire Lefèvre") || !strings.Contains(body, "Rechercher un patient") {
		t.Fatalf("home after sign-in: %d\n%s", resp.StatusCode, body)
	}
	// The code and the flow are single-use.
	if resp, _ := newPSCBrowser(t).get(back); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %d, want 400", resp.StatusCode)
	}

	// An ID token minted for another flow (its nonce) is refused: here the flow cookie's nonce
	// is changed between the redirect and the callback.
	c := newPSCBrowser(t)
	authURL := c.authorize(s.url, psc.url)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "carnet-psc" {
			parts := strings.Split(ck.Value, ".")
			parts[1] = "AUTRENONCE"
			c.c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: strings.Join(parts, "."), Path: "/"}})
		}
	}
	resp, body = c.get(c.signInAtProvider(authURL))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "nonce") {
		t.Errorf("wrong nonce: %d\n%s", resp.StatusCode, body)
	}
	// A wrong PKCE verifier: the provider refuses the code.
	authURL = c.authorize(s.url, psc.url)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "carnet-psc" {
			parts := strings.Split(ck.Value, ".")
			parts[2] = strings.Repeat("A", 43)
			c.c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: strings.Join(parts, "."), Path: "/"}})
		}
	}
	resp, body = c.get(c.signInAtProvider(authURL))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "refusé le code") {
		t.Errorf("wrong PKCE verifier: %d, want 401\n%s", resp.StatusCode, body)
	}
	// A professional unknown to the directory gets no session.
	psc.setClaims("10999999995")
	resp, body = c.get(c.signInAtProvider(c.authorize(s.url, psc.url)))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "annuaire") {
		t.Errorf("unknown professional: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := c.get(s.url + "/pro"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an unknown professional is signed in: %d", resp.StatusCode)
	}
}

// Without an identity provider, the portal offers the demonstration sign-in with --demo only.
func TestProLoginChoice(t *testing.T) {
	s := start(t, map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_INSECURE_COOKIES": "1"}, "serve", "--demo")
	if code, body := get(t, s.url+"/pro/connexion"); code != http.StatusOK || !strings.Contains(body, "démonstration") ||
		!strings.Contains(body, "Dr Claire Lefèvre") || !strings.Contains(body, "Sophie Bernard") {
		t.Errorf("demo sign-in: %d\n%s", code, body)
	}
	s.stop(t)
	s = start(t, map[string]string{"CARNET_DATA": t.TempDir(), "CARNET_INSECURE_COOKIES": "1"}, "serve")
	if code, body := get(t, s.url+"/pro/connexion"); code != http.StatusServiceUnavailable || strings.Contains(body, "démonstration") {
		t.Errorf("no sign-in without --demo nor provider: %d", code)
	}
}
