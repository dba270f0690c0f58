// Package passkeytest is a software WebAuthn authenticator and client for tests: it answers the
// options that package passkey produces as a browser with a platform authenticator would, with
// ECDSA P-256 keys and "none" attestation, without a browser. Its fault switches produce the
// answers a relying party must refuse. It is for tests only: keys live in memory, unprotected.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// AAGUID is the model identifier this authenticator reports.
var AAGUID = []byte{0xca, 0x12, 0x5e, 0x57, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00, 0x70, 0x61, 0x73, 0x73, 0x6b, 0x79}

// Errors a browser would report as a DOMException.
var (
	// ErrExcluded: the authenticator holds one of excludeCredentials (InvalidStateError).
	ErrExcluded = errors.New("passkeytest: the authenticator already holds an excluded credential")
	// ErrNoCredential: no credential matches rpId and allowCredentials (NotAllowedError).
	ErrNoCredential = errors.New("passkeytest: no matching credential on the authenticator")
	// ErrUnsupported: the options allow no algorithm this authenticator has (NotSupportedError).
	ErrUnsupported = errors.New("passkeytest: ES256 not among pubKeyCredParams")
)

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40

	algES256 = -7
)

// Authenticator holds credentials for any number of relying parties and users. The exported
// fields change how later ceremonies are answered, to make faulty answers; the zero values
// give correct ones. Its methods may be called concurrently, but set the fields beforehand.
type Authenticator struct {
	// Origin is written in the client data: the page's origin as the browser would see it.
	Origin string
	// RPID, if set, is hashed into the authenticator data instead of the options' rp id.
	RPID string
	// TamperSignature makes Login sign other bytes than those it sends.
	TamperSignature bool
	// Synced makes Register create passkeys like a synced password manager's: backup eligible
	// and backed up, with a signature counter that always stays 0.
	Synced bool
	// UseCredential, if set, is the credential Login answers with, whatever allowCredentials says.
	UseCredential []byte

	mu    sync.Mutex
	creds []*credential
}

type credential struct {
	id         []byte
	rpID       string
	userHandle []byte
	key        *ecdsa.PrivateKey
	counter    uint32
	synced     bool
}

// NewAuthenticator returns an empty authenticator used from pages at origin
// (e.g. "https://carnet.example").
func NewAuthenticator(origin string) *Authenticator {
	return &Authenticator{Origin: origin}
}

// creationOptions and requestOptions are the members of PublicKeyCredentialCreationOptionsJSON
// and PublicKeyCredentialRequestOptionsJSON this authenticator reads.
type creationOptions struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Challenge        string `json:"challenge"`
	PubKeyCredParams []struct {
		Type string `json:"type"`
		Alg  int    `json:"alg"`
	} `json:"pubKeyCredParams"`
	ExcludeCredentials []descriptor `json:"excludeCredentials"`
}

type requestOptions struct {
	Challenge        string       `json:"challenge"`
	RPID             string       `json:"rpId"`
	AllowCredentials []descriptor `json:"allowCredentials"`
}

type descriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// decodeOptions accepts {"publicKey": {...}} (as package passkey sends) or the bare options.
func decodeOptions(optionsJSON []byte, v any) error {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(optionsJSON, &wrapped); err != nil {
		return fmt.Errorf("passkeytest: options: %w", err)
	}
	if len(wrapped.PublicKey) != 0 {
		optionsJSON = wrapped.PublicKey
	}
	if err := json.Unmarshal(optionsJSON, v); err != nil {
		return fmt.Errorf("passkeytest: options: %w", err)
	}
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// rpID is the RP ID the browser would use: the options' one, else the origin's host.
func (a *Authenticator) rpID(fromOptions string) (string, error) {
	if fromOptions != "" {
		return fromOptions, nil
	}
	u, err := url.Parse(a.Origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("passkeytest: no rp id and bad origin %q", a.Origin)
	}
	return u.Hostname(), nil
}

// rpIDHash is what goes in the authenticator data, honouring the RPID fault.
func (a *Authenticator) rpIDHash(rpID string) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	return h[:]
}

// clientData serializes the CollectedClientData as a browser does.
func (a *Authenticator) clientData(typ, challenge string) ([]byte, error) {
	return json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, a.Origin, false})
}

// Register answers navigator.credentials.create(options): it makes a new credential and
// returns the JSON of the PublicKeyCredential (RegistrationResponseJSON) with a "none"
// attestation. It fails with ErrExcluded if it holds one of the excluded credentials.
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, error) {
	var o creationOptions
	if err := decodeOptions(optionsJSON, &o); err != nil {
		return nil, err
	}
	challenge, err := unb64(o.Challenge)
	if err != nil || len(challenge) == 0 {
		return nil, errors.New("passkeytest: bad challenge")
	}
	userHandle, err := unb64(o.User.ID)
	if err != nil || len(userHandle) == 0 {
		return nil, errors.New("passkeytest: bad user id")
	}
	es256 := len(o.PubKeyCredParams) == 0 // the default list holds ES256
	for _, p := range o.PubKeyCredParams {
		es256 = es256 || (p.Type == "public-key" && p.Alg == algES256)
	}
	if !es256 {
		return nil, ErrUnsupported
	}
	rpID, err := a.rpID(o.RP.ID)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range o.ExcludeCredentials {
		id, err := unb64(d.ID)
		if err != nil {
			return nil, errors.New("passkeytest: bad excluded credential id")
		}
		if c := a.find(id); c != nil && c.rpID == rpID {
			return nil, ErrExcluded
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &credential{id: make([]byte, 32), rpID: rpID, userHandle: userHandle, key: key, synced: a.Synced}
	_, _ = rand.Read(c.id)

	point, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	coseKey, err := webauthncbor.Marshal(map[int]any{
		1:  2,        // kty: EC2
		3:  algES256, // alg: ES256
		-1: 1,        // crv: P-256
		-2: point[1:33],
		-3: point[33:65],
	})
	if err != nil {
		return nil, err
	}
	flags := byte(flagUP | flagUV | flagAT)
	if c.synced {
		flags |= flagBE | flagBS
	}
	authData := bytes.NewBuffer(nil)
	authData.Write(a.rpIDHash(rpID))
	authData.WriteByte(flags)
	_ = binary.Write(authData, binary.BigEndian, c.counter)
	authData.Write(AAGUID)
	_ = binary.Write(authData, binary.BigEndian, uint16(len(c.id)))
	authData.Write(c.id)
	authData.Write(coseKey)

	attObj, err := webauthncbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": authData.Bytes(),
	})
	if err != nil {
		return nil, err
	}
	cdj, err := a.clientData("webauthn.create", b64(challenge))
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	resp, err := json.Marshal(map[string]any{
		"id":                      b64(c.id),
		"rawId":                   b64(c.id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":     b64(cdj),
			"attestationObject":  b64(attObj),
			"authenticatorData":  b64(authData.Bytes()),
			"publicKey":          b64(spki),
			"publicKeyAlgorithm": algES256,
			"transports":         []string{"hybrid", "internal"},
		},
	})
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return resp, nil
}

// Login answers navigator.credentials.get(options) with the first credential it holds for the
// RP ID that allowCredentials lists (any of them if the list is empty), or with UseCredential.
// It returns the JSON of the PublicKeyCredential (AuthenticationResponseJSON). Each assertion
// increases the credential's signature counter, except for synced credentials.
func (a *Authenticator) Login(optionsJSON []byte) ([]byte, error) {
	var o requestOptions
	if err := decodeOptions(optionsJSON, &o); err != nil {
		return nil, err
	}
	challenge, err := unb64(o.Challenge)
	if err != nil || len(challenge) == 0 {
		return nil, errors.New("passkeytest: bad challenge")
	}
	rpID, err := a.rpID(o.RPID)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.choose(rpID, o.AllowCredentials)
	if err != nil {
		return nil, err
	}
	flags := byte(flagUP | flagUV)
	if c.synced {
		flags |= flagBE | flagBS
	} else {
		c.counter++
	}
	authData := bytes.NewBuffer(nil)
	authData.Write(a.rpIDHash(rpID))
	authData.WriteByte(flags)
	_ = binary.Write(authData, binary.BigEndian, c.counter)

	cdj, err := a.clientData("webauthn.get", b64(challenge))
	if err != nil {
		return nil, err
	}
	cdHash := sha256.Sum256(cdj)
	signed := append(bytes.Clone(authData.Bytes()), cdHash[:]...)
	if a.TamperSignature {
		signed[len(signed)-1] ^= 0x01
	}
	digest := sha256.Sum256(signed)
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id":                      b64(c.id),
		"rawId":                   b64(c.id),
		"type":                    "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(cdj),
			"authenticatorData": b64(authData.Bytes()),
			"signature":         b64(sig),
			"userHandle":        b64(c.userHandle),
		},
	})
}

// choose picks the credential to answer with; the caller holds a.mu.
func (a *Authenticator) choose(rpID string, allow []descriptor) (*credential, error) {
	if a.UseCredential != nil {
		if c := a.find(a.UseCredential); c != nil {
			return c, nil
		}
		return nil, ErrNoCredential
	}
	for _, c := range a.creds {
		if c.rpID != rpID {
			continue
		}
		if len(allow) == 0 {
			return c, nil
		}
		for _, d := range allow {
			if id, err := unb64(d.ID); err == nil && bytes.Equal(id, c.id) {
				return c, nil
			}
		}
	}
	return nil, ErrNoCredential
}

// find returns the credential with this ID, or nil; the caller holds a.mu.
func (a *Authenticator) find(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

// SetSignCount sets the signature counter of the credential with this ID: its next assertion
// carries n+1 (0 for a synced credential). Use it to make a counter go backwards, as a cloned
// authenticator's would.
func (a *Authenticator) SetSignCount(credentialID []byte, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.find(credentialID)
	if c == nil {
		return ErrNoCredential
	}
	c.counter = n
	return nil
}

// CredentialIDs returns the IDs of the credentials the authenticator holds, oldest first.
func (a *Authenticator) CredentialIDs() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([][]byte, len(a.creds))
	for i, c := range a.creds {
		ids[i] = bytes.Clone(c.id)
	}
	return ids
}
