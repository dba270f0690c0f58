package service_test

import (
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
)

func TestAccessOverview(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		me := service.PatientActor(w.patient)
		d := w.deposit(t, w.doctor, "11488-4", "Consultation", "Tension 13/8.")
		if _, _, err := w.svc.ReadDocument(ctx, w.doctor, w.patient.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		// The stranger only finds the patient and is refused: known, but never accessed.
		if _, err := w.svc.Profile(ctx, w.stranger, w.patient.ID, ""); err == nil {
			t.Fatal("a professional without consent reads the profile")
		}
		if _, err := w.svc.Block(ctx, me, w.patient.ID, w.kine.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Block(ctx, me, w.patient.ID, "", "FINESS-1"); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.SetAdministrator(ctx, me, w.patient.ID, w.doctor.ID); err != nil {
			t.Fatal(err)
		}
		before := len(history(t, w))
		ov, err := w.svc.AccessOverview(ctx, me, w.patient.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(history(t, w)); n != before+1 { // the history read itself, not the overview
			t.Errorf("the patient's own overview recorded %d events", n-before-1)
		}
		byID := map[string]*service.ProfessionalStanding{}
		for _, p := range ov.Professionals {
			byID[p.Professional.ID] = p
		}
		if len(ov.Professionals) != 3 || ov.Professionals[0].Professional.ID != w.doctor.ID {
			t.Fatalf("professionals %d, first %+v", len(ov.Professionals), ov.Professionals[0].Professional)
		}
		doc := byID[w.doctor.ID]
		if len(doc.Consents) != 1 || doc.Accesses < 2 || doc.FirstAccess.IsZero() || doc.LastAccess.Before(doc.FirstAccess) ||
			!doc.Administrator || !doc.Consulted || doc.Block != nil {
			t.Errorf("doctor %+v", doc)
		}
		kine := byID[w.kine.ID]
		if kine == nil || kine.Block == nil || len(kine.Consents) != 1 || kine.Accesses != 1 || kine.Consulted { // the declaration of the consent
			t.Errorf("kiné %+v", kine)
		}
		if s := byID[w.stranger.ID]; s == nil || s.Accesses != 0 || len(s.Consents) != 0 {
			t.Errorf("stranger %+v", s)
		}
		if len(ov.Blocks) != 2 {
			t.Fatalf("blocks %+v", ov.Blocks)
		}
		for _, b := range ov.Blocks {
			if b.Block.ProfessionalID == w.kine.ID && (b.Professional == nil || b.Professional.ID != w.kine.ID) {
				t.Errorf("kiné's block %+v", b)
			}
			if b.Block.StructureID == "FINESS-1" && b.Professional != nil {
				t.Errorf("structure's block %+v", b)
			}
		}

		// A revoked consent is no longer listed.
		if err := w.svc.RevokeConsent(ctx, me, w.patient.ID, doc.Consents[0].ID); err != nil {
			t.Fatal(err)
		}
		ov, _ = w.svc.AccessOverview(ctx, me, w.patient.ID)
		for _, p := range ov.Professionals {
			if p.Professional.ID == w.doctor.ID && len(p.Consents) != 0 {
				t.Errorf("revoked consent listed: %+v", p.Consents)
			}
		}

		// A professional without standing learns nothing, and the attempt is recorded.
		if _, err := w.svc.AccessOverview(ctx, w.stranger, w.patient.ID); carnet.ErrorCode(err) != carnet.ENOTFOUND {
			t.Errorf("stranger: %v", err)
		}
		evs, _ := w.svc.History(ctx, me, w.patient.ID, carnet.AuditFilter{ActorID: w.stranger.ID, Action: "settings.read"})
		if len(evs) != 1 || evs[0].Decision != carnet.DecisionDeny {
			t.Errorf("stranger's attempt recorded as %+v", evs)
		}
	})
}

func TestFHIRBase(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	if got := w.svc.FHIRBase(); got != "http://127.0.0.1:8080/fhir" {
		t.Errorf("FHIRBase %q", got)
	}
}

func TestActiveProfessionals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		pros, err := w.svc.ActiveProfessionals(ctx, 50)
		if err != nil || len(pros) == 0 {
			t.Fatalf("%d professionals, %v", len(pros), err)
		}
		for _, p := range pros {
			if !p.Active {
				t.Errorf("%s is not active", p.RPPS)
			}
		}
		if one, err := w.svc.ActiveProfessionals(ctx, 1); err != nil || len(one) != 1 {
			t.Errorf("limit 1: %d %v", len(one), err)
		}
	})
}
