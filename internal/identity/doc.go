// Package identity holds the pure security building blocks of patient accounts: password
// hashing (argon2id) and strength rules, provisional activation codes and one-time codes stored
// as keyed hashes, an attempt limiter with growing delays, TOTP second factors, session tokens
// with idle and absolute timeouts, CSRF tokens, and masks for identifiers in logs.
//
// Nothing here does I/O, keeps state or logs: each function takes what it needs (keys, times,
// stored records) and returns what the service layer must persist. The service owns the
// transactions, the clock, the keys and the audit trail.
//
// # Secrets at rest
//
// No code, token or password is stored as typed. Passwords are argon2id hashes (HashPassword).
// Provisional codes, one-time codes and the Vitale card serial number are HMAC-SHA-256 keyed
// hashes bound to a purpose and a subject (CodeHash): use the patient's or account's internal
// ID as subject, never the NIR. Session cookies hold a token whose SHA-256 is the stored ID
// (NewSessionToken, SessionID). Neither identifiers nor codes appear in logs: when a log line
// must mention one, use MaskNIR, MaskEmail or MaskPhone.
//
// # Checking a secret
//
// Every check of a code or a password follows one order, for the account's (or the person's)
// Attempts and for the client address's Attempts, both loaded in the transaction:
//
//  1. Limits.Allow on both records. If either refuses, answer TooManyAttempts(retryAfter)
//     without looking at the submitted secret: after the limit even the right code is refused
//     until the delay has passed.
//  2. Compare in constant time: VerifyPassword, CodeMatches (and Expired on the code's expiry),
//     VerifyTOTP. Do the same amount of work whatever is missing: for an unknown identifier
//     verify against a decoy hash, for an unknown NIR compare the code against a dummy hash.
//  3. On failure, Limits.Fail on both records and store them; on success, Limits.Succeed on the
//     account's record (the address's record is left to expire by Limits.Reset), then act:
//     delete a one-time code once used, store VerifyTOTP's step, create the session.
//
// A one-time code should also be deleted after a few wrong tries (five, say), so that a new one
// must be requested; sending codes is itself limited by the same Limits keyed per account.
//
// # Activation and opposition
//
// Provisional code + NIR + Vitale card serial number, all three checked (no early return), then
// one answer for any mismatch: ActivationFailed, "Les informations saisies ne permettent pas
// d'activer l'espace santé." The answer never says which of the three was wrong, nor whether
// the NIR is known; a malformed code (NormalizeActivationCode not ok) gets the same answer. The
// person then chooses an identifier and a password (CheckPasswordStrength with the identifier,
// names and birth date as context, then HashPassword), and confirms an email address or a
// mobile number with a one-time code (NewOTP, PurposeVerifyEmail or PurposeVerifyMobile).
// Opposition uses the same checks with the code's purpose PurposeActivation.
//
// # Login
//
// Identifier + password (VerifyPassword; on needsRehash store a new hash), then a second factor:
// a one-time code sent by email or SMS at every login (NewOTP, PurposeLogin, OTPTTL), or the
// stronger ones, a TOTP app (VerifyTOTP) or a passkey (not in this package yet). A wrong
// identifier and a wrong password get the same LoginFailed answer. Then NewSessionToken; every
// request checks SessionPolicy.Valid, then Touch; forms carry CSRFToken and are checked with
// CheckCSRF. "Log out everywhere", a password change and closing the space delete all the
// account's sessions.
package identity
