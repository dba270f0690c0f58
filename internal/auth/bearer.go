package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/carnet-sante/carnet"
)

// Realm is the realm announced in WWW-Authenticate challenges.
const Realm = "carnet"

// BearerToken returns the token of the request's "Authorization: Bearer <token>" header
// (RFC 6750 §2.1; the scheme is case-insensitive). Without an Authorization header, or with
// another scheme, the error is EUNAUTHORIZED and IsNoToken reports true; several Authorization
// headers, an empty one or a token with characters outside the b64token syntax are EINVALID
// (RFC 6750 "invalid_request").
func BearerToken(r *http.Request) (string, error) {
	const op = "auth.BearerToken"
	vals := r.Header.Values("Authorization")
	switch {
	case len(vals) == 0:
		return "", &carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Message: MsgNoToken, Err: noTokenError{}}
	case len(vals) > 1:
		return "", &carnet.Error{Code: carnet.EINVALID, Op: op, Message: MsgBadHeader, Err: fmt.Errorf("%d Authorization headers", len(vals))}
	}
	v := strings.Trim(vals[0], " \t")
	if v == "" {
		return "", &carnet.Error{Code: carnet.EINVALID, Op: op, Message: MsgBadHeader, Err: errors.New("empty Authorization header")}
	}
	scheme, tok, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", &carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Message: "schéma d'authentification non pris en charge : « Bearer » attendu", Err: noTokenError{}}
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" {
		return "", &carnet.Error{Code: carnet.EINVALID, Op: op, Message: MsgBadHeader, Err: errors.New("empty bearer token")}
	}
	if len(tok) > MaxTokenLen {
		return "", authErr(op, MsgMalformed, fmt.Errorf("token of %d bytes", len(tok)))
	}
	if !isB64Token(tok) {
		return "", &carnet.Error{Code: carnet.EINVALID, Op: op, Message: MsgBadHeader, Err: errors.New("token outside the b64token syntax")}
	}
	return tok, nil
}

// isB64Token checks RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// scopeError is the cause of an insufficient-scope refusal: the scope that was needed.
type scopeError struct{ scope string }

func (e scopeError) Error() string { return "scope " + e.scope + " required" }

// RequireScope returns nil when the principal's token grants operation op on resource, else an
// EFORBIDDEN error for which WWWAuthenticate answers "insufficient_scope".
func RequireScope(p *Principal, resource, op string) error {
	if p.HasScope(resource, op) {
		return nil
	}
	need := "user/" + resource + "." + op
	return &carnet.Error{Code: carnet.EFORBIDDEN, Op: "auth.RequireScope",
		Message: fmt.Sprintf("portée insuffisante : %s requise", need), Err: scopeError{need}}
}

// WWWAuthenticate returns the value of the WWW-Authenticate header (RFC 6750 §3) that answers
// err: `Bearer realm="carnet"` alone when no token was presented, with
// error="invalid_token" for a rejected token (EUNAUTHORIZED), "invalid_request" for a malformed
// request (EINVALID), "insufficient_scope" for a missing scope (EFORBIDDEN), and the French
// message, folded to ASCII, as error_description.
func WWWAuthenticate(err error) string {
	h := `Bearer realm="` + Realm + `"`
	if err == nil || IsNoToken(err) {
		return h
	}
	var code string
	switch carnet.ErrorCode(err) {
	case carnet.EUNAUTHORIZED:
		code = "invalid_token"
	case carnet.EINVALID:
		code = "invalid_request"
	case carnet.EFORBIDDEN:
		code = "insufficient_scope"
	default:
		return h
	}
	h += `, error="` + code + `"`
	if d := quotable(carnet.ErrorMessage(err)); d != "" {
		h += `, error_description="` + d + `"`
	}
	var se scopeError
	if errors.As(err, &se) {
		if s := quotable(se.scope); s != "" {
			h += `, scope="` + s + `"`
		}
	}
	return h
}

// asciiFold maps the accented letters of French to ASCII.
var asciiFold = strings.NewReplacer(
	"à", "a", "â", "a", "ä", "a", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ÿ", "y",
	"À", "A", "Â", "A", "Ç", "C", "É", "E", "È", "E", "Ê", "E", "Ë", "E", "Î", "I",
	"Ï", "I", "Ô", "O", "Ù", "U", "Û", "U", "Ü", "U", "œ", "oe", "Œ", "OE", "æ", "ae",
	"’", "'", "«", "'", "»", "'", "\u00a0", " ", "\u202f", " ",
)

// quotable returns s folded to the characters RFC 6750 allows in error_description and scope
// (%x20-21 / %x23-5B / %x5D-7E): accents folded, anything else dropped, at most 200 bytes.
func quotable(s string) string {
	s = asciiFold.Replace(s)
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}
