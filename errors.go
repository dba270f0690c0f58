// Package carnet holds Carnet's domain: the types of a personal health record (patients,
// professionals, documents, the medical profile, consent, audit events), their validation rules,
// and the interfaces that the adapters implement. It imports the standard library only.
package carnet

import (
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary carries one of them; the HTTP layer
// maps them to status codes in one place.
const (
	EINVALID      = "invalid"      // bad input: the message says what is wrong
	ENOTFOUND     = "not_found"    // no such record (or the caller may not know that it exists)
	EFORBIDDEN    = "forbidden"    // the policy refused
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	ECONFLICT     = "conflict"     // the record already exists or changed meanwhile
	ETOOLARGE     = "too_large"    // a body over the configured limit
	ERATELIMIT    = "rate_limited" // too many attempts
	EINTEGRITY    = "integrity"    // stored data failed its integrity check (hash, tag, chain)
	EKEY          = "key"          // a missing, wrong or destroyed key
	EUNAVAILABLE  = "unavailable"  // a dependency is down
	EINTERNAL     = "internal"     // anything else: a bug or an unexpected failure
)

// Error is Carnet's one error type. Message is safe to show to a user (in French); Op names the
// operation for logs; Err is the underlying cause, never shown to users.
type Error struct {
	Code    string
	Message string
	Op      string
	Err     error
}

func (e *Error) Error() string {
	s := e.Code
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapErr wraps cause with an operation name and a code; the message stays empty so that the
// user sees the generic text for the code.
func WrapErr(op, code string, cause error) *Error {
	return &Error{Code: code, Op: op, Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the first non-empty message in its chain
// of *Error, or a generic French text for its code. Internal causes are never returned.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ce, ok := e.(*Error); ok && ce.Message != "" {
			return ce.Message
		}
	}
	switch ErrorCode(err) {
	case EINVALID:
		return "requête invalide"
	case ENOTFOUND:
		return "introuvable"
	case EFORBIDDEN:
		return "accès refusé"
	case EUNAUTHORIZED:
		return "authentification requise"
	case ECONFLICT:
		return "conflit avec l'état actuel"
	case ETOOLARGE:
		return "contenu trop volumineux"
	case ERATELIMIT:
		return "trop de tentatives, réessayez plus tard"
	case EINTEGRITY:
		return "donnée altérée détectée"
	case EKEY:
		return "clé de chiffrement indisponible"
	case EUNAVAILABLE:
		return "service momentanément indisponible"
	}
	return "erreur interne"
}

// ValidationError collects the problems of one value so that a caller sees all of them at once.
type ValidationError struct {
	Problems []string
}

func (v *ValidationError) add(format string, args ...any) {
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

// err returns nil when there is no problem, else an *Error with code EINVALID.
func (v *ValidationError) err(what string) error {
	if len(v.Problems) == 0 {
		return nil
	}
	msg := what + " invalide : "
	for i, p := range v.Problems {
		if i > 0 {
			msg += " ; "
		}
		msg += p
	}
	return &Error{Code: EINVALID, Message: msg}
}
