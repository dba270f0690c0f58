package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/carnet-sante/carnet"
)

// signJWT signs claims (marshalled to JSON) as a compact JWS with key, alg and kid.
func signJWT(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return signPayload(t, key, alg, kid, payload)
}

func signPayload(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, payload []byte) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unsignedJWT builds an "alg":"none" token.
func unsignedJWT(t testing.TB, claims any) string {
	t.Helper()
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(p) + "."
}

// hs256JWT builds an HS256 token with secret, as an attacker would using a public key as the
// HMAC secret.
func hs256JWT(t testing.TB, secret []byte, kid string, claims any) string {
	t.Helper()
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := `{"alg":"HS256","typ":"JWT","kid":"` + kid + `"}`
	in := b64([]byte(h)) + "." + b64(p)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

// payloadClaims decodes the (unverified) claims of a compact JWS.
func payloadClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantAuthErr checks that err is an *carnet.Error of code with message msg.
func wantAuthErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", code, msg)
	}
	if got := carnet.ErrorCode(err); got != code {
		t.Fatalf("code %q, want %q (err: %v)", got, code, err)
	}
	if got := carnet.ErrorMessage(err); got != msg {
		t.Fatalf("message %q, want %q (err: %v)", got, msg, err)
	}
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
