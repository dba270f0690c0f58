package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/keys"
)

// Client is what the service knows of the browser or device behind a request.
type Client struct {
	Address   string // IP address (rate limits only; stored as a keyed hash)
	UserAgent string
}

// Lifetimes of the steps of activation and login.
const (
	activationStepTTL = 20 * time.Minute // from the code check to the contact confirmation
	loginStepTTL      = 10 * time.Minute // from the password to the second factor
	maxCodeFailures   = 5                // a one-time code is deleted after this many wrong tries
)

func (s *Service) initAccounts() error {
	c := &s.cfg
	if c.HandOverAge <= 0 {
		c.HandOverAge = 18
	}
	if c.OppositionPeriod <= 0 {
		c.OppositionPeriod = 6 * 7 * 24 * time.Hour
	}
	if c.ActivationCodeTTL <= 0 {
		c.ActivationCodeTTL = identity.ActivationCodeTTL
	}
	if c.ArchivePeriod <= 0 {
		c.ArchivePeriod = 10 * 365 * 24 * time.Hour
	}
	if c.PasswordParams == (identity.PasswordParams{}) {
		c.PasswordParams = identity.DefaultPasswordParams()
	}
	if err := c.PasswordParams.Validate(); err != nil {
		return err
	}
	if c.Sessions == (identity.SessionPolicy{}) {
		c.Sessions = identity.DefaultSessionPolicy()
	}
	if c.AccountLimits == (identity.Limits{}) {
		c.AccountLimits = identity.DefaultAccountLimits()
	}
	if c.AddressLimits == (identity.Limits{}) {
		c.AddressLimits = identity.DefaultAddressLimits()
	}
	s.hashing = make(chan struct{}, 2)
	return nil
}

// decoyHash is a password hash to verify against for an unknown identifier, so that it costs the
// same time as a known one. Made on the first login, not at start-up: the CLI never needs it.
func (s *Service) decoyHash(ctx context.Context) (string, error) {
	s.decoyOnce.Do(func() {
		s.decoy, s.decoyErr = s.hashPassword(ctx, "decoy-"+hex.EncodeToString(s.codeKey[:8]))
	})
	return s.decoy, s.decoyErr
}

// keyed returns a keyed hash of v for an attempts key or a stored look-up (never v itself).
func (s *Service) keyed(kind, v string) string {
	m := hmac.New(sha256.New, s.codeKey)
	m.Write([]byte(kind + "\x00" + v))
	return kind + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// hashPassword and verifyPassword bound the concurrent argon2id computations (each holds its
// memory cost).
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return "", carnet.WrapErr("service.hashPassword", carnet.EUNAVAILABLE, ctx.Err())
	}
	defer func() { <-s.hashing }()
	return identity.HashPassword(pw, s.cfg.PasswordParams)
}

func (s *Service) verifyPassword(ctx context.Context, pw, encoded string) (ok, rehash bool, err error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, false, carnet.WrapErr("service.verifyPassword", carnet.EUNAVAILABLE, ctx.Err())
	}
	defer func() { <-s.hashing }()
	return identity.VerifyPassword(pw, encoded, s.cfg.PasswordParams)
}

// limiter checks and records attempts on several keys in one transaction.
type limiter struct {
	s    *Service
	tx   carnet.Tx
	keys []string
	lims []identity.Limits
	recs []carnet.Attempts
}

func (s *Service) limiter(ctx context.Context, tx carnet.Tx, c Client, accountKey string) (*limiter, error) {
	l := &limiter{s: s, tx: tx}
	l.keys = []string{accountKey, s.keyed("addr", c.Address)}
	l.lims = []identity.Limits{s.cfg.AccountLimits, s.cfg.AddressLimits}
	for _, k := range l.keys {
		a, err := tx.Attempts(ctx, k)
		if err != nil {
			return nil, err
		}
		l.recs = append(l.recs, a)
	}
	return l, nil
}

// allow refuses, before any secret is looked at, when a key is locked.
func (l *limiter) allow(now time.Time) error {
	var wait time.Duration
	for i, a := range l.recs {
		if ok, retry := l.lims[i].Allow(identity.Attempts(a), now); !ok && retry > wait {
			wait = retry
		}
	}
	if wait > 0 {
		return identity.TooManyAttempts(wait)
	}
	return nil
}

func (l *limiter) fail(ctx context.Context, now time.Time) error {
	for i, k := range l.keys {
		if err := l.tx.PutAttempts(ctx, k, carnet.Attempts(l.lims[i].Fail(identity.Attempts(l.recs[i]), now))); err != nil {
			return err
		}
	}
	return nil
}

func (l *limiter) succeed(ctx context.Context) error {
	return l.tx.PutAttempts(ctx, l.keys[0], carnet.Attempts(l.lims[0].Succeed(identity.Attempts(l.recs[0]))))
}

// outcome lets a transaction commit what a refusal must keep (failure counts, events) and still
// return the refusal.
type outcome struct{ err error }

// ActivationCheck is what a person types to activate or oppose: their NIR, the provisional code
// and (for activation) their Vitale card serial number.
type ActivationCheck struct {
	NIR, Code, VitaleSerial string
}

// checkCode finds the person and checks the code (and the serial when asked), always doing the
// same work, with the attempts limits. It returns the patient and enrolment on success, or the
// one generic refusal.
func (s *Service) checkCode(ctx context.Context, tx carnet.Tx, in ActivationCheck, withSerial bool, c Client) (*carnet.Patient, *carnet.Enrolment, *outcome, error) {
	nir := carnet.NormalizeNIR(in.NIR)
	nirOK := carnet.ValidateNIR(nir) == nil
	code, codeOK := identity.NormalizeActivationCode(in.Code)
	var p *carnet.Patient
	var e *carnet.Enrolment
	subject := "unknown"
	if nirOK {
		var err error
		p, err = tx.PatientByNIRIndex(ctx, keys.Index(s.indexKey, nir))
		switch carnet.ErrorCode(err) {
		case "":
			subject = p.ID
			if e, err = tx.Enrolment(ctx, p.ID); err != nil && carnet.ErrorCode(err) != carnet.ENOTFOUND {
				return nil, nil, nil, err
			}
		case carnet.ENOTFOUND:
			p = nil
		default:
			return nil, nil, nil, err
		}
	}
	accountKey := s.keyed("person", nir)
	if p != nil {
		accountKey = "person:" + p.ID
	}
	lim, err := s.limiter(ctx, tx, c, accountKey)
	if err != nil {
		return nil, nil, nil, err
	}
	now := tx.Now()
	if err := lim.allow(now); err != nil {
		return nil, nil, &outcome{err}, nil
	}
	var stored, vitale []byte
	expires := time.Time{}
	if e != nil {
		stored, vitale, expires = e.CodeHash, e.VitaleHash, e.CodeExpiresAt
	}
	// Every comparison runs, whatever is missing.
	okCode := identity.CodeMatches(s.codeKey, identity.PurposeActivation, subject, code, stored) && codeOK
	okSerial := identity.CodeMatches(s.codeKey, identity.PurposeVitaleSerial, subject, normalizeSerial(in.VitaleSerial), vitale)
	okTime := !identity.Expired(expires, now)
	ok := p != nil && e != nil && okCode && okTime && (okSerial || !withSerial)
	if !ok {
		if err := lim.fail(ctx, now); err != nil {
			return nil, nil, nil, err
		}
		if p != nil {
			// The person is told that someone tried their code.
			ev := s.event(tx, carnet.Actor{Kind: carnet.ActorSystem, Name: "Carnet"}, p.ID,
				"account.code_failure", "patient", p.ID, false, "code provisoire, NIR ou numéro de série incorrect")
			if err := s.appendEvent(ctx, tx, ev); err != nil {
				return nil, nil, nil, err
			}
		}
		return nil, nil, &outcome{identity.ActivationFailed()}, nil
	}
	if err := lim.succeed(ctx); err != nil {
		return nil, nil, nil, err
	}
	return p, e, nil, nil
}

// activationData is what a session in activation carries between steps.
type activationData struct {
	Login   string `json:"login,omitempty"`
	Hash    string `json:"hash,omitempty"`
	Channel string `json:"channel,omitempty"`
	Contact string `json:"contact,omitempty"`
	Pending []byte `json:"pending,omitempty"` // a ceremony in progress (passkey, TOTP), sealed
}

// BeginActivation checks a provisional code with the NIR and the Vitale card serial number. On
// success it returns a session token for the next steps (choosing credentials, confirming a
// contact). Every mismatch gets the same answer.
func (s *Service) BeginActivation(ctx context.Context, in ActivationCheck, c Client) (string, error) {
	var token string
	var refused *outcome
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		p, _, out, err := s.checkCode(ctx, tx, in, true, c)
		if err != nil || out != nil {
			refused = out
			return err
		}
		refused = nil
		if p.Status != carnet.PatientEnrolled && p.Status != carnet.PatientActive {
			refused = &outcome{identity.ActivationFailed()}
			return nil
		}
		if _, err := tx.Account(ctx, p.ID); err == nil {
			refused = &outcome{carnet.Errorf(carnet.ECONFLICT, "Cet espace santé est déjà activé : connectez-vous.")}
			return nil
		}
		if p.RightsHolderID != "" {
			// A minor's space is managed by the parent from the parent's own account; the young
			// person activates their own at the hand-over age, with a new code.
			refused = &outcome{carnet.Errorf(carnet.EFORBIDDEN, "Cet espace santé est géré par le représentant légal depuis son propre compte, jusqu'aux %d ans de son titulaire.", s.cfg.HandOverAge)}
			return nil
		}
		var id []byte
		token, id = identity.NewSessionToken()
		return tx.CreateSession(ctx, &carnet.Session{ID: id, PatientID: p.ID, State: carnet.SessionActivation})
	})
	if err != nil {
		return "", err
	}
	if refused != nil {
		return "", refused.err
	}
	return token, nil
}

// Credentials are what a person chooses at activation.
type Credentials struct {
	Login    string
	Password string
	Channel  string // "email" or "sms": where one-time codes go
	Contact  string // the email address or mobile number to confirm
}

// NormalizeLogin puts an identifier in its stored form.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validLogin(l string) bool {
	if len(l) < 4 || len(l) > 64 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@+", r)) {
			return false
		}
	}
	return true
}

// session loads a session by token in the given states, within maxAge of its creation (0: the
// session policy applies).
func (s *Service) session(ctx context.Context, tx carnet.Tx, token string, maxAge time.Duration, states ...string) (*carnet.Session, error) {
	id, ok := identity.SessionID(token)
	if !ok {
		return nil, carnet.Errorf(carnet.EUNAUTHORIZED, "Session expirée : recommencez.")
	}
	ss, err := tx.Session(ctx, id)
	if err != nil {
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return nil, carnet.Errorf(carnet.EUNAUTHORIZED, "Session expirée : recommencez.")
		}
		return nil, err
	}
	now := tx.Now()
	valid := s.cfg.Sessions.Valid(identity.SessionTimes{Created: ss.CreatedAt, LastSeen: ss.LastSeen}, now)
	if maxAge > 0 {
		valid = now.Sub(ss.CreatedAt) <= maxAge
	}
	okState := false
	for _, st := range states {
		okState = okState || ss.State == st
	}
	if !valid || !okState {
		return nil, carnet.Errorf(carnet.EUNAUTHORIZED, "Session expirée : recommencez.")
	}
	return ss, nil
}

// SetCredentials records the identifier and password chosen during activation and sends a
// one-time code to the contact to confirm. The password is checked for strength against the
// person's identifier, names and birth date.
func (s *Service) SetCredentials(ctx context.Context, token string, in Credentials) error {
	login := NormalizeLogin(in.Login)
	if !validLogin(login) {
		return carnet.Errorf(carnet.EINVALID, "identifiant invalide : 4 à 64 caractères parmi lettres minuscules, chiffres et . _ - @ +")
	}
	var p *carnet.Patient
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		ss, err := s.session(ctx, tx, token, activationStepTTL, carnet.SessionActivation, carnet.SessionVerify)
		if err != nil {
			return err
		}
		if p, err = tx.Patient(ctx, ss.PatientID); err != nil {
			return err
		}
		if _, err := tx.AccountByLogin(ctx, login); err == nil {
			return carnet.Errorf(carnet.ECONFLICT, "cet identifiant est déjà pris : choisissez-en un autre")
		}
		return nil
	})
	if err != nil {
		return err
	}
	channel, contact, err := checkContact(in.Channel, in.Contact)
	if err != nil {
		return err
	}
	if err := identity.CheckPasswordStrength(in.Password, login, p.BirthName, p.GivenNames, p.UsedName, contact,
		p.BirthDate.Format("2006-01-02")); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		ss, err := s.session(ctx, tx, token, activationStepTTL, carnet.SessionActivation, carnet.SessionVerify)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(activationData{Login: login, Hash: hash, Channel: channel, Contact: contact})
		ss.Data, ss.State = data, carnet.SessionVerify
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return err
		}
		purpose := identity.PurposeVerifyEmail
		if channel == "sms" {
			purpose = identity.PurposeVerifyMobile
		}
		if err := s.countSend(ctx, tx, p.ID); err != nil {
			return err
		}
		return s.sendCode(ctx, tx, ss, p, purpose, channel, contact)
	})
}

func checkContact(channel, contact string) (string, string, error) {
	contact = strings.TrimSpace(contact)
	switch channel {
	case "email":
		if err := carnet.ValidateEmail(contact); err != nil {
			return "", "", err
		}
	case "sms":
		contact = carnet.NormalizeMobile(contact)
		if err := carnet.ValidateMobile(contact); err != nil {
			return "", "", err
		}
	default:
		return "", "", carnet.Errorf(carnet.EINVALID, "canal inconnu : %q (email ou sms)", channel)
	}
	return channel, contact, nil
}

// sendCode draws a one-time code for the session and purpose, keeps its keyed hash and queues
// the message that carries it (sealed until sent).
func (s *Service) sendCode(ctx context.Context, tx carnet.Tx, ss *carnet.Session, p *carnet.Patient, purpose, channel, to string) error {
	code := identity.NewOTP()
	owner := hex.EncodeToString(ss.ID)
	now := tx.Now()
	if err := tx.PutOneTimeCode(ctx, &carnet.OneTimeCode{ID: owner, Purpose: purpose, Target: to,
		Hash: identity.CodeHash(s.codeKey, purpose, owner, code), ExpiresAt: identity.Expiry(now, identity.OTPTTL)}); err != nil {
		return err
	}
	msgID := s.newID()
	secret, err := keys.Seal(s.outboxKey, []byte(code), keys.AAD("outbox", msgID, ""))
	if err != nil {
		return err
	}
	m := &carnet.OutboxMessage{ID: msgID, PatientID: p.ID, Kind: "one_time_code", Channel: channel, Recipient: to,
		Secret: secret, IdempotencyKey: "otp:" + msgID}
	what := "confirmer votre adresse"
	if purpose == identity.PurposeLogin {
		what = "vous connecter"
	}
	if channel == "sms" {
		m.Body = "Carnet : votre code pour " + what + " : " + carnet.SecretPlaceholder + " (valable 10 minutes). Ne le communiquez à personne."
	} else {
		m.Subject = "Votre code Mon espace santé"
		m.Body = "Bonjour,\n\nVotre code pour " + what + " : " + carnet.SecretPlaceholder +
			"\nIl est valable 10 minutes. Ne le communiquez à personne : ni l'Assurance Maladie ni Carnet ne vous le demanderont.\n\n" +
			"Si vous n'êtes pas à l'origine de cette demande, ignorez ce message."
	}
	return tx.EnqueueOutbox(ctx, m)
}

// checkOTP checks a one-time code of a session with the attempts limits of the account and the
// address. It deletes the code when used or after too many failures.
func (s *Service) checkOTP(ctx context.Context, tx carnet.Tx, ss *carnet.Session, purpose, typed, limitKey string, c Client) (*carnet.OneTimeCode, *outcome, error) {
	lim, err := s.limiter(ctx, tx, c, limitKey)
	if err != nil {
		return nil, nil, err
	}
	now := tx.Now()
	if err := lim.allow(now); err != nil {
		return nil, &outcome{err}, nil
	}
	owner := hex.EncodeToString(ss.ID)
	stored, err := tx.OneTimeCode(ctx, owner, purpose)
	if err != nil && carnet.ErrorCode(err) != carnet.ENOTFOUND {
		return nil, nil, err
	}
	code, okForm := identity.NormalizeOTP(typed)
	var hash []byte
	expires := time.Time{}
	if stored != nil {
		hash, expires = stored.Hash, stored.ExpiresAt
	}
	ok := identity.CodeMatches(s.codeKey, purpose, owner, code, hash) && okForm && !identity.Expired(expires, now)
	if !ok {
		if err := lim.fail(ctx, now); err != nil {
			return nil, nil, err
		}
		if stored != nil {
			stored.Failures++
			if stored.Failures >= maxCodeFailures {
				err = tx.DeleteOneTimeCode(ctx, owner, purpose)
			} else {
				err = tx.PutOneTimeCode(ctx, stored)
			}
			if err != nil {
				return nil, nil, err
			}
		}
		return nil, &outcome{identity.CodeRejected()}, nil
	}
	if err := lim.succeed(ctx); err != nil {
		return nil, nil, err
	}
	return stored, nil, tx.DeleteOneTimeCode(ctx, owner, purpose)
}

// ConfirmContact checks the one-time code sent at SetCredentials. On success the account
// exists, the provisional code is spent, the space is open and the session is signed in.
func (s *Service) ConfirmContact(ctx context.Context, token, code string, c Client) error {
	var refused *outcome
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		refused = nil
		ss, err := s.session(ctx, tx, token, activationStepTTL, carnet.SessionVerify)
		if err != nil {
			return err
		}
		var d activationData
		if err := json.Unmarshal(ss.Data, &d); err != nil {
			return carnet.WrapErr("service.ConfirmContact", carnet.EINTEGRITY, err)
		}
		purpose := identity.PurposeVerifyEmail
		if d.Channel == "sms" {
			purpose = identity.PurposeVerifyMobile
		}
		if _, out, err := s.checkOTP(ctx, tx, ss, purpose, code, secondFactorKey(ss.PatientID), c); err != nil || out != nil {
			refused = out
			return err
		}
		p, err := tx.Patient(ctx, ss.PatientID)
		if err != nil {
			return err
		}
		e, err := tx.Enrolment(ctx, p.ID)
		if err != nil {
			return err
		}
		if len(e.CodeHash) == 0 || p.RightsHolderID != "" || (p.Status != carnet.PatientEnrolled && p.Status != carnet.PatientActive) {
			refused = &outcome{identity.ActivationFailed()}
			return nil
		}
		a := &carnet.Account{PatientID: p.ID, Login: d.Login, PasswordHash: d.Hash, OTPChannel: d.Channel,
			PasskeyHandle: randomHandle()}
		if d.Channel == "sms" {
			a.Mobile, p.Mobile = d.Contact, d.Contact
		} else {
			a.Email, p.Email = d.Contact, d.Contact
		}
		if err := tx.CreateAccount(ctx, a); err != nil {
			if carnet.ErrorCode(err) == carnet.ECONFLICT {
				refused = &outcome{carnet.Errorf(carnet.ECONFLICT, "cet identifiant est déjà pris : choisissez-en un autre")}
				ss.State, ss.Data = carnet.SessionActivation, nil
				return tx.UpdateSession(ctx, ss)
			}
			return err
		}
		now := tx.Now()
		e.CodeHash, e.ActivatedAt, e.AutoCreateAt = []byte{}, &now, time.Time{}
		if err := tx.UpdateEnrolment(ctx, e); err != nil {
			return err
		}
		p.Status = carnet.PatientActive
		if err := tx.UpdatePatient(ctx, p); err != nil {
			return err
		}
		ss.State, ss.Factor, ss.Data, ss.LastSeen = carnet.SessionActive, carnet.FactorOTP, nil, now
		if err := tx.UpdateSession(ctx, ss); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, PatientActor(p), p.ID, "account.activate", "patient", p.ID, true, "activation de l'espace santé"))
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused.err
	}
	return nil
}

func randomHandle() []byte {
	k, _ := keys.NewDataKey()
	return k
}

// Oppose records a person's refusal of their space, with the provisional code and the NIR (for
// a minor, the parent types the child's). The space is never created; the person may later ask
// for one (RequestSpace).
func (s *Service) Oppose(ctx context.Context, in ActivationCheck, c Client) error {
	var refused *outcome
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		p, e, out, err := s.checkCode(ctx, tx, in, false, c)
		if err != nil || out != nil {
			refused = out
			return err
		}
		refused = nil
		if p.Status != carnet.PatientEnrolled {
			refused = &outcome{carnet.Errorf(carnet.ECONFLICT, "Cet espace santé est déjà ouvert : vous pouvez le fermer depuis vos paramètres.")}
			return nil
		}
		now := tx.Now()
		e.OpposedAt, e.AutoCreateAt, e.CodeHash = &now, time.Time{}, []byte{}
		if err := tx.UpdateEnrolment(ctx, e); err != nil {
			return err
		}
		p.Status = carnet.PatientOpposed
		if err := tx.UpdatePatient(ctx, p); err != nil {
			return err
		}
		actor := carnet.Actor{Kind: carnet.ActorPatient, ID: p.ID, Name: "titulaire du code provisoire"}
		return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.oppose", "patient", p.ID, true, "opposition à la création de l'espace santé"))
	})
	if err != nil {
		return err
	}
	if refused != nil {
		return refused.err
	}
	return nil
}

// RequestSpace opens the space of a person who opposed, at their request (made to the
// insurer): the space is created and a new provisional code is sent to activate it.
func (s *Service) RequestSpace(ctx context.Context, actor carnet.Actor, nir string) (*carnet.Patient, error) {
	if err := operatorOnly(actor); err != nil {
		return nil, err
	}
	nir = carnet.NormalizeNIR(nir)
	if err := carnet.ValidateNIR(nir); err != nil {
		return nil, err
	}
	var p *carnet.Patient
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		var err error
		if p, err = tx.PatientByNIRIndex(ctx, keys.Index(s.indexKey, nir)); err != nil {
			return notFound(err)
		}
		if p.Status != carnet.PatientOpposed {
			return carnet.Errorf(carnet.ECONFLICT, "cette personne ne s'est pas opposée à son espace santé (statut %s)", p.Status)
		}
		p.Status = carnet.PatientActive
		if err := tx.UpdatePatient(ctx, p); err != nil {
			return err
		}
		if err := s.newCode(ctx, tx, p, nil); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.request", "patient", p.ID, true, "création à la demande de la personne après opposition"))
	})
	return p, err
}

// newCode draws a new provisional code for an existing person and queues its message (to the
// parent for a minor when parent is given).
func (s *Service) newCode(ctx context.Context, tx carnet.Tx, p *carnet.Patient, parent *carnet.Patient) error {
	return s.newCodeVia(ctx, tx, p, parent, false)
}

// newCodeVia is newCode; with careOf, the message goes to the parent's contact but is addressed
// to the young person who takes over their space.
func (s *Service) newCodeVia(ctx context.Context, tx carnet.Tx, p *carnet.Patient, parent *carnet.Patient, careOf bool) error {
	e, err := tx.Enrolment(ctx, p.ID)
	exists := err == nil
	if err != nil && carnet.ErrorCode(err) != carnet.ENOTFOUND {
		return err
	}
	if !exists {
		// A person created without a file (by an operator): the Vitale serial is unknown, so
		// activation is not possible until it is set; give them an enrolment to hold the code.
		e = &carnet.Enrolment{PatientID: p.ID, VitaleHash: []byte{}, Source: "operator"}
	}
	code := identity.NewActivationCode()
	now := tx.Now()
	e.CodeHash = identity.CodeHash(s.codeKey, identity.PurposeActivation, p.ID, code)
	e.CodeExpiresAt, e.AutoCreateAt, e.ActivatedAt = now.Add(s.cfg.ActivationCodeTTL), time.Time{}, nil
	if exists {
		err = tx.UpdateEnrolment(ctx, e)
	} else {
		err = tx.CreateEnrolment(ctx, e)
	}
	if err != nil {
		return err
	}
	var to *parentContact
	if parent != nil {
		to = contactOf(parent)
		to.careOf = careOf
	}
	return s.enqueueCode(ctx, tx, p, to, e, code)
}

// RevealSecret opens the code an outbox message carries, for the worker that sends it.
func (s *Service) RevealSecret(m *carnet.OutboxMessage) (string, error) {
	b, err := keys.Open(s.outboxKey, m.Secret, keys.AAD("outbox", m.ID, ""))
	return string(b), err
}

// IssueCode sends a person a new provisional code, at the insurer's initiative (a lost letter,
// a person created one by one, a demonstration), and records their Vitale card serial number
// when given. The previous code stops working. A person who already activated their space
// signs in instead: ECONFLICT.
func (s *Service) IssueCode(ctx context.Context, actor carnet.Actor, patientID, vitaleSerial string) error {
	if err := operatorOnly(actor); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		p, err := tx.Patient(ctx, patientID)
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.Account(ctx, p.ID); err == nil {
			return carnet.Errorf(carnet.ECONFLICT, "cet espace santé est déjà activé")
		}
		if p.Status != carnet.PatientEnrolled && p.Status != carnet.PatientActive {
			return carnet.Errorf(carnet.ECONFLICT, "cet espace santé n'est pas ouvert (statut %s)", p.Status)
		}
		if vitaleSerial != "" {
			e, err := tx.Enrolment(ctx, p.ID)
			switch carnet.ErrorCode(err) {
			case "":
				e.VitaleHash = identity.CodeHash(s.codeKey, identity.PurposeVitaleSerial, p.ID, normalizeSerial(vitaleSerial))
				err = tx.UpdateEnrolment(ctx, e)
			case carnet.ENOTFOUND:
				err = tx.CreateEnrolment(ctx, &carnet.Enrolment{PatientID: p.ID, Source: "operator", CodeHash: []byte{},
					VitaleHash: identity.CodeHash(s.codeKey, identity.PurposeVitaleSerial, p.ID, normalizeSerial(vitaleSerial))})
			}
			if err != nil {
				return err
			}
		}
		var parent *carnet.Patient
		if p.RightsHolderID != "" {
			if parent, err = tx.Patient(ctx, p.RightsHolderID); err != nil {
				return err
			}
		}
		if err := s.newCode(ctx, tx, p, parent); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, s.event(tx, actor, p.ID, "patient.code", "patient", p.ID, true, "nouveau code provisoire envoyé"))
	})
}
