package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/carnet-sante/carnet"
)

// ClaimMap names the claims that carry a professional's identity in the tokens of an external
// OpenID Connect provider. Each field is a claim name or, when no claim has that exact name, a
// dotted path into nested objects and arrays ("SubjectRefPro.exercices.0.codeSavoirFaire").
// A claim holding an array yields its first element; a value "code^OID" (HL7 v2 / VIHF style)
// yields its code for Profession and Specialty. An empty field takes DefaultClaimMap's value;
// "-" turns the field off.
type ClaimMap struct {
	RPPS          string // idNat_PS ("8" + RPPS) or a bare RPPS; required
	Profession    string // TRE_G15 code; required
	Specialty     string // TRE_R38 code; optional
	StructureID   string // optional
	StructureName string // optional
	Name          string // display name; optional, falls back to given_name + family_name
}

// DefaultClaimMap returns the claim names assumed for Pro Santé Connect. Only SubjectNameID
// holding the idNat_PS ("8" + RPPS) is documented by the ANS material we had; the others are
// ASSUMPTIONS modelled on the DMP's VIHF attributes (subject:role, subject:organization,
// subject:organization-id) and on PSC's "SubjectRefPro" structure. Check them against a real
// PSC token or userinfo answer before production, and override them with a ClaimMap.
//
//	RPPS          "SubjectNameID"                             (idNat_PS, "8" + RPPS)
//	Profession    "SubjectRole"                               (["10^1.2.250.1.213.1.1.5.5"]: first role, code part)
//	Specialty     "SubjectRefPro.exercices.0.codeSavoirFaire" (TRE_R38, e.g. "SM54")
//	StructureID   "SubjectOrganizationID"
//	StructureName "SubjectOrganization"
//	Name          "name" (else given_name + " " + family_name, the OIDC standard claims)
func DefaultClaimMap() ClaimMap {
	return ClaimMap{
		RPPS:          "SubjectNameID",
		Profession:    "SubjectRole",
		Specialty:     "SubjectRefPro.exercices.0.codeSavoirFaire",
		StructureID:   "SubjectOrganizationID",
		StructureName: "SubjectOrganization",
		Name:          "name",
	}
}

// withDefaults fills the empty fields of m from DefaultClaimMap.
func (m ClaimMap) withDefaults() ClaimMap {
	d := DefaultClaimMap()
	for _, f := range []struct{ v, def *string }{
		{&m.RPPS, &d.RPPS}, {&m.Profession, &d.Profession}, {&m.Specialty, &d.Specialty},
		{&m.StructureID, &d.StructureID}, {&m.StructureName, &d.StructureName}, {&m.Name, &d.Name},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return m
}

// OIDCVerifier verifies the tokens (JWT access tokens or ID tokens) of an external OpenID
// Connect provider, Pro Santé Connect in production: discovery and JWKS through
// github.com/coreos/go-oidc/v3 (keys re-fetched when an unknown "kid" appears, so key rotation
// is followed), signature with an asymmetric algorithm only, iss, aud, exp and nbf; then the
// professional's identity is read from the claims through a ClaimMap.
//
// The Principal it returns has an EMPTY Actor.ID: the HTTP layer looks the professional up in
// the directory by Principal.RPPS, refuses unknown and deactivated ones, and sets the ID.
// It is safe for concurrent use.
type OIDCVerifier struct {
	issuer   string
	audience string
	claims   ClaimMap
	algs     []jose.SignatureAlgorithm
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
	leeway   time.Duration
}

// NewOIDCVerifier discovers the provider at issuerURL (GET
// issuerURL/.well-known/openid-configuration, whose "issuer" must equal issuerURL) and returns
// a verifier of its tokens for audience (the client ID under which Carnet is registered).
// Discovery failures are EUNAVAILABLE; the JWKS is fetched lazily, on the first token.
func NewOIDCVerifier(ctx context.Context, issuerURL, audience string, claims ClaimMap, opts ...Option) (*OIDCVerifier, error) {
	const op = "auth.NewOIDCVerifier"
	if err := checkIssuerURL(issuerURL); err != nil {
		return nil, err
	}
	if audience == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "audience (identifiant client) du fournisseur d'identité requise")
	}
	o := buildOptions(opts)
	algs := asymmetricAlgs()
	if len(o.algs) > 0 {
		algs = slices.DeleteFunc(algs, func(a jose.SignatureAlgorithm) bool { return !slices.Contains(o.algs, string(a)) })
		if len(algs) == 0 {
			return nil, carnet.Errorf(carnet.EINVALID, "aucun algorithme de signature asymétrique parmi %q", o.algs)
		}
	}
	client := o.httpClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuerURL)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, &carnet.Error{Code: carnet.EINVALID, Op: op, Err: err,
				Message: fmt.Sprintf("le fournisseur d'identité annonce l'émetteur %q au lieu de %q", mismatch.Discovered, issuerURL)}
		}
		return nil, &carnet.Error{Code: carnet.EUNAVAILABLE, Op: op, Message: MsgUnavailable, Err: err}
	}
	now, leeway := o.now, o.leeway
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	v := provider.Verifier(&oidc.Config{
		ClientID:             audience,
		SupportedSigningAlgs: names,
		// go-oidc checks exp without leeway: shift its clock back by ours.
		Now: func() time.Time { return now().Add(-leeway) },
	})
	return &OIDCVerifier{
		issuer:   issuerURL,
		audience: audience,
		claims:   claims.withDefaults(),
		algs:     algs,
		verifier: v,
		now:      now,
		leeway:   leeway,
	}, nil
}

// Issuer returns the "iss" of the tokens this verifier accepts ("" for a nil verifier).
func (v *OIDCVerifier) Issuer() string {
	if v == nil {
		return ""
	}
	return v.issuer
}

// Verify implements Verifier. The claims are first checked unverified (shape, algorithm, iss,
// aud, exp, nbf) so that an obviously wrong token is refused with a precise message and without
// a JWKS fetch; go-oidc then checks the signature and the same claims authoritatively.
func (v *OIDCVerifier) Verify(ctx context.Context, rawToken string) (*Principal, error) {
	const op = "auth.OIDCVerifier.Verify"
	t, err := parseUnverified(op, rawToken, v.algs)
	if err != nil {
		return nil, err
	}
	if err := checkClaims(op, &t.claims, v.issuer, v.audience, v.now(), v.leeway); err != nil {
		return nil, err
	}
	idt, err := v.verifier.Verify(ctx, rawToken)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return nil, authErr(op, MsgExpired, err)
		case ctx.Err() != nil:
			return nil, &carnet.Error{Code: carnet.EUNAVAILABLE, Op: op, Message: MsgUnavailable, Err: errors.Join(ctx.Err(), err)}
		case strings.Contains(err.Error(), "fetching keys"):
			// go-oidc flattens its errors to text: "failed to verify signature: fetching keys
			// ..." is the JWKS endpoint failing, not the token (see TestOIDCJWKSDown).
			return nil, &carnet.Error{Code: carnet.EUNAVAILABLE, Op: op, Message: MsgUnavailable, Err: err}
		default:
			return nil, authErr(op, MsgBadSignature, err)
		}
	}
	var raw json.RawMessage
	if err := idt.Claims(&raw); err != nil {
		return nil, authErr(op, MsgMalformed, err)
	}
	var m map[string]any
	if err := decodeJSONObject(raw, &m); err != nil {
		return nil, authErr(op, MsgMalformed, err)
	}
	p, err := v.principal(m)
	if err != nil {
		return nil, err
	}
	p.TokenID = t.claims.ID
	p.Expiry = idt.Expiry
	p.Issuer = idt.Issuer
	return p, nil
}

// principal maps verified claims to a Principal through the claim map.
func (v *OIDCVerifier) principal(m map[string]any) (*Principal, error) {
	const op = "auth.OIDCVerifier.Verify"
	cm := v.claims
	rawRPPS := claimString(m, cm.RPPS)
	rpps := carnet.NormalizeRPPS(rawRPPS)
	if err := carnet.ValidateRPPS(rpps); err != nil {
		return nil, authErr(op, MsgBadProfessional, fmt.Errorf("claim %q: %w", cm.RPPS, err))
	}
	prof := carnet.Profession(codePart(claimString(m, cm.Profession)))
	if !prof.Valid() {
		return nil, authErr(op, MsgBadProfessional, fmt.Errorf("claim %q: profession %q unknown", cm.Profession, prof))
	}
	name := claimString(m, cm.Name)
	if name == "" {
		name = strings.TrimSpace(claimString(m, "given_name") + " " + claimString(m, "family_name"))
	}
	return &Principal{
		Actor: carnet.Actor{
			Kind:          carnet.ActorProfessional,
			Name:          optional(name, 256),
			Profession:    prof,
			Specialty:     optional(codePart(claimString(m, cm.Specialty)), 16),
			StructureID:   optional(claimString(m, cm.StructureID), 64),
			StructureName: optional(claimString(m, cm.StructureName), 256),
		},
		RPPS:   rpps,
		Scopes: claimScopes(m),
	}, nil
}

// optional keeps an optional claim value only if it is clean text of at most n bytes.
func optional(s string, n int) string {
	s = strings.TrimSpace(s)
	if !cleanText(s, n) {
		return ""
	}
	return s
}

// codePart returns the code of a "code^OID" value, trimmed.
func codePart(s string) string {
	code, _, _ := strings.Cut(s, "^")
	return strings.TrimSpace(code)
}

// claimScopes reads the "scope" claim (space-separated, RFC 9068) or, when it is absent or
// empty, "scp" (an array or a string, as some providers write it).
func claimScopes(m map[string]any) []string {
	if s, ok := m["scope"].(string); ok && strings.TrimSpace(s) != "" {
		return splitScope(s)
	}
	switch scp := m["scp"].(type) {
	case string:
		return splitScope(scp)
	case []any:
		var out []string
		for _, e := range scp {
			if s, ok := e.(string); ok && s != "" && !strings.ContainsAny(s, " \t") {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// claimString returns the claim at path as a string ("" if absent, "-" path or not a scalar).
func claimString(m map[string]any, path string) string {
	if path == "" || path == "-" {
		return ""
	}
	v, ok := lookupClaim(m, path)
	if !ok {
		return ""
	}
	return scalar(v, 0)
}

// scalar renders a string or a number; an array yields its first element.
func scalar(v any, depth int) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case []any:
		if len(x) > 0 && depth == 0 {
			return scalar(x[0], depth+1)
		}
	}
	return ""
}

// lookupClaim finds a claim by its exact name or else by a dotted path through objects (by key)
// and arrays (by index).
func lookupClaim(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
