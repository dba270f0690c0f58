package passkey

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/carnet-sante/carnet"
)

// User-facing answers.
const (
	MsgRejected      = "La clé d'accès n'a pas pu être vérifiée."
	MsgNotRegistered = "La clé d'accès n'a pas pu être enregistrée. Veuillez réessayer."
	MsgNoPasskey     = "Aucune clé d'accès n'est enregistrée pour ce compte."
)

// DefaultTimeout is the time a patient has to answer the browser's prompt when Config.Timeout
// is zero.
const DefaultTimeout = 5 * time.Minute

// UserHandleSize is the size of the handles NewUserHandle makes (WebAuthn allows 1 to 64 bytes).
const UserHandleSize = 32

// maxResponse bounds the browser's JSON answer; real ones are a few kilobytes.
const maxResponse = 64 << 10

// ErrCloneWarning is wrapped in the refusal of an assertion whose signature counter did not
// increase although the authenticator counts: the private key may have been copied.
var ErrCloneWarning = errors.New("passkey: signature counter did not increase, the authenticator may be cloned")

var (
	errSessionExpired = errors.New("passkey: ceremony session expired")
	errSessionKind    = errors.New("passkey: session belongs to another ceremony")
	errSessionRP      = errors.New("passkey: session bound to another relying party or origin")
	errTooLarge       = errors.New("passkey: response too large")
)

// Config describes the relying party: the site patients log in to.
type Config struct {
	RPID    string        // registrable domain of the site, e.g. "carnet-sante.fr"
	RPName  string        // shown by the browser, e.g. "Carnet santé"
	Origins []string      // full origins the pages are served from, e.g. "https://carnet-sante.fr"
	Timeout time.Duration // for the patient to answer; DefaultTimeout if zero
}

// Passkeys runs WebAuthn ceremonies for one relying party. It is safe for concurrent use.
type Passkeys struct {
	wa      *webauthn.WebAuthn
	rpID    string
	timeout time.Duration
}

// New checks cfg and returns a Passkeys. A bad configuration is EINVALID.
func New(cfg Config) (*Passkeys, error) {
	const op = "passkey.New"
	if cfg.Timeout < 0 {
		return nil, &carnet.Error{Code: carnet.EINVALID, Op: op, Message: "configuration des clés d'accès invalide", Err: errors.New("negative timeout")}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RPName == "" {
		return nil, &carnet.Error{Code: carnet.EINVALID, Op: op, Message: "configuration des clés d'accès invalide", Err: errors.New("RPName is empty")}
	}
	if cfg.RPID == "" {
		return nil, &carnet.Error{Code: carnet.EINVALID, Op: op, Message: "configuration des clés d'accès invalide", Err: errors.New("RPID is empty")}
	}
	timeout := webauthn.TimeoutConfig{Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout} // enforced here, with the caller's clock
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             append([]string(nil), cfg.Origins...),
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, &carnet.Error{Code: carnet.EINVALID, Op: op, Message: "configuration des clés d'accès invalide", Err: err}
	}
	return &Passkeys{wa: wa, rpID: cfg.RPID, timeout: cfg.Timeout}, nil
}

// User is the account a ceremony is for.
type User struct {
	// Handle is the WebAuthn user handle: random and opaque (NewUserHandle), made once per
	// account and stored; never the NIR nor the patient's ID. Authenticators store it.
	Handle []byte
	// Name and DisplayName are shown by the browser's account chooser: use the login
	// identifier and the patient's name as they chose to show it; never the NIR.
	Name, DisplayName string
}

// NewUserHandle returns a new random user handle of UserHandleSize bytes.
func NewUserHandle() []byte {
	h := make([]byte, UserHandleSize)
	_, _ = rand.Read(h) // crypto/rand.Read never fails
	return h
}

func (u User) check() error {
	if n := len(u.Handle); n < protocol.MinimumUserHandleLength || n > protocol.MaximumUserHandleLength {
		return fmt.Errorf("user handle of %d bytes, want 1 to 64", n)
	}
	return nil
}

// Ceremony kinds recorded in a session.
const (
	kindRegistration = "registration"
	kindLogin        = "login"
)

// session is what the service keeps between Begin and Finish. The library's own expiry is left
// unset (it reads the system clock); ours is checked against the caller's now.
type session struct {
	Kind    string               `json:"kind"`
	Expires time.Time            `json:"expires"`
	Data    webauthn.SessionData `json:"data"`
}

func (p *Passkeys) newSession(kind string, data *webauthn.SessionData, now time.Time) ([]byte, error) {
	return json.Marshal(session{Kind: kind, Expires: now.Add(p.timeout), Data: *data})
}

// openSession decodes a stored session and checks that it is of this kind, for this relying
// party and still valid at now.
func (p *Passkeys) openSession(raw []byte, kind string, now time.Time) (webauthn.SessionData, error) {
	var s session
	if err := json.Unmarshal(raw, &s); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey: bad session: %w", err)
	}
	switch {
	case s.Kind != kind:
		return webauthn.SessionData{}, errSessionKind
	case s.Data.RelyingPartyID != p.rpID || s.Data.Origin != "":
		return webauthn.SessionData{}, errSessionRP
	case s.Expires.IsZero() || !now.Before(s.Expires):
		return webauthn.SessionData{}, errSessionExpired
	}
	return s.Data, nil
}

// BeginRegistration starts adding a passkey to u's account. It returns the options for
// navigator.credentials.create (JSON: {"publicKey": …}) and the session to keep for
// FinishRegistration. The options exclude the existing credentials (so an authenticator holding
// one of them refuses), prefer a discoverable credential and user verification, and ask for no
// attestation.
func (p *Passkeys) BeginRegistration(u User, existing []Credential, now time.Time) (options, sess []byte, err error) {
	const op = "passkey.BeginRegistration"
	if err := u.check(); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINVALID, err)
	}
	wu := newWebAuthnUser(u, existing)
	creation, data, err := p.wa.BeginRegistration(wu, webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if options, err = json.Marshal(creation); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if sess, err = p.newSession(kindRegistration, data, now); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	return options, sess, nil
}

// FinishRegistration verifies the browser's answer (the JSON of the PublicKeyCredential) to the
// ceremony that sess records, at now, and returns the new credential, with CreatedAt = now and
// no Name. Any failure is EINVALID with MsgNotRegistered, the reason wrapped for the log.
func (p *Passkeys) FinishRegistration(u User, sess, response []byte, now time.Time) (Credential, error) {
	const op = "passkey.FinishRegistration"
	fail := func(cause error) (Credential, error) {
		return Credential{}, &carnet.Error{Code: carnet.EINVALID, Op: op, Message: MsgNotRegistered, Err: describe(cause)}
	}
	if err := u.check(); err != nil {
		return fail(err)
	}
	if len(response) > maxResponse {
		return fail(errTooLarge)
	}
	data, err := p.openSession(sess, kindRegistration, now)
	if err != nil {
		return fail(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return fail(err)
	}
	wc, err := p.wa.CreateCredential(newWebAuthnUser(u, nil), data, parsed)
	if err != nil {
		return fail(err)
	}
	c := fromWebAuthn(wc)
	c.CreatedAt = now
	return c, nil
}

// BeginLogin starts a login with one of creds, u's stored passkeys. It returns the options for
// navigator.credentials.get (JSON: {"publicKey": …}, listing creds as allowCredentials) and
// the session to keep for FinishLogin. Without credentials it is ENOTFOUND with MsgNoPasskey.
func (p *Passkeys) BeginLogin(u User, creds []Credential, now time.Time) (options, sess []byte, err error) {
	const op = "passkey.BeginLogin"
	if err := u.check(); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINVALID, err)
	}
	if len(creds) == 0 {
		return nil, nil, &carnet.Error{Code: carnet.ENOTFOUND, Op: op, Message: MsgNoPasskey}
	}
	assertion, data, err := p.wa.BeginLogin(newWebAuthnUser(u, creds))
	if err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if options, err = json.Marshal(assertion); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	if sess, err = p.newSession(kindLogin, data, now); err != nil {
		return nil, nil, carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	return options, sess, nil
}

// FinishLogin verifies the browser's assertion against the ceremony that sess records and u's
// credentials creds (the same ones given to BeginLogin), at now. It returns the credential used,
// with its new sign count, flags and LastUsedAt = now, for the service to store. Every refusal
// is EUNAUTHORIZED with MsgRejected; a counter that did not increase also wraps ErrCloneWarning.
func (p *Passkeys) FinishLogin(u User, creds []Credential, sess, response []byte, now time.Time) (Credential, error) {
	const op = "passkey.FinishLogin"
	fail := func(cause error) (Credential, error) {
		return Credential{}, &carnet.Error{Code: carnet.EUNAUTHORIZED, Op: op, Message: MsgRejected, Err: describe(cause)}
	}
	if err := u.check(); err != nil {
		return fail(err)
	}
	if len(response) > maxResponse {
		return fail(errTooLarge)
	}
	data, err := p.openSession(sess, kindLogin, now)
	if err != nil {
		return fail(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return fail(err)
	}
	wc, err := p.wa.ValidateLogin(newWebAuthnUser(u, creds), data, parsed)
	if err != nil {
		return fail(err)
	}
	if wc.Authenticator.CloneWarning {
		return fail(ErrCloneWarning)
	}
	for _, c := range creds {
		if string(c.ID) == string(wc.ID) {
			return c.updated(wc, now), nil
		}
	}
	return fail(errors.New("passkey: validated credential not among the user's")) // unreachable: the library found it there
}

// describe adds the library's error type and debugging detail to its message, which alone is
// often generic ("Error validating the authenticator response").
func describe(err error) error {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return err
	}
	if pe.DevInfo == "" {
		return fmt.Errorf("webauthn %s: %w", pe.Type, err)
	}
	return fmt.Errorf("webauthn %s (%s): %w", pe.Type, strings.Join(strings.Fields(pe.DevInfo), " "), err)
}
