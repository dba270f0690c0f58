package service_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/fs"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/identity/passkey/passkeytest"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/store/postgres"
	"github.com/carnet-sante/carnet/internal/store/postgres/pgtest"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

// testClock is a clock the test moves. The service (Deps.Now) and the store (each transaction's
// Now) read the same one.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// accounts is a service over a real store, with cheap password hashing and a clock of its own.
type accounts struct {
	svc   *service.Service
	store carnet.Store
	clk   *testClock
}

const (
	origin   = "https://carnet.example"
	password = "Brume-Violette-Kayak-47!"
)

// here is the address people act from; each test that counts attempts per address uses others.
var here = service.Client{Address: "192.0.2.10", UserAgent: "test"}

var engineNames = []string{"sqlite", "postgres"}

func newAccounts(t *testing.T, engine string, tune func(*service.Config), logger *slog.Logger) *accounts {
	t.Helper()
	return newAccountsWith(t, engine, tune, logger, nil)
}

// newAccountsWith is newAccounts with the service over wrap(store) when wrap is not nil (the
// world's own store field stays the real one).
func newAccountsWith(t *testing.T, engine string, tune func(*service.Config), logger *slog.Logger,
	wrap func(carnet.Store) carnet.Store) *accounts {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	opts := []sqldb.Option{sqldb.WithClock(clk.Now)}
	var st carnet.Store
	var err error
	switch engine {
	case "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "carnet.db"), sqlite.Options{Store: opts, Logger: logger})
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{Store: opts, Logger: logger})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := fs.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	mk, _ := keys.GenerateMasterKey()
	cfg := service.Config{MaxBodySize: 1 << 20, BaseURL: origin, PasswordParams: identity.TestPasswordParams()}
	if tune != nil {
		tune(&cfg)
	}
	served := st
	if wrap != nil {
		served = wrap(st)
	}
	svc, err := service.New(ctx, service.Deps{Store: served, Blobs: blobs, Keys: keys.NewKeyring(mk), Config: cfg, Now: clk.Now,
		Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &accounts{svc: svc, store: st, clk: clk}
}

// forEachAccounts runs fn against SQLite and PostgreSQL.
func forEachAccounts(t *testing.T, tune func(*service.Config), fn func(t *testing.T, a *accounts)) {
	for _, e := range engineNames {
		t.Run(e, func(t *testing.T) { fn(t, newAccounts(t, e, tune, nil)) })
	}
}

// makeNIR builds a valid NIR for a person born in Paris.
func makeNIR(sex carnet.Sex, birth time.Time, order int) string {
	s := "1"
	if sex == carnet.SexFemale {
		s = "2"
	}
	body := fmt.Sprintf("%s%s%s75056%03d", s, birth.Format("06"), birth.Format("01"), order)
	k, err := carnet.NIRKey(body)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%02d", body, k)
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// person is an enrolment row with the contact the test gives it.
func person(line int, given, family string, sex carnet.Sex, birth time.Time, email, mobile, postal string) service.EnrolRow {
	return service.EnrolRow{
		Line: line,
		Patient: carnet.Patient{NIR: makeNIR(sex, birth, line), BirthName: family, GivenNames: given, Sex: sex, BirthDate: birth,
			Email: email, Mobile: mobile, PostalAddress: postal},
		VitaleSerial: fmt.Sprintf("8025 0%03d 1234", line),
	}
}

func minorOf(parent service.EnrolRow, row service.EnrolRow) service.EnrolRow {
	row.RightsHolderNIR = parent.Patient.NIR
	return row
}

// enrol prepares and commits rows as one batch of file fileID.
func (a *accounts) enrol(t *testing.T, fileID string, rows ...service.EnrolRow) (service.EnrolResult, []service.BadRow) {
	t.Helper()
	b, bad, err := a.svc.PrepareEnrolment(ctx, operator, "enroll:"+fileID, slices.Clone(rows), nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	run := service.EnrolmentRun{FileID: fileID, Line: rows[len(rows)-1].Line, Bad: int64(len(bad))}
	res, err := a.svc.CommitEnrolment(ctx, operator, b, run)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return res, bad
}

// id finds a person's patient ID by NIR, as the operator does.
func (a *accounts) id(t *testing.T, nir string) string {
	t.Helper()
	p, err := a.svc.PatientByNIR(ctx, operator, nir)
	if err != nil {
		t.Fatalf("patient by NIR: %v", err)
	}
	return p.ID
}

// patient reads a patient as stored.
func (a *accounts) patient(t *testing.T, id string) *carnet.Patient {
	t.Helper()
	var p *carnet.Patient
	if err := a.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		p, err = tx.Patient(ctx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// events lists a patient's history as stored, with the given action ("" for all).
func (a *accounts) events(t *testing.T, patientID, action string) []*carnet.AuditEvent {
	t.Helper()
	var evs []*carnet.AuditEvent
	if err := a.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		evs, err = tx.ListAudit(ctx, carnet.AuditFilter{PatientID: patientID, Action: action})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// sent is a message as its recipient reads it.
type sent struct {
	carnet.OutboxMessage
	Code string // the secret it carried ("" if none)
	Text string // the body as sent, with the code in place
}

// deliver plays the notification worker for one patient's messages: it takes those pending,
// reveals the codes they carry, checks that the stored body never holds a code, marks them sent
// and checks that the store then forgets the secret.
func (a *accounts) deliver(t *testing.T, patientID string) []sent {
	t.Helper()
	var out []sent
	// As the outbox worker does before each claim: codes queued by bulk enrolment become messages.
	for {
		if n, err := a.svc.QueueEnrolmentCodes(ctx, 100); err != nil {
			t.Fatal(err)
		} else if n == 0 {
			break
		}
	}
	err := a.store.Update(ctx, func(tx carnet.Tx) error {
		out = nil
		msgs, err := tx.ListOutbox(ctx, patientID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Status != carnet.OutboxPending {
				continue
			}
			s := sent{OutboxMessage: *m, Text: m.Body}
			if len(m.Secret) > 0 {
				code, err := a.svc.RevealSecret(m)
				if err != nil {
					return err
				}
				if code == "" || !strings.Contains(m.Body, carnet.SecretPlaceholder) {
					t.Errorf("message %s: code %q, body without placeholder: %q", m.Kind, code, m.Body)
				}
				if strings.Contains(m.Body, code) || strings.Contains(m.Subject, code) {
					t.Errorf("message %s: the stored body holds the code", m.Kind)
				}
				s.Code, s.Text = code, strings.ReplaceAll(m.Body, carnet.SecretPlaceholder, code)
			}
			now := tx.Now()
			m.Status, m.SentAt, m.Attempts = carnet.OutboxSent, &now, m.Attempts+1
			if err := tx.UpdateOutbox(ctx, m); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	a.store.View(ctx, func(tx carnet.Tx) error {
		msgs, err := tx.ListOutbox(ctx, patientID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out {
			for _, m := range msgs {
				if m.ID != s.ID {
					continue
				}
				if m.Status != carnet.OutboxSent || len(m.Secret) != 0 {
					t.Errorf("message %s after sending: status %s, secret of %d bytes", m.Kind, m.Status, len(m.Secret))
				}
				if s.Code != "" && strings.Contains(m.Body, s.Code) {
					t.Errorf("message %s: the stored body holds the code after sending", m.Kind)
				}
			}
		}
		return nil
	})
	return out
}

// code delivers a patient's messages and returns the last one of kind that carries a code.
func (a *accounts) code(t *testing.T, patientID, kind string) sent {
	t.Helper()
	var found *sent
	for _, s := range a.deliver(t, patientID) {
		if s.Kind == kind && s.Code != "" {
			found = &s
		}
	}
	if found == nil {
		t.Fatalf("no %s message with a code for %s", kind, patientID)
	}
	return *found
}

// activate takes a person from their provisional code to a signed-in account (login codes by
// email to contact) and returns the session token.
func (a *accounts) activate(t *testing.T, row service.EnrolRow, code, login, contact string) string {
	t.Helper()
	tok, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: row.Patient.NIR, Code: code, VitaleSerial: row.VitaleSerial}, here)
	if err != nil {
		t.Fatalf("begin activation: %v", err)
	}
	if err := a.svc.SetCredentials(ctx, tok, service.Credentials{Login: login, Password: password, Channel: "email", Contact: contact}); err != nil {
		t.Fatalf("set credentials: %v", err)
	}
	otp := a.code(t, a.id(t, row.Patient.NIR), "one_time_code")
	if otp.Recipient != contact || otp.Channel != "email" {
		t.Errorf("confirmation code sent to %s by %s", otp.Recipient, otp.Channel)
	}
	if err := a.svc.ConfirmContact(ctx, tok, otp.Code, here); err != nil {
		t.Fatalf("confirm contact: %v", err)
	}
	return tok
}

// enrolAndActivate enrols one adult and activates their space; it returns their patient ID and
// session token.
func (a *accounts) enrolAndActivate(t *testing.T, row service.EnrolRow, login string) (string, string) {
	t.Helper()
	a.enrol(t, "f-"+login, row)
	id := a.id(t, row.Patient.NIR)
	code := a.code(t, id, "activation_code")
	return id, a.activate(t, row, code.Code, login, row.Patient.Email)
}

// login signs in with the password and the one-time code sent by email; it returns the token.
func (a *accounts) login(t *testing.T, patientID, login string, c service.Client) string {
	t.Helper()
	step, err := a.svc.Login(ctx, login, password, c)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if err := a.svc.VerifyLoginCode(ctx, step.Token, a.code(t, patientID, "one_time_code").Code, c); err != nil {
		t.Fatalf("login code: %v", err)
	}
	return step.Token
}

func (a *accounts) authenticate(t *testing.T, token string) *service.SessionInfo {
	t.Helper()
	info, err := a.svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return info
}

// wantSame checks that err is the given code with exactly msg.
func wantSame(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if carnet.ErrorCode(err) != code || carnet.ErrorMessage(err) != msg {
		t.Errorf("%s: %v (code %q, message %q), want %q %q", what, err, carnet.ErrorCode(err), carnet.ErrorMessage(err), code, msg)
	}
}

func hasAction(evs []*carnet.AuditEvent, action string) bool {
	for _, e := range evs {
		if e.Action == action {
			return true
		}
	}
	return false
}

// The people of these tests.
var (
	marieRow  = person(1, "Marie", "DUPONT", carnet.SexFemale, date(1985, 4, 12), "marie@example.org", "", "")
	paulRow   = person(2, "Paul", "MARTIN", carnet.SexMale, date(1979, 11, 3), "", "+33612345678", "3 place du Marché\n69002 Lyon")
	jeanneRow = person(3, "Jeanne", "PETIT", carnet.SexFemale, date(1990, 1, 15), "", "", "12 rue des Lilas\n75011 Paris")
	louisRow  = person(4, "Louis", "BERNARD", carnet.SexMale, date(1962, 7, 30), "louis@example.org", "+33698765432", "1 rue Haute\n44000 Nantes")
)

func countAll(t *testing.T, a *accounts) (patients, messages int) {
	t.Helper()
	a.store.View(ctx, func(tx carnet.Tx) error {
		c, err := tx.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		patients = int(c.Patients)
		ps, err := tx.ListPatients(ctx, carnet.PatientFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			ms, err := tx.ListOutbox(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			messages += len(ms)
		}
		return nil
	})
	return patients, messages
}

func TestBulkEnrolment(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		lucas := minorOf(marieRow, person(5, "Lucas", "DUPONT", carnet.SexMale, date(2015, 6, 20), "", "", ""))
		orphan := person(6, "Hugo", "SANS", carnet.SexMale, date(2016, 2, 1), "", "", "")
		orphan.RightsHolderNIR = makeNIR(carnet.SexFemale, date(1980, 1, 1), 999) // enrolled nowhere
		rows := []service.EnrolRow{marieRow, paulRow, jeanneRow, louisRow, lucas, orphan}

		if _, _, err := a.svc.PrepareEnrolment(ctx, carnet.Actor{Kind: carnet.ActorPatient, ID: "x"}, "enroll:f1", slices.Clone(rows), nil); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("a patient enrols people: %v", err)
		}
		b, bad, err := a.svc.PrepareEnrolment(ctx, operator, "enroll:f1", slices.Clone(rows), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) != 1 || bad[0].Line != 6 || !strings.Contains(bad[0].Reason, "ouvrant droit") || b.Skipped != 0 {
			t.Fatalf("bad rows %+v, skipped %d", bad, b.Skipped)
		}
		res, err := a.svc.CommitEnrolment(ctx, operator, b, service.EnrolmentRun{FileID: "f1", Line: 6, Enrolled: 5, Bad: 1, ReportOffset: 42})
		if err != nil || res.Enrolled != 5 || res.Skipped != 0 {
			t.Fatalf("commit: %+v %v", res, err)
		}
		run, err := a.svc.EnrolmentCheckpoint(ctx, operator, "f1")
		if err != nil || run.FileID != "f1" || run.Line != 6 || run.Enrolled != 5 || run.Bad != 1 || run.ReportOffset != 42 || run.Done ||
			!run.UpdatedAt.Equal(a.clk.Now()) {
			t.Errorf("checkpoint: %+v %v", run, err)
		}
		if run, err := a.svc.EnrolmentCheckpoint(ctx, operator, "never"); err != nil || run.Line != 0 || run.FileID != "never" {
			t.Errorf("checkpoint of an unknown file: %+v %v", run, err)
		}

		ids := map[string]string{}
		for _, r := range rows[:5] {
			ids[r.Patient.GivenNames] = a.id(t, r.Patient.NIR)
			p := a.patient(t, ids[r.Patient.GivenNames])
			if p.Status != carnet.PatientEnrolled || p.NIR != "" {
				t.Errorf("%s: status %s", r.Patient.GivenNames, p.Status)
			}
			evs := a.events(t, p.ID, "")
			if len(evs) != 1 || evs[0].Action != "patient.enrol" || evs[0].Seq != 1 || evs[0].ActorKind != carnet.ActorOperator {
				t.Errorf("%s: history %+v", r.Patient.GivenNames, evs)
			}
		}
		if p := a.patient(t, ids["Lucas"]); p.RightsHolderID != ids["Marie"] {
			t.Errorf("Lucas's rights holder: %q", p.RightsHolderID)
		}
		// Email, else SMS, else a letter; a minor's code goes to the parent.
		want := map[string][2]string{
			"Marie":  {"email", "marie@example.org"},
			"Paul":   {"sms", "+33612345678"},
			"Jeanne": {"letter", "Jeanne PETIT\n12 rue des Lilas\n75011 Paris"},
			"Louis":  {"email", "louis@example.org"},
			"Lucas":  {"email", "marie@example.org"},
		}
		codes := map[string]bool{}
		for name, w := range want {
			msgs := a.deliver(t, ids[name])
			if len(msgs) != 1 {
				t.Fatalf("%s: %d messages", name, len(msgs))
			}
			m := msgs[0]
			if m.Kind != "activation_code" || m.Channel != w[0] || m.Recipient != w[1] {
				t.Errorf("%s: %s by %s to %q", name, m.Kind, m.Channel, m.Recipient)
			}
			if c, ok := identity.NormalizeActivationCode(m.Code); !ok || c != m.Code || codes[c] {
				t.Errorf("%s: code %q", name, m.Code)
			}
			codes[m.Code] = true
			if !strings.Contains(m.Text, m.Code) {
				t.Errorf("%s: the code is not in the message as sent", name)
			}
		}
		// Batch 2: a minor whose parent was enrolled by the earlier batch.
		lea := minorOf(paulRow, person(7, "Léa", "MARTIN", carnet.SexFemale, date(2018, 2, 2), "", "", ""))
		if res, bad := a.enrol(t, "f2", lea); res.Enrolled != 1 || len(bad) != 0 {
			t.Fatalf("batch 2: %+v %+v", res, bad)
		}
		leaID := a.id(t, lea.Patient.NIR)
		if p := a.patient(t, leaID); p.RightsHolderID != ids["Paul"] {
			t.Errorf("Léa's rights holder: %q", p.RightsHolderID)
		}
		m := a.code(t, leaID, "activation_code")
		if m.Channel != "sms" || m.Recipient != "+33612345678" || !strings.Contains(m.Text, "Léa MARTIN") {
			t.Errorf("Léa's code: %s to %s: %q", m.Channel, m.Recipient, m.Text)
		}

		// Batches prepared while the one before commits: a minor whose parent is in that batch.
		anneRow := person(8, "Anne", "ROUX", carnet.SexFemale, date(1992, 9, 9), "anne@example.org", "", "")
		tomRow := minorOf(anneRow, person(9, "Tom", "ROUX", carnet.SexMale, date(2020, 3, 3), "", "", ""))
		b3, bad3, err := a.svc.PrepareEnrolment(ctx, operator, "enroll:f3", []service.EnrolRow{anneRow}, nil)
		if err != nil || len(bad3) != 0 {
			t.Fatal(err, bad3)
		}
		b4, bad4, err := a.svc.PrepareEnrolment(ctx, operator, "enroll:f3", []service.EnrolRow{tomRow}, b3)
		if err != nil || len(bad4) != 0 || b4.Len() != 1 {
			t.Fatalf("pipelined batch: %v %+v", err, bad4)
		}
		for _, pb := range []*service.PreparedBatch{b3, b4} {
			if res, err := a.svc.CommitEnrolment(ctx, operator, pb, service.EnrolmentRun{FileID: "f3"}); err != nil || res.Enrolled != 1 {
				t.Fatalf("pipelined commit: %+v %v", res, err)
			}
		}
		tom := a.id(t, tomRow.Patient.NIR)
		if p := a.patient(t, tom); p.RightsHolderID != a.id(t, anneRow.Patient.NIR) {
			t.Errorf("Tom's rights holder: %q", p.RightsHolderID)
		}
		if m := a.code(t, tom, "activation_code"); m.Recipient != "anne@example.org" {
			t.Errorf("Tom's code to %s", m.Recipient)
		}
		// Two rows with one NIR in a batch: the second is bad.
		zoeRow := person(10, "Zoé", "BLANC", carnet.SexFemale, date(1999, 12, 1), "zoe@example.org", "", "")
		dup := zoeRow
		dup.Line = 11
		if res, bad := a.enrol(t, "f4", zoeRow, dup); res.Enrolled != 1 || len(bad) != 1 || bad[0].Line != 11 {
			t.Errorf("duplicate: %+v %+v", res, bad)
		}

		// Running the first file again skips everyone already enrolled and changes nothing.
		patients, messages := countAll(t, a)
		a.clk.Add(time.Hour)
		b, bad, err = a.svc.PrepareEnrolment(ctx, operator, "enroll:f1", slices.Clone(rows), nil)
		if err != nil || b.Skipped != 5 || len(bad) != 1 {
			t.Fatalf("re-run prepare: skipped %d, bad %+v, %v", b.Skipped, bad, err)
		}
		res, err = a.svc.CommitEnrolment(ctx, operator, b, service.EnrolmentRun{FileID: "f1", Line: 6, Skipped: 5, Bad: 1})
		if err != nil || res.Enrolled != 0 || res.Skipped != 5 {
			t.Fatalf("re-run commit: %+v %v", res, err)
		}
		if p, m := countAll(t, a); p != patients || m != messages {
			t.Errorf("re-run changed counts: patients %d → %d, messages %d → %d", patients, p, messages, m)
		}
		if run, _ := a.svc.EnrolmentCheckpoint(ctx, operator, "f1"); run.Skipped != 5 || !run.UpdatedAt.Equal(a.clk.Now()) {
			t.Errorf("checkpoint after the re-run: %+v", run)
		}
		if err := a.svc.SaveEnrolmentRun(ctx, operator, service.EnrolmentRun{FileID: "f1", Line: 6, Done: true}); err != nil {
			t.Fatal(err)
		}
		if run, _ := a.svc.EnrolmentCheckpoint(ctx, operator, "f1"); !run.Done {
			t.Errorf("end of run not saved: %+v", run)
		}
	})
}

func TestActivation(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		a.enrol(t, "f1", marieRow, paulRow)
		marie, paul := a.id(t, marieRow.Patient.NIR), a.id(t, paulRow.Patient.NIR)
		mcode, pcode := a.code(t, marie, "activation_code").Code, a.code(t, paul, "activation_code").Code
		right := service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: mcode, VitaleSerial: marieRow.VitaleSerial}

		// One answer for every mismatch.
		wrong := map[string]service.ActivationCheck{
			"wrong NIR":      {NIR: paulRow.Patient.NIR, Code: mcode, VitaleSerial: marieRow.VitaleSerial},
			"wrong code":     {NIR: right.NIR, Code: pcode, VitaleSerial: right.VitaleSerial},
			"wrong serial":   {NIR: right.NIR, Code: mcode, VitaleSerial: paulRow.VitaleSerial},
			"malformed code": {NIR: right.NIR, Code: "ABC-12", VitaleSerial: right.VitaleSerial},
			"unknown NIR":    {NIR: makeNIR(carnet.SexFemale, date(1985, 4, 12), 500), Code: mcode, VitaleSerial: right.VitaleSerial},
			"invalid NIR":    {NIR: "123", Code: mcode, VitaleSerial: right.VitaleSerial},
		}
		for name, in := range wrong {
			tok, err := a.svc.BeginActivation(ctx, in, here)
			wantSame(t, name, err, carnet.EUNAUTHORIZED, identity.MsgActivationFailed)
			if tok != "" {
				t.Errorf("%s: token given", name)
			}
		}
		if n := len(a.events(t, marie, "account.code_failure")); n != 3 {
			t.Errorf("%d code failures in Marie's history, want 3", n)
		}
		// A code step left too long expires.
		tok, err := a.svc.BeginActivation(ctx, right, here)
		if err != nil {
			t.Fatal(err)
		}
		a.clk.Add(21 * time.Minute)
		err = a.svc.SetCredentials(ctx, tok, service.Credentials{Login: "marie.dupont", Password: password, Channel: "email", Contact: "marie@example.org"})
		wantCode(t, err, carnet.EUNAUTHORIZED)

		// Case, spaces and dashes do not matter in the code and the serial.
		typed := service.ActivationCheck{NIR: "2 85 04 75 056 001 " + right.NIR[13:], Code: strings.ToLower(identity.FormatActivationCode(mcode)),
			VitaleSerial: strings.ReplaceAll(right.VitaleSerial, " ", "-")}
		if carnet.NormalizeNIR(typed.NIR) != right.NIR {
			t.Fatalf("test NIR %s", typed.NIR)
		}
		tok, err = a.svc.BeginActivation(ctx, typed, here)
		if err != nil {
			t.Fatalf("right code refused: %v", err)
		}
		if _, err := a.svc.Authenticate(ctx, tok); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("an activation session is signed in: %v", err)
		}
		creds := func(login, pw string) service.Credentials {
			return service.Credentials{Login: login, Password: pw, Channel: "email", Contact: "marie.perso@example.org"}
		}
		for name, c := range map[string]service.Credentials{
			"short":        creds("marie.dupont", "Court1!"),
			"common":       creds("marie.dupont", "password1234"),
			"own name":     creds("marie.dupont", "Dupont-Marie-1985!"),
			"bad login":    creds("m!", password),
			"bad contact":  {Login: "marie.dupont", Password: password, Channel: "email", Contact: "pas une adresse"},
			"bad channel":  {Login: "marie.dupont", Password: password, Channel: "pigeon", Contact: "x"},
			"login in pwd": creds("kayakiste", "Kayakiste-Brume-Violette-9"),
		} {
			if err := a.svc.SetCredentials(ctx, tok, c); carnet.ErrorCode(err) != carnet.EINVALID {
				t.Errorf("credentials %s: %v", name, err)
			}
		}
		// A login already taken.
		a.activate(t, paulRow, pcode, "paul.martin", "paul@example.org")
		err = a.svc.SetCredentials(ctx, tok, creds("Paul.Martin", password))
		wantCode(t, err, carnet.ECONFLICT)

		if err := a.svc.SetCredentials(ctx, tok, creds("Marie.Dupont", password)); err != nil {
			t.Fatal(err)
		}
		otp := a.code(t, marie, "one_time_code")
		if otp.Recipient != "marie.perso@example.org" || len(otp.Code) != 6 {
			t.Errorf("confirmation code %q to %s", otp.Code, otp.Recipient)
		}
		wrongOTP := "000000"
		if otp.Code == wrongOTP {
			wrongOTP = "111111"
		}
		wantSame(t, "wrong confirmation code", a.svc.ConfirmContact(ctx, tok, wrongOTP, here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		if err := a.svc.ConfirmContact(ctx, tok, otp.Code, here); err != nil {
			t.Fatalf("confirm: %v", err)
		}

		a.store.View(ctx, func(tx carnet.Tx) error {
			acc, err := tx.Account(ctx, marie)
			if err != nil || acc.Login != "marie.dupont" || acc.Email != "marie.perso@example.org" || acc.OTPChannel != "email" ||
				!strings.HasPrefix(acc.PasswordHash, "$argon2id$") || strings.Contains(acc.PasswordHash, password) {
				t.Errorf("account: %+v %v", acc, err)
			}
			p, _ := tx.Patient(ctx, marie)
			if p.Status != carnet.PatientActive || p.Email != "marie.perso@example.org" {
				t.Errorf("patient after activation: %s %s", p.Status, p.Email)
			}
			e, _ := tx.Enrolment(ctx, marie)
			if len(e.CodeHash) != 0 || e.ActivatedAt == nil || !e.AutoCreateAt.IsZero() {
				t.Errorf("enrolment after activation: %+v", e)
			}
			return nil
		})
		// The code is spent.
		_, err = a.svc.BeginActivation(ctx, right, here)
		wantSame(t, "spent code", err, carnet.EUNAUTHORIZED, identity.MsgActivationFailed)

		info := a.authenticate(t, tok)
		if info.Actor.Kind != carnet.ActorPatient || info.Actor.ID != marie || info.Factor != carnet.FactorOTP || info.CSRF == "" ||
			info.Closed || info.Patient.ID != marie {
			t.Errorf("session: %+v", info)
		}
		evs, err := a.svc.History(ctx, info.Actor, marie, carnet.AuditFilter{})
		if err != nil || !hasAction(evs, "account.activate") {
			t.Errorf("history: %v", err)
		}
	})
}

func TestActivationBruteForce(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		a.enrol(t, "f1", marieRow)
		marie := a.id(t, marieRow.Patient.NIR)
		code := a.code(t, marie, "activation_code").Code
		right := service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: code, VitaleSerial: marieRow.VitaleSerial}
		bad := right
		bad.Code = strings.Repeat("A", identity.ActivationCodeLength)
		for i := range 6 {
			_, err := a.svc.BeginActivation(ctx, bad, here)
			wantSame(t, fmt.Sprint("failure ", i+1), err, carnet.EUNAUTHORIZED, identity.MsgActivationFailed)
		}
		// Locked: even the right code is refused until the delay has passed.
		_, err := a.svc.BeginActivation(ctx, right, here)
		wantCode(t, err, carnet.ERATELIMIT)
		a.clk.Add(59 * time.Second)
		_, err = a.svc.BeginActivation(ctx, right, service.Client{Address: "203.0.113.5"})
		wantCode(t, err, carnet.ERATELIMIT)
		a.clk.Add(2 * time.Second)
		if _, err := a.svc.BeginActivation(ctx, right, here); err != nil {
			t.Fatalf("right code after the delay: %v", err)
		}
	})
}

func TestLoginCodeBruteForce(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, _ := a.enrolAndActivate(t, marieRow, "marie.dupont")
		step, err := a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		first := a.code(t, marie, "one_time_code").Code
		wrong := func(right string) string {
			if right == "123456" {
				return "654321"
			}
			return "123456"
		}
		for range 4 {
			wantSame(t, "wrong login code", a.svc.VerifyLoginCode(ctx, step.Token, wrong(first), here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		}
		// A new code for the same login, then more failures: the account is locked.
		if _, err := a.svc.SendLoginCode(ctx, step.Token, here); carnet.ErrorCode(err) != carnet.ERATELIMIT {
			t.Errorf("a second code at once: %v", err)
		}
		a.clk.Add(31 * time.Second)
		masked, err := a.svc.SendLoginCode(ctx, step.Token, here)
		if err != nil || masked != identity.MaskEmail("marie@example.org") {
			t.Fatalf("send again: %q %v", masked, err)
		}
		second := a.code(t, marie, "one_time_code").Code
		for range 2 {
			wantSame(t, "wrong login code", a.svc.VerifyLoginCode(ctx, step.Token, wrong(second), here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		}
		wantCode(t, a.svc.VerifyLoginCode(ctx, step.Token, second, here), carnet.ERATELIMIT)
		a.clk.Add(59 * time.Second)
		wantCode(t, a.svc.VerifyLoginCode(ctx, step.Token, second, here), carnet.ERATELIMIT)
		a.clk.Add(2 * time.Second)
		if err := a.svc.VerifyLoginCode(ctx, step.Token, second, here); err != nil {
			t.Fatalf("right code after the delay: %v", err)
		}
		if info := a.authenticate(t, step.Token); info.Actor.ID != marie {
			t.Errorf("signed in as %s", info.Actor.ID)
		}
	})
}

func TestAddressLimits(t *testing.T) {
	small := func(c *service.Config) {
		c.AddressLimits = identity.Limits{Free: 3, Base: time.Minute, Max: time.Hour, Reset: time.Hour}
	}
	forEachAccounts(t, small, func(t *testing.T, a *accounts) {
		a.enrol(t, "f1", marieRow, paulRow)
		marie, paul := a.id(t, marieRow.Patient.NIR), a.id(t, paulRow.Patient.NIR)
		mcode, pcode := a.code(t, marie, "activation_code").Code, a.code(t, paul, "activation_code").Code
		attacker := service.Client{Address: "198.51.100.7"}
		// Each guess on another NIR: no person is locked, the address is.
		for i := range 4 {
			_, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: makeNIR(carnet.SexMale, date(1970, 1, 1), 100+i),
				Code: mcode, VitaleSerial: "1"}, attacker)
			wantSame(t, "guess", err, carnet.EUNAUTHORIZED, identity.MsgActivationFailed)
		}
		_, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: mcode, VitaleSerial: marieRow.VitaleSerial}, attacker)
		wantCode(t, err, carnet.ERATELIMIT)
		if _, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: mcode,
			VitaleSerial: marieRow.VitaleSerial}, here); err != nil {
			t.Fatalf("another address: %v", err)
		}
		a.clk.Add(61 * time.Second)
		if _, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: paulRow.Patient.NIR, Code: pcode,
			VitaleSerial: paulRow.VitaleSerial}, attacker); err != nil {
			t.Fatalf("after the delay: %v", err)
		}

		// Logins too: wrong identifiers from one address lock it for the right one.
		a.activate(t, paulRow, pcode, "paul.martin", "paul@example.org")
		other := service.Client{Address: "198.51.100.8"}
		for i := range 4 {
			_, err := a.svc.Login(ctx, fmt.Sprintf("someone%d", i), password, other)
			wantSame(t, "login guess", err, carnet.EUNAUTHORIZED, identity.MsgLoginFailed)
		}
		_, err = a.svc.Login(ctx, "paul.martin", password, other)
		wantCode(t, err, carnet.ERATELIMIT)
		if _, err := a.svc.Login(ctx, "paul.martin", password, here); err != nil {
			t.Errorf("login from another address: %v", err)
		}
	})
}

func TestLogin(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, tok := a.enrolAndActivate(t, marieRow, "marie.dupont")
		a.svc.Logout(ctx, tok)

		_, e1 := a.svc.Login(ctx, "marie.dupont", "Mauvais-Mot-De-Passe-12", here)
		_, e2 := a.svc.Login(ctx, "personne.inconnue", password, here)
		wantSame(t, "wrong password", e1, carnet.EUNAUTHORIZED, identity.MsgLoginFailed)
		wantSame(t, "unknown login", e2, carnet.EUNAUTHORIZED, identity.MsgLoginFailed)

		step, err := a.svc.Login(ctx, "  Marie.Dupont ", password, here)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(step.Factors, []string{carnet.FactorOTP}) || step.CodeTo != identity.MaskEmail("marie@example.org") ||
			strings.Contains(step.CodeTo, "marie@") {
			t.Errorf("step: %+v", step)
		}
		if _, err := a.svc.Authenticate(ctx, step.Token); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("signed in before the second factor: %v", err)
		}
		m := a.code(t, marie, "one_time_code")
		if m.Recipient != "marie@example.org" || !strings.Contains(m.Text, "vous connecter") {
			t.Errorf("login code message to %s: %q", m.Recipient, m.Text)
		}
		if err := a.svc.VerifyLoginCode(ctx, step.Token, m.Code, here); err != nil {
			t.Fatal(err)
		}
		if info := a.authenticate(t, step.Token); info.Actor.ID != marie || info.Factor != carnet.FactorOTP {
			t.Errorf("session: %+v", info)
		}
		if err := a.svc.VerifyLoginCode(ctx, step.Token, m.Code, here); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("code used twice: %v", err)
		}
		if evs := a.events(t, marie, "account.login"); len(evs) != 1 || evs[0].ActorID != marie || !strings.Contains(evs[0].Reason, "otp") {
			t.Errorf("login events: %+v", evs)
		}

		// Five wrong tries delete the code: the right one no longer works.
		step, err = a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		code := a.code(t, marie, "one_time_code").Code
		wrong := "123456"
		if code == wrong {
			wrong = "654321"
		}
		for range 5 {
			wantSame(t, "wrong code", a.svc.VerifyLoginCode(ctx, step.Token, wrong, here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		}
		a.store.View(ctx, func(tx carnet.Tx) error {
			id, _ := identity.SessionID(step.Token)
			if _, err := tx.OneTimeCode(ctx, hex.EncodeToString(id), identity.PurposeLogin); carnet.ErrorCode(err) != carnet.ENOTFOUND {
				t.Errorf("code kept after 5 failures: %v", err)
			}
			return nil
		})
		wantSame(t, "deleted code", a.svc.VerifyLoginCode(ctx, step.Token, code, here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		a.clk.Add(2 * time.Minute) // the sixth failure locked the account for a minute

		// An expired code is refused.
		step, err = a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		code = a.code(t, marie, "one_time_code").Code
		a.clk.Add(identity.OTPTTL + time.Second)
		wantCode(t, a.svc.VerifyLoginCode(ctx, step.Token, code, here), carnet.EUNAUTHORIZED)
	})
}

func TestLoginTOTP(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, tok := a.enrolAndActivate(t, marieRow, "marie.dupont")
		secret, url, err := a.svc.StartTOTP(ctx, tok)
		if err != nil || !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, "marie.dupont") ||
			strings.Contains(url, marieRow.Patient.NIR) {
			t.Fatalf("start: %q %v", url, err)
		}
		old, _ := totp.GenerateCode(secret, a.clk.Now().Add(-time.Hour))
		wantCode(t, a.svc.ConfirmTOTP(ctx, tok, old), carnet.EUNAUTHORIZED)
		now, _ := totp.GenerateCode(secret, a.clk.Now())
		if err := a.svc.ConfirmTOTP(ctx, tok, now); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		if !hasAction(a.events(t, marie, "account.totp_added"), "account.totp_added") {
			t.Error("TOTP not in the history")
		}
		a.svc.Logout(ctx, tok)
		a.clk.Add(30 * time.Second)

		step, err := a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(step.Factors, carnet.FactorTOTP) || step.CodeTo != "" {
			t.Errorf("step: %+v", step)
		}
		if msgs := a.deliver(t, marie); len(msgs) != 0 {
			t.Errorf("a code was sent although the account has an app: %d messages", len(msgs))
		}
		code, _ := totp.GenerateCode(secret, a.clk.Now())
		if err := a.svc.VerifyLoginTOTP(ctx, step.Token, code, here); err != nil {
			t.Fatalf("TOTP login: %v", err)
		}
		if info := a.authenticate(t, step.Token); info.Factor != carnet.FactorTOTP {
			t.Errorf("factor %q", info.Factor)
		}
		// The same code again (same step) is a replay.
		step, err = a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		wantSame(t, "replayed TOTP", a.svc.VerifyLoginTOTP(ctx, step.Token, code, here), carnet.EUNAUTHORIZED, identity.MsgCodeRejected)
		// The one-time code by email remains possible.
		if masked, err := a.svc.SendLoginCode(ctx, step.Token, here); err != nil || masked == "" {
			t.Fatalf("send code: %q %v", masked, err)
		}
		if err := a.svc.VerifyLoginCode(ctx, step.Token, a.code(t, marie, "one_time_code").Code, here); err != nil {
			t.Errorf("email code with an app: %v", err)
		}
		a.clk.Add(30 * time.Second)
		step, _ = a.svc.Login(ctx, "marie.dupont", password, here)
		code, _ = totp.GenerateCode(secret, a.clk.Now())
		if err := a.svc.VerifyLoginTOTP(ctx, step.Token, code, here); err != nil {
			t.Errorf("next step's code: %v", err)
		}
	})
}

// TestTOTPNotSetUp: an account without an authenticator app cannot complete a login with a TOTP
// code (least of all one computed from an empty secret).
func TestTOTPNotSetUp(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		a.enrolAndActivate(t, marieRow, "marie.dupont")
		step, err := a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		code, err := totp.GenerateCode("", a.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.svc.VerifyLoginTOTP(ctx, step.Token, code, here); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("TOTP login without an app, with the code of an empty secret: %v", err)
		}
		if _, err := a.svc.Authenticate(ctx, step.Token); err == nil {
			t.Error("signed in with the password alone")
		}
	})
}

func TestLoginPasskey(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, tok := a.enrolAndActivate(t, marieRow, "marie.dupont")
		browser := passkeytest.NewAuthenticator(origin)
		options, err := a.svc.BeginPasskeyRegistration(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		response, err := browser.Register(options)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.svc.FinishPasskeyRegistration(ctx, tok, response, "Téléphone"); err != nil {
			t.Fatalf("register: %v", err)
		}
		if err := a.svc.FinishPasskeyRegistration(ctx, tok, response, "encore"); err == nil {
			t.Error("a registration answer used twice")
		}
		if !hasAction(a.events(t, marie, ""), "account.passkey_added") {
			t.Error("passkey not in the history")
		}
		a.svc.Logout(ctx, tok)
		a.clk.Add(time.Minute)

		step, err := a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(step.Factors, carnet.FactorPasskey) || step.CodeTo != "" {
			t.Errorf("step: %+v", step)
		}
		options, err = a.svc.BeginPasskeyLogin(ctx, step.Token)
		if err != nil {
			t.Fatal(err)
		}
		assertion, err := browser.Login(options)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.svc.FinishPasskeyLogin(ctx, step.Token, assertion, here); err != nil {
			t.Fatalf("passkey login: %v", err)
		}
		if info := a.authenticate(t, step.Token); info.Factor != carnet.FactorPasskey || info.Actor.ID != marie {
			t.Errorf("session: %+v", info)
		}
		a.store.View(ctx, func(tx carnet.Tx) error {
			pks, _ := tx.Passkeys(ctx, marie)
			if len(pks) != 1 || pks[0].Name != "Téléphone" || !pks[0].LastUsedAt.Equal(a.clk.Now()) {
				t.Errorf("stored passkeys: %+v", pks)
			}
			return nil
		})
		// An assertion replayed on another login is refused.
		step, _ = a.svc.Login(ctx, "marie.dupont", password, here)
		if _, err := a.svc.BeginPasskeyLogin(ctx, step.Token); err != nil {
			t.Fatal(err)
		}
		wantCode(t, a.svc.FinishPasskeyLogin(ctx, step.Token, assertion, here), carnet.EUNAUTHORIZED)
		if _, err := a.svc.Authenticate(ctx, step.Token); err == nil {
			t.Error("signed in with a replayed assertion")
		}
	})
}

func TestSessions(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, tok := a.enrolAndActivate(t, marieRow, "marie.dupont")
		a.svc.Logout(ctx, tok)

		// Idle timeout: 30 minutes without a request.
		t1 := a.login(t, marie, "marie.dupont", here)
		a.clk.Add(29 * time.Minute)
		a.authenticate(t, t1)
		a.clk.Add(29 * time.Minute)
		a.authenticate(t, t1) // the previous request moved the deadline
		a.clk.Add(31 * time.Minute)
		if _, err := a.svc.Authenticate(ctx, t1); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("idle session: %v", err)
		}
		a.store.View(ctx, func(tx carnet.Tx) error {
			id, _ := identity.SessionID(t1)
			if _, err := tx.Session(ctx, id); carnet.ErrorCode(err) != carnet.ENOTFOUND {
				t.Errorf("expired session kept: %v", err)
			}
			return nil
		})

		// Absolute timeout: 12 hours, however active.
		t2 := a.login(t, marie, "marie.dupont", here)
		for range 35 {
			a.clk.Add(20 * time.Minute)
			a.authenticate(t, t2)
		}
		a.clk.Add(20 * time.Minute)
		if _, err := a.svc.Authenticate(ctx, t2); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("session past 12 hours: %v", err)
		}

		// Logout.
		t3 := a.login(t, marie, "marie.dupont", here)
		if err := a.svc.Logout(ctx, t3); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.Authenticate(ctx, t3); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
			t.Errorf("after logout: %v", err)
		}

		// CSRF tokens are per session; log out everywhere ends both.
		t4, t5 := a.login(t, marie, "marie.dupont", here), a.login(t, marie, "marie.dupont", service.Client{Address: "192.0.2.11"})
		i4, i5 := a.authenticate(t, t4), a.authenticate(t, t5)
		if !a.svc.CheckCSRF(t4, i4.CSRF) || a.svc.CheckCSRF(t4, i5.CSRF) || a.svc.CheckCSRF(t4, "") || a.svc.CheckCSRF("garbage", i4.CSRF) ||
			i4.CSRF == i5.CSRF || a.svc.CSRFFor(t4) != i4.CSRF {
			t.Error("CSRF tokens")
		}
		if _, err := a.svc.LogoutEverywhere(ctx, operator); carnet.ErrorCode(err) != carnet.EFORBIDDEN {
			t.Errorf("operator logs a patient out: %v", err)
		}
		n, err := a.svc.LogoutEverywhere(ctx, i4.Actor)
		if err != nil || n != 2 {
			t.Errorf("logout everywhere: %d %v", n, err)
		}
		for _, tok := range []string{t4, t5} {
			if _, err := a.svc.Authenticate(ctx, tok); carnet.ErrorCode(err) != carnet.EUNAUTHORIZED {
				t.Errorf("session after logout everywhere: %v", err)
			}
		}
		if len(a.events(t, marie, "account.logout_all")) != 1 {
			t.Error("logout everywhere not in the history")
		}
	})
}

// TestAccountLogs: a whole account life, with the service's logger at debug level and every error
// it returns logged as a handler would, never shows the NIR, the codes, the card serial, the
// login, the password, the contact or a session token.
func TestAccountLogs(t *testing.T) {
	for _, e := range engineNames {
		t.Run(e, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			a := newAccounts(t, e, nil, logger)
			logErr := func(op string, err error) {
				if err != nil {
					logger.Warn("request failed", "op", op, "code", carnet.ErrorCode(err), "err", err)
				}
			}
			secrets := []string{marieRow.Patient.NIR, marieRow.Patient.NIR[:13], "marie.dupont", password, "marie@example.org",
				strings.ReplaceAll(marieRow.VitaleSerial, " ", ""), marieRow.VitaleSerial, "Brume"}
			a.enrol(t, "f1", marieRow)
			marie := a.id(t, marieRow.Patient.NIR)
			code := a.code(t, marie, "activation_code").Code
			secrets = append(secrets, code, identity.FormatActivationCode(code))
			_, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: code, VitaleSerial: "0000"}, here)
			logErr("activate", err)
			logErr("oppose", a.svc.Oppose(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: "XXXX"}, here))
			_, err = a.svc.RequestSpace(ctx, operator, marieRow.Patient.NIR)
			logErr("request", err)
			tok, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: marieRow.Patient.NIR, Code: code, VitaleSerial: marieRow.VitaleSerial}, here)
			if err != nil {
				t.Fatal(err)
			}
			logErr("credentials", a.svc.SetCredentials(ctx, tok, service.Credentials{Login: "marie.dupont", Password: "marie.dupont-1985-04-12",
				Channel: "email", Contact: "marie@example.org"}))
			logErr("credentials", a.svc.SetCredentials(ctx, tok, service.Credentials{Login: "marie.dupont", Password: password,
				Channel: "sms", Contact: "marie@example.org"}))
			if err := a.svc.SetCredentials(ctx, tok, service.Credentials{Login: "marie.dupont", Password: password, Channel: "email",
				Contact: "marie@example.org"}); err != nil {
				t.Fatal(err)
			}
			otp := a.code(t, marie, "one_time_code").Code
			secrets = append(secrets, otp, tok)
			logErr("confirm", a.svc.ConfirmContact(ctx, tok, "999999", here))
			if err := a.svc.ConfirmContact(ctx, tok, otp, here); err != nil {
				t.Fatal(err)
			}
			_, err = a.svc.Login(ctx, "marie.dupont", "Mauvais-Mot-De-Passe-12", here)
			logErr("login", err)
			step, err := a.svc.Login(ctx, "marie.dupont", password, here)
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("login code sent", "to", step.CodeTo, "factors", step.Factors)
			otp = a.code(t, marie, "one_time_code").Code
			secrets = append(secrets, otp, step.Token)
			logErr("verify", a.svc.VerifyLoginCode(ctx, step.Token, "999999", here))
			logErr("verify totp", a.svc.VerifyLoginTOTP(ctx, step.Token, "12", here))
			_, err = a.svc.BeginPasskeyLogin(ctx, step.Token)
			logErr("passkey", err)
			logErr("passkey", a.svc.FinishPasskeyLogin(ctx, step.Token, []byte(`{"id":"x"}`), here))
			if err := a.svc.VerifyLoginCode(ctx, step.Token, otp, here); err != nil {
				t.Fatal(err)
			}
			info := a.authenticate(t, step.Token)
			secret, _, err := a.svc.StartTOTP(ctx, step.Token)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, secret, info.CSRF)
			logErr("totp", a.svc.ConfirmTOTP(ctx, step.Token, "000000"))
			logErr("close", a.svc.CloseSpace(ctx, info.Actor, marie, false))
			_, err = a.svc.RunJobs(ctx)
			logErr("jobs", err)
			if buf.Len() == 0 {
				t.Fatal("nothing logged")
			}
			for _, s := range secrets {
				if strings.Contains(buf.String(), s) {
					t.Errorf("the log shows %q", s)
				}
			}
		})
	}
}

// TestSecondFactorFailuresSurviveLogin: wrong login codes count against the account until the
// login completes; typing the right password again must not wipe them, or someone who knows the
// password guesses codes without end ("a few dozen guesses a day at most").
func TestSecondFactorFailuresSurviveLogin(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		marie, _ := a.enrolAndActivate(t, marieRow, "marie.dupont")
		var locked bool
		for round := 0; round < 4 && !locked; round++ {
			step, err := a.svc.Login(ctx, "marie.dupont", password, service.Client{Address: fmt.Sprintf("198.51.100.%d", round)})
			if carnet.ErrorCode(err) == carnet.ERATELIMIT {
				locked = true
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			code := a.code(t, marie, "one_time_code").Code
			wrong := "123456"
			if code == wrong {
				wrong = "654321"
			}
			for range 4 {
				err := a.svc.VerifyLoginCode(ctx, step.Token, wrong, service.Client{Address: fmt.Sprintf("198.51.100.%d", round)})
				if carnet.ErrorCode(err) == carnet.ERATELIMIT {
					locked = true
				}
			}
		}
		if !locked {
			t.Error("16 wrong login codes over 4 logins and the account is never locked: the right password resets the count")
		}
	})
}

// TestSendingCodesIsLimited: sending codes is limited like guessing them (package identity):
// a session cannot have a code sent every 30 seconds without end.
func TestSendingCodesIsLimited(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		a.enrolAndActivate(t, marieRow, "marie.dupont")
		step, err := a.svc.Login(ctx, "marie.dupont", password, here)
		if err != nil {
			t.Fatal(err)
		}
		sent := 1
		for range 15 {
			a.clk.Add(31 * time.Second)
			if _, err := a.svc.SendLoginCode(ctx, step.Token, here); err != nil {
				break
			}
			sent++
		}
		if sent > 10 {
			t.Errorf("%d codes sent for one login in 8 minutes", sent)
		}
	})
}

// TestEnrolmentParentWithoutContact: a minor whose rights holder has no contact at all is a bad
// row; the rest of the batch is enrolled.
func TestEnrolmentParentWithoutContact(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		parent, err := a.svc.CreatePatient(ctx, operator, &carnet.Patient{NIR: makeNIR(carnet.SexMale, date(1970, 5, 5), 300),
			BirthName: "SANS", GivenNames: "Contact", Sex: carnet.SexMale, BirthDate: date(1970, 5, 5), Status: carnet.PatientActive})
		if err != nil {
			t.Fatal(err)
		}
		child := person(2, "Enfant", "SANS", carnet.SexMale, date(2016, 1, 1), "", "", "")
		child.RightsHolderNIR = parent.NIR
		b, bad, err := a.svc.PrepareEnrolment(ctx, operator, "enroll:f1", []service.EnrolRow{marieRow, child}, nil)
		if err != nil {
			t.Fatalf("one row without any contact fails the whole batch: %v", err)
		}
		if len(bad) != 1 || bad[0].Line != 2 || b.Len() != 1 {
			t.Errorf("bad rows %+v, %d to enrol", bad, b.Len())
		}
	})
}

// garbledCodes wraps a store so that the queued code of one person reads back damaged.
type garbledCodes struct {
	carnet.Store
	victim *string
}

func (g garbledCodes) Update(ctx context.Context, fn func(carnet.Tx) error) error {
	return g.Store.Update(ctx, func(tx carnet.Tx) error { return fn(garbledTx{tx, *g.victim}) })
}

type garbledTx struct {
	carnet.Tx
	victim string
}

func (g garbledTx) PendingCodes(ctx context.Context, limit int) ([]carnet.PendingCode, error) {
	codes, err := g.Tx.PendingCodes(ctx, limit)
	for i, c := range codes {
		if c.PatientID == g.victim {
			codes[i].Sealed = append([]byte(nil), c.Sealed...)
			codes[i].Sealed[len(c.Sealed)-1] ^= 1
		}
	}
	return codes, err
}

// TestUnreadableQueuedCode: a queued code that cannot be opened is dropped, and does not hold
// back the codes queued with or after it (every feed failed on it before).
func TestUnreadableQueuedCode(t *testing.T) {
	for _, e := range engineNames {
		t.Run(e, func(t *testing.T) {
			var victim string
			a := newAccountsWith(t, e, nil, nil, func(st carnet.Store) carnet.Store { return garbledCodes{st, &victim} })
			if res, bad := a.enrol(t, "g1", marieRow, paulRow, jeanneRow); res.Enrolled != 3 || len(bad) != 0 {
				t.Fatalf("enrol: %+v %+v", res, bad)
			}
			victim = a.id(t, paulRow.Patient.NIR)
			if n, err := a.svc.QueueEnrolmentCodes(ctx, 10); err != nil || n != 3 {
				t.Fatalf("feed: %d %v", n, err)
			}
			if n, err := a.svc.QueueEnrolmentCodes(ctx, 10); err != nil || n != 0 {
				t.Fatalf("second feed: %d %v (the damaged code is still queued)", n, err)
			}
			for _, row := range []service.EnrolRow{marieRow, jeanneRow} {
				if m := a.code(t, a.id(t, row.Patient.NIR), "activation_code"); m.Code == "" {
					t.Errorf("%s: no code sent", row.Patient.GivenNames)
				}
			}
			if msgs := a.deliver(t, victim); len(msgs) != 0 {
				t.Errorf("Paul's damaged code became %d messages", len(msgs))
			}
		})
	}
}

// TestQueuedEnrolmentCodes: bulk enrolment queues each code on its enrolment row, not in the
// outbox; QueueEnrolmentCodes makes each one message, once, a batch at a time; a code replaced
// before it was queued for sending (IssueCode) is dropped, and only the new one goes out.
func TestQueuedEnrolmentCodes(t *testing.T) {
	forEachAccounts(t, nil, func(t *testing.T, a *accounts) {
		if res, bad := a.enrol(t, "q1", marieRow, paulRow, jeanneRow); res.Enrolled != 3 || len(bad) != 0 {
			t.Fatalf("enrol: %+v %+v", res, bad)
		}
		marie, paul, jeanne := a.id(t, marieRow.Patient.NIR), a.id(t, paulRow.Patient.NIR), a.id(t, jeanneRow.Patient.NIR)
		outbox := func() int {
			n := 0
			a.store.View(ctx, func(tx carnet.Tx) error {
				for _, id := range []string{marie, paul, jeanne} {
					ms, err := tx.ListOutbox(ctx, id)
					if err != nil {
						return err
					}
					n += len(ms)
				}
				return nil
			})
			return n
		}
		if n := outbox(); n != 0 {
			t.Fatalf("enrolment wrote %d messages", n)
		}
		// Paul loses his letter before it is sent: the operator issues a new code.
		if err := a.svc.IssueCode(ctx, operator, paul, ""); err != nil {
			t.Fatal(err)
		}
		if n := outbox(); n != 1 {
			t.Fatalf("after IssueCode: %d messages", n)
		}
		if n, err := a.svc.QueueEnrolmentCodes(ctx, 2); err != nil || n != 2 {
			t.Fatalf("first feed: %d %v", n, err)
		}
		if n, err := a.svc.QueueEnrolmentCodes(ctx, 2); err != nil || n != 1 {
			t.Fatalf("second feed: %d %v", n, err)
		}
		if n, err := a.svc.QueueEnrolmentCodes(ctx, 2); err != nil || n != 0 {
			t.Fatalf("third feed: %d %v", n, err)
		}
		if n := outbox(); n != 3 {
			t.Fatalf("%d messages, want 3 (Paul's queued code dropped)", n)
		}
		msgs := a.deliver(t, paul)
		if len(msgs) != 1 || msgs[0].Code == "" {
			t.Fatalf("Paul: %+v", msgs)
		}
		// The code Paul receives is the one that works.
		if _, err := a.svc.BeginActivation(ctx, service.ActivationCheck{NIR: paulRow.Patient.NIR, Code: msgs[0].Code,
			VitaleSerial: paulRow.VitaleSerial}, here); err != nil {
			t.Errorf("Paul's code: %v", err)
		}
		for _, id := range []string{marie, jeanne} {
			if m := a.code(t, id, "activation_code"); m.Code == "" || !strings.Contains(m.Text, m.Code) {
				t.Errorf("%s: %+v", id, m)
			}
		}
		// Enrolling the same people again queues nothing.
		if res, _ := a.enrol(t, "q2", marieRow, paulRow, jeanneRow); res.Skipped != 3 {
			t.Fatalf("re-run: %+v", res)
		}
		if n, err := a.svc.QueueEnrolmentCodes(ctx, 10); err != nil || n != 0 {
			t.Fatalf("after a re-run: %d %v", n, err)
		}
	})
}
