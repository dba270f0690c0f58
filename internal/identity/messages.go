package identity

import (
	"strconv"
	"time"

	"github.com/carnet-sante/carnet"
)

// User-facing answers of the account flows. They are deliberately vague: none tells which of
// the submitted values was wrong, nor whether an account or a person exists.
const (
	MsgActivationFailed = "Les informations saisies ne permettent pas d'activer l'espace santé."
	MsgLoginFailed      = "Identifiant ou mot de passe incorrect."
	MsgCodeRejected     = "Le code saisi est incorrect ou a expiré."
)

// ActivationFailed is the one answer to an activation or opposition whose NIR, provisional code
// or Vitale card serial number is wrong, unknown, malformed or expired (EUNAUTHORIZED).
func ActivationFailed() *carnet.Error {
	return carnet.Errorf(carnet.EUNAUTHORIZED, MsgActivationFailed)
}

// LoginFailed is the one answer to a wrong identifier or password (EUNAUTHORIZED).
func LoginFailed() *carnet.Error {
	return carnet.Errorf(carnet.EUNAUTHORIZED, MsgLoginFailed)
}

// CodeRejected is the answer to a wrong, used or expired one-time or TOTP code (EUNAUTHORIZED).
func CodeRejected() *carnet.Error {
	return carnet.Errorf(carnet.EUNAUTHORIZED, MsgCodeRejected)
}

// TooManyAttempts is the answer when Limits.Allow refuses (ERATELIMIT): it says how long to wait,
// rounded up to the second or the minute.
func TooManyAttempts(retryAfter time.Duration) *carnet.Error {
	return carnet.Errorf(carnet.ERATELIMIT, "Trop de tentatives. Réessayez dans %s.", frenchDelay(retryAfter))
}

// frenchDelay writes a delay for a person: "1 seconde", "45 secondes", "3 minutes", "1 heure".
func frenchDelay(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n > 1 {
			unit += "s"
		}
		return strconv.FormatInt(n, 10) + " " + unit
	}
	d = min(d, 1000*time.Hour) // no overflow below
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	if secs < 60 {
		return plural(secs, "seconde")
	}
	mins := (secs + 59) / 60
	if mins < 60 {
		return plural(mins, "minute")
	}
	h, m := mins/60, mins%60
	if m == 0 {
		return plural(h, "heure")
	}
	return plural(h, "heure") + " " + plural(m, "minute")
}
