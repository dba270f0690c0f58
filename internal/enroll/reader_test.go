package enroll

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// testNow is the day of every test run: generated and hand-written rows are read against it.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// nirOf appends the control key to a 13-character NIR body.
func nirOf(t testing.TB, body string) string {
	t.Helper()
	k, err := carnet.NIRKey(body)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s%02d", body, k)
}

// wrongKey returns a NIR with a wrong key.
func wrongKey(t testing.TB, body string) string {
	t.Helper()
	k, _ := carnet.NIRKey(body)
	return fmt.Sprintf("%s%02d", body, k%97+1)
}

const (
	adultBody = "2850375056123" // F, March 1985
	minorBody = "1150675056201" // M, June 2015
)

// adult returns the fields of a valid adult, by column name.
func adult(t testing.TB) map[string]string {
	return map[string]string{
		"nir": nirOf(t, adultBody), "vitale_serial": "123456789012", "birth_name": "DUPONT",
		"given_names": "Marie Louise", "used_name": "", "sex": "F", "birth_date": "1985-03-12",
		"email": "marie.dupont@exemple.fr", "mobile": "", "postal_address": "", "rights_holder_nir": "",
	}
}

// minor returns the fields of a valid minor whose rights holder is adult(t).
func minor(t testing.TB) map[string]string {
	return map[string]string{
		"nir": nirOf(t, minorBody), "vitale_serial": "987654321098", "birth_name": "DUPONT",
		"given_names": "Lucas", "used_name": "", "sex": "M", "birth_date": "2015-06-20",
		"email": "", "mobile": "", "postal_address": "", "rights_holder_nir": nirOf(t, adultBody),
	}
}

// line formats fields in the canonical column order, quoting as needed.
func line(fields map[string]string, sep string) string {
	var parts []string
	for _, c := range columnNames {
		parts = append(parts, csvField(fields[c], sep))
	}
	return strings.Join(parts, sep)
}

func csvField(s, sep string) string {
	if strings.ContainsAny(s, sep+"\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// result is one outcome of Next, for comparisons.
type result struct {
	Line   int
	Good   bool
	Reason string
	Row    Row
}

func readAll(t testing.TB, input string) []result {
	t.Helper()
	r, err := NewReader(strings.NewReader(input), testNow)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return drain(t, r)
}

func drain(t testing.TB, r *Reader) []result {
	t.Helper()
	var out []result
	for {
		row, bad, err := r.Next()
		switch {
		case err == io.EOF:
			return out
		case err != nil:
			t.Fatalf("Next: %v", err)
		case row != nil:
			out = append(out, result{Line: row.Line, Good: true, Row: *row})
		default:
			out = append(out, result{Line: bad.Line, Reason: bad.Reason})
		}
	}
}

func TestBadRows(t *testing.T) {
	a, m := adult(t), minor(t)
	cases := []struct {
		name   string
		row    string
		reason []string // fragments expected in the reason
	}{
		{"wrong NIR key", line(with(a, "nir", wrongKey(t, adultBody)), ";"), []string{"la clé de contrôle ne correspond pas"}},
		{"short NIR", line(with(a, "nir", "28503750561"), ";"), []string{"15 caractères attendus"}},
		{"missing NIR", line(with(a, "nir", ""), ";"), []string{"NIR manquant"}},
		{"sex against NIR", line(with(a, "sex", "M"), ";"), []string{"le sexe ne correspond pas au NIR"}},
		{"year against NIR", line(with(a, "birth_date", "1986-03-12"), ";"), []string{"l'année de naissance ne correspond pas au NIR"}},
		{"month against NIR", line(with(a, "birth_date", "1985-04-12"), ";"), []string{"le mois de naissance ne correspond pas au NIR"}},
		{"impossible date", line(with(a, "birth_date", "1985-02-30"), ";"), []string{`date de naissance invalide : "1985-02-30"`}},
		{"date format", line(with(a, "birth_date", "12/03/1985"), ";"), []string{"date de naissance invalide", "AAAA-MM-JJ"}},
		{"missing date", line(with(a, "birth_date", ""), ";"), []string{"date de naissance manquante"}},
		{"future date", line(with(a, "nir", nirOf(t, "2270375056123"), "birth_date", "2027-03-01"), ";"), []string{"date de naissance dans le futur"}},
		{"missing birth name", line(with(a, "birth_name", "  "), ";"), []string{"nom de naissance manquant"}},
		{"missing given names", line(with(a, "given_names", ""), ";"), []string{"prénoms manquant"}},
		{"control character in name", line(with(a, "given_names", "Marie\tLouise"), ";"), []string{"prénoms contient un caractère de contrôle"}},
		{"bad sex", line(with(a, "sex", "X"), ";"), []string{"sexe invalide"}},
		{"bad email", line(with(a, "email", "marie@"), ";"), []string{"adresse électronique invalide"}},
		{"bad mobile", line(with(a, "mobile", "01 23 45 67 89"), ";"), []string{"numéro de mobile invalide"}},
		{"missing Vitale serial", line(with(a, "vitale_serial", ""), ";"), []string{"carte Vitale manquant"}},
		{"short Vitale serial", line(with(a, "vitale_serial", "1234"), ";"), []string{"carte Vitale invalide"}},
		{"lower-case Vitale serial", line(with(a, "vitale_serial", "12ab34cd"), ";"), []string{"carte Vitale invalide"}},
		{"long Vitale serial", line(with(a, "vitale_serial", "123456789012345678901"), ";"), []string{"carte Vitale invalide"}},
		{"adult without contact", line(with(a, "email", ""), ";"), []string{"majeur sans moyen de contact"}},
		{"adult with rights holder", line(with(a, "rights_holder_nir", nirOf(t, minorBody)), ";"), []string{"majeur : rights_holder_nir doit rester vide"}},
		{"minor without rights holder", line(with(m, "rights_holder_nir", ""), ";"), []string{"mineur : le NIR de l'ouvrant droit"}},
		{"minor with bad rights holder", line(with(m, "rights_holder_nir", wrongKey(t, adultBody)), ";"), []string{"NIR de l'ouvrant droit invalide : la clé"}},
		{"minor own rights holder", line(with(m, "rights_holder_nir", nirOf(t, minorBody)), ";"), []string{"celui de la personne elle-même"}},
		{"unknown age, no contact", line(with(a, "birth_date", "x", "email", ""), ";"), []string{"date de naissance invalide", "aucun moyen de contact"}},
		{"field missing", strings.TrimSuffix(line(a, ";"), ";"), []string{"nombre de champs incorrect : 10 au lieu de 11"}},
		{"field extra", line(a, ";") + ";", []string{"nombre de champs incorrect : 12 au lieu de 11"}},
		{"bare quote", strings.Replace(line(a, ";"), ";DUPONT;", `;DU"PONT;`, 1), []string{"erreur de syntaxe CSV", "non entouré de guillemets"}},
		{"quote after quoted field", strings.Replace(line(a, ";"), ";DUPONT;", `;"DUPONT"X;`, 1), []string{"erreur de syntaxe CSV", "mal placé"}},
		{"invalid UTF-8 in a name", line(with(a, "birth_name", "DUP\xffONT"), ";"), []string{"nom de naissance invalide"}},
		{"invalid UTF-8 in the email", line(with(a, "email", "mari\xffe@exemple.fr"), ";"), []string{"adresse électronique invalide"}},
		{"invalid UTF-8 in the address", line(with(a, "postal_address", "1 rue \xff"), ";"), []string{"adresse postale : texte non encodé en UTF-8"}},
		{"control character in address", line(with(a, "postal_address", "1 rue X\t75002 Paris"), ";"), []string{"adresse postale : caractère de contrôle"}},
		{"NIR in the email column", line(with(a, "email", "2 85 03 75 056 123 06"), ";"), []string{"adresse électronique invalide : \"***\""}},
		{"NIR in the mobile column", line(with(a, "mobile", nirOf(t, adultBody)), ";"), []string{"numéro de mobile invalide : \"***\""}},
		{"NIR in the date column", line(with(a, "birth_date", nirOf(t, adultBody)), ";"), []string{"date de naissance invalide : \"***\""}},
		{"several problems", line(with(a, "nir", wrongKey(t, adultBody), "vitale_serial", ""), ";"), []string{"clé de contrôle ne correspond pas; numéro de série"}},
	}
	good := line(a, ";")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readAll(t, Header+"\n"+good+"\n"+c.row+"\n"+good+"\n")
			if len(got) != 3 || !got[0].Good || got[0].Line != 2 || !got[2].Good || got[2].Line != 4 {
				t.Fatalf("got %+v, want good rows on lines 2 and 4 around the bad one", got)
			}
			bad := got[1]
			if bad.Good || bad.Line != 3 {
				t.Fatalf("line 3: got %+v, want a bad row", bad)
			}
			for _, frag := range c.reason {
				if !strings.Contains(bad.Reason, frag) {
					t.Errorf("reason %q lacks %q", bad.Reason, frag)
				}
			}
			if c.name == "impossible date" && strings.Contains(bad.Reason, "manquante") {
				t.Errorf("an impossible date reported as missing too: %q", bad.Reason)
			}
			for _, n := range []string{nirOf(t, adultBody), nirOf(t, minorBody), wrongKey(t, adultBody), adultBody, minorBody, "2 85 03 75 056 123"} {
				if strings.Contains(bad.Reason, n) {
					t.Errorf("reason %q quotes a NIR", bad.Reason)
				}
			}
		})
	}
}

func TestGoodRows(t *testing.T) {
	a, m := adult(t), minor(t)
	in := Header + "\n" +
		line(with(a, "nir", " 2 85 03 75 056 123 "+nirOf(t, adultBody)[13:], "sex", "f", "birth_name", " DUPONT ",
			"vitale_serial", "1234 5678 9012", "email", "", "mobile", "06 12 34 56 78",
			"postal_address", " 12 rue de la Paix /  Bâtiment B / 75002 Paris "), ";") + "\n" +
		line(m, ";") + "\n" +
		line(with(a, "email", "", "postal_address", "12 rue de la Paix\r\n\n75002 Paris\n"), ";") + "\n"
	got := readAll(t, in)
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	for _, g := range got {
		if !g.Good {
			t.Fatalf("line %d: %s", g.Line, g.Reason)
		}
	}
	p := got[0].Row.Patient
	want := carnet.Patient{
		NIR: nirOf(t, adultBody), INSOID: carnet.OIDINSNIR, BirthName: "DUPONT", GivenNames: "Marie Louise",
		Sex: carnet.SexFemale, BirthDate: time.Date(1985, 3, 12, 0, 0, 0, 0, time.UTC),
		Mobile: "+33612345678", PostalAddress: "12 rue de la Paix\nBâtiment B\n75002 Paris",
	}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("patient\n got %+v\nwant %+v", p, want)
	}
	if got[0].Row.VitaleSerial != "123456789012" || got[0].Row.RightsHolderNIR != "" {
		t.Errorf("row extras: %+v", got[0].Row)
	}
	if r := got[1].Row; r.RightsHolderNIR != nirOf(t, adultBody) || r.Patient.Email != "" || r.Line != 3 {
		t.Errorf("minor: %+v", r)
	}
	if a := got[2].Row.Patient.PostalAddress; a != "12 rue de la Paix\n75002 Paris" {
		t.Errorf("multi-line address: %q", a)
	}
}

func TestLineNumbers(t *testing.T) {
	a := adult(t)
	multi := with(a, "email", "", "postal_address", "12 rue de la Paix\nBâtiment B\n75002 Paris")
	in := Header + "\n" + // 1
		line(multi, ";") + "\n" + // 2–4
		"\n" + // 5: empty, ignored
		line(a, ";") + "\n" + // 6
		line(with(multi, "vitale_serial", "x"), ";") + "\n" + // 7–9
		line(with(a, "email", ""), ";") + "\r\n" + // 10
		line(a, ";") // 11, no final line break
	got := readAll(t, in)
	var lines []string
	for _, g := range got {
		lines = append(lines, fmt.Sprintf("%d:%v", g.Line, g.Good))
	}
	if s := strings.Join(lines, " "); s != "2:true 6:true 7:false 10:false 11:true" {
		t.Errorf("lines: %s", s)
	}
}

func TestSeparatorsAndBOM(t *testing.T) {
	a := with(adult(t), "postal_address", "12 rue de la Paix, Bâtiment B; 75002 Paris")
	m := minor(t)
	semi := Header + "\n" + line(a, ";") + "\n" + line(m, ";") + "\n"
	comma := strings.ReplaceAll(Header, ";", ",") + "\n" + line(a, ",") + "\n" + line(m, ",") + "\n"
	want := readAll(t, semi)
	if len(want) != 2 || !want[0].Good || !want[1].Good {
		t.Fatalf("semicolons: %+v", want)
	}
	for name, in := range map[string]string{"comma": comma, "BOM semicolon": "\ufeff" + semi, "BOM comma": "\ufeff" + comma} {
		got := readAll(t, in)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
		r, _ := NewReader(strings.NewReader(in), testNow)
		drain(t, r)
		if r.Offset() != int64(len(in)) {
			t.Errorf("%s: offset %d at the end, want %d", name, r.Offset(), len(in))
		}
	}
}

func TestHeader(t *testing.T) {
	cases := []struct {
		name, header string
		want         string // "" for success, else a fragment of the error
	}{
		{"canonical", Header, ""},
		{"any case and order, optional columns absent", "Sex;NIR;Birth_Date;birth_name;Given_Names;VITALE_SERIAL;email", ""},
		{"spaces around names", " nir , vitale_serial , birth_name , given_names , sex , birth_date , mobile ", ""},
		{"unknown column", Header + ";commentaire", `colonne inconnue : "commentaire"`},
		{"two unknown columns", Header + ";a;b", `colonnes inconnues : "a", "b"`},
		{"missing nir", strings.Replace(Header, "nir;", "", 1), "colonne obligatoire manquante : nir"},
		{"missing two", "nir;vitale_serial;birth_name;given_names", "colonnes obligatoires manquantes : sex, birth_date"},
		{"repeated column", Header + ";email", "colonne email en double"},
		{"empty file", "", "fichier vide"},
		{"no header", "285037505612306;123456789012;DUPONT", "aucune colonne reconnue"},
		{"data-like unknown column", Header + ";285037505612306", "colonne inconnue : n° 12"},
		{"header with a stray quote", `nir;vit"ale`, "en-tête illisible"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(c.header+"\n"), testNow)
			if c.header == "" {
				_, err = NewReader(strings.NewReader(""), testNow)
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(carnet.ErrorMessage(err), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			case c.want != "" && carnet.ErrorCode(err) != carnet.EINVALID:
				t.Fatalf("code %q, want invalid", carnet.ErrorCode(err))
			case err != nil && strings.Contains(err.Error(), "285037505612306"):
				t.Fatalf("the error quotes a NIR: %v", err)
			}
		})
	}
	// A reduced header reads rows of its own width, optional fields empty.
	a := adult(t)
	in := "sex,nir,birth_date,birth_name,given_names,vitale_serial,email\n" +
		strings.Join([]string{a["sex"], a["nir"], a["birth_date"], a["birth_name"], a["given_names"], a["vitale_serial"], a["email"]}, ",") + "\n"
	got := readAll(t, in)
	if len(got) != 1 || !got[0].Good || got[0].Row.Patient.Email != a["email"] {
		t.Errorf("reduced header: %+v", got)
	}
}

func TestSkipThrough(t *testing.T) {
	a := adult(t)
	multi := with(a, "email", "", "postal_address", "12 rue de la Paix\n75002 Paris")
	in := Header + "\n" + // 1
		line(a, ";") + "\n" + // 2
		line(multi, ";") + "\n" + // 3–4
		line(with(a, "email", ""), ";") + "\n" + // 5 bad
		line(a, ";") + "\n" + // 6
		`;"x";DU"PONT` + "\n" + // 7 syntax error
		line(a, ";") + "\n" // 8
	full := readAll(t, in)
	for _, through := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 100} {
		r, err := NewReader(strings.NewReader(in), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SkipThrough(through); err != nil {
			t.Fatalf("SkipThrough(%d): %v", through, err)
		}
		got := drain(t, r)
		var want []result
		for _, f := range full {
			if f.Line > through {
				want = append(want, f)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SkipThrough(%d): got %v, want %v", through, got, want)
		}
	}
	// Twice in a row, and after some rows were read.
	r, _ := NewReader(strings.NewReader(in), testNow)
	r.Next()
	r.SkipThrough(3)
	r.SkipThrough(5)
	if got := drain(t, r); len(got) != 3 || got[0].Line != 6 {
		t.Errorf("SkipThrough twice: %v", got)
	}
}

func TestUnclosedQuote(t *testing.T) {
	a := adult(t)
	in := Header + "\n" + line(a, ";") + "\n" +
		strings.Replace(line(a, ";"), ";DUPONT;", `;"DUPONT;`, 1) + "\n" + // 3: quote never closed
		line(a, ";") + "\n" + line(a, ";") + "\n"
	r, err := NewReader(strings.NewReader(in), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if row, _, err := r.Next(); err != nil || row == nil || row.Line != 2 {
		t.Fatalf("line 2: %v %v", row, err)
	}
	_, _, err = r.Next()
	if err == nil || err == io.EOF || !strings.Contains(carnet.ErrorMessage(err), "ligne 3 :") {
		t.Fatalf("got %v, want an error naming line 3", err)
	}
	if _, _, again := r.Next(); !errors.Is(again, err) {
		t.Errorf("second call: %v", again)
	}
	r, _ = NewReader(strings.NewReader(in), testNow)
	if err := r.SkipThrough(10); err == nil || !strings.Contains(carnet.ErrorMessage(err), "ligne 3 :") {
		t.Errorf("SkipThrough over the unclosed quote: %v", err)
	}

	// On the last line, nothing is swallowed: a bad row, then the end.
	in = Header + "\n" + line(a, ";") + "\n" + `"x;y`
	if got := readAll(t, in); len(got) != 2 || got[1].Good || got[1].Line != 3 {
		t.Errorf("unclosed quote on the last line: %+v", got)
	}
}

func TestHeaderConstant(t *testing.T) {
	if Header != strings.Join(columnNames[:], ";") {
		t.Errorf("Header = %q", Header)
	}
}

func TestMinorBoundary(t *testing.T) {
	// 18 years old on the day of the run: an adult.
	body := "2080375056123"
	in := Header + "\n" +
		line(with(adult(t), "nir", nirOf(t, body), "birth_date", "2008-03-01"), ";") + "\n" +
		line(with(minor(t), "nir", nirOf(t, body), "sex", "F", "birth_date", "2008-03-02"), ";") + "\n"
	got := readAll(t, in)
	if len(got) != 2 || !got[0].Good || !got[1].Good || got[0].Row.RightsHolderNIR != "" || got[1].Row.RightsHolderNIR == "" {
		t.Errorf("got %+v", got)
	}
}

func TestParseDateLikeTime(t *testing.T) {
	for _, s := range []string{"1985-03-12", "2000-02-29", "1900-02-29", "2024-02-29", "2023-02-29", "1985-02-30",
		"1985-04-31", "1985-12-31", "1985-13-01", "1985-00-10", "1985-01-00", "0000-01-01", "9999-12-31",
		"85-03-12", "1985/03/12", "1985-3-12", "1985-03-1x", "+985-03-12", "", "1985-03-12 ", "１９８５-03-12"} {
		want, werr := time.Parse("2006-01-02", s)
		got, ok := parseDate(s)
		if ok != (werr == nil) || ok && !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v %v, time.Parse: %v %v", s, got, ok, want, werr)
		}
	}
}

func TestNormalizeLikeCarnet(t *testing.T) {
	for _, s := range []string{"06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", " 0612345678 ", "+33 6 12 34 56 78",
		"+44 7911 123456", "0 6 1 2", "", "  ", "abc", "0612345678901", "06\u00a012"} {
		if got, want := normalizeMobile(s), carnet.NormalizeMobile(s); got != want {
			t.Errorf("normalizeMobile(%q) = %q, carnet says %q", s, got, want)
		}
	}
	for _, s := range []string{"285037505612306", "2 85 03 75 056 123 06", "2850375056123-06", "1900   2a004015", "2A", "", "é"} {
		if got, want := normalizeNIR(s), carnet.NormalizeNIR(s); got != want {
			t.Errorf("normalizeNIR(%q) = %q, carnet says %q", s, got, want)
		}
	}
}

func TestMaskNIRs(t *testing.T) {
	for in, want := range map[string]string{
		"rien":                             "rien",
		`mobile invalide : "+33612345678"`: `mobile invalide : "+33612345678"`,
		`"285037505612306"`:                `"***"`,
		`"2850375056123"`:                  `"***"`,
		`"285037505612"`:                   `"285037505612"`,
		`x 2 85 03 75 056 123 06 y`:        `x *** y`,
		`a 2.85.03.2A.056.123-06`:          `a ***`,
		`190012A004015 et 1900 12`:         `*** et 1900 12`,
		`dates 1985-03-12; 1985-03-12`:     `dates 1985-03-12; 1985-03-12`,
		`2 B`:                              `2 B`,
	} {
		if got := maskNIRs(in); got != want {
			t.Errorf("maskNIRs(%q) = %q, want %q", in, got, want)
		}
	}
}
