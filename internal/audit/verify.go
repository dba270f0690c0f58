package audit

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/carnet-sante/carnet"
)

// Kind classifies a problem found in a chain. Its value is a stable English code, safe for logs
// and scripts; Problem.Message carries the French explanation.
type Kind string

// Kinds of problems, each the name of a tampering rather than a bare "broken chain".
const (
	// KindEdited: a row's content no longer matches its hash (modified in place without
	// recomputing the hash), or its Seq or stored hash column was changed.
	KindEdited Kind = "edited"
	// KindRewritten: a row matches its own recomputed hash, but the next event's link or a
	// signed checkpoint says the original was different: modified, then re-hashed.
	KindRewritten Kind = "rewritten"
	// KindDeleted: events are missing: a gap in Seq that the links confirm.
	KindDeleted Kind = "deleted"
	// KindInserted: an extra row: it duplicates another event's Seq or the chain goes around it.
	KindInserted Kind = "inserted"
	// KindSwapped: two rows exchanged their Seq (and so their place in the chain).
	KindSwapped Kind = "swapped"
	// KindOutOfOrder: intact rows read in an order that is not the chain's.
	KindOutOfOrder Kind = "out_of_order"
	// KindTruncated: the chain ends before the last event that a signed checkpoint attests.
	KindTruncated Kind = "truncated"
	// KindWrongPatient: a row names another patient.
	KindWrongPatient Kind = "wrong_patient"
	// KindBrokenLink: a link is broken and no better explanation was found.
	KindBrokenLink Kind = "broken_link"
	// KindTooMany: the verifier stopped detailing problems; the message gives their number.
	KindTooMany Kind = "too_many"
)

// kindDescriptions are the English descriptions of the kinds.
var kindDescriptions = map[Kind]string{
	KindEdited:       "a row was modified in place: its content, Seq, patient or hash column no longer matches",
	KindRewritten:    "a row was modified and re-hashed: the next link or a signed checkpoint disagrees",
	KindDeleted:      "rows are missing: a gap in Seq",
	KindInserted:     "an extra row: a duplicate Seq or a row the chain goes around",
	KindSwapped:      "two rows exchanged their Seq or their content",
	KindOutOfOrder:   "intact rows read in an order that is not the chain's",
	KindTruncated:    "the chain ends before the last event a signed checkpoint attests",
	KindWrongPatient: "a row names another patient",
	KindBrokenLink:   "a link is broken",
	KindTooMany:      "more problems than the verifier details",
}

// Description returns an English description of the kind, for logs and operators.
func (k Kind) Description() string {
	if d, ok := kindDescriptions[k]; ok {
		return d
	}
	return string(k)
}

// Problem is one anomaly of a patient's chain.
type Problem struct {
	Kind     Kind
	Seq      int64  // the event concerned, or the first of a range; 0 when none
	LastSeq  int64  // the last event of a range (Seq for a single event)
	OtherSeq int64  // the other event involved: swap partner, original number of a moved row...
	Row      int64  // 0-based index of the row concerned in the input; -1 when no row exists
	EventID  string // ID of the row concerned, "" when no row exists
	Message  string // French, for the operator and the patient
}

// String returns the kind code followed by the French message.
func (p Problem) String() string { return string(p.Kind) + " : " + p.Message }

// ProblemsError returns nil when there is no problem, else an EINTEGRITY error whose message
// counts the problems and quotes the first one.
func ProblemsError(patientID string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("historique d'activité altéré (patient %s) : %d anomalie", patientID, len(problems))
	if len(problems) > 1 {
		msg += "s"
	}
	return carnet.Errorf(carnet.EINTEGRITY, "%s ; %s", msg, problems[0].Message)
}

// Anchor is a chain head as attested by a signed checkpoint: the patient's chain had reached
// event Seq, whose hash was Hash.
type Anchor struct {
	PatientID string
	Seq       int64
	Hash      []byte
}

// AnchorFromHead returns the anchor of a stored chain head. Passing the current head (from the
// heads table, unsigned) to VerifyChain along with the signed anchors catches a tail deleted since
// the last checkpoint, unless the head was rewritten too.
func AnchorFromHead(h carnet.AuditHead) Anchor {
	return Anchor{PatientID: h.PatientID, Seq: h.Seq, Hash: h.Hash}
}

// VerifyChain checks the events of one patient, as read from the store in Seq order, against
// the hash chain and the anchors of that patient (anchors of other patients are ignored). It
// returns the problems found, ordered by Seq; none for an intact chain. It holds at most a few
// hundred events at a time: see Verifier to stream a long chain.
func VerifyChain(patientID string, events []*carnet.AuditEvent, anchors []Anchor) []Problem {
	v := NewVerifier(patientID, anchors)
	for _, e := range events {
		v.Add(e)
	}
	return v.Finish()
}

// VerifySeq is VerifyChain over a sequence of events and read errors, such as a store cursor
// paging through the chain. It stops at the first error and returns it, with no problems: a
// partly read chain would look truncated. A cursor that pages on "Seq > last Seq seen" skips a
// second row with the same Seq (an insertion) at a page boundary: page on the row's key instead.
func VerifySeq(patientID string, events iter.Seq2[*carnet.AuditEvent, error], anchors []Anchor) ([]Problem, error) {
	v := NewVerifier(patientID, anchors)
	for e, err := range events {
		if err != nil {
			return nil, err
		}
		v.Add(e)
	}
	return v.Finish(), nil
}

// Tuning of the verifier: memory stays bounded by these, whatever the length of the chain.
const (
	ringSize    = 16    // accepted events kept as context for the analysis of an anomaly
	maxIncident = 256   // rows held before an anomaly is analysed without resynchronisation
	maxRegistry = 64    // replaced rows and short gaps remembered, to recognise distant moves
	maxGapSpan  = 16    // gaps longer than this are not remembered
	maxProblems = 10000 // problems detailed; the rest are counted
	maxCands    = 48    // alternative Seq values tried to explain a row that fails its hash
)

// Verifier checks a chain streamed one event at a time, in the order the store returns them
// (Seq order). Healthy events cost one hash each. When something is off, the verifier buffers
// rows until the chain links again over two consecutive intact events, then analyses that
// stretch together with the last accepted events:
//
//   - each row that fails its hash gets an explanation: its hash verifies with the expected
//     patient ID (the patient column was changed), or another row links to its recomputed hash
//     (the hash column was changed), or it verifies under another Seq (renumbered or swapped);
//     otherwise its content was changed;
//   - the chain is rebuilt from the hash links (each PrevHash naming the previous event's hash),
//     preferring the path that reaches the intact stretch, intact rows and anchored rows;
//   - rows off that path are inserted (or another patient's); breaks on it are deletions where
//     Seq values are missing, a re-hashed event where none are (the event before the break, or
//     the one after when a signed anchor confirms the one before); rows read in another order
//     than the chain's are out of order.
//
// So an edited row is one mismatch at its Seq with the chain still linking; a deleted row is a
// gap at its Seq; two rows that exchanged their Seq are a swap, not four broken links. Short
// gaps and replaced rows are remembered, so that a row moved or swapped far away is recognised
// when it shows up. Signed anchors catch what links cannot: a history rewritten and re-hashed to
// the end, and a truncated tail. Without an anchor past them, a re-hashed last event and deleted
// last events are undetectable, as are events appended with correct links.
//
// A Verifier is for one chain and one goroutine; it keeps references to recent events, which
// the caller must not modify.
type Verifier struct {
	patientID string
	anchors   map[int64][][]byte
	checked   map[int64]bool // anchored Seq values met by an accepted event
	pos       int64          // index of the next row
	maxSeq    int64          // highest Seq of this patient seen
	ring      []*node        // accepted events, oldest first; ring[0] is a trusted boundary
	buf       []*node        // rows of the anomaly being observed
	delta     int64          // last renumbering offset found, tried first on the next rows
	orphans   []orphan
	early     []orphan // intact rows read ahead of their place, reported as inserted so far
	gaps      []*gap
	recs      []*record
	dropped   int
}

// NewVerifier returns a verifier for the chain of patientID, with the anchors of signed
// checkpoints (anchors of other patients are ignored).
func NewVerifier(patientID string, anchors []Anchor) *Verifier {
	v := &Verifier{
		patientID: patientID,
		anchors:   make(map[int64][][]byte),
		checked:   make(map[int64]bool),
		ring:      []*node{{genesis: true, link: zeroHash, pos: -1}},
	}
	for _, a := range anchors {
		if a.PatientID == patientID && a.Seq > 0 {
			v.anchors[a.Seq] = append(v.anchors[a.Seq], a.Hash)
		}
	}
	return v
}

// node is a row under analysis, with the best explanation found for it.
type node struct {
	e        *carnet.AuditEvent
	pos      int64
	seq      int64  // Seq as stored
	prev     []byte // PrevHash as stored
	computed []byte // Hash(e)
	selfOK   bool   // computed equals the stored hash
	foreign  bool   // another patient's ID
	genesis  bool   // the virtual event 0 before the first

	fix  fix
	gseq int64  // the Seq the event had in the genuine chain
	link []byte // the hash the next genuine event links to

	linked  bool // accepted because it links to the accepted event before it
	settled bool
	problem bool // a problem names this row
	main    bool // on the reconstructed chain
}

// fix is what was changed in a row that fails its hash, as far as the analysis can tell.
type fix uint8

const (
	fixNone    fix = iota
	fixContent     // the content changed: the stored hash is still what the next event links to
	fixHash        // the stored hash changed: the content is intact and the next event links to it
	fixSeq         // the Seq changed: the hash verifies with another Seq (gseq)
	fixPatient     // the patient ID changed: the hash verifies with the expected patient
)

// record is a problem before rendering; records of a range can be merged or shrunk.
type record struct {
	kind      Kind
	variant   string
	seq, last int64
	other     int64
	row       int64
	id        string
	delta     int64
	removed   bool
}

// orphan is a replaced, edited or moved row: its content may be an event moved from elsewhere,
// whose partner shows up later.
type orphan struct {
	n   *node
	rec *record
}

// gap is a short deleted range: the events may show up later, read out of order or under
// another Seq. wantPrev is the link of the event before the gap, wantNext the PrevHash of the
// event after it: the genuine links of the first and last missing events.
type gap struct {
	from, to           int64
	wantPrev, wantNext []byte
	rec                *record
}

// Add verifies the next row. A nil row counts as a row but is otherwise ignored.
func (v *Verifier) Add(e *carnet.AuditEvent) {
	pos := v.pos
	v.pos++
	if e == nil {
		return
	}
	n := &node{e: e, pos: pos, seq: e.Seq, prev: e.PrevHash, computed: Hash(e)}
	n.selfOK = bytes.Equal(n.computed, e.Hash)
	n.foreign = e.PatientID != v.patientID
	n.gseq, n.link = n.seq, e.Hash
	if !n.foreign && n.seq > v.maxSeq {
		v.maxSeq = n.seq
	}
	if len(v.buf) == 0 && clean(v.ring[len(v.ring)-1], n) {
		n.linked = true
		v.push(n)
		return
	}
	v.buf = append(v.buf, n)
	k := len(v.buf)
	if k >= 2 && v.buf[k-2].selfOK && !v.buf[k-2].foreign && clean(v.buf[k-2], v.buf[k-1]) {
		rows, s1, s2 := v.buf[:k-2], v.buf[k-2], v.buf[k-1]
		v.buf = nil
		v.resolve(rows, s1)
		s2.linked = true
		v.push(s2)
		return
	}
	if k >= maxIncident {
		rows := v.buf
		v.buf = nil
		v.resolve(rows, nil)
	}
}

// clean reports whether n follows prev in an intact chain.
func clean(prev, n *node) bool {
	return n.selfOK && !n.foreign && n.seq == prev.seq+1 && bytes.Equal(n.prev, prev.link)
}

// push appends an accepted event to the ring, settling the oldest.
func (v *Verifier) push(n *node) {
	v.ring = append(v.ring, n)
	if len(v.ring) > ringSize {
		v.settle(v.ring[0])
		v.ring = slices.Delete(v.ring, 0, 1)
	}
}

// settle checks an event leaving the analysis window against the anchors.
func (v *Verifier) settle(n *node) {
	if n.genesis || n.settled {
		return
	}
	n.settled = true
	if n.problem || n.foreign {
		return
	}
	hashes, ok := v.anchors[n.gseq]
	if !ok {
		return
	}
	v.checked[n.gseq] = true
	if !allEqual(hashes, n.link) {
		n.problem = true
		v.report(&record{kind: KindRewritten, variant: "anchor", seq: n.gseq, row: n.pos, id: n.e.ID})
	}
}

// allEqual reports whether every hash of a non-empty list is h. Two checkpoints that disagree on
// an event mean that the chain was rewritten between them: neither confirms it.
func allEqual(hashes [][]byte, h []byte) bool {
	for _, x := range hashes {
		if !bytes.Equal(x, h) {
			return false
		}
	}
	return len(hashes) > 0
}

// anchored reports whether signed anchors confirm n.
func (v *Verifier) anchored(n *node) bool {
	return !n.genesis && allEqual(v.anchors[n.gseq], n.link)
}

func (v *Verifier) report(r *record) *record {
	if len(v.recs) >= maxProblems {
		v.dropped++
		return r
	}
	v.recs = append(v.recs, r)
	return r
}

// Finish analyses what is left, checks the anchors past the last event and returns the
// problems, ordered by Seq. The Verifier must not be used afterwards.
func (v *Verifier) Finish() []Problem {
	if len(v.buf) > 0 {
		rows := v.buf
		v.buf = nil
		v.resolve(rows, nil)
	}
	// Intact rows read ahead of their place that continue the chain past its last event.
	slices.SortFunc(v.early, func(x, y orphan) int { return cmp.Compare(x.n.gseq, y.n.gseq) })
	cur := v.ring[len(v.ring)-1]
	for _, o := range v.early {
		if o.n.gseq == cur.gseq+1 && bytes.Equal(o.n.prev, cur.link) {
			o.rec.removed = true
			v.problemAt(o.n, KindOutOfOrder, "", 0)
			cur = o.n
		}
	}
	for _, n := range v.ring {
		v.settle(n)
	}
	var truncTo int64
	for seq := range v.anchors {
		switch {
		case seq > v.maxSeq:
			truncTo = max(truncTo, seq)
		case !v.checked[seq] && !v.covered(seq):
			v.report(&record{kind: KindRewritten, variant: "anchor_missing", seq: seq, row: -1})
		}
	}
	if truncTo > 0 {
		v.report(&record{kind: KindTruncated, seq: v.maxSeq + 1, last: truncTo, other: v.maxSeq, row: -1})
	}
	return v.render()
}

// covered reports whether a live problem already names seq.
func (v *Verifier) covered(seq int64) bool {
	for _, r := range v.recs {
		if r.removed {
			continue
		}
		last := max(r.last, r.seq)
		if (seq >= r.seq && seq <= last) || r.other == seq {
			return true
		}
	}
	return false
}

// resolve analyses an anomaly: rows are the buffered rows, sink (optional) the first row of the
// intact stretch that follows them, which the analysis takes as genuine.
func (v *Verifier) resolve(rows []*node, sink *node) {
	// The context: the accepted events since the last trusted boundary. They are analysed again,
	// since a row accepted as linked may turn out to be an insertion that the chain goes around.
	b := len(v.ring) - 1
	for b > 0 && v.ring[b].linked {
		b--
	}
	a := v.ring[b]
	all := make([]*node, 0, len(v.ring)-b+len(rows)+1)
	all = append(all, v.ring[b:]...)
	all = append(all, rows...)
	if sink != nil {
		all = append(all, sink)
	}
	v.explain(v.ring[len(v.ring)-1], rows, all)

	// Reconstruct the chain: the longest path of hash links from the context, to the sink if
	// possible; then the longest path into the sink; then what remains, in pieces.
	used := make(map[*node]bool)
	f := v.longestPath(all, a, sink, func(*node) bool { return true })
	if f == nil {
		f = v.longestPath(all, a, nil, func(*node) bool { return true })
	}
	for _, n := range f {
		used[n] = true
	}
	var back []*node
	if sink != nil && !used[sink] {
		fe := f[len(f)-1]
		back = v.longestPath(all, nil, sink, func(n *node) bool { return !used[n] && n.gseq > fe.gseq })
		if back == nil {
			back = []*node{sink}
		}
		for _, n := range back {
			used[n] = true
		}
		// The part of the forward path that overlaps the path into the sink is a branch.
		for len(f) > 1 && f[len(f)-1].gseq >= back[0].gseq {
			used[f[len(f)-1]] = false
			f = f[:len(f)-1]
		}
	}
	var pieces [][]*node
	for {
		p := v.longestPath(all, nil, nil, func(n *node) bool { return !used[n] && n != a && n != sink })
		if len(p) == 0 {
			break
		}
		if len(p) == 1 {
			// No link left among the remaining rows: each is a piece of its own.
			for _, n := range all {
				if !used[n] && n != a && n != sink {
					used[n] = true
					pieces = append(pieces, []*node{n})
				}
			}
			break
		}
		for _, n := range p {
			used[n] = true
		}
		pieces = append(pieces, p)
	}

	// The main line: the forward path, the pieces that fit between it and the path into the
	// sink without overlapping, then that path. Everything else is a branch.
	lo := f[len(f)-1].gseq
	hi := int64(math.MaxInt64)
	switch {
	case back != nil:
		hi = back[0].gseq
	case sink != nil:
		hi = lo // the forward path reached the sink: nothing fits after it
	}
	slices.SortStableFunc(pieces, func(p, q []*node) int {
		return cmp.Or(cmp.Compare(len(q), len(p)), cmp.Compare(p[0].gseq, q[0].gseq), cmp.Compare(p[0].pos, q[0].pos))
	})
	var mids, branches [][]*node
	for _, p := range pieces {
		first, last := p[0], p[len(p)-1]
		fits := first.gseq > lo && last.gseq < hi && !(len(p) == 1 && first.foreign && first.fix != fixPatient)
		for _, m := range mids {
			if fits && first.gseq <= m[len(m)-1].gseq && last.gseq >= m[0].gseq {
				fits = false
			}
		}
		if fits {
			mids = append(mids, p)
		} else {
			branches = append(branches, p)
		}
	}
	slices.SortFunc(mids, func(p, q []*node) int { return cmp.Compare(p[0].gseq, q[0].gseq) })
	line := slices.Clone(f)
	for _, m := range mids {
		line = append(line, m...)
	}
	line = append(line, back...)
	mainSeq := make(map[int64]bool, len(line))
	for _, n := range line {
		n.main = true
		mainSeq[n.gseq] = true
	}
	var branch []*node
	for _, p := range branches {
		branch = append(branch, p...)
	}
	v.classify(a, sink, line, branch, mainSeq, rows)

	// The new context: after a sink, the sink itself; otherwise the last event of the main line.
	cont := sink
	if cont == nil {
		cont = line[len(line)-1]
	}
	for _, n := range v.ring {
		if n != cont {
			v.settle(n)
		}
	}
	for _, n := range rows {
		if n != cont {
			v.settle(n)
		}
	}
	cont.linked = false
	v.ring = []*node{cont}
}

// explain finds, for each row that fails its hash, which change explains it. last is the last
// accepted event, which the rows follow.
func (v *Verifier) explain(last *node, rows, all []*node) {
	targets := make(map[string]bool, len(all))
	for _, n := range all {
		if !n.genesis {
			targets[string(n.prev)] = true
		}
	}
	for i, n := range rows {
		n.fix, n.gseq, n.link = fixNone, n.seq, n.e.Hash
		if n.selfOK {
			continue
		}
		if n.foreign {
			c := *n.e
			c.PatientID = v.patientID
			if bytes.Equal(Hash(&c), n.e.Hash) {
				n.fix = fixPatient
				v.maxSeq = max(v.maxSeq, n.seq)
				continue
			}
		}
		if !n.foreign && (targets[string(n.computed)] || allEqual(v.anchors[n.seq], n.computed)) {
			n.fix, n.link = fixHash, n.computed
			continue
		}
		if s, ok := v.seqFor(n, v.candidates(last, rows, i)); ok {
			n.fix, n.gseq = fixSeq, s
			if !n.foreign && s > v.maxSeq {
				v.maxSeq = s
			}
			v.delta = n.seq - s
			continue
		}
		n.fix = fixContent
	}
}

// candidates lists the Seq values that row i may have had before a renumbering, likeliest first:
// the last offset found, the neighbouring numbers, the slots around its position after the last
// accepted event, the numbers of nearby rows, then remembered replaced rows and gaps.
func (v *Verifier) candidates(last *node, rows []*node, i int) []int64 {
	n := rows[i]
	var out []int64
	seen := map[int64]bool{n.seq: true}
	add := func(s int64) {
		if s >= 1 && !seen[s] && len(out) < maxCands {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(n.seq - v.delta)
	add(n.seq + 1)
	add(n.seq - 1)
	add(last.gseq + 1 + int64(i))
	for d := int64(1); d <= 8; d++ {
		add(last.gseq + 1 + int64(i) - d)
		add(last.gseq + 1 + int64(i) + d)
	}
	for j := max(0, i-8); j < min(len(rows), i+9); j++ {
		add(rows[j].seq)
	}
	for _, o := range v.orphans {
		add(o.n.seq)
	}
	for _, g := range v.gaps {
		for s := g.from; s <= g.to; s++ {
			add(s)
		}
	}
	return out
}

// seqFor returns the first candidate Seq under which n's stored hash verifies.
func (v *Verifier) seqFor(n *node, cands []int64) (int64, bool) {
	c := *n.e
	if n.foreign {
		c.PatientID = v.patientID
	}
	for _, s := range cands {
		c.Seq = s
		if bytes.Equal(Hash(&c), n.e.Hash) {
			return s, true
		}
	}
	return 0, false
}

// weight scores a node on a path: more rows, intact rows and anchored rows are preferred.
func (v *Verifier) weight(n *node, start *node) int {
	if n == start || n.genesis {
		return 0
	}
	w := 4
	if n.selfOK {
		w++
	}
	if v.anchored(n) {
		w += 1000
	}
	return w
}

// longestPath returns the best path of hash links (each node's PrevHash is the previous one's
// link, with increasing gseq) among the allowed nodes, starting at from (or anywhere) and ending
// at to (or anywhere). It returns nil when to is not reachable.
func (v *Verifier) longestPath(all []*node, from, to *node, allowed func(*node) bool) []*node {
	var cand []*node
	for _, n := range all {
		if n == from || n == to || allowed(n) {
			cand = append(cand, n)
		}
	}
	if len(cand) == 0 {
		return nil
	}
	slices.SortStableFunc(cand, func(x, y *node) int { return cmp.Or(cmp.Compare(x.gseq, y.gseq), cmp.Compare(x.pos, y.pos)) })
	byLink := make(map[string][]*node, len(cand))
	for _, n := range cand {
		byLink[string(n.link)] = append(byLink[string(n.link)], n)
	}
	score := make(map[*node]int, len(cand))
	parent := make(map[*node]*node, len(cand))
	for _, n := range cand {
		if from == nil {
			score[n] = v.weight(n, nil)
		} else if n == from {
			score[n] = 0
		}
	}
	for _, y := range cand {
		if y == from || y.genesis {
			continue
		}
		for _, x := range byLink[string(y.prev)] {
			sx, ok := score[x]
			if x == y || x.gseq >= y.gseq || !ok {
				continue
			}
			c := sx + v.weight(y, from)
			if sy, ok := score[y]; !ok || c > sy {
				score[y], parent[y] = c, x
			}
		}
	}
	end := to
	if end == nil {
		best := -1
		for _, n := range cand {
			if s, ok := score[n]; ok && s > best {
				best, end = s, n
			}
		}
	}
	if end == nil {
		return nil
	}
	if _, ok := score[end]; !ok {
		return nil
	}
	var path []*node
	for n := end; n != nil; n = parent[n] {
		path = append(path, n)
	}
	slices.Reverse(path)
	return path
}

// classify names the problems of an analysed anomaly.
func (v *Verifier) classify(a, sink *node, line, branch []*node, mainSeq map[int64]bool, rows []*node) {
	isRow := make(map[*node]bool, len(rows))
	for _, n := range rows {
		isRow[n] = true
	}
	edge := func(x, y *node) bool { return bytes.Equal(y.prev, x.link) && y.gseq > x.gseq }
	var moved []*node

	// Rows on the main line.
	for i, n := range line {
		if n == a || n.genesis || n == sink {
			continue
		}
		in := i > 0 && edge(line[i-1], n)
		// last: the link to the next event cannot be checked (none, or a gap follows).
		last := i == len(line)-1 || line[i+1].gseq != n.gseq+1
		out := !last && edge(n, line[i+1])
		switch {
		case n.foreign:
			v.problemAt(n, KindWrongPatient, "column", 0)
		case n.fix == fixHash:
			v.problemAt(n, KindEdited, "hash", 0)
		case n.fix == fixSeq:
			moved = append(moved, n)
		case n.fix == fixContent:
			switch {
			case in && (out || last):
				variant := "content"
				if last {
					variant = "content_tail"
				}
				if !v.contentSwap(n) {
					r := v.problemAt(n, KindEdited, variant, 0)
					v.addOrphan(orphan{n: n, rec: r})
				}
			case !in && !out && !last:
				r := v.problemAt(n, KindEdited, "replaced", 0)
				v.addOrphan(orphan{n: n, rec: r})
			default:
				v.problemAt(n, KindEdited, "content_link", 0)
			}
		case i > 0 && !last && !in && !out && n.gseq == line[i-1].gseq+1:
			// Intact in itself, linked to neither neighbour: a forged replacement.
			v.problemAt(n, KindRewritten, "forged", 0)
		case in && n.gseq != line[i-1].gseq+1 && isRow[n]:
			v.problemAt(n, KindRewritten, "seq", line[i-1].gseq)
		}
	}

	// Rows off the main line.
	occupied := make(map[int64]bool)
	for _, n := range branch {
		switch {
		case n.foreign && n.fix != fixPatient:
			v.problemAt(n, KindWrongPatient, "foreign", 0)
		case n.fix == fixSeq:
			moved = append(moved, n)
			occupied[n.seq] = true
		case n.foreign:
			v.problemAt(n, KindWrongPatient, "column", 0)
		case n.selfOK && v.fillGap(n):
			// An intact row filling a gap reported earlier: it was read late.
			v.problemAt(n, KindOutOfOrder, "", 0)
		case mainSeq[n.gseq] || n.gseq <= line[0].gseq:
			v.problemAt(n, KindInserted, "duplicate", 0)
		default:
			r := v.problemAt(n, KindInserted, "extra", 0)
			if n.selfOK && n.gseq > line[len(line)-1].gseq {
				v.addEarly(orphan{n: n, rec: r})
			}
		}
	}

	// Renumbered rows: swaps within the anomaly, with a row replaced earlier, moves.
	v.pairMoves(moved)

	// Breaks between consecutive events of the main line.
	for i := 1; i < len(line); i++ {
		x, y := line[i-1], line[i]
		if edge(x, y) {
			continue
		}
		// Intact rows met earlier ahead of their place, that this gap expects: read early.
		v.early = slices.DeleteFunc(v.early, func(o orphan) bool {
			if o.n.gseq <= x.gseq || o.n.gseq >= y.gseq {
				return false
			}
			o.rec.removed = true
			occupied[o.n.gseq] = true
			v.problemAt(o.n, KindOutOfOrder, "", 0)
			return true
		})
		missing := v.missing(x.gseq, y.gseq, occupied)
		for _, m := range missing {
			r := v.report(&record{kind: KindDeleted, seq: m[0], last: m[1], row: -1})
			if m[1]-m[0] < maxGapSpan {
				g := &gap{from: m[0], to: m[1], rec: r}
				if m[0] == x.gseq+1 {
					g.wantPrev = x.link
				}
				if m[1] == y.gseq-1 {
					g.wantNext = y.prev
				}
				v.addGap(g)
			}
		}
		if len(missing) > 0 || x.problem || y.problem || hasBetween(occupied, x.gseq, y.gseq) {
			continue
		}
		switch {
		case y.gseq <= x.gseq:
			v.problemAt(y, KindBrokenLink, "", x.gseq)
		case x.genesis:
			v.problemAt(y, KindRewritten, "first", 0)
		case v.anchored(x):
			v.problemAt(y, KindRewritten, "prev", x.gseq)
		default:
			v.problemAt(x, KindRewritten, "next", y.gseq)
		}
	}

	// Intact rows of the main line read out of order: those outside the longest run of
	// increasing positions.
	var plain []*node
	for _, n := range line {
		if !n.genesis && !n.problem {
			plain = append(plain, n)
		}
	}
	for _, n := range outOfOrder(plain) {
		v.problemAt(n, KindOutOfOrder, "", 0)
	}
}

// pairMoves reports rows whose hash verifies under another Seq: two rows that took each other's
// Seq are a swap; a row holding a replaced row's original event completes a distant swap; a row
// filling a remembered gap was moved; others were renumbered.
func (v *Verifier) pairMoves(moved []*node) {
	done := make(map[*node]bool)
	for _, n := range moved {
		if done[n] {
			continue
		}
		for _, m := range moved {
			if m != n && !done[m] && m.gseq == n.seq && n.gseq == m.seq {
				done[n], done[m] = true, true
				lo, hi := min(n.seq, m.seq), max(n.seq, m.seq)
				first := n
				if m.seq < n.seq {
					first = m
				}
				n.problem, m.problem = true, true
				v.report(&record{kind: KindSwapped, seq: lo, last: lo, other: hi, row: first.pos, id: first.e.ID})
				break
			}
		}
	}
	for _, n := range moved {
		if done[n] {
			continue
		}
		done[n] = true
		if v.swapWithOrphan(n) {
			continue
		}
		if v.fillGap(n) || !n.main {
			r := v.problemAt(n, KindEdited, "moved", n.gseq)
			v.addOrphan(orphan{n: n, rec: r})
			continue
		}
		v.problemAt(n, KindEdited, "renumbered", n.gseq)
	}
}

// swapWithOrphan reports whether n, found to be event n.gseq stored under n.seq, completes a swap
// with a remembered row stored under n.gseq that is event n.seq. It then reports the swap in
// place of that row's earlier problem.
func (v *Verifier) swapWithOrphan(n *node) bool {
	for i, o := range v.orphans {
		if o.n.seq != n.gseq || o.n == n {
			continue
		}
		c := *o.n.e
		c.Seq = n.seq
		if !bytes.Equal(Hash(&c), o.n.e.Hash) {
			continue
		}
		o.rec.removed = true
		v.orphans = slices.Delete(v.orphans, i, i+1)
		n.problem = true
		lo, hi := min(n.seq, n.gseq), max(n.seq, n.gseq)
		v.report(&record{kind: KindSwapped, seq: lo, last: lo, other: hi, row: o.n.pos, id: o.n.e.ID})
		return true
	}
	return false
}

// contentSwap reports whether n, whose content fails its hash while its links hold, holds the
// content of a remembered edited row and that row holds n's: a swap of contents that kept the
// Seq and hash columns in place. It then reports the swap in place of the earlier edit.
func (v *Verifier) contentSwap(n *node) bool {
	for i, o := range v.orphans {
		if o.n.fix != fixContent || o.n == n {
			continue
		}
		c, d := *n.e, *o.n.e
		c.Seq, c.PrevHash = o.n.seq, o.n.prev
		d.Seq, d.PrevHash = n.seq, n.prev
		if !bytes.Equal(Hash(&c), o.n.e.Hash) || !bytes.Equal(Hash(&d), n.e.Hash) {
			continue
		}
		o.rec.removed = true
		v.orphans = slices.Delete(v.orphans, i, i+1)
		n.problem = true
		first := o.n
		if n.seq < first.seq {
			first = n
		}
		v.report(&record{kind: KindSwapped, variant: "content", seq: min(n.seq, o.n.seq), last: min(n.seq, o.n.seq),
			other: max(n.seq, o.n.seq), row: first.pos, id: first.e.ID})
		return true
	}
	return false
}

// fillGap removes n's original Seq from a remembered deleted range when n fits there (its links
// are those the gap expects, where known), reporting whether it did.
func (v *Verifier) fillGap(n *node) bool {
	seq := n.gseq
	for i, g := range v.gaps {
		if seq < g.from || seq > g.to {
			continue
		}
		if (seq == g.from && g.wantPrev != nil && !bytes.Equal(n.prev, g.wantPrev)) ||
			(seq == g.to && g.wantNext != nil && !bytes.Equal(n.link, g.wantNext)) {
			return false
		}
		switch {
		case g.from == g.to:
			g.rec.removed = true
			v.gaps = slices.Delete(v.gaps, i, i+1)
		case seq == g.from:
			g.from++
			g.rec.seq = g.from
		case seq == g.to:
			g.to--
			g.rec.last = g.to
		default:
			r := v.report(&record{kind: KindDeleted, seq: seq + 1, last: g.to, row: -1})
			v.gaps = append(v.gaps, &gap{from: seq + 1, to: g.to, wantNext: g.wantNext, rec: r})
			g.to, g.wantNext = seq-1, nil
			g.rec.last = g.to
		}
		return true
	}
	return false
}

// addOrphan remembers a replaced row, forgetting the oldest beyond maxRegistry.
func (v *Verifier) addOrphan(o orphan) {
	v.orphans = append(v.orphans, o)
	if len(v.orphans) > maxRegistry {
		v.orphans = slices.Delete(v.orphans, 0, 1)
	}
}

// addEarly remembers an intact row read ahead of its place, forgetting the oldest beyond
// maxRegistry.
func (v *Verifier) addEarly(o orphan) {
	v.early = append(v.early, o)
	if len(v.early) > maxRegistry {
		v.early = slices.Delete(v.early, 0, 1)
	}
}

// addGap remembers a short deleted range, forgetting the oldest beyond maxRegistry.
func (v *Verifier) addGap(g *gap) {
	v.gaps = append(v.gaps, g)
	if len(v.gaps) > maxRegistry {
		v.gaps = slices.Delete(v.gaps, 0, 1)
	}
}

// problemAt reports a problem about row n.
func (v *Verifier) problemAt(n *node, k Kind, variant string, other int64) *record {
	n.problem = true
	r := &record{kind: k, variant: variant, seq: n.seq, last: n.seq, other: other, row: n.pos}
	if n.genesis {
		r.row = -1
	} else {
		r.id = n.e.ID
	}
	switch variant {
	case "renumbered":
		r.delta = n.seq - n.gseq
	case "forged", "next", "prev", "first", "anchor":
		r.seq, r.last = n.gseq, n.gseq
	}
	return v.report(r)
}

// missing returns the ranges of Seq strictly between lo and hi that no row occupies.
func (v *Verifier) missing(lo, hi int64, occupied map[int64]bool) [][2]int64 {
	if hi-lo < 2 {
		return nil
	}
	var occ []int64
	for s := range occupied {
		if s > lo && s < hi {
			occ = append(occ, s)
		}
	}
	slices.Sort(occ)
	var out [][2]int64
	from := lo + 1
	for _, s := range occ {
		if s > from {
			out = append(out, [2]int64{from, s - 1})
		}
		from = s + 1
	}
	if from <= hi-1 {
		out = append(out, [2]int64{from, hi - 1})
	}
	return out
}

func hasBetween(set map[int64]bool, lo, hi int64) bool {
	for s := range set {
		if s > lo && s < hi {
			return true
		}
	}
	return false
}

// outOfOrder returns the nodes (in chain order) outside a longest increasing subsequence of
// their read positions: the fewest rows whose moving explains the order.
func outOfOrder(nodes []*node) []*node {
	if len(nodes) < 2 {
		return nil
	}
	// Patience sorting with predecessor links.
	tails := []int{}
	prev := make([]int, len(nodes))
	for i, n := range nodes {
		j, _ := slices.BinarySearchFunc(tails, n.pos, func(t int, p int64) int { return cmp.Compare(nodes[t].pos, p) })
		if j > 0 {
			prev[i] = tails[j-1]
		} else {
			prev[i] = -1
		}
		if j == len(tails) {
			tails = append(tails, i)
		} else {
			tails[j] = i
		}
	}
	keep := make(map[int]bool, len(tails))
	for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
		keep[i] = true
	}
	var out []*node
	for i, n := range nodes {
		if !keep[i] {
			out = append(out, n)
		}
	}
	return out
}

// render merges ranges, removes duplicates, orders by Seq and writes the French messages.
func (v *Verifier) render() []Problem {
	var recs []*record
	for _, r := range v.recs {
		if !r.removed {
			recs = append(recs, r)
		}
	}
	slices.SortStableFunc(recs, func(x, y *record) int {
		return cmp.Or(cmp.Compare(x.seq, y.seq), cmp.Compare(x.kind, y.kind), cmp.Compare(x.last, y.last), cmp.Compare(x.row, y.row))
	})
	var merged []*record
	for _, r := range recs {
		if len(merged) > 0 {
			p := merged[len(merged)-1]
			if p.kind == r.kind && p.variant == r.variant && p.seq == r.seq && p.last == r.last && p.other == r.other && p.row == r.row {
				continue // the same problem found twice
			}
			if mergeable(p, r) {
				p.last = max(p.last, r.last)
				continue
			}
		}
		c := *r
		merged = append(merged, &c)
	}
	out := make([]Problem, 0, len(merged)+1)
	for _, r := range merged {
		last := r.last
		if last == 0 {
			last = r.seq
		}
		out = append(out, Problem{Kind: r.kind, Seq: r.seq, LastSeq: last, OtherSeq: r.other, Row: r.row, EventID: r.id, Message: message(r)})
	}
	if v.dropped > 0 {
		out = append(out, Problem{Kind: KindTooMany, Row: -1, Message: fmt.Sprintf("%d autres anomalies non détaillées", v.dropped)})
	}
	return out
}

// mergeable reports whether r extends the range p: deleted ranges that touch, renumbered rows
// with the same offset.
func mergeable(p, r *record) bool {
	if p.kind != r.kind || r.seq > p.last+1 {
		return false
	}
	switch {
	case p.kind == KindDeleted:
		return true
	case p.kind == KindEdited && p.variant == "renumbered" && r.variant == "renumbered":
		return p.delta == r.delta
	}
	return false
}

// message writes the French explanation of a problem.
func message(r *record) string {
	switch r.kind {
	case KindEdited:
		switch r.variant {
		case "content":
			return fmt.Sprintf("l'événement n° %d a été modifié : son contenu ne correspond plus à son empreinte (le chaînage est intact)", r.seq)
		case "content_tail":
			return fmt.Sprintf("l'événement n° %d a été modifié : son contenu ne correspond plus à son empreinte", r.seq)
		case "content_link":
			return fmt.Sprintf("l'événement n° %d a été modifié : ni son contenu ni son chaînage ne correspondent plus à son empreinte", r.seq)
		case "hash":
			return fmt.Sprintf("l'empreinte enregistrée de l'événement n° %d a été modifiée (son contenu est intact)", r.seq)
		case "replaced":
			return fmt.Sprintf("la ligne n° %d a été remplacée : ni son contenu ni ses liens avec les événements voisins ne correspondent", r.seq)
		case "renumbered":
			if r.last > r.seq {
				return fmt.Sprintf("les événements enregistrés sous les n° %d à %d ont été renumérotés (décalage de %+d)", r.seq, r.last, r.delta)
			}
			return fmt.Sprintf("l'événement n° %d a été renuméroté n° %d", r.seq-r.delta, r.seq)
		case "moved":
			return fmt.Sprintf("la ligne n° %d contient l'événement n° %d, renuméroté", r.seq, r.other)
		}
	case KindRewritten:
		switch r.variant {
		case "next":
			return fmt.Sprintf("l'événement n° %d a été réécrit : son empreinte a été recalculée et ne correspond plus au lien de l'événement n° %d (à moins que ce lien n'ait été falsifié)", r.seq, r.other)
		case "prev":
			return fmt.Sprintf("l'événement n° %d a été falsifié ou inséré : il ne s'enchaîne pas à l'événement n° %d, authentifié par un point de contrôle signé", r.seq, r.other)
		case "first":
			return fmt.Sprintf("l'événement n° %d a été falsifié : il devrait ouvrir la chaîne mais son lien initial n'est pas nul", r.seq)
		case "forged":
			return fmt.Sprintf("l'événement n° %d a été remplacé par un événement forgé : il est cohérent avec son empreinte mais ne s'enchaîne à aucun de ses voisins", r.seq)
		case "seq":
			return fmt.Sprintf("le numéro de l'événement n° %d a été réécrit et son empreinte recalculée : il suit directement l'événement n° %d", r.seq, r.other)
		case "anchor":
			return fmt.Sprintf("l'événement n° %d ne correspond pas au point de contrôle signé : l'historique jusqu'à ce numéro a été réécrit", r.seq)
		case "anchor_missing":
			return fmt.Sprintf("l'événement n° %d, attesté par un point de contrôle signé, est introuvable", r.seq)
		}
	case KindDeleted:
		if r.last > r.seq {
			return fmt.Sprintf("les événements n° %d à %d ont été supprimés (%d événements)", r.seq, r.last, r.last-r.seq+1)
		}
		return fmt.Sprintf("l'événement n° %d a été supprimé", r.seq)
	case KindInserted:
		if r.variant == "duplicate" {
			return fmt.Sprintf("la ligne n° %d a été insérée : elle reprend le numéro d'un autre événement et la chaîne la contourne", r.seq)
		}
		return fmt.Sprintf("la ligne n° %d a été insérée : elle ne s'enchaîne pas au reste de l'historique", r.seq)
	case KindSwapped:
		if r.variant == "content" {
			return fmt.Sprintf("les contenus des événements n° %d et n° %d ont été permutés", r.seq, r.other)
		}
		return fmt.Sprintf("les événements n° %d et n° %d ont été permutés", r.seq, r.other)
	case KindOutOfOrder:
		return fmt.Sprintf("l'événement n° %d est lu hors de sa place dans la chaîne", r.seq)
	case KindTruncated:
		return fmt.Sprintf("historique tronqué : un point de contrôle signé atteste l'événement n° %d, le dernier présent est le n° %d", r.last, r.other)
	case KindWrongPatient:
		if r.variant == "column" {
			return fmt.Sprintf("la ligne n° %d porte l'identifiant d'un autre patient : cet identifiant a été modifié", r.seq)
		}
		return fmt.Sprintf("la ligne n° %d appartient à l'historique d'un autre patient", r.seq)
	case KindBrokenLink:
		return fmt.Sprintf("rupture du chaînage entre les événements n° %d et n° %d", r.other, r.seq)
	}
	return strings.TrimSpace(fmt.Sprintf("anomalie %s sur l'événement n° %d", r.kind, r.seq))
}
