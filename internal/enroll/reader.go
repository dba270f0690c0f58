package enroll

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// Row is a valid row: a patient ready to be created, with what goes beside it.
type Row struct {
	Line            int            // physical line where the record starts (the header is line 1)
	Patient         carnet.Patient // NIR normalized, INSOID set, Status empty
	VitaleSerial    string         // spaces removed
	RightsHolderNIR string         // normalized; set for a minor only
}

// Bad is a rejected row: where it starts and every problem found, in French, joined with "; ".
// The reason never quotes a NIR.
type Bad struct {
	Line   int
	Reason string
}

// Columns, in the order of the canonical header.
const (
	colNIR = iota
	colVitale
	colBirthName
	colGivenNames
	colUsedName
	colSex
	colBirthDate
	colEmail
	colMobile
	colPostal
	colRightsHolder
	numCols
)

var columnNames = [numCols]string{
	"nir", "vitale_serial", "birth_name", "given_names", "used_name", "sex", "birth_date",
	"email", "mobile", "postal_address", "rights_holder_nir",
}

var requiredColumn = [numCols]bool{
	colNIR: true, colVitale: true, colBirthName: true, colGivenNames: true, colSex: true, colBirthDate: true,
}

// Header is the canonical header line, with ";" as separator.
const Header = "nir;vitale_serial;birth_name;given_names;used_name;sex;birth_date;email;mobile;postal_address;rights_holder_nir"

var bom = []byte("\ufeff")

// Reader reads and validates an enrolment file one record at a time. It is not safe for
// concurrent use.
type Reader struct {
	cr      *csv.Reader
	now     time.Time
	bom     int64
	col     [numCols]int // index of each column in a record, -1 when absent
	nfields int

	pending bool // a record read by SkipThrough, not yet returned
	rec     []string
	recLine int
	recErr  error

	err error // sticky: io.EOF or a fatal error
}

// NewReader reads the header of an enrolment file and returns a Reader positioned on the first
// data row. now fixes the day against which ages (minor or adult) and birth dates are checked.
// A missing, unknown or repeated column is an EINVALID error naming it.
func NewReader(r io.Reader, now time.Time) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var skipped int64
	if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
		n, _ := br.Discard(len(bom))
		skipped = int64(n)
	}
	first, err := peekLine(br)
	if err != nil {
		return nil, carnet.WrapErr("enroll.NewReader", carnet.EUNAVAILABLE, err)
	}
	cr := csv.NewReader(br)
	cr.Comma = detectComma(first)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	er := &Reader{cr: cr, now: now, bom: skipped}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, carnet.Errorf(carnet.EINVALID, "fichier vide : une ligne d'en-tête est attendue (%s)", Header)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, carnet.Errorf(carnet.EINVALID, "ligne %d : en-tête illisible (%s)", pe.StartLine, syntaxProblem(pe))
	}
	if err != nil {
		return nil, carnet.WrapErr("enroll.NewReader", carnet.EUNAVAILABLE, err)
	}
	if err := er.setHeader(header); err != nil {
		return nil, err
	}
	return er, nil
}

// peekLine returns the first line of br without consuming it (or what fits in its buffer).
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 512; ; n *= 2 {
		if n > br.Size() {
			n = br.Size()
		}
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i], nil
		}
		if err == io.EOF || n == br.Size() {
			return b, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, err
		}
	}
}

// detectComma picks ";" or "," from the header line: the one used most outside quotes.
func detectComma(line []byte) rune {
	semi, comma, quoted := 0, 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ';':
			semi++
		case c == ',':
			comma++
		}
	}
	if semi > comma {
		return ';'
	}
	return ','
}

func (r *Reader) setHeader(header []string) error {
	line, _ := r.cr.FieldPos(0)
	for i := range r.col {
		r.col[i] = -1
	}
	var unknown []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		c := columnIndex(name)
		switch {
		case c < 0 && strings.ContainsAny(name, "0123456789@+"):
			// Probably data (a file without header): name it by position, never quote a NIR.
			unknown = append(unknown, fmt.Sprintf("n° %d", i+1))
		case c < 0:
			unknown = append(unknown, strconv.Quote(truncate(h, 40)))
		case r.col[c] >= 0:
			return carnet.Errorf(carnet.EINVALID, "ligne %d : colonne %s en double", line, name)
		default:
			r.col[c] = i
		}
	}
	if len(unknown) == len(header) {
		return carnet.Errorf(carnet.EINVALID, "ligne %d : aucune colonne reconnue ; la première ligne doit être l'en-tête (%s)", line, Header)
	}
	if len(unknown) > 0 {
		s := ""
		if len(unknown) > 1 {
			s = "s"
		}
		return carnet.Errorf(carnet.EINVALID, "ligne %d : colonne%s inconnue%s : %s (colonnes admises : %s)",
			line, s, s, strings.Join(unknown, ", "), strings.Join(columnNames[:], ", "))
	}
	var missing []string
	for c, req := range requiredColumn {
		if req && r.col[c] < 0 {
			missing = append(missing, columnNames[c])
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return carnet.Errorf(carnet.EINVALID, "ligne %d : colonne obligatoire manquante : %s", line, missing[0])
	default:
		return carnet.Errorf(carnet.EINVALID, "ligne %d : colonnes obligatoires manquantes : %s", line, strings.Join(missing, ", "))
	}
	r.nfields = len(header)
	return nil
}

func columnIndex(name string) int {
	for i, n := range columnNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Offset returns the number of bytes of the input consumed so far (byte-order mark included),
// for a progress estimate.
func (r *Reader) Offset() int64 { return r.bom + r.cr.InputOffset() }

// read returns the next record with the line where it starts, or a pending one.
func (r *Reader) read() (rec []string, line int, err error) {
	if r.pending {
		r.pending = false
		return r.rec, r.recLine, r.recErr
	}
	rec, err = r.cr.Read()
	if err == nil {
		line, _ = r.cr.FieldPos(0)
		return rec, line, nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line = pe.StartLine
	}
	return rec, line, err
}

// Next returns the next row: a valid one (row), a rejected one (bad), or an error. It returns
// io.EOF at the end of the file. Any other error is fatal (an unreadable input, or a quoted field
// never closed, which the message names by line): later calls return it again.
//
// The returned Row and Bad belong to the caller.
func (r *Reader) Next() (row *Row, bad *Bad, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	rec, line, err := r.read()
	if err != nil {
		bad, err := r.readError(err)
		if err != nil {
			r.err = err
		}
		return nil, bad, err
	}
	return r.check(rec, line)
}

// readError turns a csv error into a bad row when the reader can go on, or a fatal error.
func (r *Reader) readError(err error) (*Bad, error) {
	if err == io.EOF {
		return nil, io.EOF
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return nil, carnet.WrapErr("enroll.Next", carnet.EUNAVAILABLE, err)
	}
	if pe.Err == csv.ErrQuote && pe.Line > pe.StartLine {
		// A quoted field ran over lines up to a quote that does not close it, or to the end of
		// the file: the records in between were read as one field. Going on would lose them.
		return nil, carnet.Errorf(carnet.EINVALID,
			"ligne %d : champ entre guillemets mal refermé (lu jusqu'à la ligne %d) ; lecture arrêtée, corrigez les guillemets puis relancez",
			pe.StartLine, pe.Line)
	}
	return &Bad{Line: pe.StartLine, Reason: syntaxProblem(pe)}, nil
}

func syntaxProblem(pe *csv.ParseError) string {
	switch pe.Err {
	case csv.ErrBareQuote:
		return fmt.Sprintf("erreur de syntaxe CSV : guillemet dans un champ non entouré de guillemets (colonne %d)", pe.Column)
	case csv.ErrQuote:
		return fmt.Sprintf("erreur de syntaxe CSV : guillemet mal placé dans un champ entre guillemets (colonne %d)", pe.Column)
	}
	return "erreur de syntaxe CSV"
}

// SkipThrough skips, without validating them, the records that start on or before line: a
// resumed run calls it with the line of its checkpoint before reading on. Reaching the end of
// the file is not an error (Next then returns io.EOF).
func (r *Reader) SkipThrough(line int) error {
	for r.err == nil {
		rec, l, err := r.read()
		if err == io.EOF {
			r.err = io.EOF
			return nil
		}
		if l > line {
			r.pending, r.rec, r.recLine, r.recErr = true, rec, l, err
			return nil
		}
		if err != nil {
			if _, err := r.readError(err); err != nil {
				r.err = err
			}
		}
	}
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// field returns the trimmed value of column c, "" when the column is absent.
func (r *Reader) field(rec []string, c int) string {
	if i := r.col[c]; i >= 0 {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// check validates one record of the right shape.
func (r *Reader) check(rec []string, line int) (*Row, *Bad, error) {
	if len(rec) != r.nfields {
		reason := fmt.Sprintf("nombre de champs incorrect : %d au lieu de %d", len(rec), r.nfields)
		if last, _ := r.cr.FieldPos(len(rec) - 1); last > line {
			reason += fmt.Sprintf(" (l'enregistrement court jusqu'à la ligne %d au moins : vérifiez les guillemets)", last)
		}
		return nil, &Bad{Line: line, Reason: reason}, nil
	}
	var problems []string
	p := carnet.Patient{
		NIR:           normalizeNIR(r.field(rec, colNIR)),
		INSOID:        carnet.OIDINSNIR,
		BirthName:     r.field(rec, colBirthName),
		GivenNames:    r.field(rec, colGivenNames),
		UsedName:      r.field(rec, colUsedName),
		Sex:           carnet.Sex(upperASCII(r.field(rec, colSex))),
		Email:         r.field(rec, colEmail),
		PostalAddress: normalizeAddress(r.field(rec, colPostal)),
	}
	if m := r.field(rec, colMobile); m != "" {
		p.Mobile = normalizeMobile(m)
	}
	badDate := ""
	if s := r.field(rec, colBirthDate); s != "" {
		t, ok := parseDate(s)
		if !ok {
			badDate = fmt.Sprintf("date de naissance invalide : %q (date réelle au format AAAA-MM-JJ attendue)", truncate(s, 40))
		} else {
			p.BirthDate = t
		}
	}
	if err := p.Validate(r.now); err != nil {
		msg := strings.TrimPrefix(carnet.ErrorMessage(err), "patient invalide : ")
		for _, pb := range strings.Split(msg, " ; ") {
			if badDate != "" && pb == "date de naissance manquante" {
				pb = badDate
			}
			problems = append(problems, pb)
		}
	}
	// The other fields are checked by their own rules (names, email, digits), which refuse
	// invalid UTF-8; the postal address is free text.
	if !utf8.ValidString(p.PostalAddress) {
		problems = append(problems, "adresse postale : texte non encodé en UTF-8")
	}
	for _, c := range p.PostalAddress {
		if c < ' ' && c != '\n' || c == 0x7f {
			problems = append(problems, "adresse postale : caractère de contrôle")
			break
		}
	}

	serial := r.field(rec, colVitale)
	if strings.IndexByte(serial, ' ') >= 0 || strings.IndexByte(serial, 0xc2) >= 0 { // space, no-break space
		serial = strings.ReplaceAll(strings.ReplaceAll(serial, " ", ""), "\u00a0", "")
	}
	if serial == "" {
		problems = append(problems, "numéro de série de la carte Vitale manquant")
	} else if !validSerial(serial) {
		problems = append(problems, "numéro de série de la carte Vitale invalide : 8 à 20 chiffres ou lettres majuscules attendus")
	}

	holder := normalizeNIR(r.field(rec, colRightsHolder))
	contact := p.Email != "" || p.Mobile != "" || p.PostalAddress != ""
	known := !p.BirthDate.IsZero() && !p.BirthDate.After(r.now)
	minor := known && p.AgeOn(r.now) < 18
	switch {
	case minor:
		if holder == "" {
			problems = append(problems, "mineur : le NIR de l'ouvrant droit (rights_holder_nir) est obligatoire")
		} else {
			problems = checkHolder(problems, holder, p.NIR)
		}
	case known:
		if holder != "" {
			problems = append(problems, "majeur : rights_holder_nir doit rester vide (l'ouvrant droit ne concerne que les mineurs)")
		}
		if !contact {
			problems = append(problems, "majeur sans moyen de contact : courriel, mobile ou adresse postale requis")
		}
	default: // age unknown: the birth date is already reported
		if holder != "" {
			problems = checkHolder(problems, holder, p.NIR)
		} else if !contact {
			problems = append(problems, "aucun moyen de contact (courriel, mobile ou adresse postale) ni ouvrant droit")
		}
	}

	if len(problems) > 0 {
		return nil, &Bad{Line: line, Reason: maskNIRs(strings.Join(problems, "; "))}, nil
	}
	row := &Row{Line: line, Patient: p, VitaleSerial: serial}
	if minor {
		row.RightsHolderNIR = holder
	}
	return row, nil, nil
}

// parseDate parses a real date written AAAA-MM-JJ into UTC midnight, as time.Parse with the
// layout 2006-01-02 does, several times faster.
func parseDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	n := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	y, m, d := n(s[:4]), n(s[5:7]), n(s[8:])
	if y < 0 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 30 February and the like
		return time.Time{}, false
	}
	return t, true
}

// maskNIRs hides, in a reason, any run of 13 digits or more (spaces, dots and dashes between
// digits allowed, 2A/2B counted as digits): a NIR typed into another column (email, mobile,
// date) would otherwise be quoted by the message about that column.
func maskNIRs(s string) string {
	isDigit := func(i int) bool {
		if i >= len(s) {
			return false
		}
		c := s[i]
		return c >= '0' && c <= '9' || (c == 'A' || c == 'B' || c == 'a' || c == 'b') && i > 0 && s[i-1] == '2'
	}
	var b []byte
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(i) {
			i++
			continue
		}
		start, digits, j := i, 0, i
		for {
			for isDigit(j) {
				digits++
				j++
			}
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '.' || s[j] == '-') && isDigit(j+1) {
				j++
				continue
			}
			break
		}
		if digits >= 13 {
			b = append(b, s[last:start]...)
			b = append(b, "***"...)
			last = j
		}
		i = j
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

func checkHolder(problems []string, holder, own string) []string {
	if err := carnet.ValidateNIR(holder); err != nil {
		msg := strings.TrimPrefix(carnet.ErrorMessage(err), "NIR invalide : ")
		return append(problems, "NIR de l'ouvrant droit invalide : "+msg)
	}
	if holder == own {
		return append(problems, "le NIR de l'ouvrant droit est celui de la personne elle-même")
	}
	return problems
}

func validSerial(s string) bool {
	if len(s) < 8 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// normalizeAddress turns " / " separators into line breaks and trims each line.
func normalizeAddress(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, " / ") {
		s = strings.ReplaceAll(s, " / ", "\n")
	}
	if !strings.Contains(s, "\n") {
		return s
	}
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// normalizeNIR is carnet.NormalizeNIR without its cost when s is already normalized.
func normalizeNIR(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return carnet.NormalizeNIR(s)
		}
	}
	return s
}

// normalizeMobile is carnet.NormalizeMobile (same result, checked by a test) without building
// a strings.Replacer on every call: at a million rows that dominated the reading time.
func normalizeMobile(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '.' || c == '-' {
			b := make([]byte, 0, len(s))
			for i := 0; i < len(s); i++ {
				if c := s[i]; c != ' ' && c != '.' && c != '-' {
					b = append(b, c)
				}
			}
			s = string(b)
			break
		}
	}
	if len(s) == 10 && s[0] == '0' {
		return "+33" + s[1:]
	}
	return s
}

func upperASCII(s string) string {
	if len(s) == 1 && s[0] >= 'a' && s[0] <= 'z' {
		return string(rune(s[0] - 'a' + 'A'))
	}
	return s
}

// truncate shortens s to at most n runes for a message.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
