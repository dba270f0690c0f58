package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/carnet-sante/carnet"
)

func TestSealOpen(t *testing.T) {
	key, _ := NewDataKey()
	aad := AAD("document", "p1", "d1")
	sealed, err := Seal(key, []byte("compte rendu"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("compte rendu")) {
		t.Fatal("plaintext visible in sealed value")
	}
	pt, err := Open(key, sealed, aad)
	if err != nil || string(pt) != "compte rendu" {
		t.Fatalf("open: %q %v", pt, err)
	}
	other, _ := NewDataKey()
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	cases := map[string]func() ([]byte, error){
		"wrong key":       func() ([]byte, error) { return Open(other, sealed, aad) },
		"other patient":   func() ([]byte, error) { return Open(key, sealed, AAD("document", "p2", "d1")) },
		"other record":    func() ([]byte, error) { return Open(key, sealed, AAD("document", "p1", "d2")) },
		"flipped bit":     func() ([]byte, error) { return Open(key, flipped, aad) },
		"truncated":       func() ([]byte, error) { return Open(key, sealed[:10], aad) },
		"unknown version": func() ([]byte, error) { b := append([]byte{9}, sealed[1:]...); return Open(key, b, aad) },
		"short key":       func() ([]byte, error) { return Open(key[:16], sealed, aad) },
	}
	for name, fn := range cases {
		if _, err := fn(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := Open(key, flipped, aad); carnet.ErrorCode(err) != carnet.EINTEGRITY {
		t.Errorf("tamper code: %v", err)
	}
	// Two seals of the same plaintext differ (random nonce).
	again, _ := Seal(key, []byte("compte rendu"), aad)
	if bytes.Equal(again, sealed) {
		t.Error("nonce reused")
	}
}

func TestKeyringWrapUnwrap(t *testing.T) {
	k1, _ := GenerateMasterKey()
	k2, _ := GenerateMasterKey()
	dek, _ := NewDataKey()
	w, id, err := NewKeyring(k1).Wrap(dek, "p1")
	if err != nil || id != k1.ID() {
		t.Fatal(err)
	}
	got, err := NewKeyring(k2, k1).Unwrap(w, id, "p1")
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("unwrap with old key in ring: %v", err)
	}
	if _, err := NewKeyring(k2).Unwrap(w, id, "p1"); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("unknown KEK: %v", err)
	}
	if _, err := NewKeyring(k1).Unwrap(w, id, "p2"); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("wrapped key moved to another patient: %v", err)
	}
	// A different key claiming the same ID (a wrong key file) is detected.
	impostor := &MasterKey{id: k1.ID(), key: k2.key}
	if _, err := NewKeyring(impostor).Unwrap(w, id, "p1"); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("wrong key with same id: %v", err)
	}
}

func TestParseMasterKey(t *testing.T) {
	k, _ := GenerateMasterKey()
	p, err := ParseMasterKey(" " + k.Encode() + "\n")
	if err != nil || p.ID() != k.ID() {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseMasterKey(bad); carnet.ErrorCode(err) != carnet.EKEY {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "master.key")
	// No file and the database holds data: refuse, create nothing.
	if _, _, err := Load(Source{File: file}, false); carnet.ErrorCode(err) != carnet.EKEY {
		t.Fatalf("missing key with data: %v", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a key file was created although the database holds data")
	}
	// Fresh start: created 0600.
	r, created, err := Load(Source{File: file}, true)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	// Second start reads the same key, creates nothing.
	r2, created, err := Load(Source{File: file}, true)
	if err != nil || created || r2.Current().ID() != r.Current().ID() {
		t.Fatalf("reload: %v %v", created, err)
	}
	// Never overwrite.
	k, _ := GenerateMasterKey()
	if err := CreateKeyFile(file, k); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("overwrite: %v", err)
	}
	r3, _, _ := Load(Source{File: file}, true)
	if r3.Current().ID() != r.Current().ID() {
		t.Error("key file was replaced")
	}
	// Too open.
	os.Chmod(file, 0o644)
	if _, _, err := Load(Source{File: file}, true); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("world-readable key accepted: %v", err)
	}
	os.Chmod(file, 0o600)
	// Garbage in the file.
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("garbage"), 0o600)
	if _, _, err := Load(Source{File: bad}, true); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("garbage key accepted: %v", err)
	}
	// Environment overrides the file; a bad one is refused.
	if _, _, err := Load(Source{File: file, Env: "short"}, true); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("bad env key: %v", err)
	}
	envRing, _, err := Load(Source{Env: k.Encode()}, false)
	if err != nil || envRing.Current().ID() != k.ID() {
		t.Errorf("env key: %v", err)
	}
	next, _ := GenerateMasterKey()
	both, _, err := Load(Source{Env: k.Encode(), EnvNext: next.Encode()}, false)
	if err != nil || both.Current().ID() != next.ID() || !both.Has(k.ID()) {
		t.Errorf("env rotation ring: %v", err)
	}
}

func TestRotationFiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "master.key")
	r, _, err := Load(Source{File: file}, true)
	if err != nil {
		t.Fatal(err)
	}
	old := r.Current()
	next, _ := GenerateMasterKey()
	if err := CreateKeyFile(NextFile(file), next); err != nil {
		t.Fatal(err)
	}
	// During the rotation, the next key wraps and the old one still unwraps.
	mid, _, err := Load(Source{File: file}, false)
	if err != nil || mid.Current().ID() != next.ID() || !mid.Has(old.ID()) {
		t.Fatalf("mid-rotation ring: %v", err)
	}
	retired, err := FinishRotation(file, old)
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := Load(Source{File: file}, false)
	if err != nil || after.Current().ID() != next.ID() || after.Has(old.ID()) {
		t.Fatalf("after rotation: %v", err)
	}
	if k, err := ReadKeyFile(retired); err != nil || k.ID() != old.ID() {
		t.Errorf("retired key: %v", err)
	}
}

func TestIndex(t *testing.T) {
	a := Index([]byte("k1"), "255081416802538")
	if !bytes.Equal(a, Index([]byte("k1"), "255081416802538")) || bytes.Equal(a, Index([]byte("k2"), "255081416802538")) {
		t.Error("index not deterministic per key")
	}
}
