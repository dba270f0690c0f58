package sqldb

import (
	"context"
	"database/sql"
	"strings"

	"github.com/carnet-sante/carnet"
)

const documentCols = `patient_id, document_id, type_code, class, title_sealed, author_kind, author_id, author_name,
	structure_id, service_date, status, replaces_id, hidden_from_professionals, hidden_from_patient,
	hidden_from_representatives, content_hash, size, media_type, blob_key, created_at, updated_at`

// documentScan holds a scan of documentCols until the document is finished.
type documentScan struct {
	d                         carnet.Document
	service, created, updated int64
}

// dest is documentCols' destinations, in order.
func (ds *documentScan) dest() []any {
	d := &ds.d
	return []any{&d.PatientID, &d.ID, &d.TypeCode, &d.Class, &d.TitleSealed, &d.AuthorKind, &d.AuthorID, &d.AuthorName,
		&d.StructureID, &ds.service, &d.Status, &d.ReplacesID, &d.HiddenFromProfessionals, &d.HiddenFromPatient,
		&d.HiddenFromRepresentatives, &d.ContentHash, &d.Size, &d.MediaType, &d.BlobKey, &ds.created, &ds.updated}
}

func (ds *documentScan) document() *carnet.Document {
	d := ds.d
	d.ServiceDate, d.CreatedAt, d.UpdatedAt = fromMicros(ds.service), fromMicros(ds.created), fromMicros(ds.updated)
	return &d
}

// joinedDocumentCols is documentCols read from a LEFT JOINed "documents d", preceded by whether
// a row joined: when none did, every column reads as its zero value (byte strings as nil).
var joinedDocumentCols = func() string {
	var cols []string
	for _, c := range strings.Split(documentCols, ",") {
		c = strings.TrimSpace(c)
		switch c {
		case "title_sealed", "content_hash":
			cols = append(cols, "d."+c)
		case "service_date", "size", "created_at", "updated_at":
			cols = append(cols, "COALESCE(d."+c+", 0)")
		case "hidden_from_professionals", "hidden_from_patient", "hidden_from_representatives":
			cols = append(cols, "COALESCE(d."+c+", false)")
		default:
			cols = append(cols, "COALESCE(d."+c+", '')")
		}
	}
	return "d.document_id IS NOT NULL, " + strings.Join(cols, ", ")
}()

func scanDocument(s scanner) (*carnet.Document, error) {
	var ds documentScan
	if err := s.Scan(ds.dest()...); err != nil {
		return nil, err
	}
	return ds.document(), nil
}

// CreateDocument inserts a document's metadata; the title must be sealed.
func (tx *Tx) CreateDocument(ctx context.Context, d *carnet.Document) error {
	if len(d.TitleSealed) == 0 {
		return carnet.Errorf(carnet.EINVALID, "titre non scellé")
	}
	d.CreatedAt, d.UpdatedAt = tx.now, tx.now
	if _, err := tx.exec(ctx, "store.CreateDocument", `INSERT INTO document_index (document_id, patient_id) VALUES (?, ?)`,
		d.ID, d.PatientID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "store.CreateDocument", `INSERT INTO documents (`+documentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.PatientID, d.ID, d.TypeCode, string(d.Class), d.TitleSealed, string(d.AuthorKind), d.AuthorID, d.AuthorName,
		d.StructureID, micros(d.ServiceDate), string(d.Status), d.ReplacesID, d.HiddenFromProfessionals, d.HiddenFromPatient,
		d.HiddenFromRepresentatives, d.ContentHash, d.Size, d.MediaType, d.BlobKey, micros(d.CreatedAt), micros(d.UpdatedAt))
	return err
}

// Document returns one document of a patient.
func (tx *Tx) Document(ctx context.Context, patientID, id string) (*carnet.Document, error) {
	d, err := scanDocument(tx.queryRow(ctx, `SELECT `+documentCols+` FROM documents WHERE patient_id = ? AND document_id = ?`, patientID, id))
	return d, tx.db.wrap("store.Document", err)
}

// DocumentPatient returns the patient a document belongs to.
func (tx *Tx) DocumentPatient(ctx context.Context, documentID string) (string, error) {
	var id string
	err := tx.queryRow(ctx, `SELECT patient_id FROM document_index WHERE document_id = ?`, documentID).Scan(&id)
	return id, tx.db.wrap("store.DocumentPatient", err)
}

// UpdateDocument saves the mutable fields of a document: type, sealed title, status, flags.
func (tx *Tx) UpdateDocument(ctx context.Context, d *carnet.Document) error {
	d.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdateDocument", `UPDATE documents SET type_code = ?, class = ?, title_sealed = ?,
		service_date = ?, status = ?, hidden_from_professionals = ?, hidden_from_patient = ?,
		hidden_from_representatives = ?, updated_at = ? WHERE patient_id = ? AND document_id = ?`,
		d.TypeCode, string(d.Class), d.TitleSealed, micros(d.ServiceDate), string(d.Status), d.HiddenFromProfessionals,
		d.HiddenFromPatient, d.HiddenFromRepresentatives, micros(d.UpdatedAt), d.PatientID, d.ID)
}

// ListDocuments lists a patient's documents, newest service date first.
func (tx *Tx) ListDocuments(ctx context.Context, f carnet.DocumentFilter) ([]*carnet.Document, error) {
	const op = "store.ListDocuments"
	where := []string{"patient_id = ?"}
	args := []any{f.PatientID}
	if len(f.Statuses) > 0 {
		s, a := in(f.Statuses)
		where, args = append(where, "status IN "+s), append(args, a...)
	}
	if len(f.TypeCodes) > 0 {
		s, a := in(f.TypeCodes)
		where, args = append(where, "type_code IN "+s), append(args, a...)
	}
	if len(f.Classes) > 0 {
		s, a := in(f.Classes)
		where, args = append(where, "class IN "+s), append(args, a...)
	}
	if f.AuthorID != "" {
		where, args = append(where, "author_id = ?"), append(args, f.AuthorID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "service_date >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "service_date < ?"), append(args, micros(f.To))
	}
	q := `SELECT ` + documentCols + ` FROM documents WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY service_date DESC, document_id LIMIT ? OFFSET ?`
	args = append(args, limit(f.Limit, 100), max(f.Offset, 0))
	rows, err := tx.query(ctx, op, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanDocument)
}

const profileCols = `patient_id, entry_id, kind, sealed, entry_date, end_date, author_kind, author_id, deleted, created_at, updated_at`

func scanProfileEntry(s scanner) (*carnet.ProfileEntry, error) {
	var e carnet.ProfileEntry
	var date, created, updated int64
	var end sql.NullInt64
	if err := s.Scan(&e.PatientID, &e.ID, &e.Kind, &e.Sealed, &date, &end, &e.AuthorKind, &e.AuthorID, &e.Deleted,
		&created, &updated); err != nil {
		return nil, err
	}
	e.Date, e.EndDate = fromMicros(date), fromNullMicros(end)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

// CreateProfileEntry inserts a medical-profile entry; its content must be sealed.
func (tx *Tx) CreateProfileEntry(ctx context.Context, e *carnet.ProfileEntry) error {
	if len(e.Sealed) == 0 {
		return carnet.Errorf(carnet.EINVALID, "contenu non scellé")
	}
	e.CreatedAt, e.UpdatedAt = tx.now, tx.now
	_, err := tx.exec(ctx, "store.CreateProfileEntry", `INSERT INTO profile_entries (`+profileCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.PatientID, e.ID, string(e.Kind), e.Sealed, micros(e.Date), nullMicros(e.EndDate), string(e.AuthorKind),
		e.AuthorID, e.Deleted, micros(e.CreatedAt), micros(e.UpdatedAt))
	return err
}

// ProfileEntry returns one entry of a patient's profile.
func (tx *Tx) ProfileEntry(ctx context.Context, patientID, id string) (*carnet.ProfileEntry, error) {
	e, err := scanProfileEntry(tx.queryRow(ctx, `SELECT `+profileCols+` FROM profile_entries WHERE patient_id = ? AND entry_id = ?`, patientID, id))
	return e, tx.db.wrap("store.ProfileEntry", err)
}

// UpdateProfileEntry saves an entry's sealed content, dates and deletion flag.
func (tx *Tx) UpdateProfileEntry(ctx context.Context, e *carnet.ProfileEntry) error {
	e.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdateProfileEntry", `UPDATE profile_entries SET sealed = ?, entry_date = ?, end_date = ?,
		deleted = ?, updated_at = ? WHERE patient_id = ? AND entry_id = ?`,
		e.Sealed, micros(e.Date), nullMicros(e.EndDate), e.Deleted, micros(e.UpdatedAt), e.PatientID, e.ID)
}

// ListProfileEntries lists a patient's entries of one kind ("" for all), oldest first.
func (tx *Tx) ListProfileEntries(ctx context.Context, patientID string, kind carnet.ProfileKind) ([]*carnet.ProfileEntry, error) {
	const op = "store.ListProfileEntries"
	q := `SELECT ` + profileCols + ` FROM profile_entries WHERE patient_id = ?`
	args := []any{patientID}
	if kind != "" {
		q, args = q+` AND kind = ?`, append(args, string(kind))
	}
	rows, err := tx.query(ctx, op, q+` ORDER BY entry_date, entry_id`, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanProfileEntry)
}

// Wishes returns a patient's sealed Entourage & Volontés.
func (tx *Tx) Wishes(ctx context.Context, patientID string) (*carnet.Wishes, error) {
	w := carnet.Wishes{PatientID: patientID}
	var updated int64
	err := tx.queryRow(ctx, `SELECT sealed, updated_at FROM wishes WHERE patient_id = ?`, patientID).Scan(&w.Sealed, &updated)
	if err != nil {
		return nil, tx.db.wrap("store.Wishes", err)
	}
	w.UpdatedAt = fromMicros(updated)
	return &w, nil
}

// PutWishes inserts or replaces a patient's sealed Entourage & Volontés.
func (tx *Tx) PutWishes(ctx context.Context, w *carnet.Wishes) error {
	if len(w.Sealed) == 0 {
		return carnet.Errorf(carnet.EINVALID, "contenu non scellé")
	}
	w.UpdatedAt = tx.now
	_, err := tx.exec(ctx, "store.PutWishes", `INSERT INTO wishes (patient_id, sealed, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (patient_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
		w.PatientID, w.Sealed, micros(w.UpdatedAt))
	return err
}

// Settings returns a patient's settings, or the defaults.
func (tx *Tx) Settings(ctx context.Context, patientID string) (*carnet.PatientSettings, error) {
	s := carnet.PatientSettings{PatientID: patientID}
	var updated int64
	err := tx.queryRow(ctx, `SELECT hide_all, regulation_allowed, break_glass_allowed, treating_doctor_id, administrator_id,
		notify_access, notify_action, notify_emergency, updated_at FROM settings WHERE patient_id = ?`, patientID).Scan(
		&s.HideAll, &s.RegulationAllowed, &s.BreakGlassAllowed, &s.TreatingDoctorID, &s.AdministratorID,
		&s.NotifyAccess, &s.NotifyAction, &s.NotifyEmergency, &updated)
	if err == sql.ErrNoRows {
		d := carnet.DefaultSettings(patientID)
		return &d, nil
	}
	if err != nil {
		return nil, tx.db.wrap("store.Settings", err)
	}
	s.UpdatedAt = fromMicros(updated)
	return &s, nil
}

// PutSettings inserts or replaces a patient's settings.
func (tx *Tx) PutSettings(ctx context.Context, s *carnet.PatientSettings) error {
	s.UpdatedAt = tx.now
	_, err := tx.exec(ctx, "store.PutSettings", `INSERT INTO settings (patient_id, hide_all, regulation_allowed,
		break_glass_allowed, treating_doctor_id, administrator_id, notify_access, notify_action, notify_emergency, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (patient_id) DO UPDATE SET hide_all = excluded.hide_all,
		regulation_allowed = excluded.regulation_allowed, break_glass_allowed = excluded.break_glass_allowed,
		treating_doctor_id = excluded.treating_doctor_id, administrator_id = excluded.administrator_id,
		notify_access = excluded.notify_access, notify_action = excluded.notify_action,
		notify_emergency = excluded.notify_emergency, updated_at = excluded.updated_at`,
		s.PatientID, s.HideAll, s.RegulationAllowed, s.BreakGlassAllowed, s.TreatingDoctorID, s.AdministratorID,
		s.NotifyAccess, s.NotifyAction, s.NotifyEmergency, micros(s.UpdatedAt))
	return err
}

func scanConsent(s scanner) (*carnet.Consent, error) {
	var c carnet.Consent
	var declared int64
	var expires, revoked sql.NullInt64
	if err := s.Scan(&c.PatientID, &c.ID, &c.ProfessionalID, &c.Kind, &c.Purpose, &declared, &expires, &revoked); err != nil {
		return nil, err
	}
	c.DeclaredAt, c.ExpiresAt, c.RevokedAt = fromMicros(declared), fromNullMicros(expires), fromNullMicros(revoked)
	return &c, nil
}

// CreateConsent records a declared consent. A zero DeclaredAt takes the transaction's time.
func (tx *Tx) CreateConsent(ctx context.Context, c *carnet.Consent) error {
	if c.DeclaredAt.IsZero() {
		c.DeclaredAt = tx.now
	}
	_, err := tx.exec(ctx, "store.CreateConsent", `INSERT INTO consents (patient_id, consent_id, professional_id, kind,
		purpose, declared_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.PatientID, c.ID, c.ProfessionalID, string(c.Kind), c.Purpose, micros(c.DeclaredAt), nullMicros(c.ExpiresAt), nullMicros(c.RevokedAt))
	return err
}

// UpdateConsent saves a consent's expiry and revocation.
func (tx *Tx) UpdateConsent(ctx context.Context, c *carnet.Consent) error {
	return tx.execOne(ctx, "store.UpdateConsent", `UPDATE consents SET expires_at = ?, revoked_at = ?
		WHERE patient_id = ? AND consent_id = ?`, nullMicros(c.ExpiresAt), nullMicros(c.RevokedAt), c.PatientID, c.ID)
}

// Consents lists a patient's consents, oldest first.
func (tx *Tx) Consents(ctx context.Context, patientID, professionalID string) ([]*carnet.Consent, error) {
	const op = "store.Consents"
	q := `SELECT patient_id, consent_id, professional_id, kind, purpose, declared_at, expires_at, revoked_at
		FROM consents WHERE patient_id = ?`
	args := []any{patientID}
	if professionalID != "" {
		q, args = q+` AND professional_id = ?`, append(args, professionalID)
	}
	rows, err := tx.query(ctx, op, q+` ORDER BY declared_at, consent_id`, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanConsent)
}

// CreateBlock records a block. A zero CreatedAt takes the transaction's time.
func (tx *Tx) CreateBlock(ctx context.Context, b *carnet.Block) error {
	if (b.ProfessionalID == "") == (b.StructureID == "") {
		return carnet.Errorf(carnet.EINVALID, "un blocage vise soit un professionnel, soit une structure")
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = tx.now
	}
	_, err := tx.exec(ctx, "store.CreateBlock", `INSERT INTO blocks (patient_id, block_id, professional_id, structure_id,
		created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?)`,
		b.PatientID, b.ID, b.ProfessionalID, b.StructureID, micros(b.CreatedAt), nullMicros(b.RemovedAt))
	return err
}

// UpdateBlock saves a block's removal time.
func (tx *Tx) UpdateBlock(ctx context.Context, b *carnet.Block) error {
	return tx.execOne(ctx, "store.UpdateBlock", `UPDATE blocks SET removed_at = ? WHERE patient_id = ? AND block_id = ?`,
		nullMicros(b.RemovedAt), b.PatientID, b.ID)
}

// Blocks lists a patient's blocks (removed ones included), oldest first.
func (tx *Tx) Blocks(ctx context.Context, patientID string) ([]*carnet.Block, error) {
	const op = "store.Blocks"
	rows, err := tx.query(ctx, op, `SELECT patient_id, block_id, professional_id, structure_id, created_at, removed_at
		FROM blocks WHERE patient_id = ? ORDER BY created_at, block_id`, patientID)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanBlock)
}

func scanBlock(s scanner) (*carnet.Block, error) {
	var b carnet.Block
	var created int64
	var removed sql.NullInt64
	if err := s.Scan(&b.PatientID, &b.ID, &b.ProfessionalID, &b.StructureID, &created, &removed); err != nil {
		return nil, err
	}
	b.CreatedAt, b.RemovedAt = fromMicros(created), fromNullMicros(removed)
	return &b, nil
}

// PutEmergencySession inserts or replaces a professional's emergency session on a record.
func (tx *Tx) PutEmergencySession(ctx context.Context, e *carnet.EmergencySession) error {
	_, err := tx.exec(ctx, "store.PutEmergencySession", `INSERT INTO emergency_sessions (patient_id, professional_id, mode, reason,
		started_at, ends_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (patient_id, professional_id) DO UPDATE SET mode = excluded.mode,
		reason = excluded.reason, started_at = excluded.started_at, ends_at = excluded.ends_at`,
		e.PatientID, e.ProfessionalID, string(e.Mode), e.Reason, micros(e.StartedAt), micros(e.EndsAt))
	return err
}

// EmergencySession returns a professional's emergency session on a record.
func (tx *Tx) EmergencySession(ctx context.Context, patientID, professionalID string) (*carnet.EmergencySession, error) {
	e := carnet.EmergencySession{PatientID: patientID, ProfessionalID: professionalID}
	var start, end int64
	err := tx.queryRow(ctx, `SELECT mode, reason, started_at, ends_at FROM emergency_sessions WHERE patient_id = ? AND professional_id = ?`,
		patientID, professionalID).Scan(&e.Mode, &e.Reason, &start, &end)
	if err != nil {
		return nil, tx.db.wrap("store.EmergencySession", err)
	}
	e.StartedAt, e.EndsAt = fromMicros(start), fromMicros(end)
	return &e, nil
}
