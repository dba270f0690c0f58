package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"time"
)

// sessionTokenBytes is the entropy of a session token: 256 bits.
const sessionTokenBytes = 32

// NewSessionToken returns a new session token for the browser (32 random bytes in unpadded
// base64url, 43 characters, for a Secure, HttpOnly, SameSite cookie) and its ID for the server:
// the SHA-256 of the token's bytes. The server stores only the ID, so that a copy of the sessions
// table gives no usable token; it finds a session again with SessionID(token).
func NewSessionToken() (token string, id []byte) {
	raw := make([]byte, sessionTokenBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (it aborts the program instead)
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), sum[:]
}

// SessionID returns the ID under which the session of token is stored. ok is false for anything
// that NewSessionToken could not have produced (wrong length or alphabet); the server then
// treats the request as anonymous without a look-up.
func SessionID(token string) (id []byte, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(sessionTokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != sessionTokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// SessionTimes are the times the server keeps for each session.
type SessionTimes struct {
	Created  time.Time // when the user logged in
	LastSeen time.Time // last request seen (see SessionPolicy.Touch)
}

// SessionPolicy bounds the life of a session: it ends after Idle without a request, and after
// Absolute in any case. "Log out everywhere", a password change and closing the space delete
// every session row of the account; the policy only decides about sessions still stored.
type SessionPolicy struct {
	Idle     time.Duration
	Absolute time.Duration
}

// sessionClockSkew is how far in the future a stored time may lie (clocks of several replicas)
// before the session is taken as invalid.
const sessionClockSkew = time.Minute

// DefaultSessionPolicy returns 30 minutes idle and 12 hours absolute.
func DefaultSessionPolicy() SessionPolicy {
	return SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
}

// Valid reports whether a session with times s may still be used at now: created, seen within
// Idle, created within Absolute, and with no time later than now by more than a minute of clock
// skew. A zero or negative duration in the policy makes every session invalid.
func (p SessionPolicy) Valid(s SessionTimes, now time.Time) bool {
	if p.Idle <= 0 || p.Absolute <= 0 || s.Created.IsZero() || s.LastSeen.IsZero() {
		return false
	}
	limit := now.Add(sessionClockSkew)
	if s.Created.After(limit) || s.LastSeen.After(limit) {
		return false
	}
	return now.Sub(s.LastSeen) < p.Idle && now.Sub(s.Created) < p.Absolute
}

// Touch returns the times after a request at now: LastSeen moves forward, never back. The
// service may skip writing the result when LastSeen moved by less than a minute.
func (p SessionPolicy) Touch(s SessionTimes, now time.Time) SessionTimes {
	if now.After(s.LastSeen) {
		s.LastSeen = now
	}
	return s
}

// Expires returns when a session with times s stops being valid if no request comes: the
// earlier of LastSeen + Idle and Created + Absolute (for a cookie's Expires).
func (p SessionPolicy) Expires(s SessionTimes) time.Time {
	idle, abs := s.LastSeen.Add(p.Idle), s.Created.Add(p.Absolute)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// CSRFToken returns the anti-CSRF token of a session for its forms: the unpadded base64url of
// HMAC-SHA-256 under sessionSecret (a server secret of at least MinCodeKeyLen bytes; shorter
// panics) of the session ID. It is the same for the whole session and worthless for any other.
func CSRFToken(sessionSecret, sessionID []byte) string {
	mustKey(sessionSecret)
	m := hmac.New(sha256.New, sessionSecret)
	writeField(m, "carnet-csrf-v1")
	m.Write(sessionID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports, in constant time, whether token is the CSRF token of the session. An empty
// session ID (an anonymous request) never matches.
func CheckCSRF(sessionSecret, sessionID []byte, token string) bool {
	if len(sessionID) == 0 {
		return false
	}
	want := CSRFToken(sessionSecret, sessionID)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}
