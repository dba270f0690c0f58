package sqldb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/carnet-sante/carnet/internal/store/storetest"
)

// TestKeptSubjects: a subject kept between transactions (PostgreSQL) is used only while nothing
// of it changed: every kind of change to the rows it is made of — consents, blocks, settings,
// emergency sessions, the data key, the patient, the professional — is seen by the next read,
// which reads it in full; the document is read afresh every time; a change rolled back leaves
// nothing behind; a subject whose professional never accessed the record is not kept.
func TestKeptSubjects(t *testing.T) {
	db := openPG(t)
	p := storetest.NewPatient(0)
	pro := storetest.NewProfessional("10000000035", "10")
	newcomer := storetest.NewProfessional("10000000043", "10")
	doc := storetest.NewDocument(p.ID, "11488-4", 5)
	consent := &carnet.Consent{ID: "c-1", PatientID: p.ID, ProfessionalID: pro.ID, Kind: carnet.ConsentOral,
		DeclaredAt: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}
	key := &carnet.DataKey{PatientID: p.ID, Wrapped: []byte("wrapped"), KEKID: "kek-1"}
	update := func(fn func(tx carnet.Tx) error) {
		t.Helper()
		if err := db.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx carnet.Tx) error {
		for _, f := range []func() error{
			func() error { return tx.CreatePatient(ctx, p) },
			func() error { return tx.CreateProfessional(ctx, pro) },
			func() error { return tx.CreateProfessional(ctx, newcomer) },
			func() error { return tx.CreateConsent(ctx, consent) },
			func() error { return tx.CreateDataKey(ctx, key) },
			func() error { return tx.CreateDocument(ctx, doc) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	e := event(p.ID) // the professional has accessed the record before
	e.ActorID = pro.ID
	if err := appendLone(db, e); err != nil {
		t.Fatal(err)
	}

	// read returns the subject with its document and whether it was a kept one.
	read := func(actorID string) (*carnet.Subject, bool) {
		t.Helper()
		hits, _ := sqldb.SubjectReads(db)
		var sub *carnet.Subject
		if err := db.View(ctx, func(tx carnet.Tx) error {
			var err error
			sub, err = tx.SubjectDocument(ctx, p.ID, actorID, doc.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		after, _ := sqldb.SubjectReads(db)
		return sub, after > hits
	}
	sub, kept := read(pro.ID)
	if kept || !sub.Accessed || len(sub.Consents) != 1 || sub.Document == nil {
		t.Fatalf("first read: kept %v, %+v", kept, sub)
	}
	if again, kept := read(pro.ID); !kept || again.Patient.BirthName != p.BirthName || len(again.Consents) != 1 ||
		again.DataKey == nil || again.Professional == nil || again.Document == nil || again.Document.ID != doc.ID {
		t.Fatalf("second read: kept %v, %+v", kept, again)
	}
	// A kept subject changed by its user does not change the kept one.
	again, _ := read(pro.ID)
	again.Consents[0].Kind, again.Patient.BirthName = carnet.ConsentWritten, "CHANGED"
	if third, kept := read(pro.ID); !kept || third.Consents[0].Kind != carnet.ConsentOral || third.Patient.BirthName != p.BirthName {
		t.Fatalf("the kept subject was changed through a copy: %+v", third)
	}

	// Each change is seen at once; the read after it is a full one, the next kept again.
	changes := []struct {
		name   string
		change func(tx carnet.Tx) error
		seen   func(*carnet.Subject) bool
	}{
		{"consent revoked", func(tx carnet.Tx) error {
			at := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
			consent.RevokedAt = &at
			return tx.UpdateConsent(ctx, consent)
		}, func(s *carnet.Subject) bool { return len(s.Consents) == 1 && s.Consents[0].RevokedAt != nil }},
		{"block", func(tx carnet.Tx) error {
			return tx.CreateBlock(ctx, &carnet.Block{ID: "b-1", PatientID: p.ID, ProfessionalID: pro.ID})
		}, func(s *carnet.Subject) bool { return len(s.Blocks) == 1 }},
		{"settings", func(tx carnet.Tx) error {
			st := carnet.DefaultSettings(p.ID)
			st.HideAll = true
			return tx.PutSettings(ctx, &st)
		}, func(s *carnet.Subject) bool { return s.Settings.HideAll }},
		{"emergency session", func(tx carnet.Tx) error {
			return tx.PutEmergencySession(ctx, &carnet.EmergencySession{PatientID: p.ID, ProfessionalID: pro.ID,
				Mode: carnet.ModeBreakGlass, Reason: "coma", StartedAt: time.Now(), EndsAt: time.Now().Add(time.Hour)})
		}, func(s *carnet.Subject) bool { return s.Emergency != nil && s.Emergency.Reason == "coma" }},
		{"data key destroyed", func(tx carnet.Tx) error {
			at := time.Now()
			key.DestroyedAt = &at
			return tx.UpdateDataKey(ctx, key)
		}, func(s *carnet.Subject) bool { return s.DataKey != nil && s.DataKey.DestroyedAt != nil }},
		{"patient closed", func(tx carnet.Tx) error {
			p.Status = carnet.PatientClosed
			return tx.UpdatePatient(ctx, p)
		}, func(s *carnet.Subject) bool { return s.Patient.Status == carnet.PatientClosed }},
		{"professional deactivated", func(tx carnet.Tx) error {
			pro.Active = false
			return tx.UpdateProfessional(ctx, pro)
		}, func(s *carnet.Subject) bool { return s.Professional != nil && !s.Professional.Active }},
	}
	for _, c := range changes {
		update(c.change)
		sub, kept := read(pro.ID)
		if kept || !c.seen(sub) {
			t.Errorf("%s: kept %v, seen %v", c.name, kept, c.seen(sub))
		}
		if sub, kept := read(pro.ID); !kept || !c.seen(sub) {
			t.Errorf("%s, read again: kept %v, seen %v", c.name, kept, c.seen(sub))
		}
	}

	// The document is never kept: a change to it shows on a kept subject.
	doc.HiddenFromProfessionals = true
	update(func(tx carnet.Tx) error { return tx.UpdateDocument(ctx, doc) })
	if sub, kept := read(pro.ID); !kept || sub.Document == nil || !sub.Document.HiddenFromProfessionals {
		t.Errorf("document changed: kept %v, %+v", kept, sub.Document)
	}

	// A consent declared, read within its transaction, then rolled back: gone, on every read after.
	fresh := &carnet.Consent{ID: "c-2", PatientID: p.ID, ProfessionalID: pro.ID, Kind: carnet.ConsentWritten,
		DeclaredAt: time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)}
	rollback := errors.New("rolled back")
	err := db.Update(ctx, func(tx carnet.Tx) error {
		if err := tx.CreateConsent(ctx, fresh); err != nil {
			return err
		}
		sub, err := tx.SubjectDocument(ctx, p.ID, pro.ID, doc.ID)
		if err != nil {
			return err
		}
		if len(sub.Consents) != 2 {
			t.Errorf("within its transaction, %d consents", len(sub.Consents))
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	for i := range 2 {
		if sub, _ := read(pro.ID); len(sub.Consents) != 1 {
			t.Errorf("read %d after the rollback: %d consents", i+1, len(sub.Consents))
		}
	}

	// A data key inserted for a patient created earlier (no path does this today; keys come with
	// their patient) renews the revision too.
	q := storetest.NewPatient(1)
	update(func(tx carnet.Tx) error { return tx.CreatePatient(ctx, q) })
	readQ := func() (*carnet.Subject, bool) {
		t.Helper()
		hits, _ := sqldb.SubjectReads(db)
		var sub *carnet.Subject
		if err := db.View(ctx, func(tx carnet.Tx) error {
			var err error
			sub, err = tx.Subject(ctx, q.ID, "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		after, _ := sqldb.SubjectReads(db)
		return sub, after > hits
	}
	readQ()
	if sub, kept := readQ(); !kept || sub.DataKey != nil {
		t.Fatalf("patient without a key: kept %v, key %v", kept, sub.DataKey)
	}
	update(func(tx carnet.Tx) error {
		return tx.CreateDataKey(ctx, &carnet.DataKey{PatientID: q.ID, Wrapped: []byte("late"), KEKID: "kek-1"})
	})
	if sub, kept := readQ(); kept || sub.DataKey == nil {
		t.Errorf("key inserted later: kept %v, key %v", kept, sub.DataKey)
	}

	// Never accessed: read in full each time (its first access must be seen as one).
	for i := range 2 {
		if sub, kept := read(newcomer.ID); kept || sub.Accessed {
			t.Errorf("newcomer's read %d: kept %v, accessed %v", i+1, kept, sub.Accessed)
		}
	}
}
