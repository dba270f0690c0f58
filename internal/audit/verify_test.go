package audit

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

const patient = "pat-1"

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// newEvent returns the i-th (from 1) unlinked event of a patient's history.
func newEvent(patientID string, i int) *carnet.AuditEvent {
	return &carnet.AuditEvent{
		ID: fmt.Sprintf("%s-evt-%03d", patientID, i), PatientID: patientID,
		Time:      t0.Add(time.Duration(i) * time.Minute),
		ActorKind: carnet.ActorProfessional, ActorID: "10001234567", ActorName: "Dr Marie Martin",
		ActorProfession: "10", ActorStructure: "Cabinet du Parc",
		Action: "document.read", TargetType: "document", TargetID: fmt.Sprintf("doc-%d", i),
		Mode: carnet.ModeNormal, Decision: carnet.DecisionAllow, Reason: "consent", RequestID: fmt.Sprintf("req-%d", i),
	}
}

// genuine returns an intact chain of n events.
func genuine(patientID string, n int) []*carnet.AuditEvent {
	var head carnet.AuditHead
	out := make([]*carnet.AuditEvent, n)
	for i := range out {
		e := newEvent(patientID, i+1)
		Link(e, head)
		e.PrevHash = slices.Clone(e.PrevHash) // as read from the database: no shared arrays
		head = carnet.AuditHead{PatientID: patientID, Seq: e.Seq, Hash: e.Hash}
		out[i] = e
	}
	return out
}

// relink recomputes every link and hash from index from on, as an attacker who rewrites the
// history after an edit would.
func relink(events []*carnet.AuditEvent, from int) {
	for i := from; i < len(events); i++ {
		head := carnet.AuditHead{}
		if i > 0 {
			head = carnet.AuditHead{Seq: events[i-1].Seq, Hash: events[i-1].Hash}
		}
		Link(events[i], head)
		events[i].PrevHash = slices.Clone(events[i].PrevHash)
	}
}

// rehash recomputes the hash of one event only.
func rehash(e *carnet.AuditEvent) { e.Hash = Hash(e) }

// anchorAt returns the anchor of the event with that Seq in an intact chain.
func anchorAt(events []*carnet.AuditEvent, seq int64) Anchor {
	for _, e := range events {
		if e.Seq == seq {
			return Anchor{PatientID: e.PatientID, Seq: seq, Hash: slices.Clone(e.Hash)}
		}
	}
	panic("no such seq")
}

func bySeq(events []*carnet.AuditEvent, seq int64) *carnet.AuditEvent {
	for _, e := range events {
		if e.Seq == seq {
			return e
		}
	}
	panic("no such seq")
}

// want is an expected problem: its kind, Seq, LastSeq (0: same as Seq) and OtherSeq (-1: any).
type want struct {
	kind  Kind
	seq   int64
	last  int64
	other int64
}

func w(k Kind, seq int64) want { return want{kind: k, seq: seq, other: -1} }

func wr(k Kind, seq, last int64) want { return want{kind: k, seq: seq, last: last, other: -1} }

func wo(k Kind, seq, other int64) want { return want{kind: k, seq: seq, other: other} }

func check(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	ok := len(got) == len(wants)
	for i := 0; ok && i < len(got); i++ {
		g, x := got[i], wants[i]
		last := x.last
		if last == 0 {
			last = x.seq
		}
		ok = g.Kind == x.kind && g.Seq == x.seq && g.LastSeq == last && (x.other < 0 || g.OtherSeq == x.other)
	}
	if !ok {
		var b strings.Builder
		for _, p := range got {
			fmt.Fprintf(&b, "\n  %s seq=%d..%d other=%d row=%d id=%q: %s", p.Kind, p.Seq, p.LastSeq, p.OtherSeq, p.Row, p.EventID, p.Message)
		}
		t.Fatalf("problems:%s\nwant %v", b.String(), wants)
	}
	for _, p := range got {
		if p.Message == "" || strings.Contains(p.Message, "anomalie "+string(p.Kind)) {
			t.Errorf("%s at %d: no proper French message: %q", p.Kind, p.Seq, p.Message)
		}
	}
}

// tamper is one case: it gets an intact chain of n events and returns the rows to verify and
// the anchors.
type tamper struct {
	name  string
	n     int
	do    func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor)
	wants []want
}

func noAnchor(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) { return ev, nil }

// edit changes a field of the event with that Seq.
func edit(seq int64) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		bySeq(ev, seq).ActorName = "Quelqu'un d'autre"
		return ev, nil
	}
}

func deleteSeq(seqs ...int64) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		return slices.DeleteFunc(ev, func(e *carnet.AuditEvent) bool { return slices.Contains(seqs, e.Seq) }), nil
	}
}

// swapSeq exchanges the Seq of two rows (as an UPDATE of the seq column would); the rows are
// then read in Seq order, as the store does.
func swapSeq(a, b int64) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		x, y := bySeq(ev, a), bySeq(ev, b)
		x.Seq, y.Seq = y.Seq, x.Seq
		slices.SortStableFunc(ev, func(p, q *carnet.AuditEvent) int { return int(p.Seq - q.Seq) })
		return ev, nil
	}
}

// swapContent exchanges every column of two rows except Seq, PrevHash and Hash.
func swapContent(a, b int64) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		x, y := bySeq(ev, a), bySeq(ev, b)
		xs, xp, xh := x.Seq, x.PrevHash, x.Hash
		ys, yp, yh := y.Seq, y.PrevHash, y.Hash
		*x, *y = *y, *x
		x.Seq, x.PrevHash, x.Hash = xs, xp, xh
		y.Seq, y.PrevHash, y.Hash = ys, yp, yh
		return ev, nil
	}
}

// swapRows exchanges two rows in the read order, leaving them intact.
func swapRows(a, b int64) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		i := slices.IndexFunc(ev, func(e *carnet.AuditEvent) bool { return e.Seq == a })
		j := slices.IndexFunc(ev, func(e *carnet.AuditEvent) bool { return e.Seq == b })
		ev[i], ev[j] = ev[j], ev[i]
		return ev, nil
	}
}

// forge returns a well-formed event with that Seq, linked to the event before it.
func forge(ev []*carnet.AuditEvent, seq int64) *carnet.AuditEvent {
	x := newEvent(patient, 900+int(seq))
	x.ActorName = "Faussaire"
	head := carnet.AuditHead{}
	if seq > 1 {
		p := bySeq(ev, seq-1)
		head = carnet.AuditHead{Seq: p.Seq, Hash: p.Hash}
	}
	Link(x, head)
	return x
}

// insertDup inserts a forged event with an existing Seq, before or after the genuine one.
func insertDup(seq int64, before bool) func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
	return func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
		x := forge(ev, seq)
		i := slices.IndexFunc(ev, func(e *carnet.AuditEvent) bool { return e.Seq == seq })
		if !before {
			i++
		}
		return slices.Insert(ev, i, x), nil
	}
}

func TestVerifyChain(t *testing.T) {
	cases := []tamper{
		{name: "intact", n: 10, do: noAnchor},
		{name: "intact with anchors", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			return ev, []Anchor{anchorAt(ev, 1), anchorAt(ev, 7), anchorAt(ev, 10), {PatientID: "other", Seq: 99, Hash: make([]byte, 32)}}
		}},
		{name: "empty", n: 0, do: noAnchor},
		{name: "one event", n: 1, do: noAnchor},
		{name: "empty but anchored", n: 5, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			return nil, []Anchor{anchorAt(ev, 5)}
		}, wants: []want{wr(KindTruncated, 1, 5)}},

		// Edited in place, hash not recomputed: a mismatch at that Seq, the chain still links.
		{name: "edited first", n: 10, do: edit(1), wants: []want{w(KindEdited, 1)}},
		{name: "edited middle", n: 10, do: edit(5), wants: []want{w(KindEdited, 5)}},
		{name: "edited last", n: 10, do: edit(10), wants: []want{w(KindEdited, 10)}},
		{name: "edited two apart", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 3).Reason = "x"
			bySeq(ev, 8).TargetID = "doc-999"
			return ev, nil
		}, wants: []want{w(KindEdited, 3), w(KindEdited, 8)}},
		{name: "edited consecutive", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 4).Reason = "x"
			bySeq(ev, 5).Reason = "y"
			bySeq(ev, 6).Reason = "z"
			return ev, nil
		}, wants: []want{w(KindEdited, 4), w(KindEdited, 5), w(KindEdited, 6)}},
		{name: "edited time", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 5).Time = bySeq(ev, 5).Time.Add(-24 * time.Hour)
			return ev, nil
		}, wants: []want{w(KindEdited, 5)}},

		// The stored hash column altered, content intact.
		{name: "hash column first", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 1).Hash = make([]byte, 32)
			return ev, nil
		}, wants: []want{w(KindEdited, 1)}},
		{name: "hash column middle", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 5).Hash = []byte("not a hash")
			return ev, nil
		}, wants: []want{w(KindEdited, 5)}},
		{name: "hash column last", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 10).Hash = nil
			return ev, nil
		}, wants: []want{w(KindEdited, 10)}},

		// Edited and re-hashed, the following links left alone: the next link breaks, and the
		// rewritten event is named.
		{name: "rewritten first", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			e := bySeq(ev, 1)
			e.Decision = carnet.DecisionDeny
			rehash(e)
			return ev, nil
		}, wants: []want{wo(KindRewritten, 1, 2)}},
		{name: "rewritten middle", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			e := bySeq(ev, 5)
			e.ActorName = "Dr Personne"
			rehash(e)
			return ev, nil
		}, wants: []want{wo(KindRewritten, 5, 6)}},
		{name: "rewritten last is invisible without a checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			e := bySeq(ev, 10)
			e.ActorName = "Dr Personne"
			rehash(e)
			return ev, nil
		}},
		{name: "rewritten last caught by checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 10)
			e := bySeq(ev, 10)
			e.ActorName = "Dr Personne"
			rehash(e)
			return ev, []Anchor{a}
		}, wants: []want{w(KindRewritten, 10)}},

		// The whole history rewritten after an edit: every hash recomputed, the chain links.
		// Only a signed checkpoint tells.
		{name: "history rewritten, no checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 5).ActorName = "Dr Personne"
			relink(ev, 4)
			return ev, nil
		}},
		{name: "history rewritten from the middle, checkpoint after", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a3, a7 := anchorAt(ev, 3), anchorAt(ev, 7)
			bySeq(ev, 5).ActorName = "Dr Personne"
			relink(ev, 4)
			return ev, []Anchor{a3, a7}
		}, wants: []want{w(KindRewritten, 7)}},
		{name: "history rewritten from the first, checkpoint at the end", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 10)
			bySeq(ev, 1).Action = "document.list"
			relink(ev, 0)
			return ev, []Anchor{a}
		}, wants: []want{w(KindRewritten, 10)}},
		{name: "history rewritten after deleting a row, checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 8)
			ev = slices.Delete(ev, 4, 5)
			relink(ev, 4)
			return ev, []Anchor{a}
		}, wants: []want{w(KindRewritten, 8)}},
		{name: "history rewritten shorter than the checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 10)
			ev = slices.Delete(ev, 4, 5)
			relink(ev, 4)
			return ev, []Anchor{a}
		}, wants: []want{wr(KindTruncated, 10, 10)}},

		// Deleted rows: a gap at their Seq.
		{name: "deleted first", n: 10, do: deleteSeq(1), wants: []want{w(KindDeleted, 1)}},
		{name: "deleted middle", n: 10, do: deleteSeq(5), wants: []want{w(KindDeleted, 5)}},
		{name: "deleted two", n: 10, do: deleteSeq(5, 6), wants: []want{wr(KindDeleted, 5, 6)}},
		{name: "deleted first two", n: 10, do: deleteSeq(1, 2), wants: []want{wr(KindDeleted, 1, 2)}},
		{name: "deleted apart", n: 10, do: deleteSeq(2, 7), wants: []want{w(KindDeleted, 2), w(KindDeleted, 7)}},
		{name: "deleted last is invisible without a checkpoint", n: 10, do: deleteSeq(10)},
		{name: "deleted last, checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 10)
			return ev[:9], []Anchor{a}
		}, wants: []want{wr(KindTruncated, 10, 10)}},
		{name: "deleted last, stored head", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			head := carnet.AuditHead{PatientID: patient, Seq: 10, Hash: ev[9].Hash}
			return ev[:9], []Anchor{AnchorFromHead(head)}
		}, wants: []want{wr(KindTruncated, 10, 10)}},
		{name: "deleted tail, older checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 8)
			return ev[:6], []Anchor{a}
		}, wants: []want{wr(KindTruncated, 7, 8)}},
		{name: "deleted anchored middle", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 5)
			ev, _ = deleteSeq(5)(ev)
			return ev, []Anchor{a}
		}, wants: []want{w(KindDeleted, 5)}},
		{name: "deleted and renumbered", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			ev = slices.Delete(ev, 4, 5) // Seq 5
			for _, e := range ev[4:] {
				e.Seq--
			}
			return ev, nil
		}, wants: []want{w(KindDeleted, 5), wr(KindEdited, 5, 9)}},

		// Inserted rows.
		{name: "inserted duplicate before first", n: 10, do: insertDup(1, true), wants: []want{w(KindInserted, 1)}},
		{name: "inserted duplicate after first", n: 10, do: insertDup(1, false), wants: []want{w(KindInserted, 1)}},
		{name: "inserted duplicate before middle", n: 10, do: insertDup(5, true), wants: []want{w(KindInserted, 5)}},
		{name: "inserted duplicate after middle", n: 10, do: insertDup(5, false), wants: []want{w(KindInserted, 5)}},
		{name: "inserted duplicate after last", n: 10, do: insertDup(10, false), wants: []want{w(KindInserted, 10)}},
		{name: "inserted duplicate before last, checkpoint", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			a := anchorAt(ev, 10)
			ev, _ = insertDup(10, true)(ev)
			return ev, []Anchor{a}
		}, wants: []want{w(KindInserted, 10)}},
		{name: "inserted with a broken link", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			x := newEvent(patient, 500)
			x.Seq, x.PrevHash = 5, make([]byte, 32)
			rehash(x)
			return slices.Insert(ev, 5, x), nil
		}, wants: []want{w(KindInserted, 5)}},
		{name: "inserted garbage", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			x := newEvent(patient, 500)
			x.Seq, x.PrevHash, x.Hash = 5, []byte("x"), []byte("y")
			return slices.Insert(ev, 4, x), nil
		}, wants: []want{w(KindInserted, 5)}},
		{name: "inserted and following renumbered", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			x := forge(ev, 5)
			for _, e := range ev[4:] {
				e.Seq++
			}
			return slices.Insert(ev, 4, x), nil
		}, wants: []want{w(KindInserted, 5), wr(KindEdited, 6, 11)}},
		{name: "appended with a broken link, checkpoint on the last", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			x := newEvent(patient, 11)
			x.Seq, x.PrevHash = 11, make([]byte, 32)
			rehash(x)
			return append(ev, x), []Anchor{anchorAt(ev, 10)}
		}, wants: []want{wo(KindRewritten, 11, 10)}},

		// Two rows exchanged their Seq: read in Seq order, each fails its hash but verifies
		// under the other's Seq.
		{name: "swapped first", n: 10, do: swapSeq(1, 2), wants: []want{wo(KindSwapped, 1, 2)}},
		{name: "swapped middle", n: 10, do: swapSeq(5, 6), wants: []want{wo(KindSwapped, 5, 6)}},
		{name: "swapped last", n: 10, do: swapSeq(9, 10), wants: []want{wo(KindSwapped, 9, 10)}},
		{name: "swapped two apart", n: 10, do: swapSeq(4, 6), wants: []want{wo(KindSwapped, 4, 6)}},
		{name: "swapped far apart", n: 10, do: swapSeq(2, 9), wants: []want{wo(KindSwapped, 2, 9)}},
		{name: "swapped first and last", n: 10, do: swapSeq(1, 10), wants: []want{wo(KindSwapped, 1, 10)}},
		{name: "swapped very far apart", n: 100, do: swapSeq(3, 97), wants: []want{wo(KindSwapped, 3, 97)}},

		// Two rows exchanged their content, Seq and hash columns left in place.
		{name: "contents swapped first", n: 10, do: swapContent(1, 2), wants: []want{wo(KindSwapped, 1, 2)}},
		{name: "contents swapped middle", n: 10, do: swapContent(5, 6), wants: []want{wo(KindSwapped, 5, 6)}},
		{name: "contents swapped last", n: 10, do: swapContent(9, 10), wants: []want{wo(KindSwapped, 9, 10)}},
		{name: "contents swapped apart", n: 10, do: swapContent(2, 8), wants: []want{wo(KindSwapped, 2, 8)}},

		// Intact rows read out of order.
		{name: "read out of order first", n: 10, do: swapRows(1, 2), wants: []want{w(KindOutOfOrder, 1)}},
		{name: "read out of order middle", n: 10, do: swapRows(5, 6), wants: []want{w(KindOutOfOrder, 5)}},
		{name: "read out of order last", n: 10, do: swapRows(9, 10), wants: []want{w(KindOutOfOrder, 9)}},
		{name: "read out of order, one row late", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			e := ev[3] // Seq 4, read after Seq 6
			ev = slices.Delete(ev, 3, 4)
			return slices.Insert(ev, 5, e), nil
		}, wants: []want{w(KindOutOfOrder, 4)}},

		// Rows naming another patient.
		{name: "patient ID changed first", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 1).PatientID = "pat-2"
			return ev, nil
		}, wants: []want{w(KindWrongPatient, 1)}},
		{name: "patient ID changed middle", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 5).PatientID = "pat-2"
			return ev, nil
		}, wants: []want{w(KindWrongPatient, 5)}},
		{name: "patient ID changed last", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 10).PatientID = "pat-2"
			return ev, nil
		}, wants: []want{w(KindWrongPatient, 10)}},
		{name: "another patient's event", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			other := genuine("pat-2", 5)
			return slices.Insert(ev, 5, other[4]), nil
		}, wants: []want{w(KindWrongPatient, 5)}},
		{name: "another patient's event first", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			other := genuine("pat-2", 1)
			return slices.Insert(ev, 0, other[0]), nil
		}, wants: []want{w(KindWrongPatient, 1)}},
		{name: "another patient's event after the last", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			other := genuine("pat-2", 12)
			return append(ev, other[11]), nil
		}, wants: []want{w(KindWrongPatient, 12)}},

		// A row moved to an unused Seq.
		{name: "moved to the end", n: 10, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 3).Seq = 15
			slices.SortStableFunc(ev, func(p, q *carnet.AuditEvent) int { return int(p.Seq - q.Seq) })
			return ev, nil
		}, wants: []want{wo(KindEdited, 15, 3)}},

		// Several tamperings in one chain are each named.
		{name: "several", n: 40, do: func(ev []*carnet.AuditEvent) ([]*carnet.AuditEvent, []Anchor) {
			bySeq(ev, 3).Reason = "modifié"
			ev, _ = deleteSeq(10)(ev)
			ev, _ = swapSeq(20, 21)(ev)
			e := bySeq(ev, 30)
			e.ActorName = "Dr Personne"
			rehash(e)
			ev, _ = insertDup(35, false)(ev)
			return ev, nil
		}, wants: []want{w(KindEdited, 3), w(KindDeleted, 10), wo(KindSwapped, 20, 21), wo(KindRewritten, 30, 31), w(KindInserted, 35)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, anchors := c.do(genuine(patient, c.n))
			check(t, VerifyChain(patient, ev, anchors), c.wants)
		})
	}
}

func TestVerifyChainRowsAndIDs(t *testing.T) {
	ev := genuine(patient, 10)
	bySeq(ev, 5).Reason = "modifié"
	got := VerifyChain(patient, ev, nil)
	if len(got) != 1 || got[0].Row != 4 || got[0].EventID != ev[4].ID {
		t.Fatalf("got %+v, want row 4 and ID %s", got, ev[4].ID)
	}
	ev = genuine(patient, 10)
	got = VerifyChain(patient, slices.Delete(ev, 4, 5), nil)
	if len(got) != 1 || got[0].Row != -1 || got[0].EventID != "" {
		t.Fatalf("deleted: got %+v, want no row", got)
	}
}

func TestVerifyChainMessages(t *testing.T) {
	ev := genuine(patient, 10)
	ev = slices.Delete(ev, 4, 6)
	got := VerifyChain(patient, ev, nil)
	if len(got) != 1 || got[0].Message != "les événements n° 5 à 6 ont été supprimés (2 événements)" {
		t.Fatalf("got %+v", got)
	}
	if s := got[0].String(); s != "deleted : "+got[0].Message {
		t.Errorf("String() = %q", s)
	}
}

func TestVerifyChainLong(t *testing.T) {
	// A long chain streamed through the verifier, with tamperings spread along it, some
	// separated by more than the analysis window.
	const n = 20000
	ev := genuine(patient, n)
	anchors := []Anchor{anchorAt(ev, 5000), anchorAt(ev, n)}
	bySeq(ev, 100).Reason = "modifié"
	ev, _ = swapSeq(2000, 2001)(ev)
	ev, _ = swapSeq(3000, 9000)(ev)
	ev, _ = deleteSeq(12000, 12001, 12002)(ev)
	ev = ev[:len(ev)-2]
	v := NewVerifier(patient, anchors)
	for _, e := range ev {
		v.Add(e)
	}
	if len(v.ring) > ringSize {
		t.Errorf("ring holds %d events", len(v.ring))
	}
	check(t, v.Finish(), []want{
		w(KindEdited, 100), wo(KindSwapped, 2000, 2001), wo(KindSwapped, 3000, 9000),
		wr(KindDeleted, 12000, 12002), wr(KindTruncated, n-1, n),
	})
}

func TestVerifyChainRenumberedLong(t *testing.T) {
	// Deleting an early row and renumbering every later one: the renumbering is reported as
	// one range, across the analysis windows.
	const n = 2000
	ev := genuine(patient, n)
	ev = slices.Delete(ev, 9, 10) // Seq 10
	for _, e := range ev[9:] {
		e.Seq--
	}
	check(t, VerifyChain(patient, ev, []Anchor{anchorAt(genuine(patient, n), n)}), []want{
		w(KindDeleted, 10), wr(KindEdited, 10, n-1),
	})
}

func TestVerifyChainTooMany(t *testing.T) {
	ev := genuine(patient, maxProblems+5)
	for _, e := range ev {
		e.Reason = "modifié"
	}
	got := VerifyChain(patient, ev, nil)
	if len(got) != maxProblems+1 || got[len(got)-1].Kind != KindTooMany {
		t.Fatalf("got %d problems, last %+v", len(got), got[len(got)-1])
	}
	if got[len(got)-1].Message != "5 autres anomalies non détaillées" {
		t.Errorf("message %q", got[len(got)-1].Message)
	}
}

func TestVerifyChainNil(t *testing.T) {
	ev := genuine(patient, 3)
	got := VerifyChain(patient, []*carnet.AuditEvent{ev[0], nil, ev[1], ev[2]}, nil)
	check(t, got, nil)
}

func TestVerifySeq(t *testing.T) {
	ev := genuine(patient, 10)
	bySeq(ev, 4).Reason = "modifié"
	seq := func(fail bool) iter.Seq2[*carnet.AuditEvent, error] {
		return func(yield func(*carnet.AuditEvent, error) bool) {
			for i, e := range ev {
				if fail && i == 6 {
					yield(nil, errors.New("lecture impossible"))
					return
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
	got, err := VerifySeq(patient, seq(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, got, []want{w(KindEdited, 4)})
	got, err = VerifySeq(patient, seq(true), []Anchor{anchorAt(genuine(patient, 10), 10)})
	if err == nil || got != nil {
		t.Fatalf("got %v, %v; want the read error and no problems", got, err)
	}
}

func TestProblemsError(t *testing.T) {
	if err := ProblemsError(patient, nil); err != nil {
		t.Fatalf("no problem: %v", err)
	}
	ev := genuine(patient, 10)
	ev = slices.Delete(ev, 2, 3)
	bySeq(ev, 7).Reason = "x"
	err := ProblemsError(patient, VerifyChain(patient, ev, nil))
	if carnet.ErrorCode(err) != carnet.EINTEGRITY {
		t.Fatalf("code %q", carnet.ErrorCode(err))
	}
	if msg := carnet.ErrorMessage(err); !strings.Contains(msg, "2 anomalies") || !strings.Contains(msg, "n° 3") {
		t.Errorf("message %q", msg)
	}
}

func BenchmarkVerifyChain(b *testing.B) {
	ev := genuine(patient, 10000)
	b.ResetTimer()
	for b.Loop() {
		if p := VerifyChain(patient, ev, nil); len(p) != 0 {
			b.Fatal(p)
		}
	}
}

func TestVerifyChainReadEarly(t *testing.T) {
	ev := genuine(patient, 10)
	e := ev[6] // Seq 7, read right after Seq 3
	ev = slices.Delete(ev, 6, 7)
	ev = slices.Insert(ev, 3, e)
	check(t, VerifyChain(patient, ev, nil), []want{w(KindOutOfOrder, 7)})
}

// TestVerifyChainEverywhere applies each tampering at every position (every pair for swaps) of a
// chain whose stored head is passed as an anchor, and expects exactly the problem it names.
func TestVerifyChainEverywhere(t *testing.T) {
	const n = 12
	type op struct {
		name  string
		do    func(ev []*carnet.AuditEvent) []*carnet.AuditEvent
		wants []want
	}
	var ops []op
	for k := int64(1); k <= n; k++ {
		ops = append(ops,
			op{fmt.Sprintf("edit %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				bySeq(ev, k).TargetID = "autre"
				return ev
			}, []want{w(KindEdited, k)}},
			op{fmt.Sprintf("hash column %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				bySeq(ev, k).Hash[0] ^= 1
				return ev
			}, []want{w(KindEdited, k)}},
			op{fmt.Sprintf("rewrite %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				e := bySeq(ev, k)
				e.TargetID = "autre"
				rehash(e)
				return ev
			}, []want{w(KindRewritten, k)}},
			op{fmt.Sprintf("patient %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				bySeq(ev, k).PatientID = "pat-2"
				return ev
			}, []want{w(KindWrongPatient, k)}},
			op{fmt.Sprintf("move %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				bySeq(ev, k).Seq = n + 5
				slices.SortStableFunc(ev, func(p, q *carnet.AuditEvent) int { return int(p.Seq - q.Seq) })
				return ev
			}, []want{wo(KindEdited, n+5, k)}},
			op{fmt.Sprintf("insert before %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				ev, _ = insertDup(k, true)(ev)
				return ev
			}, []want{w(KindInserted, k)}},
			op{fmt.Sprintf("insert after %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				ev, _ = insertDup(k, false)(ev)
				return ev
			}, []want{w(KindInserted, k)}},
		)
		if k < n {
			ops = append(ops, op{fmt.Sprintf("delete %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				ev, _ = deleteSeq(k)(ev)
				return ev
			}, []want{w(KindDeleted, k)}})
		} else {
			ops = append(ops, op{fmt.Sprintf("delete %d", k), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
				return ev[:n-1]
			}, []want{w(KindTruncated, k)}})
		}
		for j := k + 1; j <= n; j++ {
			ops = append(ops,
				op{fmt.Sprintf("swap %d %d", k, j), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
					ev, _ = swapSeq(k, j)(ev)
					return ev
				}, []want{wo(KindSwapped, k, j)}},
				op{fmt.Sprintf("swap contents %d %d", k, j), func(ev []*carnet.AuditEvent) []*carnet.AuditEvent {
					ev, _ = swapContent(k, j)(ev)
					return ev
				}, []want{wo(KindSwapped, k, j)}},
			)
		}
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			ev := genuine(patient, n)
			head := AnchorFromHead(carnet.AuditHead{PatientID: patient, Seq: n, Hash: slices.Clone(ev[n-1].Hash)})
			check(t, VerifyChain(patient, o.do(ev), []Anchor{head}), o.wants)
		})
	}
}

// TestVerifyChainReadOrder exchanges two intact rows in the read order: only out-of-order
// problems, naming one or both rows.
func TestVerifyChainReadOrder(t *testing.T) {
	const n = 12
	for i := int64(1); i <= n; i++ {
		for j := i + 1; j <= n; j++ {
			ev := genuine(patient, n)
			ev, _ = swapRows(i, j)(ev)
			got := VerifyChain(patient, ev, []Anchor{anchorAt(genuine(patient, n), n)})
			if len(got) == 0 {
				t.Errorf("rows %d and %d: no problem", i, j)
			}
			for _, p := range got {
				if p.Kind != KindOutOfOrder || (p.Seq != i && p.Seq != j && (j-i < 2 || p.Seq < i || p.Seq > j)) {
					t.Errorf("rows %d and %d: %s at %d: %s", i, j, p.Kind, p.Seq, p.Message)
				}
			}
		}
	}
}

// TestVerifyChainRandom combines up to five random tamperings on distinct rows of a chain whose
// head is anchored: each must be reported with its kind at its Seq, and nothing far from them.
func TestVerifyChainRandom(t *testing.T) {
	const n, runs = 60, 3000
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range runs {
		ev := genuine(patient, n)
		head := anchorAt(ev, n)
		var touched []int64
		var log []string
		var expect []want // kind and Seq; other holds an alternative Seq (0: none)
		var reads []int64
		k := 1 + rng.IntN(5)
		used := map[int64]bool{}
		pick := func() int64 {
			for {
				s := 1 + rng.Int64N(n)
				ok := true
				for d := int64(-1); d <= 1; d++ {
					ok = ok && !used[s+d]
				}
				if ok {
					used[s] = true
					return s
				}
			}
		}
		for range k {
			s := pick()
			switch op := rng.IntN(9); op {
			case 0:
				bySeq(ev, s).Reason = "modifié"
				log = append(log, fmt.Sprintf("edit %d", s))
				expect = append(expect, want{kind: KindEdited, seq: s})
			case 1:
				e := bySeq(ev, s)
				e.Reason = "modifié"
				rehash(e)
				log = append(log, fmt.Sprintf("rewrite %d", s))
				expect = append(expect, want{kind: KindRewritten, seq: s})
			case 2:
				ev, _ = deleteSeq(s)(ev)
				log = append(log, fmt.Sprintf("delete %d", s))
				if s == n {
					expect = append(expect, want{kind: KindTruncated, seq: s})
				} else {
					expect = append(expect, want{kind: KindDeleted, seq: s})
				}
			case 3:
				if s == n {
					continue
				}
				used[s+1] = true
				ev, _ = swapSeq(s, s+1)(ev)
				touched = append(touched, s+1)
				log = append(log, fmt.Sprintf("swap %d %d", s, s+1))
				expect = append(expect, want{kind: KindSwapped, seq: s})
			case 4:
				ev, _ = insertDup(s, rng.IntN(2) == 0)(ev)
				log = append(log, fmt.Sprintf("insert %d", s))
				expect = append(expect, want{kind: KindInserted, seq: s})
			case 5:
				bySeq(ev, s).PatientID = "pat-2"
				log = append(log, fmt.Sprintf("patient %d", s))
				expect = append(expect, want{kind: KindWrongPatient, seq: s})
			case 6:
				bySeq(ev, s).Hash = []byte("x")
				log = append(log, fmt.Sprintf("hash %d", s))
				expect = append(expect, want{kind: KindEdited, seq: s})
			case 7:
				if s == n {
					continue
				}
				used[s+1] = true
				ev, _ = swapContent(s, s+1)(ev)
				touched = append(touched, s+1)
				log = append(log, fmt.Sprintf("swap contents %d %d", s, s+1))
				expect = append(expect, want{kind: KindSwapped, seq: s})
			case 8:
				if s == n {
					continue
				}
				used[s+1] = true
				reads = append(reads, s) // applied last: other tamperings re-sort the rows
				touched = append(touched, s+1)
				log = append(log, fmt.Sprintf("read order %d %d", s, s+1))
				expect = append(expect, want{kind: KindOutOfOrder, seq: s, other: s + 1})
			}
			touched = append(touched, s)
		}
		if len(log) == 0 {
			continue
		}
		for _, s := range reads {
			ev, _ = swapRows(s, s+1)(ev)
		}
		got := VerifyChain(patient, ev, []Anchor{head})
		if len(got) == 0 {
			t.Fatalf("run %d %v: nothing reported", run, log)
		}
		for _, x := range expect {
			if !slices.ContainsFunc(got, func(p Problem) bool {
				return p.Kind == x.kind && (p.Seq == x.seq || (x.other > 0 && p.Seq == x.other))
			}) {
				t.Errorf("run %d %v: no %s at %d in %v", run, log, x.kind, x.seq, got)
			}
		}
		for _, p := range got {
			near := false
			for _, s := range touched {
				near = near || (s >= p.Seq-1 && s <= p.LastSeq+1)
			}
			if !near {
				t.Errorf("run %d %v: %s at %d..%d: %s", run, log, p.Kind, p.Seq, p.LastSeq, p.Message)
			}
		}
	}
}

// mutate applies raw changes to a chain, three bytes per change: what, which row, a value.
func mutate(ev []*carnet.AuditEvent, ops []byte) []*carnet.AuditEvent {
	for ; len(ops) >= 3 && len(ev) > 0; ops = ops[3:] {
		i, b := int(ops[1])%len(ev), ops[2]
		e := ev[i]
		switch ops[0] % 10 {
		case 0:
			e.Reason = fmt.Sprintf("motif %d", b)
		case 1:
			e.Seq = int64(b % 20)
		case 2:
			if len(e.Hash) > 0 {
				e.Hash = slices.Clone(e.Hash)
				e.Hash[int(b)%len(e.Hash)] ^= 1 << (b % 8)
			}
		case 3:
			if len(e.PrevHash) > 0 {
				e.PrevHash = slices.Clone(e.PrevHash)
				e.PrevHash[int(b)%len(e.PrevHash)] ^= 1 << (b % 8)
			}
		case 4:
			ev = slices.Delete(ev, i, i+1)
		case 5:
			c := *e
			ev = slices.Insert(ev, int(b)%(len(ev)+1), &c)
		case 6:
			j := int(b) % len(ev)
			ev[i], ev[j] = ev[j], ev[i]
		case 7:
			rehash(e)
		case 8:
			e.PatientID = "pat-2"
		case 9:
			relink(ev, i)
		}
	}
	return ev
}

func sameEvent(a, b *carnet.AuditEvent) bool {
	return a.ID == b.ID && a.PatientID == b.PatientID && a.Seq == b.Seq && a.Reason == b.Reason &&
		bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.PrevHash, b.PrevHash) && a.Time.Equal(b.Time)
}

// FuzzVerifyChain mutates a chain at random: the verifier must not panic, and with the stored
// head as an anchor it must report any change, except events appended with correct links, which
// no hash chain can tell from genuine ones.
func FuzzVerifyChain(f *testing.F) {
	f.Add(uint8(12), []byte{0, 4, 1})
	f.Add(uint8(12), []byte{4, 5, 0, 6, 2, 3})
	f.Add(uint8(12), []byte{1, 3, 15, 5, 7, 200, 9, 2, 0})
	f.Add(uint8(30), []byte{5, 29, 30, 9, 29, 0, 8, 1, 0, 2, 10, 77})
	f.Add(uint8(3), []byte{6, 0, 2, 7, 1, 0, 3, 2, 5})
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		n := int(size%40) + 1
		orig := genuine(patient, n)
		ev := genuine(patient, n)
		head := anchorAt(orig, int64(n))
		ev = mutate(ev, ops)
		got := VerifyChain(patient, ev, []Anchor{head})
		prefix := len(ev) >= n
		for i := 0; prefix && i < n; i++ {
			prefix = sameEvent(ev[i], orig[i])
		}
		if prefix && len(ev) == n && len(got) > 0 {
			t.Fatalf("intact chain, problems %v", got)
		}
		if !prefix && len(got) == 0 {
			t.Fatalf("changed chain (%d rows), no problem", len(ev))
		}
		for _, p := range got {
			if p.Message == "" {
				t.Fatalf("no message: %+v", p)
			}
		}
	})
}

func TestVerifyChainDisagreeingCheckpoints(t *testing.T) {
	// Two signed checkpoints attest different hashes for event 6: the history was rewritten
	// between them (and the later one signed the rewritten state).
	ev := genuine(patient, 10)
	before := anchorAt(ev, 6)
	bySeq(ev, 4).Reason = "modifié"
	relink(ev, 3)
	after := anchorAt(ev, 6)
	check(t, VerifyChain(patient, ev, []Anchor{before, after}), []want{w(KindRewritten, 6)})
}

func TestKindDescription(t *testing.T) {
	for _, k := range []Kind{KindEdited, KindRewritten, KindDeleted, KindInserted, KindSwapped, KindOutOfOrder,
		KindTruncated, KindWrongPatient, KindBrokenLink, KindTooMany} {
		if d := k.Description(); d == "" || d == string(k) {
			t.Errorf("%s: no description", k)
		}
	}
	if Kind("x").Description() != "x" {
		t.Errorf("unknown kind")
	}
}
