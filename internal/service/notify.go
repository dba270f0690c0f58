package service

import (
	"context"
	"fmt"
	"time"

	"github.com/carnet-sante/carnet"
)

// Notification kinds.
const (
	NotifyFirstAccess = "first_access" // first access by a professional
	NotifyAction      = "action"       // an action by someone else (deposit, hide, consent...)
	NotifyEmergency   = "emergency"    // any emergency access, at once
)

// notify queues, in the action's transaction, the messages that tell the patient about an
// allowed action by someone else. Messages carry no health content: only that something
// happened, who, and a link.
func (s *Service) notify(ctx context.Context, tx carnet.Tx, actor carnet.Actor, sub *subject, e *carnet.AuditEvent) error {
	if actor.Kind == carnet.ActorPatient || actor.Kind == carnet.ActorSystem || actor.Kind == carnet.ActorOperator {
		return nil
	}
	p, st := sub.patient, sub.settings
	var kind, channel, key, subject, text string
	var due time.Time
	who := actor.Name
	if actor.Profession.Valid() {
		who += ", " + actor.Profession.Label()
	}
	link := s.cfg.BaseURL + "/historique"
	switch {
	case e.Mode != carnet.ModeNormal:
		kind, channel = NotifyEmergency, st.NotifyEmergency
		if channel == "none" || channel == "" {
			channel = "email" // emergencies are always announced
		}
		key = fmt.Sprintf("emergency:%s:%s:%s:%d", p.ID, actor.ID, e.Mode, actor.ModeSince.UnixMicro())
		subject = "Accès d'urgence à votre espace santé"
		text = fmt.Sprintf("Bonjour,\n\n%s a accédé à votre espace santé en mode %s.\nMotif déclaré : %s\n\n"+
			"Consultez votre historique d'activité : %s\n", who, e.Mode.Label(), actor.ModeReason, link)
	case !sub.accessed && (actor.Kind == carnet.ActorProfessional || actor.Kind == carnet.ActorRegulator):
		kind, channel = NotifyFirstAccess, st.NotifyAccess
		key = fmt.Sprintf("first_access:%s:%s", p.ID, actor.ID)
		subject = "Un professionnel a accédé à votre espace santé"
		text = fmt.Sprintf("Bonjour,\n\n%s a accédé pour la première fois à votre espace santé.\n\n"+
			"Consultez votre historique d'activité : %s\n", who, link)
	case isWrite(e.Action):
		// Actions are grouped: the first one of a window queues a digest due at the window's end;
		// the others of that window find it queued (same idempotency key).
		kind, channel = NotifyAction, st.NotifyAction
		w := s.cfg.DigestWindow
		bucket := e.Time.UnixNano() / int64(w)
		key = fmt.Sprintf("digest:%s:%d", p.ID, bucket)
		due = time.Unix(0, (bucket+1)*int64(w)).UTC()
		subject = "Nouvelle activité dans votre espace santé"
		text = fmt.Sprintf("Bonjour,\n\nDes professionnels ont effectué des actions dans votre espace santé "+
			"(la première : %s, le %s).\n\nConsultez votre historique d'activité : %s\n", who, e.Time.In(paris).Format("02/01/2006 à 15h04"), link)
	default:
		return nil
	}
	recipient := p.Email
	if channel == "sms" {
		recipient = p.Mobile
		text = fmt.Sprintf("Carnet : %s. Détails dans votre historique : %s", subject, link)
	}
	if channel == "none" || channel == "" || recipient == "" {
		return nil
	}
	return tx.EnqueueOutbox(ctx, &carnet.OutboxMessage{
		ID: s.newID(), PatientID: p.ID, Kind: kind, Channel: channel, Recipient: recipient,
		Subject: subject, Body: text, IdempotencyKey: key, NextAttemptAt: due,
	})
}

func isWrite(action string) bool {
	switch action {
	case "document.read", "document.list", "profile.read", "vaccination.read", "wishes.read", "history.read":
		return false
	}
	return true
}
