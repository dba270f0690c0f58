package auth

import (
	"errors"

	"github.com/carnet-sante/carnet"
)

// User-facing messages of authentication failures: each is the Message of a *carnet.Error of
// code EUNAUTHORIZED (unless noted), the internal cause being kept in its Err for the logs.
const (
	MsgNoToken         = "jeton d'accès requis"                         // no Authorization header
	MsgBadHeader       = "en-tête Authorization invalide"               // EINVALID: not "Bearer <token>", or several
	MsgMalformed       = "jeton mal formé"                              // not a compact JWS with JSON claims
	MsgBadSignature    = "signature invalide"                           // wrong key, forged, alg none or HS*
	MsgExpired         = "jeton expiré"                                 // exp passed (beyond the leeway)
	MsgNotYetValid     = "jeton pas encore valide"                      // nbf or iat in the future
	MsgWrongIssuer     = "jeton d'un autre émetteur"                    // iss is not the expected issuer
	MsgWrongAudience   = "audience incorrecte"                          // aud does not name Carnet's API
	MsgBadProfessional = "professionnel inconnu ou profession invalide" // RPPS or profession unusable
	MsgUnavailable     = "fournisseur d'identité injoignable"           // EUNAVAILABLE: JWKS fetch failed
)

// authErr returns an EUNAUTHORIZED error with a French message and an internal cause.
func authErr(op, msg string, cause error) error {
	return &carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Message: msg, Err: cause}
}

// noTokenError marks the absence of credentials, for which RFC 6750 wants a challenge without an
// error code.
type noTokenError struct{}

func (noTokenError) Error() string { return "no bearer token in the request" }

// IsNoToken reports whether err says that the request carried no token at all (as opposed to a
// bad one).
func IsNoToken(err error) bool {
	var nt noTokenError
	return errors.As(err, &nt)
}
