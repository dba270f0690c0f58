package service_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/blob/fs"
	"github.com/carnet-sante/carnet/internal/notify"
	"github.com/carnet-sante/carnet/internal/notify/email"
	"github.com/carnet-sante/carnet/internal/notify/smtptest"
	"github.com/carnet-sante/carnet/internal/service"
)

// TestEveryActionIsTracedAndAnnounced: for each kind of action by someone else, the event is in
// the history, linked to the previous one, and its notification goes through a real SMTP
// exchange to the patient. (A digest window of a microsecond sends each on its own.)
func TestEveryActionIsTracedAndAnnounced(t *testing.T) {
	forEachEngine(t, func(t *testing.T, base *world) {
		srv := smtptest.Start(t)
		sender, err := email.New(srv.EmailConfig("Carnet <ne-pas-repondre@carnet.test>"))
		if err != nil {
			t.Fatal(err)
		}
		blobs, _ := fs.Open(base.blobDir)
		svc, err := service.New(ctx, service.Deps{Store: base.store, Blobs: blobs, Keys: base.ring,
			Config: service.Config{DigestWindow: time.Microsecond}})
		if err != nil {
			t.Fatal(err)
		}
		w := *base
		w.svc = svc
		worker := &notify.Worker{Store: w.store, Email: sender}
		newPro := w.professional(t, "10000000042", "60", "", "Roux")

		steps := []struct {
			name    string
			action  string
			subject string
			do      func() error
		}{
			{"first access", "consent.declare", "pour la première fois", func() error {
				_, err := svc.DeclareConsent(ctx, newPro, w.patient.ID, carnet.ConsentOral, "", nil)
				return err
			}},
			{"deposit", "document.deposit", "Nouvelle activité", func() error {
				_, err := svc.DepositDocument(ctx, newPro, w.patient.ID, service.NewDocument{TypeCode: "11488-4", Title: "Soins",
					MediaType: "text/plain", Body: strings.NewReader("pansement")})
				return err
			}},
			{"replace", "document.replace", "Nouvelle activité", func() error {
				docs, _ := svc.ListDocuments(ctx, newPro, w.patient.ID, carnet.DocumentFilter{})
				_, err := svc.ReplaceDocument(ctx, newPro, w.patient.ID, docs[0].ID, service.NewDocument{TypeCode: "11488-4",
					Title: "Soins v2", MediaType: "text/plain", Body: strings.NewReader("pansement refait")})
				return err
			}},
			{"hide", "document.hide", "Nouvelle activité", func() error {
				docs, _ := svc.ListDocuments(ctx, newPro, w.patient.ID, carnet.DocumentFilter{Statuses: []carnet.DocStatus{carnet.DocCurrent}})
				_, err := svc.ChangeDocument(ctx, newPro, w.patient.ID, docs[0].ID, service.HideFromProfessionals)
				return err
			}},
			{"delete", "document.delete", "Nouvelle activité", func() error {
				docs, _ := svc.ListDocuments(ctx, newPro, w.patient.ID, carnet.DocumentFilter{Statuses: []carnet.DocStatus{carnet.DocCurrent}})
				_, err := svc.ChangeDocument(ctx, newPro, w.patient.ID, docs[0].ID, service.Delete)
				return err
			}},
			{"vaccination", "vaccination.add", "Nouvelle activité", func() error {
				_, err := svc.AddProfileEntry(ctx, newPro, w.patient.ID, &carnet.ProfileEntry{Kind: carnet.ProfileVaccination,
					Label: "Grippe", Date: time.Now()})
				return err
			}},
			{"emergency", "emergency.start", "Accès d'urgence", func() error {
				_, _, err := svc.StartEmergency(ctx, w.stranger, w.patient.ID, carnet.ModeBreakGlass, "détresse respiratoire")
				return err
			}},
		}
		// The world's set-up queued first-access messages of its own: deliver them first.
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			before := srv.Count()
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			// The event is the chain's last link.
			var events []*carnet.AuditEvent
			w.store.View(ctx, func(tx carnet.Tx) error {
				events, _ = tx.ListAudit(ctx, carnet.AuditFilter{PatientID: w.patient.ID})
				return nil
			})
			last := events[len(events)-1]
			prev := events[len(events)-2]
			if last.Action != st.action || !bytes.Equal(last.PrevHash, prev.Hash) || !bytes.Equal(last.Hash, audit.Hash(last)) {
				t.Errorf("%s: last event %s, linked %v, hash ok %v", st.name, last.Action, bytes.Equal(last.PrevHash, prev.Hash),
					bytes.Equal(last.Hash, audit.Hash(last)))
			}
			time.Sleep(2 * time.Millisecond) // past the digest window
			if _, err := worker.RunOnce(ctx); err != nil {
				t.Fatalf("%s: worker: %v", st.name, err)
			}
			if srv.Count() != before+1 {
				t.Fatalf("%s: %d messages reached the SMTP server, want %d", st.name, srv.Count(), before+1)
			}
			m := srv.Messages()[srv.Count()-1]
			if !strings.Contains(m.Subject+m.Text, st.subject) || !m.SentTo("marie@example.org") {
				t.Errorf("%s: message %q to %v", st.name, m.Subject, m.To)
			}
			for _, secret := range []string{"pansement", "Soins", "Grippe", "détresse"} {
				if strings.Contains(m.Text, secret) && st.action != "emergency.start" {
					t.Errorf("%s: the email carries %q", st.name, secret)
				}
			}
		}
	})
}

// TestDigestGroupsActions: several actions within the window make one email.
func TestDigestGroupsActions(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	for i := 0; i < 5; i++ {
		w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
	}
	n := 0
	for _, m := range outbox(t, w) {
		if m.Kind == service.NotifyAction {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d digests for 5 deposits in a window", n)
	}
}

func TestExportHistory(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
	canRead(t, w, w.kine, d)
	me := service.PatientActor(w.patient)
	csv, ct, err := w.svc.ExportHistory(ctx, me, w.patient.ID, service.ExportCSV, carnet.AuditFilter{ActorID: w.kine.ID})
	if err != nil || !strings.HasPrefix(ct, "text/csv") {
		t.Fatal(err, ct)
	}
	if !strings.Contains(string(csv), "Date") || !strings.Contains(string(csv), "Bernard") || strings.Contains(string(csv), "Lefèvre") {
		t.Errorf("CSV filtered on the kiné:\n%s", csv)
	}
	js, ct, err := w.svc.ExportHistory(ctx, me, w.patient.ID, service.ExportFHIR, carnet.AuditFilter{})
	if err != nil || ct != "application/fhir+json" || !strings.Contains(string(js), `"resourceType": "Bundle"`) && !strings.Contains(string(js), `"resourceType":"Bundle"`) {
		t.Fatalf("FHIR export: %v %s %.200s", err, ct, js)
	}
	if !strings.Contains(string(js), "AuditEvent") {
		t.Error("no AuditEvent in the bundle")
	}
	if _, _, err := w.svc.ExportHistory(ctx, w.doctor, w.patient.ID, service.ExportCSV, carnet.AuditFilter{}); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
		t.Errorf("a professional exported the history: %v", err)
	}
	evs := history(t, w)
	others, own := service.SplitOwn(evs)
	if len(others) == 0 || len(own) == 0 || len(others)+len(own) != len(evs) {
		t.Errorf("split: %d others, %d own of %d", len(others), len(own), len(evs))
	}
	var exported bool
	for _, e := range own {
		exported = exported || (e.Action == "history.read" && e.TargetID == "export:csv")
	}
	if !exported {
		t.Error("the export is not in the history")
	}
}
