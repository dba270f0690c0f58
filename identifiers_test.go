package carnet

import (
	"strings"
	"testing"
	"time"
)

func TestNIRKey(t *testing.T) {
	cases := []struct {
		body string
		key  int
	}{
		{"2550814168025", 38}, // DOMAIN.md's example
		{"1521169123045", 0},  // computed below, checked against the formula
	}
	k, err := NIRKey(cases[0].body)
	if err != nil || k != 38 {
		t.Fatalf("NIRKey(%s) = %d, %v; want 38", cases[0].body, k, err)
	}
	// Corsica: 2A → 19, 2B → 18 in the number.
	a, _ := NIRKey("290012A004015")
	b, _ := NIRKey("2900119004015")
	if a != b {
		t.Errorf("2A key %d differs from its 19 substitute %d", a, b)
	}
	c, _ := NIRKey("290012B004015")
	d, _ := NIRKey("2900118004015")
	if c != d || c == a {
		t.Errorf("2B key %d, 18 substitute %d, 2A key %d", c, d, a)
	}
	if _, err := NIRKey("12345"); err == nil {
		t.Error("short body accepted")
	}
}

func TestValidateNIR(t *testing.T) {
	good := []string{"255081416802538", "2 55 08 14 168 025 38", "2-55-08-14-168-025-38"}
	for _, n := range good {
		if err := ValidateNIR(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	k, _ := NIRKey("290012A004015")
	corsican := "290012A004015" + twoDigits(k)
	if err := ValidateNIR(corsican); err != nil {
		t.Errorf("Corsican NIR %s: %v", corsican, err)
	}
	if err := ValidateNIR(strings.ToLower(corsican)); err != nil {
		t.Errorf("lower-case Corsican NIR: %v", err)
	}
	bad := map[string]string{
		"255081416802539":  "clé",
		"25508141680253":   "15 caractères",
		"2550814168025380": "15 caractères",
		"255081416802X38":  "chiffres",
		"555081416802538":  "premier chiffre",
		"255131416802538":  "mois",
		"2550814168025AB":  "clé",
		"":                 "15 caractères",
	}
	for n, want := range bad {
		err := ValidateNIR(n)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%q: %v (want a message naming %q)", n, err, want)
		}
	}
}

func twoDigits(k int) string { return string(rune('0'+k/10)) + string(rune('0'+k%10)) }

func TestRPPS(t *testing.T) {
	if err := ValidateRPPS("10001234567"); err != nil {
		t.Error(err)
	}
	if err := ValidateRPPS("810001234567"); err != nil {
		t.Errorf("idNat_PS form: %v", err)
	}
	for _, bad := range []string{"1000123456", "100012345678", "1000123456A", ""} {
		if ErrorCode(ValidateRPPS(bad)) != EINVALID {
			t.Errorf("%q accepted", bad)
		}
	}
	// Luhn: exactly one last digit completes a prefix.
	valid := 0
	for d := '0'; d <= '9'; d++ {
		if RPPSLuhnValid("1000123456" + string(d)) {
			valid++
		}
	}
	if valid != 1 {
		t.Errorf("%d Luhn-valid completions", valid)
	}
	if RPPSLuhnValid("79927398713") != true || RPPSLuhnValid("79927398710") {
		t.Error("Luhn reference number")
	}
	if IDNatPS("10001234567") != "810001234567" {
		t.Error("IDNatPS")
	}
}

func TestPatientValidate(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	ok := func() *Patient {
		return &Patient{NIR: "255081416802538", BirthName: "DUPONT", GivenNames: "Marie", Sex: SexFemale,
			BirthDate: time.Date(1955, 8, 1, 0, 0, 0, 0, time.UTC), Email: "marie@example.org", Mobile: "+33612345678"}
	}
	if err := ok().Validate(now); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(p *Patient){
		"sexe ne correspond":    func(p *Patient) { p.Sex = SexMale },
		"année de naissance":    func(p *Patient) { p.BirthDate = time.Date(1956, 8, 1, 0, 0, 0, 0, time.UTC) },
		"mois de naissance":     func(p *Patient) { p.BirthDate = time.Date(1955, 9, 1, 0, 0, 0, 0, time.UTC) },
		"nom de naissance":      func(p *Patient) { p.BirthName = "" },
		"prénoms":               func(p *Patient) { p.GivenNames = " " },
		"adresse électronique":  func(p *Patient) { p.Email = "pas-une-adresse" },
		"mobile":                func(p *Patient) { p.Mobile = "0612345678" },
		"futur":                 func(p *Patient) { p.BirthDate = now.AddDate(1, 0, 0); p.NIR = ""; p.NIRIndex = []byte{1} },
		"NIR invalide":          func(p *Patient) { p.NIR = "255081416802539" },
		"caractère de contrôle": func(p *Patient) { p.BirthName = "DU\nPONT" },
		"OID":                   func(p *Patient) { p.INSOID = "1.2.3" },
	}
	for want, mutate := range cases {
		p := ok()
		mutate(p)
		err := p.Validate(now)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	// All problems are reported at once.
	p := ok()
	p.BirthName, p.Email = "", "x"
	if msg := ErrorMessage(p.Validate(now)); !strings.Contains(msg, "nom de naissance") || !strings.Contains(msg, "adresse") {
		t.Errorf("not every problem reported: %s", msg)
	}
	if NormalizeMobile("06 12 34 56 78") != "+33612345678" {
		t.Error("NormalizeMobile")
	}
	if p := ok(); p.AgeOn(time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)) != 70 || p.AgeOn(time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)) != 71 {
		t.Error("AgeOn")
	}
}

func TestDocumentValidate(t *testing.T) {
	ok := func() *Document {
		return &Document{PatientID: "p", TypeCode: "18748-4", Title: "Radio", AuthorKind: AuthorProfessional,
			MediaType: "image/png", Size: 10, ContentHash: make([]byte, 32)}
	}
	d := ok()
	if err := d.Validate(); err != nil || d.Class != "31" {
		t.Fatalf("%v %q", err, d.Class)
	}
	cases := map[string]func(d *Document){
		"type de document inconnu": func(d *Document) { d.TypeCode = "0000-0" },
		"titre manquant":           func(d *Document) { d.Title = "" },
		"à la fois":                func(d *Document) { d.HiddenFromPatient, d.HiddenFromProfessionals = true, true },
		"format":                   func(d *Document) { d.MediaType = "application/zip" },
		"contenu vide":             func(d *Document) { d.Size = 0 },
		"empreinte":                func(d *Document) { d.ContentHash = nil },
		"auteur":                   func(d *Document) { d.AuthorKind = "" },
	}
	for want, mutate := range cases {
		d := ok()
		mutate(d)
		if err := d.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	for _, dt := range DocTypes() {
		if !dt.Class.Valid() {
			t.Errorf("type %s has unknown class %s", dt.Code, dt.Class)
		}
	}
}

func TestCheckContent(t *testing.T) {
	good := map[string]string{
		"application/pdf": "%PDF-1.4\n...",
		"image/png":       "\x89PNG\r\n\x1a\n....",
		"image/jpeg":      "\xff\xd8\xff\xe0....",
		"text/xml":        "\xef\xbb\xbf <?xml version=\"1.0\"?><ClinicalDocument/>",
		"text/plain":      "Bonjour, ça va ?",
	}
	for mt, body := range good {
		if err := CheckContent(mt, []byte(body)); err != nil {
			t.Errorf("%s: %v", mt, err)
		}
	}
	bad := map[string]string{
		"application/pdf": "<html>",
		"image/png":       "%PDF-",
		"image/jpeg":      "GIF89a",
		"text/xml":        "pas du xml",
		"text/plain":      "bin\x00aire",
		"video/mp4":       "....",
	}
	for mt, body := range bad {
		if err := CheckContent(mt, []byte(body)); ErrorCode(err) != EINVALID {
			t.Errorf("%s accepted %q", mt, body)
		}
	}
	if err := CheckContent("text/plain", nil); ErrorCode(err) != EINVALID {
		t.Error("empty body accepted")
	}
}

func TestProfileEntryValidate(t *testing.T) {
	now := time.Now()
	e := &ProfileEntry{PatientID: "p", Kind: ProfileMeasure, Code: "29463-7", Label: "Poids", Value: 70, Date: now, AuthorKind: AuthorPatient}
	if err := e.Validate(now); err != nil || e.Unit != "kg" {
		t.Fatalf("%v %q", err, e.Unit)
	}
	e.Code = "0000"
	if ErrorCode(e.Validate(now)) != EINVALID {
		t.Error("unknown measure accepted")
	}
	w := &Wishes{TrustedPerson: &Contact{Name: ""}, OrganDonation: "maybe"}
	if msg := ErrorMessage(w.Validate()); !strings.Contains(msg, "personne de confiance") || !strings.Contains(msg, "don d'organes") {
		t.Errorf("wishes: %s", msg)
	}
}

func TestErrors(t *testing.T) {
	err := WrapErr("op", ENOTFOUND, Errorf(EINVALID, "détail"))
	if ErrorCode(err) != ENOTFOUND || ErrorMessage(err) != "détail" {
		t.Errorf("%q %q", ErrorCode(err), ErrorMessage(err))
	}
	if ErrorMessage(WrapErr("op", EINTERNAL, errTest{})) != "erreur interne" {
		t.Error("internal cause leaked")
	}
	if ErrorCode(nil) != "" || ErrorCode(errTest{}) != EINTERNAL {
		t.Error("ErrorCode")
	}
}

type errTest struct{}

func (errTest) Error() string { return "secret internal detail" }

func FuzzValidateNIR(f *testing.F) {
	f.Add("255081416802538")
	f.Add("290012A004015xx")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateNIR(s)
		if err == nil {
			n := NormalizeNIR(s)
			k, kerr := NIRKey(n[:13])
			if kerr != nil || twoDigits(k) != n[13:] {
				t.Fatalf("accepted %q with a wrong key", s)
			}
		}
	})
}
