package auth

import (
	"context"
	"crypto"
	"errors"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/carnet-sante/carnet"
)

// EmbeddedVerifier verifies the tokens of the embedded Issuer, offline: the signature with the
// issuer's public key and only its algorithm (EdDSA or ES256; "none" and HS* are refused), then
// iss, aud (Audience), exp (required), nbf and iat with a small leeway, then the professional's
// claims (Carnet ID, RPPS, profession). It is safe for concurrent use.
type EmbeddedVerifier struct {
	issuer string
	pub    crypto.PublicKey
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	leeway time.Duration
}

// NewEmbeddedVerifier returns the verifier of the tokens that issuerURL signs with the private
// half of pub (ed25519.PublicKey or a P-256 *ecdsa.PublicKey).
func NewEmbeddedVerifier(issuerURL string, pub crypto.PublicKey, opts ...Option) (*EmbeddedVerifier, error) {
	if err := checkIssuerURL(issuerURL); err != nil {
		return nil, err
	}
	alg, err := publicAlgorithm(pub)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	return &EmbeddedVerifier{
		issuer: issuerURL,
		pub:    pub,
		algs:   []jose.SignatureAlgorithm{alg},
		now:    o.now,
		leeway: o.leeway,
	}, nil
}

// Issuer returns the "iss" of the tokens this verifier accepts ("" for a nil verifier).
func (v *EmbeddedVerifier) Issuer() string {
	if v == nil {
		return ""
	}
	return v.issuer
}

// Verify implements Verifier.
func (v *EmbeddedVerifier) Verify(_ context.Context, rawToken string) (*Principal, error) {
	const op = "auth.EmbeddedVerifier.Verify"
	t, err := parseUnverified(op, rawToken, v.algs)
	if err != nil {
		return nil, err
	}
	payload, err := t.jws.Verify(v.pub)
	if err != nil {
		return nil, authErr(op, MsgBadSignature, err)
	}
	var c wireClaims
	if err := decodeJSONObject(payload, &c); err != nil {
		return nil, authErr(op, MsgMalformed, err)
	}
	if err := checkClaims(op, &c.Claims, v.issuer, Audience, v.now(), v.leeway); err != nil {
		return nil, err
	}
	if c.ID == "" || !cleanText(c.ID, 128) {
		return nil, authErr(op, MsgMalformed, errors.New("no or bad jti claim"))
	}
	pc := ProClaims{
		Subject:       c.Subject,
		RPPS:          c.RPPS,
		Profession:    carnet.Profession(c.Profession),
		Specialty:     c.Specialty,
		StructureID:   c.StructureID,
		StructureName: c.StructureName,
		Name:          c.Name,
		Scopes:        splitScope(c.Scope),
	}
	if err := pc.validate(); err != nil {
		return nil, authErr(op, MsgBadProfessional, err)
	}
	return &Principal{
		Actor: carnet.Actor{
			Kind:          carnet.ActorProfessional,
			ID:            pc.Subject,
			Name:          pc.Name,
			Profession:    pc.Profession,
			Specialty:     pc.Specialty,
			StructureID:   pc.StructureID,
			StructureName: pc.StructureName,
		},
		RPPS:    carnet.NormalizeRPPS(pc.RPPS),
		Scopes:  pc.Scopes,
		TokenID: c.ID,
		Expiry:  c.Expiry.Time(),
		Issuer:  c.Issuer,
	}, nil
}
