// Package keys is Carnet's envelope encryption. Every patient has a random 256-bit data key;
// document bodies and sensitive fields are sealed with it (AES-256-GCM, with the patient and
// record bound in as additional data). Data keys are stored wrapped by a master key (the KEK),
// read from a 0600 key file or an environment variable. Rotating the master key re-wraps the data
// keys without touching the bodies; destroying a data key makes every body of that patient
// unreadable (crypto-shredding).
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/carnet-sante/carnet"
)

// KeySize is the size of master and data keys (AES-256).
const KeySize = 32

// sealVersion is the first byte of every sealed value: the format (AES-256-GCM, 12-byte nonce).
const sealVersion = 1

const nonceSize = 12

// MasterKey is a key-encryption key.
type MasterKey struct {
	id  string
	key []byte
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() (*MasterKey, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, carnet.WrapErr("keys.generate", carnet.EINTERNAL, err)
	}
	return newMasterKey(k), nil
}

func newMasterKey(k []byte) *MasterKey {
	sum := sha256.Sum256(append([]byte("carnet-kek-id\x00"), k...))
	return &MasterKey{id: hex.EncodeToString(sum[:8]), key: k}
}

// ParseMasterKey decodes a master key written as standard base64 (44 characters).
func ParseMasterKey(s string) (*MasterKey, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, carnet.Errorf(carnet.EKEY, "clé maîtresse invalide : %d octets encodés en base64 attendus", KeySize)
	}
	return newMasterKey(k), nil
}

// ID is a short public fingerprint of the key, stored beside what it wraps.
func (k *MasterKey) ID() string { return k.id }

// Encode returns the key in standard base64.
func (k *MasterKey) Encode() string { return base64.StdEncoding.EncodeToString(k.key) }

// Keyring holds the current master key, used to wrap, and older ones still able to unwrap.
type Keyring struct {
	current *MasterKey
	byID    map[string]*MasterKey
}

// NewKeyring returns a keyring that wraps with current and unwraps with any of the keys.
func NewKeyring(current *MasterKey, others ...*MasterKey) *Keyring {
	r := &Keyring{current: current, byID: map[string]*MasterKey{current.id: current}}
	for _, k := range others {
		if k != nil {
			r.byID[k.id] = k
		}
	}
	return r
}

// Current returns the key that wraps new data keys.
func (r *Keyring) Current() *MasterKey { return r.current }

// Has reports whether the keyring holds the master key with that ID.
func (r *Keyring) Has(id string) bool { _, ok := r.byID[id]; return ok }

// Wrap seals a data key under the current master key. label binds the wrapped key to its owner
// (the patient ID, or the name of a system key).
func (r *Keyring) Wrap(dek []byte, label string) (wrapped []byte, kekID string, err error) {
	wrapped, err = Seal(r.current.key, dek, wrapAAD(label))
	return wrapped, r.current.id, err
}

// Unwrap opens a data key wrapped by the master key kekID.
func (r *Keyring) Unwrap(wrapped []byte, kekID, label string) ([]byte, error) {
	k, ok := r.byID[kekID]
	if !ok {
		return nil, carnet.Errorf(carnet.EKEY, "clé maîtresse %s inconnue : la clé configurée n'est pas celle qui a chiffré ces données", kekID)
	}
	dek, err := Open(k.key, wrapped, wrapAAD(label))
	if err != nil {
		return nil, carnet.Errorf(carnet.EKEY, "clé maîtresse incorrecte ou clé de données altérée (%s)", kekID)
	}
	if len(dek) != KeySize {
		return nil, carnet.Errorf(carnet.EKEY, "clé de données de taille invalide")
	}
	return dek, nil
}

func wrapAAD(label string) []byte { return []byte("carnet-dek\x00" + label) }

// NewDataKey returns a random data key.
func NewDataKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, carnet.WrapErr("keys.NewDataKey", carnet.EINTERNAL, err)
	}
	return k, nil
}

// Seal encrypts plaintext with AES-256-GCM under key, binding aad. The result is
// version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext and tag.
func Seal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		return nil, carnet.WrapErr("keys.Seal", carnet.EINTERNAL, err)
	}
	return aead.Seal(out, out[1:1+nonceSize], plaintext, aad), nil
}

// ErrTampered is returned (wrapped in an EINTEGRITY error) when a sealed value fails its
// authentication: a wrong key, a wrong owner, or altered bytes.
var ErrTampered = errors.New("authentication failed")

// Open decrypts a value made by Seal with the same key and aad.
func Open(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+nonceSize+aead.Overhead() || sealed[0] != sealVersion {
		return nil, &carnet.Error{Code: carnet.EINTEGRITY, Op: "keys.Open", Message: "donnée chiffrée tronquée ou de format inconnu"}
	}
	pt, err := aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], aad)
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EINTEGRITY, Op: "keys.Open", Message: "donnée chiffrée altérée ou mauvaise clé", Err: ErrTampered}
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, carnet.Errorf(carnet.EKEY, "clé de %d octets, %d attendus", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, carnet.WrapErr("keys.gcm", carnet.EINTERNAL, err)
	}
	return cipher.NewGCM(block)
}

// Index returns the keyed hash (HMAC-SHA-256) of a value, for look-ups of identifiers that are
// stored sealed (the NIR).
func Index(indexKey []byte, value string) []byte {
	m := hmac.New(sha256.New, indexKey)
	m.Write([]byte(value))
	return m.Sum(nil)
}

// AAD builds the additional data that binds a sealed value to its place: kind, patient, record.
func AAD(kind, patientID, recordID string) []byte {
	return []byte(fmt.Sprintf("carnet\x00%s\x00%s\x00%s", kind, patientID, recordID))
}
