// Package auth authenticates the practice software of health professionals that calls Carnet's
// API with OAuth2 bearer tokens (RFC 6750), each token bound to one professional (RPPS,
// profession, specialty, structure).
//
// Two kinds of issuer are accepted:
//
//   - the embedded issuer ([Issuer]), the default for development and for sites without an
//     identity provider: an Ed25519 key in a 0600 PEM file signs compact JWTs (EdDSA) whose
//     claims carry the professional's Carnet ID and directory attributes; [EmbeddedVerifier]
//     checks them offline;
//   - an external OpenID Connect provider (Pro Santé Connect in production): [OIDCVerifier] uses
//     discovery and the provider's JWKS (github.com/coreos/go-oidc/v3) and maps the
//     professional's identity out of the token claims with a [ClaimMap].
//
// [MultiVerifier] routes a token to the verifier of its "iss" claim. Every verifier answers a
// [Principal] or a *carnet.Error of code EUNAUTHORIZED whose French message names the problem
// (see the Msg constants). [BearerToken] extracts the token from a request and
// [WWWAuthenticate] builds the matching challenge. [HasScope] reads SMART App Launch scopes.
//
// The package decides who is calling, never what they may do: the service layer authorizes.
// It keeps no global state; clocks, HTTP clients and keys are passed in.
package auth
