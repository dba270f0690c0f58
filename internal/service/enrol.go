package service

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/identity"
	"github.com/carnet-sante/carnet/internal/keys"
)

// EnrolRow is one insured person of a bulk enrolment file, validated by the caller.
type EnrolRow struct {
	Line            int
	Patient         carnet.Patient // NIR in clear, traits, contact
	VitaleSerial    string
	RightsHolderNIR string // for a minor: the parent who holds the rights
}

// BadRow is a row refused by the service (the file's own checks come before).
type BadRow struct {
	Line   int
	Reason string
}

// EnrolmentRun is the checkpoint of a bulk enrolment file, saved in the transaction of each
// batch so that an interrupted run resumes after the last committed line.
type EnrolmentRun struct {
	FileID       string    `json:"file_id"`
	Line         int       `json:"line"`          // last line committed
	ReportOffset int64     `json:"report_offset"` // bytes of the report of bad rows up to Line
	Enrolled     int64     `json:"enrolled"`
	Skipped      int64     `json:"skipped"` // already enrolled (a re-run)
	Bad          int64     `json:"bad"`
	Done         bool      `json:"done"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func metaRun(fileID string) string { return "enrol.run." + fileID }

// EnrolmentCheckpoint returns the checkpoint of a file (a zero run if it was never started).
func (s *Service) EnrolmentCheckpoint(ctx context.Context, actor carnet.Actor, fileID string) (EnrolmentRun, error) {
	run := EnrolmentRun{FileID: fileID}
	if err := operatorOnly(actor); err != nil {
		return run, err
	}
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		raw, err := tx.Meta(ctx, metaRun(fileID))
		if carnet.ErrorCode(err) == carnet.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &run)
	})
	return run, err
}

func operatorOnly(actor carnet.Actor) error {
	if actor.Kind != carnet.ActorOperator && actor.Kind != carnet.ActorSystem {
		return carnet.Errorf(carnet.EFORBIDDEN, "seul l'organisme d'assurance maladie inscrit les assurés")
	}
	return nil
}

// PreparedBatch is a batch of people ready to be stored: keys made, NIRs sealed, codes drawn.
type PreparedBatch struct {
	items   []*prepared
	people  map[string]*parentContact // by NIR index: who this batch enrols
	Skipped int                       // already enrolled
}

// Len is the number of people the batch will enrol.
func (b *PreparedBatch) Len() int { return len(b.items) }

type prepared struct {
	row    *EnrolRow
	ne     *carnet.NewEnrolment
	parent string // NIR index (as a string) of the rights holder
}

// parentContact is what a minor's message needs of their parent.
type parentContact struct {
	id, name, email, mobile, postal string
	careOf                          bool // the message is for the child, sent to the parent's contact
}

// PrepareEnrolment does the work of a batch that needs no write: it finds who is already
// enrolled (a re-run skips them), resolves each minor's rights holder (earlier in the batch or
// already enrolled: otherwise the row is bad), and makes each new person's data key, sealed NIR,
// provisional code and message, spread over the CPUs.
//
// prev is the batch prepared just before, which may still be committing (nil if none): its
// people count as enrolled, and may be the rights holders of this batch's minors.
func (s *Service) PrepareEnrolment(ctx context.Context, actor carnet.Actor, source string, rows []EnrolRow, prev *PreparedBatch) (*PreparedBatch, []BadRow, error) {
	if err := operatorOnly(actor); err != nil {
		return nil, nil, err
	}
	idx := make([][]byte, 0, 2*len(rows))
	own := make([]string, len(rows))      // each person's NIR index
	parentOf := make([]string, len(rows)) // the rights holder's NIR index, for a minor
	for i := range rows {
		r := &rows[i]
		r.Patient.NIR = carnet.NormalizeNIR(r.Patient.NIR)
		ix := keys.Index(s.indexKey, r.Patient.NIR)
		own[i] = string(ix)
		idx = append(idx, ix)
		if r.RightsHolderNIR != "" {
			pix := keys.Index(s.indexKey, carnet.NormalizeNIR(r.RightsHolderNIR))
			parentOf[i] = string(pix)
			idx = append(idx, pix)
		}
	}
	var known map[string]string
	parents := map[string]*parentContact{}
	err := s.store.View(ctx, func(tx carnet.Tx) error {
		var err error
		if known, err = tx.PatientsByNIRIndex(ctx, idx); err != nil {
			return err
		}
		if prev != nil {
			for ix, pc := range prev.people {
				known[ix] = pc.id
				parents[ix] = pc
			}
		}
		for _, pix := range parentOf {
			if pix == "" {
				continue
			}
			id, ok := known[pix]
			if !ok || parents[pix] != nil {
				continue
			}
			p, err := tx.Patient(ctx, id)
			if err != nil {
				return err
			}
			parents[pix] = contactOf(p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	b := &PreparedBatch{}
	var bad []BadRow
	seen := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		if _, ok := known[own[i]]; ok {
			b.Skipped++
			continue
		}
		if seen[own[i]] {
			bad = append(bad, BadRow{Line: r.Line, Reason: "NIR en double dans le fichier"})
			continue
		}
		it := &prepared{row: r}
		if parentOf[i] != "" {
			it.parent = parentOf[i]
			if parents[it.parent] == nil && !seen[it.parent] {
				bad = append(bad, BadRow{Line: r.Line, Reason: "ouvrant droit inconnu : il doit être déjà inscrit ou figurer plus haut dans le fichier"})
				continue
			}
		}
		seen[own[i]] = true
		b.items = append(b.items, it)
	}
	// Make keys, seals and codes in parallel.
	now := s.now()
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(b.items); i += workers {
				if err := s.prepareOne(b.items[i], actor, source, now); err != nil {
					errs[w] = err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	b.people = make(map[string]*parentContact, len(b.items))
	for _, it := range b.items {
		p := it.ne.Patient
		pc := contactOf(p)
		parents[string(p.NIRIndex)], b.people[string(p.NIRIndex)] = pc, pc
	}
	kept := b.items[:0]
	for _, it := range b.items {
		var to *parentContact
		if it.parent != "" {
			to = parents[it.parent]
			it.ne.Patient.RightsHolderID = to.id
		}
		// The message is written when the code is sent (QueueEnrolmentCodes), from these same
		// rows; here only whether it can be sent at all.
		if !reachable(it.ne.Patient, to) {
			// The parent has no contact at all: the code cannot be sent.
			bad = append(bad, BadRow{Line: it.row.Line, Reason: "l'ouvrant droit n'a ni courriel, ni mobile, ni adresse postale : le code ne peut pas être envoyé"})
			delete(b.people, string(it.ne.Patient.NIRIndex))
			continue
		}
		kept = append(kept, it)
	}
	b.items = kept
	return b, bad, nil
}

// prepareOne makes one person's keys, sealed NIR, provisional code and hashes, and the first
// event of their history, linked (the genesis of a chain depends on nothing stored): the
// committing transaction, which alone writes, only stores them.
func (s *Service) prepareOne(it *prepared, actor carnet.Actor, source string, now time.Time) error {
	p := it.row.Patient
	p.ID = s.newID()
	p.Status = carnet.PatientEnrolled
	if p.INSOID == "" {
		p.INSOID = carnet.OIDINSNIR
	}
	dek, err := keys.NewDataKey()
	if err != nil {
		return err
	}
	if p.NIRSealed, err = s.seal(dek, sealNIR, p.ID, "", []byte(p.NIR)); err != nil {
		return err
	}
	p.NIRIndex = keys.Index(s.indexKey, p.NIR)
	wrapped, kek, err := s.ring.Wrap(dek, p.ID)
	if err != nil {
		return err
	}
	code := identity.NewActivationCode()
	// The code waits on the enrolment row, sealed, until the outbox worker makes it a message.
	pending, err := keys.Seal(s.outboxKey, []byte(code), pendingCodeAAD(p.ID))
	if err != nil {
		return err
	}
	serial := normalizeSerial(it.row.VitaleSerial)
	e := &carnet.Enrolment{
		PatientID:     p.ID,
		VitaleHash:    identity.CodeHash(s.codeKey, identity.PurposeVitaleSerial, p.ID, serial),
		CodeHash:      identity.CodeHash(s.codeKey, identity.PurposeActivation, p.ID, code),
		CodeExpiresAt: now.Add(s.cfg.ActivationCodeTTL),
		AutoCreateAt:  now.Add(s.cfg.OppositionPeriod),
		Source:        fmt.Sprintf("%s:%d", source, it.row.Line),
	}
	ev := s.eventAt(now, actor, p.ID, "patient.enrol", "patient", p.ID, true, "inscription ("+e.Source+")")
	audit.Link(ev, carnet.AuditHead{PatientID: p.ID})
	it.ne = &carnet.NewEnrolment{Patient: &p, Key: &carnet.DataKey{PatientID: p.ID, Wrapped: wrapped, KEKID: kek},
		Enrolment: e, Event: ev, PendingCode: pending}
	return nil
}

func pendingCodeAAD(patientID string) []byte { return keys.AAD("enrolment-code", patientID, "") }

// recipientOf returns where a code message for p goes: the parent's contact when given.
func recipientOf(p *carnet.Patient, parent *parentContact) (name, email, mobile, postal string) {
	if parent != nil {
		return parent.name, parent.email, parent.mobile, parent.postal
	}
	return p.DisplayName(), p.Email, p.Mobile, p.PostalAddress
}

// reachable reports whether a code message for p (sent to parent for a minor) has a way to go:
// the condition under which codeMessage fails with EINVALID.
func reachable(p *carnet.Patient, parent *parentContact) bool {
	_, email, mobile, postal := recipientOf(p, parent)
	return email != "" || mobile != "" || postal != ""
}

// contactOf is a rights holder's contact, for the code messages of the minors they represent.
func contactOf(p *carnet.Patient) *parentContact {
	return &parentContact{id: p.ID, name: p.DisplayName(), email: p.Email, mobile: p.Mobile, postal: p.PostalAddress}
}

// enqueueCode queues the message that carries code to p (or to parent), the code sealed for the
// outbox until the worker sends it.
func (s *Service) enqueueCode(ctx context.Context, tx carnet.Tx, p *carnet.Patient, parent *parentContact, e *carnet.Enrolment, code string) error {
	msgID := s.newID()
	secret, err := keys.Seal(s.outboxKey, []byte(code), keys.AAD("outbox", msgID, ""))
	if err != nil {
		return err
	}
	m, err := s.codeMessage(p, parent, e, secret)
	if err != nil {
		return err
	}
	m.ID = msgID
	return tx.EnqueueOutbox(ctx, m)
}

// normalizeSerial drops spaces, dashes and no-break spaces and upper-cases the rest.
func normalizeSerial(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, s))
}

// codeMessage builds the message that carries a provisional code: to the person, or for a
// minor to the parent (parent non-nil); by email, else SMS, else a letter.
func (s *Service) codeMessage(p *carnet.Patient, parent *parentContact, e *carnet.Enrolment, secret []byte) (*carnet.OutboxMessage, error) {
	name, email, mobile, postal := recipientOf(p, parent)
	m := &carnet.OutboxMessage{PatientID: p.ID, Kind: "activation_code", Secret: secret,
		IdempotencyKey: "activation-code:" + p.ID + ":" + fmt.Sprint(e.CodeExpiresAt.UnixMicro())}
	deadline := frenchDate(e.AutoCreateAt)
	until := frenchDate(e.CodeExpiresAt)
	whose := "votre espace santé"
	switch {
	case parent != nil && parent.careOf:
		// A young person taking over their space, reached through the parent's address.
		name = p.DisplayName()
		if postal != "" {
			postal = "aux bons soins de " + parent.name + "\n" + postal
		}
	case parent != nil:
		whose = "l'espace santé de " + p.DisplayName() + ", dont vous êtes l'ouvrant droit"
	}
	switch {
	case email != "":
		m.Channel, m.Recipient = "email", email
	case mobile != "":
		m.Channel, m.Recipient = "sms", mobile
	case postal != "":
		m.Channel, m.Recipient = "letter", name+"\n"+postal
	default:
		return nil, carnet.Errorf(carnet.EINVALID, "aucun moyen de contact pour envoyer le code provisoire")
	}
	if m.Channel == "sms" {
		m.Body = fmt.Sprintf("Carnet : code provisoire pour %s : %s (valable jusqu'au %s). Activation ou opposition sur %s",
			whose, carnet.SecretPlaceholder, until, s.cfg.BaseURL)
		return m, nil
	}
	m.Subject = "Votre code provisoire Mon espace santé"
	if parent != nil && !parent.careOf {
		m.Subject = "Code provisoire de l'espace santé de " + p.DisplayName()
	}
	auto := "Sans démarche de votre part, cet espace santé sera créé automatiquement le " + deadline + "."
	if e.AutoCreateAt.IsZero() {
		auto = "Cet espace santé est déjà ouvert : le code sert à en prendre possession."
	}
	m.Body = fmt.Sprintf(`Bonjour %s,

L'Assurance Maladie ouvre %s.

Votre code provisoire : %s
Il est valable jusqu'au %s et ne sert qu'une fois.

Pour activer l'espace : %s/activer, avec ce code, le numéro de sécurité sociale et le numéro de série de la carte Vitale.
Pour vous y opposer : %s/opposition, avec ce code et le numéro de sécurité sociale.
%s

Ni l'Assurance Maladie ni Carnet ne vous demanderont jamais ce code par téléphone ou par courriel.`,
		name, whose, carnet.SecretPlaceholder, until, s.cfg.BaseURL, s.cfg.BaseURL, auto)
	return m, nil
}

func frenchDate(t time.Time) string {
	t = t.In(paris)
	return carnet.FrenchDate(t)
}

// EnrolResult counts what a committed batch did.
type EnrolResult struct {
	Enrolled int
	Skipped  int
}

// CommitEnrolment stores a prepared batch in one transaction with the file's checkpoint: every
// person, key, enrolment, first history event and code message, or none. A person enrolled by
// a concurrent run since the batch was prepared makes the whole batch fail with ECONFLICT.
func (s *Service) CommitEnrolment(ctx context.Context, actor carnet.Actor, b *PreparedBatch, run EnrolmentRun) (EnrolResult, error) {
	if err := operatorOnly(actor); err != nil {
		return EnrolResult{}, err
	}
	res := EnrolResult{}
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		res = EnrolResult{Skipped: b.Skipped}
		batch := make([]*carnet.NewEnrolment, 0, len(b.items))
		for _, it := range b.items {
			batch = append(batch, it.ne)
		}
		if err := tx.EnrolBatch(ctx, batch); err != nil {
			if carnet.ErrorCode(err) == carnet.ECONFLICT {
				// The NIR index is unique: someone enrolled one of these people since the batch
				// was prepared (a concurrent run). Nothing of the batch is kept.
				return carnet.Errorf(carnet.ECONFLICT, "des personnes du lot ont été inscrites entre-temps : relancez l'inscription")
			}
			return err
		}
		res.Enrolled = len(batch)
		run.UpdatedAt = tx.Now()
		raw, _ := json.Marshal(run)
		return tx.PutMeta(ctx, metaRun(run.FileID), raw)
	})
	return res, err
}

// SaveEnrolmentRun saves a file's checkpoint alone (a batch of only bad or skipped rows, or the
// end of the run).
func (s *Service) SaveEnrolmentRun(ctx context.Context, actor carnet.Actor, run EnrolmentRun) error {
	if err := operatorOnly(actor); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx carnet.Tx) error {
		run.UpdatedAt = tx.Now()
		raw, _ := json.Marshal(run)
		return tx.PutMeta(ctx, metaRun(run.FileID), raw)
	})
}

// QueueEnrolmentCodes turns up to limit codes queued by bulk enrolment into outbox messages, in
// one transaction with taking them off their enrolment rows: a code is either still queued or a
// message, never lost, never made twice. It returns how many codes it took. The outbox worker
// calls it before each claim (notify.Worker.Feed), so messages are written at the pace they are
// sent rather than all during the enrolment run.
//
// The message is written from the rows the enrolment stored (the person, their rights holder,
// the code's validity dates), as PrepareEnrolment would have. A code that no longer opens
// anything (a new code was issued since, the space was activated or refused) is dropped, and so
// is one that cannot be decrypted (logged as an error: the operator issues a new code).
func (s *Service) QueueEnrolmentCodes(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.store.Update(ctx, func(tx carnet.Tx) error {
		n = 0
		codes, err := tx.PendingCodes(ctx, limit)
		if err != nil {
			return err
		}
		for _, c := range codes {
			if err := s.queueEnrolmentCode(ctx, tx, c); err != nil {
				return err
			}
			if err := tx.ClearPendingCode(ctx, c.PatientID); err != nil {
				return err
			}
		}
		n = len(codes)
		return nil
	})
	return n, err
}

func (s *Service) queueEnrolmentCode(ctx context.Context, tx carnet.Tx, c carnet.PendingCode) error {
	code, err := keys.Open(s.outboxKey, c.Sealed, pendingCodeAAD(c.PatientID))
	if err != nil {
		// It can never be sent. Dropped, loudly, rather than failing every feed and holding back
		// every code queued after it: the operator issues a new one (carnet account code).
		s.log.Error("queued enrolment code unreadable, dropped: issue a new one", "op", "service.QueueEnrolmentCodes",
			"patient", c.PatientID, "err", err)
		return nil
	}
	p, err := tx.Patient(ctx, c.PatientID)
	if err != nil {
		return err
	}
	e, err := tx.Enrolment(ctx, c.PatientID)
	if err != nil {
		return err
	}
	if (p.Status != carnet.PatientEnrolled && p.Status != carnet.PatientActive) || len(e.CodeHash) == 0 ||
		!hmac.Equal(e.CodeHash, identity.CodeHash(s.codeKey, identity.PurposeActivation, p.ID, string(code))) {
		return nil // the code opens nothing any more
	}
	var to *parentContact
	if p.RightsHolderID != "" {
		parent, err := tx.Patient(ctx, p.RightsHolderID)
		if err != nil {
			return err
		}
		to = contactOf(parent)
	}
	if !reachable(p, to) {
		return nil // no contact left at all: nothing can be sent (enrolment refuses such rows)
	}
	return s.enqueueCode(ctx, tx, p, to, e, string(code))
}
