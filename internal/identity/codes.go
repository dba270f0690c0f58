package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"strings"
	"time"
)

// ActivationAlphabet is the alphabet of provisional activation codes: upper-case letters and
// digits without the easily confused 0, O, 1, I and L (31 symbols, so a 12-character code
// carries 12 × log2(31) ≈ 59 bits).
const ActivationAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// ActivationCodeLength is the number of characters of a provisional code, without separators.
const ActivationCodeLength = 12

// Code purposes: CodeHash binds each code to one of them, so that a code sent for one purpose
// never validates another.
const (
	PurposeActivation   = "activation"    // the provisional code (activation or opposition)
	PurposeLogin        = "login"         // the one-time code sent at every login
	PurposeVerifyEmail  = "verify-email"  // confirmation of an email address
	PurposeVerifyMobile = "verify-mobile" // confirmation of a mobile number
	PurposeVitaleSerial = "vitale-serial" // the Vitale card serial number, kept as a keyed hash
)

// Default code lifetimes; the service may choose others.
const (
	ActivationCodeTTL = 90 * 24 * time.Hour // a provisional code sent by letter
	OTPTTL            = 10 * time.Minute    // a one-time code sent by email or SMS
)

// MinCodeKeyLen is the shortest key accepted by CodeHash, CSRFToken and their checks (256 bits).
const MinCodeKeyLen = 32

// NewActivationCode returns a new provisional activation code: ActivationCodeLength characters
// drawn uniformly from ActivationAlphabet with crypto/rand, in canonical form (no separators).
// Show it with FormatActivationCode; store only CodeHash of it.
func NewActivationCode() string {
	code, err := newActivationCode(rand.Reader)
	if err != nil {
		panic("identity: crypto/rand failed: " + err.Error()) // unreachable: crypto/rand.Reader does not fail
	}
	return code
}

func newActivationCode(r io.Reader) (string, error) {
	out := make([]byte, 0, ActivationCodeLength)
	buf := make([]byte, 32)
	for len(out) < ActivationCodeLength {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			// Rejection sampling: 5 random bits give 0..31; 31 is dropped so that each of the
			// 31 symbols has the same chance.
			if v := b & 31; int(v) < len(ActivationAlphabet) && len(out) < ActivationCodeLength {
				out = append(out, ActivationAlphabet[v])
			}
		}
	}
	return string(out), nil
}

// FormatActivationCode writes a canonical code in groups of four for letters and pages:
// "ABCDEFGHJKMN" → "ABCD-EFGH-JKMN".
func FormatActivationCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}

// NormalizeActivationCode turns what a person typed into the canonical code: case is ignored,
// and so are spaces, tabs, non-breaking spaces and dashes. ok is false when the result is not
// ActivationCodeLength characters of ActivationAlphabet. The service must not tell the user
// which field was wrong: it answers a malformed code with the same generic error as a wrong one
// (see the package documentation).
func NormalizeActivationCode(s string) (code string, ok bool) {
	if len(s) > 64 {
		return "", false
	}
	out := make([]byte, 0, ActivationCodeLength)
	for _, r := range s {
		switch r {
		case ' ', '\t', '\u00a0', '\u202f', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r >= 0x80 || !strings.ContainsRune(ActivationAlphabet, r) || len(out) == ActivationCodeLength {
			return "", false
		}
		out = append(out, byte(r))
	}
	if len(out) != ActivationCodeLength {
		return "", false
	}
	return string(out), true
}

// NewOTP returns a one-time code of 6 decimal digits, uniform over 000000–999999 (rejection
// sampling, no modulo bias), from crypto/rand. Store only CodeHash of it.
func NewOTP() string {
	code, err := newOTP(rand.Reader)
	if err != nil {
		panic("identity: crypto/rand failed: " + err.Error()) // unreachable: crypto/rand.Reader does not fail
	}
	return code
}

// otpLimit is the largest multiple of 10^6 that fits in 32 bits: values at or above it are
// drawn again so that every code is equally likely.
const otpLimit = (1 << 32) / 1_000_000 * 1_000_000

func newOTP(r io.Reader) (string, error) {
	var buf [4]byte
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", err
		}
		if v := binary.BigEndian.Uint32(buf[:]); v < otpLimit {
			return formatOTP(v % 1_000_000), nil
		}
	}
}

func formatOTP(v uint32) string {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}

// NormalizeOTP removes the spaces and dashes a person may type in a one-time code ("123 456")
// and reports whether 6 digits remain.
func NormalizeOTP(s string) (code string, ok bool) {
	if len(s) > 32 {
		return "", false
	}
	out := make([]byte, 0, 6)
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\u00a0' || r == '\u202f':
		case r >= '0' && r <= '9' && len(out) < 6:
			out = append(out, byte(r))
		default:
			return "", false
		}
	}
	return string(out), len(out) == 6
}

// CodeHash returns HMAC-SHA-256 under key of the purpose, the subject and the code, each
// length-prefixed so that no two different triples give the same input. Store it instead of the
// code: a database leak does not reveal codes, and a code for one subject (use the account or
// patient ID, never the NIR) or one purpose never matches another's. key is a server secret of
// at least MinCodeKeyLen bytes; CodeHash panics on a shorter one, a configuration error that the
// service should catch at start-up. The code must be in canonical form (NormalizeActivationCode,
// NormalizeOTP).
func CodeHash(key []byte, purpose, subject, code string) []byte {
	mustKey(key)
	m := hmac.New(sha256.New, key)
	writeField(m, "carnet-code-v1")
	writeField(m, purpose)
	writeField(m, subject)
	writeField(m, code)
	return m.Sum(nil)
}

// CodeMatches reports, in constant time, whether code is the one whose CodeHash for purpose and
// subject is stored. An empty stored value never matches.
func CodeMatches(key []byte, purpose, subject, code string, stored []byte) bool {
	return hmac.Equal(CodeHash(key, purpose, subject, code), stored)
}

// Expiry returns when a code issued at issued with lifetime ttl stops being valid.
func Expiry(issued time.Time, ttl time.Duration) time.Time { return issued.Add(ttl) }

// Expired reports whether a code whose expiry is expiresAt is no longer valid at now. A zero
// expiry counts as expired.
func Expired(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || !now.Before(expiresAt)
}

func writeField(w io.Writer, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	w.Write(n[:])
	io.WriteString(w, s)
}

func mustKey(key []byte) {
	if len(key) < MinCodeKeyLen {
		panic("identity: HMAC key shorter than 32 bytes")
	}
}
