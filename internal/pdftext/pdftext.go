// Package pdftext prepares French text for the core fonts of go-pdf/fpdf, whose code page is
// Windows-1252: the letters (internal/notify/letter) and the patient's PDF summary
// (internal/web) use it.
package pdftext

import "golang.org/x/text/unicode/norm"

// CP1252 wraps fpdf's translator (pdf.UnicodeTranslatorFromDescriptor("")), which turns each
// rune into one Windows-1252 byte and runes outside the code page into ".": the text is
// NFC-normalized first (a decomposed "é" prints as one letter), runes outside the code page
// become "?", as do control characters other than "\n" (a tab becomes a space).
func CP1252(tr func(string) string) func(string) string {
	return func(s string) string {
		s = norm.NFC.String(s)
		out := []byte(tr(s))
		if len(out) != len(s) { // not all ASCII: one byte per rune
			i := 0
			for _, r := range s {
				if i >= len(out) {
					break
				}
				if out[i] == '.' && r != '.' {
					out[i] = '?'
				}
				i++
			}
		}
		for i, c := range out {
			switch {
			case c == '\t':
				out[i] = ' '
			case c == '\n':
			case c < 0x20 || c == 0x7f:
				out[i] = '?'
			}
		}
		return string(out)
	}
}
