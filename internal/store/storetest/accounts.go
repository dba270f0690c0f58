package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
)

// diff lists the fields where got differs from want: times are compared with Equal, byte slices
// with bytes.Equal (nil and empty alike), pointers by what they point to.
func diff(got, want any) []string {
	var out []string
	diffValue(&out, reflect.TypeOf(want).String(), reflect.ValueOf(got), reflect.ValueOf(want))
	return out
}

var timeType = reflect.TypeFor[time.Time]()

func diffValue(out *[]string, path string, a, b reflect.Value) {
	if a.Type() != b.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %s, want %s", path, a.Type(), b.Type()))
		return
	}
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) {
			*out = append(*out, fmt.Sprintf("%s: %v, want %v", path, ta, tb))
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: %s, want %s", path, showPtr(a), showPtr(b)))
			}
			return
		}
		diffValue(out, path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			diffValue(out, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Slice:
		if a.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				*out = append(*out, fmt.Sprintf("%s: %q, want %q", path, a.Bytes(), b.Bytes()))
			}
			return
		}
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d elements, want %d", path, a.Len(), b.Len()))
			return
		}
		for i := 0; i < a.Len(); i++ {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: %v, want %v", path, a.Interface(), b.Interface()))
		}
	}
}

func showPtr(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprint(v.Elem().Interface())
}

// same reports a difference between a read-back record and the expected one as a test error.
func same(t *testing.T, what string, got, want any) bool {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s differs:\n%s", what, joinLines(d))
		return false
	}
	return true
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for _, l := range s {
		b.WriteString("\t" + l + "\n")
	}
	return b.String()
}

// storedPatient is what the store gives back of p: no clear NIR, no NIR index.
func storedPatient(p *carnet.Patient) *carnet.Patient {
	c := *p
	c.NIR, c.NIRIndex = "", nil
	return &c
}

// newEnrolment returns one person enrolled in bulk, their first event linked as the start of a
// new chain, with a message (carrying a secret when secret is set) unless message is false.
func newEnrolment(i int, message, secret bool) *carnet.NewEnrolment {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	p := NewPatient(i)
	p.Status = carnet.PatientEnrolled
	p.Email, p.Mobile = "", ""
	p.PostalAddress = fmt.Sprintf("%d rue de la Paix\n75002 Paris", i+1)
	p.BirthDate = time.Date(1940+i%80, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	k := &carnet.DataKey{PatientID: p.ID, Wrapped: []byte("wrapped-" + p.ID), KEKID: "kek-2026"}
	e := &carnet.Enrolment{PatientID: p.ID, VitaleHash: []byte("vitale-" + p.ID), CodeHash: []byte("code-" + p.ID),
		CodeExpiresAt: t0.Add(90 * 24 * time.Hour), AutoCreateAt: t0.Add(30*24*time.Hour + time.Duration(i)*time.Microsecond),
		Source: fmt.Sprintf("enroll:lot-2026-05.csv:%d", i+2)}
	head := carnet.AuditHead{PatientID: p.ID}
	ev := auditEvent(p.ID, head, "patient.enrol")
	ev.ActorKind, ev.ActorID, ev.ActorName, ev.ActorProfession = carnet.ActorSystem, "enroll", "Carnet", ""
	ev.TargetType, ev.TargetID, ev.Reason = "patient", p.ID, "bulk"
	audit.Link(ev, head)
	ne := &carnet.NewEnrolment{Patient: p, Key: k, Enrolment: e, Event: ev}
	if message {
		m := &carnet.OutboxMessage{ID: newID(), PatientID: p.ID, Kind: "activation_code", Channel: "letter",
			Recipient: p.PostalAddress, Subject: "Votre carnet de santé", Body: "Bienvenue.", IdempotencyKey: "enrol:" + p.ID}
		if secret {
			m.Body = "Votre code provisoire : " + carnet.SecretPlaceholder
			m.Secret = []byte("sealed-code-" + p.ID)
		}
		ne.Message = m
	}
	return ne
}

// newEnrolments returns n people: three in four with a message, one in two with a secret.
func newEnrolments(n int) []*carnet.NewEnrolment {
	out := make([]*carnet.NewEnrolment, n)
	for i := range out {
		out[i] = newEnrolment(i, i%4 != 3, i%2 == 0)
	}
	return out
}

// checkEnrolled reads back everything EnrolBatch stored for each person.
func checkEnrolled(t *testing.T, tx carnet.Tx, batch []*carnet.NewEnrolment) {
	t.Helper()
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		if fails++; fails > 10 {
			t.Fatal("too many differences")
		}
	}
	for i, b := range batch {
		id := b.Patient.ID
		p, err := tx.Patient(ctx, id)
		if err != nil {
			fail("person %d: patient: %v", i, err)
			continue
		}
		if !same(t, fmt.Sprintf("person %d: patient", i), p, storedPatient(b.Patient)) {
			fails++
		}
		k, err := tx.DataKey(ctx, id)
		if err != nil {
			fail("person %d: data key: %v", i, err)
		} else if !same(t, fmt.Sprintf("person %d: data key", i), k, b.Key) {
			fails++
		}
		e, err := tx.Enrolment(ctx, id)
		if err != nil {
			fail("person %d: enrolment: %v", i, err)
		} else if !same(t, fmt.Sprintf("person %d: enrolment", i), e, b.Enrolment) {
			fails++
		}
		head, err := tx.AuditHead(ctx, id)
		if err != nil || head.Seq != 1 || !bytes.Equal(head.Hash, b.Event.Hash) {
			fail("person %d: chain head %+v (%v), want seq 1 and hash %x", i, head, err, b.Event.Hash)
		}
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: id})
		if err != nil || len(evs) != 1 {
			fail("person %d: events %d (%v), want 1", i, len(evs), err)
		} else {
			if !same(t, fmt.Sprintf("person %d: first event", i), evs[0], b.Event) {
				fails++
			}
			if !bytes.Equal(audit.Hash(evs[0]), evs[0].Hash) {
				fail("person %d: the event read back no longer matches its hash", i)
			}
		}
		msgs, err := tx.ListOutbox(ctx, id)
		switch {
		case err != nil:
			fail("person %d: outbox: %v", i, err)
		case b.Message == nil && len(msgs) != 0:
			fail("person %d: %d messages, want none", i, len(msgs))
		case b.Message != nil && len(msgs) != 1:
			fail("person %d: %d messages, want 1", i, len(msgs))
		case b.Message != nil:
			if !same(t, fmt.Sprintf("person %d: message", i), msgs[0], b.Message) {
				fails++
			}
		}
		if fails > 10 {
			t.Fatal("too many differences")
		}
	}
}

// testPendingCodes: codes queued on enrolment rows by EnrolBatch are listed in patient order,
// a batch at a time, until cleared; a person enrolled without one has none; clearing survives
// updates of the enrolment, and an enrolment update keeps a code still queued.
func testPendingCodes(t *testing.T, s carnet.Store) {
	batch := newEnrolments(300)
	for i, b := range batch {
		b.Message = nil
		if i%3 != 2 {
			b.PendingCode = []byte(fmt.Sprintf("sealed-%03d", i))
		}
	}
	update(t, s, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, batch) })
	want := map[string]string{}
	var ids []string
	for _, b := range batch {
		if b.PendingCode != nil {
			want[b.Patient.ID] = string(b.PendingCode)
			ids = append(ids, b.Patient.ID)
		}
	}
	slices.Sort(ids)
	// An update of a queued enrolment keeps its code.
	update(t, s, func(tx carnet.Tx) error {
		e, err := tx.Enrolment(ctx, ids[0])
		if err != nil {
			return err
		}
		e.Source = "changed"
		return tx.UpdateEnrolment(ctx, e)
	})
	var got []string
	for round := 0; ; round++ {
		var codes []carnet.PendingCode
		update(t, s, func(tx carnet.Tx) error {
			var err error
			if codes, err = tx.PendingCodes(ctx, 64); err != nil {
				return err
			}
			for _, c := range codes {
				if err := tx.ClearPendingCode(ctx, c.PatientID); err != nil {
					return err
				}
			}
			return nil
		})
		if len(codes) == 0 {
			break
		}
		if len(codes) > 64 || round > 10 {
			t.Fatalf("round %d: %d codes", round, len(codes))
		}
		for _, c := range codes {
			if string(c.Sealed) != want[c.PatientID] {
				t.Errorf("%s: code %q, want %q", c.PatientID, c.Sealed, want[c.PatientID])
			}
			got = append(got, c.PatientID)
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("codes listed for %d people (in order: %v), want %d", len(got), slices.IsSorted(got), len(ids))
	}
	// A rolled-back clear keeps the code.
	update(t, s, func(tx carnet.Tx) error {
		return tx.EnrolBatch(ctx, []*carnet.NewEnrolment{newPending(t)})
	})
	errStop := carnet.Errorf(carnet.ECONFLICT, "stop")
	if err := s.Update(ctx, func(tx carnet.Tx) error {
		codes, err := tx.PendingCodes(ctx, 10)
		if err != nil || len(codes) != 1 {
			t.Fatalf("codes %v %v", codes, err)
		}
		if err := tx.ClearPendingCode(ctx, codes[0].PatientID); err != nil {
			return err
		}
		return errStop
	}); err != errStop {
		t.Fatalf("rolled back: %v", err)
	}
	update(t, s, func(tx carnet.Tx) error { // PendingCodes locks: a write transaction
		codes, err := tx.PendingCodes(ctx, 10)
		if err != nil || len(codes) != 1 {
			t.Errorf("after a rollback: %v %v", codes, err)
		}
		return nil
	})
}

func newPending(t *testing.T) *carnet.NewEnrolment {
	t.Helper()
	b := newEnrolments(1)[0]
	b.Message, b.PendingCode = nil, []byte("sealed")
	return b
}

func testEnrolBatch(t *testing.T, s carnet.Store) {
	// An empty batch is a no-op.
	update(t, s, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, nil) })

	// 1 200 people (one statement per table), then 2 000 (two statements for the tables of
	// more than 15 columns: patients, audit events, outbox).
	first, second := newEnrolments(1200), newEnrolments(2000)
	var now time.Time
	update(t, s, func(tx carnet.Tx) error {
		now = tx.Now()
		return tx.EnrolBatch(ctx, first)
	})
	b0 := first[0]
	if !b0.Patient.CreatedAt.Equal(now) || !b0.Patient.UpdatedAt.Equal(now) || !b0.Key.CreatedAt.Equal(now) ||
		!b0.Enrolment.CreatedAt.Equal(now) || !b0.Enrolment.UpdatedAt.Equal(now) || b0.Message.Status != carnet.OutboxPending ||
		!b0.Message.CreatedAt.Equal(now) || b0.Message.NextAttemptAt.IsZero() {
		t.Errorf("times and status not set by EnrolBatch: %+v %+v %+v", b0.Patient, b0.Enrolment, b0.Message)
	}
	update(t, s, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, second) })
	all := append(slices.Clone(first), second...)
	view(t, s, func(tx carnet.Tx) error {
		checkEnrolled(t, tx, all)
		for _, b := range []*carnet.NewEnrolment{first[7], second[1999]} {
			p, err := tx.PatientByNIRIndex(ctx, b.Patient.NIRIndex)
			if err != nil || p.ID != b.Patient.ID {
				t.Errorf("patient by NIR index: %+v %v", p, err)
			}
		}
		c, err := tx.Counts(ctx)
		if err != nil || c.Patients != int64(len(all)) {
			t.Errorf("counts: %+v %v, want %d patients", c, err, len(all))
		}
		// Every new chain is listed for verification.
		n, after := 0, ""
		for {
			ids, err := tx.AuditPatients(ctx, after, 1000)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			n, after = n+len(ids), ids[len(ids)-1]
		}
		if n != len(all) {
			t.Errorf("audit patients: %d, want %d", n, len(all))
		}
		return nil
	})

	// PatientsByNIRIndex: exactly the enrolled ones among enrolled and unknown indexes (more than
	// one 500-index chunk, with a duplicate).
	want := map[string]string{}
	var indexes [][]byte
	for _, b := range all {
		want[string(b.Patient.NIRIndex)] = b.Patient.ID
		indexes = append(indexes, b.Patient.NIRIndex)
	}
	var unknown [][]byte
	for i := 0; i < 700; i++ {
		unknown = append(unknown, []byte("unknown-"+newID()))
	}
	mixed := append(append(slices.Clone(indexes), unknown...), first[3].Patient.NIRIndex)
	rand.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.PatientsByNIRIndex(ctx, mixed)
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			t.Errorf("PatientsByNIRIndex: %d entries, want %d", len(got), len(want))
		}
		bad := 0
		for ix, id := range want {
			if got[ix] != id && bad < 5 {
				bad++
				t.Errorf("PatientsByNIRIndex[%q] = %q, want %q", ix, got[ix], id)
			}
		}
		none, err := tx.PatientsByNIRIndex(ctx, unknown)
		if err != nil || len(none) != 0 {
			t.Errorf("unknown indexes: %d entries, %v", len(none), err)
		}
		empty, err := tx.PatientsByNIRIndex(ctx, nil)
		if err != nil || len(empty) != 0 {
			t.Errorf("no index: %v %v", empty, err)
		}
		return nil
	})

	// The enrolled chains go on through the normal path, including people of a second chunk.
	for _, b := range []*carnet.NewEnrolment{first[0], first[1199], second[0], second[1800], second[1999]} {
		id := b.Patient.ID
		update(t, s, func(tx carnet.Tx) error {
			head, err := tx.AuditHead(ctx, id)
			if err != nil {
				return err
			}
			if head.Seq != 1 || !bytes.Equal(head.Hash, b.Event.Hash) {
				t.Errorf("head before the second event: %+v", head)
			}
			e := auditEvent(id, head, "account.activate")
			audit.Link(e, head)
			return tx.AppendAudit(ctx, e)
		})
		view(t, s, func(tx carnet.Tx) error {
			head, err := tx.AuditHead(ctx, id)
			if err != nil {
				return err
			}
			evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: id})
			if err != nil {
				return err
			}
			if head.Seq != 2 || len(evs) != 2 {
				t.Errorf("after a second event: head %+v, %d events", head, len(evs))
			}
			if probs := audit.VerifyChain(id, evs, []audit.Anchor{audit.AnchorFromHead(head)}); len(probs) != 0 {
				t.Errorf("chain of an enrolled person: %+v", probs)
			}
			return nil
		})
	}

	// A chain started by EnrolBatch has no head row: it is listed for verification but enters
	// signed checkpoints only when an append creates its head. Concurrent first appends to such
	// a chain (here through AppendLinked, PostgreSQL's one-statement path) serialize on the row
	// the first of them creates: the chain stays gapless and verifies.
	fresh := second[1000].Patient.ID
	view(t, s, func(tx carnet.Tx) error {
		heads, err := tx.AuditHeadsChangedSince(ctx, time.Time{}, "", 100000)
		if err != nil {
			return err
		}
		for _, h := range heads {
			if h.PatientID == fresh {
				t.Errorf("a chain with only its enrolment event is listed for checkpoints: %+v", h)
			}
		}
		return nil
	})
	const workers, each = 6, 5
	concurrently(t, "linked appends to an enrolled chain", workers, each, func() error {
		return s.Update(ctx, func(tx carnet.Tx) error {
			return tx.AppendLinked(ctx, unlinkedEvent(fresh, "document.read"))
		})
	})
	view(t, s, func(tx carnet.Tx) error {
		head, err := tx.AuditHead(ctx, fresh)
		if err != nil {
			return err
		}
		evs, err := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: fresh})
		if err != nil {
			return err
		}
		if head.Seq != 1+workers*each || len(evs) != 1+workers*each {
			t.Errorf("after %d concurrent appends: head %+v, %d events", workers*each, head, len(evs))
		}
		if probs := audit.VerifyChain(fresh, evs, []audit.Anchor{audit.AnchorFromHead(head)}); len(probs) != 0 {
			t.Errorf("enrolled chain after concurrent appends: %+v", probs)
		}
		heads, err := tx.AuditHeadsChangedSince(ctx, time.Time{}, "", 100000)
		if err != nil {
			return err
		}
		listed := false
		for _, h := range heads {
			listed = listed || (h.PatientID == fresh && h.Seq == head.Seq && bytes.Equal(h.Hash, head.Hash))
		}
		if !listed {
			t.Errorf("the enrolled chain's head is not listed for checkpoints once it moved")
		}
		return nil
	})

	// The messages are claimable and carry their secret.
	secrets := map[string][]byte{}
	for _, b := range all {
		if b.Message != nil {
			secrets[b.Message.ID] = b.Message.Secret
		}
	}
	update(t, s, func(tx carnet.Tx) error {
		claimed, err := tx.ClaimOutbox(ctx, 50, tx.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		if len(claimed) != 50 {
			t.Errorf("claimed %d enrolment messages, want 50", len(claimed))
		}
		for _, m := range claimed {
			if want, ok := secrets[m.ID]; !ok || !bytes.Equal(m.Secret, want) {
				t.Errorf("claimed message %s: secret %q, want %q (known: %v)", m.ID, m.Secret, want, ok)
			}
		}
		return nil
	})

	// notStored checks that nothing of a failed batch remains.
	notStored := func(what string, batch []*carnet.NewEnrolment) {
		t.Helper()
		var ixs [][]byte
		for _, b := range batch {
			ixs = append(ixs, b.Patient.NIRIndex)
		}
		view(t, s, func(tx carnet.Tx) error {
			found, err := tx.PatientsByNIRIndex(ctx, ixs)
			if err != nil {
				return err
			}
			for ix, id := range found {
				if want[ix] != id {
					t.Errorf("%s: index %q of the failed batch maps to %q", what, ix, id)
				}
			}
			for _, i := range []int{0, len(batch) / 2, len(batch) - 1} {
				id := batch[i].Patient.ID
				if _, err := tx.Patient(ctx, id); carnet.ErrorCode(err) != carnet.ENOTFOUND {
					t.Errorf("%s: patient %d of the failed batch: %v", what, i, err)
				}
				if _, err := tx.Enrolment(ctx, id); carnet.ErrorCode(err) != carnet.ENOTFOUND {
					t.Errorf("%s: enrolment %d of the failed batch: %v", what, i, err)
				}
				if _, err := tx.DataKey(ctx, id); carnet.ErrorCode(err) != carnet.ENOTFOUND {
					t.Errorf("%s: data key %d of the failed batch: %v", what, i, err)
				}
				evs, _ := tx.ListAudit(ctx, carnet.AuditFilter{PatientID: id})
				msgs, _ := tx.ListOutbox(ctx, id)
				head, _ := tx.AuditHead(ctx, id)
				if len(evs) != 0 || len(msgs) != 0 || head.Seq != 0 {
					t.Errorf("%s: person %d of the failed batch: %d events, %d messages, head %+v", what, i, len(evs), len(msgs), head)
				}
			}
			c, err := tx.Counts(ctx)
			if err != nil || c.Patients != int64(len(all)) {
				t.Errorf("%s: counts %+v %v, want %d patients", what, c, err, len(all))
			}
			return nil
		})
	}

	// A batch with a NIR already enrolled: ECONFLICT, and nothing of the batch stays.
	dup := newEnrolments(60)
	dup[59].Patient.NIRIndex = first[5].Patient.NIRIndex
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, dup) }), carnet.ECONFLICT)
	notStored("already enrolled NIR", dup[:59])
	view(t, s, func(tx carnet.Tx) error {
		p, err := tx.PatientByNIRIndex(ctx, first[5].Patient.NIRIndex)
		if err != nil || p.ID != first[5].Patient.ID {
			t.Errorf("the enrolled person was touched: %+v %v", p, err)
		}
		return nil
	})

	// A conflict in the last table, in its second statement: the first statements of every table
	// are rolled back too.
	late := make([]*carnet.NewEnrolment, 2000)
	for i := range late {
		late[i] = newEnrolment(i, true, i%2 == 0)
	}
	late[1950].Message.ID = first[0].Message.ID
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, late) }), carnet.ECONFLICT)
	notStored("conflict in the outbox", late)

	// The same NIR twice in one batch.
	twice := newEnrolments(3)
	twice[2].Patient.NIRIndex = twice[0].Patient.NIRIndex
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, twice) }), carnet.ECONFLICT)
	notStored("same NIR twice", twice[:2])

	// Incomplete records: EINVALID.
	for name, spoil := range map[string]func(*carnet.NewEnrolment){
		"no patient":         func(b *carnet.NewEnrolment) { b.Patient = nil },
		"no key":             func(b *carnet.NewEnrolment) { b.Key = nil },
		"no enrolment":       func(b *carnet.NewEnrolment) { b.Enrolment = nil },
		"no event":           func(b *carnet.NewEnrolment) { b.Event = nil },
		"no NIR index":       func(b *carnet.NewEnrolment) { b.Patient.NIRIndex = nil },
		"no sealed NIR":      func(b *carnet.NewEnrolment) { b.Patient.NIRSealed = nil },
		"no patient ID":      func(b *carnet.NewEnrolment) { b.Patient.ID = "" },
		"event not first":    func(b *carnet.NewEnrolment) { b.Event.Seq = 2 },
		"event not hashed":   func(b *carnet.NewEnrolment) { b.Event.Hash = nil },
		"event of another":   func(b *carnet.NewEnrolment) { b.Event.PatientID = newID() },
		"no idempotency key": func(b *carnet.NewEnrolment) { b.Message.IdempotencyKey = "" },
		"bare message":       func(b *carnet.NewEnrolment) { b.Message = &carnet.OutboxMessage{ID: newID()} },
	} {
		batch := newEnrolments(3)
		spoil(batch[1])
		err := s.Update(ctx, func(tx carnet.Tx) error { return tx.EnrolBatch(ctx, batch) })
		if carnet.ErrorCode(err) != carnet.EINVALID {
			t.Errorf("%s: error %v, want %s", name, err, carnet.EINVALID)
		}
		notStored(name, batch[:1])
	}
}

func testEnrolments(t *testing.T, s carnet.Store) {
	t0 := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	mk := func(auto time.Duration, zero bool) *carnet.Enrolment {
		p := createPatient(t, s)
		e := &carnet.Enrolment{PatientID: p.ID, VitaleHash: []byte("vitale-" + p.ID), CodeHash: []byte("code-" + p.ID),
			CodeExpiresAt: t0.Add(90*24*time.Hour + 123456*time.Microsecond), AutoCreateAt: t0.Add(auto),
			Source: "enroll:lot.csv:" + p.ID}
		if zero {
			e.AutoCreateAt = time.Time{}
		}
		return e
	}
	e1, e2, e3 := mk(3*time.Hour, false), mk(time.Hour, false), mk(2*time.Hour, false)
	done, future := mk(0, true), mk(10*time.Hour, false)
	update(t, s, func(tx carnet.Tx) error {
		for _, e := range []*carnet.Enrolment{e1, e2, e3, done, future} {
			if err := tx.CreateEnrolment(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if e1.CreatedAt.IsZero() || !e1.CreatedAt.Equal(e1.UpdatedAt) {
		t.Errorf("timestamps not set: %v %v", e1.CreatedAt, e1.UpdatedAt)
	}
	again := *e1
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateEnrolment(ctx, &again) }), carnet.ECONFLICT)
	due := func(tx carnet.Tx, at time.Time, limit int, want ...*carnet.Enrolment) {
		t.Helper()
		got, err := tx.EnrolmentsDue(ctx, at, limit)
		if err != nil {
			t.Errorf("due at %v: %v", at, err)
			return
		}
		var gotIDs, wantIDs []string
		for _, e := range got {
			gotIDs = append(gotIDs, e.PatientID)
		}
		for _, e := range want {
			wantIDs = append(wantIDs, e.PatientID)
		}
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("due at %v (limit %d): %v, want %v", at, limit, gotIDs, wantIDs)
			return
		}
		for i := range got {
			same(t, "due enrolment", got[i], want[i])
		}
	}
	view(t, s, func(tx carnet.Tx) error {
		for _, e := range []*carnet.Enrolment{e1, done} {
			got, err := tx.Enrolment(ctx, e.PatientID)
			if err != nil {
				return err
			}
			same(t, "enrolment", got, e)
		}
		_, err := tx.Enrolment(ctx, newID())
		wantCode(t, err, carnet.ENOTFOUND)
		due(tx, t0, 10)
		due(tx, t0.Add(3*time.Hour-time.Microsecond), 10, e2, e3)
		due(tx, t0.Add(3*time.Hour), 10, e2, e3, e1)
		due(tx, t0.Add(3*time.Hour), 2, e2, e3)
		due(tx, t0.Add(365*24*time.Hour), 0, e2, e3, e1, future)
		return nil
	})

	// Opposition: the space will not be created.
	opposed := time.Date(2026, 5, 10, 14, 3, 4, 567891000, time.UTC)
	e1.OpposedAt, e1.AutoCreateAt, e1.Source, e1.CodeHash = &opposed, time.Time{}, "operator", []byte{}
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateEnrolment(ctx, e1) })
	// Activation: the provisional code is used up (its hash emptied).
	activated := time.Date(2026, 5, 11, 9, 30, 0, 1000, time.UTC)
	stored2, wantDue := *e2, []*carnet.Enrolment{e3, future}
	e2.ActivatedAt, e2.AutoCreateAt, e2.CodeHash = &activated, time.Time{}, nil
	if err := s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdateEnrolment(ctx, e2) }); err != nil {
		t.Errorf("activation (code hash emptied): %v", err)
		*e2, wantDue = stored2, []*carnet.Enrolment{e2, e3, future} // what the store still holds
	}
	// A new code sent: new hash, new expiry.
	e3.CodeHash, e3.CodeExpiresAt = []byte("new code"), t0.Add(120*24*time.Hour)
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateEnrolment(ctx, e3) })
	view(t, s, func(tx carnet.Tx) error {
		for _, e := range []*carnet.Enrolment{e1, e2, e3} {
			got, err := tx.Enrolment(ctx, e.PatientID)
			if err != nil {
				t.Errorf("enrolment after update: %v", err)
				continue
			}
			same(t, "enrolment after update", got, e)
			if got.UpdatedAt.Before(got.CreatedAt) {
				t.Errorf("updated before created: %+v", got)
			}
		}
		due(tx, t0.Add(365*24*time.Hour), 0, wantDue...)
		return nil
	})
	missing := mk(time.Hour, false)
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdateEnrolment(ctx, missing) }), carnet.ENOTFOUND)

	// Records with empty hashes (a used code; a person created by an operator, whose Vitale
	// serial is unknown) are saved again as read back.
	op := mk(0, true)
	op.VitaleHash, op.Source = []byte{}, "operator"
	update(t, s, func(tx carnet.Tx) error { return tx.CreateEnrolment(ctx, op) })
	for _, e := range []*carnet.Enrolment{e1, op} {
		err := s.Update(ctx, func(tx carnet.Tx) error {
			got, err := tx.Enrolment(ctx, e.PatientID)
			if err != nil {
				return err
			}
			got.Source += " (resaved)"
			return tx.UpdateEnrolment(ctx, got)
		})
		if err != nil {
			t.Errorf("saving again an enrolment read back with an empty hash (%q): %v", e.Source, err)
		}
	}
}

func testAccounts(t *testing.T, s carnet.Store) {
	p, q, r := createPatient(t, s), createPatient(t, s), createPatient(t, s)
	a := &carnet.Account{PatientID: p.ID, Login: "marie.dupont", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		OTPChannel: "email", Email: "marie@example.org"}
	update(t, s, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, a) })
	if a.CreatedAt.IsZero() || !a.CreatedAt.Equal(a.UpdatedAt) {
		t.Errorf("timestamps not set: %+v", a)
	}
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Account(ctx, p.ID)
		if err != nil {
			return err
		}
		same(t, "account", got, a)
		if len(got.TOTPSealed) != 0 || len(got.PasskeyHandle) != 0 || got.TOTPLastStep != 0 {
			t.Errorf("second factors of a new account: %+v", got)
		}
		got, err = tx.AccountByLogin(ctx, "marie.dupont")
		if err != nil {
			return err
		}
		same(t, "account by login", got, a)
		_, err = tx.Account(ctx, q.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.AccountByLogin(ctx, "nobody")
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	// The login is taken; the patient has one already.
	taken := &carnet.Account{PatientID: q.ID, Login: "marie.dupont", PasswordHash: "h", OTPChannel: "sms", Mobile: "+33612345678"}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, taken) }), carnet.ECONFLICT)
	second := &carnet.Account{PatientID: p.ID, Login: "marie2", PasswordHash: "h", OTPChannel: "email", Email: "m@example.org"}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, second) }), carnet.ECONFLICT)
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Account(ctx, q.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.AccountByLogin(ctx, "marie2")
		wantCode(t, err, carnet.ENOTFOUND)
		return nil
	})
	b := &carnet.Account{PatientID: q.ID, Login: "jean.martin", PasswordHash: "h-q", OTPChannel: "sms", Mobile: "+33712345678",
		PasswordSetAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	update(t, s, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, b) })

	// Update: TOTP sealed with its last step, a passkey handle, a new login and password.
	a.Login, a.PasswordHash, a.OTPChannel, a.Mobile = "marie.d", "$argon2id$v=19$new", "sms", "+33698765432"
	a.TOTPSealed, a.TOTPLastStep = []byte("sealed totp secret"), 59_123_456
	a.PasskeyHandle = bytes.Repeat([]byte{0xa5, 0x00}, 32)
	a.PasswordSetAt = time.Date(2026, 6, 1, 12, 0, 0, 999000, time.UTC)
	createdAt := a.CreatedAt
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateAccount(ctx, a) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.AccountByLogin(ctx, "marie.d")
		if err != nil {
			return err
		}
		same(t, "account after update", got, a)
		if !got.CreatedAt.Equal(createdAt) {
			t.Errorf("creation time changed: %v, want %v", got.CreatedAt, createdAt)
		}
		_, err = tx.AccountByLogin(ctx, "marie.dupont")
		wantCode(t, err, carnet.ENOTFOUND)
		got, err = tx.Account(ctx, q.ID)
		if err != nil {
			return err
		}
		same(t, "other account", got, b)
		return nil
	})
	// Taking another account's login on update.
	stolen := *a
	stolen.Login = "jean.martin"
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdateAccount(ctx, &stolen) }), carnet.ECONFLICT)
	// Removing the authenticator app and the passkeys.
	a.TOTPSealed, a.TOTPLastStep, a.PasskeyHandle = nil, 0, nil
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateAccount(ctx, a) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Account(ctx, p.ID)
		if err != nil {
			return err
		}
		same(t, "account without second factors", got, a)
		return nil
	})
	missing := &carnet.Account{PatientID: r.ID, Login: "ghost", PasswordHash: "h", OTPChannel: "email"}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdateAccount(ctx, missing) }), carnet.ENOTFOUND)

	// Delete: the login is free again; the other account stays.
	update(t, s, func(tx carnet.Tx) error { return tx.DeleteAccount(ctx, p.ID) })
	view(t, s, func(tx carnet.Tx) error {
		_, err := tx.Account(ctx, p.ID)
		wantCode(t, err, carnet.ENOTFOUND)
		_, err = tx.AccountByLogin(ctx, "marie.d")
		wantCode(t, err, carnet.ENOTFOUND)
		got, err := tx.Account(ctx, q.ID)
		if err != nil || got.Login != "jean.martin" {
			t.Errorf("other account after a delete: %+v %v", got, err)
		}
		return nil
	})
	reuse := &carnet.Account{PatientID: r.ID, Login: "marie.d", PasswordHash: "h-r", OTPChannel: "email", Email: "r@example.org"}
	update(t, s, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, reuse) })
	again := &carnet.Account{PatientID: p.ID, Login: "marie.dupont", PasswordHash: "h-p", OTPChannel: "email", Email: "marie@example.org"}
	update(t, s, func(tx carnet.Tx) error { return tx.CreateAccount(ctx, again) })
}

func testAttempts(t *testing.T, s carnet.Store) {
	view(t, s, func(tx carnet.Tx) error {
		a, err := tx.Attempts(ctx, "account:"+newID())
		if err != nil || a != (carnet.Attempts{}) {
			t.Errorf("unknown key: %+v %v", a, err)
		}
		return nil
	})
	update(t, s, func(tx carnet.Tx) error {
		a, err := tx.Attempts(ctx, "ip:203.0.113.7")
		if err != nil || a != (carnet.Attempts{}) {
			t.Errorf("unknown key in a write transaction: %+v %v", a, err)
		}
		return err
	})
	paris := time.FixedZone("CEST", 2*3600)
	last := time.Date(2026, 5, 4, 10, 11, 12, 123456789, paris)
	locked := time.Date(2026, 5, 4, 10, 26, 12, 987654321, paris)
	put := func(key string, a carnet.Attempts) {
		t.Helper()
		update(t, s, func(tx carnet.Tx) error { return tx.PutAttempts(ctx, key, a) })
	}
	get := func(key string) carnet.Attempts {
		t.Helper()
		var a carnet.Attempts
		view(t, s, func(tx carnet.Tx) error {
			var err error
			a, err = tx.Attempts(ctx, key)
			return err
		})
		return a
	}
	check := func(what string, got, want carnet.Attempts) {
		t.Helper()
		want.LastFailure = want.LastFailure.Truncate(time.Microsecond)
		want.LockedUntil = want.LockedUntil.Truncate(time.Microsecond)
		same(t, what, got, want)
		for _, tm := range []time.Time{got.LastFailure, got.LockedUntil} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("%s: time %v not in UTC", what, tm)
			}
		}
	}
	put("account:1", carnet.Attempts{Failures: 3, LastFailure: last, LockedUntil: locked})
	put("ip:203.0.113.7", carnet.Attempts{Failures: 1, LastFailure: last})
	check("attempts", get("account:1"), carnet.Attempts{Failures: 3, LastFailure: last, LockedUntil: locked})
	check("other key", get("ip:203.0.113.7"), carnet.Attempts{Failures: 1, LastFailure: last})
	// Replaced, the lock lifted.
	later := last.Add(time.Hour)
	put("account:1", carnet.Attempts{Failures: 4, LastFailure: later})
	check("attempts replaced", get("account:1"), carnet.Attempts{Failures: 4, LastFailure: later})
	// A zero record deletes the key; the other one stays.
	put("account:1", carnet.Attempts{})
	check("attempts reset", get("account:1"), carnet.Attempts{})
	check("other key after a reset", get("ip:203.0.113.7"), carnet.Attempts{Failures: 1, LastFailure: last})
	put("never-failed", carnet.Attempts{})
	check("reset of a key that never failed", get("never-failed"), carnet.Attempts{})
	// And it can fail again afterwards.
	put("account:1", carnet.Attempts{Failures: 1, LastFailure: later})
	check("attempts after a reset", get("account:1"), carnet.Attempts{Failures: 1, LastFailure: later})
}

func testOneTimeCodes(t *testing.T, s carnet.Store) {
	owner, other := newID(), newID()
	exp := time.Date(2026, 5, 4, 10, 15, 0, 250000000, time.UTC)
	login := &carnet.OneTimeCode{ID: owner, Purpose: "login", Hash: []byte("hash-1"), Target: "marie@example.org", ExpiresAt: exp}
	contact := &carnet.OneTimeCode{ID: owner, Purpose: "verify-contact", Hash: []byte("hash-2"), Target: "+33612345678",
		ExpiresAt: exp.Add(time.Minute), Failures: 1}
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.PutOneTimeCode(ctx, login); err != nil {
			return err
		}
		return tx.PutOneTimeCode(ctx, contact)
	})
	if login.CreatedAt.IsZero() {
		t.Errorf("creation time not set: %+v", login)
	}
	read := func(id, purpose string) (*carnet.OneTimeCode, error) {
		var c *carnet.OneTimeCode
		err := s.View(ctx, func(tx carnet.Tx) error {
			var err error
			c, err = tx.OneTimeCode(ctx, id, purpose)
			return err
		})
		return c, err
	}
	expect := func(what string, want *carnet.OneTimeCode) {
		t.Helper()
		got, err := read(want.ID, want.Purpose)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		same(t, what, got, want)
	}
	expect("login code", login)
	expect("contact code", contact)
	_, err := read(other, "login")
	wantCode(t, err, carnet.ENOTFOUND)
	_, err = read(owner, "reset")
	wantCode(t, err, carnet.ENOTFOUND)

	// A new code for the same owner and purpose replaces the old one.
	replaced := &carnet.OneTimeCode{ID: owner, Purpose: "login", Hash: []byte("hash-3"), Target: "+33612345678",
		ExpiresAt: exp.Add(10 * time.Minute)}
	update(t, s, func(tx carnet.Tx) error { return tx.PutOneTimeCode(ctx, replaced) })
	expect("replaced code", replaced)
	expect("code of another purpose after a replace", contact)
	// A failure counted.
	replaced.Failures = 2
	update(t, s, func(tx carnet.Tx) error { return tx.PutOneTimeCode(ctx, replaced) })
	expect("code after a failure", replaced)
	// Another owner's code with the same purpose is independent.
	theirs := &carnet.OneTimeCode{ID: other, Purpose: "login", Hash: []byte("hash-4"), ExpiresAt: exp}
	update(t, s, func(tx carnet.Tx) error { return tx.PutOneTimeCode(ctx, theirs) })
	expect("another owner's code", theirs)
	expect("code after another owner's", replaced)

	update(t, s, func(tx carnet.Tx) error { return tx.DeleteOneTimeCode(ctx, owner, "login") })
	_, err = read(owner, "login")
	wantCode(t, err, carnet.ENOTFOUND)
	expect("contact code after a delete", contact)
	expect("another owner's code after a delete", theirs)
}

func sessionID(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func testSessions(t *testing.T, s carnet.Store) {
	p, q := createPatient(t, s), createPatient(t, s)
	s1 := &carnet.Session{ID: sessionID("t1"), PatientID: p.ID, State: carnet.SessionActivation}
	s2 := &carnet.Session{ID: sessionID("t2"), PatientID: p.ID, State: carnet.SessionActive, Factor: carnet.FactorTOTP}
	s3 := &carnet.Session{ID: sessionID("t3"), PatientID: q.ID, State: carnet.SessionSecondFactor,
		Data: []byte(`{"challenge":"abc"}`)}
	update(t, s, func(tx carnet.Tx) error {
		for _, x := range []*carnet.Session{s1, s2, s3} {
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	if s1.CreatedAt.IsZero() || s1.LastSeen.IsZero() {
		t.Errorf("times not set: %+v", s1)
	}
	read := func(id []byte) (*carnet.Session, error) {
		var x *carnet.Session
		err := s.View(ctx, func(tx carnet.Tx) error {
			var err error
			x, err = tx.Session(ctx, id)
			return err
		})
		return x, err
	}
	expect := func(what string, want *carnet.Session) {
		t.Helper()
		got, err := read(want.ID)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		same(t, what, got, want)
	}
	for _, x := range []*carnet.Session{s1, s2, s3} {
		expect("session", x)
	}
	_, err := read(sessionID("unknown"))
	wantCode(t, err, carnet.ENOTFOUND)
	dup := &carnet.Session{ID: sessionID("t1"), PatientID: q.ID, State: carnet.SessionActivation}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreateSession(ctx, dup) }), carnet.ECONFLICT)
	expect("session after a duplicate", s1)

	// Update: state, factor, ceremony data, last seen.
	s1.State, s1.Factor, s1.Data = carnet.SessionSecondFactor, carnet.FactorPasskey, []byte(`{"challenge":"xyz","user":"h"}`)
	s1.LastSeen = time.Date(2026, 5, 4, 11, 0, 0, 123000, time.UTC)
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateSession(ctx, s1) })
	expect("session after update", s1)
	s1.State, s1.Data = carnet.SessionActive, nil
	s1.LastSeen = s1.LastSeen.Add(time.Minute)
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateSession(ctx, s1) })
	expect("session after the ceremony", s1)
	ghost := &carnet.Session{ID: sessionID("ghost"), PatientID: p.ID, State: carnet.SessionActive}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdateSession(ctx, ghost) }), carnet.ENOTFOUND)

	// Delete one.
	update(t, s, func(tx carnet.Tx) error { return tx.DeleteSession(ctx, s2.ID) })
	_, err = read(s2.ID)
	wantCode(t, err, carnet.ENOTFOUND)
	expect("session after another's delete", s1)

	// Delete all of one patient.
	s4 := &carnet.Session{ID: sessionID("t4"), PatientID: p.ID, State: carnet.SessionVerify}
	update(t, s, func(tx carnet.Tx) error { return tx.CreateSession(ctx, s4) })
	count := func(patientID string) int {
		t.Helper()
		var n int
		update(t, s, func(tx carnet.Tx) error {
			var err error
			n, err = tx.DeleteSessions(ctx, patientID)
			return err
		})
		return n
	}
	if n := count(p.ID); n != 2 {
		t.Errorf("DeleteSessions: %d, want 2", n)
	}
	for _, x := range []*carnet.Session{s1, s4} {
		_, err := read(x.ID)
		wantCode(t, err, carnet.ENOTFOUND)
	}
	expect("another patient's session", s3)
	if n := count(p.ID); n != 0 {
		t.Errorf("DeleteSessions again: %d, want 0", n)
	}
	if n := count(q.ID); n != 1 {
		t.Errorf("DeleteSessions of the other patient: %d, want 1", n)
	}
	_, err = read(s3.ID)
	wantCode(t, err, carnet.ENOTFOUND)
}

func testPasskeys(t *testing.T, s carnet.Store) {
	p, q := createPatient(t, s), createPatient(t, s)
	// Created one after the other, the second with a smaller credential ID: listed oldest first.
	k1 := &carnet.Passkey{PatientID: p.ID, CredentialID: []byte{0xff, 0x01, 0x02}, Data: []byte(`{"signCount":0}`), Name: "iPhone"}
	k2 := &carnet.Passkey{PatientID: p.ID, CredentialID: []byte{0x01, 0x02}, Data: []byte(`{"signCount":5}`), Name: "YubiKey"}
	update(t, s, func(tx carnet.Tx) error { return tx.CreatePasskey(ctx, k1) })
	time.Sleep(2 * time.Millisecond)
	update(t, s, func(tx carnet.Tx) error { return tx.CreatePasskey(ctx, k2) })
	if k1.CreatedAt.IsZero() || !k2.CreatedAt.After(k1.CreatedAt) {
		t.Errorf("creation times: %v %v", k1.CreatedAt, k2.CreatedAt)
	}
	list := func(patientID string) []*carnet.Passkey {
		t.Helper()
		var ks []*carnet.Passkey
		view(t, s, func(tx carnet.Tx) error {
			var err error
			ks, err = tx.Passkeys(ctx, patientID)
			return err
		})
		return ks
	}
	same(t, "passkeys", list(p.ID), []*carnet.Passkey{k1, k2})
	if ks := list(q.ID); len(ks) != 0 {
		t.Errorf("passkeys of a patient with none: %v", ks)
	}
	// A credential is registered once, whoever registers it.
	for _, owner := range []string{p.ID, q.ID} {
		dup := &carnet.Passkey{PatientID: owner, CredentialID: slices.Clone(k1.CredentialID), Data: []byte(`{}`), Name: "copy"}
		wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.CreatePasskey(ctx, dup) }), carnet.ECONFLICT)
	}
	if ks := list(q.ID); len(ks) != 0 {
		t.Errorf("a refused duplicate stayed: %v", ks)
	}
	k3 := &carnet.Passkey{PatientID: q.ID, CredentialID: []byte("q-cred"), Data: []byte(`{"signCount":1}`), Name: "Android"}
	update(t, s, func(tx carnet.Tx) error { return tx.CreatePasskey(ctx, k3) })

	// Update: sign count, name, last use.
	k1.Data, k1.Name = []byte(`{"signCount":7}`), "iPhone de Marie"
	k1.LastUsedAt = time.Date(2026, 5, 4, 12, 0, 0, 654321000, time.UTC)
	update(t, s, func(tx carnet.Tx) error { return tx.UpdatePasskey(ctx, k1) })
	same(t, "passkeys after update", list(p.ID), []*carnet.Passkey{k1, k2})
	unknown := &carnet.Passkey{PatientID: p.ID, CredentialID: []byte("nope"), Data: []byte(`{}`)}
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdatePasskey(ctx, unknown) }), carnet.ENOTFOUND)
	// Another patient cannot update it.
	foreign := *k1
	foreign.PatientID, foreign.Name = q.ID, "stolen"
	wantCode(t, s.Update(ctx, func(tx carnet.Tx) error { return tx.UpdatePasskey(ctx, &foreign) }), carnet.ENOTFOUND)
	same(t, "passkeys after a foreign update", list(p.ID), []*carnet.Passkey{k1, k2})

	// Delete all of one patient; the credential may be registered again.
	update(t, s, func(tx carnet.Tx) error { return tx.DeletePasskeys(ctx, p.ID) })
	if ks := list(p.ID); len(ks) != 0 {
		t.Errorf("passkeys after delete: %v", ks)
	}
	same(t, "other patient's passkeys", list(q.ID), []*carnet.Passkey{k3})
	k4 := &carnet.Passkey{PatientID: q.ID, CredentialID: slices.Clone(k1.CredentialID), Data: []byte(`{"signCount":0}`)}
	update(t, s, func(tx carnet.Tx) error { return tx.CreatePasskey(ctx, k4) })
	if ks := list(q.ID); len(ks) != 2 {
		t.Errorf("passkeys after registering a freed credential: %d", len(ks))
	}
}

func testOutboxSecret(t *testing.T, s carnet.Store) {
	p := createPatient(t, s)
	code := newMessage(p.ID, "code-1")
	code.Kind, code.Body, code.Secret = "activation_code", "Votre code : "+carnet.SecretPlaceholder, []byte("sealed 123456")
	plain := newMessage(p.ID, "plain-1")
	update(t, s, func(tx carnet.Tx) error {
		if err := tx.EnqueueOutbox(ctx, code); err != nil {
			return err
		}
		return tx.EnqueueOutbox(ctx, plain)
	})
	secretOf := func(id string) []byte {
		t.Helper()
		var out []byte
		view(t, s, func(tx carnet.Tx) error {
			msgs, err := tx.ListOutbox(ctx, p.ID)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.ID == id {
					out = m.Secret
					return nil
				}
			}
			t.Errorf("message %s not listed", id)
			return nil
		})
		return out
	}
	if got := secretOf(code.ID); !bytes.Equal(got, code.Secret) {
		t.Errorf("listed secret %q, want %q", got, code.Secret)
	}
	if got := secretOf(plain.ID); len(got) != 0 {
		t.Errorf("a message without secret lists %q", got)
	}
	claim := func() map[string]*carnet.OutboxMessage {
		t.Helper()
		out := map[string]*carnet.OutboxMessage{}
		update(t, s, func(tx carnet.Tx) error {
			ms, err := tx.ClaimOutbox(ctx, 10, tx.Now().Add(time.Minute))
			for _, m := range ms {
				out[m.ID] = m
			}
			return err
		})
		return out
	}
	claimed := claim()
	c := claimed[code.ID]
	if c == nil || !bytes.Equal(c.Secret, code.Secret) || c.Body != code.Body {
		t.Fatalf("claimed: %+v", c)
	}
	if pc := claimed[plain.ID]; pc == nil || len(pc.Secret) != 0 {
		t.Errorf("claimed message without secret: %+v", pc)
	}

	// A failed attempt, retried now: the secret stays for the next attempt.
	update(t, s, func(tx carnet.Tx) error {
		c.Status, c.Attempts, c.LastError, c.NextAttemptAt = carnet.OutboxPending, 1, "smtp: 451 try later", tx.Now()
		return tx.UpdateOutbox(ctx, c)
	})
	if got := secretOf(code.ID); !bytes.Equal(got, code.Secret) {
		t.Errorf("secret after a retry: %q, want %q", got, code.Secret)
	}
	c = claim()[code.ID]
	if c == nil || !bytes.Equal(c.Secret, code.Secret) || c.Attempts != 1 || c.LastError != "smtp: 451 try later" {
		t.Fatalf("claimed again after a retry: %+v", c)
	}

	// Sent: the store forgets the secret, even if the message still holds it.
	sent := time.Now().UTC().Truncate(time.Microsecond)
	c.Status, c.Attempts, c.SentAt, c.LastError = carnet.OutboxSent, 2, &sent, ""
	c.Secret = slices.Clone(code.Secret)
	update(t, s, func(tx carnet.Tx) error { return tx.UpdateOutbox(ctx, c) })
	if got := secretOf(code.ID); len(got) != 0 {
		t.Errorf("secret kept after sending: %q", got)
	}
	view(t, s, func(tx carnet.Tx) error {
		msgs, err := tx.ListOutbox(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.ID == code.ID && (m.Status != carnet.OutboxSent || m.SentAt == nil || !m.SentAt.Equal(sent) || m.Body != code.Body) {
				t.Errorf("sent message: %+v", m)
			}
		}
		return nil
	})
}

func testPatientClosedAndBornBefore(t *testing.T, s carnet.Store) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	parent, otherParent := NewPatient(1), NewPatient(2)
	c1, c2, c3, o1 := NewPatient(3), NewPatient(4), NewPatient(5), NewPatient(6)
	c1.BirthDate, c2.BirthDate, c3.BirthDate, o1.BirthDate = day(2008, 6, 1), day(2008, 6, 2), day(2015, 1, 10), day(2000, 1, 1)
	for _, c := range []*carnet.Patient{c1, c2, c3} {
		c.RightsHolderID = parent.ID
	}
	o1.RightsHolderID = otherParent.ID
	// A patient created closed keeps the date.
	closedEarly := NewPatient(7)
	early := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	closedEarly.Status, closedEarly.ClosedAt = carnet.PatientClosed, &early
	update(t, s, func(tx carnet.Tx) error {
		for _, p := range []*carnet.Patient{parent, otherParent, c1, c2, c3, o1, closedEarly} {
			if err := tx.CreatePatient(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	listIDs := func(f carnet.PatientFilter) []string {
		t.Helper()
		var out []string
		view(t, s, func(tx carnet.Tx) error {
			ps, err := tx.ListPatients(ctx, f)
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return err
		})
		slices.Sort(out)
		return out
	}
	sorted := func(ps ...*carnet.Patient) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		f    carnet.PatientFilter
		want []string
	}{
		{carnet.PatientFilter{RightsHolderID: parent.ID, BornBefore: day(2008, 6, 2)}, sorted(c1)},
		{carnet.PatientFilter{RightsHolderID: parent.ID, BornBefore: day(2008, 6, 3)}, sorted(c1, c2)},
		{carnet.PatientFilter{RightsHolderID: parent.ID, BornBefore: day(2026, 1, 1)}, sorted(c1, c2, c3)},
		{carnet.PatientFilter{RightsHolderID: parent.ID, BornBefore: day(2008, 6, 1)}, nil},
		{carnet.PatientFilter{RightsHolderID: otherParent.ID, BornBefore: day(2008, 6, 2)}, sorted(o1)},
		{carnet.PatientFilter{BornBefore: day(2008, 6, 2)}, sorted(parent, otherParent, c1, o1, closedEarly)},
		{carnet.PatientFilter{BornBefore: day(1900, 1, 1)}, nil},
		{carnet.PatientFilter{RightsHolderID: parent.ID}, sorted(c1, c2, c3)},
	} {
		if got := listIDs(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("ListPatients(%+v): %v, want %v", tc.f, got, tc.want)
		}
	}

	// Closing: ClosedAt round-trips through every read of a patient.
	closed := time.Date(2026, 5, 4, 13, 14, 15, 161718000, time.UTC)
	parent.Status, parent.ClosedAt = carnet.PatientClosed, &closed
	update(t, s, func(tx carnet.Tx) error { return tx.UpdatePatient(ctx, parent) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Patient(ctx, parent.ID)
		if err != nil {
			return err
		}
		same(t, "closed patient", got, storedPatient(parent))
		sub, err := tx.Subject(ctx, parent.ID, "")
		if err != nil {
			return err
		}
		same(t, "closed patient's subject", sub.Patient, storedPatient(parent))
		byIdx, err := tx.PatientByNIRIndex(ctx, parent.NIRIndex)
		if err != nil || byIdx.ClosedAt == nil || !byIdx.ClosedAt.Equal(closed) {
			t.Errorf("closed patient by NIR index: %+v %v", byIdx, err)
		}
		ps, err := tx.ListPatients(ctx, carnet.PatientFilter{Status: carnet.PatientClosed})
		if err != nil || len(ps) != 2 {
			t.Fatalf("closed patients: %v %v", ps, err)
		}
		for _, p := range ps {
			want := parent
			if p.ID == closedEarly.ID {
				want = closedEarly
			}
			same(t, "listed closed patient", p, storedPatient(want))
		}
		got, err = tx.Patient(ctx, c1.ID)
		if err != nil || got.ClosedAt != nil {
			t.Errorf("open patient: %+v %v", got, err)
		}
		sub, err = tx.Subject(ctx, c1.ID, "")
		if err != nil || sub.Patient.ClosedAt != nil {
			t.Errorf("open patient's subject: %+v %v", sub, err)
		}
		return nil
	})
	// Reopened (within the grace period): no closing date any more.
	parent.Status, parent.ClosedAt = carnet.PatientActive, nil
	update(t, s, func(tx carnet.Tx) error { return tx.UpdatePatient(ctx, parent) })
	view(t, s, func(tx carnet.Tx) error {
		got, err := tx.Patient(ctx, parent.ID)
		if err != nil {
			return err
		}
		same(t, "reopened patient", got, storedPatient(parent))
		return nil
	})
}
