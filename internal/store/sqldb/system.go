package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
)

// CreateDataKey stores a patient's wrapped data key.
func (tx *Tx) CreateDataKey(ctx context.Context, k *carnet.DataKey) error {
	k.CreatedAt = tx.now
	_, err := tx.exec(ctx, "store.CreateDataKey", `INSERT INTO data_keys (patient_id, wrapped, kek_id, created_at, destroyed_at)
		VALUES (?, ?, ?, ?, ?)`, k.PatientID, k.Wrapped, k.KEKID, micros(k.CreatedAt), nullMicros(k.DestroyedAt))
	return err
}

func scanDataKey(s scanner) (*carnet.DataKey, error) {
	var k carnet.DataKey
	var created int64
	var destroyed sql.NullInt64
	if err := s.Scan(&k.PatientID, &k.Wrapped, &k.KEKID, &created, &destroyed); err != nil {
		return nil, err
	}
	k.CreatedAt, k.DestroyedAt = fromMicros(created), fromNullMicros(destroyed)
	return &k, nil
}

const dataKeyCols = `patient_id, wrapped, kek_id, created_at, destroyed_at`

// DataKey returns a patient's wrapped data key (destroyed ones included, with empty Wrapped).
func (tx *Tx) DataKey(ctx context.Context, patientID string) (*carnet.DataKey, error) {
	k, err := scanDataKey(tx.queryRow(ctx, `SELECT `+dataKeyCols+` FROM data_keys WHERE patient_id = ?`, patientID))
	return k, tx.db.wrap("store.DataKey", err)
}

// UpdateDataKey saves a re-wrapped or destroyed key. Destroying empties the wrapped bytes.
func (tx *Tx) UpdateDataKey(ctx context.Context, k *carnet.DataKey) error {
	if k.DestroyedAt != nil {
		k.Wrapped = []byte{}
	}
	return tx.execOne(ctx, "store.UpdateDataKey", `UPDATE data_keys SET wrapped = ?, kek_id = ?, destroyed_at = ?
		WHERE patient_id = ?`, k.Wrapped, k.KEKID, nullMicros(k.DestroyedAt), k.PatientID)
}

// DataKeysNotWrappedBy lists live keys wrapped by another master key than kekID.
func (tx *Tx) DataKeysNotWrappedBy(ctx context.Context, kekID, afterPatientID string, n int) ([]*carnet.DataKey, error) {
	const op = "store.DataKeysNotWrappedBy"
	rows, err := tx.query(ctx, op, `SELECT `+dataKeyCols+` FROM data_keys
		WHERE kek_id <> ? AND destroyed_at IS NULL AND patient_id > ? ORDER BY patient_id LIMIT ?`,
		kekID, afterPatientID, limit(n, 100))
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanDataKey)
}

// AuditHead returns and locks the head of a patient's chain: its last event's seq and hash.
//
// Bulk enrolment starts its chains without a head row (EnrolBatch): a chain's head is its last
// event, and the row is what later appends lock and move. A write transaction that finds no row
// creates it, from the last event or empty for a new chain, then reads it locked; a read-only
// one reads the last event.
func (tx *Tx) AuditHead(ctx context.Context, patientID string) (carnet.AuditHead, error) {
	const op = "store.AuditHead"
	h := carnet.AuditHead{PatientID: patientID}
	lock := tx.db.dialect.LockRow
	if tx.readOnly {
		lock = ""
	}
	read := func() error {
		return tx.queryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE patient_id = ?`+lock, patientID).Scan(&h.Seq, &h.Hash)
	}
	err := read()
	if err == sql.ErrNoRows && tx.readOnly {
		err = tx.queryRow(ctx, `SELECT seq, hash FROM audit_events WHERE patient_id = ? ORDER BY seq DESC LIMIT 1`,
			patientID).Scan(&h.Seq, &h.Hash)
	} else if err == sql.ErrNoRows {
		if err := tx.createHead(ctx, op, patientID); err != nil {
			return h, err
		}
		err = read()
	}
	if err == sql.ErrNoRows {
		return h, nil
	}
	if len(h.Hash) == 0 {
		h.Hash = nil
	}
	return h, tx.db.wrap(op, err)
}

// createHead creates the head row of a chain that has none: from its last event (a chain
// started by bulk enrolment), else empty (a new chain), so that concurrent appends serialize on
// it. A concurrent creator makes it a no-op. The row's updated_at is its event's time: the head
// enters the next signed checkpoint when an append moves it.
func (tx *Tx) createHead(ctx context.Context, op, patientID string) error {
	if _, err := tx.exec(ctx, op, `INSERT INTO audit_heads (patient_id, seq, hash, updated_at)
		SELECT patient_id, seq, hash, at FROM audit_events WHERE patient_id = ? ORDER BY seq DESC LIMIT 1
		ON CONFLICT (patient_id) DO NOTHING`, patientID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, op, `INSERT INTO audit_heads (patient_id, seq, hash) VALUES (?, 0, ?)
		ON CONFLICT (patient_id) DO NOTHING`, patientID, []byte{})
	return err
}

const auditCols = `patient_id, seq, event_id, at, actor_kind, actor_id, actor_name, actor_profession, actor_structure,
	on_behalf_of, action, target_type, target_id, mode, decision, reason, request_id, prev_hash, hash`

// AppendAudit stores a linked event and moves the chain head. The head must be the event's
// predecessor: a stale head (a concurrent append) fails with ECONFLICT.
func (tx *Tx) AppendAudit(ctx context.Context, e *carnet.AuditEvent) error {
	const op = "store.AppendAudit"
	if e.Seq < 1 || len(e.Hash) == 0 || len(e.PrevHash) == 0 {
		return carnet.Errorf(carnet.EINVALID, "événement d'audit non chaîné")
	}
	if _, err := tx.exec(ctx, op, `INSERT INTO audit_events (`+auditCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.PatientID, e.Seq, e.ID, micros(e.Time), string(e.ActorKind), e.ActorID, e.ActorName, string(e.ActorProfession),
		e.ActorStructure, e.OnBehalfOf, e.Action, e.TargetType, e.TargetID, string(e.Mode), e.Decision, e.Reason,
		e.RequestID, e.PrevHash, e.Hash); err != nil {
		return err
	}
	res, err := tx.exec(ctx, op, `UPDATE audit_heads SET seq = ?, hash = ?, updated_at = ? WHERE patient_id = ? AND seq = ?`,
		e.Seq, e.Hash, micros(tx.now), e.PatientID, e.Seq-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &carnet.Error{Code: carnet.ECONFLICT, Op: op, Message: "la chaîne d'audit a changé entre-temps"}
	}
	return nil
}

// AppendLinked links e to its chain's head, stores it and moves the head. Where the engine
// hashes (PostgreSQL), one statement locks the head, computes the link with sha256() from
// audit.HashParts, moves the head and inserts the event: one round trip, and the head's lock is
// held only from that statement to the commit. Elsewhere it reads the locked head, links in Go
// and appends.
func (tx *Tx) AppendLinked(ctx context.Context, e *carnet.AuditEvent) error {
	const op = "store.AppendLinked"
	if !tx.db.dialect.SQLHash {
		head, err := tx.AuditHead(ctx, e.PatientID)
		if err != nil {
			return err
		}
		audit.Link(e, head)
		return tx.AppendAudit(ctx, e)
	}
	if tx.readOnly {
		return &carnet.Error{Code: carnet.EINTERNAL, Op: op, Err: errors.New("write in a read-only transaction")}
	}
	if tx.conn != nil && tx.tx == nil && tx.pending == nil {
		// LazyBegin: sent before the transaction's next statement, or alone at its commit.
		tx.pending = e
		return nil
	}
	return tx.appendLinkedNow(ctx, e)
}

// errNoHead: the chain has no head row, which an append sent alone cannot create.
var errNoHead = errors.New("audit chain without a head row")

// appendLinkedNow sends AppendLinked's statement.
func (tx *Tx) appendLinkedNow(ctx context.Context, e *carnet.AuditEvent) error {
	const op = "store.AppendLinked"
	pre, post := audit.HashParts(e)
	for attempt := 0; attempt < 2; attempt++ {
		var seq int64
		var prev, hash []byte
		err := tx.queryRow(ctx, appendLinkedSQL, e.PatientID, audit.ZeroHash(), pre, post, micros(tx.now), e.PatientID,
			e.PatientID, e.ID, micros(e.Time), string(e.ActorKind), e.ActorID, e.ActorName, string(e.ActorProfession),
			e.ActorStructure, e.OnBehalfOf, e.Action, e.TargetType, e.TargetID, string(e.Mode), e.Decision, e.Reason,
			e.RequestID).Scan(&seq, &prev, &hash)
		if err == sql.ErrNoRows && tx.direct {
			return errNoHead
		}
		if err == sql.ErrNoRows && attempt == 0 {
			// No head row: a new chain, or one started by bulk enrolment. Create it, then link.
			if err := tx.createHead(ctx, op, e.PatientID); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return tx.db.wrap(op, err)
		}
		e.Seq, e.PrevHash, e.Hash = seq, prev, hash
		// Sent alone (tx.direct), the event is already committed when this fails: the request
		// fails all the same, and chain verification reports the event.
		if !bytes.Equal(audit.Hash(e), hash) {
			return &carnet.Error{Code: carnet.EINTEGRITY, Op: op, Message: "le chaînage calculé par la base diffère"}
		}
		return nil
	}
	return &carnet.Error{Code: carnet.EINTERNAL, Op: op, Message: "tête de chaîne introuvable"}
}

// appendLinkedSQL is AppendLinked's statement for an engine with sha256(): old locks the head,
// hashed links the event (the seq's length-prefixed decimal spelled as audit.Hash writes it),
// moved advances the head, and the event is inserted with its link.
const appendLinkedSQL = `WITH old AS (
		SELECT seq, hash FROM audit_heads WHERE patient_id = ? FOR UPDATE
	), linked AS (
		SELECT seq + 1 AS seq, CASE WHEN octet_length(hash) = 0 THEN ?::bytea ELSE hash END AS prev FROM old
	), hashed AS (
		SELECT seq, prev, sha256(?::bytea || int4send(octet_length(seq::text)) || convert_to(seq::text, 'UTF8')
			|| ?::bytea || prev) AS hash FROM linked
	), moved AS (
		UPDATE audit_heads h SET seq = hashed.seq, hash = hashed.hash, updated_at = ?::bigint FROM hashed
		WHERE h.patient_id = ?
	)
	INSERT INTO audit_events (` + auditCols + `)
	SELECT ?::text, hashed.seq, ?::text, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text,
		?::text, ?::text, ?::text, ?::text, ?::text, ?::text, hashed.prev, hashed.hash FROM hashed
	RETURNING seq, prev_hash, hash`

func scanAudit(s scanner) (*carnet.AuditEvent, error) {
	var e carnet.AuditEvent
	var at int64
	if err := s.Scan(&e.PatientID, &e.Seq, &e.ID, &at, &e.ActorKind, &e.ActorID, &e.ActorName, &e.ActorProfession,
		&e.ActorStructure, &e.OnBehalfOf, &e.Action, &e.TargetType, &e.TargetID, &e.Mode, &e.Decision, &e.Reason,
		&e.RequestID, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromMicros(at)
	return &e, nil
}

// ListAudit lists a patient's events in chain order (or reversed with Desc).
func (tx *Tx) ListAudit(ctx context.Context, f carnet.AuditFilter) ([]*carnet.AuditEvent, error) {
	const op = "store.ListAudit"
	where := []string{"patient_id = ?"}
	args := []any{f.PatientID}
	if f.ActorID != "" {
		where, args = append(where, "actor_id = ?"), append(args, f.ActorID)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.TargetType != "" {
		where, args = append(where, "target_type = ?"), append(args, f.TargetType)
	}
	if f.TargetID != "" {
		where, args = append(where, "target_id = ?"), append(args, f.TargetID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, micros(f.To))
	}
	if f.AfterSeq > 0 {
		where, args = append(where, "seq > ?"), append(args, f.AfterSeq)
	}
	q := `SELECT ` + auditCols + ` FROM audit_events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY seq`
	if f.Desc {
		q += " DESC"
	}
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := tx.query(ctx, op, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanAudit)
}

// AuditHeadsChangedSince lists heads updated after since.
func (tx *Tx) AuditHeadsChangedSince(ctx context.Context, since time.Time, afterPatientID string, n int) ([]carnet.AuditHead, error) {
	const op = "store.AuditHeadsChangedSince"
	rows, err := tx.query(ctx, op, `SELECT patient_id, seq, hash FROM audit_heads WHERE updated_at > ? AND patient_id > ? AND seq > 0
		ORDER BY patient_id LIMIT ?`, micros(since), afterPatientID, limit(n, 1000))
	if err != nil {
		return nil, err
	}
	heads, err := collect(tx, op, rows, func(s scanner) (*carnet.AuditHead, error) {
		var h carnet.AuditHead
		return &h, s.Scan(&h.PatientID, &h.Seq, &h.Hash)
	})
	out := make([]carnet.AuditHead, len(heads))
	for i, h := range heads {
		out[i] = *h
	}
	return out, err
}

// AuditPatients lists the patients that have a chain (from the events: a chain started by bulk
// enrolment has no head row yet).
func (tx *Tx) AuditPatients(ctx context.Context, afterPatientID string, n int) ([]string, error) {
	const op = "store.AuditPatients"
	rows, err := tx.query(ctx, op, `SELECT DISTINCT patient_id FROM audit_events WHERE patient_id > ?
		ORDER BY patient_id LIMIT ?`, afterPatientID, limit(n, 100))
	if err != nil {
		return nil, err
	}
	ids, err := collect(tx, op, rows, func(s scanner) (*string, error) {
		var id string
		return &id, s.Scan(&id)
	})
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = *id
	}
	return out, err
}

// CreateCheckpoint stores a signed checkpoint.
func (tx *Tx) CreateCheckpoint(ctx context.Context, c *carnet.CheckpointRecord) error {
	_, err := tx.exec(ctx, "store.CreateCheckpoint", `INSERT INTO audit_checkpoints (checkpoint_id, at, body) VALUES (?, ?, ?)`,
		c.ID, micros(c.Time), c.Body)
	return err
}

// Checkpoints lists checkpoints taken after t, oldest first.
func (tx *Tx) Checkpoints(ctx context.Context, after time.Time, n int) ([]*carnet.CheckpointRecord, error) {
	const op = "store.Checkpoints"
	rows, err := tx.query(ctx, op, `SELECT checkpoint_id, at, body FROM audit_checkpoints WHERE at > ?
		ORDER BY at, checkpoint_id LIMIT ?`, micros(after), limit(n, 100))
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, func(s scanner) (*carnet.CheckpointRecord, error) {
		var c carnet.CheckpointRecord
		var at int64
		err := s.Scan(&c.ID, &at, &c.Body)
		c.Time = fromMicros(at)
		return &c, err
	})
}

const outboxCols = `message_id, patient_id, kind, channel, recipient, subject, body, idempotency_key, status, attempts,
	next_attempt_at, claimed_until, last_error, created_at, sent_at, secret`

func scanOutbox(s scanner) (*carnet.OutboxMessage, error) {
	var m carnet.OutboxMessage
	var next, claimed, created int64
	var sent sql.NullInt64
	if err := s.Scan(&m.ID, &m.PatientID, &m.Kind, &m.Channel, &m.Recipient, &m.Subject, &m.Body, &m.IdempotencyKey,
		&m.Status, &m.Attempts, &next, &claimed, &m.LastError, &created, &sent, &m.Secret); err != nil {
		return nil, err
	}
	m.NextAttemptAt, m.ClaimedUntil, m.CreatedAt, m.SentAt = fromMicros(next), fromMicros(claimed), fromMicros(created), fromNullMicros(sent)
	return &m, nil
}

// EnqueueOutbox adds a pending message, due now unless NextAttemptAt is later; a message whose
// idempotency key exists already is ignored.
func (tx *Tx) EnqueueOutbox(ctx context.Context, m *carnet.OutboxMessage) error {
	if m.IdempotencyKey == "" {
		return carnet.Errorf(carnet.EINVALID, "clé d'idempotence manquante")
	}
	m.Status, m.CreatedAt = carnet.OutboxPending, tx.now
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = tx.now
	}
	_, err := tx.exec(ctx, "store.EnqueueOutbox", `INSERT INTO outbox (`+outboxCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
		m.ID, m.PatientID, m.Kind, m.Channel, m.Recipient, m.Subject, m.Body, m.IdempotencyKey, m.Status, m.Attempts,
		micros(m.NextAttemptAt), int64(0), m.LastError, micros(m.CreatedAt), nullMicros(m.SentAt), nullBytes(m.Secret))
	return err
}

// ClaimOutbox leases due pending messages whose lease has run out.
func (tx *Tx) ClaimOutbox(ctx context.Context, n int, leaseUntil time.Time) ([]*carnet.OutboxMessage, error) {
	const op = "store.ClaimOutbox"
	rows, err := tx.query(ctx, op, `SELECT `+outboxCols+` FROM outbox WHERE status = ? AND next_attempt_at <= ?
		AND claimed_until <= ? ORDER BY next_attempt_at, message_id LIMIT ?`+tx.db.dialect.SkipLocked,
		carnet.OutboxPending, micros(tx.now), micros(tx.now), limit(n, 100))
	if err != nil {
		return nil, err
	}
	msgs, err := collect(tx, op, rows, scanOutbox)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		m.ClaimedUntil = leaseUntil.UTC().Truncate(time.Microsecond)
		if _, err := tx.exec(ctx, op, `UPDATE outbox SET claimed_until = ? WHERE message_id = ?`, micros(m.ClaimedUntil), m.ID); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// UpdateOutbox saves a message's delivery state and releases its lease.
func (tx *Tx) UpdateOutbox(ctx context.Context, m *carnet.OutboxMessage) error {
	m.ClaimedUntil = time.Time{}
	if m.Status == carnet.OutboxSent {
		m.Secret = nil // a code is kept only until it is sent
	}
	return tx.execOne(ctx, "store.UpdateOutbox", `UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?,
		claimed_until = 0, last_error = ?, sent_at = ?, secret = ? WHERE message_id = ?`,
		m.Status, m.Attempts, micros(m.NextAttemptAt), m.LastError, nullMicros(m.SentAt), nullBytes(m.Secret), m.ID)
}

// ListOutbox lists a patient's messages ("" for messages addressed to no patient), oldest first.
func (tx *Tx) ListOutbox(ctx context.Context, patientID string) ([]*carnet.OutboxMessage, error) {
	const op = "store.ListOutbox"
	rows, err := tx.query(ctx, op, `SELECT `+outboxCols+` FROM outbox WHERE patient_id = ? ORDER BY created_at, message_id`, patientID)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanOutbox)
}

// nullBytes stores an empty byte slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Meta reads a system value.
func (tx *Tx) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := tx.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v, tx.db.wrap("store.Meta", err)
}

// PutMeta writes a system value.
func (tx *Tx) PutMeta(ctx context.Context, key string, value []byte) error {
	_, err := tx.exec(ctx, "store.PutMeta", `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

var _ carnet.Tx = (*Tx)(nil)
var _ carnet.Store = (*DB)(nil)

// Counts returns aggregate counts.
func (tx *Tx) Counts(ctx context.Context) (carnet.Counts, error) {
	var c carnet.Counts
	err := tx.queryRow(ctx, `SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM professionals),
		(SELECT count(*) FROM documents)`).Scan(&c.Patients, &c.Professionals, &c.Documents)
	return c, tx.db.wrap("store.Counts", err)
}
