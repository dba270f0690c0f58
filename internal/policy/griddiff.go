package policy

import (
	"slices"

	"github.com/carnet-sante/carnet"
)

// Change is one read right that differs between two grids.
type Change struct {
	Profession carnet.Profession
	Specialty  string // "" for the profession as a whole
	TypeCode   string
	Before     bool // read allowed by the old grid
	After      bool // read allowed by the new grid
}

// String is the line `carnet grid diff` prints, in French:
// "masseur-kinésithérapeute — Compte rendu d'examens biologiques (11502-2) : lecture désormais autorisée".
func (c Change) String() string {
	who := c.Profession.Label()
	if who == "" {
		who = "profession " + string(c.Profession)
	}
	if c.Specialty != "" {
		label := carnet.SpecialtyLabel(c.Specialty)
		if label == "" {
			label = c.Specialty
		}
		who += " (spécialité " + label + ")"
	}
	what := c.TypeCode
	if t, err := carnet.LookupDocType(c.TypeCode); err == nil {
		what = t.Label + " (" + t.Code + ")"
	}
	verdict := "lecture retirée"
	if c.After {
		verdict = "lecture désormais autorisée"
	}
	return who + " — " + what + " : " + verdict
}

// Diff lists the rights that differ from old to new: for every profession and every document
// type, and for every specialty that has rows of its own in either grid, where its right does not
// simply follow its profession's (whose change is then listed once, for the profession). The order is stable: professions,
// then specialties, then types in carnet.DocTypes() order.
func Diff(old, new *Grid) []Change {
	var out []Change
	for pi, p := range professions {
		out = appendChanges(out, old, new, pi, p, "")
		specs := append(old.specialties(pi), new.specialties(pi)...)
		slices.Sort(specs)
		for _, s := range slices.Compact(specs) {
			out = appendChanges(out, old, new, pi, p, s)
		}
	}
	return out
}

// appendChanges appends the changes of one (profession, specialty). A specialty's change is
// listed only where the specialty departs from its profession in one of the grids: otherwise
// the profession's line already says it.
func appendChanges(out []Change, old, new *Grid, pi int, p carnet.Profession, specialty string) []Change {
	before, after := old.set(pi, specialty), new.set(pi, specialty)
	oldProf, newProf := &old.prof[pi], &new.prof[pi]
	for ti, t := range docTypes {
		b, a := before.has(ti), after.has(ti)
		if b == a {
			continue
		}
		if specialty != "" && b == oldProf.has(ti) && a == newProf.has(ti) {
			continue // inherited from the profession
		}
		out = append(out, Change{Profession: p, Specialty: specialty, TypeCode: t.Code, Before: b, After: a})
	}
	return out
}
