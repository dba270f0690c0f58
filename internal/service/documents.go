package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
)

// NewDocument is what a depositor supplies.
type NewDocument struct {
	TypeCode                  string
	Title                     string
	MediaType                 string
	ServiceDate               time.Time // zero: today
	Body                      io.Reader
	HiddenFromProfessionals   bool
	HiddenFromPatient         bool
	HiddenFromRepresentatives bool
}

// readBody reads at most the configured size, refusing empty and oversized bodies.
func (s *Service) readBody(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, carnet.Errorf(carnet.EINVALID, "contenu vide")
	}
	b, err := io.ReadAll(io.LimitReader(r, s.cfg.MaxBodySize+1))
	if err != nil {
		return nil, carnet.WrapErr("service.readBody", carnet.EINVALID, err)
	}
	if int64(len(b)) > s.cfg.MaxBodySize {
		return nil, carnet.Errorf(carnet.ETOOLARGE, "document trop volumineux : %d octets au plus", s.cfg.MaxBodySize)
	}
	if len(b) == 0 {
		return nil, carnet.Errorf(carnet.EINVALID, "contenu vide")
	}
	return b, nil
}

// DepositDocument adds a document to a patient's space: validated, its body encrypted under the
// patient's key into the blob store, its metadata and audit event written in one transaction.
func (s *Service) DepositDocument(ctx context.Context, actor carnet.Actor, patientID string, in NewDocument) (*carnet.Document, error) {
	return s.deposit(ctx, actor, patientID, in, "")
}

// ReplaceDocument deposits a new version of a document; the old one becomes deprecated.
func (s *Service) ReplaceDocument(ctx context.Context, actor carnet.Actor, patientID, oldID string, in NewDocument) (*carnet.Document, error) {
	if oldID == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "document à remplacer manquant")
	}
	return s.deposit(ctx, actor, patientID, in, oldID)
}

func (s *Service) deposit(ctx context.Context, actor carnet.Actor, patientID string, in NewDocument, replaces string) (*carnet.Document, error) {
	body, err := s.readBody(in.Body)
	if err != nil {
		return nil, err
	}
	if err := carnet.CheckContent(in.MediaType, body); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	d := &carnet.Document{
		ID: s.newID(), PatientID: patientID, TypeCode: in.TypeCode, Title: in.Title, ServiceDate: in.ServiceDate,
		Status: carnet.DocCurrent, ReplacesID: replaces, MediaType: in.MediaType, Size: int64(len(body)), ContentHash: sum[:],
		HiddenFromProfessionals: in.HiddenFromProfessionals, HiddenFromPatient: in.HiddenFromPatient,
		HiddenFromRepresentatives: in.HiddenFromRepresentatives,
		AuthorID:                  actor.ID, AuthorName: actor.Name, StructureID: actor.StructureID,
	}
	switch actor.Kind {
	case carnet.ActorProfessional, carnet.ActorRegulator:
		d.AuthorKind = carnet.AuthorProfessional
	case carnet.ActorPatient, carnet.ActorRepresentative:
		d.AuthorKind = carnet.AuthorPatient
	default:
		d.AuthorKind = carnet.AuthorSystem
	}
	if d.ServiceDate.IsZero() {
		d.ServiceDate = s.now().UTC().Truncate(24 * time.Hour)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	d.BlobKey = patientID + "/" + d.ID

	// The body goes to the blob store first, sealed under the patient's key; if the transaction
	// then fails or is denied, the blob is removed, so nothing partial stays.
	var dek []byte
	if err := s.store.View(ctx, func(tx carnet.Tx) error {
		if _, err := tx.Patient(ctx, patientID); err != nil {
			return notFound(err)
		}
		dek, err = s.dataKey(ctx, tx, patientID)
		return err
	}); err != nil {
		return nil, err
	}
	sealed, err := s.seal(dek, sealBody, patientID, d.ID, body)
	if err != nil {
		return nil, err
	}
	if d.TitleSealed, err = s.seal(dek, sealTitle, patientID, d.ID, []byte(d.Title)); err != nil {
		return nil, err
	}
	if err := s.blobs.Put(ctx, d.BlobKey, bytes.NewReader(sealed), int64(len(sealed))); err != nil {
		return nil, err
	}
	var denied error
	err = s.store.Update(ctx, func(tx carnet.Tx) error {
		// A replacement's old version comes with the subject (nil when there is none).
		sub, old, err := s.loadWith(ctx, tx, &actor, patientID, replaces)
		if err != nil {
			return err
		}
		if _, err := s.subjectKey(ctx, tx, sub); err != nil {
			return err
		}
		action, target := policy.ActionDepositDocument, d
		dec := s.decide(actor, sub, policy.ActionDepositDocument, d, tx)
		if replaces != "" {
			if old == nil {
				return carnet.Errorf(carnet.ENOTFOUND, "document à remplacer introuvable")
			}
			if old.Status != carnet.DocCurrent {
				return carnet.Errorf(carnet.ECONFLICT, "seule la version en vigueur d'un document peut être remplacée")
			}
			// A replacement is decided on the old version, then the new one as a deposit.
			action, target = policy.ActionReplaceDocument, old
			if rd := s.decide(actor, sub, policy.ActionReplaceDocument, old, tx); !rd.Allow || dec.Allow {
				dec = rd
			}
		}
		return s.record(ctx, tx, actor, sub, action, dec, target, "document", d.ID, &denied, func() error {
			if old != nil {
				old.Status = carnet.DocDeprecated
				if err := tx.UpdateDocument(ctx, old); err != nil {
					return err
				}
			}
			return tx.CreateDocument(ctx, d)
		})
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		if derr := s.blobs.Delete(context.WithoutCancel(ctx), d.BlobKey); derr != nil && carnet.ErrorCode(derr) != carnet.ENOTFOUND {
			s.log.Error("orphan blob after failed deposit", "op", "service.deposit", "err", derr)
		}
		return nil, err
	}
	return d, nil
}

// ReadDocument returns a document and its decrypted body, if the policy allows the actor to
// read it. The access (or the refusal) is in the patient's history before any byte is returned.
// The body's SHA-256 is checked against the one recorded at deposit.
func (s *Service) ReadDocument(ctx context.Context, actor carnet.Actor, patientID, docID string) (*carnet.Document, []byte, error) {
	d, dek, err := s.readDocument(ctx, actor, patientID, docID)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := s.blobs.Get(ctx, d.BlobKey)
	if carnet.ErrorCode(err) == carnet.ENOTFOUND {
		// The document exists and may be read: a body gone is damage, not a document not found
		// (bodies are removed only after a failed deposit, and by the destruction of a space).
		s.log.Error("document body missing", "op", "service.ReadDocument", "document", d.ID)
		return nil, nil, carnet.Errorf(carnet.EINTEGRITY, "le contenu de ce document est introuvable")
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := s.open(dek, sealBody, patientID, d.ID, sealed)
	if err != nil {
		s.log.Error("document body failed authentication", "op", "service.ReadDocument", "document", d.ID)
		return nil, nil, carnet.Errorf(carnet.EINTEGRITY, "le contenu de ce document est altéré")
	}
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], d.ContentHash) {
		s.log.Error("document body hash mismatch", "op", "service.ReadDocument", "document", d.ID)
		return nil, nil, carnet.Errorf(carnet.EINTEGRITY, "le contenu de ce document ne correspond pas à son empreinte")
	}
	return d, body, nil
}

// DocumentInfo returns a document with its title but not its body: the same decision and the
// same event in the history as ReadDocument (a description of a document tells about the care
// as much as its content), without fetching and decrypting the body.
func (s *Service) DocumentInfo(ctx context.Context, actor carnet.Actor, patientID, docID string) (*carnet.Document, error) {
	d, _, err := s.readDocument(ctx, actor, patientID, docID)
	return d, err
}

// readDocument decides and records a read of a document, and returns it with its title opened
// and the patient's data key.
func (s *Service) readDocument(ctx context.Context, actor carnet.Actor, patientID, docID string) (*carnet.Document, []byte, error) {
	var d *carnet.Document
	var dek []byte
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, doc, err := s.loadDocument(ctx, tx, &actor, patientID, docID)
		if err != nil {
			return err
		}
		d = doc
		return s.decided(ctx, tx, actor, sub, policy.ActionReadDocument, d, "document", docID, &denied, func() error {
			dek, err = s.subjectKey(ctx, tx, sub)
			return err
		})
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return nil, nil, err
	}
	if err := s.openTitle(dek, d); err != nil {
		return nil, nil, err
	}
	return d, dek, nil
}

func (s *Service) openTitle(dek []byte, d *carnet.Document) error {
	title, err := s.open(dek, sealTitle, d.PatientID, d.ID, d.TitleSealed)
	if err != nil {
		return err
	}
	d.Title = string(title)
	return nil
}

// ListDocuments lists the documents of a patient that the actor may see, with their titles. The
// listing is one event in the history; documents the actor may not see are left out silently.
func (s *Service) ListDocuments(ctx context.Context, actor carnet.Actor, patientID string, f carnet.DocumentFilter) ([]*carnet.Document, error) {
	f.PatientID = patientID
	var out []*carnet.Document
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		denied, out = nil, nil // the transaction may run again
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		docs, err := tx.ListDocuments(ctx, f)
		if err != nil {
			return err
		}
		// Each document is decided on its own; the listing's event records the outcome: allowed
		// if any document is visible, else the first refusal. An empty record is decided as a
		// record-level access (reading vaccinations, which every professional with access may).
		var visible []*carnet.Document
		var first *policy.Decision
		var firstDoc *carnet.Document
		for _, d := range docs {
			dec := s.decide(actor, sub, policy.ActionListDocument, d, tx)
			if dec.Allow {
				visible = append(visible, d)
			} else if first == nil {
				first, firstDoc = &dec, d
			}
		}
		var dec policy.Decision
		switch {
		case len(visible) > 0:
			dec = policy.Decision{Allow: true, Reason: s.decide(actor, sub, policy.ActionListDocument, visible[0], tx).Reason,
				GridVersion: s.Grid().Version()}
		case first != nil:
			dec = *first
		default:
			dec = s.decide(actor, sub, policy.ActionReadVaccinations, nil, tx)
		}
		if s.metrics != nil {
			s.metrics.Decision(policy.ActionListDocument.String(), dec.Allow)
		}
		e := s.event(tx, actor, patientID, policy.ActionListDocument.String(), "documents", "", dec.Allow, reasonText(dec))
		if err := s.appendEvent(ctx, tx, e); err != nil {
			return err
		}
		if !dec.Allow {
			if firstDoc != nil && carnet.ErrorCode(s.denial(actor, sub, policy.ActionListDocument, firstDoc, dec)) == carnet.ENOTFOUND {
				return nil // only hidden documents: an empty list, not a refusal
			}
			denied = s.denial(actor, sub, policy.ActionListDocument, firstDoc, dec)
			return nil
		}
		if err := s.notify(ctx, tx, actor, sub, e); err != nil {
			return err
		}
		dek, err := s.subjectKey(ctx, tx, sub)
		if err != nil {
			return err
		}
		for _, d := range visible {
			if err := s.openTitle(dek, d); err != nil {
				return err
			}
		}
		out = visible
		return nil
	})
	if err == nil {
		err = denied
	}
	return out, err
}

// Document flag changes.
type FlagChange int

// Flag changes a professional or the patient may ask for.
const (
	HideFromProfessionals FlagChange = iota + 1
	UnhideFromProfessionals
	RevealToPatient
	RevealToRepresentatives
	Delete
)

// ChangeDocument applies a flag change or a deletion to a document, as the policy allows.
func (s *Service) ChangeDocument(ctx context.Context, actor carnet.Actor, patientID, docID string, change FlagChange) (*carnet.Document, error) {
	var action policy.Action
	switch change {
	case HideFromProfessionals:
		action = policy.ActionHideDocument
	case UnhideFromProfessionals:
		action = policy.ActionUnhideDocument
	case RevealToPatient:
		action = policy.ActionRevealToPatient
	case RevealToRepresentatives:
		action = policy.ActionRevealToRepresentatives
	case Delete:
		action = policy.ActionDeleteDocument
	default:
		return nil, carnet.Errorf(carnet.EINVALID, "modification de document inconnue")
	}
	var d *carnet.Document
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, doc, err := s.loadDocument(ctx, tx, &actor, patientID, docID)
		if err != nil {
			return err
		}
		d = doc
		return s.decided(ctx, tx, actor, sub, action, d, "document", docID, &denied, func() error {
			switch change {
			case HideFromProfessionals:
				if d.HiddenFromPatient {
					return carnet.Errorf(carnet.ECONFLICT, "un document invisible au patient ne peut pas être masqué aux professionnels")
				}
				d.HiddenFromProfessionals = true
			case UnhideFromProfessionals:
				d.HiddenFromProfessionals = false
			case RevealToPatient:
				d.HiddenFromPatient = false
			case RevealToRepresentatives:
				d.HiddenFromRepresentatives = false
			case Delete:
				d.Status = carnet.DocDeleted
			}
			return tx.UpdateDocument(ctx, d)
		})
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DocumentPatient returns the patient a document belongs to, for callers that address a
// document by its ID alone (FHIR). It reveals nothing of the document: reading it is decided by
// ReadDocument.
func (s *Service) DocumentPatient(ctx context.Context, actor carnet.Actor, documentID string) (string, error) {
	if actor.Kind == carnet.ActorOperator || actor.Kind == "" {
		return "", carnet.Errorf(carnet.ENOTFOUND, "document introuvable")
	}
	var id string
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		id, err = tx.DocumentPatient(ctx, documentID)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return carnet.Errorf(carnet.ENOTFOUND, "document introuvable")
		}
		return err
	})
	return id, err
}
