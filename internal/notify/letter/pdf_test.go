package letter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/letter"
	"golang.org/x/text/encoding/charmap"
)

// cp1252 encodes s as the Windows-1252 bytes that the PDF holds for it.
func cp1252(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var streamRE = regexp.MustCompile(`<</Length (\d+)>>\nstream\n`)

// pages returns the content of each page of an uncompressed PDF, in order.
func pages(t *testing.T, raw []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(raw, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", raw)
	}
	var out []string
	for _, m := range streamRE.FindAllSubmatchIndex(raw, -1) {
		n, _ := strconv.Atoi(string(raw[m[2]:m[3]]))
		out = append(out, string(raw[m[1]:m[1]+n]))
	}
	if objs := bytes.Count(raw, []byte("/Type /Page\n")); objs != len(out) {
		t.Fatalf("%d page objects, %d content streams", objs, len(out))
	}
	return out
}

type written struct {
	path string
	ids  []string
}

func newTestSink(t *testing.T, now time.Time, opts ...letter.PDFOption) (*letter.PDFSink, string, *[]written) {
	dir := filepath.Join(t.TempDir(), "lettres")
	var files []written
	opts = append([]letter.PDFOption{
		letter.WithClock(func() time.Time { return now }),
		letter.WithoutCompression(),
		letter.WithOnWrite(func(path string, ids []string) { files = append(files, written{path, ids}) }),
	}, opts...)
	return letter.NewPDFSink(dir, opts...), dir, &files
}

func sample(id string) letter.Letter {
	return letter.Letter{
		ID:             id,
		Recipient:      "Mme Hélène Lefèvre-Cœur\n12 rue François Mitterrand\n97400 SAINT-DENIS",
		Subject:        "Votre code d’activation provisoire",
		Body:           "Madame,\n\nVoici votre code provisoire : ABCD-EFGH-JKMN.\nÀ saisir « tel quel » ; coût : 0 €.\n\nReçu → 😀 e\u0301té.\tFin.\n",
		IdempotencyKey: "activation_code:" + id,
	}
}

func TestPDFSinkRendersOneFilePerBatch(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	s, dir, files := newTestSink(t, now)
	if err := s.SendBatch(context.Background(), []letter.Letter{sample("m1"), sample("m2"), sample("m3")}); err != nil {
		t.Fatal(err)
	}
	if len(*files) != 1 || strings.Join((*files)[0].ids, ",") != "m1,m2,m3" {
		t.Fatalf("written %v", *files)
	}
	path := (*files)[0].path
	if want := filepath.Join(dir, "lettres-20261123-101500-m1.pdf"); path != want {
		t.Errorf("path %s, want %s", path, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1 (no temporary file left)", len(entries))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("stat: %v, %v", st, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := pages(t, raw)
	if len(ps) != 3 {
		t.Fatalf("%d pages, want 3", len(ps))
	}
	for i, p := range ps {
		id := fmt.Sprintf("m%d", i+1)
		for _, want := range []string{
			"(Carnet — Mon espace santé)",
			"(Mme Hélène Lefèvre-Cœur)",
			"(Paris, le 23 novembre 2026)",
			"(Objet : Votre code d’activation provisoire)",
			"ABCD-EFGH-JKMN",
			"(À saisir « tel quel » ; coût : 0 €.)",
			"(Reçu ? ? été. Fin.)", // outside Windows-1252, decomposed accent, tab
			"(Réf. activation_code:" + id + ")",
			"(page 1/1)",
		} {
			if !strings.Contains(p, cp1252(t, want)) {
				t.Errorf("page %d: missing %q in\n%s", i+1, want, p)
			}
		}
	}
}

func TestPDFSinkRefusesInvalidLetters(t *testing.T) {
	s, dir, files := newTestSink(t, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), letter.WithPlace("Lyon"))
	bad := sample("m2")
	bad.Recipient = ""
	err := s.SendBatch(context.Background(), []letter.Letter{sample("m1"), bad, sample("m3")})
	var be *letter.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed["m2"] == nil {
		t.Fatalf("err = %v", err)
	}
	var le *letter.Error
	if !errors.As(be.Failed["m2"], &le) || !le.Permanent() || carnet.ErrorCode(le) != carnet.EINVALID {
		t.Errorf("m2: %v", be.Failed["m2"])
	}
	if len(*files) != 1 || strings.Join((*files)[0].ids, ",") != "m1,m3" {
		t.Fatalf("written %v", *files)
	}
	raw, err := os.ReadFile((*files)[0].path)
	if err != nil {
		t.Fatal(err)
	}
	ps := pages(t, raw)
	if len(ps) != 2 || !strings.Contains(ps[0], ":m1)") || !strings.Contains(ps[1], ":m3)") ||
		!strings.Contains(ps[0], "(Lyon, le 1er mars 2026)") {
		t.Errorf("pages:\n%s", strings.Join(ps, "\n----\n"))
	}

	// A batch without a valid letter writes no file.
	err = s.SendBatch(context.Background(), []letter.Letter{bad})
	if !errors.As(err, &be) || len(be.Failed) != 1 {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || len(*files) != 1 {
		t.Errorf("%d files in the directory, %d written", len(entries), len(*files))
	}
}

func TestPDFSinkDoesNotOverwrite(t *testing.T) {
	s, dir, files := newTestSink(t, time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC))
	for _, ids := range [][]string{{"m1"}, {"m1", "m2"}, {"m3"}} {
		var batch []letter.Letter
		for _, id := range ids {
			batch = append(batch, sample(id))
		}
		if err := s.SendBatch(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, w := range *files {
		names = append(names, filepath.Base(w.path))
	}
	if got, want := strings.Join(names, " "),
		"lettres-20261123-101500-m1.pdf lettres-20261123-101500-m1-2.pdf lettres-20261123-101500-m3.pdf"; got != want {
		t.Errorf("files %s, want %s", got, want)
	}
	for i, n := range []int{1, 2, 1} {
		raw, err := os.ReadFile(filepath.Join(dir, names[i]))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(pages(t, raw)); got != n {
			t.Errorf("%s: %d pages, want %d", names[i], got, n)
		}
	}
}

func TestPDFSinkLongLetter(t *testing.T) {
	long := sample("m1")
	var b strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "Ligne %03d du courrier.\n", i)
	}
	long.Body = b.String()
	for _, duplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("duplex=%v", duplex), func(t *testing.T) {
			var opts []letter.PDFOption
			if duplex {
				opts = append(opts, letter.WithDuplex())
			}
			s, _, files := newTestSink(t, time.Now(), opts...)
			if err := s.SendBatch(context.Background(), []letter.Letter{long, sample("m2")}); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile((*files)[0].path)
			if err != nil {
				t.Fatal(err)
			}
			ps := pages(t, raw)
			// The long letter's pages, then the next letter's.
			n := 0
			for n < len(ps) && strings.Contains(ps[n], ":m1)") {
				n++
			}
			if n < 3 {
				t.Fatalf("the long letter has %d pages", n)
			}
			for i := range n {
				if !strings.Contains(ps[i], fmt.Sprintf("(page %d/%d)", i+1, n)) {
					t.Errorf("page %d of %d: no page number", i+1, n)
				}
			}
			if !strings.Contains(ps[0], "(Ligne 001 du courrier.)") || !strings.Contains(ps[n-1], "(Ligne 200 du courrier.)") {
				t.Error("the body is not spread from the first page to the last")
			}
			next := n
			if duplex && n%2 == 1 {
				if strings.Contains(ps[n], "Tj") {
					t.Errorf("padding page not blank:\n%s", ps[n])
				}
				next++
			}
			want := next + 1 // the last letter has one page…
			if duplex {
				want++ // …and a blank back
			}
			if len(ps) != want {
				t.Fatalf("%d pages, want %d (the long letter has %d)", len(ps), want, n)
			}
			p := ps[next]
			if !strings.Contains(p, ":m2)") || !strings.Contains(p, "(page 1/1)") || !strings.Contains(p, "(Objet : ") ||
				strings.Contains(p, "Ligne") {
				t.Errorf("the next letter does not start on its own page:\n%s", p)
			}
		})
	}
}

func TestPDFSinkCanceled(t *testing.T) {
	s, dir, _ := newTestSink(t, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.SendBatch(ctx, []letter.Letter{sample("m1")})
	var le *letter.Error
	if !errors.As(err, &le) || le.Permanent() || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory: %v", err)
	}
}

func TestPDFSinkCompressed(t *testing.T) {
	var path string
	s := letter.NewPDFSink(t.TempDir(), letter.WithOnWrite(func(p string, _ []string) { path = p }))
	if err := s.SendBatch(context.Background(), []letter.Letter{sample("m1")}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("%PDF-")) || !bytes.Contains(raw, []byte("/FlateDecode")) ||
		bytes.Contains(raw, []byte("ABCD-EFGH-JKMN")) {
		t.Error("the page contents are not compressed")
	}
}

func BenchmarkPDFSink(b *testing.B) {
	s := letter.NewPDFSink(b.TempDir(), letter.WithClock(func() time.Time { return time.Now() }))
	batch := make([]letter.Letter, 1000)
	for i := range batch {
		batch[i] = sample(fmt.Sprintf("m%04d", i))
	}
	ctx := context.Background()
	n := 0
	for b.Loop() {
		if err := s.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "letters/s")
}
