// Package notify delivers the notifications that the service layer writes to the outbox:
// emails (package email), SMS (package sms) and postal letters (package letter).
//
// Delivery is at least once. A Worker claims due messages in one transaction (the claim is a
// lease), sends each outside any transaction, then records the outcome in another. If the
// process dies between a send and its record, the lease runs out and the message is sent again,
// carrying the same idempotency key (the X-Carnet-Idempotency-Key email header, the SMS
// gateway's idempotency_key) so that the receiving side can drop the copy. A message is never
// lost: it stays pending until it is recorded as sent or as failed.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/notify/email"
	"github.com/carnet-sante/carnet/internal/notify/letter"
	"github.com/carnet-sante/carnet/internal/notify/sms"
)

// Outbox channels (carnet.OutboxMessage.Channel).
const (
	ChannelEmail  = "email"
	ChannelSMS    = "sms"
	ChannelLetter = "letter"
)

// Defaults of the Worker's settings.
const (
	DefaultBatchSize    = 50
	DefaultLease        = 5 * time.Minute
	DefaultMaxAttempts  = 12 // with DefaultBackoff: about a day of retries
	DefaultPollInterval = 2 * time.Second
)

// EmailSender sends one email; *email.Sender implements it.
type EmailSender interface {
	Send(ctx context.Context, m email.Message) error
}

// Metrics counts deliveries by channel; wire it to Prometheus counters, or use Counters.
// Implementations must be safe for concurrent use.
type Metrics interface {
	Sent(channel string)    // a message was delivered and recorded as sent
	Retried(channel string) // an attempt failed and another is scheduled
	Failed(channel string)  // a message was given up (permanent error or too many attempts)
}

// Counters is a Metrics that keeps totals, for a Prometheus CounterFunc or a status page.
type Counters struct {
	sent, retried, failed atomic.Uint64
}

// Sent counts a delivered message.
func (c *Counters) Sent(string) { c.sent.Add(1) }

// Retried counts a failed attempt that will be retried.
func (c *Counters) Retried(string) { c.retried.Add(1) }

// Failed counts a message given up.
func (c *Counters) Failed(string) { c.failed.Add(1) }

// SentTotal is the number of messages delivered.
func (c *Counters) SentTotal() uint64 { return c.sent.Load() }

// RetriedTotal is the number of failed attempts followed by a retry.
func (c *Counters) RetriedTotal() uint64 { return c.retried.Load() }

// FailedTotal is the number of messages given up.
func (c *Counters) FailedTotal() uint64 { return c.failed.Load() }

// Worker delivers outbox messages. Fill in its fields, then call Run (a long-running loop) or
// RunOnce (one batch). Several workers, in one process or many, may share a store: a claimed
// message is leased to one worker, which sends it only while its lease runs.
type Worker struct {
	Store   carnet.Store // holds the outbox; required
	Email   EmailSender  // channel "email"; nil: such messages wait (and eventually fail)
	SMS     sms.Gateway  // channel "sms"
	Letters letter.Sink  // channel "letter", one batch per claim
	Logger  *slog.Logger // nil: no logs
	Metrics Metrics      // nil: no counting
	// Clock measures the lease: a worker stops sending a batch once 90% of its lease has gone by
	// (nil: time.Now). Timestamps written to the store come from the transaction's clock
	// (Tx.Now), the one the store compares them with.
	Clock func() time.Time
	// Reveal opens the secret (a code) that a message carries sealed, to put it into the body
	// just before sending (the service's RevealSecret). A message with a secret and no Reveal
	// fails permanently. The store forgets the secret once the message is sent.
	Reveal func(*carnet.OutboxMessage) (string, error)
	// Feed, when set, moves up to limit messages kept elsewhere into the outbox before each
	// claim, in its own transaction (the service's QueueEnrolmentCodes: codes queued by bulk
	// enrolment on their enrolment rows). It returns how many it moved. A failing feed is
	// reported by RunOnce, and the outbox is served all the same.
	Feed func(ctx context.Context, limit int) (int, error)

	BatchSize   int           // messages claimed at once; 0: DefaultBatchSize
	Lease       time.Duration // how long a claim lasts; 0: DefaultLease
	MaxAttempts int           // attempts before a message is marked failed; 0: DefaultMaxAttempts
	// Backoff gives the delay before attempt number attempt+1, after attempt failed (attempt
	// counts from 1); nil: DefaultBackoff.
	Backoff      func(attempt int) time.Duration
	PollInterval time.Duration // Run's pause when the outbox is empty; 0: DefaultPollInterval

	// afterSend, when set (tests), runs after each send and before its outcome is recorded: a
	// panic there is a crash between the two.
	afterSend func(m *carnet.OutboxMessage, err error)

	wakeOnce sync.Once
	wake     chan struct{}
}

// DefaultBackoff waits about 30 s after the first failure and doubles each time up to 6 hours,
// with jitter.
func DefaultBackoff(attempt int) time.Duration {
	return ExponentialBackoff(30*time.Second, 6*time.Hour)(attempt)
}

// ExponentialBackoff returns a Backoff that waits base·2^(attempt-1), at most limit, of which a
// random half ("equal jitter"), so that messages failed together do not retry together.
func ExponentialBackoff(base, limit time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		if d > limit || d <= 0 {
			d = limit
		}
		half := d / 2
		return half + rand.N(d-half+1)
	}
}

// IsPermanent reports whether a delivery error means that the message can never be delivered:
// an error in its chain has a Permanent() method that returns true (*email.Error, *sms.Error,
// *letter.Error do), or carries the code carnet.EINVALID.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p interface{ Permanent() bool }
	if errors.As(err, &p) && p.Permanent() {
		return true
	}
	var ce *carnet.Error
	return errors.As(err, &ce) && ce.Code == carnet.EINVALID
}

// errNotConfigured is the (temporary) error of a message whose channel has no sender.
type errNotConfigured string

func (e errNotConfigured) Error() string {
	return "notify: no sender configured for channel " + string(e)
}

// unknownChannel is the permanent error of a message with a channel no one knows.
type unknownChannel string

func (e unknownChannel) Error() string   { return fmt.Sprintf("notify: unknown channel %q", string(e)) }
func (e unknownChannel) Permanent() bool { return true }

// Wake makes Run look at the outbox now rather than at the end of its pause (after the service
// queued an urgent message such as a one-time code). It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wakeCh() <- struct{}{}:
	default:
	}
}

func (w *Worker) wakeCh() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run delivers messages until ctx is done, then returns nil. It claims batches back to back
// while the outbox is busy and pauses PollInterval (or until Wake) when it is empty. A message
// being sent when ctx ends is finished and recorded.
func (w *Worker) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		r, err := w.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.log(ctx, slog.LevelError, "outbox: batch failed", slog.Any("error", err))
		}
		if err == nil && (r.claimed >= w.batchSize() || r.fed >= w.batchSize()) {
			continue // more may be waiting
		}
		timer.Reset(w.pollInterval())
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-w.wakeCh():
			timer.Stop() // Go ≥ 1.23: no stale tick is delivered after Stop or Reset
		}
	}
}

// RunOnce claims one batch of due messages, sends them and records the outcomes. It returns the
// number of messages delivered, and an error if the store failed (delivery failures are recorded
// on the messages, not returned).
func (w *Worker) RunOnce(ctx context.Context) (sent int, err error) {
	r, err := w.runOnce(ctx)
	return r.sent, err
}

// Drain runs rounds until one neither feeds nor delivers anything, and returns the number of
// messages delivered. A round whose feed moved only messages it then dropped goes on (the feed
// shrinks at each round); a round whose messages all failed ends it (they wait their backoff).
func (w *Worker) Drain(ctx context.Context) (sent int, err error) {
	for {
		r, err := w.runOnce(ctx)
		sent += r.sent
		if err != nil || (r.sent == 0 && r.fed == 0) {
			return sent, err
		}
	}
}

// round is what one claim-and-send did: messages delivered, claimed, and moved in by the feed.
type round struct{ sent, claimed, fed int }

func (w *Worker) runOnce(ctx context.Context) (round, error) {
	if w.Store == nil {
		return round{}, errors.New("notify: worker has no store")
	}
	fed := 0
	var feedErr error
	if w.Feed != nil {
		if fed, feedErr = w.Feed(ctx, w.batchSize()); feedErr != nil {
			feedErr = fmt.Errorf("notify: feed: %w", feedErr)
		}
	}
	start := w.now()
	lease := w.lease()
	var msgs []*carnet.OutboxMessage
	err := w.Store.Update(ctx, func(tx carnet.Tx) error {
		var err error
		msgs, err = tx.ClaimOutbox(ctx, w.batchSize(), tx.Now().Add(lease))
		return err
	})
	if err != nil {
		return round{fed: fed}, errors.Join(feedErr, fmt.Errorf("notify: claim: %w", err))
	}
	if len(msgs) == 0 {
		return round{fed: fed}, feedErr
	}
	// Send only while the lease surely runs: after that another worker may claim the message.
	// The store's lease ends at (claim time + lease) ≥ start + lease.
	stopAt := start.Add(lease - lease/10)

	b := &batch{w: w}
	var letters, others []*carnet.OutboxMessage
	for _, m := range msgs {
		if m.Channel == ChannelLetter {
			letters = append(letters, m)
		} else {
			others = append(others, m)
		}
	}
	for i, m := range others {
		if ctx.Err() != nil || !w.now().Before(stopAt) {
			b.release(ctx, slices.Concat(others[i:], letters))
			return round{b.sent, len(msgs), fed}, errors.Join(b.err, feedErr)
		}
		sendCtx, cancel := context.WithTimeout(ctx, stopAt.Sub(w.now()))
		sendErr := w.deliver(sendCtx, m)
		cancel()
		if w.afterSend != nil {
			w.afterSend(m, sendErr)
		}
		if sendErr != nil && ctx.Err() != nil {
			// Shutting down: whether the message left is unknown; let it be sent again soon.
			b.release(ctx, []*carnet.OutboxMessage{m})
			continue
		}
		if !b.record(ctx, m, sendErr) {
			// The store is failing: leave the rest to the lease.
			return round{b.sent, len(msgs), fed}, b.err
		}
	}
	if len(letters) > 0 {
		if ctx.Err() != nil || !w.now().Before(stopAt) {
			b.release(ctx, letters)
			return round{b.sent, len(msgs), fed}, b.err
		}
		sendCtx, cancel := context.WithTimeout(ctx, stopAt.Sub(w.now()))
		errs := w.deliverLetters(sendCtx, letters)
		cancel()
		for _, m := range letters {
			if w.afterSend != nil {
				w.afterSend(m, errs[m.ID])
			}
			if errs[m.ID] != nil && ctx.Err() != nil {
				b.release(ctx, []*carnet.OutboxMessage{m})
				continue
			}
			if !b.record(ctx, m, errs[m.ID]) {
				break
			}
		}
	}
	if b.sent+b.retried+b.failed > 0 {
		w.log(ctx, slog.LevelInfo, "outbox: batch done", slog.Int("claimed", len(msgs)),
			slog.Int("sent", b.sent), slog.Int("retried", b.retried), slog.Int("failed", b.failed))
	}
	return round{b.sent, len(msgs), fed}, errors.Join(b.err, feedErr)
}

// body returns the message's body with its secret revealed, if it carries one.
func (w *Worker) body(m *carnet.OutboxMessage) (string, error) {
	if len(m.Secret) == 0 {
		return m.Body, nil
	}
	if w.Reveal == nil {
		return "", permanent("notify: message carries a secret and no Reveal is configured")
	}
	code, err := w.Reveal(m)
	if err != nil {
		return "", permanent("notify: secret cannot be opened: " + err.Error())
	}
	return strings.ReplaceAll(m.Body, carnet.SecretPlaceholder, code), nil
}

type permanent string

func (e permanent) Error() string   { return string(e) }
func (e permanent) Permanent() bool { return true }

// deliver sends one email or SMS.
func (w *Worker) deliver(ctx context.Context, m *carnet.OutboxMessage) error {
	body, err := w.body(m)
	if err != nil {
		return err
	}
	switch m.Channel {
	case ChannelEmail:
		if w.Email == nil {
			return errNotConfigured(m.Channel)
		}
		return w.Email.Send(ctx, email.Message{
			To:             m.Recipient,
			Subject:        m.Subject,
			Text:           body,
			IdempotencyKey: m.IdempotencyKey,
		})
	case ChannelSMS:
		if w.SMS == nil {
			return errNotConfigured(m.Channel)
		}
		return w.SMS.Send(ctx, m.Recipient, body, m.IdempotencyKey)
	}
	return unknownChannel(m.Channel)
}

// deliverLetters posts letters as one batch and returns the error of each letter by ID.
func (w *Worker) deliverLetters(ctx context.Context, ms []*carnet.OutboxMessage) map[string]error {
	errs := make(map[string]error, len(ms))
	var err error
	if w.Letters == nil {
		err = errNotConfigured(ChannelLetter)
	} else {
		batch := make([]letter.Letter, 0, len(ms))
		for _, m := range ms {
			body, berr := w.body(m)
			if berr != nil {
				errs[m.ID] = berr
				continue
			}
			batch = append(batch, letter.Letter{ID: m.ID, Recipient: m.Recipient, Subject: m.Subject, Body: body,
				IdempotencyKey: m.IdempotencyKey})
		}
		if len(batch) > 0 {
			err = w.Letters.SendBatch(ctx, batch)
		}
	}
	var be *letter.BatchError
	if errors.As(err, &be) {
		for id, e := range be.Failed {
			errs[id] = e
		}
		return errs
	}
	if err != nil {
		for _, m := range ms {
			if errs[m.ID] == nil {
				errs[m.ID] = err
			}
		}
	}
	return errs
}

// batch accumulates the outcome of one claimed batch.
type batch struct {
	w                     *Worker
	sent, retried, failed int
	err                   error // the first store error
}

// storeTimeout bounds the transactions that record outcomes, which run even after ctx is done
// so that a message sent during shutdown is not sent again.
const storeTimeout = 30 * time.Second

// record saves the outcome of one attempt; it returns false if the store failed.
func (b *batch) record(ctx context.Context, m *carnet.OutboxMessage, sendErr error) bool {
	w := b.w
	attempt := m.Attempts + 1
	permanent := IsPermanent(sendErr)
	var errText string
	if sendErr != nil {
		errText = truncate(scrub(sendErr.Error(), m.Recipient), 500)
	}
	var delay time.Duration
	status := carnet.OutboxSent
	switch {
	case sendErr == nil:
	case permanent || attempt >= w.maxAttempts():
		status = carnet.OutboxFailed
	default:
		status = carnet.OutboxPending
		delay = w.backoff(attempt)
	}

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	var saved carnet.OutboxMessage
	err := w.Store.Update(rctx, func(tx carnet.Tx) error {
		// Update may run this function again: start from the claimed message each time.
		saved = *m
		now := tx.Now()
		saved.Attempts = attempt
		saved.Status = status
		saved.LastError = errText
		switch status {
		case carnet.OutboxSent:
			saved.SentAt = &now
		case carnet.OutboxPending:
			saved.NextAttemptAt = now.Add(delay)
		}
		return tx.UpdateOutbox(rctx, &saved)
	})
	log := []any{slog.String("message_id", m.ID), slog.String("kind", m.Kind), slog.String("channel", m.Channel),
		slog.String("to", MaskRecipient(m.Channel, m.Recipient)), slog.Int("attempt", attempt)}
	if err != nil {
		w.log(ctx, slog.LevelError, "outbox: cannot record delivery outcome; the message will be sent again",
			append(log, slog.String("status", status), slog.Any("error", err))...)
		if b.err == nil {
			b.err = fmt.Errorf("notify: record %s: %w", m.ID, err)
		}
		return false
	}
	*m = saved
	switch status {
	case carnet.OutboxSent:
		b.sent++
		w.count(Metrics.Sent, m.Channel)
		w.log(ctx, slog.LevelDebug, "outbox: sent", log...)
	case carnet.OutboxPending:
		b.retried++
		w.count(Metrics.Retried, m.Channel)
		w.log(ctx, slog.LevelWarn, "outbox: attempt failed, will retry",
			append(log, slog.Duration("retry_in", delay), slog.String("error", errText))...)
	default:
		b.failed++
		w.count(Metrics.Failed, m.Channel)
		w.log(ctx, slog.LevelError, "outbox: delivery failed, giving up",
			append(log, slog.Bool("permanent", permanent), slog.String("error", errText))...)
	}
	return true
}

// release gives back messages that were claimed but not attempted, so that they can be claimed
// again at once rather than when the lease runs out.
func (b *batch) release(ctx context.Context, ms []*carnet.OutboxMessage) {
	if len(ms) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	err := b.w.Store.Update(rctx, func(tx carnet.Tx) error {
		for _, m := range ms {
			c := *m
			if err := tx.UpdateOutbox(rctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Harmless: the lease will run out.
		b.w.log(ctx, slog.LevelWarn, "outbox: cannot release claimed messages", slog.Int("count", len(ms)),
			slog.Any("error", err))
	}
}

func (w *Worker) count(f func(Metrics, string), channel string) {
	if w.Metrics != nil {
		f(w.Metrics, channel)
	}
}

func (w *Worker) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if w.Logger != nil {
		w.Logger.Log(ctx, level, msg, args...)
	}
}

func (w *Worker) now() time.Time {
	if w.Clock != nil {
		return w.Clock()
	}
	return time.Now()
}

func (w *Worker) batchSize() int {
	if w.BatchSize > 0 {
		return w.BatchSize
	}
	return DefaultBatchSize
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return DefaultLease
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return max(w.Backoff(attempt), 0)
	}
	return DefaultBackoff(attempt)
}

func (w *Worker) pollInterval() time.Duration {
	if w.PollInterval > 0 {
		return w.PollInterval
	}
	return DefaultPollInterval
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
