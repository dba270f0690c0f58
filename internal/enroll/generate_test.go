package enroll

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestGenerateReadBack(t *testing.T) {
	const n = 30000
	var buf bytes.Buffer
	bad, err := Generate(&buf, n, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 1200 {
		t.Errorf("bad = %d, want 1200", bad)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), testNow)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	adults := map[string]bool{}
	kinds := map[string]int{}
	var good, gotBad, minors, email, mobileOnly, postalOnly, multiLine int
	prev := 1
	for {
		row, b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			gotBad++
			if b.Line <= prev {
				t.Fatalf("line %d after %d", b.Line, prev)
			}
			prev = b.Line
			kinds[badKind(b.Reason)]++
			continue
		}
		good++
		if row.Line <= prev {
			t.Fatalf("line %d after %d", row.Line, prev)
		}
		if row.Line > prev+1 {
			multiLine++
		}
		prev = row.Line
		p := row.Patient
		if seen[p.NIR] {
			t.Fatalf("line %d: NIR repeated", row.Line)
		}
		seen[p.NIR] = true
		if row.RightsHolderNIR != "" {
			minors++
			if !adults[row.RightsHolderNIR] {
				t.Fatalf("line %d: the rights holder is not an adult written earlier", row.Line)
			}
			continue
		}
		adults[p.NIR] = true
		switch {
		case p.Email != "":
			email++
		case p.Mobile != "":
			mobileOnly++
		case p.PostalAddress != "":
			postalOnly++
		}
	}
	if gotBad != bad || good != n-bad {
		t.Errorf("read back %d good and %d bad, want %d and %d", good, gotBad, n-bad, bad)
	}
	adultsN := good - minors
	t.Logf("minors %d, email %d, mobile only %d, postal only %d, multi-line %d, kinds %v", minors, email, mobileOnly, postalOnly, multiLine, kinds)
	near := func(what string, got, total int, want float64) {
		if f := float64(got) / float64(total); f < want-0.03 || f > want+0.03 {
			t.Errorf("%s: %.3f, want about %.2f", what, f, want)
		}
	}
	near("minors", minors, good, 0.10)
	near("email", email, adultsN, 0.60)
	near("mobile only", mobileOnly, adultsN, 0.25)
	near("postal only", postalOnly, adultsN, 0.15)
	if multiLine == 0 {
		t.Error("no multi-line address")
	}
	for _, k := range []string{"key", "date", "contact", "fields", "serial", "holder"} {
		if kinds[k] < bad/12 {
			t.Errorf("bad kind %s: %d rows", k, kinds[k])
		}
	}
	if kinds["?"] != 0 {
		t.Errorf("%d bad rows of no expected kind", kinds["?"])
	}
}

func badKind(reason string) string {
	for frag, k := range map[string]string{
		"clé de contrôle":               "key",
		"date de naissance invalide":    "date",
		"majeur sans moyen de contact":  "contact",
		"nombre de champs":              "fields",
		"carte Vitale invalide":         "serial",
		"rights_holder_nir doit rester": "holder",
	} {
		if strings.Contains(reason, frag) {
			return k
		}
	}
	return "?"
}

func TestGenerateDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	Generate(&a, 2000, 10, 1)
	Generate(&b, 2000, 10, 1)
	Generate(&c, 2000, 10, 2)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different files")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same file")
	}
}

func TestGenerateEdges(t *testing.T) {
	var buf bytes.Buffer
	if bad, err := Generate(&buf, 0, 50, 1); err != nil || bad != 0 || buf.String() != Header+"\n" {
		t.Errorf("n = 0: %d %v %q", bad, err, buf.String())
	}
	for _, p := range []float64{0, 100} {
		buf.Reset()
		bad, err := Generate(&buf, 500, p, 3)
		if err != nil || bad != int(5*p) {
			t.Fatalf("%v %%: %d %v", p, bad, err)
		}
		got := readAll(t, buf.String())
		nbad := 0
		for _, g := range got {
			if !g.Good {
				nbad++
			}
		}
		if len(got) != 500 || nbad != bad {
			t.Errorf("%v %%: read %d rows, %d bad", p, len(got), nbad)
		}
	}
	for _, c := range []struct {
		n int
		p float64
	}{{-1, 0}, {MaxGenerate + 1, 0}, {10, -1}, {10, 101}} {
		if _, err := Generate(io.Discard, c.n, c.p, 1); err == nil {
			t.Errorf("Generate(%d, %v): no error", c.n, c.p)
		}
	}
	if len(departments) != 96 || MaxGenerate != nirCommunes*nirOrders*len(departments) {
		t.Errorf("%d departments", len(departments))
	}
	if MaxGenerate%2 == 0 && nirSpread%2 == 0 || nirSpread%3 == 0 || nirSpread%37 == 0 {
		t.Error("nirSpread is not coprime with MaxGenerate")
	}
}

func TestAppendPad(t *testing.T) {
	for _, c := range []struct {
		v, w int
		want string
	}{{0, 1, "0"}, {0, 2, "00"}, {7, 3, "007"}, {123, 2, "123"}, {42, 0, "42"}, {1985, 4, "1985"}} {
		if got := string(appendPad(nil, c.v, c.w)); got != c.want {
			t.Errorf("appendPad(%d, %d) = %q, want %q", c.v, c.w, got, c.want)
		}
	}
}
