package identity

import (
	"strings"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// The masks below are for the rare operational log line that must mention an identifier (the
// audit log has its own rules). They keep just enough to tell two people apart when debugging
// with the person on the phone, and never enough to find someone. Anything that does not look
// like the expected identifier is masked whole as "***", so that a mistyped value, which may be
// another identifier, is not half-shown.

// MaskNIR keeps the sex and the birth year of a NIR and hides the rest, in the usual grouping:
// "255081416802538" → "2 55 ** ** *** *** **". A 13-character NIR without key is masked in the
// same way without the last group.
func MaskNIR(nir string) string {
	nir = carnet.NormalizeNIR(nir)
	if (len(nir) != 15 && len(nir) != 13) || !isDigits(nir[:3]) {
		return "***"
	}
	out := nir[:1] + " " + nir[1:3] + " ** ** *** ***"
	if len(nir) == 15 {
		out += " **"
	}
	return out
}

// MaskEmail keeps the first character of the local part and of the domain, and the top-level
// domain: "marie.dupont@example.fr" → "m***@e***.fr". A personal domain can name its owner, so
// the domain is masked too.
func MaskEmail(addr string) string {
	addr = strings.TrimSpace(addr)
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || !utf8.ValidString(addr) || strings.ContainsAny(addr, " \t\r\n<>") {
		return "***"
	}
	local, domain := addr[:at], addr[at+1:]
	first := func(s string) string {
		r, _ := utf8.DecodeRuneInString(s)
		return string(r)
	}
	out := first(local) + "***@" + first(domain) + "***"
	if dot := strings.LastIndexByte(domain, '.'); dot > 0 && dot < len(domain)-1 {
		out += domain[dot:]
	}
	return out
}

// MaskPhone keeps the country code and the last two digits of a phone number: a French mobile
// "06 12 34 56 78" or "+33612345678" → "+33 6 ** ** ** 78"; another E.164 number keeps its first
// two digits: "+4915112345678" → "+49**********78".
func MaskPhone(number string) string {
	n := carnet.NormalizeMobile(number)
	if len(n) < 8 || len(n) > 16 || n[0] != '+' || !isDigits(n[1:]) {
		return "***"
	}
	if strings.HasPrefix(n, "+33") && len(n) == 12 {
		return "+33 " + n[3:4] + " ** ** ** " + n[10:]
	}
	return n[:3] + strings.Repeat("*", len(n)-5) + n[len(n)-2:]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
