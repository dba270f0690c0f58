package policy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

func TestDefaultGrid(t *testing.T) {
	g := DefaultGrid()
	if g.Version() != "2023-10-26.1" {
		t.Errorf("Version = %q", g.Version())
	}
	if g != DefaultGrid() {
		t.Error("DefaultGrid should be parsed once")
	}
	var approx, sourced int
	for _, r := range g.Rows() {
		if r.Approx {
			approx++
		} else {
			sourced++
		}
	}
	if approx == 0 || sourced == 0 {
		t.Errorf("the shipped grid must mark its approximations: %d approx, %d sourced", approx, sourced)
	}
	if !bytes.Contains(DefaultGridData(), []byte("approx")) {
		t.Error("DefaultGridData")
	}
	// Every profession has a right on every type, one way or the other, and médecins read most.
	for _, p := range carnet.Professions() {
		n := 0
		for _, ty := range carnet.DocTypes() {
			if g.Allows(p, "", ty.Code) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s (%s) reads nothing", p, p.Label())
		}
	}
}

// TestDefaultGridFollowsDomain restates DOMAIN.md's sourced description of the grid.
func TestDefaultGridFollowsDomain(t *testing.T) {
	g := DefaultGrid()
	all := carnet.DocTypes()
	count := func(p carnet.Profession) int {
		n := 0
		for _, ty := range all {
			if g.Allows(p, "", ty.Code) {
				n++
			}
		}
		return n
	}
	// médecin: every type except ATTEST-RESID.
	for _, ty := range all {
		if want := ty.Code != "ATTEST-RESID"; g.Allows("10", "", ty.Code) != want {
			t.Errorf("médecin × %s = %v, want %v", ty.Code, !want, want)
		}
	}
	// pharmacien, infirmier: narrower than médecin; no pathology reports.
	for _, p := range []carnet.Profession{"21", "60", "69"} {
		if g.Allows(p, "", "11526-1") {
			t.Errorf("%s reads pathology reports", p.Label())
		}
		if count(p) >= count("10") {
			t.Errorf("%s is not narrower than médecin", p.Label())
		}
	}
	// chirurgien-dentiste: all except the listed ones (care plans stand for nursing-home care plans).
	for _, ty := range all {
		want := ty.Code != "18776-5" && ty.Code != "ATTEST-RESID"
		if g.Allows("40", "", ty.Code) != want {
			t.Errorf("chirurgien-dentiste × %s = %v, want %v", ty.Code, !want, want)
		}
	}
	// masseur-kinésithérapeute: discharge letters, consultation reports, imaging, PRESC-KINE; not lab results.
	for _, code := range []string{"11490-0", "11488-4", "18748-4", "PRESC-KINE"} {
		if !g.Allows("70", "", code) {
			t.Errorf("masseur-kinésithérapeute cannot read %s", code)
		}
	}
	for _, code := range []string{"11502-2", "DOCPAT07", "11526-1", "57833-6", "REMB"} {
		if g.Allows("70", "", code) {
			t.Errorf("masseur-kinésithérapeute reads %s", code)
		}
	}
	// opticien-lunetier: no lab results; consultation reports.
	if g.Allows("28", "", "11502-2") || g.Allows("28", "", "DOCPAT07") || !g.Allows("28", "", "11488-4") {
		t.Error("opticien-lunetier")
	}
	// pédicure-podologue: broad; other health professions: the majority of types.
	if count("80") < len(all)*3/4 {
		t.Errorf("pédicure-podologue reads %d types only", count("80"))
	}
	for _, p := range []carnet.Profession{"26", "31", "50", "81", "82", "83", "84", "85", "86", "91", "92", "94", "95", "96", "98"} {
		if count(p) <= len(all)/2 {
			t.Errorf("%s reads %d of %d types, not the majority", p.Label(), count(p), len(all))
		}
	}
	// Nobody but the médecin family reads ATTEST-RESID; no profession outside prescribers and pharmacists reads REMB.
	for _, p := range carnet.Professions() {
		if g.Allows(p, "", "ATTEST-RESID") {
			t.Errorf("%s reads ATTEST-RESID", p.Label())
		}
		if want := p == "10" || p == "21" || p == "40" || p == "50"; g.Allows(p, "", "REMB") != want {
			t.Errorf("%s × REMB = %v", p.Label(), !want)
		}
	}
}

func TestGridPrecedence(t *testing.T) {
	g, err := ParseGrid(strings.NewReader(`
# a test grid
version,test-1
profession,specialty,document,read
10,,*,allow
10,,class:10,deny
10,,11488-4,allow
10,SM42,11488-4,deny
10,SM42,class:42,deny
10,SM03,*,deny
70,,11490-0,allow
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p         carnet.Profession
		specialty string
		code      string
		want      bool
	}{
		{"10", "", "18748-4", true},      // "*"
		{"10", "", "11490-0", false},     // class 10 beats "*"
		{"10", "", "11488-4", true},      // the type beats its class
		{"10", "SM42", "11488-4", false}, // the specialty beats the profession
		{"10", "SM42", "11490-0", false}, // no specialty row: the profession's class row
		{"10", "SM42", "18748-4", true},  // no specialty row: the profession's "*"
		{"10", "SM42", "PRESC-KINE", false},
		{"10", "SM03", "11488-4", false}, // the specialty's "*" beats the profession's type row
		{"10", "SM04", "11488-4", true},  // a specialty without rows follows the profession
		{"70", "", "11490-0", true},
		{"70", "", "11488-4", false}, // no row: denied
		{"21", "", "11488-4", false}, // no row at all for the profession
		{"99", "", "11488-4", false}, // unknown profession
		{"10", "", "XYZ", false},     // unknown type
	}
	for _, c := range cases {
		if got := g.Allows(c.p, c.specialty, c.code); got != c.want {
			t.Errorf("Allows(%s, %q, %s) = %v, want %v", c.p, c.specialty, c.code, got, c.want)
		}
	}
}

func TestParseGridErrors(t *testing.T) {
	head := "version,v1\nprofession,specialty,document,read,source\n"
	cases := []struct {
		name, text, want string
	}{
		{"empty", "", "version"},
		{"comments only", "# rien\n\n", "version"},
		{"no header", "version,v1\n", "en-tête"},
		{"version not first", "profession,specialty,document,read\n", "ligne 1 : « version,<nom> »"},
		{"bad version", "version,v 1!\n", "ligne 1 : version"},
		{"empty version", "version,\n", "ligne 1 : version vide"},
		{"bad header", "version,v1\nprofession,document,read\n", "ligne 2 : en-tête"},
		{"unknown profession", head + "10,,*,allow\n99,,*,allow\n", "ligne 4 : profession inconnue : \"99\""},
		{"unknown specialty", head + "10,SM99,*,allow\n", "ligne 3 : spécialité inconnue : \"SM99\""},
		{"unknown type", head + "\n# c\n10,,11111-1,allow\n", "ligne 5 : type de document inconnu : « 11111-1 »"},
		{"unknown class", head + "10,,class:77,allow\n", "ligne 3 : classe de document inconnue : « 77 »"},
		{"bad right", head + "10,,*,yes\n", "ligne 3 : droit \"yes\""},
		{"bad source", head + "10,,*,allow,maybe\n", "ligne 3 : source \"maybe\""},
		{"too few fields", head + "10,,*\n", "ligne 3 : 4 ou 5 champs"},
		{"too many fields", head + "10,,*,allow,approx,x\n", "ligne 3 : 4 ou 5 champs"},
		{"duplicate row", head + "10,,*,allow\n21,,*,allow\n10,,*,deny\n", "ligne 5 : ligne en double (déjà en ligne 3) pour 10/*"},
		{"duplicate specialty row", head + "10,SM42,class:10,allow\n10,SM42,class:10,allow\n", "ligne 4 : ligne en double (déjà en ligne 3) pour 10/SM42/class:10"},
		{"long line", head + strings.Repeat("x", 5000) + "\n", "ligne 3 : ligne trop longue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := ParseGrid(strings.NewReader(c.text))
			if err == nil {
				t.Fatalf("ParseGrid succeeded: %v", g.Rows())
			}
			if carnet.ErrorCode(err) != carnet.EINVALID {
				t.Errorf("code %q", carnet.ErrorCode(err))
			}
			if msg := carnet.ErrorMessage(err); !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not contain %q", msg, c.want)
			}
		})
	}
}

func TestParseGridAccepts(t *testing.T) {
	g, err := ParseGrid(strings.NewReader("\ufeff"[3:] + "  version , v1 \r\nprofession,specialty,document,read\r\n 10 , , * , allow \r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Version() != "v1" || !g.Allows("10", "", "11488-4") || g.Rows()[0].Approx {
		t.Errorf("%q %v", g.Version(), g.Rows())
	}
	empty, err := ParseGrid(strings.NewReader("version,empty\nprofession,specialty,document,read\n"))
	if err != nil || empty.Allows("10", "", "11488-4") {
		t.Errorf("an empty grid denies everything: %v", err)
	}
}

func TestGridEncodeRoundTrip(t *testing.T) {
	withSpecialties, err := ParseGrid(strings.NewReader(string(defaultGridData) + specialtyRows))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Grid{DefaultGrid(), withSpecialties} {
		text, err := g.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Grid
		if err := back.UnmarshalText(text); err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if back.Version() != g.Version() || len(back.Rows()) != len(g.Rows()) {
			t.Fatalf("round trip: %q %d rows, want %q %d", back.Version(), len(back.Rows()), g.Version(), len(g.Rows()))
		}
		for i, r := range g.Rows() {
			if back.Rows()[i] != r {
				t.Errorf("row %d: %+v, want %+v", i, back.Rows()[i], r)
			}
		}
		if d := Diff(g, &back); len(d) != 0 {
			t.Errorf("Diff after round trip: %v", d)
		}
		var buf bytes.Buffer
		if err := back.Encode(&buf); err != nil || !bytes.Equal(buf.Bytes(), text) {
			t.Errorf("Encode is not stable: %v", err)
		}
	}
	var g Grid
	if err := g.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}
}

func TestDiff(t *testing.T) {
	old := DefaultGrid()
	text := strings.Replace(string(defaultGridData), "version,2023-10-26.1", "version,2024-01-01.1", 1)
	text = strings.Replace(text, "70,,11502-2,deny,sourced", "70,,11502-2,allow,sourced", 1)
	text = strings.Replace(text, "10,,ATTEST-RESID,deny,sourced\n", "", 1)
	text += "10,SM42,11526-1,deny,approx\n21,SM03,11526-1,allow,approx\n"
	new, err := ParseGrid(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got := Diff(old, new)
	want := []string{
		"médecin — Attestation de résidence (ATTEST-RESID) : lecture désormais autorisée",
		"médecin (spécialité psychiatrie) — Compte rendu d'anatomo-pathologie (11526-1) : lecture retirée",
		"pharmacien (spécialité biologie médicale) — Compte rendu d'anatomo-pathologie (11526-1) : lecture désormais autorisée",
		"masseur-kinésithérapeute — Compte rendu d'examens biologiques (11502-2) : lecture désormais autorisée",
	}
	if len(got) != len(want) {
		t.Fatalf("Diff = %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("change %d = %q, want %q", i, got[i], want[i])
		}
	}
	// psychiatrie inherits ATTEST-RESID from médecin: one line for the profession, none for the specialty.
	if c := got[1]; c.Profession != "10" || c.Specialty != "SM42" || c.TypeCode != "11526-1" || !c.Before || c.After {
		t.Errorf("%+v", c)
	}
	if d := Diff(new, new); d != nil {
		t.Errorf("Diff(g, g) = %v", d)
	}
	if s := (Change{Profession: "77", Specialty: "XX", TypeCode: "T", After: true}).String(); s != "profession 77 (spécialité XX) — T : lecture désormais autorisée" {
		t.Errorf("%q", s)
	}
}

func TestPolicyWithGrid(t *testing.T) {
	g, err := ParseGrid(strings.NewReader("version,strict\nprofession,specialty,document,read\n10,,*,deny\n"))
	if err != nil {
		t.Fatal(err)
	}
	strict := testPolicy.WithGrid(g)
	r := proRequest(ActionReadDocument, "10", document("11488-4"))
	if d := strict.Decide(r); d.Allow || d.Reason != ReasonGridDenied || d.GridVersion != "strict" || d.Code() != "grid_denied@strict" {
		t.Errorf("strict grid: %+v %s", d, d.Code())
	}
	if d := testPolicy.Decide(r); !d.Allow || d.GridVersion != "2023-10-26.1" {
		t.Errorf("WithGrid changed the original policy: %+v", d)
	}
	if strict.Grid() != g || testPolicy.Grid() != DefaultGrid() {
		t.Error("Grid()")
	}
}

func FuzzParseGrid(f *testing.F) {
	f.Add(string(defaultGridData))
	f.Add("version,v1\nprofession,specialty,document,read\n10,SM42,class:10,deny,approx\n10,,*,allow\n")
	f.Add("version,v1\nprofession,specialty,document,read\n10,,*,allow\n10,,*,allow\n")
	f.Add("version,v\n#\n\nprofession,specialty,document,read,source\n70,,PRESC-KINE,allow,sourced\n")
	f.Fuzz(func(t *testing.T, text string) {
		g, err := ParseGrid(strings.NewReader(text))
		if err != nil {
			if carnet.ErrorCode(err) != carnet.EINVALID || !strings.HasPrefix(carnet.ErrorMessage(err), "grille invalide") {
				t.Fatalf("error %v", err)
			}
			return
		}
		encoded, err := g.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseGrid(bytes.NewReader(encoded))
		if err != nil {
			t.Fatalf("re-parsing the encoded grid: %v\n%s", err, encoded)
		}
		if back.Version() != g.Version() || len(back.Rows()) != len(g.Rows()) || len(Diff(g, back)) != 0 {
			t.Fatalf("round trip changed the grid")
		}
		for _, p := range carnet.Professions() {
			for _, ty := range carnet.DocTypes() {
				if g.Allows(p, "SM42", ty.Code) != gridSays(g.Rows(), p, "SM42", ty.Code, ty.Class) {
					t.Fatalf("bitset and rows disagree on %s × %s", p, ty.Code)
				}
			}
		}
	})
}
