package pdftext

import (
	"testing"

	"github.com/go-pdf/fpdf"
)

func TestCP1252(t *testing.T) {
	tr := CP1252(fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor(""))
	for in, want := range map[string]string{
		"abc":          "abc",
		"é":            "\xe9",
		"e\u0301":      "\xe9", // decomposed é
		"œ€":           "\x9c\x80",
		"中.":           "?.",
		"a\tb\nc\x01d": "a b\nc?d",
	} {
		if got := tr(in); got != want {
			t.Errorf("CP1252(%q) = %q, want %q", in, got, want)
		}
	}
}
