package service

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/policy"
)

// metaLastCheckpoint holds the time up to which chain heads are covered by checkpoints.
const metaLastCheckpoint = "audit.last_checkpoint"

// checkpointChunk bounds the anchors of one checkpoint record.
const checkpointChunk = 10000

// Checkpoint signs the heads of every chain that moved since the last checkpoint (Ed25519), in
// records of at most 10 000 heads, and stores them. An attacker who rewrites a chain and
// recomputes its hashes is then caught by `carnet audit verify`, unless they hold the signing
// key. It returns the number of heads signed.
func Checkpoint(ctx context.Context, st carnet.Store, priv ed25519.PrivateKey) (int, error) {
	var since time.Time
	err := st.View(ctx, func(tx carnet.Tx) error {
		b, err := tx.Meta(ctx, metaLastCheckpoint)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		since, err = time.Parse(time.RFC3339Nano, string(b))
		return err
	})
	if err != nil {
		return 0, err
	}
	total, after := 0, ""
	var start time.Time // heads that move after the run's start are left to the next run
	for {
		n := 0
		err := st.Update(ctx, func(tx carnet.Tx) error {
			if start.IsZero() {
				start = tx.Now()
			}
			heads, err := tx.AuditHeadsChangedSince(ctx, since, after, checkpointChunk)
			if err != nil {
				return err
			}
			n = len(heads)
			if n == 0 {
				return tx.PutMeta(ctx, metaLastCheckpoint, []byte(start.Add(-time.Millisecond).Format(time.RFC3339Nano)))
			}
			anchors := make([]audit.Anchor, len(heads))
			for i, h := range heads {
				anchors[i] = audit.AnchorFromHead(h)
			}
			after = heads[n-1].PatientID
			return tx.CreateCheckpoint(ctx, audit.CheckpointRecord(audit.SignCheckpoint(priv, tx.Now(), anchors)))
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// ChainReport is the verification of one patient's chain.
type ChainReport struct {
	PatientID string
	Events    int
	Problems  []audit.Problem
}

// VerifyAudit re-walks the chains (of one patient, or of all when patientID is empty) against
// their hashes, their stored heads and the signed checkpoints, whose signatures are checked with
// pub first. It calls report for each chain verified and returns the number of chains and of
// problems found.
func VerifyAudit(ctx context.Context, st carnet.Store, pub ed25519.PublicKey, patientID string, report func(ChainReport)) (chains, problems int, err error) {
	var cps []audit.Checkpoint
	err = st.View(ctx, func(tx carnet.Tx) error {
		var after time.Time
		for {
			recs, err := tx.Checkpoints(ctx, after, 1000)
			if err != nil {
				return err
			}
			for _, r := range recs {
				c, err := audit.CheckpointFromRecord(r)
				if err == nil {
					err = audit.VerifyCheckpoint(pub, c)
				}
				if err != nil {
					return carnet.Errorf(carnet.EINTEGRITY, "point de contrôle %s invalide : %v", r.ID, err)
				}
				cps = append(cps, c)
			}
			if len(recs) < 1000 {
				return nil
			}
			after = recs[len(recs)-1].Time
		}
	})
	if err != nil {
		return 0, 0, err
	}
	verify := func(id string) error {
		return st.View(ctx, func(tx carnet.Tx) error {
			head, err := tx.AuditHead(ctx, id)
			if err != nil {
				return err
			}
			evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: id})
			if err != nil {
				return err
			}
			anchors := audit.AnchorsFor(id, cps)
			if head.Seq > 0 {
				anchors = append(anchors, audit.AnchorFromHead(head))
			}
			r := ChainReport{PatientID: id, Events: len(evs), Problems: audit.VerifyChain(id, evs, anchors)}
			chains++
			problems += len(r.Problems)
			if report != nil {
				report(r)
			}
			return nil
		})
	}
	if patientID != "" {
		return chains, problems, verify(patientID)
	}
	after := ""
	for {
		var ids []string
		if err := st.View(ctx, func(tx carnet.Tx) error {
			var err error
			ids, err = tx.AuditPatients(ctx, after, 1000)
			return err
		}); err != nil {
			return chains, problems, err
		}
		for _, id := range ids {
			if err := verify(id); err != nil {
				return chains, problems, err
			}
		}
		if len(ids) < 1000 {
			return chains, problems, nil
		}
		after = ids[len(ids)-1]
	}
}

// History export formats.
const (
	ExportCSV  = "csv"
	ExportFHIR = "fhir"
)

// ExportHistory returns the patient's history (filtered) as CSV (French columns, for a
// spreadsheet) or as a FHIR R4 Bundle of AuditEvent resources shaped after IHE BALP. The export
// itself is recorded.
func (s *Service) ExportHistory(ctx context.Context, actor carnet.Actor, patientID, format string, f carnet.AuditFilter) ([]byte, string, error) {
	if format != ExportCSV && format != ExportFHIR {
		return nil, "", carnet.Errorf(carnet.EINVALID, "format d'export inconnu : csv ou fhir")
	}
	f.PatientID, f.Desc = patientID, false
	var evs []*carnet.AuditEvent
	err := s.run(ctx, actor, patientID, policy.ActionReadHistory, nil, "history", "export:"+format, func(tx carnet.Tx, sub *subject) error {
		var err error
		if evs, err = tx.ListAudit(ctx, f); err != nil {
			return err
		}
		if actor.Kind == carnet.ActorRepresentative {
			evs, err = s.withoutConfidential(ctx, tx, patientID, evs)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if format == ExportCSV {
		var b bytes.Buffer
		if err := (audit.History{Location: paris}).WriteCSV(&b, evs); err != nil {
			return nil, "", err
		}
		return b.Bytes(), "text/csv; charset=utf-8", nil
	}
	b, err := audit.MarshalFHIR(audit.ToFHIRBundle(evs, s.cfg.BaseURL+"/fhir"))
	return b, "application/fhir+json", err
}

// SplitOwn separates the events of others from the patient's own (and their representative's)
// actions, which the history shows apart.
func SplitOwn(events []*carnet.AuditEvent) (others, own []*carnet.AuditEvent) {
	for _, e := range events {
		if e.ActorKind == carnet.ActorPatient || e.ActorKind == carnet.ActorRepresentative {
			own = append(own, e)
		} else {
			others = append(others, e)
		}
	}
	return others, own
}
