package sqldb

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
)

// Batched lone appends (LazyBegin with SQLHash: PostgreSQL). An audited read's one write is its
// audit event, which runLazy sends alone at the commit, as a statement that is its own
// transaction. The events that concurrent reads submit while such a statement is under way are
// linked and appended together by the next one: one statement and one commit (one WAL flush) for
// the batch instead of one per read. Each read still returns only once its event is committed.
// Several events of one chain are linked one after the other, in the order they came; the heads
// are locked in patient order.
// Whatever a batch cannot do — a chain without a head row, a statement the server refuses — is
// handed back, and the read appends its event on its own connection as before; when the outcome
// of a batch is unknown (the connection failed), its reads fail rather than risk recording an
// event twice.

// WithAppendBatching batches lone appends, up to maxBatch per statement (PostgreSQL; ignored by
// dialects without LazyBegin and SQLHash). A batch waits up to linger for the events of the
// transactions still running, but never for nothing: once every running transaction has
// submitted its event (or none runs), it goes.
func WithAppendBatching(maxBatch int, linger time.Duration) Option {
	return func(db *DB) {
		if maxBatch > 1 && db.dialect.LazyBegin && db.dialect.SQLHash {
			db.appends = &appendBatcher{in: make(chan *loneAppend), maxBatch: maxBatch, linger: linger,
				stop: make(chan struct{})}
		}
	}
}

type appendBatcher struct {
	in       chan *loneAppend
	maxBatch int
	linger   time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
	shared   atomic.Int64 // events committed in batches of two or more
	batches  atomic.Int64 // statements sent
	// running counts the lazy write transactions under way that have not submitted an event:
	// those a batch may wait for.
	running atomic.Int64
}

type loneAppend struct {
	e    *carnet.AuditEvent
	now  time.Time
	err  error
	done chan struct{}
}

// errAppendYourself: the batch could not append this event; its transaction must.
var errAppendYourself = errors.New("append not batched")

// batchTimeout bounds one batch's statement.
var batchTimeout = 30 * time.Second

func (db *DB) startAppends() {
	if db.appends == nil {
		return
	}
	// One batch at a time: the events that arrive while it commits make the next one. (Two
	// batches under way at once made smaller batches and cost more CPU per event.)
	db.appends.wg.Add(1)
	go db.appendLoop()
}

func (db *DB) stopAppends() {
	if db.appends == nil {
		return
	}
	db.appends.once.Do(func() { close(db.appends.stop) })
	db.appends.wg.Wait()
}

// batchAppend submits a lone append and waits for its batch: nil once the event is committed
// (linked: Seq, PrevHash and Hash set), errAppendYourself when the caller must append it.
func (db *DB) batchAppend(ctx context.Context, e *carnet.AuditEvent, now time.Time) error {
	a := &loneAppend{e: e, now: now, done: make(chan struct{})}
	db.appends.running.Add(-1)
	defer db.appends.running.Add(1) // runLazy's count ends with the transaction
	select {
	case db.appends.in <- a:
	case <-ctx.Done():
		return db.wrap("store.AppendLinked", ctx.Err())
	case <-db.appends.stop:
		return errAppendYourself
	}
	// Once taken, the event may be committed: wait for the outcome whatever ctx says.
	<-a.done
	return a.err
}

func (db *DB) appendLoop() {
	b := db.appends
	defer b.wg.Done()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var first *loneAppend
		select {
		case first = <-b.in:
		case <-b.stop:
			return
		}
		batch := []*loneAppend{first}
		in := map[string]bool{first.e.ID: true}
		take := func(a *loneAppend) {
			if in[a.e.ID] {
				a.err = errAppendYourself // the same event twice: not ours to sort out
				close(a.done)
				return
			}
			in[a.e.ID] = true
			batch = append(batch, a)
		}
	drain:
		for len(batch) < b.maxBatch {
			select {
			case a := <-b.in:
				take(a)
			default:
				break drain
			}
		}
		// Wait a little for the transactions still running: each event more in this statement
		// costs a fraction of a statement and a commit of its own.
		if b.linger > 0 && len(batch) < b.maxBatch && b.running.Load() > 0 {
			linger.Reset(b.linger)
		wait:
			for len(batch) < b.maxBatch && b.running.Load() > 0 {
				select {
				case a := <-b.in:
					take(a)
				case <-linger.C:
					break wait
				case <-b.stop:
					break wait // closing: the events taken are still appended
				}
			}
			linger.Stop() // (since Go 1.23 a stopped timer delivers nothing stale)
		}
		db.runAppendBatch(batch)
	}
}

// runAppendBatch appends a batch's events in one statement and tells each submitter.
func (db *DB) runAppendBatch(batch []*loneAppend) {
	const op = "store.AppendLinked"
	n := len(batch)
	patients, pres, posts := make([]string, n), make([][]byte, n), make([][]byte, n)
	ids, ats, reqIDs := make([]string, n), make([]int64, n), make([]string, n)
	text := make([][]string, 12)
	for i := range text {
		text[i] = make([]string, n)
	}
	var now time.Time
	for i, a := range batch {
		e := a.e
		patients[i], ids[i], ats[i], reqIDs[i] = e.PatientID, e.ID, micros(e.Time), e.RequestID
		pres[i], posts[i] = audit.HashParts(e)
		for j, v := range []string{string(e.ActorKind), e.ActorID, e.ActorName, string(e.ActorProfession), e.ActorStructure,
			e.OnBehalfOf, e.Action, e.TargetType, e.TargetID, string(e.Mode), e.Decision, e.Reason} {
			text[j][i] = v
		}
		if a.now.After(now) {
			now = a.now
		}
	}
	args := []any{patients, pres, posts, ids, ats}
	for _, t := range text {
		args = append(args, t)
	}
	args = append(args, reqIDs, audit.ZeroHash(), patients, micros(now))

	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	linked := map[string]*loneAppend{}
	for _, a := range batch {
		linked[a.e.ID] = a
		a.err = errAppendYourself // until its row comes back
	}
	db.appends.batches.Add(1)
	rows, err := db.write.QueryContext(ctx, db.q(appendBatchSQL), args...)
	if err == nil {
		for rows.Next() {
			var id string
			var seq int64
			var prev, hash []byte
			if err = rows.Scan(&id, &seq, &prev, &hash); err != nil {
				break
			}
			a := linked[id]
			if a == nil {
				continue
			}
			a.e.Seq, a.e.PrevHash, a.e.Hash = seq, prev, hash
			a.err = nil
			if !bytes.Equal(audit.Hash(a.e), hash) {
				// Committed all the same: chain verification reports the event.
				a.err = &carnet.Error{Code: carnet.EINTEGRITY, Op: op, Message: "le chaînage calculé par la base diffère"}
			}
		}
		if err == nil {
			err = rows.Err()
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}
	var refused interface{ SQLState() string }
	switch {
	case err == nil:
	case errors.As(err, &refused):
		// The server refused the statement, so nothing of it is committed: each event is
		// appended by its own transaction.
		for _, a := range batch {
			a.err = errAppendYourself
		}
	default:
		// The connection failed (or the time ran out) with the outcome unknown: appending the
		// events again could record them twice, so their transactions fail.
		for _, a := range batch {
			a.err = db.wrap(op, err)
			if carnet.ErrorCode(a.err) == carnet.EINTERNAL {
				a.err = carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
			}
		}
	}
	if len(batch) > 1 {
		for _, a := range batch {
			if a.err == nil {
				db.appends.shared.Add(1)
			}
		}
	}
	for _, a := range batch {
		close(a.done)
	}
}

// appendBatchSQL is appendLinkedSQL for a batch of events, given as arrays: the heads of their
// chains are locked in patient order; the first event of each chain (in the batch's order) is
// linked to the head, each next one to the one before (the recursive term); the heads move to
// the last events and the events are inserted. The events of a chain without a head row are not
// inserted and return no row.
const appendBatchSQL = `WITH RECURSIVE input AS (
		SELECT i.*, row_number() OVER (PARTITION BY i.patient_id ORDER BY i.ord) AS k
		FROM unnest(?::text[], ?::bytea[], ?::bytea[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[],
			?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
			WITH ORDINALITY AS i(patient_id, pre, post, event_id, at, actor_kind, actor_id, actor_name, actor_profession,
			actor_structure, on_behalf_of, action, target_type, target_id, mode, decision, reason, request_id, ord)
	), old AS (
		SELECT patient_id, seq, CASE WHEN octet_length(hash) = 0 THEN ?::bytea ELSE hash END AS hash
		FROM audit_heads WHERE patient_id = ANY(?::text[]) ORDER BY patient_id FOR UPDATE
	), linked(patient_id, k, seq, prev, hash) AS (
		SELECT i.patient_id, i.k, old.seq + 1, old.hash, sha256(i.pre || int4send(octet_length((old.seq + 1)::text))
			|| convert_to((old.seq + 1)::text, 'UTF8') || i.post || old.hash)
		FROM input i JOIN old ON old.patient_id = i.patient_id WHERE i.k = 1
		UNION ALL
		SELECT i.patient_id, i.k, l.seq + 1, l.hash, sha256(i.pre || int4send(octet_length((l.seq + 1)::text))
			|| convert_to((l.seq + 1)::text, 'UTF8') || i.post || l.hash)
		FROM linked l JOIN input i ON i.patient_id = l.patient_id AND i.k = l.k + 1
	), moved AS (
		UPDATE audit_heads h SET seq = last.seq, hash = last.hash, updated_at = ?::bigint
		FROM (SELECT DISTINCT ON (patient_id) patient_id, seq, hash FROM linked ORDER BY patient_id, k DESC) last
		WHERE h.patient_id = last.patient_id
	)
	INSERT INTO audit_events (` + auditCols + `)
	SELECT i.patient_id, l.seq, i.event_id, i.at, i.actor_kind, i.actor_id, i.actor_name, i.actor_profession,
		i.actor_structure, i.on_behalf_of, i.action, i.target_type, i.target_id, i.mode, i.decision, i.reason,
		i.request_id, l.prev, l.hash
	FROM linked l JOIN input i ON i.patient_id = l.patient_id AND i.k = l.k
	RETURNING event_id, seq, prev_hash, hash`
