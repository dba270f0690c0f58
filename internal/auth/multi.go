package auth

import (
	"context"
	"fmt"

	"github.com/carnet-sante/carnet"
)

// MultiVerifier routes each token to the verifier of its issuer: the "iss" claim is read without
// verification, only to choose, and the chosen verifier checks everything. A token of an
// unknown issuer is refused with MsgWrongIssuer. It is safe for concurrent use.
type MultiVerifier struct {
	byIssuer map[string]IssuerVerifier
}

// NewMultiVerifier returns a verifier routing to vs, typically the embedded verifier and, when
// an identity provider is configured, the OIDC one. Nil verifiers (including nil
// *EmbeddedVerifier and *OIDCVerifier) are skipped; two verifiers of the same issuer are an
// error, and so is having none.
func NewMultiVerifier(vs ...IssuerVerifier) (*MultiVerifier, error) {
	m := &MultiVerifier{byIssuer: make(map[string]IssuerVerifier)}
	for _, v := range vs {
		if v == nil || v.Issuer() == "" {
			continue
		}
		if _, dup := m.byIssuer[v.Issuer()]; dup {
			return nil, carnet.Errorf(carnet.EINVALID, "deux vérificateurs de jetons pour l'émetteur %q", v.Issuer())
		}
		m.byIssuer[v.Issuer()] = v
	}
	if len(m.byIssuer) == 0 {
		return nil, carnet.Errorf(carnet.EINVALID, "aucun vérificateur de jetons configuré")
	}
	return m, nil
}

// Verify implements Verifier.
func (m *MultiVerifier) Verify(ctx context.Context, rawToken string) (*Principal, error) {
	const op = "auth.MultiVerifier.Verify"
	t, err := parseUnverified(op, rawToken, asymmetricAlgs())
	if err != nil {
		return nil, err
	}
	v, ok := m.byIssuer[t.claims.Issuer]
	if !ok {
		return nil, authErr(op, MsgWrongIssuer, fmt.Errorf("no verifier for issuer %q", t.claims.Issuer))
	}
	return v.Verify(ctx, rawToken)
}
