package auth

import (
	"context"
	"time"

	"github.com/carnet-sante/carnet"
)

// Verifier checks a bearer token and says who presents it.
type Verifier interface {
	// Verify checks rawToken (signature, issuer, audience, validity period) and returns the
	// professional it is bound to. Errors are *carnet.Error of code EUNAUTHORIZED whose message
	// names the problem (MsgExpired, MsgBadSignature...), or EUNAVAILABLE when the identity
	// provider cannot be reached.
	Verify(ctx context.Context, rawToken string) (*Principal, error)
}

// IssuerVerifier is a Verifier for the tokens of one issuer, as MultiVerifier routes them.
type IssuerVerifier interface {
	Verifier
	// Issuer is the exact "iss" value of the tokens this verifier accepts; "" for a verifier
	// that is not configured.
	Issuer() string
}

// Principal is the authenticated professional behind a token.
//
// For tokens of the embedded issuer, Actor.ID is the professional's Carnet ID (the token's
// "sub") and the other attributes come from the directory at issue time. For tokens of an
// external OpenID Connect provider, Actor.ID is EMPTY: the caller must look the professional up
// in the directory by RPPS (refusing unknown and deactivated ones) and fill Actor.ID, and should
// prefer the directory's attributes to the token's.
type Principal struct {
	Actor   carnet.Actor // Kind ActorProfessional, ID, Name, Profession, Specialty, structure
	RPPS    string       // the bare 11-digit RPPS
	Scopes  []string     // SMART scopes granted to the token
	TokenID string       // "jti", for audit and revocation lists
	Expiry  time.Time    // "exp"
	Issuer  string       // "iss"
}

// HasScope reports whether the token grants operation op (c, r, u, d or s) on resource.
func (p *Principal) HasScope(resource, op string) bool {
	return p != nil && HasScope(p.Scopes, resource, op)
}
