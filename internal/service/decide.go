package service

import (
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
)

// paris is where dates in explanations are shown.
var paris = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.FixedZone("CET", 3600)
}()

// decide builds the policy request from what load read and asks the policy.
// A space that is not open (not yet created, refused, closed or destroyed) is readable and
// writable by no one: its data is archived.
func (s *Service) decide(actor carnet.Actor, sub *subject, action policy.Action, doc *carnet.Document, tx carnet.Tx) policy.Decision {
	pol := s.policy.Load()
	if sub.patient.Status != carnet.PatientActive {
		return policy.Decision{Reason: policy.ReasonSpaceNotOpen, GridVersion: pol.Grid().Version()}
	}
	return pol.Decide(s.request(&actor, sub, action, doc, tx.Now()))
}

// request gathers the facts the policy needs.
func (s *Service) request(actor *carnet.Actor, sub *subject, action policy.Action, doc *carnet.Document, now time.Time) policy.Request {
	req := policy.Request{Action: action, Actor: actor, Settings: sub.settings, Doc: doc, Mode: actor.Mode, Now: now}
	if sub.pro != nil {
		req.Active = sub.pro.Active
		req.Blocked, req.StructureBlocked = policy.Blocked(sub.blocks, actor.ID, actor.StructureID, now)
		req.Consent, _ = policy.ConsentInForce(sub.consents, actor.ID, "", now)
	}
	req.EmergencyStart, req.EmergencyReason = actor.ModeSince, actor.ModeReason
	p := sub.patient
	if actor.Kind == carnet.ActorRepresentative {
		req.Representative = p.RightsHolderID != "" && p.RightsHolderID == actor.ID
	}
	req.PatientMinor = s.age(p, now) < s.cfg.HandOverAge
	return req
}

// reasonText is what the audit event records: the reason code and the grid version.
func reasonText(d policy.Decision) string { return d.Code() }

// Explain returns the French sentence that explains a decision about the actor's access to one
// document of the patient (for the patient's pages: "who can see this document, and why").
func (s *Service) explain(actor carnet.Actor, sub *subject, action policy.Action, doc *carnet.Document, d policy.Decision, now time.Time) string {
	return s.policy.Load().Explain(d, s.request(&actor, sub, action, doc, now), policy.ExplainNames{Location: paris})
}

// denial turns a refusal into the error the caller sees. Where saying "forbidden" would reveal
// that a hidden document exists, the caller is told it was not found.
func (s *Service) denial(actor carnet.Actor, sub *subject, action policy.Action, doc *carnet.Document, d policy.Decision) error {
	if doc != nil && action.NeedsDocument() && action != policy.ActionDepositDocument {
		hidden := doc.Status == carnet.DocDeleted ||
			(doc.HiddenFromProfessionals && actor.Kind != carnet.ActorPatient && actor.Kind != carnet.ActorRepresentative) ||
			(doc.HiddenFromPatient && actor.Kind == carnet.ActorPatient) ||
			(doc.HiddenFromRepresentatives && actor.Kind == carnet.ActorRepresentative)
		if hidden {
			return carnet.Errorf(carnet.ENOTFOUND, "document introuvable")
		}
	}
	return &carnet.Error{Code: carnet.EFORBIDDEN, Message: s.explain(actor, sub, action, doc, d, s.now())}
}
