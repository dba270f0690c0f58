package identity

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestActivationAlphabet(t *testing.T) {
	if len(ActivationAlphabet) != 31 {
		t.Fatalf("alphabet has %d symbols, want 31", len(ActivationAlphabet))
	}
	for _, c := range "0O1IL" {
		if strings.ContainsRune(ActivationAlphabet, c) {
			t.Errorf("alphabet contains the ambiguous %q", c)
		}
	}
	seen := map[rune]bool{}
	for _, c := range ActivationAlphabet {
		if seen[c] {
			t.Errorf("alphabet repeats %q", c)
		}
		seen[c] = true
	}
}

func TestNewActivationCode(t *testing.T) {
	const n = 3000
	seen := make(map[string]bool, n)
	counts := map[byte]int{}
	for i := 0; i < n; i++ {
		c := NewActivationCode()
		if len(c) != ActivationCodeLength {
			t.Fatalf("code %q has %d characters", c, len(c))
		}
		if got, ok := NormalizeActivationCode(c); !ok || got != c {
			t.Fatalf("NormalizeActivationCode(%q) = %q, %v", c, got, ok)
		}
		if got, ok := NormalizeActivationCode(strings.ToLower(FormatActivationCode(c))); !ok || got != c {
			t.Fatalf("round trip through the grouped, lower-case form failed for %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice", c)
		}
		seen[c] = true
		for j := 0; j < len(c); j++ {
			counts[c[j]]++
		}
	}
	// Loose uniformity check: 36,000 symbols over 31 values, expected ≈ 1161 each. A chi-square
	// statistic above 80 (30 degrees of freedom) happens by chance about once in 10^6.
	expected := float64(n*ActivationCodeLength) / float64(len(ActivationAlphabet))
	chi := 0.0
	for i := 0; i < len(ActivationAlphabet); i++ {
		d := float64(counts[ActivationAlphabet[i]]) - expected
		chi += d * d / expected
	}
	if chi > 80 {
		t.Errorf("symbol counts far from uniform: chi-square %.1f", chi)
	}
}

func TestNewActivationCodeRejectionSampling(t *testing.T) {
	// Bytes whose low 5 bits are 31 must be skipped; high bits must be ignored.
	src := append(bytes.Repeat([]byte{0xFF, 0x1F}, 8), 0x00, 0x20, 0x41, 0x1E, 0xE1)
	src = append(src, make([]byte, 64)...)
	code, err := newActivationCode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	// 0x00 → A, 0x20 → A, 0x41 → B (1), 0x1E → '9' (30), 0xE1 → B (1), then zeros → A.
	if want := "AAB9BAAAAAAA"; code != want {
		t.Errorf("newActivationCode = %q, want %q", code, want)
	}
	if _, err := newActivationCode(bytes.NewReader(bytes.Repeat([]byte{31}, 40))); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("newActivationCode on an exhausted source: %v, want EOF", err)
	}
}

func TestFormatActivationCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABCDEFGHJKMN", "ABCD-EFGH-JKMN"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD-E"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FormatActivationCode(tt.in); got != tt.want {
			t.Errorf("FormatActivationCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeActivationCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ABCD-EFGH-JKMN", "ABCDEFGHJKMN", true},
		{"abcd-efgh-jkmn", "ABCDEFGHJKMN", true},
		{" abcd efgh jkmn ", "ABCDEFGHJKMN", true},
		{"ABCD\u00a0EFGH\u00a0JKMN", "ABCDEFGHJKMN", true},
		{"ABCD–EFGH—JKMN", "ABCDEFGHJKMN", true}, // en and em dashes pasted from a document
		{"A-B-C-D-E-F-G-H-J-K-M-N", "ABCDEFGHJKMN", true},
		{"23456789ABCD", "23456789ABCD", true},
		{"ABCD-EFGH-JKM", "", false},   // 11 characters
		{"ABCD-EFGH-JKMNP", "", false}, // 13 characters
		{"ABCD-EFGH-JKM0", "", false},  // zero is not in the alphabet
		{"ABCD-EFGH-JKMO", "", false},  // nor O
		{"ABCD-EFGH-JKM1", "", false},  // nor 1
		{"ABCD-EFGH-JKMI", "", false},  // nor I
		{"ABCD-EFGH-JKML", "", false},  // nor L
		{"ABCD_EFGH_JKMN", "", false},  // underscore is not a separator
		{"ABCD-EFGH-JKMÉ", "", false},  // accented letter
		{"ＡBCD-EFGH-JKMN", "", false},  // fullwidth A
		{"", "", false},
		{strings.Repeat(" ", 100) + "ABCDEFGHJKMN", "", false}, // overlong input
	}
	for _, tt := range tests {
		got, ok := NormalizeActivationCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeActivationCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNormalizeActivationCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN", "abcd efgh jkmn", "ABCD-EFGH-JKM0", "", "é", "\u2013"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := NormalizeActivationCode(s)
		if !ok {
			if code != "" {
				t.Fatalf("not ok but returned %q", code)
			}
			return
		}
		if len(code) != ActivationCodeLength {
			t.Fatalf("%q → %q: wrong length", s, code)
		}
		for _, c := range code {
			if !strings.ContainsRune(ActivationAlphabet, c) {
				t.Fatalf("%q → %q: %q is not in the alphabet", s, code, c)
			}
		}
		if again, ok := NormalizeActivationCode(code); !ok || again != code {
			t.Fatalf("not idempotent: %q → %q → %q", s, code, again)
		}
		if again, ok := NormalizeActivationCode(FormatActivationCode(code)); !ok || again != code {
			t.Fatalf("grouped form does not normalize back: %q", code)
		}
	})
}

func TestNewOTP(t *testing.T) {
	const n = 20000
	var counts [10]int
	for i := 0; i < n; i++ {
		c := NewOTP()
		if len(c) != 6 {
			t.Fatalf("OTP %q is not 6 characters", c)
		}
		for j := 0; j < 6; j++ {
			if c[j] < '0' || c[j] > '9' {
				t.Fatalf("OTP %q has a non-digit", c)
			}
			counts[c[j]-'0']++
		}
	}
	// 120,000 digits over 10 values: a chi-square above 40 (9 degrees of freedom) happens by
	// chance less than once in 10^5.
	expected := float64(n*6) / 10
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		chi += d * d / expected
	}
	if chi > 40 {
		t.Errorf("digit counts far from uniform: %v (chi-square %.1f)", counts, chi)
	}
}

func TestNewOTPRejectionSampling(t *testing.T) {
	tests := []struct {
		name string
		src  []byte
		want string
	}{
		{"zero", []byte{0, 0, 0, 0}, "000000"},
		{"small", []byte{0, 0, 0x30, 0x39}, "012345"},
		{"just below the limit", be32(otpLimit - 1), "999999"},
		{"at the limit: drawn again", append(be32(otpLimit), be32(42)...), "000042"},
		{"max uint32: drawn again", append(be32(0xFFFFFFFF), be32(1_000_007)...), "000007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newOTP(bytes.NewReader(tt.src))
			if err != nil || got != tt.want {
				t.Errorf("newOTP = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if otpLimit%1_000_000 != 0 || otpLimit > 1<<32 || otpLimit+1_000_000 <= 1<<32 {
		t.Errorf("otpLimit %d is not the largest multiple of 10^6 within 32 bits", otpLimit)
	}
	if _, err := newOTP(bytes.NewReader(be32(0xFFFFFFFF))); err == nil {
		t.Error("newOTP on an exhausted source: no error")
	}
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func TestNormalizeOTP(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"123456", "123456", true},
		{"123 456", "123456", true},
		{" 123-456 ", "123456", true},
		{"012345", "012345", true},
		{"12345", "", false},
		{"1234567", "", false},
		{"12345a", "", false},
		{"１２３４５６", "", false}, // fullwidth digits
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeOTP(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("NormalizeOTP(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNormalizeOTP(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12345", "", "abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := NormalizeOTP(s)
		if !ok {
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("NormalizeOTP(%q) = %q", s, code)
		}
		if again, ok := NormalizeOTP(code); !ok || again != code {
			t.Fatalf("not idempotent: %q", code)
		}
	})
}

func TestCodeHash(t *testing.T) {
	key := testKey(1)
	ref := CodeHash(key, PurposeLogin, "patient-1", "123456")
	if len(ref) != 32 {
		t.Fatalf("hash is %d bytes, want 32", len(ref))
	}
	if !bytes.Equal(ref, CodeHash(key, PurposeLogin, "patient-1", "123456")) {
		t.Fatal("CodeHash is not deterministic")
	}
	if bytes.Contains(ref, []byte("123456")) {
		t.Fatal("hash contains the code")
	}
	tests := []struct {
		name                   string
		key                    []byte
		purpose, subject, code string
	}{
		{"other code", key, PurposeLogin, "patient-1", "123457"},
		{"other subject", key, PurposeLogin, "patient-2", "123456"},
		{"other purpose", key, PurposeVerifyEmail, "patient-1", "123456"},
		{"other key", testKey(2), PurposeLogin, "patient-1", "123456"},
		{"boundary moved between subject and code", key, PurposeLogin, "patient-11", "23456"},
		{"boundary moved between purpose and subject", key, PurposeLogin + "p", "atient-1", "123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(ref, CodeHash(tt.key, tt.purpose, tt.subject, tt.code)) {
				t.Error("different input, same hash")
			}
			if CodeMatches(tt.key, tt.purpose, tt.subject, tt.code, ref) {
				t.Error("CodeMatches accepted a code for another person, purpose or key")
			}
		})
	}
}

func TestCodeMatches(t *testing.T) {
	key := testKey(7)
	code := NewActivationCode()
	stored := CodeHash(key, PurposeActivation, "p-42", code)
	tests := []struct {
		name   string
		code   string
		stored []byte
		want   bool
	}{
		{"right code", code, stored, true},
		{"wrong code", "ABCDEFGHJKMN", stored, code == "ABCDEFGHJKMN"},
		{"nil stored", code, nil, false},
		{"empty stored", code, []byte{}, false},
		{"truncated stored", code, stored[:16], false},
		{"stored with a byte added", code, append(append([]byte{}, stored...), 0), false},
	}
	for _, tt := range tests {
		if got := CodeMatches(key, PurposeActivation, "p-42", tt.code, tt.stored); got != tt.want {
			t.Errorf("%s: CodeMatches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCodeHashShortKeyPanics(t *testing.T) {
	for _, key := range [][]byte{nil, {}, make([]byte, 31)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("CodeHash with a %d-byte key did not panic", len(key))
				}
			}()
			CodeHash(key, PurposeLogin, "s", "123456")
		}()
	}
}

func TestExpiry(t *testing.T) {
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	exp := Expiry(issued, OTPTTL)
	if !exp.Equal(issued.Add(10 * time.Minute)) {
		t.Fatalf("Expiry = %v", exp)
	}
	tests := []struct {
		name      string
		expiresAt time.Time
		now       time.Time
		expired   bool
	}{
		{"just issued", exp, issued, false},
		{"one nanosecond before", exp, exp.Add(-1), false},
		{"at expiry", exp, exp, true},
		{"after", exp, exp.Add(time.Second), true},
		{"zero expiry", time.Time{}, issued, true},
	}
	for _, tt := range tests {
		if got := Expired(tt.expiresAt, tt.now); got != tt.expired {
			t.Errorf("%s: Expired = %v, want %v", tt.name, got, tt.expired)
		}
	}
	if ActivationCodeTTL <= OTPTTL {
		t.Error("a provisional code sent by letter should live longer than a one-time code")
	}
}
