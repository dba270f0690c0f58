package identity

import (
	_ "embed"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/carnet-sante/carnet"
)

// Password rules (CheckPasswordStrength). The entropy floor follows the CNIL recommendation on
// passwords (délibération n° 2022-100) for an account protected by other measures as well, here
// attempt delays and a one-time code at every login: at least 50 bits.
const (
	MinPasswordLength  = 12  // characters (runes)
	MaxPasswordLength  = 128 // characters (runes)
	MinPasswordEntropy = 50  // bits, as estimated by PasswordEntropy
)

// contextMinLen is the shortest piece of context (a name, a part of the identifier) that a
// password may not contain; shorter pieces ("Léa") only count as guessable words.
const contextMinLen = 4

//go:embed common_passwords.txt
var commonPasswordsFile string

// The user-facing reasons for refusing a password.
const (
	msgPasswordTooShort = "Le mot de passe doit contenir au moins 12 caractères."
	msgPasswordTooLong  = "Le mot de passe ne doit pas dépasser 128 caractères."
	msgPasswordBadChar  = "Le mot de passe contient un caractère non autorisé (caractère de contrôle)."
	msgPasswordOneClass = "Le mot de passe doit mélanger au moins deux types de caractères : minuscules, majuscules, chiffres ou symboles."
	msgPasswordContext  = "Le mot de passe ne doit contenir ni votre identifiant, ni votre nom, ni votre date de naissance."
	msgPasswordCommon   = "Ce mot de passe fait partie des plus courants : choisissez-en un autre."
	msgPasswordWeak     = "Le mot de passe est trop prévisible (mot courant, suite ou répétition de caractères) : allongez-le, par exemple avec plusieurs mots sans rapport entre eux."
)

// CheckPasswordStrength reports, as an EINVALID error with a French message naming the problem,
// why password may not be chosen; nil means it may. The checks, in order: length (12 to 128
// characters), no control character, at least two classes among lower case, upper case, digits
// and symbols, none of the context (pass the chosen identifier, the names, the email address,
// and the birth date as "2006-01-02"; pieces of 4 characters or more count, ignoring case,
// accents and common substitutions such as 0 for o), not one of the most common passwords, and
// an estimated entropy (PasswordEntropy) of at least MinPasswordEntropy bits.
//
// The message never repeats the password or the context.
func CheckPasswordStrength(password string, context ...string) error {
	if !utf8.ValidString(password) {
		return carnet.Errorf(carnet.EINVALID, msgPasswordBadChar)
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return carnet.Errorf(carnet.EINVALID, msgPasswordTooShort)
	}
	if n > MaxPasswordLength {
		return carnet.Errorf(carnet.EINVALID, msgPasswordTooLong)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return carnet.Errorf(carnet.EINVALID, msgPasswordBadChar)
		}
	}
	classes := 0
	for _, c := range charClasses(password) {
		if c {
			classes++
		}
	}
	if classes < 2 {
		return carnet.Errorf(carnet.EINVALID, msgPasswordOneClass)
	}
	folded := foldRunes(password)
	variants := leetVariants(folded)
	if containsContext(variants, context) {
		return carnet.Errorf(carnet.EINVALID, msgPasswordContext)
	}
	common := commonPasswords()
	if isCommon(folded, common) {
		return carnet.Errorf(carnet.EINVALID, msgPasswordCommon)
	}
	if PasswordEntropy(password, context...) < MinPasswordEntropy {
		return carnet.Errorf(carnet.EINVALID, msgPasswordWeak)
	}
	return nil
}

// Character classes, as counted by CheckPasswordStrength.
const (
	classLower = iota
	classUpper
	classDigit
	classSymbol
	nClasses
)

func charClasses(s string) [nClasses]bool {
	var c [nClasses]bool
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			c[classUpper] = true
		case unicode.IsLetter(r): // lower case, and letters of scripts without case
			c[classLower] = true
		case unicode.IsDigit(r):
			c[classDigit] = true
		default:
			c[classSymbol] = true
		}
	}
	return c
}

// poolSize is the brute-force alphabet size implied by the classes present in s.
func poolSize(s string) float64 {
	sizes := [nClasses]float64{26, 26, 10, 33}
	var pool float64
	for i, present := range charClasses(s) {
		if present {
			pool += sizes[i]
		}
	}
	if pool < 10 {
		pool = 10
	}
	return pool
}

// foldRune lower-cases r and removes its accent ("É" → 'e'), one rune for one rune so that
// positions in the folded password match positions in the original.
func foldRune(r rune) rune {
	switch r {
	case 'œ', 'Œ':
		return 'o'
	case 'æ', 'Æ':
		return 'a'
	case 'ß':
		return 's'
	}
	r = unicode.ToLower(r)
	if r < utf8.RuneSelf {
		return r
	}
	d := norm.NFD.String(string(r))
	if base, _ := utf8.DecodeRuneInString(d); base != utf8.RuneError {
		return base
	}
	return r
}

func foldRunes(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, foldRune(r))
	}
	return out
}

// leetVariants returns the folded password and its "leet" readings ("p@ssw0rd" → "password"),
// all of the same length as folded: '1' is read as i in one and as l in the other.
func leetVariants(folded []rune) [][]rune {
	unleet := func(one rune) []rune {
		out := make([]rune, len(folded))
		for i, r := range folded {
			switch r {
			case '0':
				r = 'o'
			case '1', '!', '|':
				r = one
			case '3', '€':
				r = 'e'
			case '4', '@':
				r = 'a'
			case '5', '$':
				r = 's'
			case '7', '+':
				r = 't'
			case '8':
				r = 'b'
			case '9':
				r = 'g'
			}
			out[i] = r
		}
		return out
	}
	return [][]rune{folded, unleet('i'), unleet('l')}
}

// commonPasswords returns the embedded list as a set, folded.
func commonPasswords() map[string]bool {
	set := make(map[string]bool, 256)
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		set[string(foldRunes(line))] = true
	}
	return set
}

// isCommon reports whether the password, or what remains of it once digits and symbols are
// stripped from both ends, is in the common list, in any of its leet readings.
func isCommon(folded []rune, common map[string]bool) bool {
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	var candidates []string
	for _, v := range leetVariants(folded) {
		candidates = append(candidates, string(v), strings.TrimFunc(string(v), notLetter))
	}
	core := strings.TrimFunc(string(folded), notLetter)
	for _, v := range leetVariants([]rune(core)) {
		candidates = append(candidates, string(v))
	}
	for _, c := range candidates {
		if c != "" && common[c] {
			return true
		}
	}
	return false
}

// contextPieces splits each context value into the pieces a password may not contain: the whole
// value without separators and each word of it, folded, of contextMinLen runes or more; a
// birth date ("2006-01-02" or "02/01/2006") gives its usual spellings (14031985, 19850314,
// 140385, 850314) and its year.
func contextPieces(context []string) []string {
	var pieces []string
	add := func(s string) {
		if utf8.RuneCountInString(s) >= contextMinLen {
			pieces = append(pieces, s)
		}
	}
	for _, c := range context {
		c = strings.TrimSpace(c)
		if d, ok := parseContextDate(c); ok {
			for _, layout := range []string{"02012006", "20060102", "020106", "060102", "2006"} {
				add(d.Format(layout))
			}
			continue
		}
		folded := string(foldRunes(c))
		words := strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		add(strings.Join(words, ""))
		for _, w := range words {
			add(w)
		}
	}
	return pieces
}

func parseContextDate(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", "02/01/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// containsContext reports whether the password contains a piece of the context.
func containsContext(variants [][]rune, context []string) bool {
	pieces := contextPieces(context)
	if len(pieces) == 0 {
		return false
	}
	// Dates are also looked for with the separators of the password removed ("14/03/1985").
	compact := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '/', '_':
			return -1
		}
		return r
	}, string(variants[0]))
	hay := []string{compact}
	for _, v := range variants {
		hay = append(hay, string(v))
	}
	for _, p := range pieces {
		for _, h := range hay {
			if strings.Contains(h, p) {
				return true
			}
		}
	}
	return false
}

// keyboardRows returns the sequences people type as passwords: the AZERTY and QWERTY letter
// rows and the digit row.
func keyboardRows() []string {
	return []string{"azertyuiop", "qsdfghjklm", "wxcvbn", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"}
}

// PasswordEntropy estimates, in bits, how hard password is to guess for an attacker who tries
// common passwords, the user's context, keyboard rows, sequences, repetitions and dates before
// brute force. It cuts the password into the cheapest chain of such patterns (in the manner of
// zxcvbn, much simplified): a character that belongs to no pattern costs log2 of the alphabet of
// the classes used. Meant for CheckPasswordStrength and for a strength meter on the page.
func PasswordEntropy(password string, context ...string) float64 {
	if password == "" {
		return 0
	}
	e := &entropyEstimator{
		dict:     commonPasswords(),
		charBits: math.Log2(poolSize(password)),
		rowBits:  math.Log2(float64(len(keyboardRows())*10)) + 1,
		units:    map[string]float64{},
	}
	for _, p := range contextPieces(context) {
		e.dict[p] = true
	}
	for _, c := range context { // short names ("Léa") are words too, just not refused outright
		for _, w := range strings.FieldsFunc(string(foldRunes(c)), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if utf8.RuneCountInString(w) >= 3 {
				e.dict[w] = true
			}
		}
	}
	e.dictBits = math.Log2(float64(len(e.dict)))
	for w := range e.dict {
		e.maxWord = max(e.maxWord, utf8.RuneCountInString(w))
	}
	return e.cost([]rune(password))
}

// entropyEstimator holds what PasswordEntropy needs while it cuts one password into patterns.
type entropyEstimator struct {
	dict     map[string]bool    // common passwords and context pieces, folded
	dictBits float64            // cost of one dictionary word
	maxWord  int                // longest dictionary word, in runes
	charBits float64            // cost of one character by brute force
	rowBits  float64            // cost of choosing a keyboard row, a start and a direction
	units    map[string]float64 // cost of repeated units already estimated
}

// cost returns the cheapest cut of runes into patterns, by dynamic programming over positions:
// best[j] is the cost of the first j runes.
func (e *entropyEstimator) cost(runes []rune) float64 {
	n := len(runes)
	folded := make([]rune, n)
	for i, r := range runes {
		folded[i] = foldRune(r)
	}
	variants := leetVariants(folded)
	best := make([]float64, n+1)
	for j := 1; j <= n; j++ {
		best[j] = math.Inf(1)
	}
	for i := 0; i < n; i++ {
		relax := func(j int, bits float64) {
			if b := best[i] + bits; b < best[j] {
				best[j] = b
			}
		}
		relax(i+1, e.charBits)
		// A unit repeated ("aaaa", "abab", "aB3$aB3$aB3$"): the unit's own cost plus the number
		// of repetitions.
		for k := 1; i+2*k <= n; k++ {
			end := i + k
			for end < n && folded[end] == folded[end-k] {
				end++
			}
			if end < i+2*k {
				continue
			}
			unit := e.unitCost(runes[i : i+k])
			for j := i + 2*k; j <= end; j++ {
				relax(j, unit+math.Log2(float64(j-i)/float64(k)))
			}
		}
		earlier := string(folded[:i])
		for j := i + 3; j <= n; j++ {
			l := float64(j - i)
			// A word of the dictionary, in any leet reading, any case.
			if j-i <= e.maxWord {
				for vi, v := range variants {
					if e.dict[string(v[i:j])] {
						bits := e.dictBits
						if vi > 0 && string(v[i:j]) != string(folded[i:j]) {
							bits++
						}
						if hasUpper(runes[i:j]) {
							bits++
						}
						relax(j, bits)
						break
					}
				}
			}
			// A run of consecutive characters, up or down ("abcd", "9876").
			if isSequence(folded[i:j]) {
				relax(j, 4+math.Log2(l)+1)
			}
			// A stretch of a keyboard row, either way, of 4 or more.
			if j-i >= 4 && j-i <= 10 && onKeyboardRow(string(folded[i:j])) {
				relax(j, e.rowBits+math.Log2(l))
			}
			// A repetition of something earlier in the password ("Tr0ub4dor" + "Tr0ub4dor").
			if j-i <= i && strings.Contains(earlier, string(folded[i:j])) {
				relax(j, math.Log2(float64(i))+math.Log2(l))
			}
			// A year or a date.
			if bits, ok := dateBits(folded[i:j]); ok {
				relax(j, bits)
			}
		}
	}
	return best[n]
}

// maxUnit is the longest repeated unit whose cost is estimated pattern by pattern; a longer one
// costs its brute force (its repetition is then priced by the "something earlier" rule), which
// bounds the work on any input.
const maxUnit = 32

// unitCost is the cost of a repeated unit, estimated once per distinct unit.
func (e *entropyEstimator) unitCost(unit []rune) float64 {
	if len(unit) > maxUnit {
		return float64(len(unit)) * e.charBits
	}
	key := string(unit)
	if c, ok := e.units[key]; ok {
		return c
	}
	c := e.cost(unit)
	e.units[key] = c
	return c
}

func hasUpper(rs []rune) bool {
	for _, r := range rs {
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

func isSequence(rs []rune) bool {
	step := rs[1] - rs[0]
	if step != 1 && step != -1 {
		return false
	}
	for k := 1; k < len(rs); k++ {
		if rs[k]-rs[k-1] != step {
			return false
		}
	}
	return true
}

func onKeyboardRow(s string) bool {
	rev := []rune(s)
	for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
		rev[a], rev[b] = rev[b], rev[a]
	}
	for _, row := range keyboardRows() {
		if strings.Contains(row, s) || strings.Contains(row, string(rev)) {
			return true
		}
	}
	return false
}

// dateBits recognizes a year (1900–2039) or a date of 6 or 8 digits (ddmmyy, yymmdd, ddmmyyyy,
// yyyymmdd) and returns its cost: log2 of the number of such years or dates.
func dateBits(rs []rune) (float64, bool) {
	if len(rs) != 4 && len(rs) != 6 && len(rs) != 8 {
		return 0, false
	}
	for _, r := range rs {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	num := func(a, b int) int {
		v := 0
		for _, r := range rs[a:b] {
			v = v*10 + int(r-'0')
		}
		return v
	}
	year4 := func(y int) bool { return y >= 1900 && y <= 2039 }
	dm := func(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }
	switch len(rs) {
	case 4:
		if year4(num(0, 4)) {
			return math.Log2(140), true
		}
	case 6:
		if dm(num(0, 2), num(2, 4)) || dm(num(4, 6), num(2, 4)) {
			return math.Log2(366 * 100), true
		}
	case 8:
		if (dm(num(0, 2), num(2, 4)) && year4(num(4, 8))) || (year4(num(0, 4)) && dm(num(6, 8), num(4, 6))) {
			return math.Log2(366 * 140), true
		}
	}
	return 0, false
}
