package carnet

import "time"

// Enrolment is what the insurer sent to a person before their space exists: a provisional code
// (kept only as a keyed hash) and the keyed hash of their Vitale card serial number. Without
// opposition the space is created automatically at AutoCreateAt.
type Enrolment struct {
	PatientID     string
	VitaleHash    []byte    // keyed hash of the Vitale card serial number
	CodeHash      []byte    // keyed hash of the provisional code; empty once used
	CodeExpiresAt time.Time // the provisional code is refused after this time
	AutoCreateAt  time.Time // zero once the space was created or refused
	Source        string    // where the person came from ("enroll:<file>:<line>", "operator", ...)
	OpposedAt     *time.Time
	ActivatedAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewEnrolment is one person enrolled in bulk: the patient (with its sealed NIR and index), their
// wrapped data key, their enrolment, the first event of their history (already linked: Seq 1)
// and their provisional code to send: either a message for the outbox, or the code alone, sealed,
// queued on the enrolment row (PendingCode) until the outbox worker makes it a message.
type NewEnrolment struct {
	Patient     *Patient
	Key         *DataKey
	Enrolment   *Enrolment
	Event       *AuditEvent
	Message     *OutboxMessage
	PendingCode []byte
}

// PendingCode is a provisional code waiting on its enrolment row to be sent (sealed by the
// service). Bulk enrolment queues codes this way: a few bytes per person instead of a whole
// message; the outbox worker turns them into messages a batch at a time (Tx.PendingCodes).
type PendingCode struct {
	PatientID string
	Sealed    []byte
}

// Second factors of an account.
const (
	FactorOTP     = "otp"     // a one-time code sent by email or SMS
	FactorTOTP    = "totp"    // an authenticator app
	FactorPasskey = "passkey" // a WebAuthn credential
)

// Account is how a patient signs in: the identifier they chose, their password hash, their
// confirmed contact for one-time codes and their optional stronger second factors.
type Account struct {
	PatientID     string
	Login         string // the chosen identifier, normalized (lower case), unique
	PasswordHash  string // argon2id, PHC format
	OTPChannel    string // "email" or "sms": where login codes go
	Email         string // confirmed email address ("" if none)
	Mobile        string // confirmed mobile number ("" if none)
	TOTPSealed    []byte // the TOTP secret, sealed; empty if no authenticator app
	TOTPLastStep  int64  // step of the last TOTP code accepted (replay guard)
	PasskeyHandle []byte // the WebAuthn user handle (random)
	PasswordSetAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Attempts is the stored failure record of one key (an account, a person or a client address).
type Attempts struct {
	Failures    int
	LastFailure time.Time
	LockedUntil time.Time
}

// OneTimeCode is a code sent to a person, kept only as a keyed hash.
type OneTimeCode struct {
	ID        string // the session or account it belongs to
	Purpose   string
	Hash      []byte
	Target    string // the email or mobile it was sent to
	ExpiresAt time.Time
	Failures  int
	CreatedAt time.Time
}

// Session states.
const (
	SessionActivation   = "activation"    // provisional code accepted; choosing credentials
	SessionVerify       = "verify"        // credentials chosen; confirming the contact
	SessionSecondFactor = "second-factor" // password accepted; waiting for the second factor
	SessionActive       = "active"        // signed in
)

// Session is a browser's session, stored under the SHA-256 of its token.
type Session struct {
	ID        []byte
	PatientID string
	State     string
	Factor    string // the second factor used ("" before)
	Data      []byte // state of a ceremony in progress (WebAuthn), opaque to the store
	CreatedAt time.Time
	LastSeen  time.Time
}

// Passkey is a WebAuthn credential of an account, stored as the identity package encodes it.
type Passkey struct {
	PatientID    string
	CredentialID []byte
	Data         []byte // JSON of passkey.Credential
	Name         string
	CreatedAt    time.Time
	LastUsedAt   time.Time
}
