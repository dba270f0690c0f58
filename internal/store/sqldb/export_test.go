package sqldb

import (
	"time"

	"github.com/carnet-sante/carnet"
)

// ErrAppendYourself is errAppendYourself, for the tests of batched appends.
var ErrAppendYourself = errAppendYourself

// RunAppendBatch runs one batch of lone appends and returns each event's outcome.
func RunAppendBatch(db *DB, events []*carnet.AuditEvent, now time.Time) []error {
	batch := make([]*loneAppend, len(events))
	for i, e := range events {
		batch[i] = &loneAppend{e: e, now: now, done: make(chan struct{})}
	}
	db.runAppendBatch(batch)
	errs := make([]error, len(events))
	for i, a := range batch {
		<-a.done
		errs[i] = a.err
	}
	return errs
}

// SharedAppends is how many events were committed in batches of two or more.
func SharedAppends(db *DB) int64 { return db.appends.shared.Load() }

// AppendBatches is how many batch statements were sent.
func AppendBatches(db *DB) int64 { return db.appends.batches.Load() }

// SetBatchTimeout sets the time a batch's statement may take, until the test ends.
func SetBatchTimeout(t interface{ Cleanup(func()) }, d time.Duration) {
	old := batchTimeout
	batchTimeout = d
	t.Cleanup(func() { batchTimeout = old })
}

// SubjectReads is how many subjects were served kept (hits) and read in full (misses) since
// the store opened, among those that could be kept.
func SubjectReads(db *DB) (hits, misses int64) {
	return db.subjects.hits.Load(), db.subjects.misses.Load()
}
