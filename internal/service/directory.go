package service

import (
	"context"

	"github.com/carnet-sante/carnet"
)

// UpsertProfessional creates or updates a professional of the directory, by RPPS. Only the
// operator loads the directory.
func (s *Service) UpsertProfessional(ctx context.Context, actor carnet.Actor, p *carnet.Professional) (*carnet.Professional, bool, error) {
	if actor.Kind != carnet.ActorOperator && actor.Kind != carnet.ActorSystem {
		return nil, false, carnet.Errorf(carnet.EFORBIDDEN, "seul l'opérateur charge l'annuaire")
	}
	p.RPPS = carnet.NormalizeRPPS(p.RPPS)
	if err := p.Validate(); err != nil {
		return nil, false, err
	}
	created := false
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		old, err := tx.ProfessionalByRPPS(ctx, p.RPPS)
		switch carnet.ErrorCode(err) {
		case carnet.ENOTFOUND:
			p.ID, created = s.newID(), true
			return tx.CreateProfessional(ctx, p)
		case "":
			p.ID, p.CreatedAt = old.ID, old.CreatedAt
			return tx.UpdateProfessional(ctx, p)
		}
		return err
	})
	return p, created, err
}

// ProfessionalByRPPS returns a professional of the directory.
func (s *Service) ProfessionalByRPPS(ctx context.Context, rpps string) (*carnet.Professional, error) {
	var p *carnet.Professional
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		p, err = tx.ProfessionalByRPPS(ctx, carnet.NormalizeRPPS(rpps))
		return err
	})
	return p, err
}

// ActorFor builds the actor of a professional of the directory.
func ActorFor(p *carnet.Professional) carnet.Actor {
	return carnet.Actor{Kind: carnet.ActorProfessional, ID: p.ID, Name: p.DisplayName(), Profession: p.Profession,
		Specialty: p.Specialty, StructureID: p.StructureID, StructureName: p.StructureName}
}

// PatientActor builds the actor of a patient acting in their own space.
func PatientActor(p *carnet.Patient) carnet.Actor {
	return carnet.Actor{Kind: carnet.ActorPatient, ID: p.ID, Name: p.DisplayName()}
}

// DeactivateProfessionalsNotIn deactivates every active professional whose RPPS is not in keep
// (a full directory import). Deactivated professionals lose access at once: the policy denies
// an inactive professional everything.
func (s *Service) DeactivateProfessionalsNotIn(ctx context.Context, actor carnet.Actor, keep map[string]bool) (int, error) {
	if actor.Kind != carnet.ActorOperator && actor.Kind != carnet.ActorSystem {
		return 0, carnet.Errorf(carnet.EFORBIDDEN, "seul l'opérateur charge l'annuaire")
	}
	n, after := 0, ""
	for {
		var page []*carnet.Professional
		err := s.store.Update(ctx, func(tx carnet.Tx) error {
			var err error
			if page, err = tx.ListProfessionals(ctx, carnet.ProfessionalFilter{AfterID: after, Limit: 500}); err != nil {
				return err
			}
			for _, p := range page {
				if p.Active && !keep[p.RPPS] {
					p.Active = false
					if err := tx.UpdateProfessional(ctx, p); err != nil {
						return err
					}
					n++
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if len(page) < 500 {
			return n, nil
		}
		after = page[len(page)-1].ID
	}
}

// ActiveProfessionals lists up to limit active professionals of the directory (in directory
// order), for the demonstration sign-in; the directory holds no patient data.
func (s *Service) ActiveProfessionals(ctx context.Context, limit int) ([]*carnet.Professional, error) {
	var out []*carnet.Professional
	after := ""
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		out = out[:0]
		for len(out) < limit {
			pros, err := tx.ListProfessionals(ctx, carnet.ProfessionalFilter{AfterID: after, Limit: 200})
			if err != nil || len(pros) == 0 {
				return err
			}
			for _, p := range pros {
				if p.Active && len(out) < limit {
					out = append(out, p)
				}
			}
			after = pros[len(pros)-1].ID
		}
		return nil
	})
	return out, err
}
