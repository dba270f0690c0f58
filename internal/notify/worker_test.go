package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/email"
	"github.com/carnet-sante/carnet/internal/notify/letter"
	"github.com/carnet-sante/carnet/internal/notify/sms"
	"github.com/carnet-sante/carnet/internal/notify/smtptest"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

// fakeClock is shared by the store (Tx.Now) and the worker.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one test's outbox: a SQLite file, an SMTP server, dev sinks for SMS and letters.
type env struct {
	t       *testing.T
	path    string
	clock   *fakeClock
	store   carnet.Store
	smtp    *smtptest.Server
	email   *email.Sender
	smsPath string
	letters string
	logs    *syncBuffer
}

func newEnv(t *testing.T, opts ...smtptest.Option) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, path: filepath.Join(dir, "carnet.db"), clock: newClock(), smtp: smtptest.Start(t, opts...),
		smsPath: filepath.Join(dir, "sms.jsonl"), letters: filepath.Join(dir, "lettres"), logs: &syncBuffer{}}
	e.store = e.open()
	sender, err := email.New(e.smtp.EmailConfig("Carnet <ne-pas-repondre@carnet.test>"))
	if err != nil {
		t.Fatal(err)
	}
	e.email = sender
	return e
}

// open opens the database file again: another process, as far as the outbox is concerned.
func (e *env) open() carnet.Store {
	e.t.Helper()
	db, err := sqlite.Open(context.Background(), e.path, sqlite.Options{Store: []sqldb.Option{sqldb.WithClock(e.clock.Now)}})
	if err != nil {
		e.t.Fatalf("sqlite.Open: %v", err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) worker(store carnet.Store) *Worker {
	return &Worker{
		Store:       store,
		Email:       e.email,
		SMS:         sms.NewFileSink(e.smsPath, e.clock.Now),
		Letters:     letter.NewFileSink(e.letters, e.clock.Now),
		Clock:       e.clock.Now,
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:     &Counters{},
		BatchSize:   10,
		Lease:       time.Hour,
		MaxAttempts: 5,
		Backoff:     func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
	}
}

func (e *env) enqueue(msgs ...*carnet.OutboxMessage) {
	e.t.Helper()
	err := e.store.Update(context.Background(), func(tx carnet.Tx) error {
		for _, m := range msgs {
			if err := tx.EnqueueOutbox(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// outbox returns the messages by ID.
func (e *env) outbox() map[string]*carnet.OutboxMessage {
	e.t.Helper()
	out := map[string]*carnet.OutboxMessage{}
	err := e.store.View(context.Background(), func(tx carnet.Tx) error {
		ms, err := tx.ListOutbox(context.Background(), "patient-1")
		for _, m := range ms {
			out[m.ID] = m
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) runOnce(w *Worker) int {
	e.t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	return n
}

func emailMsg(i int) *carnet.OutboxMessage {
	return &carnet.OutboxMessage{
		ID:             fmt.Sprintf("m-%03d", i),
		PatientID:      "patient-1",
		Kind:           "first_access",
		Channel:        ChannelEmail,
		Recipient:      fmt.Sprintf("patient.%d@example.org", i),
		Subject:        "Nouvel accès à votre espace santé",
		Body:           "Bonjour,\n\nUn professionnel a accédé à votre espace santé.\nDétails : https://carnet.test/historique\n",
		IdempotencyKey: fmt.Sprintf("first_access:patient-1:%03d", i),
	}
}

func smsMsg(i int) *carnet.OutboxMessage {
	return &carnet.OutboxMessage{ID: fmt.Sprintf("s-%03d", i), PatientID: "patient-1", Kind: "action", Channel: ChannelSMS,
		Recipient: "06 12 34 56 78", Body: "Carnet : une action a eu lieu sur votre espace santé.",
		IdempotencyKey: fmt.Sprintf("action:patient-1:sms-%03d", i)}
}

func letterMsg(i int) *carnet.OutboxMessage {
	return &carnet.OutboxMessage{ID: fmt.Sprintf("l-%03d", i), PatientID: "patient-1", Kind: "activation_code", Channel: ChannelLetter,
		Recipient: "Mme Hélène Durand\n12 rue des Lilas\n75011 PARIS", Subject: "Votre code d'activation",
		Body: "Madame,\n\nVotre code provisoire : WXYZ-9876.\n", IdempotencyKey: fmt.Sprintf("activation:patient-1:%03d", i)}
}

func keysReceived(srv *smtptest.Server) map[string]int {
	n := map[string]int{}
	for _, m := range srv.Messages() {
		n[m.IdempotencyKey()]++
	}
	return n
}

func TestWorkerDeliversEachMessageOnce(t *testing.T) {
	e := newEnv(t)
	var msgs []*carnet.OutboxMessage
	for i := 1; i <= 5; i++ {
		msgs = append(msgs, emailMsg(i))
	}
	msgs = append(msgs, smsMsg(1), smsMsg(2), letterMsg(1), letterMsg(2))
	e.enqueue(msgs...)
	w := e.worker(e.store)

	if n := e.runOnce(w); n != 9 {
		t.Fatalf("sent %d, want 9", n)
	}
	if n := e.runOnce(w); n != 0 {
		t.Fatalf("second run sent %d", n)
	}

	got := e.smtp.Messages()
	if len(got) != 5 {
		t.Fatalf("%d emails", len(got))
	}
	for _, m := range got {
		if m.Subject != "Nouvel accès à votre espace santé" || !strings.Contains(m.Text, "Détails : https://carnet.test/historique") {
			t.Errorf("email %q %q", m.Subject, m.Text)
		}
		if !strings.HasPrefix(m.IdempotencyKey(), "first_access:patient-1:") || len(m.To) != 1 || !strings.HasPrefix(m.To[0], "patient.") {
			t.Errorf("email to %v key %q", m.To, m.IdempotencyKey())
		}
	}
	for k, n := range keysReceived(e.smtp) {
		if n != 1 {
			t.Errorf("key %s received %d times", k, n)
		}
	}
	recs, err := sms.ReadFile(e.smsPath)
	if err != nil || len(recs) != 2 || recs[0].To != "+33612345678" || recs[0].IdempotencyKey != "action:patient-1:sms-001" {
		t.Errorf("sms: %+v %v", recs, err)
	}
	files, _ := letter.Files(e.letters)
	if len(files) != 1 {
		t.Errorf("letter batches: %v", files)
	}

	now := e.clock.Now()
	for id, m := range e.outbox() {
		if m.Status != carnet.OutboxSent || m.Attempts != 1 || m.SentAt == nil || !m.SentAt.Equal(now) || m.LastError != "" {
			t.Errorf("%s: %+v", id, m)
		}
	}
	c := w.Metrics.(*Counters)
	if c.SentTotal() != 9 || c.RetriedTotal() != 0 || c.FailedTotal() != 0 {
		t.Errorf("counters %d %d %d", c.SentTotal(), c.RetriedTotal(), c.FailedTotal())
	}

	logs := e.logs.String()
	for _, secret := range []string{"patient.1@example.org", "0612345678", "06 12 34 56 78", "+33612345678",
		"Hélène", "rue des Lilas", "Un professionnel a accédé", "WXYZ-9876"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs reveal %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"to=p***@example.org", "to=+33*******78", "message_id=m-001", "outbox: sent"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	e := newEnv(t)
	e.enqueue(emailMsg(1))
	w := e.worker(e.store)
	e.smtp.FailNext(2, 451)

	t0 := e.clock.Now()
	if n := e.runOnce(w); n != 0 {
		t.Fatalf("sent %d", n)
	}
	m := e.outbox()["m-001"]
	if m.Status != carnet.OutboxPending || m.Attempts != 1 || !m.NextAttemptAt.Equal(t0.Add(time.Minute)) ||
		!strings.Contains(m.LastError, "451") {
		t.Fatalf("after first failure: %+v", m)
	}
	// Not due yet: nothing is attempted.
	e.clock.Advance(59 * time.Second)
	e.runOnce(w)
	if e.smtp.Attempts() != 1 {
		t.Fatalf("retried before its time: %d attempts", e.smtp.Attempts())
	}
	e.clock.Advance(time.Second)
	e.runOnce(w)
	m = e.outbox()["m-001"]
	if m.Status != carnet.OutboxPending || m.Attempts != 2 || !m.NextAttemptAt.Equal(e.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("after second failure: %+v", m)
	}
	e.clock.Advance(2 * time.Minute)
	if n := e.runOnce(w); n != 1 {
		t.Fatalf("third attempt sent %d", n)
	}
	m = e.outbox()["m-001"]
	if m.Status != carnet.OutboxSent || m.Attempts != 3 || m.LastError != "" || !m.SentAt.Equal(e.clock.Now()) {
		t.Fatalf("after success: %+v", m)
	}
	if e.smtp.Count() != 1 || e.smtp.Attempts() != 3 {
		t.Errorf("server: %d received, %d attempts", e.smtp.Count(), e.smtp.Attempts())
	}
	c := w.Metrics.(*Counters)
	if c.SentTotal() != 1 || c.RetriedTotal() != 2 || c.FailedTotal() != 0 {
		t.Errorf("counters %d %d %d", c.SentTotal(), c.RetriedTotal(), c.FailedTotal())
	}
	if !strings.Contains(e.logs.String(), "will retry") {
		t.Errorf("no retry log:\n%s", e.logs)
	}
}

func TestWorkerPermanentFailures(t *testing.T) {
	e := newEnv(t)
	rejected := emailMsg(1)
	rejected.Recipient = "inconnu@example.org"
	e.smtp.RejectRecipient("inconnu@example.org", 550)
	refused := emailMsg(2)
	injected := emailMsg(3)
	injected.Recipient = "a@example.org\r\nBcc: victime@example.org"
	fax := emailMsg(4)
	fax.Channel = "fax"
	badPhone := smsMsg(1)
	badPhone.Recipient = "pas un numéro"
	badLetter := letterMsg(1)
	badLetter.Recipient = "une seule ligne"
	goodLetter := letterMsg(2)
	e.enqueue(rejected, refused, injected, fax, badPhone, badLetter, goodLetter)
	e.smtp.FailNext(1, 554) // refused's DATA (rejected fails at RCPT, injected never connects)

	w := e.worker(e.store)
	if n := e.runOnce(w); n != 1 {
		t.Fatalf("sent %d, want 1 (the good letter)", n)
	}
	e.clock.Advance(24 * time.Hour)
	if n := e.runOnce(w); n != 0 {
		t.Fatalf("failed messages retried: %d sent", n)
	}
	out := e.outbox()
	for _, id := range []string{"m-001", "m-002", "m-003", "m-004", "s-001", "l-001"} {
		if m := out[id]; m.Status != carnet.OutboxFailed || m.Attempts != 1 || m.LastError == "" || m.SentAt != nil {
			t.Errorf("%s: %+v", id, m)
		}
	}
	if out["l-002"].Status != carnet.OutboxSent {
		t.Errorf("good letter: %+v", out["l-002"])
	}
	if strings.Contains(out["m-001"].LastError, "inconnu@example.org") {
		t.Errorf("LastError keeps the address: %q", out["m-001"].LastError)
	}
	if e.smtp.Count() != 0 || e.smtp.Attempts() != 1 {
		t.Errorf("server: %d received, %d attempts", e.smtp.Count(), e.smtp.Attempts())
	}
	if c := w.Metrics.(*Counters); c.FailedTotal() != 6 || c.RetriedTotal() != 0 {
		t.Errorf("counters failed %d retried %d", c.FailedTotal(), c.RetriedTotal())
	}
	if logs := e.logs.String(); strings.Contains(logs, "inconnu@example.org") || strings.Contains(logs, "victime@example.org") {
		t.Errorf("logs reveal an address:\n%s", logs)
	}
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	e.enqueue(emailMsg(1))
	e.smtp.FailNext(100, 421)
	w := e.worker(e.store)
	w.MaxAttempts = 3
	for i := 0; i < 6; i++ {
		e.runOnce(w)
		e.clock.Advance(time.Hour)
	}
	m := e.outbox()["m-001"]
	if m.Status != carnet.OutboxFailed || m.Attempts != 3 || !strings.Contains(m.LastError, "421") {
		t.Errorf("%+v", m)
	}
	if e.smtp.Attempts() != 3 {
		t.Errorf("%d attempts", e.smtp.Attempts())
	}
	if c := w.Metrics.(*Counters); c.RetriedTotal() != 2 || c.FailedTotal() != 1 {
		t.Errorf("counters retried %d failed %d", c.RetriedTotal(), c.FailedTotal())
	}
}

// crash is the panic value of a simulated process death.
type crash struct{}

// runUntilCrash runs one batch and reports whether the worker "died".
func runUntilCrash(w *Worker) (crashed bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	w.RunOnce(context.Background())
	return false
}

func TestWorkerCrashBetweenSendAndRecord(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		e.enqueue(emailMsg(i))
	}
	w1 := e.worker(e.open())
	sends := 0
	w1.afterSend = func(m *carnet.OutboxMessage, err error) {
		sends++
		if sends == 3 {
			panic(crash{}) // the third email left, its outcome is never recorded
		}
	}
	if !runUntilCrash(w1) {
		t.Fatal("the worker did not crash")
	}
	if e.smtp.Count() != 3 {
		t.Fatalf("%d emails before the crash", e.smtp.Count())
	}
	out := e.outbox()
	if out["m-001"].Status != carnet.OutboxSent || out["m-002"].Status != carnet.OutboxSent {
		t.Fatalf("recorded before the crash: %+v %+v", out["m-001"], out["m-002"])
	}
	for _, id := range []string{"m-003", "m-004", "m-005"} {
		if m := out[id]; m.Status != carnet.OutboxPending || m.Attempts != 0 || m.ClaimedUntil.IsZero() {
			t.Fatalf("%s after the crash: %+v", id, m)
		}
	}

	// A new process: while the dead worker's lease runs, nothing is sent twice.
	w2 := e.worker(e.open())
	if n := e.runOnce(w2); n != 0 || e.smtp.Attempts() != 3 {
		t.Fatalf("sent %d during the lease (%d attempts)", n, e.smtp.Attempts())
	}
	e.clock.Advance(time.Hour)
	if n := e.runOnce(w2); n != 3 {
		t.Fatalf("after the lease: sent %d, want 3", n)
	}

	// None lost, every one received at least once; the one in flight twice, with one key and
	// one Message-ID, so that the receiver can fold the copies.
	keys := keysReceived(e.smtp)
	for i := 1; i <= 5; i++ {
		key := emailMsg(i).IdempotencyKey
		want := 1
		if i == 3 {
			want = 2
		}
		if keys[key] != want {
			t.Errorf("%s received %d times, want %d", key, keys[key], want)
		}
	}
	var ids []string
	for _, m := range e.smtp.Messages() {
		if m.IdempotencyKey() == emailMsg(3).IdempotencyKey {
			ids = append(ids, m.MessageID())
		}
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Errorf("Message-IDs of the copies: %v", ids)
	}
	for id, m := range e.outbox() {
		if m.Status != carnet.OutboxSent {
			t.Errorf("%s: %+v", id, m)
		}
	}
}

func TestConcurrentWorkersNeverSendTwice(t *testing.T) {
	e := newEnv(t)
	const n = 40
	var msgs []*carnet.OutboxMessage
	for i := 1; i <= n; i++ {
		msgs = append(msgs, emailMsg(i))
	}
	e.enqueue(msgs...)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		w := e.worker(e.open()) // two processes sharing the database
		w.BatchSize = 3
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := w.runOnce(context.Background())
				if err != nil {
					errs <- err
					return
				}
				if r.claimed == 0 && r.sent == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	keys := keysReceived(e.smtp)
	if len(keys) != n || e.smtp.Count() != n {
		t.Fatalf("%d distinct keys in %d emails, want %d", len(keys), e.smtp.Count(), n)
	}
	for k, c := range keys {
		if c != 1 {
			t.Errorf("%s sent %d times", k, c)
		}
	}
	for id, m := range e.outbox() {
		if m.Status != carnet.OutboxSent || m.Attempts != 1 {
			t.Errorf("%s: %+v", id, m)
		}
	}
}

// slowEmail advances the clock on each send, as a slow server would take time.
type slowEmail struct {
	inner EmailSender
	clock *fakeClock
	step  time.Duration
}

func (s slowEmail) Send(ctx context.Context, m email.Message) error {
	err := s.inner.Send(ctx, m)
	s.clock.Advance(s.step)
	return err
}

func TestWorkerStopsBeforeItsLeaseRunsOut(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		e.enqueue(emailMsg(i))
	}
	w := e.worker(e.store)
	w.Email = slowEmail{e.email, e.clock, 20 * time.Minute}
	// Lease 1 h: sends start at +0, +20, +40 min; at +60 the lease is (nearly) over.
	if n := e.runOnce(w); n != 3 {
		t.Fatalf("sent %d, want 3", n)
	}
	out := e.outbox()
	for _, id := range []string{"m-004", "m-005"} {
		if m := out[id]; m.Status != carnet.OutboxPending || m.Attempts != 0 || !m.ClaimedUntil.IsZero() {
			t.Errorf("%s not released: %+v", id, m)
		}
	}
	// Released: another worker takes them at once.
	if n := e.runOnce(e.worker(e.open())); n != 2 {
		t.Errorf("second worker sent %d", n)
	}
	if e.smtp.Count() != 5 || len(keysReceived(e.smtp)) != 5 {
		t.Errorf("%d emails", e.smtp.Count())
	}
}

// blockingEmail waits for its context to end.
type blockingEmail struct{ started chan struct{} }

func (b blockingEmail) Send(ctx context.Context, m email.Message) error {
	close(b.started)
	<-ctx.Done()
	return ctx.Err()
}

func TestWorkerShutdownDuringSendReleases(t *testing.T) {
	e := newEnv(t)
	e.enqueue(emailMsg(1), emailMsg(2))
	w := e.worker(e.store)
	started := make(chan struct{})
	w.Email = blockingEmail{started}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for id, m := range e.outbox() {
		if m.Status != carnet.OutboxPending || m.Attempts != 0 || !m.ClaimedUntil.IsZero() {
			t.Errorf("%s: %+v", id, m)
		}
	}
	w.Email = e.email
	if n := e.runOnce(w); n != 2 {
		t.Errorf("after restart: sent %d", n)
	}
}

// flakyStore fails Update when armed.
type flakyStore struct {
	carnet.Store
	mu    sync.Mutex
	armed bool
}

func (f *flakyStore) Update(ctx context.Context, fn func(carnet.Tx) error) error {
	f.mu.Lock()
	armed := f.armed
	f.mu.Unlock()
	if armed {
		return carnet.WrapErr("test", carnet.EUNAVAILABLE, errors.New("database is down"))
	}
	return f.Store.Update(ctx, fn)
}

func TestWorkerStoreFailureAfterSend(t *testing.T) {
	e := newEnv(t)
	e.enqueue(emailMsg(1), emailMsg(2))
	fs := &flakyStore{Store: e.store}
	w := e.worker(fs)
	w.afterSend = func(*carnet.OutboxMessage, error) {
		fs.mu.Lock()
		fs.armed = true
		fs.mu.Unlock()
	}
	n, err := w.RunOnce(context.Background())
	if err == nil || n != 0 || carnet.ErrorCode(err) != carnet.EUNAVAILABLE {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if e.smtp.Count() != 1 {
		t.Fatalf("%d emails: the worker went on without its store", e.smtp.Count())
	}
	fs.mu.Lock()
	fs.armed = false
	fs.mu.Unlock()
	w.afterSend = nil
	e.clock.Advance(time.Hour)
	if n := e.runOnce(w); n != 2 {
		t.Fatalf("after recovery: sent %d", n)
	}
	if keys := keysReceived(e.smtp); keys[emailMsg(1).IdempotencyKey] != 2 || keys[emailMsg(2).IdempotencyKey] != 1 {
		t.Errorf("keys %v", keys)
	}
}

func TestRunDeliversUntilCancelled(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.store)
	w.PollInterval = time.Hour // only Wake gets it going again
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	e.enqueue(emailMsg(1))
	w.Wake()
	e.smtp.WaitFor(t, smtptest.WithIdempotencyKey(emailMsg(1).IdempotencyKey), 5*time.Second)
	// A full batch makes Run go on at once.
	var msgs []*carnet.OutboxMessage
	for i := 2; i <= 25; i++ {
		msgs = append(msgs, emailMsg(i))
	}
	e.enqueue(msgs...)
	w.Wake()
	e.smtp.WaitFor(t, smtptest.WithIdempotencyKey(emailMsg(25).IdempotencyKey), 5*time.Second)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if e.smtp.Count() != 25 {
		t.Errorf("%d emails", e.smtp.Count())
	}
}

func TestMissingSenderIsTemporary(t *testing.T) {
	e := newEnv(t)
	e.enqueue(smsMsg(1))
	w := e.worker(e.store)
	w.SMS = nil
	e.runOnce(w)
	if m := e.outbox()["s-001"]; m.Status != carnet.OutboxPending || m.Attempts != 1 || !strings.Contains(m.LastError, "no sender") {
		t.Errorf("%+v", m)
	}
}

func TestMasking(t *testing.T) {
	for in, want := range map[string]string{
		"jean.dupont@example.org":                  "j***@example.org",
		"Élodie Martin <elodie.martin@example.fr>": "e***@example.fr",
		"élodie@example.fr":                        "é***@example.fr",
		"pas une adresse":                          "***",
		"@example.org":                             "***",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"+33612345678":   "+33*******78",
		"06 12 34 56 78": "+33*******78",
		"0612345678x":    "********78",
		"123":            "***",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MaskRecipient(ChannelLetter, "Mme Durand\n1 rue X\n75001 PARIS"); got != "***" {
		t.Errorf("letter: %q", got)
	}
	s := scrub("550 5.1.1 <jean.dupont@example.org>: no such user; also +33 6 12 34 56 78, 06.12.34.56.78 and Jean.Dupont@Example.org",
		"jean.dupont@example.org")
	for _, bad := range []string{"jean.dupont", "Jean.Dupont", "12 34 56"} {
		if strings.Contains(s, bad) {
			t.Errorf("scrub left %q: %s", bad, s)
		}
	}
	if !strings.Contains(s, "550 5.1.1") {
		t.Errorf("scrub lost the reason: %s", s)
	}
	if got := scrub("refused: 12 rue des Lilas", "Mme Durand\n12 rue des Lilas\n75011 PARIS"); strings.Contains(got, "Lilas") {
		t.Errorf("postal address kept: %s", got)
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff(time.Second, time.Minute)
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		7: time.Minute, 100: time.Minute} {
		for range 50 {
			d := b(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[DefaultBackoff(3)] = true
	}
	if len(seen) < 10 {
		t.Errorf("little jitter: %d distinct delays", len(seen))
	}
}

func TestIsPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{carnet.Errorf(carnet.EINVALID, "x"), true},
		{fmt.Errorf("wrapped: %w", carnet.Errorf(carnet.EINVALID, "x")), true},
		{carnet.WrapErr("op", carnet.EUNAVAILABLE, errors.New("x")), false},
		{&sms.Error{Status: 503, Err: errors.New("x")}, false},
		{unknownChannel("fax"), true},
		{errNotConfigured("sms"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %v", tc.err, got)
		}
	}
}

// syncBuffer is a bytes.Buffer for concurrent loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWorkerFeeds: Feed runs before each claim and what it moves into the outbox is sent in the
// same round; a crash between a send and its record after a feed loses nothing (the fed messages
// are in the outbox, leased); a failing feed is reported, and the outbox is served all the same.
func TestWorkerFeeds(t *testing.T) {
	e := newEnv(t)
	queue := []*carnet.OutboxMessage{emailMsg(1), emailMsg(2), emailMsg(3)}
	feed := func(store carnet.Store) func(ctx context.Context, limit int) (int, error) {
		return func(ctx context.Context, limit int) (int, error) {
			n := min(limit, len(queue))
			err := store.Update(ctx, func(tx carnet.Tx) error {
				for _, m := range queue[:n] {
					c := *m
					if err := tx.EnqueueOutbox(ctx, &c); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
			queue = queue[n:]
			return n, nil
		}
	}
	w1 := e.worker(e.open())
	w1.Feed = feed(w1.Store)
	sends := 0
	w1.afterSend = func(m *carnet.OutboxMessage, err error) {
		if sends++; sends == 2 {
			panic(crash{})
		}
	}
	if !runUntilCrash(w1) {
		t.Fatal("the worker did not crash")
	}
	if len(queue) != 0 || len(e.outbox()) != 3 {
		t.Fatalf("after the crash: %d still queued, %d in the outbox", len(queue), len(e.outbox()))
	}
	w2 := e.worker(e.open())
	w2.Feed = feed(w2.Store)
	e.clock.Advance(time.Hour)
	if n := e.runOnce(w2); n != 2 {
		t.Fatalf("after the lease: sent %d, want 2", n)
	}
	keys := keysReceived(e.smtp)
	for i := 1; i <= 3; i++ {
		if want := 1 + btoi(i == 2); keys[emailMsg(i).IdempotencyKey] != want {
			t.Errorf("message %d received %d times, want %d", i, keys[emailMsg(i).IdempotencyKey], want)
		}
	}
	w2.Feed = func(context.Context, int) (int, error) { return 0, errors.New("feed failed") }
	e.enqueue(emailMsg(4))
	if n, err := w2.RunOnce(context.Background()); n != 1 || err == nil || !strings.Contains(err.Error(), "feed failed") {
		t.Fatalf("failing feed: sent %d, %v", n, err)
	}
	if m := e.outbox()["m-004"]; m.Status != carnet.OutboxSent {
		t.Errorf("not sent after a failed feed: %+v", m)
	}
}

// TestWorkerDrain: Drain goes on past rounds whose feed moved only messages it then dropped
// (codes that open nothing any more), and ends once a round neither feeds nor delivers.
func TestWorkerDrain(t *testing.T) {
	e := newEnv(t)
	w := e.worker(e.open())
	w.BatchSize = 2
	stale := 3 // rounds whose feed moves a full batch that it drops
	queue := []*carnet.OutboxMessage{emailMsg(1), emailMsg(2), emailMsg(3)}
	w.Feed = func(ctx context.Context, limit int) (int, error) {
		if stale > 0 {
			stale--
			return limit, nil
		}
		n := min(limit, len(queue))
		err := w.Store.Update(ctx, func(tx carnet.Tx) error {
			for _, m := range queue[:n] {
				c := *m
				if err := tx.EnqueueOutbox(ctx, &c); err != nil {
					return err
				}
			}
			return nil
		})
		queue = queue[n:]
		return n, err
	}
	e.enqueue(emailMsg(4))
	sent, err := w.Drain(context.Background())
	if err != nil || sent != 4 || len(queue) != 0 || stale != 0 {
		t.Fatalf("drain: sent %d, %v; %d still queued, %d stale rounds left", sent, err, len(queue), stale)
	}
	for id, m := range e.outbox() {
		if m.Status != carnet.OutboxSent {
			t.Errorf("%s: %s", id, m.Status)
		}
	}
	// A round whose only message fails ends the drain: the message waits for its next attempt.
	e.smtp.FailNext(100, 451)
	e.enqueue(emailMsg(5))
	if sent, err := w.Drain(context.Background()); sent != 0 || err != nil {
		t.Fatalf("drain with a failing message: sent %d, %v", sent, err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
