package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

const patientCols = `patient_id, nir_sealed, ins_oid, birth_name, given_names, used_name, sex, birth_date,
	birth_place, email, mobile, postal_address, rights_holder_id, status, created_at, updated_at, closed_at`

func scanPatient(s scanner) (*carnet.Patient, error) {
	var p carnet.Patient
	var birth string
	var created, updated int64
	var closed sql.NullInt64
	if err := s.Scan(&p.ID, &p.NIRSealed, &p.INSOID, &p.BirthName, &p.GivenNames, &p.UsedName, &p.Sex, &birth,
		&p.BirthPlace, &p.Email, &p.Mobile, &p.PostalAddress, &p.RightsHolderID, &p.Status, &created, &updated, &closed); err != nil {
		return nil, err
	}
	p.BirthDate, _ = time.Parse("2006-01-02", birth)
	p.CreatedAt, p.UpdatedAt, p.ClosedAt = fromMicros(created), fromMicros(updated), fromNullMicros(closed)
	return &p, nil
}

// CreatePatient inserts a patient and their NIR index entry. CreatedAt and UpdatedAt are set to
// the transaction's time.
func (tx *Tx) CreatePatient(ctx context.Context, p *carnet.Patient) error {
	const op = "store.CreatePatient"
	if p.ID == "" || len(p.NIRIndex) == 0 || len(p.NIRSealed) == 0 {
		return carnet.Errorf(carnet.EINVALID, "patient incomplet : identifiant, index et NIR scellé requis")
	}
	if _, err := tx.exec(ctx, op, `INSERT INTO nir_index (nir_index, patient_id) VALUES (?, ?)`, p.NIRIndex, p.ID); err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	_, err := tx.exec(ctx, op, `INSERT INTO patients (`+patientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.NIRSealed, p.INSOID, p.BirthName, p.GivenNames, p.UsedName, string(p.Sex), p.BirthDate.Format("2006-01-02"),
		p.BirthPlace, p.Email, p.Mobile, p.PostalAddress, p.RightsHolderID, string(p.Status), micros(p.CreatedAt), micros(p.UpdatedAt),
		nullMicros(p.ClosedAt))
	return err
}

// Patient returns a patient by ID. The NIR is left empty; NIRIndex is not loaded.
func (tx *Tx) Patient(ctx context.Context, id string) (*carnet.Patient, error) {
	p, err := scanPatient(tx.queryRow(ctx, `SELECT `+patientCols+` FROM patients WHERE patient_id = ?`, id))
	return p, tx.db.wrap("store.Patient", err)
}

// PatientByNIRIndex returns the patient whose NIR has that keyed hash.
func (tx *Tx) PatientByNIRIndex(ctx context.Context, index []byte) (*carnet.Patient, error) {
	var id string
	if err := tx.queryRow(ctx, `SELECT patient_id FROM nir_index WHERE nir_index = ?`, index).Scan(&id); err != nil {
		return nil, tx.db.wrap("store.PatientByNIRIndex", err)
	}
	p, err := tx.Patient(ctx, id)
	if err == nil {
		p.NIRIndex = index
	}
	return p, err
}

// UpdatePatient saves every mutable field (not the NIR) and sets UpdatedAt.
func (tx *Tx) UpdatePatient(ctx context.Context, p *carnet.Patient) error {
	p.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdatePatient", `UPDATE patients SET nir_sealed = ?, ins_oid = ?, birth_name = ?,
		given_names = ?, used_name = ?, sex = ?, birth_date = ?, birth_place = ?, email = ?, mobile = ?,
		postal_address = ?, rights_holder_id = ?, status = ?, updated_at = ?, closed_at = ? WHERE patient_id = ?`,
		p.NIRSealed, p.INSOID, p.BirthName, p.GivenNames, p.UsedName, string(p.Sex), p.BirthDate.Format("2006-01-02"),
		p.BirthPlace, p.Email, p.Mobile, p.PostalAddress, p.RightsHolderID, string(p.Status), micros(p.UpdatedAt),
		nullMicros(p.ClosedAt), p.ID)
}

// ListPatients lists patients by ID order.
func (tx *Tx) ListPatients(ctx context.Context, f carnet.PatientFilter) ([]*carnet.Patient, error) {
	const op = "store.ListPatients"
	var where []string
	var args []any
	if f.RightsHolderID != "" {
		where, args = append(where, "rights_holder_id = ?"), append(args, f.RightsHolderID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, micros(f.CreatedBefore))
	}
	if f.WithRightsHolder {
		where = append(where, "rights_holder_id <> ''")
	}
	if !f.BornBefore.IsZero() {
		where, args = append(where, "birth_date < ?"), append(args, f.BornBefore.Format("2006-01-02"))
	}
	if f.AfterID != "" {
		where, args = append(where, "patient_id > ?"), append(args, f.AfterID)
	}
	q := `SELECT ` + patientCols + ` FROM patients`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY patient_id LIMIT ?"
	args = append(args, limit(f.Limit, 100))
	rows, err := tx.query(ctx, op, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanPatient)
}

const professionalCols = `professional_id, rpps, profession, specialty, civility, family_name, given_name,
	structure_id, structure_name, email, active, created_at, updated_at`

func scanProfessional(s scanner) (*carnet.Professional, error) {
	var p carnet.Professional
	var created, updated int64
	if err := s.Scan(&p.ID, &p.RPPS, &p.Profession, &p.Specialty, &p.Civility, &p.FamilyName, &p.GivenName,
		&p.StructureID, &p.StructureName, &p.Email, &p.Active, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

// CreateProfessional inserts a professional (ECONFLICT if the RPPS exists).
func (tx *Tx) CreateProfessional(ctx context.Context, p *carnet.Professional) error {
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	_, err := tx.exec(ctx, "store.CreateProfessional", `INSERT INTO professionals (`+professionalCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.RPPS, string(p.Profession), p.Specialty, p.Civility, p.FamilyName, p.GivenName,
		p.StructureID, p.StructureName, p.Email, p.Active, micros(p.CreatedAt), micros(p.UpdatedAt))
	return err
}

// Professional returns a professional by ID.
func (tx *Tx) Professional(ctx context.Context, id string) (*carnet.Professional, error) {
	p, err := scanProfessional(tx.queryRow(ctx, `SELECT `+professionalCols+` FROM professionals WHERE professional_id = ?`, id))
	return p, tx.db.wrap("store.Professional", err)
}

// ProfessionalByRPPS returns a professional by RPPS number.
func (tx *Tx) ProfessionalByRPPS(ctx context.Context, rpps string) (*carnet.Professional, error) {
	p, err := scanProfessional(tx.queryRow(ctx, `SELECT `+professionalCols+` FROM professionals WHERE rpps = ?`, rpps))
	return p, tx.db.wrap("store.ProfessionalByRPPS", err)
}

// UpdateProfessional saves a professional and sets UpdatedAt.
func (tx *Tx) UpdateProfessional(ctx context.Context, p *carnet.Professional) error {
	p.UpdatedAt = tx.now
	return tx.execOne(ctx, "store.UpdateProfessional", `UPDATE professionals SET rpps = ?, profession = ?, specialty = ?,
		civility = ?, family_name = ?, given_name = ?, structure_id = ?, structure_name = ?, email = ?, active = ?,
		updated_at = ? WHERE professional_id = ?`,
		p.RPPS, string(p.Profession), p.Specialty, p.Civility, p.FamilyName, p.GivenName, p.StructureID,
		p.StructureName, p.Email, p.Active, micros(p.UpdatedAt), p.ID)
}

// ListProfessionals lists professionals by ID order.
func (tx *Tx) ListProfessionals(ctx context.Context, f carnet.ProfessionalFilter) ([]*carnet.Professional, error) {
	const op = "store.ListProfessionals"
	var where []string
	var args []any
	if f.StructureID != "" {
		where, args = append(where, "structure_id = ?"), append(args, f.StructureID)
	}
	if f.FamilyName != "" {
		where, args = append(where, "lower(family_name) = lower(?)"), append(args, f.FamilyName)
	}
	if f.AfterID != "" {
		where, args = append(where, "professional_id > ?"), append(args, f.AfterID)
	}
	q := `SELECT ` + professionalCols + ` FROM professionals`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY professional_id LIMIT ?"
	args = append(args, limit(f.Limit, 100))
	rows, err := tx.query(ctx, op, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(tx, op, rows, scanProfessional)
}

// Subject reads a patient, their settings and the actor's standing on the record in one query.
func (tx *Tx) Subject(ctx context.Context, patientID, actorID string) (*carnet.Subject, error) {
	return tx.subject(ctx, "store.Subject", patientID, actorID, "")
}

// SubjectDocument is Subject with one of the patient's documents read by the same query.
func (tx *Tx) SubjectDocument(ctx context.Context, patientID, actorID, documentID string) (*carnet.Subject, error) {
	return tx.subject(ctx, "store.SubjectDocument", patientID, actorID, documentID)
}

// subject reads a Subject, with the document documentID when it is not empty.
func (tx *Tx) subject(ctx context.Context, op, patientID, actorID, documentID string) (*carnet.Subject, error) {
	keepable := tx.keepable()
	if keepable {
		sub, err := tx.keptSubject(ctx, op, patientID, actorID, documentID)
		if err != nil || sub != nil {
			if sub != nil {
				tx.db.subjects.hits.Add(1)
			}
			return sub, err
		}
		tx.db.subjects.misses.Add(1)
	}
	withDoc := documentID != ""
	docCols, docJoin := "", ""
	if withDoc {
		docCols = ",\n\t\t" + joinedDocumentCols
		docJoin = "\n\t\tLEFT JOIN documents d ON d.patient_id = p.patient_id AND d.document_id = ?"
	}
	q := `SELECT p.patient_id, p.nir_sealed, p.ins_oid, p.birth_name, p.given_names, p.used_name, p.sex, p.birth_date,
		p.birth_place, p.email, p.mobile, p.postal_address, p.rights_holder_id, p.status, p.created_at, p.updated_at, p.closed_at,
		s.hide_all, s.regulation_allowed, s.break_glass_allowed, s.treating_doctor_id, s.administrator_id,
		s.notify_access, s.notify_action, s.notify_emergency, s.updated_at,
		pr.professional_id, pr.rpps, pr.profession, pr.specialty, pr.civility, pr.family_name, pr.given_name,
		pr.structure_id, pr.structure_name, pr.email, pr.active, pr.created_at, pr.updated_at,
		e.mode, e.reason, e.started_at, e.ends_at,
		EXISTS (SELECT 1 FROM audit_events a WHERE a.patient_id = ? AND a.actor_id = ? AND a.decision = ?
			AND a.action <> 'patient.search'),
		k.wrapped, k.kek_id, k.created_at, k.destroyed_at, p.rev, COALESCE(pr.rev, -1),
		(SELECT ` + tx.db.dialect.JSONRows(`c.patient_id, c.consent_id, c.professional_id, c.kind, c.purpose, c.declared_at, c.expires_at, c.revoked_at`) + `
			FROM consents c WHERE c.patient_id = p.patient_id AND c.professional_id = ?),
		(SELECT ` + tx.db.dialect.JSONRows(`b.patient_id, b.block_id, b.professional_id, b.structure_id, b.created_at, b.removed_at`) + `
			FROM blocks b WHERE b.patient_id = p.patient_id AND ? <> '')` + docCols + `
		FROM patients p
		LEFT JOIN settings s ON s.patient_id = p.patient_id
		LEFT JOIN professionals pr ON pr.professional_id = ?
		LEFT JOIN emergency_sessions e ON e.patient_id = p.patient_id AND e.professional_id = ?
		LEFT JOIN data_keys k ON k.patient_id = p.patient_id` + docJoin + `
		WHERE p.patient_id = ?`
	var (
		pt                                            carnet.Patient
		birth                                         string
		created, updated                              int64
		closed                                        sql.NullInt64
		hideAll, regAllowed, bgAllowed                sql.NullBool
		treating, admin, nAccess, nAction, nEmergency sql.NullString
		sUpdated                                      sql.NullInt64
		proID, rpps, prof, spec, civ, fam, given      sql.NullString
		structID, structName, proEmail                sql.NullString
		proActive                                     sql.NullBool
		proCreated, proUpdated                        sql.NullInt64
		mode, reason                                  sql.NullString
		started, ends                                 sql.NullInt64
		accessed                                      bool
		keyWrapped                                    []byte
		keyKEK                                        sql.NullString
		keyCreated, keyDestroyed                      sql.NullInt64
		consents, blocks                              sql.NullString
		patientRev, proRev                            int64
	)
	args := []any{patientID, actorID, carnet.DecisionAllow, actorID, actorID, actorID, actorID}
	if withDoc {
		args = append(args, documentID)
	}
	args = append(args, patientID)
	dest := []any{&pt.ID, &pt.NIRSealed, &pt.INSOID, &pt.BirthName, &pt.GivenNames, &pt.UsedName, &pt.Sex, &birth,
		&pt.BirthPlace, &pt.Email, &pt.Mobile, &pt.PostalAddress, &pt.RightsHolderID, &pt.Status, &created, &updated, &closed,
		&hideAll, &regAllowed, &bgAllowed, &treating, &admin, &nAccess, &nAction, &nEmergency, &sUpdated,
		&proID, &rpps, &prof, &spec, &civ, &fam, &given, &structID, &structName, &proEmail, &proActive, &proCreated, &proUpdated,
		&mode, &reason, &started, &ends, &accessed, &keyWrapped, &keyKEK, &keyCreated, &keyDestroyed, &patientRev, &proRev,
		&consents, &blocks}
	var doc documentScan
	var docFound bool
	if withDoc {
		dest = append(append(dest, &docFound), doc.dest()...)
	}
	err := tx.queryRow(ctx, q, args...).Scan(dest...)
	if err != nil {
		return nil, tx.db.wrap(op, err)
	}
	pt.BirthDate, _ = time.Parse("2006-01-02", birth)
	pt.CreatedAt, pt.UpdatedAt, pt.ClosedAt = fromMicros(created), fromMicros(updated), fromNullMicros(closed)
	sub := &carnet.Subject{Patient: &pt, Accessed: accessed && actorID != ""}
	st := carnet.DefaultSettings(patientID)
	if sUpdated.Valid {
		st = carnet.PatientSettings{PatientID: patientID, HideAll: hideAll.Bool, RegulationAllowed: regAllowed.Bool,
			BreakGlassAllowed: bgAllowed.Bool, TreatingDoctorID: treating.String, AdministratorID: admin.String,
			NotifyAccess: nAccess.String, NotifyAction: nAction.String, NotifyEmergency: nEmergency.String, UpdatedAt: fromMicros(sUpdated.Int64)}
	}
	sub.Settings = &st
	if docFound {
		sub.Document = doc.document()
	}
	if proID.Valid && actorID != "" {
		sub.Professional = &carnet.Professional{ID: proID.String, RPPS: rpps.String, Profession: carnet.Profession(prof.String),
			Specialty: spec.String, Civility: civ.String, FamilyName: fam.String, GivenName: given.String, StructureID: structID.String,
			StructureName: structName.String, Email: proEmail.String, Active: proActive.Bool,
			CreatedAt: fromMicros(proCreated.Int64), UpdatedAt: fromMicros(proUpdated.Int64)}
	}
	if mode.Valid && actorID != "" {
		sub.Emergency = &carnet.EmergencySession{PatientID: patientID, ProfessionalID: actorID, Mode: carnet.AccessMode(mode.String),
			Reason: reason.String, StartedAt: fromMicros(started.Int64), EndsAt: fromMicros(ends.Int64)}
	}
	if keyKEK.Valid {
		sub.DataKey = &carnet.DataKey{PatientID: patientID, Wrapped: keyWrapped, KEKID: keyKEK.String,
			CreatedAt: fromMicros(keyCreated.Int64), DestroyedAt: fromNullMicros(keyDestroyed)}
	}
	if actorID != "" {
		if sub.Consents, err = jsonRows(consents.String, scanConsent); err != nil {
			return nil, tx.db.wrap(op, err)
		}
		slices.SortFunc(sub.Consents, func(a, b *carnet.Consent) int {
			return cmp.Or(a.DeclaredAt.Compare(b.DeclaredAt), cmp.Compare(a.ID, b.ID))
		})
		if sub.Blocks, err = jsonRows(blocks.String, scanBlock); err != nil {
			return nil, tx.db.wrap(op, err)
		}
		slices.SortFunc(sub.Blocks, func(a, b *carnet.Block) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
	}
	if keepable && (actorID == "" || sub.Accessed) {
		tx.db.subjects.put(subjectKey{patientID, actorID}, &keptSubject{patientRev: patientRev, proRev: proRev, sub: copySubject(sub)})
	}
	return sub, nil
}

// jsonRows decodes a JSON array of rows (each an array of column values, as Dialect.JSONRows
// builds it) with the same scan function as a query's rows.
func jsonRows[T any](raw string, scan func(scanner) (*T, error)) ([]*T, error) {
	if raw == "" || raw == "[]" {
		return nil, nil
	}
	var rows [][]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(rows))
	for _, r := range rows {
		v, err := scan(jsonRow(r))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// jsonRow scans one decoded JSON row into Scan's destinations.
type jsonRow []json.RawMessage

func (r jsonRow) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("jsonRow: %d columns, %d destinations", len(r), len(dest))
	}
	for i, d := range dest {
		null := string(r[i]) == "null"
		switch d := d.(type) {
		case *sql.NullInt64:
			*d = sql.NullInt64{}
			if !null {
				if err := json.Unmarshal(r[i], &d.Int64); err != nil {
					return err
				}
				d.Valid = true
			}
		default:
			if null {
				return fmt.Errorf("jsonRow: column %d is null", i)
			}
			if err := json.Unmarshal(r[i], d); err != nil {
				return err
			}
		}
	}
	return nil
}
