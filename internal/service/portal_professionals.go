package service

import (
	"context"
	"sort"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
)

// ProfessionalStanding is one professional's standing on a patient's record, for the patient's
// settings page: their directory entry, the consents in force that they declared, their
// accesses, and whether they are blocked.
type ProfessionalStanding struct {
	Professional   *carnet.Professional
	Consents       []*carnet.Consent // in force, oldest first
	Accesses       int               // allowed accesses (finding the patient by INS excluded)
	FirstAccess    time.Time         // zero: never accessed
	LastAccess     time.Time
	Consulted      bool          // read the record once: may be chosen as administrator
	Block          *carnet.Block // the block in force on them, if any
	StructureBlock *carnet.Block // the block in force on their structure, if any
	Administrator  bool
	TreatingDoctor bool
}

// BlockStanding is a block in force, with what the patient needs to recognize it.
type BlockStanding struct {
	Block         *carnet.Block
	Professional  *carnet.Professional // nil for a structure's block
	StructureName string               // a structure's name as the directory knows it ("" if unknown)
}

// AccessOverview is who has to do with a patient's record: every professional who accessed
// it, declared a consent or was blocked, newest access first, and the blocks in force.
type AccessOverview struct {
	Professionals []*ProfessionalStanding
	Blocks        []*BlockStanding
}

// AccessOverview returns the professionals who have to do with the patient's record and the
// blocks in force, to whoever may block (the patient, their representative, the
// administrator). Like the other reads of the patient's management data, the patient's own
// reading is not recorded; anyone else's is.
func (s *Service) AccessOverview(ctx context.Context, actor carnet.Actor, patientID string) (*AccessOverview, error) {
	var out *AccessOverview
	err := s.readSpace(ctx, actor, patientID, policy.ActionBlock, "settings.read", func(tx carnet.Tx, sub *subject) error {
		out = &AccessOverview{}
		now := tx.Now()
		byID := map[string]*ProfessionalStanding{}
		var order []string
		standing := func(id string) *ProfessionalStanding {
			if st, ok := byID[id]; ok {
				return st
			}
			st := &ProfessionalStanding{Administrator: sub.settings.AdministratorID == id, TreatingDoctor: sub.settings.TreatingDoctorID == id}
			byID[id] = st
			order = append(order, id)
			return st
		}
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: patientID})
		if err != nil {
			return err
		}
		for _, e := range evs {
			if (e.ActorKind != carnet.ActorProfessional && e.ActorKind != carnet.ActorRegulator) || e.ActorID == "" {
				continue
			}
			st := standing(e.ActorID)
			if e.Decision != carnet.DecisionAllow || e.Action == "patient.search" {
				continue
			}
			st.Accesses++
			st.Consulted = st.Consulted || !isWrite(e.Action)
			if st.FirstAccess.IsZero() || e.Time.Before(st.FirstAccess) {
				st.FirstAccess = e.Time
			}
			if e.Time.After(st.LastAccess) {
				st.LastAccess = e.Time
			}
		}
		consents, err := tx.Consents(ctx, patientID, "")
		if err != nil {
			return err
		}
		for _, c := range consents {
			if c.ActiveAt(now) {
				st := standing(c.ProfessionalID)
				st.Consents = append(st.Consents, c)
			}
		}
		blocks, err := tx.Blocks(ctx, patientID)
		if err != nil {
			return err
		}
		var inForce []*carnet.Block
		for _, b := range blocks {
			if b.RemovedAt != nil {
				continue
			}
			inForce = append(inForce, b)
			if b.ProfessionalID != "" {
				standing(b.ProfessionalID).Block = b
			}
		}
		structures := map[string]string{}
		for _, id := range order {
			p, err := tx.Professional(ctx, id)
			if carnet.ErrorCode(err) == carnet.ENOTFOUND {
				continue // no longer in the directory: nothing to show nor to act on
			}
			if err != nil {
				return err
			}
			st := byID[id]
			st.Professional = p
			if p.StructureID != "" {
				structures[p.StructureID] = p.StructureName
				for _, b := range inForce {
					if b.ProfessionalID == "" && b.StructureID == p.StructureID {
						st.StructureBlock = b
					}
				}
			}
			out.Professionals = append(out.Professionals, st)
		}
		sort.SliceStable(out.Professionals, func(i, j int) bool {
			a, b := out.Professionals[i], out.Professionals[j]
			if !a.LastAccess.Equal(b.LastAccess) {
				return a.LastAccess.After(b.LastAccess)
			}
			return a.Professional.DisplayName() < b.Professional.DisplayName()
		})
		for _, b := range inForce {
			bs := &BlockStanding{Block: b}
			if b.ProfessionalID != "" {
				if st, ok := byID[b.ProfessionalID]; ok {
					bs.Professional = st.Professional
				}
			} else {
				bs.StructureName = structures[b.StructureID]
			}
			out.Blocks = append(out.Blocks, bs)
		}
		return nil
	})
	return out, err
}

// FHIRBase is the base URL of Carnet's FHIR resources, as the service writes it in the bundles
// it exports (ExportHistory), for callers that assemble bundles of their own from its reads.
func (s *Service) FHIRBase() string { return s.cfg.BaseURL + "/fhir" }
