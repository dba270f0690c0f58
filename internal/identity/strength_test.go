package identity

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
)

// long128 is a 128-character passphrase.
var long128 = ("Le petit chat gris dort sur le toit rouge de la maison du voisin pendant que la pluie tombe doucement sur les tuiles anciennes, 2026 !")[:128]

func TestCheckPasswordStrength(t *testing.T) {
	if utf8.RuneCountInString(long128) != MaxPasswordLength {
		t.Fatalf("long128 has %d runes", utf8.RuneCountInString(long128))
	}
	if !strings.Contains(msgPasswordTooShort, strconv.Itoa(MinPasswordLength)) || !strings.Contains(msgPasswordTooLong, strconv.Itoa(MaxPasswordLength)) {
		t.Fatal("length messages disagree with the length constants")
	}
	ctx := []string{"marie.dupont85", "Marie-Claire", "DUPONT", "Lefèvre", "marie.dupont@exemple.fr", "1985-03-14"}
	tests := []struct {
		name     string
		password string
		want     string // "" for accepted, else the message
	}{
		// Accepted.
		{"random mixed", "fKq7-pZ2m!Wt", ""},
		{"passphrase", "cheval batterie agrafe correcte", ""},
		{"passphrase with accents", "grenouille éléphant tournevis", ""},
		{"random lower + digits", "x7k2m9q4w8r3", ""},
		{"exactly 12", "Hv8#nQ2z!rLp", ""},
		{"128 characters", long128, ""},

		// Length.
		{"empty", "", msgPasswordTooShort},
		{"11 characters", "fKq7-pZ2m!W", msgPasswordTooShort},
		{"11 runes, more bytes", "éèàùâêîôûçë", msgPasswordTooShort},
		{"129 characters", long128 + "x", msgPasswordTooLong},

		// Characters.
		{"control character", "fKq7-pZ2m!Wt\x00", msgPasswordBadChar},
		{"newline", "fKq7-pZ2m!W\nt", msgPasswordBadChar},
		{"invalid UTF-8", "fKq7-pZ2m!Wt\xff", msgPasswordBadChar},

		// Classes.
		{"lower only", "qwmfhgzplkxv", msgPasswordOneClass},
		{"upper only", "QWMFHGZPLKXV", msgPasswordOneClass},
		{"digits only", "839201746529", msgPasswordOneClass},
		{"symbols only", "!@#$%^&*()_+", msgPasswordOneClass},
		{"accented lower only", "éèàùâêîôûçëï", msgPasswordOneClass},

		// Context.
		{"identifier", "xx-marie.dupont85-x", msgPasswordContext},
		{"name inside", "Zk9!dupontRq3w", msgPasswordContext},
		{"compound given name, one part", "Zk9!claireRq3w", msgPasswordContext},
		{"name without its accent", "Zk9!lefevreRq3w", msgPasswordContext},
		{"name in leet", "Zk9!dup0ntRq3w", msgPasswordContext},
		{"name in upper case", "Zk9!DUPONTrq3w", msgPasswordContext},
		{"email domain", "Zk9!exempleRq3w", msgPasswordContext},
		{"birth date ddmmyyyy", "Zk9!14031985Rq", msgPasswordContext},
		{"birth date with slashes", "Zk9!14/03/1985q", msgPasswordContext},
		{"birth date yyyymmdd", "Zk9!19850314Rq", msgPasswordContext},
		{"birth date ddmmyy", "Zk9!Rq140385wv", msgPasswordContext},
		{"birth year", "Zk9!Rq1985wvTx", msgPasswordContext},

		// Common passwords.
		{"common long", "azertyuiop123", msgPasswordCommon},
		{"common with digits at the end", "Motdepasse2024!", msgPasswordCommon},
		{"common in leet", "P@ssw0rd12345", msgPasswordCommon},
		{"common with symbols both ends", "!!Marseille13!!", msgPasswordCommon},
		{"common, accent added", "Sécuritésociale1", msgPasswordCommon},
		{"common digits", "123456789abc", msgPasswordCommon},

		// Predictable.
		{"keyboard row and digits", "Qsdfghjklm12", msgPasswordWeak},
		{"repeated chunk", "Abc123Abc123", msgPasswordWeak},
		{"repeated character", "Aaaaaaaaaaaa1", msgPasswordWeak},
		{"short unit repeated to 128", strings.Repeat("aB3$", 32), msgPasswordWeak},
		{"sequence", "Abcdefghijkl1", msgPasswordWeak},
		{"common words glued", "Soleil2024Chocolat", msgPasswordWeak},
		{"short name and a year", "Zoe2019Zoe2019", msgPasswordWeak},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordStrength(tt.password, ctx...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckPasswordStrength(%q) = %v; want accepted (entropy %.1f)", tt.password, err, PasswordEntropy(tt.password, ctx...))
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckPasswordStrength(%q) accepted (entropy %.1f); want %q", tt.password, PasswordEntropy(tt.password, ctx...), tt.want)
			}
			if carnet.ErrorCode(err) != carnet.EINVALID || carnet.ErrorMessage(err) != tt.want {
				t.Errorf("CheckPasswordStrength(%q) = %v (%s); want EINVALID %q", tt.password, err, carnet.ErrorCode(err), tt.want)
			}
		})
	}
}

func TestCheckPasswordStrengthWithoutContext(t *testing.T) {
	// The same password is fine for someone else.
	if err := CheckPasswordStrength("Zk9!dupontRq3w"); err != nil {
		t.Errorf("without context: %v", err)
	}
	// Context pieces shorter than 4 characters are not refused outright.
	if err := CheckPasswordStrength("fKq7-pZ2m!Wt", "fKq", "2m", ""); err != nil {
		t.Errorf("short context pieces: %v", err)
	}
}

func TestPasswordEntropy(t *testing.T) {
	tests := []struct {
		password string
		min, max float64
	}{
		{"", 0, 0},
		{"a", 4.7, 4.71},         // one lower-case letter: log2(26)
		{"fKq7-pZ2m!Wt", 70, 80}, // 12 random characters of 4 classes: 12 × log2(95) ≈ 78.8
		{"x7k2m9q4w8r3", 60, 63}, // 12 × log2(36) ≈ 62
		{"password", 7, 9},       // one common word
		{"P4ssw0rd", 8, 11},      // the same, with case and leet
		{"aaaaaaaaaaaaaaaaaaaaaaaa", 0, 10},
		{"abcdefghijklmnopqrstuvwxyz", 0, 12},
		{"azertyuiopqsdfghjklmwxcvbn", 0, 30},
		{"19850314", 0, 16},
		{"abc123abc123abc123abc123", 0, 35},
		{strings.Repeat("aB3$", 32), 0, 35},
		{strings.Repeat("abcdefgh12", 12) + "ABCDEFGH", 0, 35},
		{"cheval batterie agrafe correcte", 120, 200},
	}
	for _, tt := range tests {
		got := PasswordEntropy(tt.password)
		if got < tt.min || got > tt.max {
			t.Errorf("PasswordEntropy(%q) = %.2f, want within [%v, %v]", tt.password, got, tt.min, tt.max)
		}
	}
	// Context lowers the estimate.
	if with, without := PasswordEntropy("Lea2019Lea2019xQ", "Léa"), PasswordEntropy("Lea2019Lea2019xQ"); with >= without {
		t.Errorf("context did not lower the estimate: %.1f with, %.1f without", with, without)
	}
}

func TestCommonPasswordsList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 200 {
		t.Errorf("common list has %d entries, want at least 200", len(set))
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(commonPasswordsFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if line != string(foldRunes(line)) {
			t.Errorf("line %d: %q is not lower case without accents", i+1, line)
		}
		if seen[line] {
			t.Errorf("line %d: %q is listed twice", i+1, line)
		}
		seen[line] = true
	}
	for _, w := range []string{"123456", "azerty", "motdepasse", "password", "soleil"} {
		if !set[w] {
			t.Errorf("common list lacks %q", w)
		}
	}
}

func TestFoldRune(t *testing.T) {
	tests := []struct{ in, want rune }{
		{'a', 'a'}, {'A', 'a'}, {'é', 'e'}, {'É', 'e'}, {'ç', 'c'}, {'Ç', 'c'}, {'ï', 'i'},
		{'œ', 'o'}, {'Æ', 'a'}, {'ß', 's'}, {'7', '7'}, {'!', '!'}, {'ж', 'ж'}, {'Ж', 'ж'},
	}
	for _, tt := range tests {
		if got := foldRune(tt.in); got != tt.want {
			t.Errorf("foldRune(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDateBits(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"1985", true}, {"2039", true}, {"1899", false}, {"2040", false},
		{"140385", true}, {"850314", true}, {"991399", false},
		{"14031985", true}, {"19850314", true}, {"32131985", false},
		{"12345", false}, {"abcd", false},
	}
	for _, tt := range tests {
		if _, ok := dateBits([]rune(tt.s)); ok != tt.ok {
			t.Errorf("dateBits(%q) ok = %v, want %v", tt.s, ok, tt.ok)
		}
	}
}

// FuzzCheckPasswordStrength checks that the rules never panic, always answer EINVALID with one of
// the known messages, never echo the password, and agree with the length and entropy rules.
func FuzzCheckPasswordStrength(f *testing.F) {
	for _, s := range []string{"", "fKq7-pZ2m!Wt", "Motdepasse2024!", "éèàùâêîôûçë", "aaaaaaaaaaaaaaa", "Zk9!dupontRq3w", "\xff\xfe"} {
		f.Add(s, "dupont", "1985-03-14")
	}
	known := map[string]bool{msgPasswordTooShort: true, msgPasswordTooLong: true, msgPasswordBadChar: true,
		msgPasswordOneClass: true, msgPasswordContext: true, msgPasswordCommon: true, msgPasswordWeak: true}
	f.Fuzz(func(t *testing.T, pw, c1, c2 string) {
		err := CheckPasswordStrength(pw, c1, c2)
		e := PasswordEntropy(pw, c1, c2)
		if math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
			t.Fatalf("PasswordEntropy(%q) = %v", pw, e)
		}
		if err == nil {
			if n := utf8.RuneCountInString(pw); n < MinPasswordLength || n > MaxPasswordLength || e < MinPasswordEntropy {
				t.Fatalf("accepted %q: %d runes, %.1f bits", pw, n, e)
			}
			return
		}
		msg := carnet.ErrorMessage(err)
		if carnet.ErrorCode(err) != carnet.EINVALID || !known[msg] {
			t.Fatalf("CheckPasswordStrength(%q) = %v", pw, err)
		}
		if len(pw) >= 4 && strings.Contains(err.Error(), pw) {
			t.Fatalf("error %q repeats the password", err)
		}
	})
}
