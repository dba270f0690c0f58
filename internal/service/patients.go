package service

import (
	"context"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/policy"
)

// CreatePatient enrols an insured person: it validates their identity traits, gives them a data
// key, seals their NIR and records the creation in their history. Only an operator or Carnet
// itself enrols.
func (s *Service) CreatePatient(ctx context.Context, actor carnet.Actor, p *carnet.Patient) (*carnet.Patient, error) {
	if actor.Kind != carnet.ActorOperator && actor.Kind != carnet.ActorSystem {
		return nil, carnet.Errorf(carnet.EFORBIDDEN, "seul l'organisme d'assurance maladie inscrit les assurés")
	}
	p.NIR = carnet.NormalizeNIR(p.NIR)
	if p.NIR == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "patient invalide : NIR manquant")
	}
	if p.INSOID == "" {
		p.INSOID = carnet.OIDINSNIR
	}
	if p.Status == "" {
		p.Status = carnet.PatientEnrolled
	}
	if err := p.Validate(s.now()); err != nil {
		return nil, err
	}
	p.ID = s.newID()
	dek, err := keys.NewDataKey()
	if err != nil {
		return nil, err
	}
	if p.NIRSealed, err = s.seal(dek, sealNIR, p.ID, "", []byte(p.NIR)); err != nil {
		return nil, err
	}
	p.NIRIndex = keys.Index(s.indexKey, p.NIR)
	wrapped, kek, err := s.ring.Wrap(dek, p.ID)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx carnet.Tx) error {
		if p.RightsHolderID != "" {
			if _, err := tx.Patient(ctx, p.RightsHolderID); err != nil {
				return carnet.Errorf(carnet.EINVALID, "patient invalide : l'ouvrant droit %s est inconnu", p.RightsHolderID)
			}
		}
		if err := tx.CreatePatient(ctx, p); err != nil {
			if carnet.ErrorCode(err) == carnet.ECONFLICT {
				return carnet.Errorf(carnet.ECONFLICT, "un espace santé existe déjà pour ce NIR")
			}
			return err
		}
		if err := tx.CreateDataKey(ctx, &carnet.DataKey{PatientID: p.ID, Wrapped: wrapped, KEKID: kek}); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.create", "patient", p.ID, true, "inscription"))
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PatientByNIR finds a patient by NIR, for the operator and for professionals looking up an
// INS. The look-up itself reveals no health content.
func (s *Service) PatientByNIR(ctx context.Context, actor carnet.Actor, nir string) (*carnet.Patient, error) {
	switch actor.Kind {
	case carnet.ActorOperator, carnet.ActorSystem, carnet.ActorProfessional, carnet.ActorRegulator:
	default:
		return nil, carnet.Errorf(carnet.EFORBIDDEN, "recherche par NIR non autorisée")
	}
	nir = carnet.NormalizeNIR(nir)
	if err := carnet.ValidateNIR(nir); err != nil {
		return nil, err
	}
	var p *carnet.Patient
	professional := actor.Kind == carnet.ActorProfessional || actor.Kind == carnet.ActorRegulator
	find := func(tx carnet.Tx) error {
		if professional {
			pro, err := tx.Professional(ctx, actor.ID)
			if err != nil || !pro.Active {
				return carnet.Errorf(carnet.EFORBIDDEN, "professionnel inconnu de l'annuaire ou désactivé")
			}
			actor.Name, actor.Profession, actor.StructureName = pro.DisplayName(), pro.Profession, pro.StructureName
		}
		var err error
		if p, err = tx.PatientByNIRIndex(ctx, keys.Index(s.indexKey, nir)); err != nil {
			return notFound(err)
		}
		if err := s.openPatient(ctx, tx, p); err != nil {
			return err
		}
		if !professional {
			return nil
		}
		// A professional's look-up reveals who the patient is: it is in the patient's history.
		return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.search", "patient", p.ID, true, "recherche par INS"))
	}
	var err error
	if professional {
		err = s.store.Update(ctx, find)
	} else {
		err = s.store.View(ctx, find)
	}
	return p, err
}

// Patient returns a patient's identity to themselves, their legal representative or the
// operator; and to a professional who may access the record at all (consent or emergency
// session, not blocked), which is recorded as "patient.read".
func (s *Service) Patient(ctx context.Context, actor carnet.Actor, patientID string) (*carnet.Patient, error) {
	var p *carnet.Patient
	if actor.Kind == carnet.ActorProfessional || actor.Kind == carnet.ActorRegulator {
		err := s.run(ctx, actor, patientID, policy.ActionReadProfile, nil, "patient", patientID, func(tx carnet.Tx, sub *subject) error {
			p = sub.patient
			return s.openPatient(ctx, tx, p)
		}, "patient.read")
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		if p, err = tx.Patient(ctx, patientID); err != nil {
			return notFound(err)
		}
		switch {
		case actor.Kind == carnet.ActorPatient && actor.ID == patientID,
			actor.Kind == carnet.ActorRepresentative && p.RightsHolderID == actor.ID,
			actor.Kind == carnet.ActorOperator, actor.Kind == carnet.ActorSystem:
		default:
			return carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
		}
		return s.openPatient(ctx, tx, p)
	})
	return p, err
}

// openPatient fills the clear NIR from its sealed form. A patient whose key was destroyed keeps
// an empty NIR.
func (s *Service) openPatient(ctx context.Context, tx carnet.Tx, p *carnet.Patient) error {
	dek, err := s.dataKey(ctx, tx, p.ID)
	if carnet.ErrorCode(err) == carnet.EKEY && p.Status == carnet.PatientDestroyed {
		return nil
	}
	if err != nil {
		return err
	}
	nir, err := s.open(dek, sealNIR, p.ID, "", p.NIRSealed)
	if err != nil {
		return err
	}
	p.NIR = string(nir)
	return nil
}

// Children lists the minors whose rights a parent holds.
func (s *Service) Children(ctx context.Context, actor carnet.Actor) ([]*carnet.Patient, error) {
	if actor.Kind != carnet.ActorPatient && actor.Kind != carnet.ActorRepresentative {
		return nil, carnet.Errorf(carnet.EFORBIDDEN, "réservé aux parents")
	}
	var out []*carnet.Patient
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		out, err = tx.ListPatients(ctx, carnet.PatientFilter{RightsHolderID: actor.ID})
		return err
	})
	return out, err
}

// DestroyPatientData crypto-shreds a patient's space: their data key is destroyed, so that every
// document body, title, profile entry and their NIR become unreadable, and the space is marked
// destroyed. The history of the destruction is kept. Only the patient, their representative or
// the operator (on the patient's request) may do it. Their account, passkeys and sessions go too.
func (s *Service) DestroyPatientData(ctx context.Context, actor carnet.Actor, patientID, reason string) error {
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		p, err := tx.Patient(ctx, patientID)
		if err != nil {
			return notFound(err)
		}
		if !s.owns(tx, actor, p) {
			return carnet.Errorf(carnet.EFORBIDDEN, "seul le titulaire de l'espace peut en demander la destruction")
		}
		return s.destroy(ctx, tx, actor, p, reason)
	})
}

// Stats returns aggregate figures for the operator's home page; no personal data.
func (s *Service) Stats(ctx context.Context) (carnet.Counts, error) {
	var c carnet.Counts
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		c, err = tx.Counts(ctx)
		return err
	})
	return c, err
}
