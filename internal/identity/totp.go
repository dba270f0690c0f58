package identity

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/carnet-sante/carnet"
)

// TOTP settings: the ones every authenticator app understands (RFC 6238 with SHA-1, 6 digits,
// 30-second steps), a 160-bit secret, and one step of clock drift accepted either way.
const (
	TOTPIssuer = "Carnet"
	TOTPPeriod = 30 // seconds
	totpSkew   = 1  // steps
	totpDigits = otp.DigitsSix
	totpSecret = 20 // bytes
)

// NewTOTP creates a TOTP secret for an authenticator app. It returns the secret (base32, to store
// sealed and to show for manual entry) and the otpauth:// URL to show as a QR code; account is
// the label the app displays: use the chosen identifier, never the NIR. The secret becomes the
// account's second factor only once the user has typed a valid code from the app (VerifyTOTP).
func NewTOTP(issuer, account string) (secret, otpauthURL string, err error) {
	if issuer == "" || account == "" {
		return "", "", carnet.Errorf(carnet.EINVALID, "émetteur et compte requis pour l'application d'authentification")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      TOTPPeriod,
		SecretSize:  totpSecret,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", carnet.WrapErr("identity.NewTOTP", carnet.EINTERNAL, err)
	}
	return key.Secret(), key.URL(), nil
}

// TOTPStep returns the time step (number of TOTPPeriod intervals since the Unix epoch) at t.
func TOTPStep(t time.Time) int64 {
	return floorDiv(t.Unix(), TOTPPeriod)
}

// VerifyTOTP checks code (6 digits; spaces and dashes are ignored) against secret at now,
// accepting the current step and one step either way. To refuse replays it accepts only a step
// greater than lastStep, the step of the last code the account used (0 if none): on success it
// returns the matched step, which the service stores as the new lastStep in the same transaction
// that accepts the login. Each candidate code is compared in constant time and all candidates
// are always computed. A malformed secret or code simply does not match.
func VerifyTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code, valid := NormalizeOTP(code)
	if !valid {
		return 0, false
	}
	current := TOTPStep(now)
	opts := totp.ValidateOpts{Period: TOTPPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*TOTPPeriod, 0), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep && s > step {
			step, ok = s, true
		}
	}
	return step, ok
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
