// Package passkey lets a patient register passkeys (WebAuthn credentials) as a strong second
// factor and use one at login. It wraps github.com/go-webauthn/webauthn behind four calls that
// take and return bytes, so that the service layer owns storage, transactions and the clock.
//
// Like the rest of internal/identity it does no I/O, keeps no state and does not log: each call
// takes what it needs (the user, the stored credentials, the stored ceremony session, the
// browser's answer, the time) and returns what the service must persist.
//
// # Registration (the patient is logged in)
//
//  1. BeginRegistration(user, existing, now) returns options, sent to the page as JSON, and a
//     session, which the service keeps server-side (in the login session row, never in a cookie
//     the client can modify) for this one ceremony. The options exclude the credentials the
//     patient already has.
//  2. The page calls navigator.credentials.create({publicKey:
//     PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)}) and posts
//     credential.toJSON() back.
//  3. FinishRegistration(user, session, response, now) verifies it; the service deletes the
//     session whatever the outcome, stores the returned Credential (sealed, with a name the
//     patient chooses) with a unique index on its ID, and writes the audit entry.
//
// # Login (after the password)
//
// BeginLogin(user, credentials, now) and FinishLogin(user, credentials, session, response, now)
// follow the same pattern with navigator.credentials.get and parseRequestOptionsFromJSON.
// FinishLogin returns the used credential with its new sign count and LastUsedAt, which the
// service writes back in the transaction that creates the login session. The attempt limiter of
// package identity applies as for any other second factor.
//
// A session is single use: the service deletes it before (or in the same transaction as) calling
// a Finish function, so that a replayed answer finds no session. Nothing in this package can
// enforce that, since it keeps no state. A replayed assertion that does reach FinishLogin with the
// credential's stored sign count is refused anyway, unless the authenticator does not count
// (synced passkeys always send 0).
//
// # Refusals
//
// Every refused login (expired or foreign session, wrong challenge, origin or RP ID, unknown
// credential, bad signature, a sign count that did not increase) is a *carnet.Error with code
// EUNAUTHORIZED and the one message MsgRejected; the library's reason is wrapped for the log. A
// sign count that went backwards also wraps ErrCloneWarning, which deserves an audit entry: two
// copies of the private key may exist. A refused registration is EINVALID with MsgNotRegistered.
//
// # Identifiers
//
// User.Handle is the WebAuthn user handle, stored on the authenticator and readable by anyone
// holding it: make it with NewUserHandle once per account and store it, never derive it from
// the NIR, the patient ID or an e-mail address.
package passkey
