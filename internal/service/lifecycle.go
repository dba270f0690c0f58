package service

import (
	"context"
	"time"

	"github.com/carnet-sante/carnet"
)

// ActFor returns the actor a parent becomes in a child's space: a legal representative acting
// on the child's behalf, recorded as such in the child's history. It is refused once the child
// has reached the hand-over age, or for a child whose rights the parent does not hold.
func (s *Service) ActFor(ctx context.Context, parent carnet.Actor, childID string) (carnet.Actor, error) {
	if parent.Kind != carnet.ActorPatient {
		return carnet.Actor{}, carnet.Errorf(carnet.EFORBIDDEN, "réservé aux parents")
	}
	var out carnet.Actor
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		c, err := tx.Patient(ctx, childID)
		if err != nil || c.RightsHolderID != parent.ID {
			return carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
		}
		if s.age(c, tx.Now()) >= s.cfg.HandOverAge {
			return carnet.Errorf(carnet.EFORBIDDEN, "%s a %d ans ou plus et gère désormais son espace santé", c.DisplayName(), s.cfg.HandOverAge)
		}
		out = carnet.Actor{Kind: carnet.ActorRepresentative, ID: parent.ID, Name: parent.Name, OnBehalfOf: childID, RequestID: parent.RequestID}
		return nil
	})
	return out, err
}

// JobReport counts what the scheduled jobs did.
type JobReport struct {
	Created    int // spaces created automatically after the opposition period
	HandedOver int // young people who took over their space
	Destroyed  int // closed spaces destroyed at the end of the archive period
}

// RunJobs runs the scheduled account jobs at the service's clock: automatic creation of the
// spaces whose opposition period ended, hand-over of minors' spaces at the configured age,
// destruction of closed spaces at the end of the archive period. Each job works in batches
// and can be interrupted and run again.
func (s *Service) RunJobs(ctx context.Context) (JobReport, error) {
	var r JobReport
	var err error
	if r.Created, err = s.autoCreate(ctx); err != nil {
		return r, err
	}
	if r.HandedOver, err = s.handOver(ctx); err != nil {
		return r, err
	}
	r.Destroyed, err = s.purgeClosed(ctx)
	return r, err
}

var system = carnet.Actor{Kind: carnet.ActorSystem, ID: "carnet", Name: "Carnet"}

// autoCreate opens the spaces of people who did not oppose within the period.
func (s *Service) autoCreate(ctx context.Context) (int, error) {
	total := 0
	for {
		n, seen := 0, 0
		err := s.store.Update(ctx, func(tx carnet.Tx) error {
			n, seen = 0, 0
			due, err := tx.EnrolmentsDue(ctx, tx.Now(), 500)
			if err != nil {
				return err
			}
			for _, e := range due {
				p, err := tx.Patient(ctx, e.PatientID)
				if err != nil {
					return err
				}
				e.AutoCreateAt = time.Time{}
				if err := tx.UpdateEnrolment(ctx, e); err != nil {
					return err
				}
				seen++
				if p.Status != carnet.PatientEnrolled {
					continue
				}
				n++
				p.Status = carnet.PatientActive
				if err := tx.UpdatePatient(ctx, p); err != nil {
					return err
				}
				if err := s.appendEvent(ctx, tx, s.event(tx, system, p.ID, "patient.autocreate", "patient", p.ID, true,
					"création automatique sans opposition")); err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil || seen == 0 {
			return total, err
		}
	}
}

// handOver ends the parent's rights over children who reached the hand-over age and sends the
// young person a provisional code to take over their space (to their own contact, else to the
// parent's, addressed to them).
func (s *Service) handOver(ctx context.Context) (int, error) {
	total := 0
	after := ""
	for {
		var batch []*carnet.Patient
		err := s.store.View(ctx, func(tx carnet.Tx) error {
			now := tx.Now().In(paris)
			cut := time.Date(now.Year()-s.cfg.HandOverAge, now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
			var err error
			batch, err = tx.ListPatients(ctx, carnet.PatientFilter{WithRightsHolder: true, BornBefore: cut, AfterID: after, Limit: 500})
			return err
		})
		if err != nil || len(batch) == 0 {
			return total, err
		}
		after = batch[len(batch)-1].ID
		for _, c := range batch {
			handed := 0
			err := s.store.Update(ctx, func(tx carnet.Tx) error {
				handed = 0
				c, err := tx.Patient(ctx, c.ID)
				if err != nil {
					return err
				}
				if c.RightsHolderID == "" || s.age(c, tx.Now()) < s.cfg.HandOverAge {
					return nil
				}
				handed++
				parentID := c.RightsHolderID
				parent, err := tx.Patient(ctx, parentID)
				if err != nil {
					return err
				}
				c.RightsHolderID = ""
				if err := tx.UpdatePatient(ctx, c); err != nil {
					return err
				}
				// Whatever signed in to the child's space before is the parent's doing: it ends.
				if err := tx.DeletePasskeys(ctx, c.ID); err != nil {
					return err
				}
				if err := tx.DeleteAccount(ctx, c.ID); err != nil {
					return err
				}
				if _, err := tx.DeleteSessions(ctx, c.ID); err != nil {
					return err
				}
				if c.Status == carnet.PatientActive || c.Status == carnet.PatientEnrolled {
					var to *carnet.Patient
					if c.Email == "" && c.Mobile == "" && c.PostalAddress == "" {
						to = parent
					}
					if err := s.newCodeVia(ctx, tx, c, to, true); err != nil {
						return err
					}
				}
				return s.appendEvent(ctx, tx, s.event(tx, system, c.ID, "patient.handover", "patient", parentID, true,
					"majorité numérique : fin de l'accès du représentant légal"))
			})
			if err != nil {
				return total, err
			}
			total += handed
		}
	}
}

// age is a patient's age on the day of t in France.
func (s *Service) age(p *carnet.Patient, t time.Time) int { return p.AgeOn(t.In(paris)) }

// CloseSpace closes a space at the request of the patient (or of the parent for a minor): the
// data is archived, unreadable by anyone, for the archive period, then destroyed; with
// destroyNow it is destroyed at once by crypto-shredding the patient's key. Every session of
// the account ends. The history of the closure is kept.
func (s *Service) CloseSpace(ctx context.Context, actor carnet.Actor, patientID string, destroyNow bool) error {
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		p, err := tx.Patient(ctx, patientID)
		if err != nil {
			return notFound(err)
		}
		if !s.owns(tx, actor, p) {
			return carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
		}
		switch p.Status {
		case carnet.PatientActive:
		case carnet.PatientClosed:
			if !destroyNow {
				return carnet.Errorf(carnet.ECONFLICT, "cet espace santé est déjà fermé")
			}
		default:
			return carnet.Errorf(carnet.ECONFLICT, "cet espace santé n'est pas ouvert")
		}
		now := tx.Now()
		if p.Status != carnet.PatientClosed {
			p.Status, p.ClosedAt = carnet.PatientClosed, &now
			if err := tx.UpdatePatient(ctx, p); err != nil {
				return err
			}
			if err := s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.close", "patient", p.ID, true,
				"fermeture de l'espace santé ; archivé jusqu'au "+frenchDate(now.Add(s.cfg.ArchivePeriod)))); err != nil {
				return err
			}
			if err := s.closureNotice(ctx, tx, p, "fermé", now); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteSessions(ctx, p.ID); err != nil {
			return err
		}
		if destroyNow {
			return s.destroy(ctx, tx, actor, p, "destruction immédiate à la demande du titulaire")
		}
		return nil
	})
	return err
}

// owns reports whether actor is the patient or the parent holding a minor's rights.
func (s *Service) owns(tx carnet.Tx, actor carnet.Actor, p *carnet.Patient) bool {
	switch actor.Kind {
	case carnet.ActorPatient:
		return actor.ID == p.ID
	case carnet.ActorRepresentative:
		return p.RightsHolderID == actor.ID && actor.OnBehalfOf == p.ID && s.age(p, tx.Now()) < s.cfg.HandOverAge
	case carnet.ActorOperator, carnet.ActorSystem:
		return true
	}
	return false
}

// destroy crypto-shreds a patient's data key and removes their account.
func (s *Service) destroy(ctx context.Context, tx carnet.Tx, actor carnet.Actor, p *carnet.Patient, reason string) error {
	k, err := tx.DataKey(ctx, p.ID)
	if err != nil {
		return err
	}
	now := tx.Now()
	if k.DestroyedAt == nil {
		k.DestroyedAt = &now
		if err := tx.UpdateDataKey(ctx, k); err != nil {
			return err
		}
	}
	p.Status = carnet.PatientDestroyed
	if err := tx.UpdatePatient(ctx, p); err != nil {
		return err
	}
	if err := tx.DeletePasskeys(ctx, p.ID); err != nil {
		return err
	}
	if err := tx.DeleteAccount(ctx, p.ID); err != nil {
		return err
	}
	if _, err := tx.DeleteSessions(ctx, p.ID); err != nil {
		return err
	}
	return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "key.destroy", "patient", p.ID, true, reason))
}

// closureNotice tells the patient (or the parent) that their space was closed or reopened.
func (s *Service) closureNotice(ctx context.Context, tx carnet.Tx, p *carnet.Patient, what string, now time.Time) error {
	to := p
	if p.RightsHolderID != "" && p.Email == "" && p.Mobile == "" {
		parent, err := tx.Patient(ctx, p.RightsHolderID)
		if err != nil {
			return err
		}
		to = parent
	}
	a, _ := tx.Account(ctx, to.ID)
	m := &carnet.OutboxMessage{ID: s.newID(), PatientID: p.ID, Kind: "closure",
		IdempotencyKey: "closure:" + p.ID + ":" + what + ":" + now.Format(time.RFC3339Nano)}
	switch {
	case a != nil && a.Email != "":
		m.Channel, m.Recipient = "email", a.Email
	case a != nil && a.Mobile != "":
		m.Channel, m.Recipient = "sms", a.Mobile
	case to.Email != "":
		m.Channel, m.Recipient = "email", to.Email
	case to.Mobile != "":
		m.Channel, m.Recipient = "sms", to.Mobile
	case to.PostalAddress != "":
		m.Channel, m.Recipient = "letter", to.DisplayName()+"\n"+to.PostalAddress
	default:
		return nil
	}
	m.Subject = "Votre espace santé a été " + what
	m.Body = "Bonjour,\n\nL'espace santé de " + p.DisplayName() + " a été " + what + " le " + frenchDate(now) + ".\n"
	if what == "fermé" {
		m.Body += "Ses données sont archivées et illisibles par quiconque jusqu'au " + frenchDate(now.Add(s.cfg.ArchivePeriod)) +
			", puis détruites. Vous pouvez le rouvrir d'ici là en vous connectant.\n"
	}
	m.Body += "\nSi vous n'êtes pas à l'origine de cette démarche, contactez l'Assurance Maladie."
	if m.Channel == "sms" {
		m.Subject, m.Body = "", "Carnet : l'espace santé de "+p.DisplayName()+" a été "+what+" le "+frenchDate(now)+"."
	}
	return tx.EnqueueOutbox(ctx, m)
}

// ReopenSpace restores a closed space within the archive period.
func (s *Service) ReopenSpace(ctx context.Context, actor carnet.Actor, patientID string) error {
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		p, err := tx.Patient(ctx, patientID)
		if err != nil {
			return notFound(err)
		}
		if !s.owns(tx, actor, p) {
			return carnet.Errorf(carnet.ENOTFOUND, "espace santé introuvable")
		}
		if p.Status != carnet.PatientClosed {
			return carnet.Errorf(carnet.ECONFLICT, "cet espace santé n'est pas fermé")
		}
		now := tx.Now()
		if p.ClosedAt != nil && now.After(p.ClosedAt.Add(s.cfg.ArchivePeriod)) {
			return carnet.Errorf(carnet.ECONFLICT, "la période d'archivage est écoulée : l'espace ne peut plus être rouvert")
		}
		p.Status, p.ClosedAt = carnet.PatientActive, nil
		if err := tx.UpdatePatient(ctx, p); err != nil {
			return err
		}
		if err := s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.reopen", "patient", p.ID, true, "réouverture de l'espace santé")); err != nil {
			return err
		}
		return s.closureNotice(ctx, tx, p, "rouvert", now)
	})
}

// purgeClosed destroys the spaces closed for longer than the archive period.
func (s *Service) purgeClosed(ctx context.Context) (int, error) {
	total, after := 0, ""
	for {
		var batch []*carnet.Patient
		err := s.store.View(ctx, func(tx carnet.Tx) error {
			var err error
			batch, err = tx.ListPatients(ctx, carnet.PatientFilter{Status: carnet.PatientClosed, AfterID: after, Limit: 500})
			return err
		})
		if err != nil || len(batch) == 0 {
			return total, err
		}
		after = batch[len(batch)-1].ID
		for _, p := range batch {
			if p.ClosedAt == nil || s.now().Before(p.ClosedAt.Add(s.cfg.ArchivePeriod)) {
				continue
			}
			err := s.store.Update(ctx, func(tx carnet.Tx) error {
				p, err := tx.Patient(ctx, p.ID)
				if err != nil || p.Status != carnet.PatientClosed {
					return err
				}
				return s.destroy(ctx, tx, system, p, "fin de la période d'archivage")
			})
			if err != nil {
				return total, err
			}
			total++
		}
	}
}
