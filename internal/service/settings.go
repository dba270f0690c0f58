package service

import (
	"context"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
)

// SettingsChange lists the settings to change; nil fields stay as they are.
type SettingsChange struct {
	HideAll           *bool
	RegulationAllowed *bool
	BreakGlassAllowed *bool
	TreatingDoctorID  *string // "" to remove the declared médecin traitant
	NotifyAccess      *string // "email", "sms" or "none"
	NotifyAction      *string
	NotifyEmergency   *string // "email" or "sms": emergencies are always announced
}

func validChannel(c *string, allowNone bool) bool {
	return c == nil || *c == "email" || *c == "sms" || (allowNone && *c == "none")
}

// run is the common shape of a use case on one patient's space: load, decide, record, act.
// An optional event name records the access under another name than the policy action's (a
// read decided as the action that governs it).
func (s *Service) run(ctx context.Context, actor carnet.Actor, patientID string, action policy.Action, doc *carnet.Document,
	targetType, targetID string, do func(tx carnet.Tx, sub *subject) error, event ...string) error {
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		var fn func() error
		if do != nil {
			fn = func() error { return do(tx, sub) }
		}
		d := s.decide(actor, sub, action, doc, tx)
		name := action.String()
		if len(event) > 0 {
			name = event[0]
		}
		return s.recordNamed(ctx, tx, actor, sub, action, name, d, doc, targetType, targetID, &denied, fn)
	})
	if err == nil {
		err = denied
	}
	return err
}

// Settings returns the patient's settings, to the patient or their representative.
func (s *Service) Settings(ctx context.Context, actor carnet.Actor, patientID string) (*carnet.PatientSettings, error) {
	var out *carnet.PatientSettings
	err := s.readSpace(ctx, actor, patientID, policy.ActionWriteSettings, "settings.read", func(tx carnet.Tx, sub *subject) error {
		out = sub.settings
		return nil
	})
	return out, err
}

// readSpace runs a read of the patient's own management data (settings, blocks), allowed to
// whoever may change it. The patient's own reads are not recorded; anyone else's are, allowed or
// refused, like every access by someone else.
func (s *Service) readSpace(ctx context.Context, actor carnet.Actor, patientID string, decideAs policy.Action, event string,
	fn func(tx carnet.Tx, sub *subject) error) error {
	own := actor.Kind == carnet.ActorPatient && actor.ID == patientID
	var denied error
	body := func(tx carnet.Tx) error {
		denied = nil // the transaction may run again
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		d := s.decide(actor, sub, decideAs, nil, tx)
		if !own {
			if err := s.appendEvent(ctx, tx, s.event(tx, actor, patientID, event, "settings", patientID, d.Allow, reasonText(d))); err != nil {
				return err
			}
		}
		if !d.Allow {
			denied = carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
			return nil
		}
		return fn(tx, sub)
	}
	var err error
	if own {
		err = s.store.View(ctx, body)
	} else {
		err = s.store.Update(ctx, body)
	}
	if err == nil {
		err = denied
	}
	return err
}

// ChangeSettings changes the patient's access and notification choices.
func (s *Service) ChangeSettings(ctx context.Context, actor carnet.Actor, patientID string, c SettingsChange) (*carnet.PatientSettings, error) {
	if !validChannel(c.NotifyAccess, true) || !validChannel(c.NotifyAction, true) || !validChannel(c.NotifyEmergency, false) {
		return nil, carnet.Errorf(carnet.EINVALID, "canal de notification invalide : email, sms ou none (les urgences sont toujours notifiées)")
	}
	var out *carnet.PatientSettings
	err := s.run(ctx, actor, patientID, policy.ActionWriteSettings, nil, "settings", patientID, func(tx carnet.Tx, sub *subject) error {
		st := *sub.settings
		if c.TreatingDoctorID != nil && *c.TreatingDoctorID != "" {
			p, err := tx.Professional(ctx, *c.TreatingDoctorID)
			if err != nil || p.Profession != "10" {
				return carnet.Errorf(carnet.EINVALID, "le médecin traitant doit être un médecin de l'annuaire")
			}
		}
		set(&st.HideAll, c.HideAll)
		set(&st.RegulationAllowed, c.RegulationAllowed)
		set(&st.BreakGlassAllowed, c.BreakGlassAllowed)
		set(&st.TreatingDoctorID, c.TreatingDoctorID)
		set(&st.NotifyAccess, c.NotifyAccess)
		set(&st.NotifyAction, c.NotifyAction)
		set(&st.NotifyEmergency, c.NotifyEmergency)
		out = &st
		return tx.PutSettings(ctx, &st)
	})
	return out, err
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// SetAdministrator designates the patient's administrator: a professional who accessed the
// record before ("" removes the administrator).
func (s *Service) SetAdministrator(ctx context.Context, actor carnet.Actor, patientID, professionalID string) error {
	var denied error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		denied = nil // the transaction may run again
		sub, err := s.load(ctx, tx, &actor, patientID)
		if err != nil {
			return err
		}
		req := s.request(&actor, sub, policy.ActionSetAdministrator, nil, tx.Now())
		if professionalID != "" {
			if _, err := tx.Professional(ctx, professionalID); err != nil {
				return carnet.Errorf(carnet.EINVALID, "professionnel inconnu")
			}
			prior, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: patientID, ActorID: professionalID})
			if err != nil {
				return err
			}
			for _, e := range prior {
				req.CandidateAccessedBefore = req.CandidateAccessedBefore || (e.Decision == carnet.DecisionAllow && !isWrite(e.Action))
			}
		} else {
			req.CandidateAccessedBefore = true // removing needs no candidate
		}
		d := s.policy.Load().Decide(req)
		e := s.event(tx, actor, patientID, policy.ActionSetAdministrator.String(), "professional", professionalID, d.Allow, reasonText(d))
		if err := s.appendEvent(ctx, tx, e); err != nil {
			return err
		}
		if !d.Allow {
			denied = &carnet.Error{Code: carnet.EFORBIDDEN, Message: s.policy.Load().Explain(d, req, policy.ExplainNames{Location: paris})}
			return nil
		}
		st := *sub.settings
		st.AdministratorID = professionalID
		return tx.PutSettings(ctx, &st)
	})
	if err == nil {
		err = denied
	}
	return err
}

// Block refuses a professional (or, with structureID, every professional of a structure) any
// access to the record, even with a consent or in an emergency.
func (s *Service) Block(ctx context.Context, actor carnet.Actor, patientID, professionalID, structureID string) (*carnet.Block, error) {
	if (professionalID == "") == (structureID == "") {
		return nil, carnet.Errorf(carnet.EINVALID, "un blocage vise soit un professionnel, soit une structure")
	}
	b := &carnet.Block{ID: s.newID(), PatientID: patientID, ProfessionalID: professionalID, StructureID: structureID}
	target := professionalID
	if target == "" {
		target = structureID
	}
	err := s.run(ctx, actor, patientID, policy.ActionBlock, nil, "block", target, func(tx carnet.Tx, sub *subject) error {
		if professionalID != "" {
			if _, err := tx.Professional(ctx, professionalID); err != nil {
				return carnet.Errorf(carnet.EINVALID, "professionnel inconnu")
			}
		}
		existing, err := tx.Blocks(ctx, patientID)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.RemovedAt == nil && old.ProfessionalID == professionalID && old.StructureID == structureID {
				*b = *old
				return nil // already blocked
			}
		}
		return tx.CreateBlock(ctx, b)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Blocks lists the blocks in force, for the patient's settings.
func (s *Service) Blocks(ctx context.Context, actor carnet.Actor, patientID string) ([]*carnet.Block, error) {
	var out []*carnet.Block
	err := s.readSpace(ctx, actor, patientID, policy.ActionBlock, "blocks.read", func(tx carnet.Tx, sub *subject) error {
		bs, err := tx.Blocks(ctx, patientID)
		for _, b := range bs {
			if b.RemovedAt == nil {
				out = append(out, b)
			}
		}
		return err
	})
	return out, err
}

// Unblock lifts a block; the earlier state (consents included) comes back.
func (s *Service) Unblock(ctx context.Context, actor carnet.Actor, patientID, blockID string) error {
	return s.run(ctx, actor, patientID, policy.ActionUnblock, nil, "block", blockID, func(tx carnet.Tx, sub *subject) error {
		blocks, err := tx.Blocks(ctx, patientID)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			if b.ID == blockID && b.RemovedAt == nil {
				now := tx.Now()
				b.RemovedAt = &now
				return tx.UpdateBlock(ctx, b)
			}
		}
		return carnet.Errorf(carnet.ENOTFOUND, "blocage introuvable")
	})
}

// RevokeConsent withdraws a consent (the patient, or the professional who declared it).
func (s *Service) RevokeConsent(ctx context.Context, actor carnet.Actor, patientID, consentID string) error {
	return s.run(ctx, actor, patientID, policy.ActionRevokeConsent, nil, "consent", consentID, func(tx carnet.Tx, sub *subject) error {
		cs, err := tx.Consents(ctx, patientID, "")
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ID == consentID && c.RevokedAt == nil {
				if actor.Kind == carnet.ActorProfessional && c.ProfessionalID != actor.ID {
					break
				}
				now := tx.Now()
				c.RevokedAt = &now
				return tx.UpdateConsent(ctx, c)
			}
		}
		return carnet.Errorf(carnet.ENOTFOUND, "consentement introuvable")
	})
}

// StartEmergency opens an emergency session for a professional (bris de glace) or the SAMU
// regulating doctor (centre 15) on a patient's record, with the reason they give. The start is
// recorded and announced to the patient at once. It returns the actor to use for the session's
// requests: its mode and reason travel with every later access and are recorded with each.
func (s *Service) StartEmergency(ctx context.Context, actor carnet.Actor, patientID string, mode carnet.AccessMode, reason string) (carnet.Actor, time.Time, error) {
	if mode != carnet.ModeBreakGlass && mode != carnet.ModeRegulation {
		return actor, time.Time{}, carnet.Errorf(carnet.EINVALID, "mode d'urgence inconnu : centre 15 ou bris de glace")
	}
	if len([]rune(reason)) < 5 || len(reason) > 500 {
		return actor, time.Time{}, carnet.Errorf(carnet.EINVALID, "motif de l'accès d'urgence requis (5 à 500 caractères)")
	}
	var denied error
	var deadline time.Time
	session := actor
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		session, denied = actor, nil // the transaction may run again
		session.Mode, session.ModeReason, session.ModeSince = mode, reason, tx.Now()
		if mode == carnet.ModeRegulation && session.Kind == carnet.ActorProfessional {
			// Centre 15 is opened by the SAMU regulating doctor: the policy then lets a médecin
			// read, and only read, for the regulation window.
			session.Kind = carnet.ActorRegulator
		}
		sub, err := s.load(ctx, tx, &session, patientID)
		if err != nil {
			return err
		}
		// The session opens if it would let the professional into the record at all.
		d := s.decide(session, sub, policy.ActionReadProfile, nil, tx)
		e := s.event(tx, session, patientID, "emergency.start", "patient", patientID, d.Allow, reasonText(d))
		if err := s.appendEvent(ctx, tx, e); err != nil {
			return err
		}
		if !d.Allow {
			denied = s.denial(session, sub, policy.ActionReadProfile, nil, d)
			return nil
		}
		deadline = s.policy.Load().EmergencyDeadline(mode, session.ModeSince)
		if err := tx.PutEmergencySession(ctx, &carnet.EmergencySession{PatientID: patientID, ProfessionalID: actor.ID,
			Mode: mode, Reason: reason, StartedAt: session.ModeSince, EndsAt: deadline}); err != nil {
			return err
		}
		return s.notify(ctx, tx, session, sub, e)
	})
	if err == nil {
		err = denied
	}
	if err != nil {
		return actor, time.Time{}, err
	}
	return session, deadline, nil
}

// SessionMode is where a request learns in which mode the service acted for it: load fills it
// when a professional's emergency session applies, so that the mode is stated in the response.
type SessionMode struct {
	Mode  carnet.AccessMode
	Until time.Time
}

type sessionModeKey struct{}

// WithSessionMode returns a context that collects the access mode of the service calls made
// with it.
func WithSessionMode(ctx context.Context) (context.Context, *SessionMode) {
	m := &SessionMode{}
	return context.WithValue(ctx, sessionModeKey{}, m), m
}

func reportMode(ctx context.Context, mode carnet.AccessMode, until time.Time) {
	if m, ok := ctx.Value(sessionModeKey{}).(*SessionMode); ok {
		m.Mode, m.Until = mode, until
	}
}
