package carnet

import (
	"context"
	"io"
	"time"
)

// Store is the persistence of Carnet. Every use of it goes through a transaction: Update for
// writes, View for reads. Only the service layer (internal/service) and the store packages use
// it; handlers, jobs and CLI commands go through the service.
type Store interface {
	// Update runs fn in a read-write transaction, committed if fn returns nil and rolled back
	// otherwise. The transaction's clock (Tx.Now) is fixed once at its start.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction; write methods return an error.
	View(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Page bounds a listing: at most Limit rows (0: the store's default of 100, capped at 1000)
// after skipping Offset.
type Page struct {
	Limit  int
	Offset int
}

// PatientFilter selects patients.
type PatientFilter struct {
	RightsHolderID   string        // children of this parent
	Status           PatientStatus // "" for any
	CreatedBefore    time.Time     // zero: any
	BornBefore       time.Time     // zero: any; patients born strictly before this date
	WithRightsHolder bool          // only minors managed by a parent
	AfterID          string        // keyset pagination by ID
	Limit            int
}

// ProfessionalFilter selects professionals.
type ProfessionalFilter struct {
	StructureID string
	FamilyName  string // exact, case-insensitive
	AfterID     string
	Limit       int
}

// DocumentFilter selects documents of one patient.
type DocumentFilter struct {
	PatientID string
	Statuses  []DocStatus // empty: any status
	TypeCodes []string    // empty: any type
	Classes   []DocClass  // empty: any class
	AuthorID  string
	From, To  time.Time // on ServiceDate; zero: unbounded
	Page
}

// Tx is one transaction on the store. Methods that return a single record return an error with
// code ENOTFOUND when there is none.
type Tx interface {
	// Now is the transaction's clock, fixed once at its start (UTC, microsecond precision).
	Now() time.Time

	CreatePatient(ctx context.Context, p *Patient) error
	Patient(ctx context.Context, id string) (*Patient, error)
	PatientByNIRIndex(ctx context.Context, index []byte) (*Patient, error)
	UpdatePatient(ctx context.Context, p *Patient) error
	ListPatients(ctx context.Context, f PatientFilter) ([]*Patient, error)

	// Subject reads at once what a decision about a patient needs: the patient, their settings
	// (defaults if never set) and, for actorID, the directory entry, the emergency session on
	// this record and whether they accessed it before (an allowed event of theirs other than
	// finding the patient by INS, "patient.search"). ENOTFOUND if there is
	// no such patient.
	Subject(ctx context.Context, patientID, actorID string) (*Subject, error)
	// SubjectDocument is Subject with the patient's document documentID, read by the same query
	// (one round trip fewer on PostgreSQL): Subject.Document, nil when the patient has no
	// document by that ID.
	SubjectDocument(ctx context.Context, patientID, actorID, documentID string) (*Subject, error)

	CreateProfessional(ctx context.Context, p *Professional) error
	Professional(ctx context.Context, id string) (*Professional, error)
	ProfessionalByRPPS(ctx context.Context, rpps string) (*Professional, error)
	UpdateProfessional(ctx context.Context, p *Professional) error
	ListProfessionals(ctx context.Context, f ProfessionalFilter) ([]*Professional, error)

	CreateDocument(ctx context.Context, d *Document) error
	Document(ctx context.Context, patientID, id string) (*Document, error)
	// DocumentPatient returns the patient a document belongs to.
	DocumentPatient(ctx context.Context, documentID string) (string, error)
	UpdateDocument(ctx context.Context, d *Document) error
	ListDocuments(ctx context.Context, f DocumentFilter) ([]*Document, error)

	CreateProfileEntry(ctx context.Context, e *ProfileEntry) error
	ProfileEntry(ctx context.Context, patientID, id string) (*ProfileEntry, error)
	UpdateProfileEntry(ctx context.Context, e *ProfileEntry) error
	ListProfileEntries(ctx context.Context, patientID string, kind ProfileKind) ([]*ProfileEntry, error)

	// Wishes returns the patient's Entourage & Volontés (ENOTFOUND if never set).
	Wishes(ctx context.Context, patientID string) (*Wishes, error)
	PutWishes(ctx context.Context, w *Wishes) error

	// Settings returns the patient's settings, or DefaultSettings if never set.
	Settings(ctx context.Context, patientID string) (*PatientSettings, error)
	PutSettings(ctx context.Context, s *PatientSettings) error

	CreateConsent(ctx context.Context, c *Consent) error
	UpdateConsent(ctx context.Context, c *Consent) error
	// Consents lists a patient's consents, of one professional if professionalID is not empty.
	Consents(ctx context.Context, patientID, professionalID string) ([]*Consent, error)

	CreateBlock(ctx context.Context, b *Block) error
	UpdateBlock(ctx context.Context, b *Block) error
	Blocks(ctx context.Context, patientID string) ([]*Block, error)

	// PutEmergencySession opens (or replaces) a professional's emergency session on a record;
	// EmergencySession returns it (ENOTFOUND when there is none).
	PutEmergencySession(ctx context.Context, e *EmergencySession) error
	EmergencySession(ctx context.Context, patientID, professionalID string) (*EmergencySession, error)

	CreateDataKey(ctx context.Context, k *DataKey) error
	DataKey(ctx context.Context, patientID string) (*DataKey, error)
	UpdateDataKey(ctx context.Context, k *DataKey) error
	// DataKeysNotWrappedBy lists up to limit live keys whose KEKID differs from kekID, for
	// rotation, after patient ID afterPatientID.
	DataKeysNotWrappedBy(ctx context.Context, kekID, afterPatientID string, limit int) ([]*DataKey, error)

	// AuditHead returns the last link of the patient's chain (Seq 0 and a nil Hash when the chain
	// is empty) and locks it until the transaction ends. (A chain started by EnrolBatch has no
	// head row until its next append; its head is its last event.)
	AuditHead(ctx context.Context, patientID string) (AuditHead, error)
	// AppendAudit stores an event whose Seq, PrevHash and Hash are set, and moves the head.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AppendLinked links e to the head of its patient's chain (sets its Seq, PrevHash and Hash
	// as audit.Link does, creating the chain if it has none), stores it and moves the head, the
	// head locked until the transaction ends. It is the one-step form of AuditHead, audit.Link
	// and AppendAudit (PostgreSQL does it in one statement, and sends it with the transaction's
	// next statement or at its commit: e's link is set by the time the transaction commits, and
	// the transaction's later statements see the event).
	AppendLinked(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// AuditHeadsChangedSince lists the chain heads that moved after since (by the time of their
	// last event), ordered by patient, after afterPatientID, for signed checkpoints. A chain
	// started by EnrolBatch enters them with its next event.
	AuditHeadsChangedSince(ctx context.Context, since time.Time, afterPatientID string, limit int) ([]AuditHead, error)
	// AuditPatients lists patient IDs that have a chain, after afterPatientID, for verification.
	AuditPatients(ctx context.Context, afterPatientID string, limit int) ([]string, error)

	// CreateCheckpoint stores a signed checkpoint; Checkpoints lists them, oldest first, after t.
	CreateCheckpoint(ctx context.Context, c *CheckpointRecord) error
	Checkpoints(ctx context.Context, after time.Time, limit int) ([]*CheckpointRecord, error)

	// EnqueueOutbox adds a message; a second message with the same IdempotencyKey is ignored.
	EnqueueOutbox(ctx context.Context, m *OutboxMessage) error
	// ClaimOutbox leases up to limit due pending messages until leaseUntil; concurrent workers
	// never claim the same message while its lease runs.
	ClaimOutbox(ctx context.Context, limit int, leaseUntil time.Time) ([]*OutboxMessage, error)
	// UpdateOutbox saves the status, attempts, next attempt, error and sent time of a message,
	// and its Secret (a sent message keeps none).
	UpdateOutbox(ctx context.Context, m *OutboxMessage) error
	ListOutbox(ctx context.Context, patientID string) ([]*OutboxMessage, error)

	// EnrolBatch stores people enrolled in bulk: each patient, their NIR index, data key,
	// enrolment, first audit event (Seq 1, the start of a new chain, whose head row the next
	// append creates) and message, in multi-row statements. ECONFLICT if a NIR is already enrolled (check with PatientsByNIRIndex first).
	EnrolBatch(ctx context.Context, batch []*NewEnrolment) error
	// PatientsByNIRIndex maps the indexes that are enrolled (as strings of their bytes) to their
	// patient IDs.
	PatientsByNIRIndex(ctx context.Context, indexes [][]byte) (map[string]string, error)
	CreateEnrolment(ctx context.Context, e *Enrolment) error
	Enrolment(ctx context.Context, patientID string) (*Enrolment, error)
	UpdateEnrolment(ctx context.Context, e *Enrolment) error
	// EnrolmentsDue lists up to limit enrolments whose AutoCreateAt is set and not after t.
	EnrolmentsDue(ctx context.Context, t time.Time, limit int) ([]*Enrolment, error)
	// PendingCodes lists up to limit codes queued on enrolment rows (NewEnrolment.PendingCode),
	// in patient order, locked until the transaction ends (concurrent workers skip them).
	PendingCodes(ctx context.Context, limit int) ([]PendingCode, error)
	// ClearPendingCode removes the code queued on a patient's enrolment row (once it is a message).
	ClearPendingCode(ctx context.Context, patientID string) error

	// CreateAccount stores a new account: ECONFLICT if the login is taken or the patient has one.
	CreateAccount(ctx context.Context, a *Account) error
	Account(ctx context.Context, patientID string) (*Account, error)
	AccountByLogin(ctx context.Context, login string) (*Account, error)
	UpdateAccount(ctx context.Context, a *Account) error
	DeleteAccount(ctx context.Context, patientID string) error

	// Attempts returns the failure record of a key (zero when it never failed); PutAttempts
	// saves it (a zero record deletes it).
	Attempts(ctx context.Context, key string) (Attempts, error)
	PutAttempts(ctx context.Context, key string, a Attempts) error

	// PutOneTimeCode stores (or replaces) the code of an owner and purpose.
	PutOneTimeCode(ctx context.Context, c *OneTimeCode) error
	OneTimeCode(ctx context.Context, id, purpose string) (*OneTimeCode, error)
	DeleteOneTimeCode(ctx context.Context, id, purpose string) error

	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id []byte) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, id []byte) error
	// DeleteSessions ends every session of a patient and returns how many there were.
	DeleteSessions(ctx context.Context, patientID string) (int, error)

	CreatePasskey(ctx context.Context, p *Passkey) error
	Passkeys(ctx context.Context, patientID string) ([]*Passkey, error)
	UpdatePasskey(ctx context.Context, p *Passkey) error
	DeletePasskeys(ctx context.Context, patientID string) error

	// Counts returns how many patients, professionals and documents there are.
	Counts(ctx context.Context) (Counts, error)

	// Meta reads a system value (ENOTFOUND if unset); PutMeta writes it.
	Meta(ctx context.Context, key string) ([]byte, error)
	PutMeta(ctx context.Context, key string, value []byte) error
}

// BlobStore keeps encrypted document bodies. Put must be durable when it returns (an
// acknowledged write survives a crash) and must not replace an existing key.
type BlobStore interface {
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

// Counts are aggregate figures with no personal data.
type Counts struct {
	Patients      int64
	Professionals int64
	Documents     int64
}

// Subject is what Tx.Subject reads.
type Subject struct {
	Patient      *Patient
	Settings     *PatientSettings
	Professional *Professional     // nil when the actor is not in the directory
	Emergency    *EmergencySession // nil when the actor has none on this record
	Accessed     bool
	// For a professional actor (actorID given): their consents on this record and the record's
	// blocks, oldest first. Nil otherwise.
	Consents []*Consent
	Blocks   []*Block
	// The patient's wrapped data key; nil when the patient has none.
	DataKey *DataKey
	// The document asked of SubjectDocument; nil when there is none, and from Subject.
	Document *Document
}
