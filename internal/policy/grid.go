package policy

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/carnet-sante/carnet"
)

// defaultGridData is the grid shipped with Carnet: the public grid of the Arrêté du 26 octobre
// 2023 as far as the sources describe it (rows marked "approx" are our reading).
//
//go:embed grid/grid-2023-10-26.csv
var defaultGridData []byte

// DefaultGrid returns the grid shipped with Carnet (grid/grid-2023-10-26.csv). The result is
// shared and immutable.
func DefaultGrid() *Grid { return defaultGrid() }

var defaultGrid = sync.OnceValue(func() *Grid {
	g, err := ParseGrid(bytes.NewReader(defaultGridData))
	if err != nil {
		panic("policy: embedded grid: " + err.Error())
	}
	return g
})

// DefaultGridData returns a copy of the text of the grid shipped with Carnet.
func DefaultGridData() []byte { return bytes.Clone(defaultGridData) }

// Limits of a grid file.
const (
	maxGridRows    = 10000
	maxGridLine    = 4096
	maxVersionSize = 64
	gridHeader     = "profession,specialty,document,read,source"
	gridHeaderMin  = "profession,specialty,document,read"
	classPrefix    = "class:"
	allTypes       = "*"
)

// GridRow is one row of a grid file: the read right of a profession, optionally narrowed to a
// specialty, on one document type, one class ("class:10") or every type ("*").
type GridRow struct {
	Profession carnet.Profession
	Specialty  string // TRE_R38 code, or "" for the whole profession
	Document   string // a type code, "class:<code>" or "*"
	Allow      bool
	Approx     bool // an approximation of the legal grid, not a sourced right
}

// Grid is a versioned authorization grid: (profession, specialty) × document type → read. It is
// immutable once parsed and safe for concurrent use. Rights are held as bitsets over the dense
// index of document types, one per profession and one per (profession, specialty) that has rows
// of its own.
type Grid struct {
	version string
	rows    []GridRow
	prof    [maxProfessions]typeSet // by profession index: the profession rows' rights
	spec    []specSet               // specialties with rows of their own
	hasSpec [maxProfessions]bool    // by profession index: spec holds entries for it
}

// specSet is the rights of one specialty of one profession.
type specSet struct {
	prof      int
	specialty string
	set       typeSet
}

// Version returns the grid's version, as its file names it.
func (g *Grid) Version() string { return g.version }

// Rows returns a copy of the grid's rows, in file order.
func (g *Grid) Rows() []GridRow { return slices.Clone(g.rows) }

// Allows reports whether the grid lets a professional of that profession and specialty read a
// document of that type. Unknown professions and types are denied; an unknown or empty
// specialty gets the profession's rights.
func (g *Grid) Allows(p carnet.Profession, specialty, typeCode string) bool {
	pi, ti := professionIndex(p), typeIndex(typeCode)
	if pi < 0 || ti < 0 {
		return false
	}
	return g.allows(pi, specialty, ti)
}

// allows is Allows on dense indices; it does not allocate.
func (g *Grid) allows(pi int, specialty string, ti int) bool {
	return g.set(pi, specialty).has(ti)
}

// set returns the rights of a profession index and specialty.
func (g *Grid) set(pi int, specialty string) *typeSet {
	if specialty != "" && g.hasSpec[pi] {
		for i := range g.spec {
			if g.spec[i].prof == pi && g.spec[i].specialty == specialty {
				return &g.spec[i].set
			}
		}
	}
	return &g.prof[pi]
}

// specialties returns the specialties of profession index pi that have rows of their own.
func (g *Grid) specialties(pi int) []string {
	var out []string
	for _, s := range g.spec {
		if s.prof == pi {
			out = append(out, s.specialty)
		}
	}
	return out
}

// ParseGrid reads a grid file: comment lines ("#") and blank lines are ignored; the first record
// is "version,<name>", the second the header "profession,specialty,document,read,source"
// (source optional); then one row a line. Errors are EINVALID and name the line: an unknown
// profession, specialty, class or type, a bad right, a duplicate row.
func ParseGrid(r io.Reader) (*Grid, error) {
	p := gridParser{seen: make(map[rowKey]int)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxGridLine)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, gridErr(p.line+1, "ligne trop longue (%d caractères au plus)", maxGridLine)
		}
		return nil, carnet.WrapErr("policy.ParseGrid", carnet.EINVALID, err)
	}
	if p.g.version == "" {
		return nil, carnet.Errorf(carnet.EINVALID, "grille invalide : ligne « version,<nom> » manquante")
	}
	if !p.header {
		return nil, carnet.Errorf(carnet.EINVALID, "grille invalide : ligne d'en-tête « %s » manquante", gridHeader)
	}
	p.g.compile()
	return &p.g, nil
}

// gridParser holds the state of ParseGrid.
type gridParser struct {
	g      Grid
	line   int
	header bool
	seen   map[rowKey]int // row key → line
}

type rowKey struct {
	prof      carnet.Profession
	specialty string
	doc       string
}

func gridErr(line int, format string, args ...any) error {
	return carnet.Errorf(carnet.EINVALID, "grille invalide, ligne %d : "+format, append([]any{line}, args...)...)
}

func (p *gridParser) parseLine(text string) error {
	text = strings.TrimSpace(text)
	if text == "" || text[0] == '#' {
		return nil
	}
	fields := strings.Split(text, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	switch {
	case p.g.version == "":
		return p.parseVersion(fields)
	case !p.header:
		if h := strings.Join(fields, ","); h != gridHeader && h != gridHeaderMin {
			return gridErr(p.line, "en-tête « %s » attendu, %q reçu", gridHeader, text)
		}
		p.header = true
		return nil
	}
	return p.parseRow(fields)
}

func (p *gridParser) parseVersion(fields []string) error {
	if len(fields) != 2 || fields[0] != "version" {
		return gridErr(p.line, "« version,<nom> » attendu en premier")
	}
	v := fields[1]
	if v == "" || len(v) > maxVersionSize {
		return gridErr(p.line, "version vide ou trop longue (%d caractères au plus)", maxVersionSize)
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._+-:", c) >= 0) {
			return gridErr(p.line, "version %q : lettres, chiffres et « . _ + - : » seulement", v)
		}
	}
	p.g.version = v
	return nil
}

func (p *gridParser) parseRow(f []string) error {
	if len(f) != 4 && len(f) != 5 {
		return gridErr(p.line, "4 ou 5 champs attendus (profession, spécialité, document, droit, source), %d reçus", len(f))
	}
	if len(p.g.rows) >= maxGridRows {
		return gridErr(p.line, "trop de lignes (%d au plus)", maxGridRows)
	}
	row := GridRow{Profession: carnet.Profession(f[0]), Specialty: f[1], Document: f[2]}
	if professionIndex(row.Profession) < 0 {
		return gridErr(p.line, "profession inconnue : %q", f[0])
	}
	if row.Specialty != "" && carnet.SpecialtyLabel(row.Specialty) == "" {
		return gridErr(p.line, "spécialité inconnue : %q", f[1])
	}
	if err := checkDocument(row.Document); err != "" {
		return gridErr(p.line, "%s", err)
	}
	switch f[3] {
	case "allow":
		row.Allow = true
	case "deny":
	default:
		return gridErr(p.line, "droit %q : « allow » ou « deny » attendu", f[3])
	}
	if len(f) == 5 {
		switch f[4] {
		case "approx":
			row.Approx = true
		case "sourced", "":
		default:
			return gridErr(p.line, "source %q : « sourced » ou « approx » attendu", f[4])
		}
	}
	k := rowKey{row.Profession, row.Specialty, row.Document}
	if first, dup := p.seen[k]; dup {
		return gridErr(p.line, "ligne en double (déjà en ligne %d) pour %s", first, rowName(row))
	}
	p.seen[k] = p.line
	p.g.rows = append(p.g.rows, row)
	return nil
}

// checkDocument returns a French problem, or "" when doc is "*", a known class or a known type.
func checkDocument(doc string) string {
	switch {
	case doc == allTypes:
		return ""
	case strings.HasPrefix(doc, classPrefix):
		if !carnet.DocClass(doc[len(classPrefix):]).Valid() {
			return "classe de document inconnue : " + quote(doc[len(classPrefix):])
		}
		return ""
	case typeIndex(doc) < 0:
		return "type de document inconnu : " + quote(doc)
	}
	return ""
}

func quote(s string) string { return "« " + s + " »" }

// rowName names a row's key in messages: "10/SM42/11526-1".
func rowName(r GridRow) string {
	s := string(r.Profession)
	if r.Specialty != "" {
		s += "/" + r.Specialty
	}
	return s + "/" + r.Document
}

// Precedence levels of a row on a type.
const (
	levelNone = iota
	levelAll
	levelClass
	levelType
)

// rowLevel returns how specifically a document field covers type index ti.
func rowLevel(doc string, ti int) int {
	switch {
	case doc == allTypes:
		return levelAll
	case strings.HasPrefix(doc, classPrefix):
		if carnet.DocClass(doc[len(classPrefix):]) == docTypes[ti].Class {
			return levelClass
		}
		return levelNone
	case doc == docTypes[ti].Code:
		return levelType
	}
	return levelNone
}

// resolved is the right of one key on each type, with the level of the row that set it.
type resolved struct {
	level [maxTypes]int8
	allow typeSet
}

func (r *resolved) apply(row GridRow) {
	for ti := range docTypes {
		if l := int8(rowLevel(row.Document, ti)); l > r.level[ti] {
			r.level[ti] = l
			r.allow.put(ti, row.Allow)
		}
	}
}

// compile turns the rows into bitsets: a specialty's rows beat its profession's rows; within one
// key a type row beats a class row, which beats "*"; a type no row covers is denied.
func (g *Grid) compile() {
	var byProf [maxProfessions]resolved
	specs := map[rowKey]*resolved{} // doc field unused
	var order []rowKey
	for _, row := range g.rows {
		pi := professionIndex(row.Profession)
		if row.Specialty == "" {
			byProf[pi].apply(row)
			continue
		}
		k := rowKey{prof: row.Profession, specialty: row.Specialty}
		if specs[k] == nil {
			specs[k] = new(resolved)
			order = append(order, k)
		}
		specs[k].apply(row)
	}
	for pi := range professions {
		g.prof[pi] = byProf[pi].allow
	}
	for _, k := range order {
		pi := professionIndex(k.prof)
		s := specs[k]
		set := s.allow
		for ti := range docTypes {
			if s.level[ti] == levelNone {
				set.put(ti, byProf[pi].allow.has(ti))
			}
		}
		g.spec = append(g.spec, specSet{prof: pi, specialty: k.specialty, set: set})
		g.hasSpec[pi] = true
	}
}

// Encode writes the grid in the format ParseGrid reads, so that a loaded grid can be stored and
// reloaded: the same version and rows, comments dropped.
func (g *Grid) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# Grille d'habilitation Carnet\n")
	bw.WriteString("version," + g.version + "\n")
	bw.WriteString(gridHeader + "\n")
	for _, r := range g.rows {
		right, source := "deny", "sourced"
		if r.Allow {
			right = "allow"
		}
		if r.Approx {
			source = "approx"
		}
		bw.WriteString(string(r.Profession) + "," + r.Specialty + "," + r.Document + "," + right + "," + source + "\n")
	}
	return bw.Flush()
}

// MarshalText returns the grid as Encode writes it.
func (g *Grid) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	if err := g.Encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalText replaces g by the grid that text describes (see ParseGrid).
func (g *Grid) UnmarshalText(text []byte) error {
	n, err := ParseGrid(bytes.NewReader(text))
	if err != nil {
		return err
	}
	*g = *n
	return nil
}
