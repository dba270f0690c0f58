package service

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
)

// LoginStep is the answer to a correct identifier and password: the session token, waiting for
// a second factor, and the factors the account offers.
type LoginStep struct {
	Token   string
	Factors []string // FactorOTP always; FactorTOTP, FactorPasskey when set up
	CodeTo  string   // where a one-time code was sent (masked), "" if none was sent
}

// Login checks an identifier and password. A wrong identifier and a wrong password get the same
// answer in about the same time. On success a one-time code is sent by email or SMS, unless the
// account has a stronger second factor (TOTP, passkey), which the person then uses (or asks for
// a code with SendLoginCode).
func (s *Service) Login(ctx context.Context, login, password string, c Client) (*LoginStep, error) {
	login = NormalizeLogin(login)
	var a *carnet.Account
	accountKey := s.keyed("login", login)
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		a, err = tx.AccountByLogin(ctx, login)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			a, err = nil, nil
		}
		if err != nil {
			return err
		}
		if a != nil {
			accountKey = "person:" + a.PatientID
		}
		lim, err := s.limiter(ctx, tx, c, accountKey)
		if err != nil {
			return err
		}
		return lim.allow(s.now())
	})
	if err != nil {
		return nil, err
	}
	var encoded string
	if a != nil {
		encoded = a.PasswordHash
	} else if encoded, err = s.decoyHash(ctx); err != nil {
		return nil, err
	}
	ok, rehash, err := s.verifyPassword(ctx, password, encoded)
	if err != nil {
		return nil, err
	}
	ok = ok && a != nil
	var newHash string
	if ok && rehash {
		if newHash, err = s.hashPassword(ctx, password); err != nil {
			return nil, err
		}
	}
	var step *LoginStep
	var refused *outcome
	err = s.store.Update(ctx, func(tx carnet.Tx) error {
		refused = nil
		lim, err := s.limiter(ctx, tx, c, accountKey)
		if err != nil {
			return err
		}
		now := tx.Now()
		if !ok {
			refused = &outcome{identity.LoginFailed()}
			return lim.fail(ctx, now)
		}
		p, err := tx.Patient(ctx, a.PatientID)
		if err != nil {
			return err
		}
		if p.Status == carnet.PatientDestroyed {
			refused = &outcome{identity.LoginFailed()}
			return nil
		}
		if err := lim.succeed(ctx); err != nil {
			return err
		}
		if newHash != "" {
			a.PasswordHash = newHash
			if err := tx.UpdateAccount(ctx, a); err != nil {
				return err
			}
		}
		token, id := identity.NewSessionToken()
		ss := &carnet.Session{ID: id, PatientID: a.PatientID, State: carnet.SessionSecondFactor}
		if err := tx.CreateSession(ctx, ss); err != nil {
			return err
		}
		step = &LoginStep{Token: token, Factors: []string{carnet.FactorOTP}}
		if len(a.TOTPSealed) > 0 {
			step.Factors = append(step.Factors, carnet.FactorTOTP)
		}
		pks, err := tx.Passkeys(ctx, a.PatientID)
		if err != nil {
			return err
		}
		if len(pks) > 0 {
			step.Factors = append(step.Factors, carnet.FactorPasskey)
		}
		if len(step.Factors) > 1 {
			return nil
		}
		if err := s.countSend(ctx, tx, a.PatientID); err != nil {
			if carnet.ErrorCode(err) == carnet.ERATELIMIT {
				step.CodeTo = "" // no code now: the person may ask again later (SendLoginCode)
				return nil
			}
			return err
		}
		step.CodeTo, err = s.sendLoginCode(ctx, tx, ss, p, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused.err
	}
	return step, nil
}

// secondFactorKey is the attempts record of a person's second factors, apart from the
// password's: a right password does not clear the failures of codes.
func secondFactorKey(patientID string) string { return "second-factor:" + patientID }

// sendLimits bound how many codes a person can have sent: 10 in a row, then 1 minute, 2, 4...
// up to an hour between sends; forgotten after an hour without a send.
var sendLimits = identity.Limits{Free: 10, Base: time.Minute, Max: time.Hour, Reset: time.Hour}

// countSend records one code sent to a person, refusing (ERATELIMIT) when too many were.
func (s *Service) countSend(ctx context.Context, tx carnet.Tx, patientID string) error {
	key := "send:" + patientID
	a, err := tx.Attempts(ctx, key)
	if err != nil {
		return err
	}
	now := tx.Now()
	if ok, wait := sendLimits.Allow(identity.Attempts(a), now); !ok {
		return identity.TooManyAttempts(wait)
	}
	return tx.PutAttempts(ctx, key, carnet.Attempts(sendLimits.Fail(identity.Attempts(a), now)))
}

func (s *Service) sendLoginCode(ctx context.Context, tx carnet.Tx, ss *carnet.Session, p *carnet.Patient, a *carnet.Account) (string, error) {
	to, masked := a.Email, identity.MaskEmail(a.Email)
	if a.OTPChannel == "sms" {
		to, masked = a.Mobile, identity.MaskPhone(a.Mobile)
	}
	return masked, s.sendCode(ctx, tx, ss, p, identity.PurposeLogin, a.OTPChannel, to)
}

// SendLoginCode sends (again) a one-time code for a session waiting for its second factor.
// Sending is limited like guessing: each request counts against the account.
func (s *Service) SendLoginCode(ctx context.Context, token string, c Client) (string, error) {
	var masked string
	var refused *outcome
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		refused = nil
		ss, err := s.session(ctx, tx, token, loginStepTTL, carnet.SessionSecondFactor)
		if err != nil {
			return err
		}
		if err := s.countSend(ctx, tx, ss.PatientID); err != nil {
			if carnet.ErrorCode(err) == carnet.ERATELIMIT {
				refused = &outcome{err}
				return nil
			}
			return err
		}
		if prev, err := tx.OneTimeCode(ctx, hex.EncodeToString(ss.ID), identity.PurposeLogin); err == nil && tx.Now().Sub(prev.CreatedAt) < 30*time.Second {
			refused = &outcome{carnet.Errorf(carnet.ERATELIMIT, "Un code vient d'être envoyé : patientez 30 secondes avant d'en demander un autre.")}
			return nil
		}
		p, err := tx.Patient(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		masked, err = s.sendLoginCode(ctx, tx, ss, p, a)
		return err
	})
	if err != nil {
		return "", err
	}
	if refused != nil {
		return "", refused.err
	}
	return masked, nil
}

// VerifyLoginCode completes a login with the one-time code sent by email or SMS.
func (s *Service) VerifyLoginCode(ctx context.Context, token, code string, c Client) error {
	return s.secondFactor(ctx, token, carnet.FactorOTP, c, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account) (*outcome, error) {
		_, out, err := s.checkOTP(ctx, tx, ss, identity.PurposeLogin, code, secondFactorKey(ss.PatientID), c)
		return out, err
	})
}

// VerifyLoginTOTP completes a login with a code from the authenticator app.
func (s *Service) VerifyLoginTOTP(ctx context.Context, token, code string, c Client) error {
	return s.secondFactor(ctx, token, carnet.FactorTOTP, c, func(tx carnet.Tx, ss *carnet.Session, a *carnet.Account) (*outcome, error) {
		lim, err := s.limiter(ctx, tx, c, secondFactorKey(ss.PatientID))
		if err != nil {
			return nil, err
		}
		now := tx.Now()
		if err := lim.allow(now); err != nil {
			return &outcome{err}, nil
		}
		secret, err := s.openTOTP(ctx, tx, a)
		if err != nil {
			return nil, err
		}
		if secret == "" {
			// No authenticator app: no TOTP code can be right.
			return &outcome{identity.CodeRejected()}, lim.fail(ctx, now)
		}
		step, ok := identity.VerifyTOTP(secret, code, now, a.TOTPLastStep)
		if !ok {
			return &outcome{identity.CodeRejected()}, lim.fail(ctx, now)
		}
		a.TOTPLastStep = step
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return nil, err
		}
		return nil, lim.succeed(ctx)
	})
}

// secondFactor runs a second-factor check and, when it passes, signs the session in and records
// the login in the patient's history.
func (s *Service) secondFactor(ctx context.Context, token, factor string, c Client,
	check func(carnet.Tx, *carnet.Session, *carnet.Account) (*outcome, error)) error {
	var refused *outcome
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		refused = nil
		ss, err := s.session(ctx, tx, token, loginStepTTL, carnet.SessionSecondFactor)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		out, err := check(tx, ss, a)
		if err != nil || out != nil {
			refused = out
			return err
		}
		p, err := tx.Patient(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		if err := tx.PutAttempts(ctx, secondFactorKey(ss.PatientID), carnet.Attempts{}); err != nil {
			return err
		}
		ss.State, ss.Factor, ss.Data, ss.LastSeen = carnet.SessionActive, factor, nil, tx.Now()
		// A fresh session ID is not needed: the token never left the server's answer before
		// the second factor, and it is bound to this login only.
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, PatientActor(p), p.ID, "account.login", "session", "", true, "connexion ("+factor+")"))
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused.err
	}
	return nil
}

// SessionInfo is a signed-in session: who acts, and the CSRF token of its forms.
type SessionInfo struct {
	Actor     carnet.Actor
	Patient   *carnet.Patient
	Factor    string
	CSRF      string
	ExpiresAt time.Time
	Closed    bool // the space is closed: only reopening (or destroying) it is possible
}

// Authenticate resolves a session token to a signed-in patient. It ends sessions past their
// idle or absolute timeout, and moves the idle deadline.
func (s *Service) Authenticate(ctx context.Context, token string) (*SessionInfo, error) {
	id, ok := identity.SessionID(token)
	if !ok {
		return nil, carnet.Errorf(carnet.EUNAUTHORIZED, "Vous n'êtes pas connecté.")
	}
	var info *SessionInfo
	var expired, touch bool
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		ss, err := tx.Session(ctx, id)
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return carnet.Errorf(carnet.EUNAUTHORIZED, "Vous n'êtes pas connecté.")
		}
		if err != nil {
			return err
		}
		times := identity.SessionTimes{Created: ss.CreatedAt, LastSeen: ss.LastSeen}
		if !s.cfg.Sessions.Valid(times, tx.Now()) {
			expired = true
			return carnet.Errorf(carnet.EUNAUTHORIZED, "Votre session a expiré : reconnectez-vous.")
		}
		if ss.State != carnet.SessionActive {
			return carnet.Errorf(carnet.EUNAUTHORIZED, "Vous n'êtes pas connecté.")
		}
		p, err := tx.Patient(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		info = &SessionInfo{Actor: PatientActor(p), Patient: p, Factor: ss.Factor, CSRF: identity.CSRFToken(s.sessionKey, ss.ID),
			ExpiresAt: s.cfg.Sessions.Expires(times), Closed: p.Status == carnet.PatientClosed}
		touch = tx.Now().Sub(ss.LastSeen) >= time.Minute
		return nil
	})
	if expired {
		_ = s.store.Update(ctx, func(tx carnet.Tx) error { return tx.DeleteSession(ctx, id) })
	}
	if err != nil || !touch {
		return info, err
	}
	// Move the idle deadline, at most once a minute per session.
	err = s.store.Update(ctx, func(tx carnet.Tx) error {
		ss, err := tx.Session(ctx, id)
		if err != nil {
			return err
		}
		times := s.cfg.Sessions.Touch(identity.SessionTimes{Created: ss.CreatedAt, LastSeen: ss.LastSeen}, tx.Now())
		ss.LastSeen = times.LastSeen
		info.ExpiresAt = s.cfg.Sessions.Expires(times)
		return tx.UpdateSession(ctx, ss)
	})
	return info, err
}

// CheckCSRF reports whether token is the CSRF token of the session behind sessionToken.
func (s *Service) CheckCSRF(sessionToken, csrf string) bool {
	id, ok := identity.SessionID(sessionToken)
	return ok && identity.CheckCSRF(s.sessionKey, id, csrf)
}

// CSRFFor returns the CSRF token of any session token (signed in or in the middle of a step).
func (s *Service) CSRFFor(sessionToken string) string {
	id, ok := identity.SessionID(sessionToken)
	if !ok {
		return ""
	}
	return identity.CSRFToken(s.sessionKey, id)
}

// Logout ends one session.
func (s *Service) Logout(ctx context.Context, token string) error {
	id, ok := identity.SessionID(token)
	if !ok {
		return nil
	}
	return s.store.Update(ctx, func(tx carnet.Tx) error { return tx.DeleteSession(ctx, id) })
}

// LogoutEverywhere ends every session of the patient's account, this one included.
func (s *Service) LogoutEverywhere(ctx context.Context, actor carnet.Actor) (int, error) {
	if actor.Kind != carnet.ActorPatient {
		return 0, carnet.Errorf(carnet.EFORBIDDEN, "réservé au titulaire du compte")
	}
	var n int
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		var err error
		if n, err = tx.DeleteSessions(ctx, actor.ID); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, actor, actor.ID, "account.logout_all", "session", "", true, "déconnexion de tous les appareils"))
	})
	return n, err
}

// StartTOTP creates an authenticator-app secret for the signed-in patient and returns it with
// its otpauth:// URL; it becomes a second factor once ConfirmTOTP accepts a code from the app.
func (s *Service) StartTOTP(ctx context.Context, token string) (secret, url string, err error) {
	err = s.store.Update(ctx, func(tx carnet.Tx) error {
		ss, err := s.session(ctx, tx, token, 0, carnet.SessionActive)
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		if secret, url, err = identity.NewTOTP(identity.TOTPIssuer, a.Login); err != nil {
			return err
		}
		dek, err := s.dataKey(ctx, tx, a.PatientID)
		if err != nil {
			return err
		}
		sealed, err := s.seal(dek, sealTOTP, a.PatientID, "pending", []byte(secret))
		if err != nil {
			return err
		}
		ss.Data, _ = json.Marshal(activationData{Pending: sealed})
		return tx.UpdateSession(ctx, ss)
	})
	return secret, url, err
}

// ConfirmTOTP checks a first code from the app and makes the pending secret the account's.
func (s *Service) ConfirmTOTP(ctx context.Context, token, code string) error {
	var refused error
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		refused = nil
		ss, err := s.session(ctx, tx, token, 0, carnet.SessionActive)
		if err != nil {
			return err
		}
		var d activationData
		if len(ss.Data) == 0 || json.Unmarshal(ss.Data, &d) != nil || len(d.Pending) == 0 {
			return carnet.Errorf(carnet.EINVALID, "aucune application d'authentification en cours d'ajout")
		}
		dek, err := s.dataKey(ctx, tx, ss.PatientID)
		if err != nil {
			return err
		}
		secret, err := s.open(dek, sealTOTP, ss.PatientID, "pending", d.Pending)
		if err != nil {
			return err
		}
		step, ok := identity.VerifyTOTP(string(secret), code, tx.Now(), 0)
		if !ok {
			refused = identity.CodeRejected()
			return nil
		}
		a, err := tx.Account(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		if a.TOTPSealed, err = s.seal(dek, sealTOTP, a.PatientID, "", secret); err != nil {
			return err
		}
		a.TOTPLastStep = step
		ss.Data = nil
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return err
		}
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return err
		}
		p, err := tx.Patient(ctx, a.PatientID)
		if err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, PatientActor(p), p.ID, "account.totp_added", "account", "", true, "application d'authentification ajoutée"))
	})
	if err != nil {
		return err
	}
	return refused
}

func (s *Service) openTOTP(ctx context.Context, tx carnet.Tx, a *carnet.Account) (string, error) {
	if len(a.TOTPSealed) == 0 {
		return "", nil
	}
	dek, err := s.dataKey(ctx, tx, a.PatientID)
	if err != nil {
		return "", err
	}
	b, err := s.open(dek, sealTOTP, a.PatientID, "", a.TOTPSealed)
	return string(b), err
}
