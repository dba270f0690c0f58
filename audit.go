package carnet

import "time"

// Decision outcomes recorded in the audit log.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// AuditEvent is one entry of a patient's access history. Events of one patient form a hash chain:
// Seq counts from 1, PrevHash is the Hash of event Seq-1 (32 zero bytes for the first), and Hash
// covers every other field (internal/audit computes it).
type AuditEvent struct {
	ID              string
	PatientID       string
	Seq             int64
	Time            time.Time
	ActorKind       ActorKind
	ActorID         string
	ActorName       string
	ActorProfession Profession
	ActorStructure  string
	OnBehalfOf      string // a representative acting for the patient: the patient ID
	Action          string // "document.read", "document.deposit", ...
	TargetType      string // "document", "profile", "settings", ...
	TargetID        string
	Mode            AccessMode
	Decision        string // DecisionAllow or DecisionDeny
	Reason          string // the policy's reason code, or the emergency reason given
	RequestID       string
	PrevHash        []byte
	Hash            []byte
}

// AuditFilter selects events of one patient.
type AuditFilter struct {
	PatientID string
	ActorID   string
	Action    string
	// TargetType and TargetID select the events about one thing (a document); empty: any.
	TargetType string
	TargetID   string
	From, To   time.Time // zero: unbounded
	AfterSeq   int64     // events with Seq > AfterSeq
	Limit      int       // 0: no limit
	Desc       bool      // newest first
}

// AuditHead is the last link of a patient's chain.
type AuditHead struct {
	PatientID string
	Seq       int64
	Hash      []byte
}

// CheckpointRecord is a signed checkpoint of chain heads as stored (internal/audit encodes and
// signs Body).
type CheckpointRecord struct {
	ID   string
	Time time.Time
	Body []byte
}

// OutboxMessage is a notification waiting to be sent. It is written in the same transaction as
// the action it announces; a worker claims, sends and marks it.
type OutboxMessage struct {
	ID        string
	PatientID string
	Kind      string // "first_access", "action", "emergency", "activation_code", ...
	Channel   string // "email", "sms", "letter"
	Recipient string
	Subject   string
	Body      string
	// Secret is a code the message carries (a provisional or one-time code), sealed by the
	// service; Body holds the placeholder SecretPlaceholder where it goes. The worker reveals it
	// only to send, and the store forgets it once the message is sent.
	Secret         []byte
	IdempotencyKey string // unique: enqueuing the same key twice keeps one message
	Status         string // "pending", "sent", "failed"
	Attempts       int
	NextAttemptAt  time.Time
	ClaimedUntil   time.Time
	LastError      string
	CreatedAt      time.Time
	SentAt         *time.Time
}

// SecretPlaceholder marks where an outbox message's secret goes in its body.
const SecretPlaceholder = "{{code}}"

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed" // gave up after the maximum number of attempts
)

// DataKey is a patient's data-encryption key, wrapped by a master key.
type DataKey struct {
	PatientID   string
	Wrapped     []byte
	KEKID       string // ID of the master key that wraps it
	CreatedAt   time.Time
	DestroyedAt *time.Time // set when crypto-shredded; Wrapped is then empty
}
