package identity

import (
	"regexp"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

func TestDefaultPasswordParams(t *testing.T) {
	p := DefaultPasswordParams()
	want := PasswordParams{Memory: 65536, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
	if p != want {
		t.Fatalf("DefaultPasswordParams() = %+v, want %+v", p, want)
	}
	for name, p := range map[string]PasswordParams{"default": DefaultPasswordParams(), "test": TestPasswordParams()} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s params invalid: %v", name, err)
		}
	}
	if TestPasswordParams().Memory >= DefaultPasswordParams().Memory {
		t.Error("test params should be cheaper than the defaults")
	}
}

func TestPasswordParamsValidate(t *testing.T) {
	ok := TestPasswordParams()
	tests := []struct {
		name   string
		change func(*PasswordParams)
		valid  bool
	}{
		{"test params", func(p *PasswordParams) {}, true},
		{"no threads", func(p *PasswordParams) { p.Threads = 0 }, false},
		{"no time", func(p *PasswordParams) { p.Time = 0 }, false},
		{"time too high", func(p *PasswordParams) { p.Time = maxArgonTime + 1 }, false},
		{"memory below 8p", func(p *PasswordParams) { p.Threads = 4; p.Memory = 31 }, false},
		{"memory exactly 8p", func(p *PasswordParams) { p.Threads = 4; p.Memory = 32 }, true},
		{"memory too high", func(p *PasswordParams) { p.Memory = maxArgonMemory + 1 }, false},
		{"memory at the cap", func(p *PasswordParams) { p.Memory = maxArgonMemory }, true},
		{"salt too short", func(p *PasswordParams) { p.SaltLen = 7 }, false},
		{"salt too long", func(p *PasswordParams) { p.SaltLen = 65 }, false},
		{"key too short", func(p *PasswordParams) { p.KeyLen = 15 }, false},
		{"key too long", func(p *PasswordParams) { p.KeyLen = 65 }, false},
		{"zero", func(p *PasswordParams) { *p = PasswordParams{} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.change(&p)
			if err := p.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate(%+v) = %v, want valid=%v", p, err, tt.valid)
			}
		})
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

func TestHashPasswordFormat(t *testing.T) {
	p := TestPasswordParams()
	h1, err := HashPassword("correct horse battery staple", p)
	if err != nil {
		t.Fatal(err)
	}
	m := phcPattern.FindStringSubmatch(h1)
	if m == nil {
		t.Fatalf("hash %q is not a PHC argon2id string", h1)
	}
	if m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Errorf("parameters m=%s t=%s p=%s, want 64, 1, 1", m[1], m[2], m[3])
	}
	h2, _ := HashPassword("correct horse battery staple", p)
	if h1 == h2 {
		t.Error("two hashes of the same password are equal: the salt is not random")
	}
	if strings.Contains(h1, "correct") {
		t.Error("the hash contains the password")
	}
	_, salt, key, err := parsePHC(h1)
	if err != nil || len(salt) != 16 || len(key) != 32 {
		t.Errorf("parsePHC: salt %d bytes, key %d bytes, err %v", len(salt), len(key), err)
	}
}

func TestHashPasswordRejectsBadParams(t *testing.T) {
	_, err := HashPassword("whatever", PasswordParams{})
	if carnet.ErrorCode(err) != carnet.EINTERNAL {
		t.Fatalf("HashPassword with zero params: %v, want EINTERNAL", err)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	p := TestPasswordParams()
	tests := []struct {
		name, set, try string
		ok             bool
	}{
		{"same", "Tr0ub4dour&3-cheval", "Tr0ub4dour&3-cheval", true},
		{"other", "Tr0ub4dour&3-cheval", "Tr0ub4dour&3-chevak", false},
		{"case matters", "Tr0ub4dour&3-cheval", "tr0ub4dour&3-cheval", false},
		{"trailing space matters", "Tr0ub4dour&3-cheval", "Tr0ub4dour&3-cheval ", false},
		{"empty", "", "", true},
		{"empty vs something", "", "x", false},
		{"NFC typed, NFD tried", "Mot de passe très sûr", "Mot de passe tre\u0300s su\u0302r", true},
		{"NFD typed, NFC tried", "e\u0301le\u0301phant rose 42", "éléphant rose 42", true},
		{"compatibility form (fullwidth)", "ＡＢＣ password 123", "ABC password 123", true},
		{"long", strings.Repeat("long passphrase ", 50), strings.Repeat("long passphrase ", 50), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.set, p)
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := VerifyPassword(tt.try, h, p)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok {
				t.Errorf("VerifyPassword = %v, want %v", ok, tt.ok)
			}
			if rehash {
				t.Error("needsRehash with unchanged parameters")
			}
		})
	}
}

// TestVerifyPasswordReferenceVectors checks interoperability with the reference implementation
// of argon2 (the argon2 command of the phc-winner-argon2 project, Debian package argon2):
//
//	echo -n "correct horse battery staple" | argon2 "carnet-salt-0001" -id -t 2 -k 1024 -p 2 -l 32 -e
//	echo -n "Mot de passe très long é" | argon2 "saltsaltsaltsalt" -id -t 1 -k 64 -p 1 -l 32 -e
func TestVerifyPasswordReferenceVectors(t *testing.T) {
	tests := []struct{ password, encoded string }{
		{"correct horse battery staple", "$argon2id$v=19$m=1024,t=2,p=2$Y2FybmV0LXNhbHQtMDAwMQ$BePPGUWZDGfoUuiIkat0rbKv2TFj+d4g7I7junZjtLE"},
		{"Mot de passe très long é", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$XlN5EfhoMMuL/ZZRYZvFe5bNcsFcauB/wGIEE2nbkXk"},
	}
	for _, tt := range tests {
		ok, _, err := VerifyPassword(tt.password, tt.encoded, DefaultPasswordParams())
		if err != nil || !ok {
			t.Errorf("VerifyPassword(%q, reference) = %v, %v; want true", tt.password, ok, err)
		}
		ok, _, _ = VerifyPassword(tt.password+"!", tt.encoded, DefaultPasswordParams())
		if ok {
			t.Errorf("VerifyPassword(%q+\"!\", reference) matched", tt.password)
		}
		// What we parse, we write back identically.
		p, salt, key, err := parsePHC(tt.encoded)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodePHC(p, salt, key); got != tt.encoded {
			t.Errorf("encodePHC(parsePHC(%q)) = %q", tt.encoded, got)
		}
	}
}

func TestVerifyPasswordNeedsRehash(t *testing.T) {
	base := TestPasswordParams()
	tests := []struct {
		name    string
		stored  func(PasswordParams) PasswordParams
		rehash  bool
		correct bool
	}{
		{"same params", func(p PasswordParams) PasswordParams { return p }, false, true},
		{"older, less memory", func(p PasswordParams) PasswordParams { p.Memory /= 2; return p }, true, true},
		{"older, fewer passes", func(p PasswordParams) PasswordParams { p.Time = 1; return p }, true, true},
		{"shorter salt", func(p PasswordParams) PasswordParams { p.SaltLen = 8; return p }, true, true},
		{"shorter key", func(p PasswordParams) PasswordParams { p.KeyLen = 16; return p }, true, true},
		{"stronger than policy (policy lowered)", func(p PasswordParams) PasswordParams { p.Memory *= 2; return p }, true, true},
		{"wrong password never asks for a rehash", func(p PasswordParams) PasswordParams { p.Memory /= 2; return p }, false, false},
	}
	current := base
	current.Time = 2
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := tt.stored(current)
			h, err := HashPassword("un mot de passe 2 test", stored)
			if err != nil {
				t.Fatal(err)
			}
			try := "un mot de passe 2 test"
			if !tt.correct {
				try = "un autre mot de passe"
			}
			ok, rehash, err := VerifyPassword(try, h, current)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.correct || rehash != tt.rehash {
				t.Errorf("VerifyPassword = ok %v, rehash %v; want %v, %v", ok, rehash, tt.correct, tt.rehash)
			}
		})
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, err := HashPassword("x", TestPasswordParams())
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(good, "$")
	salt, key := fields[4], fields[5]
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"params out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"extra param", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"p overflows a byte", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key},
		{"m over 1 GiB", "$argon2id$v=19$m=2097152,t=1,p=1$" + salt + "$" + key},
		{"t huge", "$argon2id$v=19$m=64,t=4294967295,p=1$" + salt + "$" + key},
		{"t zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"m below 8p", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.NewReplacer("+", "-", "/", "_").Replace(key) + "-_"},
		{"line break in the hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:10] + "\n" + key[10:]},
		{"short salt", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA"},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"trailing field", good + "$x"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword("x", tt.encoded, TestPasswordParams())
			if ok || rehash || carnet.ErrorCode(err) != carnet.EINTEGRITY {
				t.Errorf("VerifyPassword(%q) = %v, %v, %v; want false, false, EINTEGRITY", tt.encoded, ok, rehash, err)
			}
		})
	}
}

// FuzzParsePHC checks that the parser never panics, accepts only values within the bounds, and
// accepts only the canonical spelling: whatever it parses, encodePHC writes back identically.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$XlN5EfhoMMuL/ZZRYZvFe5bNcsFcauB/wGIEE2nbkXk")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$XlN5EfhoMMuL/ZZRYZvFe5bNcsFcauB/wGIEE2nbkXk")
	f.Add("$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=064,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed out-of-bounds params %+v from %q", p, s)
		}
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("non-canonical input accepted: %q re-encodes as %q", s, got)
		}
	})
}
