package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// asymmetricAlgs returns the signature algorithms that a verifier may ever accept: never
// "none", never HS* (a verifier holding only public keys must not be fooled into using one as
// an HMAC secret).
func asymmetricAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512,
		jose.EdDSA,
	}
}

// parsedToken is a compact JWS whose claims were decoded but whose signature is not verified.
type parsedToken struct {
	jws    *jose.JSONWebSignature
	claims jwt.Claims // unverified
}

// parseUnverified checks the shape of a compact JWS, refuses an algorithm outside allowed and
// decodes the registered claims without verifying anything else. Its errors carry MsgMalformed
// or MsgBadSignature (for a refused algorithm).
func parseUnverified(op, raw string, allowed []jose.SignatureAlgorithm) (*parsedToken, error) {
	if raw == "" || len(raw) > MaxTokenLen {
		return nil, authErr(op, MsgMalformed, fmt.Errorf("token length %d", len(raw)))
	}
	if n := strings.Count(raw, "."); n != 2 {
		return nil, authErr(op, MsgMalformed, fmt.Errorf("%d dots, a compact JWS has 2", n))
	}
	parts := strings.Split(raw, ".")
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, authErr(op, MsgMalformed, fmt.Errorf("header: %w", err))
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, authErr(op, MsgMalformed, fmt.Errorf("header: %w", err))
	}
	alg := jose.SignatureAlgorithm(h.Alg)
	if !slices.Contains(allowed, alg) || !slices.Contains(asymmetricAlgs(), alg) {
		return nil, authErr(op, MsgBadSignature, fmt.Errorf("signature algorithm %q refused", h.Alg))
	}
	jws, err := jose.ParseSignedCompact(raw, allowed)
	if err != nil {
		return nil, authErr(op, MsgMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, authErr(op, MsgMalformed, errors.New("exactly one signature expected"))
	}
	var c jwt.Claims
	if err := decodeJSONObject(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return nil, authErr(op, MsgMalformed, fmt.Errorf("claims: %w", err))
	}
	return &parsedToken{jws: jws, claims: c}, nil
}

// decodeJSONObject decodes a JSON object, numbers kept as json.Number when v is a map.
func decodeJSONObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// checkClaims checks iss, aud, exp (which must be present), nbf and iat, in that order, and
// names the first problem.
func checkClaims(op string, c *jwt.Claims, issuer, audience string, now time.Time, leeway time.Duration) error {
	if c.Issuer != issuer {
		return authErr(op, MsgWrongIssuer, fmt.Errorf("issuer %q, expected %q", c.Issuer, issuer))
	}
	if !c.Audience.Contains(audience) {
		return authErr(op, MsgWrongAudience, fmt.Errorf("audience %q, expected %q", []string(c.Audience), audience))
	}
	if c.Expiry == nil {
		return authErr(op, MsgMalformed, errors.New("no exp claim"))
	}
	switch err := c.ValidateWithLeeway(jwt.Expected{Time: now}, leeway); {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrExpired):
		return authErr(op, MsgExpired, fmt.Errorf("expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339)))
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return authErr(op, MsgNotYetValid, err)
	default:
		return authErr(op, MsgMalformed, err)
	}
}

// splitScope splits a space-separated "scope" claim.
func splitScope(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return f
}

// cleanText reports whether s is a reasonable claim value: at most n bytes, valid UTF-8, no
// control characters.
func cleanText(s string, n int) bool {
	if len(s) > n {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			return false
		}
	}
	return true
}
