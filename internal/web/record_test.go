package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/web/browsertest"
)

// recWorld is the portal over a real service on a temporary SQLite store: a parent with an
// activated account and a signed-in session, two children (one under the hand-over age, one
// beyond it), and professionals, one of whom has a consent and accessed the record.
type recWorld struct {
	t        *testing.T
	svc      *service.Service
	store    carnet.Store
	h        http.Handler
	patient  *carnet.Patient
	child    *carnet.Patient // 9 years old: the parent manages their space
	grown    *carnet.Patient // 19 years old, the hand-over job not run yet
	token    string
	doctor   carnet.Actor
	stranger carnet.Actor // a médecin without consent
	doc      *carnet.Document
	dir      string // the database, and the blobs under "blobs"
}

var recCtx = context.Background()

var recOperator = carnet.Actor{Kind: carnet.ActorOperator, ID: "op", Name: "Assurance Maladie"}

const recPassword = "Brume-Violette-Kayak-47!"

func recNIR(t *testing.T, sex string, birth time.Time, order int) string {
	body := fmt.Sprintf("%s%s%s75056%03d", sex, birth.Format("06"), birth.Format("01"), order)
	k, err := carnet.NIRKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s%02d", body, k)
}

func newRecWorld(t *testing.T) *recWorld {
	t.Helper()
	dir := t.TempDir()
	svc, st := newTestServiceIn(t, service.Config{MaxBodySize: 1 << 20, BaseURL: "https://carnet.example"}, dir)
	site, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &recWorld{t: t, svc: svc, store: st, h: NewApp(site, svc, AppOptions{Secure: true}).Handler(), dir: dir}

	// The parent: enrolled, then activated as a person does, which signs them in.
	birth := time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC)
	row := service.EnrolRow{Line: 1, VitaleSerial: "8025 0001 1234", Patient: carnet.Patient{NIR: recNIR(t, "2", birth, 1),
		BirthName: "DUPONT", GivenNames: "Marie Claire", Sex: carnet.SexFemale, BirthDate: birth, Email: "marie@example.org"}}
	b, bad, err := svc.PrepareEnrolment(recCtx, recOperator, "enroll:f1", []service.EnrolRow{row}, nil)
	if err != nil || len(bad) != 0 {
		t.Fatalf("prepare: %v %v", bad, err)
	}
	if _, err := svc.CommitEnrolment(recCtx, recOperator, b, service.EnrolmentRun{FileID: "f1", Line: 1}); err != nil {
		t.Fatalf("commit: %v", err)
	}
	p, err := svc.PatientByNIR(recCtx, recOperator, row.Patient.NIR)
	if err != nil {
		t.Fatal(err)
	}
	here := service.Client{Address: "192.0.2.10", UserAgent: "test"}
	tok, err := svc.BeginActivation(recCtx, service.ActivationCheck{NIR: row.Patient.NIR, Code: w.secret(p.ID, "activation_code"),
		VitaleSerial: row.VitaleSerial}, here)
	if err != nil {
		t.Fatalf("begin activation: %v", err)
	}
	if err := svc.SetCredentials(recCtx, tok, service.Credentials{Login: "marie.dupont", Password: recPassword, Channel: "email",
		Contact: "marie@example.org"}); err != nil {
		t.Fatalf("credentials: %v", err)
	}
	if err := svc.ConfirmContact(recCtx, tok, w.secret(p.ID, "one_time_code"), here); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	w.token = tok
	if w.patient, err = svc.Patient(recCtx, service.PatientActor(p), p.ID); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	kid := func(given string, age, order int) *carnet.Patient {
		birth := time.Date(now.Year()-age, 1, 15, 0, 0, 0, 0, time.UTC)
		c, err := svc.CreatePatient(recCtx, recOperator, &carnet.Patient{NIR: recNIR(t, "1", birth, order), BirthName: "DUPONT",
			GivenNames: given, Sex: carnet.SexMale, BirthDate: birth, RightsHolderID: p.ID, Status: carnet.PatientActive})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	w.child, w.grown = kid("Léo", 9, 2), kid("Hugo", 19, 3)

	pro := func(rpps, name, structure string) carnet.Actor {
		p, _, err := svc.UpsertProfessional(recCtx, recOperator, &carnet.Professional{RPPS: rpps, Profession: "10", Specialty: "SM54",
			Civility: "Dr", FamilyName: name, GivenName: "Alex", StructureID: structure, StructureName: "Cabinet " + name, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		return service.ActorFor(p)
	}
	w.doctor = pro("10000000018", "Lefèvre", "CAB-LEFEVRE")
	w.stranger = pro("10000000034", "Inconnu", "")
	if _, err := svc.DeclareConsent(recCtx, w.doctor, p.ID, carnet.ConsentOral, "", nil); err != nil {
		t.Fatal(err)
	}
	if w.doc, err = svc.DepositDocument(recCtx, w.doctor, p.ID, service.NewDocument{TypeCode: "11488-4", Title: "Consultation cardiologie",
		MediaType: "text/plain", Body: strings.NewReader("Tension 13/8, poursuivre le traitement.")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ReadDocument(recCtx, w.doctor, p.ID, w.doc.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

// secret returns the code carried by a patient's latest outbox message of a kind.
func (w *recWorld) secret(patientID, kind string) string {
	w.t.Helper()
	var code string
	// Codes queued by bulk enrolment become messages when the outbox worker feeds them.
	if _, err := w.svc.QueueEnrolmentCodes(recCtx, 100); err != nil {
		w.t.Fatal(err)
	}
	err := w.store.View(recCtx, func(tx carnet.Tx) error {
		msgs, err := tx.ListOutbox(recCtx, patientID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Kind == kind && len(m.Secret) > 0 {
				if code, err = w.svc.RevealSecret(m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || code == "" {
		w.t.Fatalf("no %s code for %s: %v", kind, patientID, err)
	}
	return code
}

func (w *recWorld) me() carnet.Actor { return service.PatientActor(w.patient) }

// do sends a request with the session cookie; form, when not nil, is posted with the CSRF
// token unless noCSRF.
func (w *recWorld) do(method, path string, form url.Values, noCSRF bool) *httptest.ResponseRecorder {
	w.t.Helper()
	var body *strings.Reader
	if form != nil {
		if !noCSRF {
			form.Set("csrf", w.svc.CSRFFor(w.token))
		}
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "https://carnet.example"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://carnet.example")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	r.AddCookie(&http.Cookie{Name: "__Host-carnet", Value: w.token})
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return rec
}

// page gets a page, checks its status and that it is clean (CSP, unique ids), and returns it.
func (w *recWorld) page(path string, status int) string {
	w.t.Helper()
	rec := w.do(http.MethodGet, path, nil, false)
	if rec.Code != status {
		w.t.Fatalf("GET %s: status %d, want %d\n%s", path, rec.Code, status, rec.Body.String())
	}
	body := rec.Body.String()
	checkCSPClean(w.t, body)
	recUniqueIDs(w.t, path, body)
	return body
}

// post posts a form and expects a redirection to a path starting with want; it returns where.
func (w *recWorld) post(path string, form url.Values, want string) string {
	w.t.Helper()
	rec := w.do(http.MethodPost, path, form, false)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
		w.t.Fatalf("POST %s: status %d to %q, want 303 to %s\n%s", path, rec.Code, loc, want, rec.Body.String())
	}
	return loc
}

var recIDAttr = regexp.MustCompile(`\sid="([^"]+)"`)

func recUniqueIDs(t *testing.T, path, body string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range recIDAttr.FindAllStringSubmatch(body, -1) {
		if seen[m[1]] {
			t.Errorf("%s: id %q twice", path, m[1])
		}
		seen[m[1]] = true
	}
}

// recPart returns the HTML of the element with the given id, up to the next "</table>" or
// "</section>".
func recPart(t *testing.T, body, id, end string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element %s", id)
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		t.Fatalf("no %s after %s", end, id)
	}
	return body[i : i+j]
}

func TestRecordNeedsSignIn(t *testing.T) {
	w := newRecWorld(t)
	for _, p := range []string{"/espace/profil", "/espace/volontes", "/espace/parametres", "/espace/historique", "/espace/enfants",
		"/espace/export", "/espace/export.pdf", "/espace/historique/export.csv"} {
		r := httptest.NewRequest(http.MethodGet, p, nil)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, r)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/connexion" {
			t.Errorf("%s without a session: %d %s", p, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func TestRecordProfile(t *testing.T) {
	w := newRecWorld(t)
	body := w.page("/espace/profil", http.StatusOK)
	for _, want := range []string{"<h1>Profil médical</h1>", `id="rubrique-allergy"`, `id="rubrique-measure"`, "Ajouter une vaccination",
		`<label class="fr-label" for="allergy-libelle">`, `name="csrf" value="` + w.svc.CSRFFor(w.token) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("profile page lacks %s", want)
		}
	}
	entries := []struct {
		kind, label string
		extra       url.Values
	}{
		{"allergy", "Pénicilline", url.Values{"notes": {"urticaire"}}},
		{"condition", "Asthme", url.Values{"fin": {""}}},
		{"family_history", "Diabète de type 2 (père)", nil},
		{"vaccination", "DTP rappel", nil},
		{"treatment", "Ventoline 2 bouffées", url.Values{"fin": {"2025-06-30"}}},
	}
	for _, e := range entries {
		f := url.Values{"rubrique": {e.kind}, "libelle": {e.label}, "date": {"2025-03-01"}}
		for k, v := range e.extra {
			f[k] = v
		}
		loc := w.post("/espace/profil", f, "/espace/profil?fait="+e.kind)
		if !strings.HasSuffix(loc, "#rubrique-"+e.kind) {
			t.Errorf("redirected to %s", loc)
		}
		body := w.page("/espace/profil?fait="+e.kind, http.StatusOK)
		if !strings.Contains(recPart(t, body, "tableau-"+e.kind, "</table>"), e.label) {
			t.Errorf("%s: %q not shown in its section", e.kind, e.label)
		}
		if !strings.Contains(body, "L’élément est ajouté") {
			t.Errorf("%s: no confirmation", e.kind)
		}
	}
	// Measures: two weights, a height typed the French way, and a chart for each.
	for _, m := range []url.Values{
		{"mesure": {"29463-7"}, "valeur": {"72,5"}, "date": {"2025-01-10"}},
		{"mesure": {"29463-7"}, "valeur": {"70"}, "date": {"10/02/2025"}},
		{"mesure": {"8302-2"}, "valeur": {"168"}, "date": {"2025-01-10"}},
	} {
		m.Set("rubrique", "measure")
		w.post("/espace/profil", m, "/espace/profil?fait=measure")
	}
	body = w.page("/espace/profil", http.StatusOK)
	measures := recPart(t, body, "rubrique-measure", "</section>")
	for _, want := range []string{`<svg viewBox="0 0 640 260"`, `role="img"`, "<polyline points=", "<circle", "Évolution : Poids (kg)",
		"<caption>Poids : valeurs mesurées</caption>", "72,5 kg", "70 kg", "Taille", "168 cm", `<th scope="col">Valeur</th>`} {
		if !strings.Contains(measures, want) {
			t.Errorf("measures lack %s", want)
		}
	}
	if strings.Count(measures, "<svg") != 2 {
		t.Errorf("%d charts, want 2 (weight, height)", strings.Count(measures, "<svg"))
	}
	got, err := w.svc.Profile(recCtx, w.me(), w.patient.ID, "")
	if err != nil || len(got) != len(entries)+3 {
		t.Fatalf("profile: %d entries, %v", len(got), err)
	}
	for _, e := range got {
		if e.Kind == carnet.ProfileTreatment && (e.EndDate == nil || e.EndDate.Format("2006-01-02") != "2025-06-30") {
			t.Errorf("treatment end date %v", e.EndDate)
		}
		if e.Kind == carnet.ProfileMeasure && e.Code == "29463-7" && e.Value != 72.5 && e.Value != 70 {
			t.Errorf("weight %v", e.Value)
		}
	}

	// A refused entry: the form comes back with the error and what was typed.
	rec := w.do(http.MethodPost, "/espace/profil", url.Values{"rubrique": {"allergy"}, "libelle": {"Arachide"}, "date": {"31/02/2025"}}, false)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Date invalide") ||
		!strings.Contains(rec.Body.String(), `value="Arachide"`) {
		t.Errorf("bad date: %d\n%s", rec.Code, rec.Body.String())
	}
	rec = w.do(http.MethodPost, "/espace/profil", url.Values{"rubrique": {"measure"}, "mesure": {"29463-7"}, "valeur": {"beaucoup"}, "date": {"2025-01-10"}}, false)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Valeur invalide") {
		t.Errorf("bad value: %d", rec.Code)
	}
	rec = w.do(http.MethodPost, "/espace/profil", url.Values{"rubrique": {"humeur"}, "libelle": {"x"}, "date": {"2025-01-10"}}, false)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("unknown section: %d", rec.Code)
	}
	if got2, _ := w.svc.Profile(recCtx, w.me(), w.patient.ID, ""); len(got2) != len(got) {
		t.Errorf("refused posts added entries")
	}
}

func TestRecordChart(t *testing.T) {
	d := func(m, day int) time.Time { return time.Date(2025, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	c := recChart("c", "Poids", "kg", []*carnet.ProfileEntry{
		{Date: d(3, 1), Value: 80}, {Date: d(1, 1), Value: 70}, {Date: d(2, 1), Value: 75},
	})
	if len(c.Points) != 3 || c.Points[0].X != "64.0" || c.Points[2].X != "616.0" {
		t.Errorf("points %+v", c.Points)
	}
	y := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	if y(c.Points[0].Y) <= y(c.Points[2].Y) { // SVG y grows downwards: 70 is below 80
		t.Errorf("y of 70 (%s) not below y of 80 (%s)", c.Points[0].Y, c.Points[2].Y)
	}
	if c.Rows[0].Value != "80 kg" || len(c.YTicks) < 3 || !strings.Contains(c.Desc, "3 mesures") {
		t.Errorf("rows %+v, ticks %+v, desc %q", c.Rows, c.YTicks, c.Desc)
	}
	one := recChart("c", "Température", "°C", []*carnet.ProfileEntry{{Date: d(1, 1), Value: 37.2}})
	if len(one.Points) != 1 || one.Points[0].X != "340.0" || len(one.YTicks) == 0 {
		t.Errorf("one point: %+v %+v", one.Points, one.YTicks)
	}
	for _, tc := range []struct{ raw, want float64 }{{0.03, 0.05}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {0, 1}} {
		if got := recNiceStep(tc.raw); got != tc.want {
			t.Errorf("step %v: %v, want %v", tc.raw, got, tc.want)
		}
	}
}

func TestRecordWishes(t *testing.T) {
	w := newRecWorld(t)
	body := w.page("/espace/volontes", http.StatusOK)
	if !strings.Contains(body, "Aucune personne de confiance désignée") || !strings.Contains(body, `id="proche-0-nom"`) {
		t.Fatalf("empty wishes page:\n%s", body)
	}
	w.post("/espace/volontes", url.Values{
		"confiance-nom": {"Paul Dupont"}, "confiance-lien": {"conjoint"}, "confiance-telephone": {"+33612345678"},
		"confiance-courriel": {"paul@example.org"},
		"proche-0-nom":       {"Anne Martin"}, "proche-0-lien": {"sœur"},
		"directives": {"Pas d’acharnement thérapeutique.\nSoins palliatifs à domicile."},
		"don":        {"accepts"},
	}, "/espace/volontes?fait=1")
	got, err := w.svc.Wishes(recCtx, w.me(), w.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TrustedPerson == nil || got.TrustedPerson.Name != "Paul Dupont" || got.TrustedPerson.Email != "paul@example.org" ||
		len(got.Relatives) != 1 || got.Relatives[0].Relation != "sœur" || got.OrganDonation != carnet.OrganDonationAccepts ||
		!strings.HasPrefix(got.AdvanceDirectives, "Pas d’acharnement") {
		t.Fatalf("wishes stored: %+v %+v", got, got.TrustedPerson)
	}
	body = w.page("/espace/volontes?fait=1", http.StatusOK)
	for _, want := range []string{"Les informations sont enregistrées", "Paul Dupont (conjoint)", "Anne Martin (sœur)",
		"Pas d’acharnement thérapeutique.<br>Soins palliatifs à domicile.", `value="Paul Dupont"`, `id="don-accepte" name="don" value="accepts" checked`,
		`id="proche-1-nom"`, "J’accepte le don"} {
		if !strings.Contains(body, want) {
			t.Errorf("wishes page lacks %s", want)
		}
	}
	// Sent back as shown, the form changes nothing; emptied, the trusted person goes.
	w.post("/espace/volontes", url.Values{"proche-0-nom": {"Anne Martin"}, "proche-0-lien": {"sœur"}, "don": {""}}, "/espace/volontes?fait=1")
	got, _ = w.svc.Wishes(recCtx, w.me(), w.patient.ID)
	if got.TrustedPerson != nil || len(got.Relatives) != 1 || got.OrganDonation != "" || got.AdvanceDirectives != "" {
		t.Errorf("after clearing: %+v", got)
	}
	// A refused post keeps what was typed.
	rec := w.do(http.MethodPost, "/espace/volontes", url.Values{"confiance-nom": {"Paul"}, "confiance-courriel": {"pas-une-adresse"}}, false)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `value="pas-une-adresse"`) ||
		!strings.Contains(rec.Body.String(), `role="alert"`) {
		t.Errorf("invalid email: %d\n%s", rec.Code, rec.Body.String())
	}
}

func TestRecordSettings(t *testing.T) {
	w := newRecWorld(t)
	body := w.page("/espace/parametres", http.StatusOK)
	pros := recPart(t, body, "tableau-professionnels", "</table>")
	for _, want := range []string{"Dr Alex Lefèvre", "Médecin", "Cabinet Lefèvre", "Déclaré le", "(oral)", "Retirer le consentement",
		`name="professionnel" value="` + w.doctor.ID + `"`, `name="structure" value="CAB-LEFEVRE"`} {
		if !strings.Contains(pros, want) {
			t.Errorf("professionals lack %s", want)
		}
	}
	if !strings.Contains(body, `<option value="`+w.doctor.ID+`">Dr Alex Lefèvre – Médecin (médecine générale)</option>`) {
		t.Errorf("the doctor is not a candidate administrator:\n%s", recPart(t, body, "administrateur", "</select>"))
	}

	// Block the doctor: the service then refuses them, even with their consent.
	w.post("/espace/parametres/blocage", url.Values{"professionnel": {w.doctor.ID}}, "/espace/parametres?fait=blocage")
	if _, _, err := w.svc.ReadDocument(recCtx, w.doctor, w.patient.ID, w.doc.ID); err == nil {
		t.Fatal("a blocked professional reads a document")
	}
	body = w.page("/espace/parametres?fait=blocage", http.StatusOK)
	blocks := recPart(t, body, "tableau-blocages", "</table>")
	if !strings.Contains(blocks, "Dr Alex Lefèvre") || !strings.Contains(body, "Le blocage est enregistré") {
		t.Errorf("blocks:\n%s", blocks)
	}
	bs, err := w.svc.Blocks(recCtx, w.me(), w.patient.ID)
	if err != nil || len(bs) != 1 {
		t.Fatalf("blocks %v %v", bs, err)
	}
	w.post("/espace/parametres/deblocage", url.Values{"blocage": {bs[0].ID}}, "/espace/parametres?fait=deblocage")
	if _, _, err := w.svc.ReadDocument(recCtx, w.doctor, w.patient.ID, w.doc.ID); err != nil {
		t.Fatalf("after unblocking: %v", err)
	}
	// A structure, and a professional by RPPS.
	w.post("/espace/parametres/blocage", url.Values{"structure": {"CAB-LEFEVRE"}}, "/espace/parametres?fait=blocage")
	if _, _, err := w.svc.ReadDocument(recCtx, w.doctor, w.patient.ID, w.doc.ID); err == nil {
		t.Fatal("a professional of a blocked structure reads a document")
	}
	w.post("/espace/parametres/blocage", url.Values{"rpps": {"10000000034"}}, "/espace/parametres?fait=blocage")
	if _, err := w.svc.DeclareConsent(recCtx, w.stranger, w.patient.ID, carnet.ConsentOral, "", nil); err == nil {
		t.Error("a professional blocked by RPPS declares a consent")
	}
	body = w.page("/espace/parametres", http.StatusOK)
	if blocks := recPart(t, body, "tableau-blocages", "</table>"); !strings.Contains(blocks, "Cabinet Lefèvre") || !strings.Contains(blocks, "Dr Alex Inconnu") {
		t.Errorf("blocks:\n%s", blocks)
	}
	rec := w.do(http.MethodPost, "/espace/parametres/blocage", url.Values{"rpps": {"12345678901"}}, false)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "RPPS") {
		t.Errorf("unknown RPPS: %d", rec.Code)
	}
	for _, b := range mustBlocks(t, w) {
		w.post("/espace/parametres/deblocage", url.Values{"blocage": {b.ID}}, "/espace/parametres?fait=deblocage")
	}

	// Revoke the doctor's consent.
	ov, err := w.svc.AccessOverview(recCtx, w.me(), w.patient.ID)
	if err != nil || len(ov.Professionals) == 0 || ov.Professionals[0].Professional.ID != w.doctor.ID || len(ov.Professionals[0].Consents) != 1 {
		t.Fatalf("overview %+v %v", ov, err)
	}
	w.post("/espace/parametres/consentement", url.Values{"consentement": {ov.Professionals[0].Consents[0].ID}}, "/espace/parametres?fait=consentement")
	if _, _, err := w.svc.ReadDocument(recCtx, w.doctor, w.patient.ID, w.doc.ID); err == nil {
		t.Error("a professional reads after their consent was withdrawn")
	}

	// Emergency modes: bris de glace off, centre 15 kept.
	w.post("/espace/parametres/acces", url.Values{"centre15": {"oui"}}, "/espace/parametres?fait=acces")
	st, err := w.svc.Settings(recCtx, w.me(), w.patient.ID)
	if err != nil || st.BreakGlassAllowed || !st.RegulationAllowed || st.HideAll {
		t.Fatalf("settings %+v %v", st, err)
	}
	if _, _, err := w.svc.StartEmergency(recCtx, w.stranger, w.patient.ID, carnet.ModeBreakGlass, "malaise grave au cabinet"); err == nil {
		t.Error("bris de glace allowed after the patient switched it off")
	}
	body = w.page("/espace/parametres?fait=acces", http.StatusOK)
	if !strings.Contains(body, `name="centre15" value="oui" aria-describedby="centre15-aide" checked`) ||
		strings.Contains(body, `name="bris-de-glace" value="oui" aria-describedby="bris-de-glace-aide" checked`) {
		t.Error("the toggles do not show the settings")
	}

	// Notifications: emergencies cannot be silenced.
	w.post("/espace/parametres/notifications", url.Values{"acces": {"none"}, "actions": {"sms"}, "urgences": {"sms"}}, "/espace/parametres?fait=notifications")
	st, _ = w.svc.Settings(recCtx, w.me(), w.patient.ID)
	if st.NotifyAccess != "none" || st.NotifyAction != "sms" || st.NotifyEmergency != "sms" {
		t.Errorf("notifications %+v", st)
	}
	rec = w.do(http.MethodPost, "/espace/parametres/notifications", url.Values{"urgences": {"none"}}, false)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "urgences sont toujours notifiées") {
		t.Errorf("silenced emergencies: %d", rec.Code)
	}
	if body := w.page("/espace/parametres", http.StatusOK); strings.Contains(body, `id="notif-urgences-none"`) {
		t.Error("the page offers to silence emergencies")
	}

	// Administrator: a professional who accessed the record; not one who never did.
	w.post("/espace/parametres/administrateur", url.Values{"professionnel": {w.doctor.ID}}, "/espace/parametres?fait=administrateur")
	if st, _ = w.svc.Settings(recCtx, w.me(), w.patient.ID); st.AdministratorID != w.doctor.ID {
		t.Errorf("administrator %q", st.AdministratorID)
	}
	other, _, err := w.svc.UpsertProfessional(recCtx, recOperator, &carnet.Professional{RPPS: "10000000026", Profession: "70",
		FamilyName: "Bernard", GivenName: "Léa", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	rec = w.do(http.MethodPost, "/espace/parametres/administrateur", url.Values{"professionnel": {other.ID}}, false)
	if rec.Code != http.StatusForbidden {
		t.Errorf("an administrator who never accessed: %d", rec.Code)
	}
	if st, _ = w.svc.Settings(recCtx, w.me(), w.patient.ID); st.AdministratorID != w.doctor.ID {
		t.Errorf("administrator %q after a refusal", st.AdministratorID)
	}
}

func mustBlocks(t *testing.T, w *recWorld) []*carnet.Block {
	t.Helper()
	bs, err := w.svc.Blocks(recCtx, w.me(), w.patient.ID)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestRecordHistory(t *testing.T) {
	w := newRecWorld(t)
	w.post("/espace/volontes", url.Values{"don": {"refuses"}}, "/espace/volontes")
	if _, err := w.svc.Profile(recCtx, w.stranger, w.patient.ID, ""); err == nil {
		t.Fatal("a professional without consent reads the profile")
	}
	if _, _, err := w.svc.StartEmergency(recCtx, w.stranger, w.patient.ID, carnet.ModeBreakGlass, "malaise grave au cabinet"); err != nil {
		t.Fatal(err)
	}
	body := w.page("/espace/historique", http.StatusOK)
	others := recPart(t, body, "tableau-autres", "</table>")
	for _, want := range []string{"Dr Alex Lefèvre", "Médecin", "Consultation d&#39;un document", "Ajout d&#39;un document", "Normal",
		"Cabinet Lefèvre", "Document « Consultation cardiologie »", "Refusé</span> <span class=\"fr-text--xs\">Pas de consentement déclaré",
		`fr-badge--warning">Bris de glace (urgence)</span>`, "motif : malaise grave au cabinet"} {
		if !strings.Contains(others, want) {
			t.Errorf("others' events lack %s\n%s", want, others)
		}
	}
	if strings.Contains(others, "Marie Dupont") {
		t.Error("own actions among the others'")
	}
	own := recPart(t, body, "tableau-miennes", "</table>")
	if !strings.Contains(own, "Modification d&#39;Entourage et volontés") {
		t.Errorf("own actions:\n%s", own)
	}
	for _, want := range []string{`<option value="` + w.doctor.ID + `">Dr Alex Lefèvre</option>`, `<option value="document.read">`,
		`href="/espace/historique/export.csv"`, `href="/espace/historique/export.json"`} {
		if !strings.Contains(body, want) {
			t.Errorf("history page lacks %s", want)
		}
	}

	// Filters: a person and an action, then a period without events.
	q := "?personne=" + url.QueryEscape(w.doctor.ID) + "&action=document.read"
	body = w.page("/espace/historique"+q, http.StatusOK)
	others = recPart(t, body, "tableau-autres", "</table>")
	if !strings.Contains(others, "Consultation d&#39;un document") || strings.Contains(others, "Ajout d&#39;un document") ||
		!strings.Contains(others, "<caption>1 événement,") {
		t.Errorf("filtered:\n%s", others)
	}
	if !strings.Contains(body, `<option value="document.read" selected>`) || !strings.Contains(body, `href="/espace/historique/export.csv?action=document.read&amp;personne=`) {
		t.Error("the filters are not kept in the form and the export links")
	}
	body = w.page("/espace/historique?du=2000-01-01&au=2000-12-31", http.StatusOK)
	if !strings.Contains(body, "Aucune activité pour ces critères") {
		t.Error("a period without events shows events")
	}
	w.page("/espace/historique?du=demain", http.StatusBadRequest)

	// Exports, as downloads.
	rec := w.do(http.MethodGet, "/espace/historique/export.csv"+q, nil, false)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment; filename=historique-carnet-") {
		t.Fatalf("CSV: %d %v", rec.Code, rec.Header())
	}
	lines := strings.Split(strings.TrimPrefix(rec.Body.String(), "\ufeff"), "\r\n")
	if lines[0] != "Date;Qui;Profession;Structure;Action;Cible;Mode;Décision;Motif" || len(lines) != 3 || !strings.Contains(lines[1], "Dr Alex Lefèvre") {
		t.Errorf("CSV:\n%s", rec.Body.String())
	}
	rec = w.do(http.MethodGet, "/espace/historique/export.json", nil, false)
	var b struct {
		ResourceType, Type string
		Entry              []struct{ Resource struct{ ResourceType string } }
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/fhir+json" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") {
		t.Fatalf("FHIR: %d %v", rec.Code, rec.Header())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" ||
		len(b.Entry) == 0 || b.Entry[0].Resource.ResourceType != "AuditEvent" {
		t.Errorf("FHIR export: %v %+v", err, b)
	}
	// The notifications' link leads to the history.
	if rec := w.do(http.MethodGet, "/historique", nil, false); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/espace/historique" {
		t.Errorf("/historique: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

// TestRecordExportStreamed: the FHIR export is written as it is read, documents one at a time;
// a document that cannot be read once the answer has begun cuts the download, which then fails
// rather than ending as a valid file that lacks the document.
func TestRecordExportStreamed(t *testing.T) {
	w := newRecWorld(t)
	srv := httptest.NewUnstartedServer(w.h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the aborted answer is expected
	srv.StartTLS()
	defer srv.Close()
	get := func() ([]byte, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/espace/export", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-carnet", Value: w.token})
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != "" {
			t.Errorf("export: %d, Content-Length %q (a stream has none)", resp.StatusCode, resp.Header.Get("Content-Length"))
		}
		return io.ReadAll(resp.Body)
	}
	b, err := get()
	if err != nil || !json.Valid(b) || !bytes.Contains(b, []byte(`"resourceType":"DocumentReference"`)) {
		t.Fatalf("export: %v, valid JSON %v: %.300s", err, json.Valid(b), b)
	}

	// The document's stored content is damaged: the export has begun (the patient's identity is
	// written first, though still in the server's buffer here) when its read fails.
	d, err := w.svc.DocumentInfo(recCtx, w.me(), w.patient.ID, w.doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "blobs", d.BlobKey), []byte("not what was sealed"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = get()
	if err == nil || json.Valid(b) {
		t.Fatalf("damaged document: the download ended normally (%v, valid JSON %v): %.300s", err, json.Valid(b), b)
	}
}

func TestRecordExport(t *testing.T) {
	w := newRecWorld(t)
	w.post("/espace/profil", url.Values{"rubrique": {"allergy"}, "libelle": {"Pénicilline"}, "date": {"2025-03-01"}}, "/espace/profil")
	w.post("/espace/profil", url.Values{"rubrique": {"vaccination"}, "libelle": {"DTP rappel"}, "date": {"2025-03-01"}}, "/espace/profil")
	w.post("/espace/profil", url.Values{"rubrique": {"measure"}, "mesure": {"29463-7"}, "valeur": {"72"}, "date": {"2025-03-01"}}, "/espace/profil")
	w.post("/espace/volontes", url.Values{"confiance-nom": {"Paul Dupont"}, "don": {"refuses"}}, "/espace/volontes")

	rec := w.do(http.MethodGet, "/espace/export", nil, false)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/fhir+json" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment; filename=carnet-mon-espace-sante-") ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v", rec.Code, rec.Header())
	}
	var b struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string
			Resource struct {
				ResourceType, ID string
				Content          []struct {
					Attachment struct{ Data, ContentType string }
				}
				Identifier []struct{ Value string }
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "collection" {
		t.Fatalf("bundle: %v %s", err, rec.Body.String())
	}
	types := map[string]int{}
	for _, e := range b.Entry {
		r := e.Resource
		types[r.ResourceType]++
		if e.FullURL != "https://carnet.example/fhir/"+r.ResourceType+"/"+r.ID {
			t.Errorf("fullUrl %s", e.FullURL)
		}
		switch r.ResourceType {
		case "Patient":
			if r.ID != w.patient.ID || len(r.Identifier) == 0 || r.Identifier[0].Value != w.patient.NIR {
				t.Errorf("patient %+v", r)
			}
		case "DocumentReference":
			data, err := base64.StdEncoding.DecodeString(r.Content[0].Attachment.Data)
			if err != nil || r.ID != w.doc.ID || string(data) != "Tension 13/8, poursuivre le traitement." {
				t.Errorf("document %s: %q %v", r.ID, data, err)
			}
		}
	}
	for typ, n := range map[string]int{"Patient": 1, "DocumentReference": 1, "AllergyIntolerance": 1, "Immunization": 1,
		"Observation": 1, "RelatedPerson": 1, "Consent": 1} {
		if types[typ] != n {
			t.Errorf("%d %s, want %d (%v)", types[typ], typ, n, types)
		}
	}
	if types["AuditEvent"] < 5 {
		t.Errorf("%d AuditEvent", types["AuditEvent"])
	}
	// Each read of the export is in the history, as any other read.
	evs, err := w.svc.History(recCtx, w.me(), w.patient.ID, carnet.AuditFilter{ActorID: w.patient.ID, Action: "document.read"})
	if err != nil || len(evs) != 1 {
		t.Errorf("the export's document read recorded %d times: %v", len(evs), err)
	}

	rec = w.do(http.MethodGet, "/espace/export.pdf", nil, false)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment; filename=carnet-mon-espace-sante-") ||
		!bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF")) {
		t.Fatalf("PDF: %d %v %q", rec.Code, rec.Header(), rec.Body.Bytes()[:min(8, rec.Body.Len())])
	}
	if body := w.page("/espace/parametres", http.StatusOK); !strings.Contains(body, `href="/espace/export.pdf"`) || !strings.Contains(body, `href="/espace/export"`) {
		t.Error("the settings page does not link the exports")
	}
}

func TestRecordPDF(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	x := &recordExport{
		Patient: &carnet.Patient{ID: "p", BirthName: "DUPONT", GivenNames: "Marie", Sex: carnet.SexFemale, BirthDate: time.Date(1985, 4, 12, 0, 0, 0, 0, time.UTC)},
		Docs:    []*carnet.Document{{ID: "d", TypeCode: "11488-4", Title: "Consultation – cœur", ServiceDate: now, AuthorName: "Dr Lefèvre"}},
		Profile: []*carnet.ProfileEntry{{Kind: carnet.ProfileMeasure, Code: "29463-7", Label: "Poids", Value: 72.5, Date: now},
			{Kind: carnet.ProfileAllergy, Label: "Pénicilline ✓", Date: now}},
		Wishes:  &carnet.Wishes{TrustedPerson: &carnet.Contact{Name: "Paul"}, AdvanceDirectives: "Pas d’acharnement."},
		History: []*carnet.AuditEvent{{Time: now, ActorKind: carnet.ActorProfessional, ActorName: "Dr Lefèvre", ActorProfession: "10", Action: "document.read", Mode: carnet.ModeBreakGlass, Decision: carnet.DecisionAllow}},
	}
	b, err := recPDF(x, now)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b, []byte("%%EOF")) {
		t.Fatalf("PDF: %v %q", err, b[:min(len(b), 16)])
	}
}

func TestRecordChildren(t *testing.T) {
	w := newRecWorld(t)
	body := w.page("/espace/enfants", http.StatusOK)
	for _, want := range []string{"Léo DUPONT", `href="/espace/enfants/` + w.child.ID + `"`, `href="/espace/enfants/` + w.child.ID + `/fermeture"`,
		"Hugo DUPONT", "gère désormais son espace santé"} {
		if !strings.Contains(body, want) {
			t.Errorf("children page lacks %s", want)
		}
	}
	if strings.Contains(body, `href="/espace/enfants/`+w.grown.ID+`"`) {
		t.Error("a link to the space of a child beyond the hand-over age")
	}

	// The parent edits the child's profile and settings as their representative.
	base := "/espace/enfants/" + w.child.ID
	body = w.page(base+"/profil", http.StatusOK)
	if !strings.Contains(body, "Profil médical de Léo DUPONT") || !strings.Contains(body, `action="`+base+`/profil"`) ||
		!strings.Contains(body, "en tant que représentant légal") {
		t.Errorf("child's profile page:\n%s", body)
	}
	w.post(base+"/profil", url.Values{"rubrique": {"vaccination"}, "libelle": {"ROR"}, "date": {"2025-01-10"}}, base+"/profil?fait=vaccination")
	rep, err := w.svc.ActFor(recCtx, w.me(), w.child.ID)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := w.svc.Profile(recCtx, rep, w.child.ID, "")
	if err != nil || len(entries) != 1 || entries[0].Label != "ROR" {
		t.Errorf("child's profile %v %v", entries, err)
	}
	if own, _ := w.svc.Profile(recCtx, w.me(), w.patient.ID, ""); len(own) != 0 {
		t.Error("the child's entry went to the parent's profile")
	}
	w.post(base+"/parametres/acces", url.Values{"centre15": {"oui"}, "bris-de-glace": {"oui"}, "tout-masquer": {"oui"}}, base+"/parametres?fait=acces")
	if st, err := w.svc.Settings(recCtx, rep, w.child.ID); err != nil || !st.HideAll {
		t.Errorf("child's settings %+v %v", st, err)
	}
	for _, p := range []string{"/volontes", "/parametres", "/historique"} {
		w.page(base+p, http.StatusOK)
	}
	if rec := w.do(http.MethodGet, base+"/export.pdf", nil, false); rec.Code != http.StatusOK || !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF")) {
		t.Errorf("child's PDF: %d", rec.Code)
	}
	// Beyond the hand-over age, the parent no longer acts for the child.
	w.page("/espace/enfants/"+w.grown.ID+"/profil", http.StatusForbidden)
	if rec := w.do(http.MethodPost, "/espace/enfants/"+w.grown.ID+"/profil", url.Values{"rubrique": {"vaccination"}, "libelle": {"ROR"},
		"date": {"2025-01-10"}}, false); rec.Code != http.StatusForbidden {
		t.Errorf("post to a grown-up child's profile: %d", rec.Code)
	}
}

func TestRecordPostsNeedCSRF(t *testing.T) {
	w := newRecWorld(t)
	posts := []struct {
		path string
		form url.Values
	}{
		{"/espace/profil", url.Values{"rubrique": {"allergy"}, "libelle": {"Pénicilline"}, "date": {"2025-03-01"}}},
		{"/espace/volontes", url.Values{"confiance-nom": {"Paul Dupont"}, "don": {"refuses"}}},
		{"/espace/parametres/blocage", url.Values{"professionnel": {w.doctor.ID}}},
		{"/espace/parametres/acces", url.Values{}},
		{"/espace/parametres/notifications", url.Values{"acces": {"none"}}},
		{"/espace/parametres/administrateur", url.Values{"professionnel": {w.doctor.ID}}},
		{"/espace/enfants/" + w.child.ID + "/profil", url.Values{"rubrique": {"allergy"}, "libelle": {"Arachide"}, "date": {"2025-03-01"}}},
	}
	for _, p := range posts {
		for _, csrf := range []string{"", "faux"} {
			f := url.Values{}
			for k, v := range p.form {
				f[k] = v
			}
			if csrf != "" {
				f.Set("csrf", csrf)
			}
			if rec := w.do(http.MethodPost, p.path, f, true); rec.Code != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: %d", p.path, csrf, rec.Code)
			}
		}
	}
	// From another site, even with the token.
	r := httptest.NewRequest(http.MethodPost, "https://carnet.example/espace/parametres/acces",
		strings.NewReader(url.Values{"csrf": {w.svc.CSRFFor(w.token)}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(&http.Cookie{Name: "__Host-carnet", Value: w.token})
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", rec.Code)
	}

	if got, _ := w.svc.Profile(recCtx, w.me(), w.patient.ID, ""); len(got) != 0 {
		t.Errorf("profile changed: %v", got)
	}
	if wi, _ := w.svc.Wishes(recCtx, w.me(), w.patient.ID); wi.TrustedPerson != nil || wi.OrganDonation != "" {
		t.Errorf("wishes changed: %+v", wi)
	}
	if len(mustBlocks(t, w)) != 0 {
		t.Error("a block was created")
	}
	st, _ := w.svc.Settings(recCtx, w.me(), w.patient.ID)
	if def := carnet.DefaultSettings(w.patient.ID); st.BreakGlassAllowed != def.BreakGlassAllowed || st.RegulationAllowed != def.RegulationAllowed ||
		st.NotifyAccess != def.NotifyAccess || st.AdministratorID != "" {
		t.Errorf("settings changed: %+v", st)
	}
	rep, _ := w.svc.ActFor(recCtx, w.me(), w.child.ID)
	if got, _ := w.svc.Profile(recCtx, rep, w.child.ID, ""); len(got) != 0 {
		t.Errorf("child's profile changed: %v", got)
	}
}

// TestRecordPagesInBrowser shows the pages in Chromium: axe-core finds no serious violation,
// nothing breaks the CSP, and a form works without JavaScript.
func TestRecordPagesInBrowser(t *testing.T) {
	w := newRecWorld(t)
	for _, m := range []url.Values{
		{"rubrique": {"measure"}, "mesure": {"29463-7"}, "valeur": {"72,5"}, "date": {"2025-01-10"}},
		{"rubrique": {"measure"}, "mesure": {"29463-7"}, "valeur": {"70,1"}, "date": {"2025-04-10"}},
		{"rubrique": {"measure"}, "mesure": {"29463-7"}, "valeur": {"71"}, "date": {"2025-06-02"}},
		{"rubrique": {"treatment"}, "libelle": {"Ventoline 2 bouffées"}, "date": {"2025-01-10"}, "notes": {"si besoin"}},
	} {
		w.post("/espace/profil", m, "/espace/profil")
	}
	site, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Plain HTTP on the loopback address, so without Secure (the cookie is then "carnet").
	srv := httptest.NewServer(NewApp(site, w.svc, AppOptions{}).Handler())
	t.Cleanup(srv.Close)
	browser := browsertest.Start(t)
	httpOnly := true
	signIn := func(ctx context.Context) {
		t.Helper()
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "carnet", Value: w.token, URL: srv.URL + "/",
			Path: "/", HTTPOnly: &httpOnly}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	signIn(ctx)
	for _, p := range []string{"/espace/profil", "/espace/volontes", "/espace/parametres", "/espace/historique", "/espace/enfants",
		"/espace/enfants/" + w.child.ID + "/parametres"} {
		t.Run(strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "_"), func(t *testing.T) {
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+p))
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("%s: %v %v", p, resp, err)
			}
			browsertest.Axe(ctx, t)
			browsertest.NoConsoleErrors(ctx, t)
			if err := browsertest.Screenshot(ctx, filepath.Join(t.ArtifactDir(), "page.png")); err != nil {
				t.Error(err)
			}
		})
	}

	// Without JavaScript, the add form of a section works.
	tab := browsertest.NewTab(t, browser, browsertest.WithoutJavaScript())
	tctx, tcancel := context.WithTimeout(tab, 30*time.Second)
	defer tcancel()
	signIn(tctx)
	err = chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/espace/profil"),
		chromedp.SendKeys(chromedp.CSS("#allergy-libelle"), "Pollen de bouleau"),
		chromedp.SetValue(chromedp.CSS("#allergy-date"), "2024-04-01"),
		chromedp.Submit(chromedp.CSS("#allergy-libelle")),
		chromedp.WaitVisible(chromedp.CSS("#rubrique-allergy .fr-alert--success")),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#tableau-allergy")))
	if err != nil || !strings.Contains(text, "Pollen de bouleau") {
		t.Errorf("after the post without JavaScript: %q %v", text, err)
	}
}
