package service

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity/passkey"
)

// passkeys returns the WebAuthn relying party, made from the configuration (by default the
// host and origin of BaseURL).
func (s *Service) passkeys() (*passkey.Passkeys, error) {
	rp, origins := s.cfg.PasskeyRPID, s.cfg.PasskeyOrigins
	if rp == "" || len(origins) == 0 {
		u, err := url.Parse(s.cfg.BaseURL)
		if err != nil {
			return nil, carnet.WrapErr("service.passkeys", carnet.EINVALID, err)
		}
		if rp == "" {
			rp = u.Hostname()
		}
		if len(origins) == 0 {
			origins = []string{u.Scheme + "://" + u.Host}
		}
	}
	return passkey.New(passkey.Config{RPID: rp, RPName: "Carnet — Mon espace santé", Origins: origins})
}

func passkeyUser(a *carnet.Account, p *carnet.Patient) passkey.User {
	return passkey.User{Handle: a.PasskeyHandle, Name: a.Login, DisplayName: p.DisplayName()}
}

func credentials(pks []*carnet.Passkey) ([]passkey.Credential, error) {
	out := make([]passkey.Credential, len(pks))
	for i, pk := range pks {
		if err := json.Unmarshal(pk.Data, &out[i]); err != nil {
			return nil, carnet.WrapErr("service.credentials", carnet.EINTEGRITY, err)
		}
	}
	return out, nil
}

// ceremony runs a passkey step on a session in the given state with its account, patient and
// passkeys loaded.
func (s *Service) ceremony(ctx context.Context, token, state string, fn func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account,
	p *carnet.Patient, pks []*carnet.Passkey, pk *passkey.Passkeys) error) error {
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		maxAge := loginStepTTL
		if state == carnet.SessionActive {
			maxAge = 0
		}
		ss, err := s.session(ctx, tx, token, maxAge, state)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		p, err := tx.Patient(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		pks, err := tx.Passkeys(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		return fn(tx, ss, a, p, pks, pk)
	})
}

// BeginPasskeyRegistration starts adding a passkey to the signed-in account; it returns the
// options for navigator.credentials.create.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, token string) ([]byte, error) {
	var options []byte
	err := s.ceremony(ctx, token, carnet.SessionActive, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account, p *carnet.Patient,
		pks []*carnet.Passkey, pk *passkey.Passkeys) error {
		creds, err := credentials(pks)
		if err != nil {
			return err
		}
		var session []byte
		if options, session, err = pk.BeginRegistration(passkeyUser(a, p), creds, tx.Now()); err != nil {
			return err
		}
		ss.Data = session
		return tx.UpdateSession(ctx, ss)
	})
	return options, err
}

// FinishPasskeyRegistration verifies the browser's answer and stores the passkey.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, token string, response []byte, name string) error {
	var refused error
	err := s.ceremony(ctx, token, carnet.SessionActive, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account, p *carnet.Patient,
		_ []*carnet.Passkey, pk *passkey.Passkeys) error {
		refused = nil
		session := ss.Data
		ss.Data = nil // single use, whatever the outcome
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return err
		}
		cred, err := pk.FinishRegistration(passkeyUser(a, p), session, response, tx.Now())
		if err != nil {
			refused = err
			return nil
		}
		if name == "" {
			name = "Clé d'accès"
		}
		cred.Name = name
		data, _ := json.Marshal(cred)
		if err := tx.CreatePasskey(ctx, &carnet.Passkey{PatientID: a.PatientID, CredentialID: cred.ID, Data: data, Name: name}); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, PatientActor(p), p.ID, "account.passkey_added", "account", "", true, "clé d'accès ajoutée"))
	})
	if err != nil {
		return err
	}
	return refused
}

// BeginPasskeyLogin starts the passkey second factor of a login; it returns the options for
// navigator.credentials.get.
func (s *Service) BeginPasskeyLogin(ctx context.Context, token string) ([]byte, error) {
	var options []byte
	err := s.ceremony(ctx, token, carnet.SessionSecondFactor, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account, p *carnet.Patient,
		pks []*carnet.Passkey, pk *passkey.Passkeys) error {
		creds, err := credentials(pks)
		if err != nil {
			return err
		}
		var session []byte
		if options, session, err = pk.BeginLogin(passkeyUser(a, p), creds, tx.Now()); err != nil {
			return err
		}
		ss.Data = session
		return tx.UpdateSession(ctx, ss)
	})
	return options, err
}

// FinishPasskeyLogin completes a login with a passkey.
func (s *Service) FinishPasskeyLogin(ctx context.Context, token string, response []byte, c Client) error {
	pk, err := s.passkeys()
	if err != nil {
		return err
	}
	return s.secondFactor(ctx, token, carnet.FactorPasskey, c, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account) (*outcome, error) {
		lim, err := s.limiter(ctx, tx, c, secondFactorKey(ss.PatientID))
		if err != nil {
			return nil, err
		}
		now := tx.Now()
		if err := lim.allow(now); err != nil {
			return &outcome{err}, nil
		}
		session := ss.Data
		ss.Data = nil // single use
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return nil, err
		}
		p, err := tx.Patient(ctx, a.PatientID)
		if err != nil {
			return nil, err
		}
		pks, err := tx.Passkeys(ctx, a.PatientID)
		if err != nil {
			return nil, err
		}
		creds, err := credentials(pks)
		if err != nil {
			return nil, err
		}
		used, err := pk.FinishLogin(passkeyUser(a, p), creds, session, response, now)
		if err != nil {
			return &outcome{err}, lim.fail(ctx, now)
		}
		for _, stored := range pks {
			if string(stored.CredentialID) == string(used.ID) {
				stored.Data, _ = json.Marshal(used)
				stored.LastUsedAt = now
				if err := tx.UpdatePasskey(ctx, stored); err != nil {
					return nil, err
				}
			}
		}
		return nil, lim.succeed(ctx)
	})
}
