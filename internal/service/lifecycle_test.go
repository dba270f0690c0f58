package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/service"
)

const sixWeeks = 6 * 7 * 24 * time.Hour

func (a *accounts) professional(t *testing.T, rpps, name string) carnet.Actor {
	t.Helper()
	p, _, err := a.svc.UpsertProfessional(ctx, operator, &carnet.Professional{RPPS: rpps, Profession: "10", Specialty: "SM54",
		Civility: "Dr", FamilyName: name, GivenName: "Alex", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return service.ActorFor(p)
}

func (a *accounts) deposit(t *testing.T, author carnet.Actor, patientID, title string, hiddenFromParents bool) *carnet.Document {
	t.Helper()
	d, err := a.svc.DepositDocument(ctx, author, patientID, service.NewDocument{TypeCode: "11488-4", Title: title,
		MediaType: "text/plain", Body: strings.NewReader("contenu : " + title), HiddenFromRepresentatives: hiddenFromParents})
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	return d
}

func (a *accounts) runJobs(t *testing.T) service.JobReport {
	t.Helper()
	r, err := a.svc.RunJobs(ctx)
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	return r
}

func TestOpposition(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		a.enrol(t, "f1", marieRow, paulRow)
		marie, paul := a.id(t, marieRow.Patient.NIR), a.id(t, paulRow.Patient.NIR)
		mcode, pcode := a.code(t, marie, "activation_code").Code, a.code(t, paul, "activation_code").Code
		oppose := service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: mcode} // no card needed to oppose

		wantSame(t, "opposition with a wrong code", a.svc.Oppose(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: pcode}, here),
			carnet.EUNAUTHORIZED, identity.MsgActivationFailed)
		if err := a.svc.Oppose(ctx, oppose, here); err != nil {
			t.Fatalf("oppose: %v", err)
		}
		if p := a.patient(t, marie); p.Status != carnet.PatientOpposed {
			t.Errorf("status %s", p.Status)
		}
		if len(a.events(t, marie, "patient.oppose")) != 1 {
			t.Error("opposition not in the history")
		}
		wantSame(t, "second opposition", a.svc.Oppose(ctx, oppose, here), carnet.EUNAUTHORIZED, identity.MsgActivationFailed)
		_, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: mcode, VitaleSerial: marieRow.VitaleSerial}, here)
		wantSame(t, "activation after opposition", err, carnet.EUNAUTHORIZED, identity.MsgActivationFailed)

		// The jobs create Paul's space at the end of the period, never Marie's.
		if r := a.runJobs(t); r.Created != 0 {
			t.Errorf("created at once: %+v", r)
		}
		a.clk.Add(sixWeeks - time.Hour)
		if r := a.runJobs(t); r.Created != 0 || a.patient(t, paul).Status != carnet.PatientEnrolled {
			t.Errorf("created before the end of the period: %+v", r)
		}
		a.clk.Add(2 * time.Hour)
		if r := a.runJobs(t); r.Created != 1 {
			t.Errorf("jobs at the end of the period: %+v", r)
		}
		if p := a.patient(t, paul); p.Status != carnet.PatientActive {
			t.Errorf("Paul's space: %s", p.Status)
		}
		if evs := a.events(t, paul, "patient.autocreate"); len(evs) != 1 || evs[0].ActorKind != carnet.ActorSystem {
			t.Errorf("automatic creation in the history: %+v", evs)
		}
		a.clk.Add(30 * 24 * time.Hour)
		if r := a.runJobs(t); r.Created != 0 || a.patient(t, marie).Status != carnet.PatientOpposed {
			t.Errorf("opposed space created: %+v", r)
		}
		// Paul can no longer oppose his open space, but his code still activates it.
		err = a.svc.Oppose(ctx, service.ActivationCheck{NIR: paulRow.Patient.NIR, Code: pcode}, here)
		wantCode(t, err, carnet.ECONFLICT)
		ptok := a.activate(t, paulRow, pcode, "paul.martin", "paul@example.org")
		if info := a.authenticate(t, ptok); info.Actor.ID != paul {
			t.Errorf("Paul signed in as %s", info.Actor.ID)
		}

		// Marie changes her mind and asks the insurer: a new code opens her space.
		if _, err := a.svc.RequestSpace(ctx, carnet.Actor{Kind: carnet.ActorPatient, ID: marie}, marieRow.Patient.NIR); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("request by a patient: %v", err)
		}
		if _, err := a.svc.RequestSpace(ctx, operator, paulRow.Patient.NIR); carnet.ErrorCode(err) != carnet.ECONFLICT {
			t.Errorf("request for a space never refused: %v", err)
		}
		p, err := a.svc.RequestSpace(ctx, operator, marieRow.Patient.NIR)
		if err != nil || p.ID != marie || p.Status != carnet.PatientActive {
			t.Fatalf("request: %+v %v", p, err)
		}
		m := a.code(t, marie, "activation_code")
		if m.Code == mcode || m.Recipient != "marie@example.org" {
			t.Errorf("new code %q to %s", m.Code, m.Recipient)
		}
		tok := a.activate(t, marieRow, m.Code, "marie.dupont", "marie@example.org")
		if info := a.authenticate(t, tok); info.Actor.ID != marie {
			t.Errorf("Marie signed in as %s", info.Actor.ID)
		}
		for _, action := range []string{"patient.oppose", "patient.request", "account.activate"} {
			if !hasAction(a.events(t, marie, action), action) {
				t.Errorf("%s not in Marie's history", action)
			}
		}
	})
}

func TestMinors(t *testing.T) {
	fifteen := func(c *service.Config) { c.HandOverAge = 15 }
	forEachAccounts(t, fifteen, func(t *testing.T, a *accounts) {
		lucasRow := minorOf(marieRow, person(5, "Lucas", "DUPONT", carnet.SexMale, date(2011, 6, 20), "", "", ""))
		emmaRow := minorOf(marieRow, person(6, "Emma", "DUPONT", carnet.SexFemale, date(2011, 5, 10), "emma@example.org", "", ""))
		a.enrol(t, "f1", marieRow, lucasRow, emmaRow)
		marie, lucas, emma := a.id(t, marieRow.Patient.NIR), a.id(t, lucasRow.Patient.NIR), a.id(t, emmaRow.Patient.NIR)
		mcode := a.code(t, marie, "activation_code").Code
		if m := a.code(t, emma, "activation_code"); m.Recipient != "marie@example.org" {
			t.Errorf("a minor's code went to %s", m.Recipient)
		}
		a.code(t, lucas, "activation_code")
		a.activate(t, marieRow, mcode, "marie.dupont", "marie@example.org")
		a.clk.Add(sixWeeks + 24*time.Hour)
		if r := a.runJobs(t); r.Created != 2 || r.HandedOver != 0 {
			t.Fatalf("jobs: %+v", r)
		}

		doctor := a.professional(t, "10000000018", "Lefèvre")
		if _, err := a.svc.DeclareConsent(ctx, doctor, lucas, carnet.ConsentOral, "", nil); err != nil {
			t.Fatal(err)
		}
		open := a.deposit(t, doctor, lucas, "Otite", false)
		secret := a.deposit(t, doctor, lucas, "Consultation confidentielle", true)

		info := a.authenticate(t, a.login(t, marie, "marie.dupont", here))
		rep, err := a.svc.ActFor(ctx, info.Actor, lucas)
		if err != nil || rep.Kind != carnet.ActorRepresentative || rep.ID != marie || rep.OnBehalfOf != lucas {
			t.Fatalf("act for: %+v %v", rep, err)
		}
		if _, err := a.svc.ActFor(ctx, info.Actor, marie); carnet.ErrorCode(err) != carnet.ENOTFOUND {
			t.Errorf("act for someone who is not one's child: %v", err)
		}
		if _, err := a.svc.ActFor(ctx, doctor, lucas); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("a professional acts as parent: %v", err)
		}
		docs, err := a.svc.ListDocuments(ctx, rep, lucas, carnet.DocumentFilter{})
		if err != nil || len(docs) != 1 || docs[0].ID != open.ID {
			t.Fatalf("parent's listing: %v %v", docs, err)
		}
		if _, body, err := a.svc.ReadDocument(ctx, rep, lucas, open.ID); err != nil || !strings.Contains(string(body), "Otite") {
			t.Errorf("parent reads: %q %v", body, err)
		}
		if _, _, err := a.svc.ReadDocument(ctx, rep, lucas, secret.ID); carnet.ErrorCode(err) != carnet.ENOTFOUND {
			t.Errorf("parent reads the confidential document: %v", err)
		}
		var onBehalf bool
		for _, e := range a.events(t, lucas, "document.list") {
			onBehalf = onBehalf || (e.ActorID == marie && e.ActorKind == carnet.ActorRepresentative && e.OnBehalfOf == lucas &&
				e.Decision == carnet.DecisionAllow)
		}
		if !onBehalf {
			t.Error("the parent's listing is not recorded as on behalf of the child")
		}

		// Past the hand-over age the parent is refused, before and after the job runs.
		a.clk.Set(time.Date(2026, 6, 21, 9, 0, 0, 0, time.UTC))
		info = a.authenticate(t, a.login(t, marie, "marie.dupont", here))
		if _, err := a.svc.ActFor(ctx, info.Actor, lucas); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("act for a 15-year-old: %v", err)
		}
		if _, _, err := a.svc.ReadDocument(ctx, rep, lucas, open.ID); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("policy lets the parent read past the age: %v", err)
		}
		r := a.runJobs(t)
		if r.HandedOver != 2 {
			t.Errorf("jobs: %+v", r)
		}
		for _, id := range []string{lucas, emma} {
			if p := a.patient(t, id); p.RightsHolderID != "" {
				t.Errorf("rights holder kept: %q", p.RightsHolderID)
			}
			if evs := a.events(t, id, "patient.handover"); len(evs) != 1 || evs[0].TargetID != marie {
				t.Errorf("hand-over events: %+v", evs)
			}
		}
		if _, _, err := a.svc.ReadDocument(ctx, rep, lucas, open.ID); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("former parent reads: %v", err)
		}
		// Emma's new code goes to her own address; Lucas, who has none, gets his through his mother.
		em := a.code(t, emma, "activation_code")
		if em.Recipient != "emma@example.org" {
			t.Errorf("Emma's code to %s", em.Recipient)
		}
		lm := a.code(t, lucas, "activation_code")
		if lm.Recipient != "marie@example.org" || !strings.Contains(lm.Text, "Bonjour Lucas") || strings.Contains(lm.Text, "ouvrant droit") {
			t.Errorf("Lucas's code to %s: %q", lm.Recipient, lm.Text)
		}
		tok := a.activate(t, lucasRow, lm.Code, "lucas.dupont", "lucas@example.org")
		me := a.authenticate(t, tok)
		if me.Actor.ID != lucas || me.Actor.Kind != carnet.ActorPatient {
			t.Fatalf("Lucas signed in as %+v", me.Actor)
		}
		if docs, err := a.svc.ListDocuments(ctx, me.Actor, lucas, carnet.DocumentFilter{}); err != nil || len(docs) != 2 {
			t.Errorf("Lucas's own listing: %d %v", len(docs), err)
		}
		if r := a.runJobs(t); r.HandedOver != 0 {
			t.Errorf("second run: %+v", r)
		}
	})
}

func TestCloseAndReopen(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, tok := a.enrolAndActivate(t, marieRow, "marie.dupont")
		doctor := a.professional(t, "10000000018", "Lefèvre")
		if _, err := a.svc.DeclareConsent(ctx, doctor, marie, carnet.ConsentOral, "", nil); err != nil {
			t.Fatal(err)
		}
		doc := a.deposit(t, doctor, marie, "Consultation", false)
		a.deliver(t, marie)
		me := a.authenticate(t, tok).Actor

		other := carnet.Actor{Kind: carnet.ActorPatient, ID: "someone-else"}
		if err := a.svc.CloseSpace(ctx, other, marie, false); carnet.ErrorCode(err) != carnet.ENOTFOUND {
			t.Errorf("closed by someone else: %v", err)
		}
		if err := a.svc.CloseSpace(ctx, me, marie, false); err != nil {
			t.Fatalf("close: %v", err)
		}
		if p := a.patient(t, marie); p.Status != carnet.PatientClosed || p.ClosedAt == nil || !p.ClosedAt.Equal(a.clk.Now()) {
			t.Errorf("after closing: %s %v", p.Status, p.ClosedAt)
		}
		_, _, err := a.svc.ReadDocument(ctx, doctor, marie, doc.ID)
		wantCode(t, err, carnet.EFORBIDDEN)
		if !strings.Contains(carnet.ErrorMessage(err), "n'est pas ouvert") {
			t.Errorf("refusal: %q", carnet.ErrorMessage(err))
		}
		if _, err := a.svc.Authenticate(ctx, tok); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("session after closing: %v", err)
		}
		msgs := a.deliver(t, marie)
		if len(msgs) != 1 || msgs[0].Kind != "closure" || msgs[0].Recipient != "marie@example.org" || !strings.Contains(msgs[0].Text, "fermé") {
			t.Errorf("closure messages: %+v", msgs)
		}
		if err := a.svc.CloseSpace(ctx, me, marie, false); carnet.ErrorCode(err) != carnet.ECONFLICT {
			t.Errorf("closed twice: %v", err)
		}

		// She signs in to a closed space and reopens it.
		tok = a.login(t, marie, "marie.dupont", here)
		info := a.authenticate(t, tok)
		if !info.Closed {
			t.Error("session does not say the space is closed")
		}
		a.clk.Add(time.Minute)
		if err := a.svc.ReopenSpace(ctx, info.Actor, marie); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if _, _, err := a.svc.ReadDocument(ctx, doctor, marie, doc.ID); err != nil {
			t.Errorf("read after reopening: %v", err)
		}
		if msgs := a.deliver(t, marie); len(msgs) != 1 || msgs[0].Kind != "closure" || !strings.Contains(msgs[0].Text, "rouvert") {
			t.Errorf("reopening messages: %+v", msgs)
		}

		// Closing with immediate destruction shreds the key and the account.
		if err := a.svc.CloseSpace(ctx, info.Actor, marie, true); err != nil {
			t.Fatalf("close and destroy: %v", err)
		}
		if p := a.patient(t, marie); p.Status != carnet.PatientDestroyed {
			t.Errorf("status %s", p.Status)
		}
		a.store.View(ctx, func(tx carnet.Tx) error {
			k, err := tx.DataKey(ctx, marie)
			if err != nil || len(k.Wrapped) != 0 || k.DestroyedAt == nil {
				t.Errorf("data key after destruction: %+v %v", k, err)
			}
			if _, err := tx.Account(ctx, marie); carnet.ErrorCode(err) != carnet.ENOTFOUND {
				t.Errorf("account after destruction: %v", err)
			}
			return nil
		})
		_, err = a.svc.Login(ctx, "marie.dupont", password, here)
		wantSame(t, "login after destruction", err, carnet.EUNAUTHORIZED, identity.MsgLoginFailed)
		if _, err := a.svc.Authenticate(ctx, tok); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("session after destruction: %v", err)
		}
		if _, _, err := a.svc.ReadDocument(ctx, doctor, marie, doc.ID); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("read after destruction: %v", err)
		}
		if err := a.svc.ReopenSpace(ctx, info.Actor, marie); carnet.ErrorCode(err) != carnet.ECONFLICT {
			t.Errorf("reopen a destroyed space: %v", err)
		}
		evs := a.events(t, marie, "")
		for _, action := range []string{"patient.close", "patient.reopen", "key.destroy"} {
			if !hasAction(evs, action) {
				t.Errorf("%s not in the history", action)
			}
		}
	})
}

func TestArchivePeriod(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		paul, tok := a.enrolAndActivate(t, louisRow, "louis.bernard")
		if err := a.svc.CloseSpace(ctx, a.authenticate(t, tok).Actor, paul, false); err != nil {
			t.Fatal(err)
		}
		const archive = 10 * 365 * 24 * time.Hour
		a.clk.Add(archive - time.Hour)
		if r := a.runJobs(t); r.Destroyed != 0 || a.patient(t, paul).Status != carnet.PatientClosed {
			t.Errorf("destroyed before the end of the archive period: %+v", r)
		}
		a.clk.Add(2 * time.Hour)
		// Too late to reopen, even before the job runs.
		tok = a.login(t, paul, "louis.bernard", here)
		if err := a.svc.ReopenSpace(ctx, a.authenticate(t, tok).Actor, paul); carnet.ErrorCode(err) != carnet.ECONFLICT {
			t.Errorf("reopened after the archive period: %v", err)
		}
		if r := a.runJobs(t); r.Destroyed != 1 {
			t.Errorf("jobs: %+v", r)
		}
		if p := a.patient(t, paul); p.Status != carnet.PatientDestroyed {
			t.Errorf("status %s", p.Status)
		}
		evs := a.events(t, paul, "key.destroy")
		if len(evs) != 1 || evs[0].ActorKind != carnet.ActorSystem || !hasAction(a.events(t, paul, "patient.close"), "patient.close") {
			t.Errorf("history: %+v", evs)
		}
		if _, err := a.svc.Authenticate(ctx, tok); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("session after destruction: %v", err)
		}
		if r := a.runJobs(t); r.Destroyed != 0 {
			t.Errorf("second run: %+v", r)
		}
	})
}

// TestMinorSpaceNotActivatedByParent: the parent receives the minor's provisional code and
// knows the child's card, but a minor's space is not activated as an account: the parent acts
// for the child (ActFor), and the young person activates at the hand-over age. Otherwise the
// parent signs in as the child, reads the care kept confidential from the parents, and the young
// person can never take over.
func TestMinorSpaceNotActivatedByParent(t *testing.T) {
	forEachAccounts(t, func(c *service.Config) { c.HandOverAge = 15 }, func(t *testing.T, a *accounts) {
		lucasRow := minorOf(marieRow, person(5, "Lucas", "DUPONT", carnet.SexMale, date(2011, 6, 20), "", "", ""))
		a.enrol(t, "f1", marieRow, lucasRow)
		lucas := a.id(t, lucasRow.Patient.NIR)
		code := a.code(t, lucas, "activation_code").Code
		check := service.ActivationCheck{NIR: lucasRow.Patient.NIR, Code: code, VitaleSerial: lucasRow.VitaleSerial}
		if _, err := a.svc.BeginActivation(ctx, check, here); err != nil {
			return // refused: the rest does not apply
		}
		t.Error("the parent activates the minor's space with the code they received")
		tok := a.activate(t, lucasRow, code, "parent.as.lucas", "marie@example.org")
		doctor := a.professional(t, "10000000018", "Lefèvre")
		if _, err := a.svc.DeclareConsent(ctx, doctor, lucas, carnet.ConsentOral, "", nil); err != nil {
			t.Fatal(err)
		}
		secret := a.deposit(t, doctor, lucas, "Consultation confidentielle", true)
		if _, _, err := a.svc.ReadDocument(ctx, a.authenticate(t, tok).Actor, lucas, secret.ID); err == nil {
			t.Error("through the minor's account the parent reads a document hidden from representatives")
		}
		a.clk.Set(time.Date(2026, 6, 21, 9, 0, 0, 0, time.UTC))
		a.runJobs(t)
		fresh := a.code(t, lucas, "activation_code").Code
		check.Code = fresh
		if _, err := a.svc.BeginActivation(ctx, check, here); err != nil {
			t.Errorf("the young person cannot take over their space after the hand-over: %v", err)
		}
		if _, err := a.svc.Login(ctx, "parent.as.lucas", password, here); err == nil {
			t.Error("after the hand-over the parent still signs in to the young person's account")
		}
	})
}

// TestHandOverCount: the report counts the spaces actually handed over, also around midnight
// when the day in Paris is not the day in UTC.
func TestHandOverCount(t *testing.T) {
	forEachAccounts(t, func(c *service.Config) { c.HandOverAge = 15 }, func(t *testing.T, a *accounts) {
		lucasRow := minorOf(marieRow, person(5, "Lucas", "DUPONT", carnet.SexMale, date(2011, 6, 20), "", "", ""))
		a.enrol(t, "f1", marieRow, lucasRow)
		lucas := a.id(t, lucasRow.Patient.NIR)
		a.clk.Set(time.Date(2026, 6, 19, 22, 30, 0, 0, time.UTC)) // 20 June, 00:30 in Paris
		r := a.runJobs(t)
		done := len(a.events(t, lucas, "patient.handover"))
		if r.HandedOver != done {
			t.Errorf("report says %d handed over, history %d (rights holder %q)", r.HandedOver, done, a.patient(t, lucas).RightsHolderID)
		}
	})
}
