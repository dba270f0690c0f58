package sqldb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/store/postgres"
	"github.com/carnet-sante/carnet/internal/store/postgres/pgtest"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/carnet-sante/carnet/internal/store/storetest"
)

var ctx = context.Background()

func openPG(t *testing.T) *sqldb.DB {
	t.Helper()
	return openPGWith(t, postgres.Options{})
}

func openPGWith(t *testing.T, o postgres.Options) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var seq atomic.Int64

func event(patientID string) *carnet.AuditEvent {
	return &carnet.AuditEvent{ID: fmt.Sprintf("ev-%d", seq.Add(1)), PatientID: patientID,
		Time: time.Now().UTC().Truncate(time.Microsecond), ActorKind: carnet.ActorProfessional, ActorID: "pro-1",
		ActorName: "Dr Zoé Lefèvre", ActorProfession: "10", Action: "document.read", TargetType: "document",
		TargetID: "doc-1", Mode: carnet.ModeNormal, Decision: carnet.DecisionAllow, Reason: "grille", RequestID: "req-1"}
}

func patients(t *testing.T, db *sqldb.DB, n int) []string {
	t.Helper()
	ids := make([]string, n)
	if err := db.Update(ctx, func(tx carnet.Tx) error {
		for i := range ids {
			p := storetest.NewPatient(i)
			if err := tx.CreatePatient(ctx, p); err != nil {
				return err
			}
			ids[i] = p.ID
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// chain returns a patient's events after checking that they verify and end at the head.
func chain(t *testing.T, db *sqldb.DB, patientID string) []*carnet.AuditEvent {
	t.Helper()
	var evs []*carnet.AuditEvent
	if err := db.View(ctx, func(tx carnet.Tx) error {
		var err error
		if evs, err = tx.ListAudit(ctx, carnet.AuditFilter{PatientID: patientID, Limit: 10000}); err != nil {
			return err
		}
		head, err := tx.AuditHead(ctx, patientID)
		if err != nil {
			return err
		}
		if probs := audit.VerifyChain(patientID, evs, []audit.Anchor{audit.AnchorFromHead(head)}); len(probs) != 0 {
			t.Errorf("chain of %s does not verify: %v", patientID, probs)
		}
		if n := len(evs); n > 0 && (head.Seq != evs[n-1].Seq || !bytes.Equal(head.Hash, evs[n-1].Hash)) {
			t.Errorf("head %d %x, last event %d %x", head.Seq, head.Hash, evs[n-1].Seq, evs[n-1].Hash)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func appendLone(db *sqldb.DB, e *carnet.AuditEvent) error {
	return db.Update(ctx, func(tx carnet.Tx) error { return tx.AppendLinked(ctx, e) })
}

// TestAppendBatch: one batch links and commits events on several chains, several on one chain,
// in one statement; an event on a chain without a head row, or every event of a batch whose
// statement fails, is handed back untouched.
func TestAppendBatch(t *testing.T) {
	db := openPG(t)
	ps := patients(t, db, 4)
	first := make([]*carnet.AuditEvent, 3)
	for i := range first {
		first[i] = event(ps[i])
		if err := appendLone(db, first[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Two more events on the first chain, among the others: linked in the batch's order.
	batch := []*carnet.AuditEvent{event(ps[0]), event(ps[1]), event(ps[0]), event(ps[2]), event(ps[3]), event(ps[0])}
	errs := sqldb.RunAppendBatch(db, batch, time.Now())
	want := map[int]struct {
		chain int
		seq   int64
		after []byte
	}{0: {0, 2, first[0].Hash}, 1: {1, 2, first[1].Hash}, 2: {0, 3, batch[0].Hash}, 3: {2, 2, first[2].Hash}, 5: {0, 4, batch[2].Hash}}
	for i, w := range want {
		e := batch[i]
		if errs[i] != nil {
			t.Fatalf("event %d: %v", i, errs[i])
		}
		if e.Seq != w.seq || !bytes.Equal(e.PrevHash, w.after) || !bytes.Equal(e.Hash, audit.Hash(e)) {
			t.Errorf("event %d linked as %d %x %x after %x", i, e.Seq, e.PrevHash, e.Hash, w.after)
		}
	}
	for i, n := range []int{4, 2, 2} {
		evs := chain(t, db, ps[i])
		if len(evs) != n {
			t.Errorf("chain %d: %d events, want %d", i, len(evs), n)
		}
	}
	if evs := chain(t, db, ps[0]); len(evs) == 4 && (evs[1].ID != batch[0].ID || evs[2].ID != batch[2].ID || evs[3].ID != batch[5].ID) {
		t.Errorf("first chain out of the batch's order: %s %s %s", evs[1].ID, evs[2].ID, evs[3].ID)
	}
	headless := batch[4]
	if !errors.Is(errs[4], sqldb.ErrAppendYourself) || headless.Seq != 0 || headless.Hash != nil {
		t.Errorf("headless chain: %v, linked as %d %x", errs[4], headless.Seq, headless.Hash)
	}
	if evs := chain(t, db, ps[3]); len(evs) != 0 {
		t.Errorf("headless chain has %d events", len(evs))
	}
	// Handed back, the event is appended by its transaction, which creates the head.
	if err := appendLone(db, headless); err != nil || headless.Seq != 1 {
		t.Fatalf("headless chain appended alone: %v, seq %d", err, headless.Seq)
	}

	// A text PostgreSQL refuses (a NUL byte) fails the statement: nothing of the batch is stored.
	good, bad := event(ps[0]), event(ps[1])
	bad.ActorName = "Dr \x00"
	errs = sqldb.RunAppendBatch(db, []*carnet.AuditEvent{good, bad}, time.Now())
	for i, err := range errs {
		if !errors.Is(err, sqldb.ErrAppendYourself) {
			t.Errorf("failed batch, event %d: %v", i, err)
		}
	}
	if evs := chain(t, db, ps[0]); len(evs) != 4 {
		t.Errorf("failed batch stored %d events", len(evs)-4)
	}
	if err := appendLone(db, good); err != nil || good.Seq != 5 {
		t.Errorf("handed back: %v, seq %d", err, good.Seq)
	}
	if err := appendLone(db, bad); err == nil {
		t.Error("an event with a NUL byte was stored")
	}
	chain(t, db, ps[1])

	// A batch whose outcome is unknown (here its time ran out) fails its events rather than
	// handing them back to be appended a second time.
	sqldb.SetBatchTimeout(t, time.Nanosecond)
	late := event(ps[2])
	errs = sqldb.RunAppendBatch(db, []*carnet.AuditEvent{late}, time.Now())
	if carnet.ErrorCode(errs[0]) != carnet.EUNAVAILABLE {
		t.Errorf("batch out of time: %v", errs[0])
	}
}

// TestAppendBatchConcurrent: lone appends from many transactions at once, two goroutines per
// chain, share statements; every chain verifies and holds every acknowledged event once.
func TestAppendBatchConcurrent(t *testing.T) {
	db := openPG(t)
	const chains, each = 8, 15
	ps := patients(t, db, chains)
	var wg sync.WaitGroup
	errs := make(chan error, 2*chains*each)
	ids := make(chan string, 2*chains*each)
	for w := 0; w < 2*chains; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := event(ps[w%chains])
				if err := appendLone(db, e); err != nil {
					errs <- err
					return
				}
				if e.Seq < 1 || !bytes.Equal(e.Hash, audit.Hash(e)) {
					errs <- fmt.Errorf("event not linked: %d %x", e.Seq, e.Hash)
					return
				}
				ids <- e.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	for _, p := range ps {
		for _, e := range chain(t, db, p) {
			if !want[e.ID] {
				t.Errorf("unexpected or repeated event %s", e.ID)
			}
			delete(want, e.ID)
		}
	}
	if len(want) != 0 {
		t.Errorf("%d acknowledged events missing", len(want))
	}
	if n := sqldb.SharedAppends(db); n == 0 {
		t.Error("no batch held two events: the test did not exercise batching")
	} else {
		t.Logf("%d of %d events committed in shared batches", n, 2*chains*each)
	}
}

// TestAppendBatchLinger: a batch waits for the transactions still running, so events submitted
// one after the other by transactions that run together share one statement; but a transaction
// alone is never kept waiting for the linger.
func TestAppendBatchLinger(t *testing.T) {
	db := openPGWith(t, postgres.Options{AppendLinger: time.Minute})
	const n = 6
	ps := patients(t, db, n)
	for _, p := range ps { // each chain's head row exists: no event is handed back
		if err := appendLone(db, event(p)); err != nil {
			t.Fatal(err)
		}
	}
	before, start := sqldb.AppendBatches(db), time.Now()
	var ready sync.WaitGroup
	ready.Add(n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- db.Update(ctx, func(tx carnet.Tx) error {
				ready.Done()
				ready.Wait() // all n run before any submits its event
				// Submitted at different moments: without waiting, the first would go alone.
				time.Sleep(time.Duration(i) * 20 * time.Millisecond)
				return tx.AppendLinked(ctx, event(ps[i]))
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := sqldb.AppendBatches(db) - before; got != 1 {
		t.Errorf("%d transactions running together: %d statements, want 1", n, got)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the batch took %v: it waited for the linger once every event was in", d)
	}
	for _, p := range ps {
		if evs := chain(t, db, p); len(evs) != 2 {
			t.Errorf("chain of %s: %d events, want 2", p, len(evs))
		}
	}

	// Alone, a transaction does not wait the minute (once its event is taken, a transaction
	// waits for the batch whatever its context says, so the time is what tells).
	start = time.Now()
	if err := appendLone(db, event(ps[0])); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("a lone append took %v: it waited for the linger", d)
	}
}

// TestAppendBatchLingerClose: closing the store while a batch waits for a transaction still
// running sends the batch at once; the event it held is committed.
func TestAppendBatchLingerClose(t *testing.T) {
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{AppendLinger: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ps := patients(t, db, 1)
	if err := appendLone(db, event(ps[0])); err != nil { // the chain's head row
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	go db.Update(ctx, func(tx carnet.Tx) error { // running, never submits: the batch waits for it
		close(holding)
		<-release
		return errors.New("rolled back")
	})
	<-holding
	e := event(ps[0])
	appended := make(chan error, 1)
	go func() { appended <- appendLone(db, e) }()
	time.Sleep(200 * time.Millisecond) // the event is taken and the batch waits
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	if err := <-appended; err != nil {
		t.Fatalf("the event waiting in the batch: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the batch went %v after the close began: it waited for its linger", d)
	}
	if e.Seq != 2 || !bytes.Equal(e.Hash, audit.Hash(e)) {
		t.Errorf("event not linked: %d %x", e.Seq, e.Hash)
	}
	close(release)
	<-closed
}
