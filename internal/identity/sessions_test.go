package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestNewSessionToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		token, id := NewSessionToken()
		if len(token) != 43 || strings.ContainsAny(token, "+/=") {
			t.Fatalf("token %q is not 43 characters of unpadded base64url", token)
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q does not decode to 32 bytes", token)
		}
		if sum := sha256.Sum256(raw); !bytes.Equal(id, sum[:]) {
			t.Fatal("id is not the SHA-256 of the token's bytes")
		}
		if got, ok := SessionID(token); !ok || !bytes.Equal(got, id) {
			t.Fatalf("SessionID(token) = %x, %v; want %x", got, ok, id)
		}
		if bytes.Contains(id, raw) || strings.Contains(token, base64.RawURLEncoding.EncodeToString(id)) {
			t.Fatal("id and token reveal each other")
		}
		if seen[token] {
			t.Fatal("token drawn twice")
		}
		seen[token] = true
	}
}

func TestSessionIDMalformed(t *testing.T) {
	token, _ := NewSessionToken()
	// The last character of a 43-character token carries 2 spare bits that must be zero.
	nonCanonical := token[:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", token[42])|1])
	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"short", token[:42]},
		{"long", token + "A"},
		{"padded", token + "="},
		{"standard alphabet", strings.Repeat("+", 43)},
		{"space", " " + token[1:]},
		{"spare bits set", nonCanonical},
		{"hex instead", strings.Repeat("ab", 32)},
	}
	for _, tt := range tests {
		if id, ok := SessionID(tt.token); ok {
			t.Errorf("SessionID(%s %q) = %x, true; want false", tt.name, tt.token, id)
		}
	}
}

func FuzzSessionID(f *testing.F) {
	token, _ := NewSessionToken()
	for _, s := range []string{token, "", strings.Repeat("A", 43), strings.Repeat("_", 43), token + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := SessionID(s)
		if !ok {
			if id != nil {
				t.Fatal("not ok but returned an id")
			}
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) != 32 || base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("accepted a token NewSessionToken cannot produce: %q", s)
		}
		if sum := sha256.Sum256(raw); !bytes.Equal(id, sum[:]) {
			t.Fatalf("wrong id for %q", s)
		}
	})
}

func TestSessionPolicyValid(t *testing.T) {
	p := DefaultSessionPolicy()
	if p.Idle != 30*time.Minute || p.Absolute != 12*time.Hour {
		t.Fatalf("DefaultSessionPolicy = %+v", p)
	}
	created := t0
	tests := []struct {
		name   string
		policy SessionPolicy
		s      SessionTimes
		now    time.Time
		valid  bool
	}{
		{"fresh", p, SessionTimes{created, created}, created, true},
		{"idle 29 min", p, SessionTimes{created, created}, created.Add(29 * time.Minute), true},
		{"idle exactly 30 min", p, SessionTimes{created, created}, created.Add(30 * time.Minute), false},
		{"idle 31 min", p, SessionTimes{created, created}, created.Add(31 * time.Minute), false},
		{"active, 11h59", p, SessionTimes{created, created.Add(11*time.Hour + 50*time.Minute)}, created.Add(11*time.Hour + 59*time.Minute), true},
		{"active, at 12 h", p, SessionTimes{created, created.Add(11*time.Hour + 59*time.Minute)}, created.Add(12 * time.Hour), false},
		{"zero created", p, SessionTimes{time.Time{}, created}, created, false},
		{"zero last seen", p, SessionTimes{created, time.Time{}}, created, false},
		{"last seen slightly ahead (replica clocks)", p, SessionTimes{created, created.Add(30 * time.Second)}, created, true},
		{"last seen far in the future", p, SessionTimes{created, created.Add(24 * time.Hour)}, created, false},
		{"created far in the future", p, SessionTimes{created.Add(time.Hour), created.Add(time.Hour)}, created, false},
		{"zero policy", SessionPolicy{}, SessionTimes{created, created}, created, false},
		{"no idle limit given", SessionPolicy{Absolute: time.Hour}, SessionTimes{created, created}, created, false},
	}
	for _, tt := range tests {
		if got := tt.policy.Valid(tt.s, tt.now); got != tt.valid {
			t.Errorf("%s: Valid = %v, want %v", tt.name, got, tt.valid)
		}
	}
}

func TestSessionPolicyTouch(t *testing.T) {
	p := DefaultSessionPolicy()
	s := SessionTimes{Created: t0, LastSeen: t0}
	// A request every 20 minutes keeps the session alive until the absolute timeout.
	now := t0
	for i := 0; ; i++ {
		now = now.Add(20 * time.Minute)
		if !p.Valid(s, now) {
			if now.Sub(t0) < 12*time.Hour {
				t.Fatalf("session ended after %v despite activity", now.Sub(t0))
			}
			break
		}
		s = p.Touch(s, now)
		if !s.LastSeen.Equal(now) || !s.Created.Equal(t0) {
			t.Fatalf("Touch = %+v", s)
		}
	}
	// Touch never moves LastSeen back.
	back := p.Touch(s, t0)
	if !back.LastSeen.Equal(s.LastSeen) {
		t.Errorf("Touch moved LastSeen back to %v", back.LastSeen)
	}
}

func TestSessionPolicyExpires(t *testing.T) {
	p := DefaultSessionPolicy()
	tests := []struct {
		name string
		s    SessionTimes
		want time.Time
	}{
		{"idle first", SessionTimes{t0, t0.Add(time.Hour)}, t0.Add(time.Hour + 30*time.Minute)},
		{"absolute first", SessionTimes{t0, t0.Add(11*time.Hour + 45*time.Minute)}, t0.Add(12 * time.Hour)},
	}
	for _, tt := range tests {
		if got := p.Expires(tt.s); !got.Equal(tt.want) {
			t.Errorf("%s: Expires = %v, want %v", tt.name, got, tt.want)
		}
		if p.Valid(tt.s, p.Expires(tt.s)) || !p.Valid(tt.s, p.Expires(tt.s).Add(-time.Nanosecond)) {
			t.Errorf("%s: Expires disagrees with Valid", tt.name)
		}
	}
}

func TestCSRF(t *testing.T) {
	secret := testKey(9)
	_, id := NewSessionToken()
	_, otherID := NewSessionToken()
	tok := CSRFToken(secret, id)
	if tok != CSRFToken(secret, id) {
		t.Fatal("CSRFToken is not stable within a session")
	}
	if len(tok) != 43 {
		t.Errorf("token %q: %d characters, want 43", tok, len(tok))
	}
	tests := []struct {
		name   string
		secret []byte
		id     []byte
		token  string
		ok     bool
	}{
		{"right", secret, id, tok, true},
		{"other session", secret, otherID, tok, false},
		{"other secret", testKey(10), id, tok, false},
		{"empty token", secret, id, "", false},
		{"truncated", secret, id, tok[:42], false},
		{"one character changed", secret, id, flip(tok), false},
		{"anonymous request", secret, nil, CSRFToken(secret, nil), false},
	}
	for _, tt := range tests {
		if got := CheckCSRF(tt.secret, tt.id, tt.token); got != tt.ok {
			t.Errorf("%s: CheckCSRF = %v, want %v", tt.name, got, tt.ok)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("CSRFToken with a short secret did not panic")
			}
		}()
		CSRFToken([]byte("short"), id)
	}()
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}
