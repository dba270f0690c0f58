package letter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/pdftext"
)

// PDFSink renders each batch into one new A4 PDF file in a directory, for a print-and-post
// service: one letter per sheet (a long letter continues on the next pages, a letter always
// starts on a new page), the recipient's address placed for a DL window envelope, the idempotency
// key and the page number within the letter at the foot of each page.
//
// The file is written under a temporary name, synced, given its final name
// lettres-YYYYMMDD-HHMMSS-<ID of its first letter>.pdf (UTC; "-2", "-3"… are appended rather
// than replace an existing file), and the directory is synced before SendBatch returns: a batch
// acknowledged is on disk. Invalid letters (see Check) are left out and reported in a
// *BatchError; when none is valid, no file is written. The service should ignore files whose
// name starts with a dot (temporary files, left behind only by a crash).
//
// The core PDF fonts only cover Windows-1252: the text is NFC-normalized, and characters outside
// that code page are printed as "?".
type PDFSink struct {
	dir      string
	sender   []string
	place    string
	loc      *time.Location
	clock    func() time.Time
	compress bool
	duplex   bool
	onWrite  func(path string, ids []string)
}

// PDFOption tunes a PDFSink.
type PDFOption func(*PDFSink)

// WithSender sets the sender block printed at the top left of each letter, one line per argument,
// the first in bold. By default: "Carnet — Mon espace santé", "Assurance Maladie",
// "Service Carnet — 75000 PARIS".
func WithSender(lines ...string) PDFOption {
	return func(s *PDFSink) { s.sender = append([]string(nil), lines...) }
}

// WithPlace sets the place printed before the date ("Paris" by default: "Paris, le 3 mars 2026").
func WithPlace(place string) PDFOption {
	return func(s *PDFSink) { s.place = place }
}

// WithClock sets the clock that dates the letters and names the files (time.Now by default).
// Letters are dated in Europe/Paris time when that zone is known, else in the clock's zone.
func WithClock(now func() time.Time) PDFOption {
	return func(s *PDFSink) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithoutCompression leaves the page contents uncompressed, so that the text can be searched in
// the file (tests, diagnostics).
func WithoutCompression() PDFOption {
	return func(s *PDFSink) { s.compress = false }
}

// WithDuplex pads each letter with a blank page to an even number of pages, for printers that
// print both sides of the sheet.
func WithDuplex() PDFOption {
	return func(s *PDFSink) { s.duplex = true }
}

// WithOnWrite sets a function called with the path of each file written and the IDs of the
// letters in it, in order, once the file is durable and before SendBatch returns. It may be
// called from concurrent SendBatch calls.
func WithOnWrite(fn func(path string, ids []string)) PDFOption {
	return func(s *PDFSink) { s.onWrite = fn }
}

// NewPDFSink returns a sink writing into dir (created if needed).
func NewPDFSink(dir string, opts ...PDFOption) *PDFSink {
	s := &PDFSink{
		dir:      dir,
		sender:   []string{"Carnet — Mon espace santé", "Assurance Maladie", "Service Carnet — 75000 PARIS"},
		place:    "Paris",
		clock:    time.Now,
		compress: true,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(s)
		}
	}
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		s.loc = loc
	}
	return s
}

// Page layout, in millimetres (A4 portrait, 210 × 297).
const (
	pageMargin   = 20.0 // left and right
	pageTop      = 15.0
	pageBreakAt  = 25.0 // from the bottom: the body stops above the footer
	addressX     = 100.0
	addressY     = 48.0 // the window of a DL envelope, letter folded in three
	addressW     = 90.0
	dateY        = 92.0
	subjectY     = 106.0
	footerY      = 297.0 - 14
	bodyWidth    = 210.0 - 2*pageMargin
	bodyLineH    = 5.5
	addressLineH = 5.0
)

// SendBatch renders the valid letters of batch into one new PDF file.
func (s *PDFSink) SendBatch(ctx context.Context, batch []Letter) error {
	if err := ctx.Err(); err != nil {
		return &Error{Err: err}
	}
	failed := map[string]error{}
	valid := make([]Letter, 0, len(batch))
	for _, l := range batch {
		if err := Check(l); err != nil {
			failed[l.ID] = err
			continue
		}
		valid = append(valid, l)
	}
	if len(valid) > 0 {
		now := s.clock()
		doc, err := s.render(ctx, valid, now)
		if err != nil {
			return &Error{Err: err}
		}
		path, err := s.write(doc, now, valid[0].ID)
		if err != nil {
			return &Error{Err: err}
		}
		if s.onWrite != nil {
			ids := make([]string, len(valid))
			for i, l := range valid {
				ids[i] = l.ID
			}
			s.onWrite(path, ids)
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

// render lays out the letters and returns the PDF document.
func (s *PDFSink) render(ctx context.Context, letters []Letter, now time.Time) (*fpdf.Fpdf, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(s.compress)
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetCreator("Carnet", false)
	pdf.SetMargins(pageMargin, pageTop, pageMargin)
	pdf.SetAutoPageBreak(true, pageBreakAt)
	tr := pdftext.CP1252(pdf.UnicodeTranslatorFromDescriptor(""))
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	date := frenchDate(s.place, s.dateIn(now))
	for i, l := range letters {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s.renderLetter(pdf, tr, l, date)
		if err := pdf.Error(); err != nil {
			return nil, fmt.Errorf("pdf: letter %s: %w", l.ID, err)
		}
	}
	return pdf, nil
}

func (s *PDFSink) dateIn(now time.Time) time.Time {
	if s.loc != nil {
		return now.In(s.loc)
	}
	return now
}

func (s *PDFSink) renderLetter(pdf *fpdf.Fpdf, tr func(string) string, l Letter, date string) {
	pdf.AddPage()
	first := pdf.PageNo()
	pdf.SetTextColor(0, 0, 0)

	for i, line := range s.sender {
		if i == 0 {
			pdf.SetFont("Helvetica", "B", 10)
		} else {
			pdf.SetFont("Helvetica", "", 9)
		}
		pdf.SetXY(pageMargin, pageTop+4.5*float64(i))
		pdf.CellFormat(addressX-pageMargin-5, 4.5, tr(line), "", 0, "L", false, 0, "")
	}

	pdf.SetFont("Helvetica", "", 11)
	for i, line := range strings.Split(strings.TrimSpace(l.Recipient), "\n") {
		pdf.SetXY(addressX, addressY+addressLineH*float64(i))
		pdf.CellFormat(addressW, addressLineH, tr(strings.TrimSpace(line)), "", 0, "L", false, 0, "")
	}

	pdf.SetXY(addressX, dateY)
	pdf.CellFormat(addressW, addressLineH, tr(date), "", 0, "L", false, 0, "")

	pdf.SetXY(pageMargin, subjectY)
	if subject := strings.TrimSpace(l.Subject); subject != "" {
		pdf.SetFont("Helvetica", "B", 11)
		pdf.MultiCell(bodyWidth, bodyLineH, tr("Objet : "+subject), "", "L", false)
		pdf.Ln(bodyLineH)
	}

	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(bodyWidth, bodyLineH, tr(strings.TrimRight(l.Body, "\r\n")), "", "L", false)

	// The footers are written once the number of pages of the letter is known.
	last := pdf.PageNo()
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetFont("Helvetica", "", 7)
	pdf.SetTextColor(90, 90, 90)
	ref := tr("Réf. " + l.IdempotencyKey)
	for p := first; p <= last; p++ {
		pdf.SetPage(p)
		pdf.SetXY(pageMargin, footerY)
		pdf.CellFormat(bodyWidth-30, 4, ref, "", 0, "L", false, 0, "")
		pdf.CellFormat(30, 4, fmt.Sprintf("page %d/%d", p-first+1, last-first+1), "", 0, "R", false, 0, "")
	}
	pdf.SetPage(last)
	pdf.SetTextColor(0, 0, 0)
	pdf.SetAutoPageBreak(true, pageBreakAt)
	if s.duplex && (last-first+1)%2 == 1 {
		pdf.AddPage()
	}
}

// write saves the document under its final name and returns its path.
func (s *PDFSink) write(pdf *fpdf.Fpdf, now time.Time, firstID string) (string, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(s.dir, ".lettres-*.pdf.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // on failure
	err = pdf.Output(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}

	// os.Link, unlike os.Rename, fails rather than replace an existing file.
	var path string
	base := "lettres-" + now.UTC().Format("20060102-150405") + "-" + fileSafe(firstID)
	for n := 1; ; n++ {
		path = filepath.Join(s.dir, base+".pdf")
		if n > 1 {
			path = filepath.Join(s.dir, fmt.Sprintf("%s-%d.pdf", base, n))
		}
		err = os.Link(tmp.Name(), path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || n == 1000 {
			return "", err
		}
	}
	os.Remove(tmp.Name()) // a leftover temporary file is harmless: the batch is printed
	d, err := os.Open(s.dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return "", err
	}
	return path, nil
}

// fileSafe keeps the letters, digits, "-" and "_" of an ID, at most 40 of them.
func fileSafe(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() == 40 {
			break
		}
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// frenchDate formats "Paris, le 23 novembre 2026" ("le 1er" on the first of the month).
func frenchDate(place string, t time.Time) string {
	date := "le " + carnet.FrenchDate(t)
	if place == "" {
		return date
	}
	return place + ", " + date
}
