package service

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/policy"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// subject is what a decision about one patient needs, loaded in the decision's transaction.
type subject struct {
	patient  *carnet.Patient
	settings *carnet.PatientSettings
	consents []*carnet.Consent // the acting professional's
	blocks   []*carnet.Block
	pro      *carnet.Professional // the acting professional's directory record
	accessed bool                 // the actor accessed this record before (an allowed event exists)
	key      *carnet.DataKey      // the patient's wrapped data key, read with the rest (nil: none)
}

// load reads the patient and, for a professional, what the policy needs about them. A
// professional with an open emergency session on this record acts in its mode: load sets the
// actor's mode, reason and start from it.
func (s *Service) load(ctx context.Context, tx carnet.Tx, actor *carnet.Actor, patientID string) (*subject, error) {
	sub, _, err := s.loadWith(ctx, tx, actor, patientID, "")
	return sub, err
}

// loadDocument is load that also reads one of the patient's documents, in the same query;
// ENOTFOUND "document introuvable" when the patient has no document by that ID.
func (s *Service) loadDocument(ctx context.Context, tx carnet.Tx, actor *carnet.Actor, patientID, docID string) (*subject, *carnet.Document, error) {
	sub, d, err := s.loadWith(ctx, tx, actor, patientID, docID)
	if err == nil && d == nil {
		err = carnet.Errorf(carnet.ENOTFOUND, "document introuvable")
	}
	return sub, d, err
}

func (s *Service) loadWith(ctx context.Context, tx carnet.Tx, actor *carnet.Actor, patientID, docID string) (*subject, *carnet.Document, error) {
	professional := actor.Kind == carnet.ActorProfessional || actor.Kind == carnet.ActorRegulator
	actorID := ""
	if professional {
		actorID = actor.ID
	}
	// One query for the patient, their settings, the professional's standing on the record and
	// the document asked for.
	var row *carnet.Subject
	var err error
	if docID == "" {
		row, err = tx.Subject(ctx, patientID, actorID)
	} else {
		row, err = tx.SubjectDocument(ctx, patientID, actorID, docID)
	}
	if err != nil {
		return nil, nil, notFound(err)
	}
	sub := &subject{patient: row.Patient, settings: row.Settings, pro: row.Professional, accessed: row.Accessed, key: row.DataKey}
	if !professional {
		return sub, row.Document, nil
	}
	if sub.pro != nil {
		// The directory, read in this transaction, is the truth about the professional: a
		// token's claims may be hours old.
		actor.Name, actor.Profession, actor.Specialty = sub.pro.DisplayName(), sub.pro.Profession, sub.pro.Specialty
		actor.StructureID, actor.StructureName = sub.pro.StructureID, sub.pro.StructureName
	}
	sub.consents, sub.blocks = row.Consents, row.Blocks
	if sess := row.Emergency; (actor.Mode == "" || actor.Mode == carnet.ModeNormal) && sess != nil && tx.Now().Before(sess.EndsAt) {
		actor.Mode, actor.ModeReason, actor.ModeSince = sess.Mode, sess.Reason, sess.StartedAt
		if sess.Mode == carnet.ModeRegulation {
			actor.Kind = carnet.ActorRegulator // a centre 15 session is the SAMU regulating doctor's
		}
		reportMode(ctx, sess.Mode, sess.EndsAt)
	}
	return sub, row.Document, nil
}

// notFound hides whether a patient exists from callers that may not know it.
func notFound(err error) error {
	if carnet.ErrorCode(err) == carnet.ENOTFOUND {
		return carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
	}
	return err
}

// event builds the audit event of an action by actor on the subject.
func (s *Service) event(tx carnet.Tx, actor carnet.Actor, patientID, action, targetType, targetID string, allow bool, reason string) *carnet.AuditEvent {
	return s.eventAt(tx.Now(), actor, patientID, action, targetType, targetID, allow, reason)
}

// eventAt is event at time t, for an event built before its transaction (bulk enrolment).
func (s *Service) eventAt(t time.Time, actor carnet.Actor, patientID, action, targetType, targetID string, allow bool, reason string) *carnet.AuditEvent {
	e := &carnet.AuditEvent{
		ID: s.newID(), PatientID: patientID, Time: t,
		ActorKind: actor.Kind, ActorID: actor.ID, ActorName: actor.Name, ActorProfession: actor.Profession,
		ActorStructure: actor.StructureName, OnBehalfOf: actor.OnBehalfOf,
		Action: action, TargetType: targetType, TargetID: targetID,
		Mode: actor.Mode, Decision: carnet.DecisionDeny, Reason: reason, RequestID: actor.RequestID,
	}
	if e.Mode == "" {
		e.Mode = carnet.ModeNormal
	}
	if allow {
		e.Decision = carnet.DecisionAllow
	}
	if e.Mode != carnet.ModeNormal && actor.ModeReason != "" {
		e.Reason += " ; motif : " + actor.ModeReason
	}
	return e
}

// appendEvent links e to its patient's chain and stores it. If it fails, the caller's
// transaction fails with it: no action without its audit event.
func (s *Service) appendEvent(ctx context.Context, tx carnet.Tx, e *carnet.AuditEvent) error {
	if err := tx.AppendLinked(ctx, e); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// decided runs one access: it decides, records the event (allowed or denied) in tx, and, when
// allowed, runs do in the same transaction. A denial is returned through denied so that the
// caller commits the transaction (keeping the denied event) and then returns the denial.
func (s *Service) decided(ctx context.Context, tx carnet.Tx, actor carnet.Actor, sub *subject, action policy.Action,
	doc *carnet.Document, targetType, targetID string, denied *error, do func() error) error {
	return s.record(ctx, tx, actor, sub, action, s.decide(actor, sub, action, doc, tx), doc, targetType, targetID, denied, do)
}

// record is decided with the decision already taken.
func (s *Service) record(ctx context.Context, tx carnet.Tx, actor carnet.Actor, sub *subject, action policy.Action,
	d policy.Decision, doc *carnet.Document, targetType, targetID string, denied *error, do func() error) error {
	return s.recordNamed(ctx, tx, actor, sub, action, action.String(), d, doc, targetType, targetID, denied, do)
}

// recordNamed is record with the event's action name given.
func (s *Service) recordNamed(ctx context.Context, tx carnet.Tx, actor carnet.Actor, sub *subject, action policy.Action, name string,
	d policy.Decision, doc *carnet.Document, targetType, targetID string, denied *error, do func() error) error {
	if s.metrics != nil {
		s.metrics.Decision(name, d.Allow)
	}
	e := s.event(tx, actor, sub.patient.ID, name, targetType, targetID, d.Allow, reasonText(d))
	if err := s.appendEvent(ctx, tx, e); err != nil {
		return err
	}
	if !d.Allow {
		*denied = s.denial(actor, sub, action, doc, d)
		return nil
	}
	*denied = nil // a store may run a transaction again (PostgreSQL deadlock): forget an earlier run's refusal
	if err := s.notify(ctx, tx, actor, sub, e); err != nil {
		return err
	}
	if do == nil {
		return nil
	}
	return do()
}

// dataKey returns the patient's data key, unwrapped.
func (s *Service) dataKey(ctx context.Context, tx carnet.Tx, patientID string) ([]byte, error) {
	k, err := tx.DataKey(ctx, patientID)
	if err != nil {
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return nil, carnet.Errorf(carnet.EKEY, "clé de données du patient introuvable")
		}
		return nil, err
	}
	return s.unwrapKey(k)
}

// subjectKey returns the data key of a loaded subject's patient, unwrapped (read with the
// subject: no second query).
func (s *Service) subjectKey(ctx context.Context, tx carnet.Tx, sub *subject) ([]byte, error) {
	if sub.key == nil {
		return s.dataKey(ctx, tx, sub.patient.ID)
	}
	return s.unwrapKey(sub.key)
}

func (s *Service) unwrapKey(k *carnet.DataKey) ([]byte, error) {
	patientID := k.PatientID
	if k.DestroyedAt != nil {
		return nil, carnet.Errorf(carnet.EKEY, "les données de cet espace santé ont été détruites")
	}
	return s.ring.Unwrap(k.Wrapped, k.KEKID, patientID)
}

func (s *Service) seal(key []byte, kind, patientID, recordID string, plaintext []byte) ([]byte, error) {
	return keys.Seal(key, plaintext, keys.AAD(kind, patientID, recordID))
}

func (s *Service) open(key []byte, kind, patientID, recordID string, sealed []byte) ([]byte, error) {
	return keys.Open(key, sealed, keys.AAD(kind, patientID, recordID))
}

// Kinds of sealed values (bound into their additional data).
const (
	sealNIR     = "nir"
	sealTitle   = "document-title"
	sealBody    = "document-body"
	sealProfile = "profile"
	sealWishes  = "wishes"
	sealTOTP    = "totp"
)
