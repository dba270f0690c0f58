package passkey

import (
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Credential is a registered passkey as the service stores it (sealed: the public key and the
// AAGUID tell which device a patient uses). ID is the lookup key and must be unique per RP ID.
type Credential struct {
	ID             []byte    `json:"id"`
	PublicKey      []byte    `json:"public_key"` // COSE_Key, CBOR
	SignCount      uint32    `json:"sign_count"` // 0 for authenticators that do not count
	AAGUID         []byte    `json:"aaguid,omitempty"`
	Transports     []string  `json:"transports,omitempty"` // "internal", "hybrid", "usb", …
	BackupEligible bool      `json:"backup_eligible"`      // a synced passkey; never changes
	BackupState    bool      `json:"backup_state"`         // currently backed up
	UserPresent    bool      `json:"user_present"`
	UserVerified   bool      `json:"user_verified"` // PIN or biometrics seen at registration (latched)
	Name           string    `json:"name,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	LastUsedAt     time.Time `json:"last_used_at,omitzero"`
}

// The conversions to and from the library's types are all in this file.

func (c Credential) flags() protocol.AuthenticatorFlags {
	var f protocol.AuthenticatorFlags
	if c.UserPresent {
		f |= protocol.FlagUserPresent
	}
	if c.UserVerified {
		f |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		f |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		f |= protocol.FlagBackupState
	}
	return f
}

func (c Credential) toWebAuthn() webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:        c.ID,
		PublicKey: c.PublicKey,
		Transport: transports,
		Flags:     webauthn.NewCredentialFlags(c.flags()),
		Authenticator: webauthn.Authenticator{
			AAGUID:    c.AAGUID,
			SignCount: c.SignCount,
		},
	}
}

// fromWebAuthn converts a credential the library has just created.
func fromWebAuthn(wc *webauthn.Credential) Credential {
	c := Credential{
		ID:        wc.ID,
		PublicKey: wc.PublicKey,
		SignCount: wc.Authenticator.SignCount,
		AAGUID:    wc.Authenticator.AAGUID,
	}
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	c.setFlags(wc.Flags)
	return c
}

// updated returns c after the assertion the library validated as wc, at now.
func (c Credential) updated(wc *webauthn.Credential, now time.Time) Credential {
	c.SignCount = wc.Authenticator.SignCount
	c.setFlags(wc.Flags)
	c.LastUsedAt = now
	return c
}

func (c *Credential) setFlags(f webauthn.CredentialFlags) {
	c.UserPresent = f.UserPresent
	c.UserVerified = f.UserVerified
	c.BackupEligible = f.BackupEligible
	c.BackupState = f.BackupState
}

// webAuthnUser adapts a User and its credentials to the library's interface.
type webAuthnUser struct {
	u     User
	creds []webauthn.Credential
}

func newWebAuthnUser(u User, creds []Credential) *webAuthnUser {
	wu := &webAuthnUser{u: u, creds: make([]webauthn.Credential, len(creds))}
	for i, c := range creds {
		wu.creds[i] = c.toWebAuthn()
	}
	return wu
}

func (w *webAuthnUser) WebAuthnID() []byte                         { return w.u.Handle }
func (w *webAuthnUser) WebAuthnName() string                       { return w.u.Name }
func (w *webAuthnUser) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w *webAuthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }
