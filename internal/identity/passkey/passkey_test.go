package passkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity/passkey"
	"github.com/carnet-sante/carnet/internal/identity/passkey/passkeytest"
)

const (
	origin  = "https://carnet.example"
	rpID    = "carnet.example"
	timeout = 2 * time.Minute
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func newPasskeys(t *testing.T) *passkey.Passkeys {
	t.Helper()
	p, err := passkey.New(passkey.Config{RPID: rpID, RPName: "Carnet santé", Origins: []string{origin}, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newUser(name string) passkey.User {
	return passkey.User{Handle: passkey.NewUserHandle(), Name: name, DisplayName: strings.ToUpper(name)}
}

func register(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, existing []passkey.Credential, now time.Time) passkey.Credential {
	t.Helper()
	opts, sess, err := p.BeginRegistration(u, existing, now)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.FinishRegistration(u, sess, resp, now.Add(time.Second))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return c
}

// login runs a whole login ceremony started at now and finished a second later.
func login(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, creds []passkey.Credential, now time.Time) (passkey.Credential, error) {
	t.Helper()
	opts, sess, err := p.BeginLogin(u, creds, now)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p.FinishLogin(u, creds, sess, resp, now.Add(time.Second))
}

func wantRejected(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted, want refused")
	}
	t.Logf("refused: %v", err)
	if code := carnet.ErrorCode(err); code != carnet.EUNAUTHORIZED {
		t.Errorf("code %q, want %q (%v)", code, carnet.EUNAUTHORIZED, err)
	}
	if msg := carnet.ErrorMessage(err); msg != passkey.MsgRejected {
		t.Errorf("message %q, want %q", msg, passkey.MsgRejected)
	}
	if errors.Unwrap(err) == nil {
		t.Error("no cause wrapped for the log")
	}
}

func wantNotRegistered(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("registered, want refused")
	}
	t.Logf("refused: %v", err)
	if code, msg := carnet.ErrorCode(err), carnet.ErrorMessage(err); code != carnet.EINVALID || msg != passkey.MsgNotRegistered {
		t.Errorf("got %q %q, want %q %q (%v)", code, msg, carnet.EINVALID, passkey.MsgNotRegistered, err)
	}
}

func TestRegisterThenLogin(t *testing.T) {
	p := newPasskeys(t)
	a := passkeytest.NewAuthenticator(origin)
	u := newUser("alice")

	opts, sess, err := p.BeginRegistration(u, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RP struct {
				ID, Name string
			}
			User struct {
				ID, Name, DisplayName string
			}
			Challenge              string
			Timeout                int
			ExcludeCredentials     []any
			Attestation            string
			AuthenticatorSelection struct {
				ResidentKey      string
				UserVerification string
			}
		}
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	pk := o.PublicKey
	if pk.RP.ID != rpID || pk.RP.Name != "Carnet santé" || pk.User.ID != base64.RawURLEncoding.EncodeToString(u.Handle) ||
		pk.User.Name != "alice" || pk.User.DisplayName != "ALICE" || pk.Challenge == "" || pk.Timeout != int(timeout/time.Millisecond) ||
		pk.ExcludeCredentials != nil || pk.Attestation != "none" ||
		pk.AuthenticatorSelection.ResidentKey != "preferred" || pk.AuthenticatorSelection.UserVerification != "preferred" {
		t.Errorf("registration options: %s", opts)
	}

	resp, err := a.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.FinishRegistration(u, sess, resp, t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if ids := a.CredentialIDs(); len(ids) != 1 || !bytes.Equal(c.ID, ids[0]) {
		t.Errorf("credential ID %x, authenticator holds %x", c.ID, ids)
	}
	if len(c.PublicKey) == 0 || !bytes.Equal(c.AAGUID, passkeytest.AAGUID) || c.SignCount != 0 ||
		!reflect.DeepEqual(c.Transports, []string{"hybrid", "internal"}) || !c.UserPresent || !c.UserVerified ||
		c.BackupEligible || c.BackupState || !c.CreatedAt.Equal(t0.Add(10*time.Second)) || !c.LastUsedAt.IsZero() || c.Name != "" {
		t.Errorf("registered credential: %+v", c)
	}
	c.Name = "Téléphone"

	// The service stores the credential as JSON: a round trip changes nothing.
	stored, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back passkey.Credential
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, c)
	}

	creds := []passkey.Credential{back}
	for i := uint32(1); i <= 3; i++ {
		now := t0.Add(time.Duration(i) * time.Hour)
		got, err := login(t, p, a, u, creds, now)
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if got.SignCount != i || !got.LastUsedAt.Equal(now.Add(time.Second)) || got.Name != "Téléphone" ||
			!bytes.Equal(got.ID, c.ID) || !bytes.Equal(got.PublicKey, c.PublicKey) || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("login %d: %+v", i, got)
		}
		creds[0] = got
	}
}

func TestLoginOptions(t *testing.T) {
	p := newPasskeys(t)
	u := newUser("alice")
	c := register(t, p, passkeytest.NewAuthenticator(origin), u, nil, t0)
	opts, _, err := p.BeginLogin(u, []passkey.Credential{c}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RPID             string
			Challenge        string
			Timeout          int
			UserVerification string
			AllowCredentials []struct {
				Type, ID   string
				Transports []string
			}
		}
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	pk := o.PublicKey
	if pk.RPID != rpID || pk.Challenge == "" || pk.Timeout != int(timeout/time.Millisecond) || pk.UserVerification != "preferred" ||
		len(pk.AllowCredentials) != 1 || pk.AllowCredentials[0].Type != "public-key" ||
		pk.AllowCredentials[0].ID != base64.RawURLEncoding.EncodeToString(c.ID) || len(pk.AllowCredentials[0].Transports) != 2 {
		t.Errorf("login options: %s", opts)
	}
}

func TestSecondCredentialExcludesFirst(t *testing.T) {
	p := newPasskeys(t)
	u := newUser("alice")
	phone, laptop := passkeytest.NewAuthenticator(origin), passkeytest.NewAuthenticator(origin)
	first := register(t, p, phone, u, nil, t0)

	opts, sess, err := p.BeginRegistration(u, []passkey.Credential{first}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(opts, []byte(`"excludeCredentials":[{"type":"public-key","id":"`+base64.RawURLEncoding.EncodeToString(first.ID)+`"`)) {
		t.Errorf("first credential not excluded: %s", opts)
	}
	if _, err := phone.Register(opts); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Fatalf("same authenticator registered again: %v", err)
	}
	resp, err := laptop.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.FinishRegistration(u, sess, resp, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.ID, second.ID) {
		t.Fatal("same credential ID twice")
	}

	creds := []passkey.Credential{first, second}
	for _, a := range []*passkeytest.Authenticator{phone, laptop} {
		got, err := login(t, p, a, u, creds, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.ID, a.CredentialIDs()[0]) || got.SignCount != 1 {
			t.Errorf("logged in with %x count %d, want %x count 1", got.ID, got.SignCount, a.CredentialIDs()[0])
		}
	}
}

func TestSyncedPasskeyWithoutCounter(t *testing.T) {
	p := newPasskeys(t)
	u := newUser("alice")
	a := passkeytest.NewAuthenticator(origin)
	a.Synced = true
	c := register(t, p, a, u, nil, t0)
	if !c.BackupEligible || !c.BackupState || c.SignCount != 0 {
		t.Fatalf("synced credential: %+v", c)
	}
	for i := range 3 {
		got, err := login(t, p, a, u, []passkey.Credential{c}, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if got.SignCount != 0 || !got.BackupEligible {
			t.Errorf("login %d: %+v", i, got)
		}
		c = got
	}
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name  string
		clone bool // wraps ErrCloneWarning
		// run returns the result of FinishLogin for a ceremony it sets up with a faulty answer.
		run func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error
	}{
		{name: "wrong origin", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			a.Origin = "https://carnet.example.evil.test"
			_, err := login(t, p, a, u, []passkey.Credential{c}, t0)
			return err
		}},
		{name: "wrong RP ID", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			a.RPID = "evil.test"
			_, err := login(t, p, a, u, []passkey.Credential{c}, t0)
			return err
		}},
		{name: "tampered signature", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			a.TamperSignature = true
			_, err := login(t, p, a, u, []passkey.Credential{c}, t0)
			return err
		}},
		{name: "expired session", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			opts, sess, _ := p.BeginLogin(u, creds, t0)
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, creds, sess, resp, t0.Add(timeout))
			return err
		}},
		{name: "wrong challenge", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			opts, _, _ := p.BeginLogin(u, creds, t0)
			_, other, _ := p.BeginLogin(u, creds, t0)
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, creds, other, resp, t0.Add(time.Second))
			return err
		}},
		{name: "registration session", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			opts, _, _ := p.BeginLogin(u, creds, t0)
			_, regSess, _ := p.BeginRegistration(u, creds, t0)
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, creds, regSess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "session of another relying party", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			other, err := passkey.New(passkey.Config{RPID: "autre.example", RPName: "Autre", Origins: []string{"https://autre.example"}})
			if err != nil {
				t.Fatal(err)
			}
			creds := []passkey.Credential{c}
			opts, sess, _ := other.BeginLogin(u, creds, t0)
			a.Origin = "https://autre.example"
			a.UseCredential = c.ID
			resp, _ := a.Login(opts)
			_, err = p.FinishLogin(u, creds, sess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "garbage session", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			opts, _, _ := p.BeginLogin(u, creds, t0)
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, creds, []byte("{"), resp, t0.Add(time.Second))
			return err
		}},
		{name: "garbage response", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			_, sess, _ := p.BeginLogin(u, creds, t0)
			_, err := p.FinishLogin(u, creds, sess, []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`), t0.Add(time.Second))
			return err
		}},
		{name: "oversized response", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			_, sess, _ := p.BeginLogin(u, creds, t0)
			_, err := p.FinishLogin(u, creds, sess, bytes.Repeat([]byte(" "), 1<<20), t0.Add(time.Second))
			return err
		}},
		{name: "unknown credential", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			// The authenticator made a credential whose registration was never finished.
			regOpts, _, _ := p.BeginRegistration(newUser("alice"), nil, t0)
			if _, err := a.Register(regOpts); err != nil {
				t.Fatal(err)
			}
			creds := []passkey.Credential{c}
			opts, sess, _ := p.BeginLogin(u, creds, t0)
			a.UseCredential = a.CredentialIDs()[1]
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, creds, sess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "credential removed since BeginLogin", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			// Another authenticator of the same user answers, with a credential the service
			// no longer lists.
			b := passkeytest.NewAuthenticator(origin)
			stray := register(t, p, b, u, []passkey.Credential{c}, t0)
			opts, sess, _ := p.BeginLogin(u, []passkey.Credential{c, stray}, t0)
			b.UseCredential = stray.ID
			resp, _ := b.Login(opts)
			_, err := p.FinishLogin(u, []passkey.Credential{c}, sess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "credential of another user", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			// Bob's credential lives on the same authenticator; it answers Alice's ceremony.
			bob := newUser("bob")
			bobs := register(t, p, a, bob, nil, t0)
			creds := []passkey.Credential{c}
			opts, sess, _ := p.BeginLogin(u, creds, t0)
			a.UseCredential = bobs.ID
			resp, err := a.Login(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.FinishLogin(u, append(creds, bobs), sess, resp, t0.Add(time.Second)); err == nil {
				t.Error("accepted with Bob's credential listed as Alice's")
			}
			_, err = p.FinishLogin(u, creds, sess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "session of another user", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			bob := newUser("bob")
			bobs := register(t, p, a, bob, nil, t0)
			opts, sess, _ := p.BeginLogin(bob, []passkey.Credential{bobs}, t0)
			resp, _ := a.Login(opts)
			_, err := p.FinishLogin(u, []passkey.Credential{c}, sess, resp, t0.Add(time.Second))
			return err
		}},
		{name: "replayed assertion", clone: true, run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			opts, sess, _ := p.BeginLogin(u, creds, t0)
			resp, _ := a.Login(opts)
			used, err := p.FinishLogin(u, creds, sess, resp, t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			// The service failed to delete the session; the stored count was updated.
			_, err = p.FinishLogin(u, []passkey.Credential{used}, sess, resp, t0.Add(2*time.Second))
			return err
		}},
		{name: "sign count backwards", clone: true, run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			creds := []passkey.Credential{c}
			for range 3 {
				got, err := login(t, p, a, u, creds, t0)
				if err != nil {
					t.Fatal(err)
				}
				creds[0] = got
			}
			if err := a.SetSignCount(c.ID, 1); err != nil { // next assertion carries 2 < 3
				t.Fatal(err)
			}
			_, err := login(t, p, a, u, creds, t0)
			return err
		}},
		{name: "backup eligibility changed", run: func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User, c passkey.Credential) error {
			c.BackupEligible = true // a stored record that does not match the authenticator
			_, err := login(t, p, a, u, []passkey.Credential{c}, t0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPasskeys(t)
			a := passkeytest.NewAuthenticator(origin)
			u := newUser("alice")
			c := register(t, p, a, u, nil, t0.Add(-time.Hour))
			err := tt.run(t, p, a, u, c)
			wantRejected(t, err)
			if got := errors.Is(err, passkey.ErrCloneWarning); got != tt.clone {
				t.Errorf("errors.Is(err, ErrCloneWarning) = %v, want %v (%v)", got, tt.clone, err)
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	p := newPasskeys(t)
	a := passkeytest.NewAuthenticator(origin)
	u := newUser("alice")
	c := register(t, p, a, u, nil, t0)
	creds := []passkey.Credential{c}
	opts, sess, err := p.BeginLogin(u, creds, t0)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.FinishLogin(u, creds, sess, resp, t0.Add(timeout))
	wantRejected(t, err)
	if _, err := p.FinishLogin(u, creds, sess, resp, t0.Add(timeout-time.Millisecond)); err != nil {
		t.Errorf("refused just before the timeout: %v", err)
	}
}

func TestRegistrationRefused(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error
	}{
		{"wrong origin", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			a.Origin = "https://evil.test"
			opts, sess, _ := p.BeginRegistration(u, nil, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(u, sess, resp, t0)
			return err
		}},
		{"wrong RP ID", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			a.RPID = "evil.test"
			opts, sess, _ := p.BeginRegistration(u, nil, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(u, sess, resp, t0)
			return err
		}},
		{"expired session", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			opts, sess, _ := p.BeginRegistration(u, nil, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(u, sess, resp, t0.Add(timeout+time.Second))
			return err
		}},
		{"wrong challenge", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			opts, _, _ := p.BeginRegistration(u, nil, t0)
			_, other, _ := p.BeginRegistration(u, nil, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(u, other, resp, t0)
			return err
		}},
		{"another user's session", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			opts, sess, _ := p.BeginRegistration(u, nil, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(newUser("bob"), sess, resp, t0)
			return err
		}},
		{"login session", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			c := register(t, p, passkeytest.NewAuthenticator(origin), u, nil, t0)
			opts, _, _ := p.BeginRegistration(u, []passkey.Credential{c}, t0)
			_, loginSess, _ := p.BeginLogin(u, []passkey.Credential{c}, t0)
			resp, _ := a.Register(opts)
			_, err := p.FinishRegistration(u, loginSess, resp, t0)
			return err
		}},
		{"garbage response", func(t *testing.T, p *passkey.Passkeys, a *passkeytest.Authenticator, u passkey.User) error {
			_, sess, _ := p.BeginRegistration(u, nil, t0)
			_, err := p.FinishRegistration(u, sess, []byte(`{"id":"AAAA"}`), t0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotRegistered(t, tt.run(t, newPasskeys(t), passkeytest.NewAuthenticator(origin), newUser("alice")))
		})
	}
}

func TestBadInput(t *testing.T) {
	p := newPasskeys(t)
	if _, _, err := p.BeginLogin(newUser("alice"), nil, t0); carnet.ErrorCode(err) != carnet.ENOTFOUND || carnet.ErrorMessage(err) != passkey.MsgNoPasskey {
		t.Errorf("login without passkeys: %v", err)
	}
	for _, h := range [][]byte{nil, make([]byte, 65)} {
		if _, _, err := p.BeginRegistration(passkey.User{Handle: h, Name: "x"}, nil, t0); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("handle of %d bytes: %v", len(h), err)
		}
	}
	if h1, h2 := passkey.NewUserHandle(), passkey.NewUserHandle(); len(h1) != passkey.UserHandleSize || bytes.Equal(h1, h2) {
		t.Errorf("NewUserHandle: %x %x", h1, h2)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := passkey.Config{RPID: rpID, RPName: "Carnet", Origins: []string{origin}}
	for name, mutate := range map[string]func(*passkey.Config){
		"no RP ID":         func(c *passkey.Config) { c.RPID = "" },
		"IP RP ID":         func(c *passkey.Config) { c.RPID = "192.0.2.1" },
		"no RP name":       func(c *passkey.Config) { c.RPName = "" },
		"no origin":        func(c *passkey.Config) { c.Origins = nil },
		"negative timeout": func(c *passkey.Config) { c.Timeout = -time.Second },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := passkey.New(cfg); carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := passkey.New(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}
