package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// rowsPerInsert is the number of rows of one multi-row INSERT: enough to amortize the cost of a
// statement, small enough that preparing it is cheap, and within both engines' parameter limits
// (SQLite 32 766, PostgreSQL 65 535) for the widest table.
const rowsPerInsert = 256

// insertRows inserts rows (each of len(cols) values) into table with multi-row INSERT
// statements of rowsPerInsert rows (and one for the remainder). suffix ends each statement (e.g.
// ON CONFLICT).
//
// On SQLite, a column whose value is the same in every row of a statement (a time, a status, the
// actor of a batch) is bound once: INSERT INTO t (a, b) SELECT column1, ? FROM (VALUES (?), (?)).
// Binding and converting parameters is a large part of the writer's time in bulk inserts. (Not
// with numbered parameters ?NNN: SQLite then looks each one up by name, in time linear in their
// number.) PostgreSQL, which types the parameters of a VALUES list in FROM as text, gets plain
// multi-row VALUES.
func (tx *Tx) insertRows(ctx context.Context, op, table string, cols []string, rows [][]any, suffix string) error {
	if len(rows) == 0 {
		return nil
	}
	per := rowsPerInsert
	share := !tx.db.dialect.Numbered
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") "
	args := make([]any, 0, min(per, len(rows))*len(cols))
	shared := make([]bool, len(cols))
	var q strings.Builder
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		q.Reset()
		q.WriteString(head)
		own := 0 // columns with a value per row
		for c := range cols {
			v := chunk[0][c]
			shared[c] = share && len(chunk) > 1 && shareable(v) && sameColumn(chunk, c, v)
			if !shared[c] {
				own++
			}
		}
		if own == 0 {
			shared[0], own = false, 1
		}
		if own < len(cols) {
			q.WriteString("SELECT ")
			k := 0
			for c := range cols {
				if c > 0 {
					q.WriteString(", ")
				}
				if shared[c] {
					q.WriteByte('?')
					args = append(args, chunk[0][c])
				} else {
					k++
					q.WriteString("column")
					q.WriteString(strconv.Itoa(k))
				}
			}
			q.WriteString(" FROM (")
		}
		q.WriteString("VALUES ")
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", own), ", ") + ")"
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(one)
			for c, v := range r {
				if !shared[c] {
					args = append(args, v)
				}
			}
		}
		if own < len(cols) {
			q.WriteString(")")
			if suffix != "" {
				q.WriteString(" WHERE true") // else SQLite reads ON CONFLICT as a join's ON
			}
		}
		q.WriteString(suffix)
		if _, err := tx.exec(ctx, op, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// shareable reports whether v is of a comparable type that insertRows may bind once.
func shareable(v any) bool {
	switch v.(type) {
	case nil, string, int64, int, bool, sql.NullInt64:
		return true
	}
	return false
}

func sameColumn(chunk [][]any, c int, v any) bool {
	for _, r := range chunk[1:] {
		if r[c] != v { // v is comparable: no panic, whatever r[c] holds
			return false
		}
	}
	return true
}

// emptyBytes stores a nil slice as an empty value (the drivers send nil as NULL).
func emptyBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// EnrolBatch stores a batch of people enrolled in bulk with one multi-row statement per table
// (per 30 000 parameters).
//
// The statements' arguments are built by another goroutine, one table ahead of the statements
// that use them: the transaction's goroutine is the bulk load's bottleneck (SQLite has one
// writer), and turning a batch into rows of values is a tenth of its work.
func (tx *Tx) EnrolBatch(ctx context.Context, batch []*carnet.NewEnrolment) error {
	const op = "store.EnrolBatch"
	for _, b := range batch {
		p, k, e, ev, m := b.Patient, b.Key, b.Enrolment, b.Event, b.Message
		if p == nil || k == nil || e == nil || ev == nil || p.ID == "" || len(p.NIRIndex) == 0 || len(p.NIRSealed) == 0 {
			return carnet.Errorf(carnet.EINVALID, "inscription incomplète")
		}
		if ev.Seq != 1 || len(ev.Hash) == 0 || ev.PatientID != p.ID {
			return carnet.Errorf(carnet.EINVALID, "événement d'audit non chaîné")
		}
		if m != nil && m.IdempotencyKey == "" {
			return carnet.Errorf(carnet.EINVALID, "clé d'idempotence manquante")
		}
		p.CreatedAt, p.UpdatedAt, k.CreatedAt, e.CreatedAt, e.UpdatedAt = tx.now, tx.now, tx.now, tx.now, tx.now
		if m != nil {
			m.Status, m.CreatedAt = carnet.OutboxPending, tx.now
			if m.NextAttemptAt.IsZero() {
				m.NextAttemptAt = tx.now
			}
		}
	}
	type step struct {
		table, cols, suffix string
		rows                [][]any
	}
	steps := []step{
		{table: "nir_index", cols: "nir_index, patient_id"},
		{table: "patients", cols: patientCols},
		{table: "data_keys", cols: dataKeyCols},
		{table: "enrolments", cols: enrolmentCols + ", code_sealed"},
		{table: "audit_events", cols: auditCols},
		{table: "outbox", cols: outboxCols, suffix: " ON CONFLICT (idempotency_key) DO NOTHING"},
	}
	now := micros(tx.now)
	ready := make(chan step, len(steps)) // never blocks the builder, which always finishes
	go func() {
		for _, s := range steps {
			s.rows = enrolRows(s.table, batch, now)
			ready <- s
		}
		close(ready)
	}()
	var err error
	for s := range ready {
		if err != nil {
			continue // let the builder finish
		}
		cols := strings.Split(s.cols, ",")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		err = tx.insertRows(ctx, op, s.table, cols, s.rows, s.suffix)
	}
	return err
}

// enrolRows is the rows of table for a batch of bulk enrolments (EnrolBatch's columns).
func enrolRows(table string, batch []*carnet.NewEnrolment, now int64) [][]any {
	rows := make([][]any, 0, len(batch))
	for _, b := range batch {
		p, k, e, ev, m := b.Patient, b.Key, b.Enrolment, b.Event, b.Message
		switch table {
		case "nir_index":
			rows = append(rows, []any{p.NIRIndex, p.ID})
		case "patients":
			rows = append(rows, []any{p.ID, p.NIRSealed, p.INSOID, p.BirthName, p.GivenNames, p.UsedName, string(p.Sex),
				p.BirthDate.Format("2006-01-02"), p.BirthPlace, p.Email, p.Mobile, p.PostalAddress, p.RightsHolderID,
				string(p.Status), now, now, nullMicros(p.ClosedAt)})
		case "data_keys":
			rows = append(rows, []any{k.PatientID, k.Wrapped, k.KEKID, now, nullMicros(k.DestroyedAt)})
		case "enrolments":
			rows = append(rows, []any{e.PatientID, emptyBytes(e.VitaleHash), emptyBytes(e.CodeHash), micros(e.CodeExpiresAt), micros(e.AutoCreateAt),
				e.Source, nullMicros(e.OpposedAt), nullMicros(e.ActivatedAt), now, now, nullBytes(b.PendingCode)})
		case "audit_events":
			rows = append(rows, []any{ev.PatientID, ev.Seq, ev.ID, micros(ev.Time), string(ev.ActorKind), ev.ActorID, ev.ActorName,
				string(ev.ActorProfession), ev.ActorStructure, ev.OnBehalfOf, ev.Action, ev.TargetType, ev.TargetID,
				string(ev.Mode), ev.Decision, ev.Reason, ev.RequestID, ev.PrevHash, ev.Hash})
		case "outbox":
			if m != nil {
				rows = append(rows, []any{m.ID, m.PatientID, m.Kind, m.Channel, m.Recipient, m.Subject, m.Body,
					m.IdempotencyKey, m.Status, m.Attempts, micros(m.NextAttemptAt), int64(0), m.LastError, now,
					nullMicros(m.SentAt), nullBytes(m.Secret)})
			}
		}
	}
	if table == "nir_index" {
		// The NIR indexes are keyed hashes, in random order: inserted in key order, the b-tree's
		// pages are visited once each, in order, rather than at random.
		slices.SortFunc(rows, func(a, b []any) int { return bytes.Compare(a[0].([]byte), b[0].([]byte)) })
	}
	return rows
}

// PendingCodes lists codes queued on enrolment rows, in patient order, locked (PostgreSQL: rows
// another transaction holds are skipped; SQLite's write transaction is exclusive).
func (tx *Tx) PendingCodes(ctx context.Context, n int) ([]carnet.PendingCode, error) {
	const op = "store.PendingCodes"
	rows, err := tx.query(ctx, op, `SELECT patient_id, code_sealed FROM enrolments WHERE code_sealed IS NOT NULL
		ORDER BY patient_id LIMIT ?`+tx.db.dialect.SkipLocked, limit(n, 1000))
	if err != nil {
		return nil, err
	}
	codes, err := collect(tx, op, rows, func(s scanner) (*carnet.PendingCode, error) {
		var c carnet.PendingCode
		return &c, s.Scan(&c.PatientID, &c.Sealed)
	})
	out := make([]carnet.PendingCode, len(codes))
	for i, c := range codes {
		out[i] = *c
	}
	return out, err
}

// ClearPendingCode removes the code queued on a patient's enrolment row.
func (tx *Tx) ClearPendingCode(ctx context.Context, patientID string) error {
	_, err := tx.exec(ctx, "store.ClearPendingCode", `UPDATE enrolments SET code_sealed = NULL WHERE patient_id = ?`, patientID)
	return err
}

// PatientsByNIRIndex returns the patient IDs of the enrolled indexes among indexes.
func (tx *Tx) PatientsByNIRIndex(ctx context.Context, indexes [][]byte) (map[string]string, error) {
	const op = "store.PatientsByNIRIndex"
	out := make(map[string]string)
	const per = 500
	for start := 0; start < len(indexes); start += per {
		chunk := indexes[start:min(start+per, len(indexes))]
		args := make([]any, len(chunk))
		for i, ix := range chunk {
			args[i] = ix
		}
		rows, err := tx.query(ctx, op, `SELECT nir_index, patient_id FROM nir_index WHERE nir_index IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ix []byte
			var id string
			if err := rows.Scan(&ix, &id); err != nil {
				rows.Close()
				return nil, tx.db.wrap(op, err)
			}
			out[string(ix)] = id
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, tx.db.wrap(op, err)
		}
		rows.Close()
	}
	return out, nil
}

const enrolmentCols = `patient_id, vitale_hash, code_hash, code_expires_at, auto_create_at, source, opposed_at,
	activated_at, created_at, updated_at`

func scanEnrolment(s scanner) (*carnet.Enrolment, error) {
	var e carnet.Enrolment
	var expires, auto, created, updated int64
	var opposed, activated sql.NullInt64
	if err := s.Scan(&e.PatientID, &e.VitaleHash, &e.CodeHash, &expires, &auto, &e.Source, &opposed, &activated,
		&created, &updated); err != nil {
		return nil, err
	}
	e.CodeExpiresAt, e.AutoCreateAt = fromMicros(expires), fromMicros(auto)
	e.OpposedAt, e.ActivatedAt = fromNullMicros(opposed), fromNullMicros(activated)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

// CreateEnrolment stores one enrolment.
func (tx *Tx) CreateEnrolment(ctx context.Context, e *carnet.Enrolment) error {
	e.CreatedAt, e.UpdatedAt = tx.now, tx.now
	_, err := tx.exec(ctx, "store.CreateEnrolment", `INSERT INTO enrolments (`+enrolmentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.PatientID, emptyBytes(e.VitaleHash), emptyBytes(e.CodeHash), micros(e.CodeExpiresAt),
		micros(e.AutoCreateAt), e.Source, nullMicros(e.OpposedAt), nullMicros(e.ActivatedAt), micros(e.CreatedAt), micros(e.UpdatedAt))
	return err
}

// Enrolment returns a patient's enrolment.
func (tx *Tx) Enrolment(ctx context.Context, patientID string) (*carnet.Enrolment, error) {
	e, err := scanEnrolment(tx.queryRow(ctx, `SELECT `+enrolmentCols+` FROM enrolments WHERE patient_id = ?`, patientID))
	return e, tx.db.wrap("store.Enrolment", err)
}

// UpdateEnrolment saves an enrolment.
func (tx *Tx) UpdateEnrolment(ctx context.Context, e *carnet.Enrolment) error {
	e.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdateEnrolment", `UPDATE enrolments SET vitale_hash = ?, code_hash = ?, code_expires_at = ?,
		auto_create_at = ?, source = ?, opposed_at = ?, activated_at = ?, updated_at = ? WHERE patient_id = ?`,
		emptyBytes(e.VitaleHash), emptyBytes(e.CodeHash), micros(e.CodeExpiresAt), micros(e.AutoCreateAt), e.Source, nullMicros(e.OpposedAt),
		nullMicros(e.ActivatedAt), micros(e.UpdatedAt), e.PatientID)
}

// EnrolmentsDue lists enrolments due for automatic creation at t.
func (tx *Tx) EnrolmentsDue(ctx context.Context, t time.Time, n int) ([]*carnet.Enrolment, error) {
	const op = "store.EnrolmentsDue"
	rows, err := tx.query(ctx, op, `SELECT `+enrolmentCols+` FROM enrolments WHERE auto_create_at > 0 AND auto_create_at <= ?
		ORDER BY auto_create_at, patient_id LIMIT ?`, micros(t), limit(n, 1000))
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanEnrolment)
}

const accountCols = `patient_id, login, password_hash, otp_channel, email, mobile, totp_sealed, totp_last_step,
	passkey_handle, password_set_at, created_at, updated_at`

func scanAccount(s scanner) (*carnet.Account, error) {
	var a carnet.Account
	var set, created, updated int64
	if err := s.Scan(&a.PatientID, &a.Login, &a.PasswordHash, &a.OTPChannel, &a.Email, &a.Mobile, &a.TOTPSealed,
		&a.TOTPLastStep, &a.PasskeyHandle, &set, &created, &updated); err != nil {
		return nil, err
	}
	a.PasswordSetAt, a.CreatedAt, a.UpdatedAt = fromMicros(set), fromMicros(created), fromMicros(updated)
	return &a, nil
}

// CreateAccount stores a new account (ECONFLICT if the login or the patient has one).
func (tx *Tx) CreateAccount(ctx context.Context, a *carnet.Account) error {
	a.CreatedAt, a.UpdatedAt = tx.now, tx.now
	if a.PasswordSetAt.IsZero() {
		a.PasswordSetAt = tx.now
	}
	_, err := tx.exec(ctx, "store.CreateAccount", `INSERT INTO accounts (`+accountCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.PatientID, a.Login, a.PasswordHash, a.OTPChannel, a.Email, a.Mobile,
		nullBytes(a.TOTPSealed), a.TOTPLastStep, nullBytes(a.PasskeyHandle), micros(a.PasswordSetAt), micros(a.CreatedAt), micros(a.UpdatedAt))
	return err
}

// Account returns a patient's account.
func (tx *Tx) Account(ctx context.Context, patientID string) (*carnet.Account, error) {
	a, err := scanAccount(tx.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE patient_id = ?`, patientID))
	return a, tx.db.wrap("store.Account", err)
}

// AccountByLogin returns the account of a login.
func (tx *Tx) AccountByLogin(ctx context.Context, login string) (*carnet.Account, error) {
	a, err := scanAccount(tx.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE login = ?`, login))
	return a, tx.db.wrap("store.AccountByLogin", err)
}

// UpdateAccount saves an account.
func (tx *Tx) UpdateAccount(ctx context.Context, a *carnet.Account) error {
	a.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdateAccount", `UPDATE accounts SET login = ?, password_hash = ?, otp_channel = ?,
		email = ?, mobile = ?, totp_sealed = ?, totp_last_step = ?, passkey_handle = ?, password_set_at = ?, updated_at = ?
		WHERE patient_id = ?`, a.Login, a.PasswordHash, a.OTPChannel, a.Email, a.Mobile, nullBytes(a.TOTPSealed),
		a.TOTPLastStep, nullBytes(a.PasskeyHandle), micros(a.PasswordSetAt), micros(a.UpdatedAt), a.PatientID)
}

// DeleteAccount removes an account.
func (tx *Tx) DeleteAccount(ctx context.Context, patientID string) error {
	_, err := tx.exec(ctx, "store.DeleteAccount", `DELETE FROM accounts WHERE patient_id = ?`, patientID)
	return err
}

// Attempts returns a key's failure record (zero if none).
func (tx *Tx) Attempts(ctx context.Context, key string) (carnet.Attempts, error) {
	var a carnet.Attempts
	var last, locked int64
	err := tx.queryRow(ctx, `SELECT failures, last_failure, locked_until FROM attempts WHERE key = ?`, key).Scan(&a.Failures, &last, &locked)
	if err == sql.ErrNoRows {
		return carnet.Attempts{}, nil
	}
	a.LastFailure, a.LockedUntil = fromMicros(last), fromMicros(locked)
	return a, tx.db.wrap("store.Attempts", err)
}

// PutAttempts saves a key's failure record; a zero record is deleted.
func (tx *Tx) PutAttempts(ctx context.Context, key string, a carnet.Attempts) error {
	const op = "store.PutAttempts"
	if a == (carnet.Attempts{}) {
		_, err := tx.exec(ctx, op, `DELETE FROM attempts WHERE key = ?`, key)
		return err
	}
	_, err := tx.exec(ctx, op, `INSERT INTO attempts (key, failures, last_failure, locked_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure,
		locked_until = excluded.locked_until`, key, a.Failures, micros(a.LastFailure), micros(a.LockedUntil))
	return err
}

// PutOneTimeCode stores or replaces the code of an owner and purpose.
func (tx *Tx) PutOneTimeCode(ctx context.Context, c *carnet.OneTimeCode) error {
	c.CreatedAt = tx.now
	_, err := tx.exec(ctx, "store.PutOneTimeCode", `INSERT INTO one_time_codes (owner_id, purpose, code_hash, target,
		expires_at, failures, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner_id, purpose) DO UPDATE SET code_hash = excluded.code_hash, target = excluded.target,
		expires_at = excluded.expires_at, failures = excluded.failures, created_at = excluded.created_at`,
		c.ID, c.Purpose, c.Hash, c.Target, micros(c.ExpiresAt), c.Failures, micros(c.CreatedAt))
	return err
}

// OneTimeCode returns the code of an owner and purpose.
func (tx *Tx) OneTimeCode(ctx context.Context, id, purpose string) (*carnet.OneTimeCode, error) {
	var c carnet.OneTimeCode
	var expires, created int64
	err := tx.queryRow(ctx, `SELECT owner_id, purpose, code_hash, target, expires_at, failures, created_at
		FROM one_time_codes WHERE owner_id = ? AND purpose = ?`, id, purpose).Scan(&c.ID, &c.Purpose, &c.Hash, &c.Target,
		&expires, &c.Failures, &created)
	if err != nil {
		return nil, tx.db.wrap("store.OneTimeCode", err)
	}
	c.ExpiresAt, c.CreatedAt = fromMicros(expires), fromMicros(created)
	return &c, nil
}

// DeleteOneTimeCode removes a code (used, or too many failures).
func (tx *Tx) DeleteOneTimeCode(ctx context.Context, id, purpose string) error {
	_, err := tx.exec(ctx, "store.DeleteOneTimeCode", `DELETE FROM one_time_codes WHERE owner_id = ? AND purpose = ?`, id, purpose)
	return err
}

const sessionCols = `session_id, patient_id, state, factor, data, created_at, last_seen`

// CreateSession stores a session.
func (tx *Tx) CreateSession(ctx context.Context, s *carnet.Session) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = tx.now
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = tx.now
	}
	_, err := tx.exec(ctx, "store.CreateSession", `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.PatientID, s.State, s.Factor, nullBytes(s.Data), micros(s.CreatedAt), micros(s.LastSeen))
	return err
}

// Session returns a session by ID.
func (tx *Tx) Session(ctx context.Context, id []byte) (*carnet.Session, error) {
	var s carnet.Session
	var created, seen int64
	err := tx.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE session_id = ?`, id).Scan(&s.ID, &s.PatientID,
		&s.State, &s.Factor, &s.Data, &created, &seen)
	if err != nil {
		return nil, tx.db.wrap("store.Session", err)
	}
	s.CreatedAt, s.LastSeen = fromMicros(created), fromMicros(seen)
	return &s, nil
}

// UpdateSession saves a session's state, factor, data and last request time.
func (tx *Tx) UpdateSession(ctx context.Context, s *carnet.Session) error {
	return tx.execOne(ctx, "store.UpdateSession", `UPDATE sessions SET patient_id = ?, state = ?, factor = ?, data = ?,
		last_seen = ? WHERE session_id = ?`, s.PatientID, s.State, s.Factor, nullBytes(s.Data), micros(s.LastSeen), s.ID)
}

// DeleteSession ends a session.
func (tx *Tx) DeleteSession(ctx context.Context, id []byte) error {
	_, err := tx.exec(ctx, "store.DeleteSession", `DELETE FROM sessions WHERE session_id = ?`, id)
	return err
}

// DeleteSessions ends every session of a patient.
func (tx *Tx) DeleteSessions(ctx context.Context, patientID string) (int, error) {
	res, err := tx.exec(ctx, "store.DeleteSessions", `DELETE FROM sessions WHERE patient_id = ?`, patientID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreatePasskey stores a passkey (ECONFLICT if the credential exists).
func (tx *Tx) CreatePasskey(ctx context.Context, p *carnet.Passkey) error {
	p.CreatedAt = tx.now
	_, err := tx.exec(ctx, "store.CreatePasskey", `INSERT INTO passkeys (patient_id, credential_id, data, name, created_at,
		last_used_at) VALUES (?, ?, ?, ?, ?, ?)`, p.PatientID, p.CredentialID, p.Data, p.Name, micros(p.CreatedAt), micros(p.LastUsedAt))
	return err
}

// Passkeys lists a patient's passkeys, oldest first.
func (tx *Tx) Passkeys(ctx context.Context, patientID string) ([]*carnet.Passkey, error) {
	const op = "store.Passkeys"
	rows, err := tx.query(ctx, op, `SELECT patient_id, credential_id, data, name, created_at, last_used_at FROM passkeys
		WHERE patient_id = ? ORDER BY created_at, credential_id`, patientID)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, func(s scanner) (*carnet.Passkey, error) {
		var p carnet.Passkey
		var created, used int64
		err := s.Scan(&p.PatientID, &p.CredentialID, &p.Data, &p.Name, &created, &used)
		p.CreatedAt, p.LastUsedAt = fromMicros(created), fromMicros(used)
		return &p, err
	})
}

// UpdatePasskey saves a passkey's data (sign count) and last use.
func (tx *Tx) UpdatePasskey(ctx context.Context, p *carnet.Passkey) error {
	return tx.execOne(ctx, "store.UpdatePasskey", `UPDATE passkeys SET data = ?, name = ?, last_used_at = ?
		WHERE patient_id = ? AND credential_id = ?`, p.Data, p.Name, micros(p.LastUsedAt), p.PatientID, p.CredentialID)
}

// DeletePasskeys removes a patient's passkeys.
func (tx *Tx) DeletePasskeys(ctx context.Context, patientID string) error {
	_, err := tx.exec(ctx, "store.DeletePasskeys", `DELETE FROM passkeys WHERE patient_id = ?`, patientID)
	return err
}
