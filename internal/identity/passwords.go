package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/carnet-sante/carnet"
)

// PasswordParams are the argon2id cost parameters (RFC 9106). They are written into every hash,
// so they can be raised later: VerifyPassword reports needsRehash for a hash made with other
// parameters, and the service then stores a new hash made while the password is at hand.
type PasswordParams struct {
	Memory  uint32 // memory in KiB (m)
	Time    uint32 // passes over the memory (t)
	Threads uint8  // lanes (p)
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // hash length in bytes
}

// Bounds accepted by Validate and by the PHC parser, so that a tampered hash in the database
// cannot make the server allocate gigabytes or spin for minutes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 64
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
)

// DefaultPasswordParams returns the production parameters: m = 64 MiB, t = 3, p = 2, a 16-byte
// salt and a 32-byte hash (the second recommendation of RFC 9106 §4, with p matched to a 2-core
// server). On the project's 2-core machine, idle, BenchmarkHashPasswordDefault measured 68.9 ms
// per hash, median of -count 5 (68.6–105 ms), and a verification costs the same. The two lanes keep
// both cores busy for that time: about a dozen password checks a second per replica at most.
// Each hash in flight holds 64 MiB: the service should bound concurrent hashes (a semaphore of
// 2–4 slots) and queue or refuse beyond.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// TestPasswordParams returns deliberately cheap parameters (m = 64 KiB, t = 1, p = 1) for tests
// and development fixtures. Never use them in production.
func TestPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p lies within the bounds this package accepts.
func (p PasswordParams) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("argon2id: p must be at least 1")
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2id: t must be within 1..%d", maxArgonTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory:
		return fmt.Errorf("argon2id: m must be within 8*p..%d KiB", maxArgonMemory)
	case p.SaltLen < minArgonSaltLen || p.SaltLen > maxArgonSaltLen:
		return fmt.Errorf("argon2id: salt length must be within %d..%d bytes", minArgonSaltLen, maxArgonSaltLen)
	case p.KeyLen < minArgonKeyLen || p.KeyLen > maxArgonKeyLen:
		return fmt.Errorf("argon2id: hash length must be within %d..%d bytes", minArgonKeyLen, maxArgonKeyLen)
	}
	return nil
}

// normalizePassword applies Unicode NFKC, as NIST SP 800-63B asks, so that "é" typed as one code
// point or as "e" + combining accent (macOS, some phone keyboards) gives the same hash.
func normalizePassword(password string) []byte {
	return []byte(norm.NFKC.String(password))
}

// HashPassword hashes password with argon2id and a fresh random salt, and returns it in the PHC
// string format: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded standard base64). The
// password is NFKC-normalized first. It does not judge the password: call CheckPasswordStrength
// before, when the user chooses it.
func HashPassword(password string, p PasswordParams) (string, error) {
	if err := p.Validate(); err != nil {
		return "", carnet.WrapErr("identity.HashPassword", carnet.EINTERNAL, err)
	}
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it aborts the program instead)
	key := argon2.IDKey(normalizePassword(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// VerifyPassword checks password against an encoded hash made by HashPassword, using the
// parameters written in the hash and a constant-time comparison. When the password matches and
// the hash was made with parameters other than current, needsRehash is true: the service should
// then store HashPassword(password, current). A hash that cannot be parsed is an EINTEGRITY
// error (the stored value is corrupt or of an unknown scheme), never a plain mismatch.
//
// For an unknown identifier the service should still call VerifyPassword, against a decoy hash
// made once at start-up with the current parameters, so that response times do not reveal which
// identifiers exist.
func VerifyPassword(password, encoded string, current PasswordParams) (ok, needsRehash bool, err error) {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, false, carnet.WrapErr("identity.VerifyPassword", carnet.EINTEGRITY, err)
	}
	got := argon2.IDKey(normalizePassword(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != current, nil
}

// phcB64 returns the PHC string format's base64: standard alphabet, no padding, and (Strict) no
// stray bits in the last character, so that one hash has one spelling.
func phcB64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, phcB64().EncodeToString(salt), phcB64().EncodeToString(key))
}

// parsePHC parses an argon2id PHC string strictly: only the canonical spelling that encodePHC
// writes is accepted (parameters in the order m, t, p, decimal without leading zeros), and every
// value must lie within the bounds of PasswordParams.Validate. Salt and key lengths are taken
// from the decoded values.
func parsePHC(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	fields := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, errors.New("argon2id: not a PHC string")
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("argon2id: unsupported algorithm %.20q", fields[1])
	}
	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return p, nil, nil, errors.New("argon2id: missing version")
	}
	if n, err := parseCanonicalUint(v, 32); err != nil || n != argon2.Version {
		return p, nil, nil, errors.New("argon2id: unsupported version")
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return p, nil, nil, errors.New("argon2id: parameters must be m, t, p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		raw, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return p, nil, nil, errors.New("argon2id: parameters must be m, t, p")
		}
		bits := 32
		if i == 2 {
			bits = 8
		}
		n, err := parseCanonicalUint(raw, bits)
		if err != nil {
			return p, nil, nil, fmt.Errorf("argon2id: bad parameter %s", strings.TrimSuffix(name, "="))
		}
		vals[i] = n
	}
	salt, err := decodePHCBase64(fields[4])
	if err != nil {
		return p, nil, nil, errors.New("argon2id: bad salt encoding")
	}
	key, err := decodePHCBase64(fields[5])
	if err != nil {
		return p, nil, nil, errors.New("argon2id: bad hash encoding")
	}
	p = PasswordParams{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.Validate(); err != nil {
		return PasswordParams{}, nil, nil, err
	}
	return p, salt, key, nil
}

// decodePHCBase64 decodes unpadded standard base64, refusing the line breaks that the decoder
// would otherwise skip: only the spelling that encodePHC writes is accepted.
func decodePHCBase64(s string) ([]byte, error) {
	b, err := phcB64().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if phcB64().EncodeToString(b) != s {
		return nil, errors.New("non-canonical base64")
	}
	return b, nil
}

// parseCanonicalUint parses a decimal number written without sign or leading zeros.
func parseCanonicalUint(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(n, 10) != s {
		return 0, errors.New("non-canonical number")
	}
	return n, nil
}
