package identity

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskNIR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"255081416802538", "2 55 ** ** *** *** **"},
		{"2 55 08 14 168 025 38", "2 55 ** ** *** *** **"},
		{"1 84 12 2A 012 345 67", "1 84 ** ** *** *** **"},
		{"2550814168025", "2 55 ** ** *** ***"},
		{"", "***"},
		{"25508141680", "***"},
		{"2550814168025381", "***"},
		{"AB5081416802538", "***"},
		{"marie@example.fr", "***"},
	}
	for _, tt := range tests {
		if got := MaskNIR(tt.in); got != tt.want {
			t.Errorf("MaskNIR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"marie.dupont@example.fr", "m***@e***.fr"},
		{"Marie.Dupont@Dupont-Famille.COM", "M***@D***.COM"},
		{"éloïse@exemple.fr", "é***@e***.fr"},
		{"a@b.fr", "a***@b***.fr"},
		{"user@localhost", "u***@l***"},
		{"a.b@c@example.org", "a***@e***.org"},
		{" marie@example.fr ", "m***@e***.fr"},
		{"", "***"},
		{"no-at-sign", "***"},
		{"@example.fr", "***"},
		{"marie@", "***"},
		{"Marie <marie@example.fr>", "***"},
		{"mar\xffie@example.fr", "***"},
	}
	for _, tt := range tests {
		if got := MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+33612345678", "+33 6 ** ** ** 78"},
		{"06 12 34 56 78", "+33 6 ** ** ** 78"},
		{"07.12.34.56.78", "+33 7 ** ** ** 78"},
		{"+4915112345678", "+49*********78"},
		{"+14155550123", "+14*******23"},
		{"", "***"},
		{"12345", "***"},
		{"0612345678901234567", "***"},
		{"+33 6 12 34 56 7a", "***"},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzMask checks that the masks never panic, return valid UTF-8, and never let through more
// of the input than they should: at most 3 digits of a NIR, at most 5 of a phone number, and at
// most 2 characters of an email address's local part and domain (plus its top-level domain).
func FuzzMask(f *testing.F) {
	for _, s := range []string{"255081416802538", "+33612345678", "marie@example.fr", "", "@", "2A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, p, e := MaskNIR(s), MaskPhone(s), MaskEmail(s)
		for _, out := range []string{n, p, e} {
			if !utf8.ValidString(out) {
				t.Fatalf("mask of %q is not valid UTF-8: %q", s, out)
			}
		}
		if d := countDigits(n); d > 3 {
			t.Fatalf("MaskNIR(%q) = %q shows %d digits", s, n, d)
		}
		if d := countDigits(p); d > 5 {
			t.Fatalf("MaskPhone(%q) = %q shows %d digits", s, p, d)
		}
		if e != "***" {
			at := strings.LastIndexByte(e, '@')
			local, domain := e[:at], e[at+1:]
			if !strings.HasSuffix(local, "***") || utf8.RuneCountInString(local) != 4 || !strings.Contains(domain, "***") {
				t.Fatalf("MaskEmail(%q) = %q shows too much", s, e)
			}
		}
	})
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}
