package identity

import "testing"

// BenchmarkHashPasswordDefault measures one argon2id hash with DefaultPasswordParams, the cost
// of every login and password change. Run with:
//
//	go test -run '^$' -bench HashPasswordDefault -count 5 ./internal/identity/
func BenchmarkHashPasswordDefault(b *testing.B) {
	p := DefaultPasswordParams()
	for b.Loop() {
		if _, err := HashPassword("cheval batterie agrafe correcte", p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPasswordDefault measures one verification against a default-parameter hash.
func BenchmarkVerifyPasswordDefault(b *testing.B) {
	p := DefaultPasswordParams()
	h, err := HashPassword("cheval batterie agrafe correcte", p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, _ := VerifyPassword("cheval batterie agrafe correcte", h, p); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkCodeHash measures the keyed hash of a one-time code.
func BenchmarkCodeHash(b *testing.B) {
	key := testKey(1)
	for b.Loop() {
		CodeHash(key, PurposeLogin, "0195c2a4-7d1e-7c3a-9f00-5b2f1e8c4d21", "123456")
	}
}

// BenchmarkCodeMatches measures the constant-time check of a one-time code.
func BenchmarkCodeMatches(b *testing.B) {
	key := testKey(1)
	stored := CodeHash(key, PurposeLogin, "0195c2a4-7d1e-7c3a-9f00-5b2f1e8c4d21", "123456")
	for b.Loop() {
		CodeMatches(key, PurposeLogin, "0195c2a4-7d1e-7c3a-9f00-5b2f1e8c4d21", "654321", stored)
	}
}

// BenchmarkCheckPasswordStrength measures the strength rules on a 30-character passphrase.
func BenchmarkCheckPasswordStrength(b *testing.B) {
	ctx := []string{"marie.dupont85", "Marie-Claire", "DUPONT", "1985-03-14"}
	for b.Loop() {
		_ = CheckPasswordStrength("cheval batterie agrafe correcte", ctx...)
	}
}
