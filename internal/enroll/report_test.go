package enroll

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

// run reads input from the line after skip, adds bad rows to the report and stops after the
// record starting at stopAt (0: at the end). It returns the last line handled.
func run(t *testing.T, input []byte, rep *Report, skip, stopAt int) int {
	t.Helper()
	r, err := NewReader(bytes.NewReader(input), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SkipThrough(skip); err != nil {
		t.Fatal(err)
	}
	last := skip
	for {
		row, bad, err := r.Next()
		if err == io.EOF {
			return last
		}
		if err != nil {
			t.Fatal(err)
		}
		if bad != nil {
			if err := rep.Add(*bad); err != nil {
				t.Fatal(err)
			}
			last = bad.Line
		} else {
			last = row.Line
		}
		if stopAt > 0 && last >= stopAt {
			return last
		}
	}
}

func TestReportResume(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Generate(&buf, 3000, 10, 5); err != nil {
		t.Fatal(err)
	}
	input := buf.Bytes()
	dir := t.TempDir()

	// An uninterrupted run.
	full := filepath.Join(dir, "full.csv")
	rep, err := OpenReport(full, 0)
	if err != nil {
		t.Fatal(err)
	}
	run(t, input, rep, 0, 0)
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(full)
	if !bytes.HasPrefix(want, []byte(ReportHeader)) || bytes.Count(want, []byte("\n")) < 300 {
		t.Fatalf("full report: %d bytes", len(want))
	}

	// A run that saves a checkpoint, goes on a little, then dies (the report is not closed, and
	// rows after the checkpoint were written); then a resumed run. A stale report from an older
	// run is there to begin with.
	part := filepath.Join(dir, "part.csv")
	os.WriteFile(part, []byte("stale\n"), 0o600)
	rep, err = OpenReport(part, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := run(t, input, rep, 0, 1234)
	if err := rep.Sync(); err != nil {
		t.Fatal(err)
	}
	offset := rep.Offset()
	run(t, input, rep, line, 2000)
	rep.Sync()
	rep.f.Close() // crash: no Close

	rep, err = OpenReport(part, offset)
	if err != nil {
		t.Fatal(err)
	}
	run(t, input, rep, line, 0)
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(part)
	if !bytes.Equal(got, want) {
		t.Errorf("resumed report differs from the uninterrupted one (%d vs %d bytes)", len(got), len(want))
	}
	if fi, _ := os.Stat(part); fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v", fi.Mode())
	}
}

func TestReportFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	rep, err := OpenReport(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Offset() != int64(len(ReportHeader)) {
		t.Errorf("offset after the header: %d", rep.Offset())
	}
	rep.Add(Bad{Line: 3, Reason: "majeur sans moyen de contact"})
	rep.Add(Bad{Line: 12, Reason: `date de naissance invalide : "1985-02-30"; numéro de série`})
	if rep.Offset() != int64(len(ReportHeader)) {
		t.Errorf("offset moved before Sync: %d", rep.Offset())
	}
	if err := rep.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := ReportHeader + "3;majeur sans moyen de contact\n" + `12;"date de naissance invalide : ""1985-02-30""; numéro de série"` + "\n"
	if string(got) != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	if rep.Offset() != int64(len(want)) {
		t.Errorf("offset %d, want %d", rep.Offset(), len(want))
	}
	if err := rep.Add(Bad{Line: 1}); err == nil {
		t.Error("Add after Close: no error")
	}
	if err := rep.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Resuming past the end of the file is refused: the report is not the checkpoint's.
	if _, err := OpenReport(path, int64(len(want))+1); err == nil || carnet.ErrorCode(err) != carnet.EINVALID ||
		!strings.Contains(carnet.ErrorMessage(err), "point de reprise") {
		t.Errorf("resume past the end: %v", err)
	}
	// Resuming at the end keeps everything, without a second header.
	rep, err = OpenReport(path, int64(len(want)))
	if err != nil {
		t.Fatal(err)
	}
	rep.Add(Bad{Line: 20, Reason: "x"})
	rep.Close()
	if got, _ := os.ReadFile(path); string(got) != want+"20;x\n" {
		t.Errorf("appended report:\n%s", got)
	}
	if _, err := OpenReport(filepath.Join(t.TempDir(), "no", "such", "dir.csv"), 0); err == nil {
		t.Error("no error for a missing directory")
	}
}
