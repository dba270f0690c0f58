package audit

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// testKey returns a fixed signing key.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func heads() []Anchor {
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, HashSize) }
	return []Anchor{
		{PatientID: "pat-3", Seq: 7, Hash: h(3)},
		{PatientID: "pat-1", Seq: 12, Hash: h(1)},
		{PatientID: "pat-2", Seq: 1, Hash: h(2)},
	}
}

func TestSignCheckpoint(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	in := heads()
	c := SignCheckpoint(priv, at, in)

	if err := VerifyCheckpoint(pub, c); err != nil {
		t.Fatal(err)
	}
	if !c.Time.Equal(at.Truncate(time.Microsecond)) || c.Time.Location() != time.UTC {
		t.Errorf("time %v", c.Time)
	}
	if ids := []string{c.Anchors[0].PatientID, c.Anchors[1].PatientID, c.Anchors[2].PatientID}; !slices.Equal(ids, []string{"pat-1", "pat-2", "pat-3"}) {
		t.Errorf("anchors not sorted: %v", ids)
	}
	if len(c.ID) != 32 || len(c.KeyID) != 16 || c.KeyID != KeyID(pub) {
		t.Errorf("ID %q, key ID %q", c.ID, c.KeyID)
	}
	// The input is copied: changing it afterwards changes nothing.
	in[1].Hash[0] ^= 1
	if err := VerifyCheckpoint(pub, c); err != nil {
		t.Fatalf("after changing the input: %v", err)
	}
	// Signing is deterministic (Ed25519), whatever the order of the anchors.
	in[1].Hash[0] ^= 1
	slices.Reverse(in)
	if d := SignCheckpoint(priv, at, in); d.ID != c.ID || !bytes.Equal(d.Signature, c.Signature) {
		t.Errorf("another order gives another checkpoint")
	}
	if d := SignCheckpoint(priv, at.Add(time.Microsecond), in); d.ID == c.ID {
		t.Errorf("another time gives the same ID")
	}
}

func TestVerifyCheckpointRejects(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	other := testKey(2).Public().(ed25519.PublicKey)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		pub    ed25519.PublicKey
		change func(c *Checkpoint)
		code   string
	}{
		{"intact", pub, func(*Checkpoint) {}, ""},
		{"other key", other, func(*Checkpoint) {}, carnet.EKEY},
		{"bad public key", pub[:10], func(*Checkpoint) {}, carnet.EKEY},
		{"key ID changed", pub, func(c *Checkpoint) { c.KeyID = "0011223344556677" }, carnet.EKEY},
		{"hash changed", pub, func(c *Checkpoint) { c.Anchors[0].Hash[5] ^= 1 }, carnet.EINTEGRITY},
		{"seq changed", pub, func(c *Checkpoint) { c.Anchors[1].Seq++ }, carnet.EINTEGRITY},
		{"patient changed", pub, func(c *Checkpoint) { c.Anchors[2].PatientID = "pat-4" }, carnet.EINTEGRITY},
		{"anchor removed", pub, func(c *Checkpoint) { c.Anchors = c.Anchors[1:] }, carnet.EINTEGRITY},
		{"anchor added", pub, func(c *Checkpoint) {
			c.Anchors = append(c.Anchors, Anchor{PatientID: "pat-9", Seq: 1, Hash: make([]byte, HashSize)})
		}, carnet.EINTEGRITY},
		{"time changed", pub, func(c *Checkpoint) { c.Time = c.Time.Add(time.Second) }, carnet.EINTEGRITY},
		{"ID changed", pub, func(c *Checkpoint) { c.ID = strings.Repeat("0", 32) }, carnet.EINTEGRITY},
		{"signature changed", pub, func(c *Checkpoint) { c.Signature[0] ^= 1 }, carnet.EINTEGRITY},
		{"no signature", pub, func(c *Checkpoint) { c.Signature = nil }, carnet.EINTEGRITY},
		{"unsorted", pub, func(c *Checkpoint) { c.Anchors[0], c.Anchors[1] = c.Anchors[1], c.Anchors[0] }, carnet.EINTEGRITY},
		{"short hash", pub, func(c *Checkpoint) { c.Anchors[0].Hash = c.Anchors[0].Hash[:8] }, carnet.EINTEGRITY},
		{"empty patient", pub, func(c *Checkpoint) { c.Anchors[0].PatientID = "" }, carnet.EINTEGRITY},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := SignCheckpoint(priv, at, heads())
			tc.change(&c)
			err := VerifyCheckpoint(tc.pub, c)
			if got := carnet.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q, want %q (%v)", got, tc.code, err)
			}
			if err != nil && !strings.Contains(carnet.ErrorMessage(err), "point de contrôle") && !strings.Contains(carnet.ErrorMessage(err), "clé") {
				t.Errorf("message %q", carnet.ErrorMessage(err))
			}
		})
	}
}

func TestVerifyCheckpointEmptyChain(t *testing.T) {
	priv := testKey(1)
	c := SignCheckpoint(priv, time.Now(), []Anchor{{PatientID: "pat-1"}})
	if err := VerifyCheckpoint(priv.Public().(ed25519.PublicKey), c); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeCheckpoint(t *testing.T) {
	priv := testKey(1)
	for _, c := range []Checkpoint{
		SignCheckpoint(priv, time.Date(2026, 3, 1, 12, 0, 0, 999999999, time.UTC), heads()),
		SignCheckpoint(priv, time.Unix(0, 0), nil),
		{},
	} {
		b := EncodeCheckpoint(c)
		d, err := DecodeCheckpoint(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != c.ID || !d.Time.Equal(c.Time) || d.KeyID != c.KeyID || !bytes.Equal(d.Signature, c.Signature) ||
			!slices.EqualFunc(d.Anchors, c.Anchors, func(x, y Anchor) bool { return compareAnchors(x, y) == 0 }) {
			t.Errorf("round trip: got %+v, want %+v", d, c)
		}
		if !bytes.Equal(EncodeCheckpoint(d), b) {
			t.Errorf("encoding not stable")
		}
	}
	// The format is stable: a golden encoding.
	c := Checkpoint{ID: "ab", Time: time.UnixMicro(1).UTC(), KeyID: "k", Anchors: []Anchor{{PatientID: "p", Seq: 2, Hash: []byte{9}}}, Signature: []byte{7}}
	want := []byte("CKP1\x00\x00\x00\x02ab\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01k\x00\x00\x00\x01" +
		"\x00\x00\x00\x01p\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x09\x00\x00\x00\x01\x07")
	if got := EncodeCheckpoint(c); !bytes.Equal(got, want) {
		t.Errorf("encoding %q, want %q", got, want)
	}
}

func TestDecodeCheckpointRejects(t *testing.T) {
	good := EncodeCheckpoint(SignCheckpoint(testKey(1), time.Now(), heads()))
	cases := map[string][]byte{
		"empty":        nil,
		"magic":        append([]byte("CKP2"), good[4:]...),
		"truncated":    good[:len(good)-1],
		"trailing":     append(slices.Clone(good), 0),
		"huge count":   []byte("CKP1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"),
		"huge field":   []byte("CKP1\x7f\xff\xff\xff"),
		"header only":  []byte("CKP1"),
		"field past b": []byte("CKP1\x00\x00\x00\x10ab"),
	}
	for name, b := range cases {
		if _, err := DecodeCheckpoint(b); carnet.ErrorCode(err) != carnet.EINTEGRITY {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add(EncodeCheckpoint(SignCheckpoint(testKey(1), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), heads())))
	f.Add(EncodeCheckpoint(Checkpoint{}))
	f.Add([]byte("CKP1"))
	f.Add([]byte("CKP1\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05"))
	pub := testKey(1).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCheckpoint(b)
		if err != nil {
			if carnet.ErrorCode(err) != carnet.EINTEGRITY {
				t.Fatalf("code %q", carnet.ErrorCode(err))
			}
			return
		}
		// The encoding is canonical: what decodes encodes back to the same bytes.
		if got := EncodeCheckpoint(c); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n%q\n%q", got, b)
		}
		_ = VerifyCheckpoint(pub, c) // must not panic
		c.Anchor("pat-1")
	})
}

func TestCheckpointRecord(t *testing.T) {
	c := SignCheckpoint(testKey(1), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), heads())
	r := CheckpointRecord(c)
	if r.ID != c.ID || !r.Time.Equal(c.Time) {
		t.Fatalf("record %+v", r)
	}
	// As read back from a database, in another time zone.
	r.Time = r.Time.In(time.FixedZone("CET", 3600))
	d, err := CheckpointFromRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCheckpoint(testKey(1).Public().(ed25519.PublicKey), d); err != nil {
		t.Fatal(err)
	}
	r.ID = "autre"
	if _, err := CheckpointFromRecord(r); carnet.ErrorCode(err) != carnet.EINTEGRITY {
		t.Errorf("ID column changed: %v", err)
	}
	r = CheckpointRecord(c)
	r.Time = r.Time.Add(-time.Hour)
	if _, err := CheckpointFromRecord(r); carnet.ErrorCode(err) != carnet.EINTEGRITY {
		t.Errorf("time column changed: %v", err)
	}
	r.Body = r.Body[:10]
	if _, err := CheckpointFromRecord(r); carnet.ErrorCode(err) != carnet.EINTEGRITY {
		t.Errorf("body cut: %v", err)
	}
}

func TestCheckpointAnchor(t *testing.T) {
	h := bytes.Repeat([]byte{1}, HashSize)
	c := SignCheckpoint(testKey(1), time.Now(), []Anchor{
		{PatientID: "b", Seq: 3, Hash: h}, {PatientID: "a", Seq: 1, Hash: h}, {PatientID: "b", Seq: 5, Hash: h}, {PatientID: "c", Seq: 2, Hash: h},
	})
	for _, tc := range []struct {
		id  string
		seq int64
		ok  bool
	}{{"a", 1, true}, {"b", 5, true}, {"c", 2, true}, {"", 0, false}, {"aa", 0, false}, {"d", 0, false}} {
		a, ok := c.Anchor(tc.id)
		if ok != tc.ok || a.Seq != tc.seq {
			t.Errorf("Anchor(%q) = %+v, %v", tc.id, a, ok)
		}
	}
	d := SignCheckpoint(testKey(1), time.Now(), []Anchor{{PatientID: "b", Seq: 9, Hash: h}})
	if got := AnchorsFor("b", []Checkpoint{c, d}); len(got) != 2 || got[0].Seq != 5 || got[1].Seq != 9 {
		t.Errorf("AnchorsFor = %+v", got)
	}
}

// TestCheckpointCatchesRewrite is the attack that checkpoints exist for: with write access to
// the database, an attacker edits an event and recomputes every later link and hash, and moves
// the stored head. The chain links; the stored head agrees; only the signed checkpoint tells.
func TestCheckpointCatchesRewrite(t *testing.T) {
	priv := testKey(1)
	pub := priv.Public().(ed25519.PublicKey)
	ev := genuine(patient, 20)
	other := genuine("pat-2", 5)
	// Nightly checkpoint of every head, stored as a record.
	stored := CheckpointRecord(SignCheckpoint(priv, t0.Add(24*time.Hour), []Anchor{
		{PatientID: patient, Seq: 15, Hash: slices.Clone(ev[14].Hash)},
		{PatientID: "pat-2", Seq: 5, Hash: slices.Clone(other[4].Hash)},
	}))
	// The attack: who read the document is changed, and the history re-hashed to the end.
	bySeq(ev, 8).ActorID = "10009999999"
	bySeq(ev, 8).ActorName = "Dr Quelqu'un d'autre"
	relink(ev, 7)
	head := AnchorFromHead(carnet.AuditHead{PatientID: patient, Seq: 20, Hash: ev[19].Hash})

	if got := VerifyChain(patient, ev, []Anchor{head}); len(got) != 0 {
		t.Fatalf("without the checkpoint the rewrite should be invisible, got %v", got)
	}
	c, err := CheckpointFromRecord(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCheckpoint(pub, c); err != nil {
		t.Fatal(err)
	}
	anchors := append(AnchorsFor(patient, []Checkpoint{c}), head)
	check(t, VerifyChain(patient, ev, anchors), []want{w(KindRewritten, 15)})

	// Re-signing with another key does not help the attacker.
	forged := SignCheckpoint(testKey(9), c.Time, []Anchor{{PatientID: patient, Seq: 15, Hash: ev[14].Hash}})
	if err := VerifyCheckpoint(pub, forged); carnet.ErrorCode(err) != carnet.EKEY {
		t.Fatalf("forged checkpoint: %v", err)
	}
}

func TestSigningKeyPEM(t *testing.T) {
	priv, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("PEM %q", b)
	}
	back, err := ParsePrivateKey(b)
	if err != nil || !back.Equal(priv) {
		t.Fatalf("private key round trip: %v", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	pb, err := MarshalPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pback, err := ParsePublicKey(pb)
	if err != nil || !pback.Equal(pub) {
		t.Fatalf("public key round trip: %v", err)
	}
	for name, data := range map[string][]byte{
		"empty":        nil,
		"garbage":      []byte("pas une clé"),
		"public block": pb,
		"bad DER":      []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if _, err := ParsePrivateKey(data); carnet.ErrorCode(err) != carnet.EKEY {
			t.Errorf("ParsePrivateKey(%s): %v", name, err)
		}
	}
	if _, err := ParsePublicKey(b); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("ParsePublicKey(private block): %v", err)
	}
}

func TestSigningKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit-signing.pem")
	priv := testKey(3)
	if err := WriteSigningKeyFile(path, priv); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("permissions %04o", perm)
		}
	}
	if err := WriteSigningKeyFile(path, testKey(4)); carnet.ErrorCode(err) != carnet.ECONFLICT {
		t.Errorf("overwrite: %v", err)
	}
	got, err := ReadSigningKeyFile(path)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("read back: %v", err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSigningKeyFile(path); carnet.ErrorCode(err) != carnet.EKEY || !strings.Contains(carnet.ErrorMessage(err), "chmod 600") {
			t.Errorf("world-readable key: %v", err)
		}
	}
	if _, err := ReadSigningKeyFile(filepath.Join(dir, "absent.pem")); carnet.ErrorCode(err) != carnet.EKEY {
		t.Errorf("missing file: %v", err)
	}
}
