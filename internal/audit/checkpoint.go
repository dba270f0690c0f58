package audit

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
)

// Checkpoint is a signed statement of the chain heads of many patients at one time. Once a
// checkpoint exists, rewriting an anchored event, even re-hashing the whole chain after it, or
// deleting the tail up to an anchor, no longer goes unnoticed (see VerifyChain): an attacker
// with write access to the database cannot sign, the signing key being kept apart.
type Checkpoint struct {
	ID        string    // derived from the signed content: 32 hex digits
	Time      time.Time // UTC, to the microsecond (the precision of the store)
	Anchors   []Anchor  // sorted by patient ID, then Seq
	KeyID     string    // KeyID of the signing key
	Signature []byte    // Ed25519 over the canonical encoding of Time, Anchors and KeyID
}

// KeyID returns a short fingerprint of a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignCheckpoint signs the anchors at time t (kept in UTC, to the microsecond). The anchors are
// copied and sorted by patient ID, then Seq; they should be the heads of distinct patients
// (carnet.AuditHead), since VerifyCheckpoint rejects an empty patient ID, a hash that is not
// HashSize bytes long (empty for Seq 0) and duplicates. It panics if priv is not an Ed25519
// private key, like ed25519.Sign.
func SignCheckpoint(priv ed25519.PrivateKey, t time.Time, anchors []Anchor) Checkpoint {
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok || len(priv) != ed25519.PrivateKeySize {
		panic("audit: SignCheckpoint: not an Ed25519 private key")
	}
	c := Checkpoint{Time: time.UnixMicro(t.UnixMicro()).UTC(), KeyID: KeyID(pub)}
	c.Anchors = make([]Anchor, len(anchors))
	for i, a := range anchors {
		c.Anchors[i] = Anchor{PatientID: a.PatientID, Seq: a.Seq, Hash: slices.Clone(a.Hash)}
	}
	slices.SortStableFunc(c.Anchors, compareAnchors)
	msg := signedMessage(c)
	c.ID = checkpointID(msg)
	c.Signature = ed25519.Sign(priv, msg)
	return c
}

func compareAnchors(a, b Anchor) int {
	return cmp.Or(strings.Compare(a.PatientID, b.PatientID), cmp.Compare(a.Seq, b.Seq), bytes.Compare(a.Hash, b.Hash))
}

// signedMessage is the canonical, length-prefixed encoding that the signature covers.
func signedMessage(c Checkpoint) []byte {
	var b []byte
	b = appendField(b, "carnet-checkpoint-v1")
	b = appendField(b, c.KeyID)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Anchors)))
	for _, a := range c.Anchors {
		b = appendField(b, a.PatientID)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Seq))
		b = appendField(b, string(a.Hash))
	}
	return b
}

func checkpointID(msg []byte) string {
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:16])
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// VerifyCheckpoint checks that c was signed by the key pub and is well formed: anchors sorted,
// each with a patient, a Seq and a hash of HashSize bytes (or none for an empty chain), and an ID
// that matches its content. Errors carry EKEY (another key) or EINTEGRITY.
func VerifyCheckpoint(pub ed25519.PublicKey, c Checkpoint) error {
	const op = "audit.VerifyCheckpoint"
	if len(pub) != ed25519.PublicKeySize {
		return &carnet.Error{Code: carnet.EKEY, Op: op, Message: "clé publique de vérification invalide"}
	}
	if id := KeyID(pub); c.KeyID != id {
		return &carnet.Error{Code: carnet.EKEY, Op: op,
			Message: fmt.Sprintf("point de contrôle %s signé par une autre clé (%s, attendue %s)", c.ID, c.KeyID, id)}
	}
	for i, a := range c.Anchors {
		var problem string
		switch {
		case a.PatientID == "":
			problem = "identifiant patient vide"
		case a.Seq < 0 || (a.Seq == 0) != (len(a.Hash) == 0) || (a.Seq > 0 && len(a.Hash) != HashSize):
			problem = fmt.Sprintf("tête de chaîne invalide pour le patient %s", a.PatientID)
		case i > 0 && compareAnchors(c.Anchors[i-1], a) >= 0:
			problem = "ancres non triées ou en double"
		}
		if problem != "" {
			return &carnet.Error{Code: carnet.EINTEGRITY, Op: op, Message: fmt.Sprintf("point de contrôle %s : %s", c.ID, problem)}
		}
	}
	msg := signedMessage(c)
	if !ed25519.Verify(pub, msg, c.Signature) {
		return &carnet.Error{Code: carnet.EINTEGRITY, Op: op, Message: fmt.Sprintf("point de contrôle %s : signature invalide", c.ID)}
	}
	if c.ID != checkpointID(msg) {
		return &carnet.Error{Code: carnet.EINTEGRITY, Op: op, Message: fmt.Sprintf("point de contrôle %s : identifiant altéré", c.ID)}
	}
	return nil
}

// Anchor returns the anchor of a patient in c: the one with the highest Seq if there are
// several. c.Anchors must be sorted, as SignCheckpoint and VerifyCheckpoint ensure.
func (c Checkpoint) Anchor(patientID string) (Anchor, bool) {
	i, _ := slices.BinarySearchFunc(c.Anchors, patientID, func(a Anchor, id string) int {
		return cmp.Or(strings.Compare(a.PatientID, id), -1) // the first index past the patient
	})
	if i == 0 || c.Anchors[i-1].PatientID != patientID {
		return Anchor{}, false
	}
	return c.Anchors[i-1], true
}

// AnchorsFor gathers the anchors of one patient from verified checkpoints, for VerifyChain.
func AnchorsFor(patientID string, checkpoints []Checkpoint) []Anchor {
	var out []Anchor
	for _, c := range checkpoints {
		if a, ok := c.Anchor(patientID); ok {
			out = append(out, a)
		}
	}
	return out
}

// The storage encoding of a checkpoint: a magic, then every field, strings and byte strings
// prefixed by their length (4 bytes, big-endian), integers on 8 bytes, big-endian.
const checkpointMagic = "CKP1"

// Limits of DecodeCheckpoint.
const (
	maxFieldLen = 1 << 20 // any string or byte string of a checkpoint
	minAnchor   = 4 + 8 + 4
)

// EncodeCheckpoint returns the stable byte encoding of c, for storage (CheckpointRecord.Body).
// DecodeCheckpoint(EncodeCheckpoint(c)) equals c when c.Time is in UTC to the microsecond, as
// SignCheckpoint makes it.
func EncodeCheckpoint(c Checkpoint) []byte {
	b := []byte(checkpointMagic)
	b = appendField(b, c.ID)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	b = appendField(b, c.KeyID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Anchors)))
	for _, a := range c.Anchors {
		b = appendField(b, a.PatientID)
		b = binary.BigEndian.AppendUint64(b, uint64(a.Seq))
		b = appendField(b, string(a.Hash))
	}
	return appendField(b, string(c.Signature))
}

// DecodeCheckpoint parses the encoding of EncodeCheckpoint. It checks the format only: call
// VerifyCheckpoint before trusting the content. Errors carry EINTEGRITY.
func DecodeCheckpoint(b []byte) (Checkpoint, error) {
	d := decoder{b: b}
	if !bytes.HasPrefix(b, []byte(checkpointMagic)) {
		return Checkpoint{}, decodeErr("format inconnu")
	}
	d.b = d.b[len(checkpointMagic):]
	var c Checkpoint
	c.ID = string(d.field())
	c.Time = time.UnixMicro(int64(d.uint64())).UTC()
	c.KeyID = string(d.field())
	n := d.uint32()
	if d.err == nil && uint64(n) > uint64(len(d.b))/minAnchor {
		d.err = errors.New("nombre d'ancres incohérent")
	}
	if d.err == nil && n > 0 {
		c.Anchors = make([]Anchor, n)
	}
	for i := 0; d.err == nil && i < int(n); i++ {
		a := &c.Anchors[i]
		a.PatientID = string(d.field())
		a.Seq = int64(d.uint64())
		if h := d.field(); len(h) > 0 {
			a.Hash = slices.Clone(h)
		}
	}
	if sig := d.field(); len(sig) > 0 {
		c.Signature = slices.Clone(sig)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errors.New("octets en trop")
	}
	if d.err != nil {
		return Checkpoint{}, decodeErr(d.err.Error())
	}
	return c, nil
}

func decodeErr(why string) error {
	return &carnet.Error{Code: carnet.EINTEGRITY, Op: "audit.DecodeCheckpoint", Message: "point de contrôle illisible : " + why}
}

// decoder reads fields until the first error, after which it returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errors.New("données tronquées")
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) uint32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) field() []byte {
	n := d.uint32()
	if d.err == nil && n > maxFieldLen {
		d.err = errors.New("champ trop long")
	}
	return d.take(int(n))
}

// CheckpointRecord returns the stored form of a checkpoint.
func CheckpointRecord(c Checkpoint) *carnet.CheckpointRecord {
	return &carnet.CheckpointRecord{ID: c.ID, Time: c.Time, Body: EncodeCheckpoint(c)}
}

// CheckpointFromRecord decodes a stored checkpoint and checks that its ID and time columns agree
// with its body. Call VerifyCheckpoint before trusting it.
func CheckpointFromRecord(r *carnet.CheckpointRecord) (Checkpoint, error) {
	c, err := DecodeCheckpoint(r.Body)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.ID != r.ID || c.Time.UnixMicro() != r.Time.UnixMicro() {
		return Checkpoint{}, &carnet.Error{Code: carnet.EINTEGRITY, Op: "audit.CheckpointFromRecord",
			Message: fmt.Sprintf("point de contrôle %s : identifiant ou date différents de son contenu", r.ID)}
	}
	return c, nil
}

// GenerateSigningKey returns a new Ed25519 key for signing checkpoints.
func GenerateSigningKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, carnet.WrapErr("audit.GenerateSigningKey", carnet.EINTERNAL, err)
	}
	return priv, nil
}

// PEM block types.
const (
	pemPrivate = "PRIVATE KEY" // PKCS #8
	pemPublic  = "PUBLIC KEY"  // PKIX
)

// MarshalPrivateKey encodes a signing key as a PKCS #8 PEM block.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, carnet.WrapErr("audit.MarshalPrivateKey", carnet.EKEY, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// ParsePrivateKey decodes a PKCS #8 PEM block holding an Ed25519 key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	const op = "audit.ParsePrivateKey"
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemPrivate {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: "clé de signature illisible : bloc PEM « PRIVATE KEY » attendu"}
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: "clé de signature illisible", Err: err}
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: fmt.Sprintf("clé de signature de type %T : Ed25519 attendu", key)}
	}
	return priv, nil
}

// MarshalPublicKey encodes a verification key as a PKIX PEM block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, carnet.WrapErr("audit.MarshalPublicKey", carnet.EKEY, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ParsePublicKey decodes a PKIX PEM block holding an Ed25519 public key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	const op = "audit.ParsePublicKey"
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemPublic {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: "clé de vérification illisible : bloc PEM « PUBLIC KEY » attendu"}
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: "clé de vérification illisible", Err: err}
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: fmt.Sprintf("clé de vérification de type %T : Ed25519 attendu", key)}
	}
	return pub, nil
}

// WriteSigningKeyFile writes priv to a new file readable by its owner only (0600). It refuses to
// overwrite an existing file (ECONFLICT): replacing the key would orphan the checkpoints.
func WriteSigningKeyFile(path string, priv ed25519.PrivateKey) error {
	const op = "audit.WriteSigningKeyFile"
	data, err := MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return &carnet.Error{Code: carnet.ECONFLICT, Op: op, Message: fmt.Sprintf("le fichier de clé %s existe déjà", path), Err: err}
	}
	if err != nil {
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	return nil
}

// ReadSigningKeyFile reads a key written by WriteSigningKeyFile. On Unix it refuses a file that
// its group or others may read or write (EKEY), as ssh does.
func ReadSigningKeyFile(path string) (ed25519.PrivateKey, error) {
	const op = "audit.ReadSigningKeyFile"
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: fmt.Sprintf("fichier de clé %s illisible", path), Err: err}
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op,
			Message: fmt.Sprintf("fichier de clé %s accessible à d'autres utilisateurs (%04o) : chmod 600 attendu", path, perm)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EKEY, Op: op, Message: fmt.Sprintf("fichier de clé %s illisible", path), Err: err}
	}
	return ParsePrivateKey(data)
}
