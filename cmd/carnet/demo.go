package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/service"
)

// nirWithKey appends the control key to a 13-character NIR body.
func nirWithKey(body string) string {
	k, err := carnet.NIRKey(body)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%02d", body, k)
}

// rppsWithLuhn completes a 10-digit RPPS prefix with its Luhn digit.
func rppsWithLuhn(prefix string) string {
	for d := 0; d < 10; d++ {
		if s := prefix + strconv.Itoa(d); carnet.RPPSLuhnValid(s) {
			return s
		}
	}
	panic("no Luhn digit")
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// demoPDF is a tiny but well-formed one-page PDF.
func demoPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 14 Tf 72 720 Td (%s) Tj ET", strings.NewReplacer("(", "", ")", "", "\\", "").Replace(text))
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}

// DemoMarieNIR is the NIR of the demo's main patient.
var DemoMarieNIR = nirWithKey("2850375056123")

// loadDemo fills an empty Carnet with a small, realistic world: patients with valid NIRs (one
// born in Corsica, one minor), professionals of several professions, consents, documents of
// several types, a medical profile and wishes. Everything goes through the service, as any
// other client would. It does nothing if the demo world is already there.
func loadDemo(ctx context.Context, svc *service.Service, st carnet.Store, log *slog.Logger) error {
	op := carnet.Actor{Kind: carnet.ActorOperator, ID: "demo", Name: "Assurance Maladie (démonstration)"}
	if _, err := svc.PatientByNIR(ctx, op, DemoMarieNIR); err == nil {
		log.Info("demo world already loaded")
		return nil
	} else if carnet.ErrorCode(err) != carnet.ENOTFOUND {
		return err
	}
	pros := map[string]*carnet.Professional{}
	for _, p := range []struct {
		key, prefix, profession, specialty, civility, family, given, structID, structName string
	}{
		{"generaliste", "1000123456", "10", "SM54", "Dr", "Lefèvre", "Claire", "750012345", "Cabinet médical des Lilas"},
		{"radiologue", "1000234567", "10", "SM44", "Dr", "Moreau", "Paul", "750023456", "Centre d'imagerie Voltaire"},
		{"kine", "1000345678", "70", "", "Mme", "Bernard", "Sophie", "750034567", "Cabinet de kinésithérapie du Parc"},
		{"pharmacien", "1000456789", "21", "", "M.", "Petit", "Julien", "750045678", "Pharmacie de la Gare"},
		{"infirmiere", "1000567890", "60", "", "Mme", "Roux", "Nadia", "750056789", "Soins infirmiers Roux"},
		{"regulateur", "1000678901", "10", "SM53", "Dr", "Garnier", "Hugo", "750067890", "SAMU de Paris"},
	} {
		pro, _, err := svc.UpsertProfessional(ctx, op, &carnet.Professional{
			RPPS: rppsWithLuhn(p.prefix), Profession: carnet.Profession(p.profession), Specialty: p.specialty,
			Civility: p.civility, FamilyName: p.family, GivenName: p.given, StructureID: p.structID, StructureName: p.structName, Active: true,
		})
		if err != nil {
			return fmt.Errorf("professionnel %s : %w", p.family, err)
		}
		pros[p.key] = pro
	}
	marie, err := svc.CreatePatient(ctx, op, &carnet.Patient{NIR: DemoMarieNIR, BirthName: "DUPONT", GivenNames: "Marie Louise",
		Sex: carnet.SexFemale, BirthDate: day("1985-03-14"), BirthPlace: "75056", Email: "marie.dupont@example.org",
		Mobile: "+33612345678", Status: carnet.PatientActive})
	if err != nil {
		return err
	}
	others := []*carnet.Patient{
		{NIR: nirWithKey("1521169123045"), BirthName: "MARTIN", GivenNames: "Jean", Sex: carnet.SexMale, BirthDate: day("1952-11-02"),
			BirthPlace: "69123", Email: "jean.martin@example.org", Status: carnet.PatientActive},
		{NIR: nirWithKey("290012A004015"), BirthName: "BENALI", GivenNames: "Amina", Sex: carnet.SexFemale, BirthDate: day("1990-01-30"),
			BirthPlace: "2A004", Mobile: "+33698765432", Status: carnet.PatientEnrolled},
		{NIR: nirWithKey("1150675056201"), BirthName: "DUPONT", GivenNames: "Lucas", Sex: carnet.SexMale, BirthDate: day("2015-06-20"),
			BirthPlace: "75056", RightsHolderID: marie.ID, Status: carnet.PatientActive},
	}
	var jean *carnet.Patient
	for i, p := range others {
		created, err := svc.CreatePatient(ctx, op, p)
		if err != nil {
			return err
		}
		if i == 0 {
			jean = created
		}
	}
	docs := []struct {
		pro, typ, title, date, media string
		patient                      *carnet.Patient
		hidden                       bool
	}{
		{"generaliste", "11488-4", "Consultation de suivi — hypertension", "2026-09-12", "application/pdf", marie, false},
		{"generaliste", "11502-2", "Bilan sanguin annuel", "2026-09-20", "text/plain", marie, false},
		{"radiologue", "18748-4", "Radiographie du genou droit", "2026-10-03", "application/pdf", marie, false},
		{"generaliste", "PRESC-KINE", "Prescription de 10 séances de kinésithérapie", "2026-10-05", "text/plain", marie, false},
		{"generaliste", "11369-6", "Historique des vaccinations", "2026-10-05", "text/plain", marie, false},
		{"generaliste", "11526-1", "Compte rendu d'anatomo-pathologie", "2026-08-01", "text/plain", marie, true},
		{"generaliste", "11490-0", "Lettre de liaison — sortie de cardiologie", "2026-07-15", "application/pdf", jean, false},
	}
	consented := map[string]bool{}
	for _, d := range docs {
		pro := pros[d.pro]
		actor := service.ActorFor(pro)
		if k := pro.ID + d.patient.ID; !consented[k] {
			if _, err := svc.DeclareConsent(ctx, actor, d.patient.ID, carnet.ConsentOral, "", nil); err != nil {
				return fmt.Errorf("consentement : %w", err)
			}
			consented[k] = true
		}
		body := []byte(fmt.Sprintf("%s\nPatient : %s\nAuteur : %s\nDate : %s\n\nDocument de démonstration de Carnet.\n",
			d.title, d.patient.DisplayName(), pro.DisplayName(), d.date))
		if d.media == "application/pdf" {
			body = demoPDF(d.title)
		}
		if _, err := svc.DepositDocument(ctx, actor, d.patient.ID, service.NewDocument{TypeCode: d.typ, Title: d.title,
			MediaType: d.media, ServiceDate: day(d.date), Body: strings.NewReader(string(body)), HiddenFromProfessionals: d.hidden}); err != nil {
			return fmt.Errorf("document %q : %w", d.title, err)
		}
	}
	self := service.PatientActor(marie)
	if _, err := svc.DepositDocument(ctx, self, marie.ID, service.NewDocument{TypeCode: "DOCPAT01", Title: "Mes notes de santé",
		MediaType: "text/plain", ServiceDate: day("2026-10-10"), Body: strings.NewReader("Penser à refaire le rappel DTP en 2030.\n")}); err != nil {
		return fmt.Errorf("document du patient : %w", err)
	}
	entries := []carnet.ProfileEntry{
		{Kind: carnet.ProfileAllergy, Label: "Allergie à la pénicilline", Date: day("2004-05-01")},
		{Kind: carnet.ProfileCondition, Label: "Hypertension artérielle", Date: day("2021-02-10")},
		{Kind: carnet.ProfileFamilyHistory, Label: "Diabète de type 2 (père)", Date: day("2010-01-01")},
		{Kind: carnet.ProfileTreatment, Label: "Amlodipine 5 mg, 1 comprimé le matin", Date: day("2021-02-10")},
		{Kind: carnet.ProfileMeasure, Code: "29463-7", Label: "Poids", Value: 64.5, Date: day("2026-06-01")},
		{Kind: carnet.ProfileMeasure, Code: "29463-7", Label: "Poids", Value: 63.8, Date: day("2026-09-12")},
		{Kind: carnet.ProfileMeasure, Code: "8480-6", Label: "Tension systolique", Value: 132, Date: day("2026-09-12")},
	}
	for i := range entries {
		if _, err := svc.AddProfileEntry(ctx, self, marie.ID, &entries[i]); err != nil {
			return fmt.Errorf("profil médical : %w", err)
		}
	}
	vacc := carnet.ProfileEntry{Kind: carnet.ProfileVaccination, Label: "Grippe saisonnière 2026-2027", Date: day("2026-10-20")}
	if _, err := svc.AddProfileEntry(ctx, service.ActorFor(pros["pharmacien"]), marie.ID, &vacc); err != nil {
		// The pharmacist needs a consent first, as any professional.
		if _, cerr := svc.DeclareConsent(ctx, service.ActorFor(pros["pharmacien"]), marie.ID, carnet.ConsentOral, "", nil); cerr != nil {
			return cerr
		}
		if _, err := svc.AddProfileEntry(ctx, service.ActorFor(pros["pharmacien"]), marie.ID, &vacc); err != nil {
			return fmt.Errorf("vaccination : %w", err)
		}
	}
	if err := svc.PutWishes(ctx, self, marie.ID, &carnet.Wishes{
		TrustedPerson: &carnet.Contact{Name: "Paul Dupont", Relation: "conjoint", Phone: "+33611223344"},
		OrganDonation: carnet.OrganDonationAccepts,
	}); err != nil {
		return fmt.Errorf("entourage et volontés : %w", err)
	}
	if err := demoAccount(ctx, svc, st, op, marie); err != nil {
		return fmt.Errorf("compte de démonstration : %w", err)
	}
	log.Info("demo world loaded", "patients", 1+len(others), "professionals", len(pros), "documents", len(docs)+1, "jean", jean.ID != "")
	return nil
}

// loadSynthetic adds n synthetic patients (valid NIRs) to the demo world, each with a consent
// of the demo's médecin généraliste and one document of hers, so that a load test spreads over
// many records as a real service does. It does nothing for patients already there.
func loadSynthetic(ctx context.Context, svc *service.Service, n int) error {
	op := carnet.Actor{Kind: carnet.ActorOperator, ID: "demo", Name: "Assurance Maladie (démonstration)"}
	pro, err := svc.ProfessionalByRPPS(ctx, rppsWithLuhn("1000123456"))
	if err != nil {
		return err
	}
	doctor := service.ActorFor(pro)
	for i := 0; i < n; i++ {
		nir := nirWithKey(fmt.Sprintf("1800175%03d%03d", 100+i/1000, i%1000))
		if _, err := svc.PatientByNIR(ctx, op, nir); err == nil {
			continue
		}
		p, err := svc.CreatePatient(ctx, op, &carnet.Patient{NIR: nir, BirthName: fmt.Sprintf("SYNTHETIQUE%d", i), GivenNames: "Patient",
			Sex: carnet.SexMale, BirthDate: day("1980-01-15"), Status: carnet.PatientActive})
		if err != nil {
			return err
		}
		if _, err := svc.DeclareConsent(ctx, doctor, p.ID, carnet.ConsentOral, "", nil); err != nil {
			return err
		}
		if _, err := svc.DepositDocument(ctx, doctor, p.ID, service.NewDocument{TypeCode: "11488-4", Title: "Consultation",
			MediaType: "text/plain", ServiceDate: day("2026-10-01"), Body: strings.NewReader("Consultation de synthèse.\n")}); err != nil {
			return err
		}
	}
	return nil
}

// Demo sign-in of Marie Dupont (printed by `make run`): a real activation, with the codes
// read from the outbox as Marie would read them from her mail.
const (
	DemoLogin    = "marie.demo"
	DemoPassword = "Cerisier-Lumineux-47"
	demoVitale   = "123456789012"
)

func demoAccount(ctx context.Context, svc *service.Service, st carnet.Store, op carnet.Actor, marie *carnet.Patient) error {
	if err := svc.IssueCode(ctx, op, marie.ID, demoVitale); err != nil {
		return err
	}
	code, err := lastCode(ctx, svc, st, marie.ID, "activation_code")
	if err != nil {
		return err
	}
	c := service.Client{Address: "127.0.0.1"}
	tok, err := svc.BeginActivation(ctx, service.ActivationCheck{NIR: marie.NIR, Code: code, VitaleSerial: demoVitale}, c)
	if err != nil {
		return err
	}
	if err := svc.SetCredentials(ctx, tok, service.Credentials{Login: DemoLogin, Password: DemoPassword, Channel: "email", Contact: marie.Email}); err != nil {
		return err
	}
	otp, err := lastCode(ctx, svc, st, marie.ID, "one_time_code")
	if err != nil {
		return err
	}
	if err := svc.ConfirmContact(ctx, tok, otp, c); err != nil {
		return err
	}
	return svc.Logout(ctx, tok)
}

// lastCode reveals the code of the latest pending message of a kind for a patient.
func lastCode(ctx context.Context, svc *service.Service, st carnet.Store, patientID, kind string) (string, error) {
	var msgs []*carnet.OutboxMessage
	if err := st.View(ctx, func(tx carnet.Tx) error {
		var err error
		msgs, err = tx.ListOutbox(ctx, patientID)
		return err
	}); err != nil {
		return "", err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Kind == kind && len(m.Secret) > 0 {
			return svc.RevealSecret(m)
		}
	}
	return "", carnet.Errorf(carnet.ENOTFOUND, "aucun code %s en attente", kind)
}
