package enroll

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/carnet-sante/carnet"
)

// Kinds of rows written by Generate.
const (
	kindGood        = iota
	kindKey         // wrong NIR key
	kindDate        // impossible birth date (30 February)
	kindNoContact   // adult without email, mobile nor postal address
	kindFieldCount  // one field short
	kindSerial      // malformed Vitale serial number
	kindAdultHolder // adult with a rights holder
	numKinds
)

// NIR bodies: sex (1), year (2), month (2), department (2), commune (3), order (3). Generate
// maps the row index one to one onto (department, commune, order), so NIRs never repeat.
var departments = func() []string {
	var d []string
	for i := 1; i <= 95; i++ {
		switch i {
		case 20:
			d = append(d, "2A", "2B")
		default:
			d = append(d, string([]byte{byte('0' + i/10), byte('0' + i%10)}))
		}
	}
	return d
}()

const (
	nirCommunes = 999
	nirOrders   = 999
	nirSpread   = 48271 // prime, coprime with MaxGenerate: spreads indexes over the whole space
)

// MaxGenerate (95 808 096) is the largest number of rows Generate writes with unique NIRs: one
// per (department, commune, order).
const MaxGenerate = nirCommunes * nirOrders * 96

// Birth years: adults 1935–2005 (adults from 2024 on), minors 2016–2024 (minors until 2034), so
// that a generated file reads the same on any day of these years.
const (
	adultFirstYear, adultYears = 1935, 71
	minorFirstYear, minorYears = 2016, 9
)

type name struct{ display, ascii string }

var (
	surnames = []name{
		{"MARTIN", "martin"}, {"BERNARD", "bernard"}, {"THOMAS", "thomas"}, {"PETIT", "petit"},
		{"ROBERT", "robert"}, {"RICHARD", "richard"}, {"DURAND", "durand"}, {"DUBOIS", "dubois"},
		{"MOREAU", "moreau"}, {"LAURENT", "laurent"}, {"SIMON", "simon"}, {"MICHEL", "michel"},
		{"LEFÈVRE", "lefevre"}, {"LEROY", "leroy"}, {"ROUX", "roux"}, {"DAVID", "david"},
		{"BERTRAND", "bertrand"}, {"MOREL", "morel"}, {"FOURNIER", "fournier"}, {"GIRARD", "girard"},
		{"BONNET", "bonnet"}, {"DUPONT", "dupont"}, {"LAMBERT", "lambert"}, {"FONTAINE", "fontaine"},
		{"ROUSSEAU", "rousseau"}, {"VINCENT", "vincent"}, {"MULLER", "muller"}, {"FAURE", "faure"},
		{"ANDRÉ", "andre"}, {"MERCIER", "mercier"}, {"GUÉRIN", "guerin"}, {"FRANÇOIS", "francois"},
		{"CLÉMENT", "clement"}, {"DA SILVA", "dasilva"}, {"LE GALL", "legall"}, {"BENALI", "benali"},
		{"N'DIAYE", "ndiaye"}, {"NGUYEN", "nguyen"}, {"GARCIA", "garcia"}, {"MARTINEZ", "martinez"},
	}
	femaleNames = []name{
		{"Marie", "marie"}, {"Camille", "camille"}, {"Léa", "lea"}, {"Manon", "manon"},
		{"Chloé", "chloe"}, {"Emma", "emma"}, {"Inès", "ines"}, {"Sarah", "sarah"}, {"Julie", "julie"},
		{"Anne", "anne"}, {"Nathalie", "nathalie"}, {"Isabelle", "isabelle"}, {"Sylvie", "sylvie"},
		{"Françoise", "francoise"}, {"Élodie", "elodie"}, {"Amina", "amina"}, {"Louise", "louise"},
		{"Jeanne", "jeanne"}, {"Claire", "claire"}, {"Anne-Sophie", "anne-sophie"},
	}
	maleNames = []name{
		{"Jean", "jean"}, {"Pierre", "pierre"}, {"Lucas", "lucas"}, {"Hugo", "hugo"}, {"Louis", "louis"},
		{"Nathan", "nathan"}, {"Thomas", "thomas"}, {"Nicolas", "nicolas"}, {"Julien", "julien"},
		{"Philippe", "philippe"}, {"Michel", "michel"}, {"Alain", "alain"}, {"Éric", "eric"},
		{"François", "francois"}, {"Jérôme", "jerome"}, {"Mohamed", "mohamed"}, {"Karim", "karim"},
		{"Paul", "paul"}, {"Antoine", "antoine"}, {"Jean-Pierre", "jean-pierre"},
	}
	streets = []string{
		"rue de la Paix", "avenue Jean Jaurès", "boulevard Victor Hugo", "place de la République",
		"chemin des Vignes", "allée des Tilleuls", "impasse du Moulin", "rue Pasteur", "route de Lyon",
	}
	cities = []string{
		"75002 Paris", "69003 Lyon", "13001 Marseille", "31000 Toulouse", "33000 Bordeaux",
		"59000 Lille", "44000 Nantes", "67000 Strasbourg", "20000 Ajaccio", "97400 Saint-Denis",
	}
	complements = []string{"Bâtiment B", "Appartement 12", "Résidence les Pins", "BP 42"}
	domains     = []string{"@exemple.fr", "@exemple.com", "@courriel.exemple.org"}
	badSerials  = []string{"12345", "12ab34cd56ef", "1234-5678-9012", "123456789012345678901", "AB12 CD34 ÉF"}
)

// Generate writes a deterministic synthetic enrolment file of n data rows (after the header,
// separator ";") and returns how many of them are bad. The same seed gives the same bytes.
//
// Good rows carry unique valid NIRs derived from the row index (right key, consistent with sex
// and birth date, Corsican departments included). About 10 % are minors (born 2016–2024) whose
// rights_holder_nir is an adult written earlier in the file, with no own contact mostly; adults
// (born 1935–2005) have an email (~60 %, some with a mobile too), a mobile only (~25 %) or a
// postal address only (~15 %, on one line with " / " or on several in a quoted field).
//
// Round(n × badPercent / 100) rows, spread evenly, are bad, of one kind each drawn at random:
// wrong NIR key, impossible birth date, adult without contact, one field short, malformed Vitale
// serial number, adult with a rights holder. Read on any day from 2025 to 2033 the file gives
// exactly the returned number of bad rows.
func Generate(w io.Writer, n int, badPercent float64, seed int64) (bad int, err error) {
	const op = "enroll.Generate"
	if n < 0 || n > MaxGenerate {
		return 0, carnet.Errorf(carnet.EINVALID, "nombre de lignes hors limites : 0 à %d", MaxGenerate)
	}
	if math.IsNaN(badPercent) || badPercent < 0 || badPercent > 100 {
		return 0, carnet.Errorf(carnet.EINVALID, "pourcentage de lignes erronées hors limites : 0 à 100")
	}
	target := int64(math.Round(float64(n) * badPercent / 100))
	g := &generator{
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		offset: uint64(seed) % uint64(MaxGenerate),
		buf:    make([]byte, 0, 512),
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString(Header + "\n"); err != nil {
		return 0, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	for i := range n {
		kind := kindGood
		if (int64(i)+1)*target/int64(n) > int64(i)*target/int64(n) {
			kind = 1 + g.rng.IntN(numKinds-1)
			bad++
		}
		g.row(i, kind)
		if _, err := bw.Write(g.buf); err != nil {
			return bad, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return bad, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	return bad, nil
}

type generator struct {
	rng    *rand.Rand
	offset uint64
	buf    []byte
	adults [64]string // NIRs of the last good adults, for minors' rights holders
	nadult int
}

// exampleNIR is the NIR of DOMAIN.md's example, for an adult given a rights holder before any
// adult was written.
const exampleNIR = "255081416802538"

func (g *generator) row(i, kind int) {
	r := g.rng
	minor := kind == kindGood && g.nadult > 0 && r.IntN(10) == 0
	female := r.IntN(2) == 0
	year := adultFirstYear + r.IntN(adultYears)
	if minor {
		year = minorFirstYear + r.IntN(minorYears)
	}
	month, day := 1+r.IntN(12), 1+r.IntN(28)
	if kind == kindDate {
		month, day = 2, 30
	}

	// NIR.
	j := (uint64(i)*nirSpread + g.offset) % uint64(MaxGenerate)
	order, commune, dept := j%nirOrders+1, j/nirOrders%nirCommunes+1, j/(nirOrders*nirCommunes)
	var nb [15]byte
	body := nb[:0]
	if female {
		body = append(body, '2')
	} else {
		body = append(body, '1')
	}
	body = appendPad(body, year%100, 2)
	body = appendPad(body, month, 2)
	body = append(body, departments[dept]...)
	body = appendPad(body, int(commune), 3)
	body = appendPad(body, int(order), 3)
	key, err := carnet.NIRKey(string(body))
	if err != nil {
		panic("enroll: generated NIR body rejected: " + err.Error()) // a bug in this file
	}
	if kind == kindKey {
		key = key%97 + 1
	}
	nir := string(appendPad(body, key, 2))

	b := g.buf[:0]
	b = append(b, nir...)
	b = append(b, ';')

	// Vitale serial number.
	switch {
	case kind == kindSerial:
		b = appendField(b, badSerials[r.IntN(len(badSerials))])
	case r.IntN(10) == 0:
		for k := range 3 {
			if k > 0 {
				b = append(b, ' ')
			}
			b = appendPad(b, r.IntN(10000), 4)
		}
	default:
		b = appendPad(b, r.IntN(1000000), 6)
		b = appendPad(b, r.IntN(1000000), 6)
	}
	b = append(b, ';')

	// Names and sex.
	sur := surnames[r.IntN(len(surnames))]
	givens := maleNames
	if female {
		givens = femaleNames
	}
	first := givens[r.IntN(len(givens))]
	b = appendField(b, sur.display)
	b = append(b, ';')
	b = appendField(b, first.display)
	for range r.IntN(3) {
		b = append(b, ' ')
		b = appendField(b, givens[r.IntN(len(givens))].display)
	}
	b = append(b, ';')
	if female && !minor && r.IntN(6) == 0 {
		b = appendField(b, surnames[r.IntN(len(surnames))].display)
	}
	b = append(b, ';')
	if female {
		b = append(b, 'F')
	} else {
		b = append(b, 'M')
	}
	b = append(b, ';')
	b = appendPad(b, year, 4)
	b = append(b, '-')
	b = appendPad(b, month, 2)
	b = append(b, '-')
	b = appendPad(b, day, 2)
	b = append(b, ';')

	// Contact: email; mobile; postal address.
	var email, mobile, postal bool
	switch c := r.IntN(100); {
	case kind == kindNoContact:
	case minor:
		email = c < 20
	case c < 60:
		email, mobile = true, c < 20
	case c < 85:
		mobile = true
	default:
		postal = true
	}
	if email {
		b = append(b, first.ascii...)
		b = append(b, '.')
		b = append(b, sur.ascii...)
		if r.IntN(2) == 0 {
			b = appendPad(b, i%100, 2)
		}
		b = append(b, domains[r.IntN(len(domains))]...)
	}
	b = append(b, ';')
	if mobile {
		b = g.appendMobile(b)
	}
	b = append(b, ';')
	if postal {
		b = g.appendAddress(b)
	}

	// Rights holder (the field-count kind drops this last field).
	if kind != kindFieldCount {
		b = append(b, ';')
		switch {
		case minor:
			b = append(b, g.adults[r.IntN(min(g.nadult, len(g.adults)))]...)
		case kind == kindAdultHolder && g.nadult > 0:
			b = append(b, g.adults[r.IntN(min(g.nadult, len(g.adults)))]...)
		case kind == kindAdultHolder:
			b = append(b, exampleNIR...)
		}
	}
	b = append(b, '\n')
	g.buf = b

	if kind == kindGood && !minor {
		g.adults[g.nadult%len(g.adults)] = nir
		g.nadult++
	}
}

func (g *generator) appendMobile(b []byte) []byte {
	r := g.rng
	digits := 600000000 + r.IntN(200000000) // 6xxxxxxxx or 7xxxxxxxx
	switch r.IntN(4) {
	case 0:
		b = append(b, "+33"...)
		return appendPad(b, digits, 9)
	case 1:
		b = append(b, '0')
		return appendPad(b, digits, 9)
	default:
		sep := byte(' ')
		if r.IntN(3) == 0 {
			sep = '.'
		}
		b = append(b, '0', byte('0'+digits/100000000))
		rest := digits % 100000000
		for k := 3; k >= 0; k-- {
			b = append(b, sep)
			b = appendPad(b, rest/pow100[k]%100, 2)
		}
		return b
	}
}

var pow100 = [4]int{1, 100, 10000, 1000000}

func (g *generator) appendAddress(b []byte) []byte {
	r := g.rng
	var a []byte
	a = appendPad(a, 1+r.IntN(150), 1)
	a = append(a, ' ')
	a = append(a, streets[r.IntN(len(streets))]...)
	sep := " / "
	if r.IntN(2) == 0 {
		sep = "\n"
	}
	if r.IntN(5) == 0 {
		a = append(a, sep...)
		a = append(a, complements[r.IntN(len(complements))]...)
	}
	a = append(a, sep...)
	a = append(a, cities[r.IntN(len(cities))]...)
	return appendField(b, string(a))
}

// appendPad appends v (not negative) in decimal, zero-padded to width digits.
func appendPad(b []byte, v, width int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		width--
		if v == 0 && width <= 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// appendField appends s as a CSV field, quoted when it holds a separator, a quote or a line break.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ";,\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for k := 0; k < len(s); k++ {
		if s[k] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[k])
	}
	return append(b, '"')
}
