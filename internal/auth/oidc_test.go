package auth

// These tests run a real OpenID Provider, zitadel/oidc's pkg/op, on 127.0.0.1 (httptest), with
// a small in-memory Storage below: discovery, JWKS (/keys) and a token endpoint issuing JWT
// access tokens through the client_credentials grant. The OIDCVerifier under test talks to it
// over HTTP through go-oidc's real discovery and JWKS fetching.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/carnet-sante/carnet"
)

// ---- the OpenID Provider's storage -------------------------------------------------------

type opKey struct {
	id   string
	priv *rsa.PrivateKey
}

type opSigningKey struct{ k *opKey }

func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (s opSigningKey) Key() any                                    { return s.k.priv }
func (s opSigningKey) ID() string                                  { return s.k.id }

type opPublicKey struct{ k *opKey }

func (p opPublicKey) ID() string                         { return p.k.id }
func (p opPublicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p opPublicKey) Use() string                        { return "sig" }
func (p opPublicKey) Key() any                           { return &p.k.priv.PublicKey }

// opClient is a registered practice software, authenticating with a secret.
type opClient struct {
	id, secret string
	audience   []string
	claims     map[string]any // private claims put in its access tokens
	ttl        time.Duration
}

func (c *opClient) GetID() string                       { return c.id }
func (c *opClient) RedirectURIs() []string              { return nil }
func (c *opClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *opClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *opClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *opClient) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *opClient) LoginURL(string) string               { return "" }
func (c *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *opClient) IDTokenLifetime() time.Duration       { return time.Hour }
func (c *opClient) DevMode() bool                        { return true }
func (c *opClient) IsScopeAllowed(string) bool           { return true }
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *opClient) ClockSkew() time.Duration             { return 0 }
func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

type ccRequest struct {
	subject  string
	audience []string
	scopes   []string
}

func (r *ccRequest) GetSubject() string    { return r.subject }
func (r *ccRequest) GetAudience() []string { return r.audience }
func (r *ccRequest) GetScopes() []string   { return r.scopes }

var errUnsupported = errors.New("non pris en charge par le fournisseur de test")

// opStorage implements op.Storage and op.ClientCredentialsStorage in memory.
type opStorage struct {
	mu       sync.Mutex
	keys     []*opKey // published in the JWKS; the last one signs
	clients  map[string]*opClient
	jwksDown bool
}

func (s *opStorage) rotate(t testing.TB, keepOld bool) *opKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := &opKey{id: rand.Text(), priv: priv}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !keepOld {
		s.keys = nil
	}
	s.keys = append(s.keys, k)
	return k
}

func (s *opStorage) addClient(c *opClient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.id] = c
}

func (s *opStorage) client(id string) (*opClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("client inconnu")
	}
	return c, nil
}

func (s *opStorage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *opStorage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *opStorage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *opStorage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }
func (s *opStorage) DeleteAuthRequest(context.Context, string) error    { return nil }
func (s *opStorage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	ttl := 5 * time.Minute
	if c, err := s.client(r.GetSubject()); err == nil && c.ttl != 0 {
		ttl = c.ttl
	}
	return rand.Text(), time.Now().Add(ttl), nil
}
func (s *opStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}
func (s *opStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}
func (s *opStorage) TerminateSession(context.Context, string, string) error { return nil }
func (s *opStorage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return nil
}
func (s *opStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return opSigningKey{s.keys[len(s.keys)-1]}, nil
}
func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *opStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jwksDown {
		return nil, errors.New("JWKS indisponible")
	}
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = opPublicKey{k}
	}
	return out, nil
}
func (s *opStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	return s.client(id)
}
func (s *opStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	_, err := s.ClientCredentials(context.Background(), id, secret)
	return err
}
func (s *opStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *opStorage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return nil
}
func (s *opStorage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return nil
}
func (s *opStorage) GetPrivateClaimsFromScopes(_ context.Context, _, clientID string, scopes []string) (map[string]any, error) {
	c, err := s.client(clientID)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"scope": strings.Join(scopes, " ")}
	for k, v := range c.claims {
		m[k] = v
	}
	return m, nil
}
func (s *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s *opStorage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}
func (s *opStorage) Health(context.Context) error { return nil }

func (s *opStorage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	c, err := s.client(id)
	if err != nil || c.secret != secret {
		return nil, errors.New("identifiants du client invalides")
	}
	return c, nil
}
func (s *opStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.client(id)
	if err != nil {
		return nil, err
	}
	return &ccRequest{subject: id, audience: c.audience, scopes: scopes}, nil
}

// ---- the provider on loopback ------------------------------------------------------------

type testOP struct {
	url       string
	storage   *opStorage
	jwksHits  atomic.Int64
	discovery atomic.Int64
}

// pscClaims are Pro Santé Connect-like claims of a médecin généraliste.
func pscClaims() map[string]any {
	return map[string]any{
		"SubjectNameID":         "810101234567",
		"SubjectRole":           []string{"10^1.2.250.1.213.1.1.5.5"},
		"SubjectOrganization":   "Cabinet du Dr Martin",
		"SubjectOrganizationID": "R10100000012345",
		"SubjectRefPro": map[string]any{
			"exercices": []any{map[string]any{"codeProfession": "10", "codeSavoirFaire": "SM54"}},
		},
		"given_name":  "Marie",
		"family_name": "MARTIN",
	}
}

func startOP(t *testing.T) *testOP {
	t.Helper()
	top := &testOP{storage: &opStorage{clients: map[string]*opClient{}}}
	top.storage.rotate(t, false)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/keys":
			top.jwksHits.Add(1)
		case "/.well-known/openid-configuration":
			top.discovery.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	top.url = srv.URL
	var key [32]byte
	rand.Read(key[:])
	provider, err := op.NewProvider(&op.Config{CryptoKey: key}, top.storage, op.StaticIssuer(srv.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	handler = provider
	top.storage.addClient(&opClient{id: "logiciel-cabinet", secret: "secret-1", audience: []string{Audience}, claims: pscClaims()})
	return top
}

// token obtains an access token for clientID through the client_credentials grant.
func (o *testOP) token(t testing.TB, clientID, secret string, scopes ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
	req, err := http.NewRequest(http.MethodPost, o.url+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s %s", resp.StatusCode, body.Error, body.Description)
	}
	return body.AccessToken
}

func newOIDCVerifier(t *testing.T, o *testOP, opts ...Option) *OIDCVerifier {
	t.Helper()
	v, err := NewOIDCVerifier(context.Background(), o.url, Audience, ClaimMap{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ---- tests -------------------------------------------------------------------------------

func TestOIDCValidToken(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o)
	tok := o.token(t, "logiciel-cabinet", "secret-1", "user/DocumentReference.rs", "user/Patient.r")
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Actor
	if a.Kind != carnet.ActorProfessional || a.ID != "" || a.Profession != "10" || a.Specialty != "SM54" ||
		a.StructureID != "R10100000012345" || a.StructureName != "Cabinet du Dr Martin" || a.Name != "Marie MARTIN" {
		t.Errorf("actor %+v", a)
	}
	if p.RPPS != "10101234567" || p.Issuer != o.url || p.TokenID == "" || time.Until(p.Expiry) <= 0 {
		t.Errorf("principal %+v", p)
	}
	if !slices.Equal(p.Scopes, []string{"user/DocumentReference.rs", "user/Patient.r"}) {
		t.Errorf("scopes %q", p.Scopes)
	}
	if o.discovery.Load() != 1 || o.jwksHits.Load() != 1 {
		t.Errorf("discovery %d, JWKS %d fetches; want 1 and 1", o.discovery.Load(), o.jwksHits.Load())
	}
	// The JWKS is cached: a second token costs no fetch.
	if _, err := v.Verify(context.Background(), o.token(t, "logiciel-cabinet", "secret-1")); err != nil {
		t.Fatal(err)
	}
	if o.jwksHits.Load() != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (cached)", o.jwksHits.Load())
	}
}

func TestOIDCExpired(t *testing.T) {
	o := startOP(t)
	tok := o.token(t, "logiciel-cabinet", "secret-1")
	later := func() time.Time { return time.Now().Add(10 * time.Minute) } // tokens live 5 min
	_, err := newOIDCVerifier(t, o, WithClock(later)).Verify(context.Background(), tok)
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgExpired)
}

func TestOIDCWrongAudience(t *testing.T) {
	o := startOP(t)
	o.storage.addClient(&opClient{id: "autre-logiciel", secret: "s", audience: []string{"autre-api"}, claims: pscClaims()})
	tok := o.token(t, "autre-logiciel", "s")
	_, err := newOIDCVerifier(t, o).Verify(context.Background(), tok)
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgWrongAudience)
}

func TestOIDCWrongIssuer(t *testing.T) {
	o1, o2 := startOP(t), startOP(t)
	v1 := newOIDCVerifier(t, o1)
	tok := o2.token(t, "logiciel-cabinet", "secret-1")
	_, err := v1.Verify(context.Background(), tok)
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgWrongIssuer)
	if o1.jwksHits.Load() != 0 {
		t.Error("a token of another issuer caused a JWKS fetch")
	}
}

func TestOIDCForgedSignature(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o)
	good := o.token(t, "logiciel-cabinet", "secret-1")
	claims := payloadClaims(t, good)
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	o.storage.mu.Lock()
	realKID := o.storage.keys[0].id
	o.storage.mu.Unlock()
	for name, tok := range map[string]string{
		"same kid, other key":    signJWT(t, attacker, jose.RS256, realKID, claims),
		"unknown kid, other key": signJWT(t, attacker, jose.RS256, "kid-inconnu", claims),
		"no kid, other key":      signJWT(t, attacker, jose.RS256, "", claims),
		"alg none":               unsignedJWT(t, claims),
		"HS256":                  hs256JWT(t, []byte("secret"), realKID, claims),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadSignature)
		})
	}
	// The genuine token still passes.
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o)
	old := o.token(t, "logiciel-cabinet", "secret-1")
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	hits := o.jwksHits.Load()

	// The provider rotates its key and retires the old one: a token signed with the new key
	// has an unknown kid, so the JWKS is fetched again and the token passes.
	o.storage.rotate(t, false)
	fresh := o.token(t, "logiciel-cabinet", "secret-1")
	if _, err := v.Verify(context.Background(), fresh); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if o.jwksHits.Load() != hits+1 {
		t.Errorf("JWKS fetched %d more times, want 1", o.jwksHits.Load()-hits)
	}
	// A token of the retired key no longer verifies. (go-oidc signals the fetch's end before it
	// stores the new key set, so a verification at once may still see the old set: a flake in
	// CI. Within a moment, it must not.)
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err = v.Verify(context.Background(), old); err != nil {
			break
		}
	}
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadSignature)
}

func TestOIDCJWKSDown(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o)
	o.storage.mu.Lock()
	o.storage.jwksDown = true
	o.storage.mu.Unlock()
	_, err := v.Verify(context.Background(), o.token(t, "logiciel-cabinet", "secret-1"))
	wantAuthErr(t, err, carnet.EUNAVAILABLE, MsgUnavailable)
}

func TestOIDCProfessionalClaims(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o)
	cases := map[string]func(map[string]any){
		"ADELI instead of RPPS": func(c map[string]any) { c["SubjectNameID"] = "0123456789" },
		"no SubjectNameID":      func(c map[string]any) { delete(c, "SubjectNameID") },
		"RPPS with letters":     func(c map[string]any) { c["SubjectNameID"] = "8ABCDEFGHIJK" },
		"unknown profession":    func(c map[string]any) { c["SubjectRole"] = []string{"99^1.2.250.1.213.1.1.5.5"} },
		"no role":               func(c map[string]any) { delete(c, "SubjectRole") },
		"role not a string":     func(c map[string]any) { c["SubjectRole"] = map[string]any{"code": "10"} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			c := pscClaims()
			mod(c)
			id := "client-" + strings.ReplaceAll(name, " ", "-")
			o.storage.addClient(&opClient{id: id, secret: "s", audience: []string{Audience}, claims: c})
			_, err := v.Verify(context.Background(), o.token(t, id, "s"))
			wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadProfessional)
		})
	}
	// Bad optional values are dropped, not fatal.
	c := pscClaims()
	c["SubjectOrganization"] = "Cabinet\x00du Dr Martin"
	c["name"] = "Dr Marie Martin"
	o.storage.addClient(&opClient{id: "optional", secret: "s", audience: []string{Audience}, claims: c})
	p, err := v.Verify(context.Background(), o.token(t, "optional", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Actor.StructureName != "" || p.Actor.Name != "Dr Marie Martin" {
		t.Errorf("actor %+v", p.Actor)
	}
}

func TestOIDCCustomClaimMap(t *testing.T) {
	o := startOP(t)
	o.storage.addClient(&opClient{id: "maison", secret: "s", audience: []string{Audience}, claims: map[string]any{
		"rpps": 10101234567, "https://carnet.example/prof": "60", "org": map[string]any{"id": "FINESS-1"},
		"scp": []string{"user/Patient.rs", "user/DocumentReference.r"},
	}})
	v, err := NewOIDCVerifier(context.Background(), o.url, Audience, ClaimMap{
		RPPS: "rpps", Profession: "https://carnet.example/prof", Specialty: "-", StructureID: "org.id",
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), o.token(t, "maison", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if p.RPPS != "10101234567" || p.Actor.Profession != "60" || p.Actor.StructureID != "FINESS-1" || p.Actor.Specialty != "" {
		t.Errorf("principal %+v", p)
	}
	if !slices.Equal(p.Scopes, []string{"user/Patient.rs", "user/DocumentReference.r"}) {
		t.Errorf("scp scopes %q", p.Scopes)
	}
}

func TestOIDCAlgorithmsOption(t *testing.T) {
	o := startOP(t)
	v := newOIDCVerifier(t, o, WithAlgorithms("ES256"))
	_, err := v.Verify(context.Background(), o.token(t, "logiciel-cabinet", "secret-1"))
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadSignature)
	if _, err := NewOIDCVerifier(context.Background(), o.url, Audience, ClaimMap{}, WithAlgorithms("HS256", "none")); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("only symmetric algorithms: %v", err)
	}
}

func TestOIDCDiscoveryErrors(t *testing.T) {
	o := startOP(t)
	if _, err := NewOIDCVerifier(context.Background(), o.url+"/", Audience, ClaimMap{}); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("issuer mismatch: %v", err)
	}
	if _, err := NewOIDCVerifier(context.Background(), o.url, "", ClaimMap{}); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("no audience: %v", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := NewOIDCVerifier(context.Background(), dead.URL, Audience, ClaimMap{}, WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
	wantAuthErr(t, err, carnet.EUNAVAILABLE, MsgUnavailable)
	var nilV *OIDCVerifier
	if nilV.Issuer() != "" {
		t.Error("nil verifier issuer")
	}
}

func TestMultiVerifierRouting(t *testing.T) {
	o := startOP(t)
	ov := newOIDCVerifier(t, o)
	iss, _ := newTestIssuer(t)
	mv, err := NewMultiVerifier(iss.Verifier(), ov)
	if err != nil {
		t.Fatal(err)
	}
	embTok, _ := iss.Issue(testClaims(), 0)
	p, err := mv.Verify(context.Background(), embTok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != testIssuerURL || p.Actor.ID != "pro-0001" {
		t.Errorf("embedded token routed to %+v", p)
	}
	p, err = mv.Verify(context.Background(), o.token(t, "logiciel-cabinet", "secret-1"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != o.url || p.Actor.ID != "" || p.RPPS != "10101234567" {
		t.Errorf("OIDC token routed to %+v", p)
	}

	// Another provider's token, an unsigned one, garbage.
	other := startOP(t)
	_, err = mv.Verify(context.Background(), other.token(t, "logiciel-cabinet", "secret-1"))
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgWrongIssuer)
	_, err = mv.Verify(context.Background(), unsignedJWT(t, payloadClaims(t, embTok)))
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadSignature)
	_, err = mv.Verify(context.Background(), "abc.def")
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgMalformed)

	// An embedded token claiming the provider's issuer is checked by the provider's verifier,
	// and fails there.
	_, priv := newTestIssuer(t)
	c := payloadClaims(t, embTok)
	c["iss"] = o.url
	_, err = mv.Verify(context.Background(), signJWT(t, priv, jose.EdDSA, "", c))
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgBadSignature)

	// Construction rules.
	var nilOIDC *OIDCVerifier
	if _, err := NewMultiVerifier(iss.Verifier(), nilOIDC, nil); err != nil {
		t.Errorf("nil verifiers are skipped: %v", err)
	}
	if _, err := NewMultiVerifier(nilOIDC); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("no verifier: %v", err)
	}
	if _, err := NewMultiVerifier(iss.Verifier(), iss.Verifier()); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("duplicate issuer: %v", err)
	}
}
