package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
)

func ptr[T any](v T) *T { return &v }

func canRead(t *testing.T, w *world, a carnet.Actor, d *carnet.Document) bool {
	t.Helper()
	_, _, err := w.svc.ReadDocument(ctx, a, w.patient.ID, d.ID)
	switch carnet.ErrorCode(err) {
	case "":
		return true
	case carnet.EFORBIDDEN, carnet.ENOTFOUND:
		return false
	}
	t.Fatalf("read: %v", err)
	return false
}

func outbox(t *testing.T, w *world) []*carnet.OutboxMessage {
	t.Helper()
	var msgs []*carnet.OutboxMessage
	w.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		msgs, err = tx.ListOutbox(ctx, w.patient.ID)
		return err
	})
	return msgs
}

// TestAccessRulesThroughTheDoor exercises the policy's rules end to end: the facts the service
// loads (consents, blocks, settings, directory state) reach the decision.
func TestAccessRulesThroughTheDoor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		me := service.PatientActor(w.patient)
		report := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
		lab := w.deposit(t, w.doctor, "11502-2", "Bilan", "glycémie")
		if !canRead(t, w, w.kine, report) || canRead(t, w, w.kine, lab) {
			t.Error("grid: the kiné reads consultation reports, not lab results")
		}
		if canRead(t, w, w.stranger, report) {
			t.Error("no consent, no access")
		}

		// Hidden from professionals: its author still reads it, the kiné no longer sees it, the
		// listing leaves it out.
		if _, err := w.svc.ChangeDocument(ctx, me, w.patient.ID, report.ID, service.HideFromProfessionals); err != nil {
			t.Fatal(err)
		}
		if !canRead(t, w, w.doctor, report) || canRead(t, w, w.kine, report) {
			t.Error("hidden document: author yes, others no")
		}
		list, err := w.svc.ListDocuments(ctx, w.kine, w.patient.ID, carnet.DocumentFilter{})
		if err != nil || len(list) != 0 {
			t.Errorf("kiné's listing: %d %v", len(list), err)
		}
		// The médecin traitant reads hidden documents.
		if _, err := w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{TreatingDoctorID: ptr(w.stranger.ID)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.DeclareConsent(ctx, w.stranger, w.patient.ID, carnet.ConsentWritten, "", nil); err != nil {
			t.Fatal(err)
		}
		if !canRead(t, w, w.stranger, report) {
			t.Error("the médecin traitant reads hidden documents")
		}
		if _, err := w.svc.ChangeDocument(ctx, me, w.patient.ID, report.ID, service.UnhideFromProfessionals); err != nil {
			t.Fatal(err)
		}

		// Block: nothing, even with consent; unblocking restores the earlier state.
		b, err := w.svc.Block(ctx, me, w.patient.ID, w.kine.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if canRead(t, w, w.kine, report) {
			t.Error("blocked professional reads")
		}
		if _, _, err := w.svc.StartEmergency(ctx, w.kine, w.patient.ID, carnet.ModeBreakGlass, "malaise au cabinet"); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("blocked professional opened an emergency session: %v", err)
		}
		if err := w.svc.Unblock(ctx, me, w.patient.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if !canRead(t, w, w.kine, report) {
			t.Error("unblocking did not restore access")
		}
		// A block of the structure covers its professionals.
		// The kiné's structure, as the directory knows it (the directory is the truth, not the token).
		if _, _, err := w.svc.UpsertProfessional(ctx, operator, &carnet.Professional{RPPS: "10000000026", Profession: "70",
			Civility: "Dr", FamilyName: "Bernard", GivenName: "Alex", StructureID: "750034567", Active: true}); err != nil {
			t.Fatal(err)
		}
		sb, err := w.svc.Block(ctx, me, w.patient.ID, "", "750034567")
		if err != nil {
			t.Fatal(err)
		}
		if canRead(t, w, w.kine, report) {
			t.Error("structure block ignored")
		}
		w.svc.Unblock(ctx, me, w.patient.ID, sb.ID)

		// Hide everything: only the patient (and the administrator).
		if _, err := w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{HideAll: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if canRead(t, w, w.doctor, report) || !canRead(t, w, me, report) {
			t.Error("hide everything")
		}
		if _, err := w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{HideAll: ptr(false)}); err != nil {
			t.Fatal(err)
		}

		// Only the patient's side changes settings.
		if _, err := w.svc.ChangeSettings(ctx, w.doctor, w.patient.ID, service.SettingsChange{HideAll: ptr(true)}); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("a professional changed the settings: %v", err)
		}
		if _, err := w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{NotifyEmergency: ptr("none")}); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("emergencies silenced: %v", err)
		}
	})
}

func TestBreakGlass(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		me := service.PatientActor(w.patient)
		report := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
		if _, _, err := w.svc.StartEmergency(ctx, w.stranger, w.patient.ID, carnet.ModeBreakGlass, "?"); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("no reason: %v", err)
		}
		session, deadline, err := w.svc.StartEmergency(ctx, w.stranger, w.patient.ID, carnet.ModeBreakGlass, "patiente inconsciente aux urgences")
		if err != nil {
			t.Fatal(err)
		}
		if d := deadline.Sub(session.ModeSince); d != 5*24*time.Hour {
			t.Errorf("window %v", d)
		}
		if !canRead(t, w, session, report) {
			t.Error("bris de glace read refused")
		}
		// The session is kept by the server: the same professional, without carrying the mode,
		// reads in bris de glace mode until the session ends.
		if !canRead(t, w, w.stranger, report) {
			t.Error("the emergency session is not remembered")
		}
		var emergencyEvents int
		for _, e := range history(t, w) {
			if e.ActorID == w.stranger.ID && e.Mode == carnet.ModeBreakGlass {
				emergencyEvents++
				if !strings.Contains(e.Reason, "inconsciente") {
					t.Errorf("reason not recorded: %q", e.Reason)
				}
			}
		}
		if emergencyEvents != 3 {
			t.Errorf("%d break-glass events, want start + 2 reads", emergencyEvents)
		}
		var announced int
		for _, m := range outbox(t, w) {
			if m.Kind == service.NotifyEmergency {
				announced++
				if strings.Contains(m.Body, "contenu") || strings.Contains(m.Body, "Consultation") {
					t.Error("the notification carries health content")
				}
			}
		}
		if announced != 1 {
			t.Errorf("%d emergency notifications, want 1 for the session", announced)
		}
		// The patient switches bris de glace off: the next session is refused.
		if _, err := w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{BreakGlassAllowed: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if canRead(t, w, session, report) {
			t.Error("bris de glace read after the patient switched it off")
		}
		// An expired session reads nothing.
		session.ModeSince = time.Now().Add(-6 * 24 * time.Hour)
		w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{BreakGlassAllowed: ptr(true)})
		if canRead(t, w, session, report) {
			t.Error("bris de glace read after its window")
		}
	})
}

func TestAdministratorAndNotifications(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	me := service.PatientActor(w.patient)
	// Finding the patient by INS is recorded, but is not the first access to the record.
	if _, err := w.svc.PatientByNIR(ctx, w.stranger, w.patient.NIR); err != nil {
		t.Fatal(err)
	}
	var searched bool
	for _, e := range history(t, w) {
		searched = searched || (e.Action == "patient.search" && e.ActorID == w.stranger.ID)
	}
	if !searched {
		t.Error("the INS look-up is not in the history")
	}
	// The stranger never accessed the record: cannot be administrator.
	if err := w.svc.SetAdministrator(ctx, me, w.patient.ID, w.stranger.ID); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
		t.Errorf("administrator without prior access: %v", err)
	}
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
	canRead(t, w, w.kine, d)
	if err := w.svc.SetAdministrator(ctx, me, w.patient.ID, w.kine.ID); err != nil {
		t.Fatalf("administrator after access: %v", err)
	}
	// The administrator hides a document they did not write.
	if _, err := w.svc.ChangeDocument(ctx, w.kine, w.patient.ID, d.ID, service.HideFromProfessionals); err != nil {
		t.Errorf("administrator hides: %v", err)
	}
	// Notifications: a first access by each professional, an action by someone else; nothing for
	// the patient's own actions.
	kinds := map[string]int{}
	for _, m := range outbox(t, w) {
		kinds[m.Kind]++
		if m.Recipient != "marie@example.org" || m.Channel != "email" {
			t.Errorf("message to %s by %s", m.Recipient, m.Channel)
		}
	}
	if kinds[service.NotifyFirstAccess] != 2 { // the doctor (consent), the kiné (consent)
		t.Errorf("first-access notifications: %v", kinds)
	}
	// The doctor's deposit and the kiné's hiding, minutes apart at most, make one digest, due at
	// the end of its window.
	if kinds[service.NotifyAction] != 1 {
		t.Errorf("action notifications: %v", kinds)
	}
	for _, m := range outbox(t, w) {
		if m.Kind == service.NotifyAction && !m.NextAttemptAt.After(time.Now()) {
			t.Errorf("digest due at once: %v", m.NextAttemptAt)
		}
	}
	// The patient chooses no notification for actions.
	before := len(outbox(t, w))
	w.svc.ChangeSettings(ctx, me, w.patient.ID, service.SettingsChange{NotifyAction: ptr("none")})
	w.deposit(t, w.doctor, "11488-4", "Consultation 2", "contenu")
	if after := len(outbox(t, w)); after != before {
		t.Errorf("notified despite the patient's choice: %d → %d", before, after)
	}
}

// TestMinorConfidentialCare: a parent acts for their child, but a document flagged invisible to
// legal representatives stays out of the parent's view, its history included.
func TestMinorConfidentialCare(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	nir := "1150675056201"
	k, _ := carnet.NIRKey(nir)
	child, err := w.svc.CreatePatient(ctx, operator, &carnet.Patient{NIR: nir + twoDigits(k), BirthName: "DUPONT", GivenNames: "Lucas",
		Sex: carnet.SexMale, BirthDate: time.Date(2015, 6, 20, 0, 0, 0, 0, time.UTC), RightsHolderID: w.patient.ID, Status: carnet.PatientActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.DeclareConsent(ctx, w.doctor, child.ID, carnet.ConsentOral, "", nil); err != nil {
		t.Fatal(err)
	}
	open, err := w.svc.DepositDocument(ctx, w.doctor, child.ID, service.NewDocument{TypeCode: "11488-4", Title: "Otite",
		MediaType: "text/plain", Body: strings.NewReader("otite")})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := w.svc.DepositDocument(ctx, w.doctor, child.ID, service.NewDocument{TypeCode: "11488-4", Title: "Consultation confidentielle",
		MediaType: "text/plain", Body: strings.NewReader("confidentiel"), HiddenFromRepresentatives: true})
	if err != nil {
		t.Fatal(err)
	}
	parent := carnet.Actor{Kind: carnet.ActorRepresentative, ID: w.patient.ID, Name: w.patient.DisplayName(), OnBehalfOf: child.ID}
	docs, err := w.svc.ListDocuments(ctx, parent, child.ID, carnet.DocumentFilter{})
	if err != nil || len(docs) != 1 || docs[0].ID != open.ID {
		t.Fatalf("parent's listing: %v %v", docs, err)
	}
	if _, _, err := w.svc.ReadDocument(ctx, parent, child.ID, secret.ID); carnet.ErrorCode(err) != carnet.ENOTFOUND {
		t.Errorf("parent reads the confidential document: %v", err)
	}
	evs, err := w.svc.History(ctx, parent, child.ID, carnet.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.TargetID == secret.ID {
			t.Errorf("parent sees a trace of the confidential document: %s", e.Action)
		}
	}
	// The parent's own actions are recorded as acting for the child.
	var onBehalf bool
	w.store.View(ctx, func(tx carnet.Tx) error {
		all, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: child.ID, ActorID: w.patient.ID})
		for _, e := range all {
			onBehalf = onBehalf || (e.ActorKind == carnet.ActorRepresentative && e.OnBehalfOf == child.ID)
		}
		return nil
	})
	if !onBehalf {
		t.Error("the parent's actions are not recorded as on behalf of the child")
	}
	// Another adult is no representative.
	other := carnet.Actor{Kind: carnet.ActorRepresentative, ID: "someone-else"}
	if _, err := w.svc.ListDocuments(ctx, other, child.ID, carnet.DocumentFilter{}); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
		t.Errorf("a stranger acts as representative: %v", err)
	}
}

func twoDigits(k int) string { return string(rune('0'+k/10)) + string(rune('0'+k%10)) }

// TestSettingsReads: the patient reads their settings and blocks unrecorded; the administrator's
// reading of the blocks is in the history; a stranger is told the space does not exist.
func TestSettingsReads(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	me := service.PatientActor(w.patient)
	before := len(history(t, w))
	if _, err := w.svc.Settings(ctx, me, w.patient.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Blocks(ctx, me, w.patient.ID); err != nil {
		t.Fatal(err)
	}
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
	canRead(t, w, w.kine, d)
	if err := w.svc.SetAdministrator(ctx, me, w.patient.ID, w.kine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Blocks(ctx, w.kine, w.patient.ID); err != nil {
		t.Fatalf("administrator reading blocks: %v", err)
	}
	if _, err := w.svc.Settings(ctx, w.stranger, w.patient.ID); carnet.ErrorCode(err) != carnet.ENOTFOUND {
		t.Errorf("stranger reading settings: %v", err)
	}
	var adminRead, strangerRefused, own int
	for _, e := range history(t, w)[:len(history(t, w))-before] {
		switch {
		case e.Action == "blocks.read" && e.ActorID == w.kine.ID && e.Decision == carnet.DecisionAllow:
			adminRead++
		case e.Action == "settings.read" && e.ActorID == w.stranger.ID && e.Decision == carnet.DecisionDeny:
			strangerRefused++
		case (e.Action == "settings.read" || e.Action == "blocks.read") && e.ActorID == w.patient.ID:
			own++
		}
	}
	if adminRead != 1 || strangerRefused != 1 || own != 0 {
		t.Errorf("recorded: administrator %d, stranger %d, own %d", adminRead, strangerRefused, own)
	}
}
