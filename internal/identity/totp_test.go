package identity

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carnet-sante/carnet"
)

// rfcSecret is the SHA-1 seed of RFC 6238 appendix B ("12345678901234567890") in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestNewTOTP(t *testing.T) {
	secret, u, err := NewTOTP(TOTPIssuer, "marie.dupont")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v; want 20 bytes of base32", secret, len(raw), err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if parsed.Scheme != "otpauth" || parsed.Host != "totp" || parsed.Path != "/Carnet:marie.dupont" {
		t.Errorf("URL %q: wrong scheme, type or label", u)
	}
	for k, want := range map[string]string{"secret": secret, "issuer": "Carnet", "period": "30", "digits": "6", "algorithm": "SHA1"} {
		if got := q.Get(k); got != want {
			t.Errorf("URL parameter %s = %q, want %q", k, got, want)
		}
	}
	other, _, _ := NewTOTP(TOTPIssuer, "marie.dupont")
	if other == secret {
		t.Error("two enrolments got the same secret")
	}
	// The app's code for now verifies.
	now := time.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := VerifyTOTP(secret, code, now, 0); !ok {
		t.Error("the code of a fresh secret does not verify")
	}
}

func TestNewTOTPRequiresIssuerAndAccount(t *testing.T) {
	for _, args := range [][2]string{{"", "marie"}, {"Carnet", ""}} {
		if _, _, err := NewTOTP(args[0], args[1]); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("NewTOTP(%q, %q) = %v, want EINVALID", args[0], args[1], err)
		}
	}
}

func TestVerifyTOTPReferenceVectors(t *testing.T) {
	// RFC 6238 appendix B, SHA-1, truncated to the 6 digits an app shows.
	tests := []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	}
	for _, tt := range tests {
		now := time.Unix(tt.unix, 0)
		step, ok := VerifyTOTP(rfcSecret, tt.code, now, 0)
		if !ok || step != tt.unix/30 {
			t.Errorf("VerifyTOTP(RFC vector at %d) = %d, %v; want %d, true", tt.unix, step, ok, tt.unix/30)
		}
	}
}

func TestVerifyTOTP(t *testing.T) {
	now := time.Unix(1_780_000_015, 0) // in the middle of a step
	cur := TOTPStep(now)
	codeAt := func(step int64) string {
		c, err := totp.GenerateCode(rfcSecret, time.Unix(step*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name     string
		secret   string
		code     string
		lastStep int64
		wantStep int64
		ok       bool
	}{
		{"current step", rfcSecret, codeAt(cur), 0, cur, true},
		{"previous step (slow typist)", rfcSecret, codeAt(cur - 1), 0, cur - 1, true},
		{"next step (phone clock ahead)", rfcSecret, codeAt(cur + 1), 0, cur + 1, true},
		{"two steps old", rfcSecret, codeAt(cur - 2), 0, 0, false},
		{"two steps ahead", rfcSecret, codeAt(cur + 2), 0, 0, false},
		{"typed with a space", rfcSecret, codeAt(cur)[:3] + " " + codeAt(cur)[3:], 0, cur, true},
		{"replay of the step already used", rfcSecret, codeAt(cur), cur, 0, false},
		{"older step after a newer one was used", rfcSecret, codeAt(cur - 1), cur, 0, false},
		{"newer step after an older one was used", rfcSecret, codeAt(cur), cur - 1, cur, true},
		{"wrong code", rfcSecret, wrongCode(codeAt(cur-1), codeAt(cur), codeAt(cur+1)), 0, 0, false},
		{"five digits", rfcSecret, codeAt(cur)[:5], 0, 0, false},
		{"letters", rfcSecret, "abcdef", 0, 0, false},
		{"empty", rfcSecret, "", 0, 0, false},
		{"bad secret", "not base32!", "123456", 0, 0, false},
		{"empty secret", "", codeAt(cur), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := VerifyTOTP(tt.secret, tt.code, now, tt.lastStep)
			if ok != tt.ok || step != tt.wantStep {
				t.Errorf("VerifyTOTP = %d, %v; want %d, %v", step, ok, tt.wantStep, tt.ok)
			}
		})
	}
}

// wrongCode returns a 6-digit code equal to none of the given ones.
func wrongCode(avoid ...string) string {
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !strings.Contains(strings.Join(avoid, ","), c) {
			return c
		}
	}
	return "444444"
}

func TestTOTPStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {-1, -1}, {-30, -1}, {-31, -2},
		{1234567890, 41152263},
	}
	for _, tt := range tests {
		if got := TOTPStep(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("TOTPStep(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
}
