package carnet

import (
	"strconv"
	"strings"
)

// INS OIDs (DOMAIN.md): the INS is the NIR (or NIA) qualified by one of these.
const (
	OIDINSNIR     = "1.2.250.1.213.1.4.8"
	OIDINSNIA     = "1.2.250.1.213.1.4.9"
	OIDINSNIRTest = "1.2.250.1.213.1.4.10"
	OIDINSNIATest = "1.2.250.1.213.1.4.11"
)

// NormalizeNIR removes spaces, dots and dashes and upper-cases the Corsican letters, so that
// "2 55 08 14 168 025 38" becomes "255081416802538".
func NormalizeNIR(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '.' || r == '-' || r == '\u00a0':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// nirNumber returns the 13-character body of a NIR as a number, with Corsican departments 2A → 19
// and 2B → 18 substituted as the key rule requires.
func nirNumber(body string) (uint64, bool) {
	if len(body) != 13 {
		return 0, false
	}
	digits := body
	switch body[5:7] {
	case "2A":
		digits = body[:5] + "19" + body[7:]
	case "2B":
		digits = body[:5] + "18" + body[7:]
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// NIRKey computes the two-digit control key of a 13-character NIR body: 97 − (N mod 97).
func NIRKey(body string) (int, error) {
	body = NormalizeNIR(body)
	n, ok := nirNumber(body)
	if !ok {
		return 0, Errorf(EINVALID, "NIR invalide : 13 caractères attendus (chiffres, ou 2A/2B pour la Corse)")
	}
	return int(97 - n%97), nil
}

// ValidateNIR checks a 15-character NIR (13 characters + 2-digit key): layout (sex, month,
// department) and control key. The message names the problem.
func ValidateNIR(nir string) error {
	nir = NormalizeNIR(nir)
	if len(nir) != 15 {
		return Errorf(EINVALID, "NIR invalide : 15 caractères attendus, %d reçus", len(nir))
	}
	body, key := nir[:13], nir[13:]
	n, ok := nirNumber(body)
	if !ok {
		return Errorf(EINVALID, "NIR invalide : seuls des chiffres sont admis (et 2A/2B pour la Corse)")
	}
	switch body[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return Errorf(EINVALID, "NIR invalide : le premier chiffre (sexe) doit être 1 ou 2 (3, 4, 7, 8 pour un numéro provisoire)")
	}
	month, _ := strconv.Atoi(body[3:5])
	// 01–12 is a calendar month; 20–99 mark a person whose birth month is unknown (INSEE).
	if month == 0 || (month > 12 && month < 20) {
		return Errorf(EINVALID, "NIR invalide : mois de naissance %q impossible", body[3:5])
	}
	k, err := strconv.Atoi(key)
	if err != nil || key[0] < '0' || key[0] > '9' || key[1] < '0' || key[1] > '9' {
		return Errorf(EINVALID, "NIR invalide : la clé doit être de deux chiffres")
	}
	if want := int(97 - n%97); k != want {
		return Errorf(EINVALID, "NIR invalide : la clé de contrôle ne correspond pas")
	}
	return nil
}

// NIRSex returns "M" or "F" from the first digit of a valid NIR.
func NIRSex(nir string) Sex {
	nir = NormalizeNIR(nir)
	if nir == "" {
		return ""
	}
	switch nir[0] {
	case '1', '3', '7':
		return SexMale
	case '2', '4', '8':
		return SexFemale
	}
	return ""
}

// RPPS checks.

// NormalizeRPPS strips spaces; it also accepts a national professional identifier (idNat_PS)
// "8" + RPPS and returns the bare RPPS.
func NormalizeRPPS(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(s) == 12 && s[0] == '8' {
		s = s[1:]
	}
	return s
}

// ValidateRPPS checks the strict format of an RPPS number: exactly 11 digits. The Luhn check is
// reported separately by RPPSLuhnValid, since test fixtures in the wild do not pass it.
func ValidateRPPS(rpps string) error {
	rpps = NormalizeRPPS(rpps)
	if len(rpps) != 11 {
		return Errorf(EINVALID, "RPPS invalide : 11 chiffres attendus, %d caractères reçus", len(rpps))
	}
	for i := 0; i < len(rpps); i++ {
		if rpps[i] < '0' || rpps[i] > '9' {
			return Errorf(EINVALID, "RPPS invalide : seuls des chiffres sont admis")
		}
	}
	return nil
}

// RPPSLuhnValid reports whether an 11-digit RPPS passes the Luhn check, as real ones do.
func RPPSLuhnValid(rpps string) bool {
	rpps = NormalizeRPPS(rpps)
	if ValidateRPPS(rpps) != nil {
		return false
	}
	return luhnValid(rpps)
}

func luhnValid(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// IDNatPS returns the national professional identifier of an RPPS number ("8" + RPPS).
func IDNatPS(rpps string) string { return "8" + NormalizeRPPS(rpps) }
