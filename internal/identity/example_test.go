package identity_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
)

// Example_activation shows how the service checks an activation: the limiter first, then every
// secret compared in constant time with no early return, then Fail or Succeed, and one generic
// answer whatever was wrong.
func Example_activation() {
	key := bytes.Repeat([]byte{0x42}, 32) // the server's code key, from configuration
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	limits := identity.DefaultAccountLimits()

	// What enrolment stored for the person (patient ID "p-1"): keyed hashes only.
	code := identity.NewActivationCode()
	storedCode := identity.CodeHash(key, identity.PurposeActivation, "p-1", code)
	storedSerial := identity.CodeHash(key, identity.PurposeVitaleSerial, "p-1", "123456789")
	expires := identity.Expiry(now, identity.ActivationCodeTTL)
	var attempts identity.Attempts

	activate := func(typedCode, typedSerial string) error {
		if ok, retry := limits.Allow(attempts, now); !ok {
			return identity.TooManyAttempts(retry)
		}
		normalized, wellFormed := identity.NormalizeActivationCode(typedCode)
		codeOK := identity.CodeMatches(key, identity.PurposeActivation, "p-1", normalized, storedCode)
		serialOK := identity.CodeMatches(key, identity.PurposeVitaleSerial, "p-1", typedSerial, storedSerial)
		if !wellFormed || !codeOK || !serialOK || identity.Expired(expires, now) {
			attempts = limits.Fail(attempts, now)
			return identity.ActivationFailed()
		}
		attempts = limits.Succeed(attempts)
		return nil
	}

	fmt.Println(carnet.ErrorMessage(activate("ABCD-EFGH-JKMN", "123456789")))
	fmt.Println(carnet.ErrorMessage(activate(identity.FormatActivationCode(code), "987654321")))
	for i := 0; i < 4; i++ {
		activate("nope", "nope")
	}
	fmt.Println(carnet.ErrorMessage(activate(identity.FormatActivationCode(code), "123456789")))
	now = now.Add(time.Minute)
	fmt.Println(activate(identity.FormatActivationCode(code), "123456789") == nil)
	// Output:
	// Les informations saisies ne permettent pas d'activer l'espace santé.
	// Les informations saisies ne permettent pas d'activer l'espace santé.
	// Trop de tentatives. Réessayez dans 1 minute.
	// true
}
