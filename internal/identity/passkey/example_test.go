package passkey_test

import (
	"fmt"
	"time"

	"github.com/carnet-sante/carnet/internal/identity/passkey"
	"github.com/carnet-sante/carnet/internal/identity/passkey/passkeytest"
)

// The service stores the sessions and credentials that the four calls return; the software
// authenticator stands for the patient's browser.
func Example() {
	p, err := passkey.New(passkey.Config{RPID: "carnet.example", RPName: "Carnet santé", Origins: []string{"https://carnet.example"}})
	if err != nil {
		panic(err)
	}
	browser := passkeytest.NewAuthenticator("https://carnet.example")
	alice := passkey.User{Handle: passkey.NewUserHandle(), Name: "alice.martin", DisplayName: "Alice Martin"}
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

	options, session, _ := p.BeginRegistration(alice, nil, now)
	response, _ := browser.Register(options)
	cred, err := p.FinishRegistration(alice, session, response, now.Add(20*time.Second))
	fmt.Println("registered:", err == nil, "sign count", cred.SignCount)

	creds := []passkey.Credential{cred}
	options, session, _ = p.BeginLogin(alice, creds, now.Add(time.Hour))
	response, _ = browser.Login(options)
	cred, err = p.FinishLogin(alice, creds, session, response, now.Add(time.Hour+10*time.Second))
	fmt.Println("logged in:", err == nil, "sign count", cred.SignCount)
	// Output:
	// registered: true sign count 0
	// logged in: true sign count 1
}
