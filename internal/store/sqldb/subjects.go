package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/carnet-sante/carnet"
)

// Subjects kept between transactions (PostgreSQL). Reading a subject — the patient, their
// settings, key and blocks, the professional's directory entry, consents and emergency session —
// is a statement over nine relations, the largest part of an audited read's cost. The schema
// gives each patient row and each professional row a revision that every change to them, or to
// the rows read with the patient, replaces by a new value of one sequence in the same transaction
// (migration 00005: triggers, so that no write path can forget it). A subject read once is kept
// with the two revisions; the next time, one cheap statement reads the two revisions again (and
// the document asked for, which is never kept): equal revisions mean the same rows, and the kept
// subject is used. Only subjects read outside a database transaction are kept: they hold
// committed rows only, never a transaction's own writes that it might roll back.
// The "accessed before" flag can only go from false to true: only subjects where it is true
// (or without a professional) are kept, so a first access is always read afresh.

// WithSubjectCache keeps up to max subjects between transactions (dialects with LazyBegin:
// PostgreSQL; ignored otherwise, and when max < 1).
func WithSubjectCache(max int) Option {
	return func(db *DB) {
		if max > 0 && db.dialect.LazyBegin {
			db.subjects = &subjectCache{max: max, m: map[subjectKey]*keptSubject{}}
		}
	}
}

type subjectCache struct {
	mu           sync.Mutex
	m            map[subjectKey]*keptSubject
	max          int
	hits, misses atomic.Int64
}

type subjectKey struct{ patientID, actorID string }

type keptSubject struct {
	patientRev, proRev int64
	sub                *carnet.Subject // without its document
}

func (c *subjectCache) get(k subjectKey) *keptSubject {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *subjectCache) put(k subjectKey, v *keptSubject) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // simple and bounded; the next reads fill it again
	}
	c.m[k] = v
}

// keepable: a subject this transaction reads now may be kept (committed rows only).
func (tx *Tx) keepable() bool {
	return tx.db.subjects != nil && tx.conn != nil && tx.tx == nil && tx.pending == nil && !tx.direct
}

// keptSubject returns the kept subject of (patientID, actorID) with its document when the
// revisions show that nothing of it changed; nil when there is none or it is stale.
func (tx *Tx) keptSubject(ctx context.Context, op, patientID, actorID, documentID string) (*carnet.Subject, error) {
	c := tx.db.subjects
	k := c.get(subjectKey{patientID, actorID})
	if k == nil {
		return nil, nil
	}
	q, args := checkRevisionsSQL, []any{actorID, patientID}
	if documentID != "" {
		q, args = checkRevisionsDocumentSQL, []any{actorID, documentID, patientID}
	}
	var patientRev, proRev int64
	var doc documentScan
	var docFound bool
	dest := []any{&patientRev, &proRev}
	if documentID != "" {
		dest = append(append(dest, &docFound), doc.dest()...)
	}
	if err := tx.queryRow(ctx, q, args...).Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // gone: the full read says so
		}
		return nil, tx.db.wrap(op, err)
	}
	if patientRev != k.patientRev || proRev != k.proRev {
		return nil, nil
	}
	sub := copySubject(k.sub)
	if docFound {
		sub.Document = doc.document()
	}
	return sub, nil
}

// checkRevisionsSQL reads a patient's and a professional's revisions (-1: no such
// professional); checkRevisionsDocumentSQL, a document with them (built once, not per read).
const checkRevisionsSQL = `SELECT p.rev, COALESCE(pr.rev, -1) FROM patients p
	LEFT JOIN professionals pr ON pr.professional_id = ? WHERE p.patient_id = ?`

var checkRevisionsDocumentSQL = `SELECT p.rev, COALESCE(pr.rev, -1), ` + joinedDocumentCols + ` FROM patients p
	LEFT JOIN professionals pr ON pr.professional_id = ?
	LEFT JOIN documents d ON d.patient_id = p.patient_id AND d.document_id = ? WHERE p.patient_id = ?`

// copySubject copies a kept subject deeply enough that its user may change it.
func copySubject(s *carnet.Subject) *carnet.Subject {
	c := *s
	if s.Patient != nil {
		p := *s.Patient
		p.NIRSealed = bytes.Clone(p.NIRSealed)
		c.Patient = &p
	}
	c.Settings, c.Professional, c.Emergency = clone(s.Settings), clone(s.Professional), clone(s.Emergency)
	if c.DataKey = clone(s.DataKey); c.DataKey != nil {
		c.DataKey.Wrapped = bytes.Clone(c.DataKey.Wrapped)
	}
	c.Consents, c.Blocks = clones(s.Consents), clones(s.Blocks)
	c.Document = nil
	return &c
}

// clone copies *x (nil for nil).
func clone[T any](x *T) *T {
	if x == nil {
		return nil
	}
	y := *x
	return &y
}

// clones copies each element of xs.
func clones[T any](xs []*T) []*T {
	if xs == nil {
		return nil
	}
	out := make([]*T, len(xs))
	for i, x := range xs {
		out[i] = clone(x)
	}
	return out
}
