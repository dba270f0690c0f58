package service_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/blob/fs"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/store/postgres"
	"github.com/carnet-sante/carnet/internal/store/postgres/pgtest"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

var ctx = context.Background()

var operator = carnet.Actor{Kind: carnet.ActorOperator, ID: "op", Name: "Assurance Maladie"}

// world is a service over real stores, with a patient and two professionals.
type world struct {
	svc      *service.Service
	store    carnet.Store
	blobDir  string
	dbPath   string
	ring     *keys.Keyring
	patient  *carnet.Patient
	doctor   carnet.Actor // médecin généraliste
	kine     carnet.Actor // masseur-kinésithérapeute
	stranger carnet.Actor // a médecin without consent
}

type engine struct {
	name string
	open func(t testing.TB) (carnet.Store, string)
}

func engines() []engine {
	return []engine{
		{"sqlite", func(t testing.TB) (carnet.Store, string) {
			path := filepath.Join(t.TempDir(), "carnet.db")
			st, err := sqlite.Open(ctx, path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st, path
		}},
		{"postgres", func(t testing.TB) (carnet.Store, string) {
			st, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st, ""
		}},
	}
}

// forEachEngine runs fn against SQLite and PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			st, path := e.open(t)
			fn(t, newWorld(t, st, path))
		})
	}
}

func newWorld(t testing.TB, st carnet.Store, dbPath string) *world {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	mk, _ := keys.GenerateMasterKey()
	w := &world{store: st, blobDir: filepath.Join(t.TempDir(), "blobs"), dbPath: dbPath, ring: keys.NewKeyring(mk)}
	blobs, err := fs.Open(w.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	w.svc, err = service.New(ctx, service.Deps{Store: st, Blobs: blobs, Keys: w.ring, Config: service.Config{MaxBodySize: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	w.patient, err = w.svc.CreatePatient(ctx, operator, &carnet.Patient{NIR: "255081416802538", BirthName: "DUPONT", GivenNames: "Marie",
		Sex: carnet.SexFemale, BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC), Email: "marie@example.org", Status: carnet.PatientActive})
	if err != nil {
		t.Fatal(err)
	}
	w.doctor = w.professional(t, "10000000018", "10", "SM54", "Lefèvre")
	w.kine = w.professional(t, "10000000026", "70", "", "Bernard")
	w.stranger = w.professional(t, "10000000034", "10", "SM54", "Inconnu")
	for _, a := range []carnet.Actor{w.doctor, w.kine} {
		if _, err := w.svc.DeclareConsent(ctx, a, w.patient.ID, carnet.ConsentOral, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) professional(t testing.TB, rpps, profession, specialty, name string) carnet.Actor {
	t.Helper()
	p, _, err := w.svc.UpsertProfessional(ctx, operator, &carnet.Professional{RPPS: rpps, Profession: carnet.Profession(profession),
		Specialty: specialty, Civility: "Dr", FamilyName: name, GivenName: "Alex", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return service.ActorFor(p)
}

func (w *world) deposit(t *testing.T, actor carnet.Actor, typ, title, body string) *carnet.Document {
	t.Helper()
	d, err := w.svc.DepositDocument(ctx, actor, w.patient.ID, service.NewDocument{TypeCode: typ, Title: title,
		MediaType: "text/plain", Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	return d
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := carnet.ErrorCode(err); got != code {
		t.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
}

func history(t *testing.T, w *world) []*carnet.AuditEvent {
	t.Helper()
	evs, err := w.svc.History(ctx, service.PatientActor(w.patient), w.patient.ID, carnet.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestDepositReadRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Consultation cardiologie", "Tension 13/8, poursuivre le traitement.")
		got, body, err := w.svc.ReadDocument(ctx, w.kine, w.patient.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "Tension 13/8, poursuivre le traitement." || got.Title != "Consultation cardiologie" || got.Class != "10" {
			t.Errorf("read back %q %+v", body, got)
		}
		// The patient reads it too, and lists it with its title.
		list, err := w.svc.ListDocuments(ctx, service.PatientActor(w.patient), w.patient.ID, carnet.DocumentFilter{})
		if err != nil || len(list) != 1 || list[0].Title != "Consultation cardiologie" {
			t.Fatalf("list: %v %v", list, err)
		}
		// Every access is in the history, with who and what.
		evs := history(t, w)
		var reads int
		for _, e := range evs {
			if e.Action == "document.read" && e.ActorID == w.kine.ID && e.Decision == carnet.DecisionAllow && e.TargetID == d.ID {
				reads++
			}
		}
		if reads != 1 {
			t.Errorf("read by the kiné recorded %d times", reads)
		}
	})
}

// TestDocumentInfo: a document's description is decided and recorded as a read, refused to whom
// may not read it, and does not need the body: with the body gone from the blob store, the
// description still comes while a read of the content fails.
func TestDocumentInfo(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Consultation cardiologie", "Tension 13/8.")
		if err := os.RemoveAll(w.blobDir); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.DocumentInfo(ctx, w.kine, w.patient.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "Consultation cardiologie" || got.TypeCode != "11488-4" || got.ID != d.ID {
			t.Errorf("description %+v", got)
		}
		// (and a body gone is damage, not a document not found)
		_, _, err = w.svc.ReadDocument(ctx, w.kine, w.patient.ID, d.ID)
		wantCode(t, err, carnet.EINTEGRITY)
		_, err = w.svc.DocumentInfo(ctx, w.stranger, w.patient.ID, d.ID)
		wantCode(t, err, carnet.EFORBIDDEN)
		var kine, stranger int
		for _, e := range history(t, w) {
			if e.Action == "document.read" && e.TargetID == d.ID {
				switch {
				case e.ActorID == w.kine.ID && e.Decision == carnet.DecisionAllow:
					kine++
				case e.ActorID == w.stranger.ID && e.Decision != carnet.DecisionAllow:
					stranger++
				}
			}
		}
		if kine != 2 || stranger != 1 {
			t.Errorf("history: %d allowed reads by the kiné (want 2: description and content), %d refusals (want 1)", kine, stranger)
		}
	})
}

// TestNoPlaintextAtRest: after deposits, neither the database file nor the blob directory holds
// a document's body or title, nor the patient's NIR, in clear.
func TestNoPlaintextAtRest(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	secrets := []string{"Lymphome folliculaire de grade 2", "Biopsie ganglionnaire", w.patient.NIR, "255081416802538"}
	w.deposit(t, w.doctor, "11526-1", "Biopsie ganglionnaire", "Conclusion : Lymphome folliculaire de grade 2.")
	if _, err := w.svc.AddProfileEntry(ctx, service.PatientActor(w.patient), w.patient.ID,
		&carnet.ProfileEntry{Kind: carnet.ProfileCondition, Label: "Lymphome folliculaire de grade 2", Date: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.store.Close() // checkpoint the WAL into the file
	files := []string{path, path + "-wal"}
	filepath.Walk(w.blobDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 3 {
		t.Fatalf("no blob written: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains %q in clear", f, s)
			}
		}
	}
}

func TestCryptoShredding(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
		if err := w.svc.DestroyPatientData(ctx, service.PatientActor(w.patient), w.patient.ID, "demande du patient"); err != nil {
			t.Fatal(err)
		}
		// A destroyed space is open to no one; and even a read past the policy finds no key.
		_, _, err := w.svc.ReadDocument(ctx, service.PatientActor(w.patient), w.patient.ID, d.ID)
		wantCode(t, err, carnet.EFORBIDDEN)
		// The body is still on disk but nobody can open it: the only copy of its key is gone.
		p, err := w.svc.Patient(ctx, operator, w.patient.ID)
		if err != nil || p.NIR != "" || p.Status != carnet.PatientDestroyed {
			t.Errorf("patient after destruction: %+v %v", p, err)
		}
		// The destruction itself stays in the history.
		var found bool
		w.store.View(ctx, func(tx carnet.Tx) error {
			evs, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: w.patient.ID, Action: "key.destroy"})
			found = len(evs) == 1
			k, _ := tx.DataKey(ctx, w.patient.ID)
			if len(k.Wrapped) != 0 {
				t.Error("wrapped key bytes remain after destruction")
			}
			return nil
		})
		if !found {
			t.Error("destruction not in the history")
		}
	})
}

func TestCorruptedBlob(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu original")
	file := blobFile(t, w)
	b, _ := os.ReadFile(file)
	b[len(b)-5] ^= 0xff
	os.WriteFile(file, b, 0o600)
	_, _, err := w.svc.ReadDocument(ctx, w.doctor, w.patient.ID, d.ID)
	wantCode(t, err, carnet.EINTEGRITY)
}

// TestHashMismatch: a body that decrypts but is not the one deposited (a blob swapped for another
// document of the same patient, re-sealed) is caught by the SHA-256 check.
func TestHashMismatch(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu original")
	var dek []byte
	st.View(ctx, func(tx carnet.Tx) error {
		k, _ := tx.DataKey(ctx, w.patient.ID)
		var err error
		dek, err = w.ring.Unwrap(k.Wrapped, k.KEKID, w.patient.ID)
		return err
	})
	forged, err := keys.Seal(dek, []byte("contenu falsifié"), keys.AAD("document-body", w.patient.ID, d.ID))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(blobFile(t, w), forged, 0o600)
	_, _, err = w.svc.ReadDocument(ctx, w.doctor, w.patient.ID, d.ID)
	wantCode(t, err, carnet.EINTEGRITY)
	if !strings.Contains(carnet.ErrorMessage(err), "empreinte") {
		t.Errorf("message: %q", carnet.ErrorMessage(err))
	}
}

func blobFile(t *testing.T, w *world) string {
	t.Helper()
	var file string
	filepath.Walk(w.blobDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			file = p
		}
		return nil
	})
	if file == "" {
		t.Fatal("no blob")
	}
	return file
}

// TestBadInputStoresNothing: every malformed deposit gets a clear error and leaves no row and no
// blob behind.
func TestBadInputStoresNothing(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	big := strings.Repeat("x", 1<<20+1)
	cases := []struct {
		name string
		in   service.NewDocument
		code string
		msg  string
	}{
		{"empty body", service.NewDocument{TypeCode: "11488-4", Title: "t", MediaType: "text/plain", Body: strings.NewReader("")}, carnet.EINVALID, "vide"},
		{"oversized", service.NewDocument{TypeCode: "11488-4", Title: "t", MediaType: "text/plain", Body: strings.NewReader(big)}, carnet.ETOOLARGE, "volumineux"},
		{"unknown type", service.NewDocument{TypeCode: "99999-9", Title: "t", MediaType: "text/plain", Body: strings.NewReader("x")}, carnet.EINVALID, "type de document inconnu"},
		{"not a pdf", service.NewDocument{TypeCode: "11488-4", Title: "t", MediaType: "application/pdf", Body: strings.NewReader("hello")}, carnet.EINVALID, "format déclaré"},
		{"unsupported media", service.NewDocument{TypeCode: "11488-4", Title: "t", MediaType: "video/mp4", Body: strings.NewReader("x")}, carnet.EINVALID, "format"},
		{"no title", service.NewDocument{TypeCode: "11488-4", Title: " ", MediaType: "text/plain", Body: strings.NewReader("x")}, carnet.EINVALID, "titre"},
		{"contradictory flags", service.NewDocument{TypeCode: "11488-4", Title: "t", MediaType: "text/plain", Body: strings.NewReader("x"),
			HiddenFromProfessionals: true, HiddenFromPatient: true}, carnet.EINVALID, "à la fois"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.DepositDocument(ctx, w.doctor, w.patient.ID, c.in)
			wantCode(t, err, c.code)
			if !strings.Contains(carnet.ErrorMessage(err), c.msg) {
				t.Errorf("message %q does not name the problem (%q)", carnet.ErrorMessage(err), c.msg)
			}
		})
	}
	// A deposit refused by the policy (an operator never writes health content) leaves no blob either.
	_, err := w.svc.DepositDocument(ctx, operator, w.patient.ID, service.NewDocument{TypeCode: "11488-4", Title: "t",
		MediaType: "text/plain", Body: strings.NewReader("x")})
	wantCode(t, err, carnet.EFORBIDDEN)
	st.View(ctx, func(tx carnet.Tx) error {
		c, _ := tx.Counts(ctx)
		if c.Documents != 0 {
			t.Errorf("%d documents stored", c.Documents)
		}
		return nil
	})
	entries, _ := os.ReadDir(w.blobDir)
	for _, e := range entries {
		sub, _ := os.ReadDir(filepath.Join(w.blobDir, e.Name()))
		for _, f := range sub {
			t.Errorf("blob left behind: %s/%s", e.Name(), f.Name())
		}
	}
	// Bad identities.
	for _, nir := range []string{"255081416802539", "25508141680253", "355081416802538X", ""} {
		_, err := w.svc.CreatePatient(ctx, operator, &carnet.Patient{NIR: nir, BirthName: "X", GivenNames: "Y", Sex: carnet.SexFemale,
			BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC)})
		wantCode(t, err, carnet.EINVALID)
	}
	_, err = w.svc.CreatePatient(ctx, operator, &carnet.Patient{NIR: "255081416802538", BirthName: "X", GivenNames: "Y", Sex: carnet.SexFemale,
		BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC)})
	wantCode(t, err, carnet.ECONFLICT)
	_, _, err = w.svc.UpsertProfessional(ctx, operator, &carnet.Professional{RPPS: "12345", Profession: "10", FamilyName: "A", GivenName: "B"})
	wantCode(t, err, carnet.EINVALID)
}

// TestDeniedAccessIsRecorded: a refusal is an event of the history, and the caller learns why.
func TestDeniedAccessIsRecorded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
		_, _, err := w.svc.ReadDocument(ctx, w.stranger, w.patient.ID, d.ID)
		wantCode(t, err, carnet.EFORBIDDEN)
		var denied *carnet.AuditEvent
		for _, e := range history(t, w) {
			if e.ActorID == w.stranger.ID && e.Action == "document.read" {
				denied = e
			}
		}
		if denied == nil || denied.Decision != carnet.DecisionDeny || !strings.Contains(denied.Reason, "@") {
			t.Fatalf("denied read not recorded: %+v", denied)
		}
	})
}

// failingAudit wraps a real store and makes every audit append fail, to prove that an action
// without its audit event does not happen (fail closed).
type failingAudit struct{ carnet.Store }

func (f failingAudit) Update(ctx context.Context, fn func(carnet.Tx) error) error {
	return f.Store.Update(ctx, func(tx carnet.Tx) error { return fn(failingTx{tx}) })
}

type failingTx struct{ carnet.Tx }

func (failingTx) AppendAudit(context.Context, *carnet.AuditEvent) error {
	return errors.New("audit disk full")
}

func (failingTx) AppendLinked(context.Context, *carnet.AuditEvent) error {
	return errors.New("audit disk full")
}

func TestFailClosedWithoutAudit(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	blobs, _ := fs.Open(w.blobDir)
	broken, err := service.New(ctx, service.Deps{Store: failingAudit{st}, Blobs: blobs, Keys: w.ring})
	if err != nil {
		t.Fatal(err)
	}
	d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
	if _, _, err := broken.ReadDocument(ctx, w.doctor, w.patient.ID, d.ID); err == nil {
		t.Fatal("read succeeded without its audit event")
	}
	if _, err := broken.DepositDocument(ctx, w.doctor, w.patient.ID, service.NewDocument{TypeCode: "11488-4", Title: "t",
		MediaType: "text/plain", Body: strings.NewReader("x")}); err == nil {
		t.Fatal("deposit succeeded without its audit event")
	}
	docs, err := w.svc.ListDocuments(ctx, service.PatientActor(w.patient), w.patient.ID, carnet.DocumentFilter{})
	if err != nil || len(docs) != 1 {
		t.Errorf("documents after failed deposit: %d %v", len(docs), err)
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	other, _ := keys.GenerateMasterKey()
	blobs, _ := fs.Open(w.blobDir)
	_, err := service.New(ctx, service.Deps{Store: st, Blobs: blobs, Keys: keys.NewKeyring(other)})
	wantCode(t, err, carnet.EKEY)
}

func TestRotateMasterKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Consultation", "contenu")
		next, _ := keys.GenerateMasterKey()
		n, err := service.RotateMasterKey(ctx, w.store, keys.NewKeyring(next, w.ring.Current()), 1)
		if err != nil || n != 1 {
			t.Fatalf("rotated %d: %v", n, err)
		}
		// Running it again finds nothing left to do.
		if n, err := service.RotateMasterKey(ctx, w.store, keys.NewKeyring(next, w.ring.Current()), 1); err != nil || n != 0 {
			t.Fatalf("second rotation: %d %v", n, err)
		}
		blobs, _ := fs.Open(w.blobDir)
		svc, err := service.New(ctx, service.Deps{Store: w.store, Blobs: blobs, Keys: keys.NewKeyring(next)})
		if err != nil {
			t.Fatal(err)
		}
		if _, body, err := svc.ReadDocument(ctx, w.doctor, w.patient.ID, d.ID); err != nil || string(body) != "contenu" {
			t.Fatalf("read under the new key only: %q %v", body, err)
		}
		if p, err := svc.PatientByNIR(ctx, operator, "255081416802538"); err != nil || p.ID != w.patient.ID {
			t.Fatalf("NIR look-up after rotation: %v", err)
		}
		_, err = service.New(ctx, service.Deps{Store: w.store, Blobs: blobs, Keys: w.ring})
		wantCode(t, err, carnet.EKEY)
	})
}

func TestPatientByNIR(t *testing.T) {
	st, path := engines()[0].open(t)
	w := newWorld(t, st, path)
	p, err := w.svc.PatientByNIR(ctx, operator, "2 55 08 14 168 025 38")
	if err != nil || p.ID != w.patient.ID || p.NIR != "255081416802538" {
		t.Fatalf("by NIR: %+v %v", p, err)
	}
	_, err = w.svc.PatientByNIR(ctx, operator, "155081416802500")
	if carnet.ErrorCode(err) == "" {
		t.Fatal("unknown NIR found")
	}
	_, err = w.svc.PatientByNIR(ctx, service.PatientActor(w.patient), "255081416802538")
	wantCode(t, err, carnet.EFORBIDDEN)
}

func TestProfileAndWishesRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		me := service.PatientActor(w.patient)
		if _, err := w.svc.AddProfileEntry(ctx, me, w.patient.ID, &carnet.ProfileEntry{Kind: carnet.ProfileMeasure, Code: "29463-7",
			Label: "Poids", Value: 64.5, Date: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.AddProfileEntry(ctx, me, w.patient.ID, &carnet.ProfileEntry{Kind: carnet.ProfileMeasure, Code: "29463-7",
			Label: "Poids", Value: 64.5, Unit: "cm", Date: time.Now()}); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("wrong unit accepted: %v", err)
		}
		entries, err := w.svc.Profile(ctx, me, w.patient.ID, carnet.ProfileMeasure)
		if err != nil || len(entries) != 1 || entries[0].Value != 64.5 || entries[0].Unit != "kg" || entries[0].Label != "Poids" {
			t.Fatalf("profile: %+v %v", entries, err)
		}
		want := &carnet.Wishes{TrustedPerson: &carnet.Contact{Name: "Paul Dupont", Relation: "conjoint"}, OrganDonation: carnet.OrganDonationRefuses,
			AdvanceDirectives: "Pas d'acharnement thérapeutique."}
		if err := w.svc.PutWishes(ctx, me, w.patient.ID, want); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.Wishes(ctx, w.doctor, w.patient.ID)
		if err != nil || got.TrustedPerson == nil || got.TrustedPerson.Name != "Paul Dupont" || got.OrganDonation != carnet.OrganDonationRefuses ||
			got.AdvanceDirectives != want.AdvanceDirectives {
			t.Fatalf("wishes read by the doctor: %+v %v", got, err)
		}
	})
}

// TestReplaceUnknownDocument: replacing a document the patient does not have is "not found" and
// leaves the record as it was; the real one is then replaced.
func TestReplaceUnknownDocument(t *testing.T) {
	forEachEngine(t, func(t *testing.T, w *world) {
		d := w.deposit(t, w.doctor, "11488-4", "Compte rendu", "texte")
		v2 := func() service.NewDocument {
			return service.NewDocument{TypeCode: "11488-4", Title: "v2", MediaType: "text/plain", Body: strings.NewReader("texte 2")}
		}
		_, err := w.svc.ReplaceDocument(ctx, w.doctor, w.patient.ID, "01a20000-0000-7000-8000-000000000000", v2())
		wantCode(t, err, carnet.ENOTFOUND)
		if !strings.Contains(err.Error(), "document à remplacer introuvable") {
			t.Errorf("message: %v", err)
		}
		docs, err := w.svc.ListDocuments(ctx, w.doctor, w.patient.ID, carnet.DocumentFilter{})
		if err != nil || len(docs) != 1 || docs[0].ID != d.ID || docs[0].Status != carnet.DocCurrent {
			t.Fatalf("record after a refused replacement: %d documents, %v", len(docs), err)
		}
		nd, err := w.svc.ReplaceDocument(ctx, w.doctor, w.patient.ID, d.ID, v2())
		if err != nil || nd.ReplacesID != d.ID {
			t.Fatalf("replace: %v %+v", err, nd)
		}
	})
}
