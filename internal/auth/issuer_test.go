package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/carnet-sante/carnet"
)

const testIssuerURL = "http://127.0.0.1:8080"

// fixedClock is a settable clock for tests.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func testClaims() ProClaims {
	return ProClaims{
		Subject:       "pro-0001",
		RPPS:          "10101234567",
		Profession:    "10",
		Specialty:     "SM54",
		StructureID:   "750000001",
		StructureName: "Cabinet du Dr Martin",
		Name:          "Dr Marie Martin",
		Scopes:        []string{"patient/DocumentReference.rs", "patient/DocumentReference.cu", "user/Binary.r"},
	}
}

func newTestIssuer(t testing.TB, opts ...Option) (*Issuer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer(testIssuerURL, priv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return iss, priv
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "token.key")
	iss, err := LoadOrCreateIssuer(path, testIssuerURL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue(testClaims(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := iss.Verifier().Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := carnet.Actor{
		Kind: carnet.ActorProfessional, ID: "pro-0001", Name: "Dr Marie Martin", Profession: "10",
		Specialty: "SM54", StructureID: "750000001", StructureName: "Cabinet du Dr Martin",
	}
	if p.Actor.Kind != want.Kind || p.Actor.ID != want.ID || p.Actor.Name != want.Name ||
		p.Actor.Profession != want.Profession || p.Actor.Specialty != want.Specialty ||
		p.Actor.StructureID != want.StructureID || p.Actor.StructureName != want.StructureName {
		t.Errorf("actor %+v, want %+v", p.Actor, want)
	}
	if p.RPPS != "10101234567" || p.Issuer != testIssuerURL || p.TokenID == "" {
		t.Errorf("principal %+v", p)
	}
	if !slices.Equal(p.Scopes, testClaims().Scopes) {
		t.Errorf("scopes %q", p.Scopes)
	}
	if d := time.Until(p.Expiry); d < 59*time.Minute || d > time.Hour+time.Second {
		t.Errorf("expiry in %s, want about 1 h", d)
	}
	if !p.HasScope("DocumentReference", "r") || p.HasScope("DocumentReference", "d") {
		t.Error("HasScope on the principal")
	}

	// The wire claims are the documented ones.
	c := payloadClaims(t, tok)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "rpps", "profession", "specialty", "structure_id", "structure_name", "name", "scope"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %q missing from %v", k, c)
		}
	}
	if c["aud"] != Audience || c["scope"] != "patient/DocumentReference.rs patient/DocumentReference.cu user/Binary.r" {
		t.Errorf("aud %v scope %v", c["aud"], c["scope"])
	}
	// Two tokens never share a jti.
	tok2, _ := iss.Issue(testClaims(), 0)
	if payloadClaims(t, tok2)["jti"] == c["jti"] {
		t.Error("jti reused")
	}
}

func TestIdNatPSNormalisedAtIssue(t *testing.T) {
	iss, _ := newTestIssuer(t)
	c := testClaims()
	c.RPPS = "810101234567"
	tok, err := iss.Issue(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := iss.Verifier().Verify(context.Background(), tok)
	if err != nil || p.RPPS != "10101234567" {
		t.Fatalf("%v %+v", err, p)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.key")
	iss1, err := LoadOrCreateIssuer(path, testIssuerURL)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	if !bytes.HasPrefix(before, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("not a PEM PKCS#8 file: %q", before[:min(40, len(before))])
	}

	// Loading again reuses the key and leaves the file alone.
	iss2, err := LoadOrCreateIssuer(path, testIssuerURL)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) || iss1.KeyID() != iss2.KeyID() {
		t.Fatal("key file changed or key not reused")
	}
	tok, _ := iss1.Issue(testClaims(), 0)
	if _, err := iss2.Verifier().Verify(context.Background(), tok); err != nil {
		t.Fatalf("token of the first load refused after reload: %v", err)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}

	// A file readable by others is refused, and not rewritten.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIssuer(path, testIssuerURL); carnet.ErrorCode(err) != carnet.EKEY || !strings.Contains(carnet.ErrorMessage(err), "chmod 600") {
		t.Errorf("0644 key file: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("0644 key file was rewritten")
	}

	// A corrupt file is an error, never replaced by a new key.
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("pas une clé\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIssuer(bad, testIssuerURL); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("corrupt key file: %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "pas une clé\n" {
		t.Error("corrupt key file was overwritten")
	}

	// An unsupported key type (RSA) is refused.
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rder, _ := x509.MarshalPKCS8PrivateKey(rk)
	rsaPath := filepath.Join(dir, "rsa.key")
	if err := os.WriteFile(rsaPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIssuer(rsaPath, testIssuerURL); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("RSA key file: %v", err)
	}

	// A P-256 key file is accepted and signs ES256.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPath := filepath.Join(dir, "ec.key")
	if err := os.WriteFile(ecPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ecIss, err := LoadOrCreateIssuer(ecPath, testIssuerURL)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ = ecIss.Issue(testClaims(), 0)
	if _, err := ecIss.Verifier().Verify(context.Background(), tok); err != nil {
		t.Fatalf("ES256 round trip: %v", err)
	}
	if !strings.Contains(string(mustJWKS(t, ecIss)), `"alg":"ES256"`) {
		t.Error("JWKS of an ES256 issuer")
	}
}

func mustJWKS(t *testing.T, iss *Issuer) []byte {
	t.Helper()
	b, err := iss.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyFileConcurrentCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			iss, err := LoadOrCreateIssuer(path, testIssuerURL)
			errs[i] = err
			if err == nil {
				ids[i] = iss.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("two keys created: %q and %q", ids[0], ids[i])
		}
	}
}

func TestJWKS(t *testing.T) {
	iss, _ := newTestIssuer(t)
	var set jose.JSONWebKeySet
	if err := jsonUnmarshal(mustJWKS(t, iss), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID != iss.KeyID() || set.Keys[0].Algorithm != "EdDSA" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS %+v", set)
	}
}

func TestIssueLimits(t *testing.T) {
	clk := &fixedClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	iss, _ := newTestIssuer(t, WithClock(clk.Now))
	for _, ttl := range []time.Duration{-time.Minute, time.Millisecond, MaxTTL + time.Second} {
		if _, err := iss.Issue(testClaims(), ttl); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	tok, err := iss.Issue(testClaims(), MaxTTL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := iss.Verifier().Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Expiry.Equal(clk.Now().Add(MaxTTL)) {
		t.Errorf("expiry %s", p.Expiry)
	}

	bad := []func(*ProClaims){
		func(c *ProClaims) { c.Subject = "" },
		func(c *ProClaims) { c.RPPS = "1234" },
		func(c *ProClaims) { c.RPPS = "1010123456X" },
		func(c *ProClaims) { c.Profession = "99" },
		func(c *ProClaims) { c.Scopes = []string{"user/*.rs extra"} },
		func(c *ProClaims) { c.Scopes = []string{""} },
		func(c *ProClaims) { c.Name = "Dr\nMartin" },
	}
	for i, mod := range bad {
		c := testClaims()
		mod(&c)
		if _, err := iss.Issue(c, 0); carnet.ErrorCode(err) != carnet.EINVALID || !strings.HasPrefix(carnet.ErrorMessage(err), "jeton non émis") {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestClaimsFor(t *testing.T) {
	p := &carnet.Professional{ID: "pro-1", RPPS: "10101234567", Profession: "60", Civility: "M.",
		GivenName: "Paul", FamilyName: "Durand", StructureName: "Cabinet infirmier", Active: true}
	c, err := ClaimsFor(p, DefaultScopes())
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "pro-1" || c.Name != "M. Paul Durand" || c.Profession != "60" || len(c.Scopes) != len(DefaultScopes()) {
		t.Errorf("%+v", c)
	}
	p.Active = false
	if _, err := ClaimsFor(p, nil); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
		t.Errorf("deactivated professional: %v", err)
	}
	for _, s := range DefaultScopes() {
		if _, ok := ParseScope(s); !ok {
			t.Errorf("default scope %q does not parse", s)
		}
	}
}

func TestEmbeddedTimes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clk := &fixedClock{t: t0}
	iss, _ := newTestIssuer(t, WithClock(clk.Now))
	tok, err := iss.Issue(testClaims(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v := iss.Verifier()
	for _, tc := range []struct {
		at  time.Time
		msg string
	}{
		{t0, ""},
		{t0.Add(time.Hour + 30*time.Second), ""}, // within the leeway
		{t0.Add(time.Hour + 2*time.Minute), MsgExpired},
		{t0.Add(-30 * time.Second), ""},
		{t0.Add(-2 * time.Minute), MsgNotYetValid},
	} {
		clk.Set(tc.at)
		_, err := v.Verify(context.Background(), tok)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("at %s: %v", tc.at, err)
			}
			continue
		}
		wantAuthErr(t, err, carnet.EUNAUTHORIZED, tc.msg)
	}
	// A verifier without leeway refuses one second after exp.
	clk.Set(t0.Add(time.Hour + time.Second))
	_, err = iss.Verifier(WithLeeway(0)).Verify(context.Background(), tok)
	wantAuthErr(t, err, carnet.EUNAUTHORIZED, MsgExpired)
}

func TestEmbeddedRejects(t *testing.T) {
	now := time.Now()
	iss, priv := newTestIssuer(t)
	v := iss.Verifier()
	good, err := iss.Issue(testClaims(), 0)
	if err != nil {
		t.Fatal(err)
	}
	claims := payloadClaims(t, good)
	with := func(k string, val any) map[string]any {
		c := make(map[string]any, len(claims))
		for k, v := range claims {
			c[k] = v
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	parts := strings.Split(good, ".")
	otherIss, otherPriv := newTestIssuer(t)
	_ = otherIss
	sameKeyOtherURL, err := NewIssuer("https://autre.example.fr", priv)
	if err != nil {
		t.Fatal(err)
	}
	fromOtherURL, _ := sameKeyOtherURL.Issue(testClaims(), 0)
	forgedPayload := payloadClaims(t, good)
	forgedPayload["profession"] = "21"
	fp, _ := jsonMarshal(forgedPayload)

	cases := []struct {
		name, tok, msg string
	}{
		{"empty", "", MsgMalformed},
		{"garbage", "n'importe quoi", MsgMalformed},
		{"two parts", parts[0] + "." + parts[1], MsgMalformed},
		{"five parts (JWE)", good + ".a.b", MsgMalformed},
		{"header not base64", "!!!." + parts[1] + "." + parts[2], MsgMalformed},
		{"header not JSON", b64([]byte("alg")) + "." + parts[1] + "." + parts[2], MsgMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, MsgMalformed},
		{"too long", strings.Repeat("a", MaxTokenLen+1), MsgMalformed},
		{"tampered payload", parts[0] + "." + b64(fp) + "." + parts[2], MsgBadSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64(bytes.Repeat([]byte{1}, 64)), MsgBadSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", MsgBadSignature},
		{"other key", signJWT(t, otherPriv, jose.EdDSA, iss.KeyID(), claims), MsgBadSignature},
		{"alg none", unsignedJWT(t, claims), MsgBadSignature},
		{"HS256 with the public key as secret", hs256JWT(t, []byte(priv.Public().(ed25519.PublicKey)), iss.KeyID(), claims), MsgBadSignature},
		{"ES256 header on an EdDSA verifier", replaceHeader(t, good, `{"alg":"ES256","typ":"JWT"}`), MsgBadSignature},
		{"other issuer, same key", fromOtherURL, MsgWrongIssuer},
		{"wrong audience", signJWT(t, priv, jose.EdDSA, "", with("aud", "autre-api")), MsgWrongAudience},
		{"audience list without carnet", signJWT(t, priv, jose.EdDSA, "", with("aud", []string{"a", "b"})), MsgWrongAudience},
		{"audience list with carnet", signJWT(t, priv, jose.EdDSA, "", with("aud", []string{"a", Audience})), ""},
		{"no exp", signJWT(t, priv, jose.EdDSA, "", with("exp", nil)), MsgMalformed},
		{"exp not a number", signJWT(t, priv, jose.EdDSA, "", with("exp", "demain")), MsgMalformed},
		{"expired", signJWT(t, priv, jose.EdDSA, "", with("exp", now.Add(-time.Hour).Unix())), MsgExpired},
		{"iat in the future", signJWT(t, priv, jose.EdDSA, "", with("iat", now.Add(time.Hour).Unix())), MsgNotYetValid},
		{"no jti", signJWT(t, priv, jose.EdDSA, "", with("jti", nil)), MsgMalformed},
		{"payload not an object", signPayload(t, priv, jose.EdDSA, "", []byte(`["a"]`)), MsgMalformed},
		{"rpps as a number", signJWT(t, priv, jose.EdDSA, "", with("rpps", 10101234567)), MsgMalformed},
		{"unknown profession", signJWT(t, priv, jose.EdDSA, "", with("profession", "99")), MsgBadProfessional},
		{"bad RPPS", signJWT(t, priv, jose.EdDSA, "", with("rpps", "123")), MsgBadProfessional},
		{"no subject", signJWT(t, priv, jose.EdDSA, "", with("sub", nil)), MsgBadProfessional},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.tok)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if p != nil {
				t.Errorf("principal returned with an error")
			}
			wantAuthErr(t, err, carnet.EUNAUTHORIZED, tc.msg)
		})
	}
}

// replaceHeader swaps the protected header of a compact JWS.
func replaceHeader(t *testing.T, tok, header string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	return b64([]byte(header)) + "." + parts[1] + "." + parts[2]
}

func TestNewVerifierAndIssuerArgs(t *testing.T) {
	_, priv := newTestIssuer(t)
	if _, err := NewIssuer("", priv); carnet.ErrorCode(err) != carnet.EINVALID {
		t.Errorf("empty issuer URL: %v", err)
	}
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewIssuer(testIssuerURL, ec384); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("P-384 key: %v", err)
	}
	if _, err := NewEmbeddedVerifier(testIssuerURL, "pas une clé"); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("bad public key: %v", err)
	}
	var nilV *EmbeddedVerifier
	if nilV.Issuer() != "" {
		t.Error("nil verifier issuer")
	}
}
