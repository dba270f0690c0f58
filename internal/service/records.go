package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
)

// sealedEntry is the sealed part of a profile entry.
type sealedEntry struct {
	Code       string  `json:"code,omitempty"`
	CodeSystem string  `json:"system,omitempty"`
	Label      string  `json:"label"`
	Value      float64 `json:"value,omitempty"`
	Unit       string  `json:"unit,omitempty"`
	Notes      string  `json:"notes,omitempty"`
}

// AddProfileEntry adds a line to the medical profile. Professionals may add vaccinations; the
// patient (or their representative) edits the whole profile.
func (s *Service) AddProfileEntry(ctx context.Context, actor carnet.Actor, patientID string, e *carnet.ProfileEntry) (*carnet.ProfileEntry, error) {
	e.PatientID, e.ID, e.AuthorID = patientID, s.newID(), actor.ID
	switch actor.Kind {
	case carnet.ActorPatient, carnet.ActorRepresentative:
		e.AuthorKind = carnet.AuthorPatient
	case carnet.ActorProfessional, carnet.ActorRegulator:
		e.AuthorKind = carnet.AuthorProfessional
	default:
		e.AuthorKind = carnet.AuthorSystem
	}
	if err := e.Validate(s.now()); err != nil {
		return nil, err
	}
	action := policy.ActionWriteProfile
	if e.Kind == carnet.ProfileVaccination {
		action = policy.ActionAddVaccination
	}
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		return s.decided(ctx, tx, actor, sub, action, nil, "profile", e.ID, &denied, func() error {
			dek, err := s.subjectKey(ctx, tx, sub)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(sealedEntry{e.Code, e.CodeSystem, e.Label, e.Value, e.Unit, e.Notes})
			if e.Sealed, err = s.seal(dek, sealProfile, patientID, e.ID, b); err != nil {
				return err
			}
			return tx.CreateProfileEntry(ctx, e)
		})
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Profile returns the entries of one section of the medical profile ("" for every section the
// actor may read). Professionals may read vaccinations; the rest follows the policy.
func (s *Service) Profile(ctx context.Context, actor carnet.Actor, patientID string, kind carnet.ProfileKind) ([]*carnet.ProfileEntry, error) {
	action := policy.ActionReadProfile
	if kind == carnet.ProfileVaccination {
		action = policy.ActionReadVaccinations
	}
	var out []*carnet.ProfileEntry
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		return s.decided(ctx, tx, actor, sub, action, nil, "profile", string(kind), &denied, func() error {
			dek, err := s.subjectKey(ctx, tx, sub)
			if err != nil {
				return err
			}
			entries, err := tx.ListProfileEntries(ctx, patientID, kind)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.Deleted {
					continue
				}
				b, err := s.open(dek, sealProfile, patientID, e.ID, e.Sealed)
				if err != nil {
					return err
				}
				var se sealedEntry
				if err := json.Unmarshal(b, &se); err != nil {
					return carnet.WrapErr("service.Profile", carnet.EINTEGRITY, err)
				}
				e.Code, e.CodeSystem, e.Label, e.Value, e.Unit, e.Notes = se.Code, se.CodeSystem, se.Label, se.Value, se.Unit, se.Notes
				out = append(out, e)
			}
			return nil
		})
	})
	if err == nil {
		err = denied
	}
	return out, err
}

// PutWishes replaces the patient's Entourage & Volontés.
func (s *Service) PutWishes(ctx context.Context, actor carnet.Actor, patientID string, w *carnet.Wishes) error {
	w.PatientID = patientID
	if err := w.Validate(); err != nil {
		return err
	}
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		return s.decided(ctx, tx, actor, sub, policy.ActionWriteWishes, nil, "wishes", patientID, &denied, func() error {
			dek, err := s.subjectKey(ctx, tx, sub)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(w)
			if w.Sealed, err = s.seal(dek, sealWishes, patientID, "", b); err != nil {
				return err
			}
			return tx.PutWishes(ctx, w)
		})
	})
	if err == nil {
		err = denied
	}
	return err
}

// Wishes returns the patient's Entourage & Volontés (an empty value if never set).
func (s *Service) Wishes(ctx context.Context, actor carnet.Actor, patientID string) (*carnet.Wishes, error) {
	var out *carnet.Wishes
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		return s.decided(ctx, tx, actor, sub, policy.ActionReadWishes, nil, "wishes", patientID, &denied, func() error {
			w, err := tx.Wishes(ctx, patientID)
			if carnet.ErrorCode(err) == carnet.ENOTFOUND {
				out = &carnet.Wishes{PatientID: patientID}
				return nil
			}
			if err != nil {
				return err
			}
			dek, err := s.subjectKey(ctx, tx, sub)
			if err != nil {
				return err
			}
			b, err := s.open(dek, sealWishes, patientID, "", w.Sealed)
			if err != nil {
				return err
			}
			out = &carnet.Wishes{}
			if err := json.Unmarshal(b, out); err != nil {
				return carnet.WrapErr("service.Wishes", carnet.EINTEGRITY, err)
			}
			out.PatientID, out.UpdatedAt = patientID, w.UpdatedAt
			return nil
		})
	})
	if err == nil {
		err = denied
	}
	return out, err
}

// DeclareConsent records, by a professional, that the patient consented to their access;
// expiresAt (optional) time-boxes it and purpose binds it.
func (s *Service) DeclareConsent(ctx context.Context, actor carnet.Actor, patientID string, kind carnet.ConsentKind, purpose string, expiresAt *time.Time) (*carnet.Consent, error) {
	if kind != carnet.ConsentOral && kind != carnet.ConsentWritten {
		return nil, carnet.Errorf(carnet.EINVALID, "consentement invalide : oral ou écrit")
	}
	c := &carnet.Consent{ID: s.newID(), PatientID: patientID, ProfessionalID: actor.ID, Kind: kind, Purpose: purpose, ExpiresAt: expiresAt}
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		if expiresAt != nil && !expiresAt.After(tx.Now()) {
			return carnet.Errorf(carnet.EINVALID, "consentement invalide : l'échéance est passée")
		}
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		return s.decided(ctx, tx, actor, sub, policy.ActionDeclareConsent, nil, "consent", c.ID, &denied, func() error {
			return tx.CreateConsent(ctx, c)
		})
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// History returns the patient's access history, newest first.
func (s *Service) History(ctx context.Context, actor carnet.Actor, patientID string, f carnet.AuditFilter) ([]*carnet.AuditEvent, error) {
	f.PatientID, f.Desc = patientID, true
	var out []*carnet.AuditEvent
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		// Read the history before the reading itself is recorded.
		if out, err = tx.ListAudit(ctx, f); err != nil {
			return err
		}
		if actor.Kind == carnet.ActorRepresentative {
			// A minor's confidential care stays out of the parent's view, its traces included.
			if out, err = s.withoutConfidential(ctx, tx, patientID, out); err != nil {
				return err
			}
		}
		return s.decided(ctx, tx, actor, sub, policy.ActionReadHistory, nil, "history", patientID, &denied, nil)
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// withoutConfidential drops the events about documents hidden from legal representatives.
func (s *Service) withoutConfidential(ctx context.Context, tx carnet.Tx, patientID string, evs []*carnet.AuditEvent) ([]*carnet.AuditEvent, error) {
	hidden := map[string]bool{}
	for page := 0; ; page++ {
		docs, err := tx.ListDocuments(ctx, carnet.DocumentFilter{PatientID: patientID, Page: carnet.Page{Limit: 1000, Offset: page * 1000}})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.HiddenFromRepresentatives {
				hidden[d.ID] = true
			}
		}
		if len(docs) < 1000 {
			break
		}
	}
	out := evs[:0]
	for _, e := range evs {
		if e.TargetType == "document" && hidden[e.TargetID] {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}
