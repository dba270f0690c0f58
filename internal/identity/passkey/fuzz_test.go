package passkey_test

import (
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity/passkey"
	"github.com/carnet-sante/carnet/internal/identity/passkey/passkeytest"
)

// FuzzFinishLogin feeds arbitrary answers to FinishLogin: it must not panic, and every refusal
// must be the one EUNAUTHORIZED answer.
func FuzzFinishLogin(f *testing.F) {
	p, err := passkey.New(passkey.Config{RPID: rpID, RPName: "Carnet", Origins: []string{origin}, Timeout: timeout})
	if err != nil {
		f.Fatal(err)
	}
	a := passkeytest.NewAuthenticator(origin)
	u := newUser("alice")
	opts, sess, err := p.BeginRegistration(u, nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := a.Register(opts)
	if err != nil {
		f.Fatal(err)
	}
	c, err := p.FinishRegistration(u, sess, resp, t0)
	if err != nil {
		f.Fatal(err)
	}
	creds := []passkey.Credential{c}
	opts, sess, err = p.BeginLogin(u, creds, t0)
	if err != nil {
		f.Fatal(err)
	}
	resp, err = a.Login(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp)
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Fuzz(func(t *testing.T, response []byte) {
		_, err := p.FinishLogin(u, creds, sess, response, t0)
		if err != nil && (carnet.ErrorCode(err) != carnet.EUNAUTHORIZED || carnet.ErrorMessage(err) != passkey.MsgRejected) {
			t.Errorf("refusal %v", err)
		}
	})
}

// FuzzFinishRegistration does the same for FinishRegistration (EINVALID).
func FuzzFinishRegistration(f *testing.F) {
	p, err := passkey.New(passkey.Config{RPID: rpID, RPName: "Carnet", Origins: []string{origin}, Timeout: timeout})
	if err != nil {
		f.Fatal(err)
	}
	u := newUser("alice")
	opts, sess, err := p.BeginRegistration(u, nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := passkeytest.NewAuthenticator(origin).Register(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp)
	f.Fuzz(func(t *testing.T, response []byte) {
		_, err := p.FinishRegistration(u, sess, response, t0)
		if err != nil && (carnet.ErrorCode(err) != carnet.EINVALID || carnet.ErrorMessage(err) != passkey.MsgNotRegistered) {
			t.Errorf("refusal %v", err)
		}
	})
}
