package policy

import (
	"slices"

	"github.com/carnet-sante/carnet"
)

// Capacities of the dense indices. The root package has 23 professions and 30 document types;
// the package refuses to start if it ever outgrows these (see the init check below).
const (
	maxProfessions = 64
	maxTypes       = 128
)

// Dense indices, computed once from the root package's immutable code lists: a document type's
// index is its position in carnet.DocTypes(), a profession's its position in
// carnet.Professions(). Decide finds them without maps: an array for two-digit profession codes,
// a binary search over the sorted type codes.
var (
	docTypes    = carnet.DocTypes()
	professions = carnet.Professions()

	typeCodesSorted, typeIndexSorted = sortedTypeCodes()
	professionByNumber               = professionNumbers()
)

func init() {
	if len(docTypes) > maxTypes || len(professions) > maxProfessions {
		panic("policy: too many document types or professions for the grid's bitsets")
	}
}

// typeSet is a set of document type indices.
type typeSet [maxTypes / 64]uint64

func (s *typeSet) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

func (s *typeSet) put(i int, v bool) {
	if v {
		s[i>>6] |= 1 << (uint(i) & 63)
	} else {
		s[i>>6] &^= 1 << (uint(i) & 63)
	}
}

func sortedTypeCodes() ([]string, []uint8) {
	codes := make([]string, len(docTypes))
	for i, t := range docTypes {
		codes[i] = t.Code
	}
	slices.Sort(codes)
	idx := make([]uint8, len(codes))
	for i, c := range codes {
		idx[i] = uint8(slices.IndexFunc(docTypes, func(t carnet.DocType) bool { return t.Code == c }))
	}
	return codes, idx
}

// typeIndex returns the dense index of a document type code, or -1.
func typeIndex(code string) int {
	i, ok := slices.BinarySearch(typeCodesSorted, code)
	if !ok {
		return -1
	}
	return int(typeIndexSorted[i])
}

// typeClass returns the class of a document type code, or "" when unknown.
func typeClass(code string) carnet.DocClass {
	if ti := typeIndex(code); ti >= 0 {
		return docTypes[ti].Class
	}
	return ""
}

func professionNumbers() [100]int8 {
	var t [100]int8
	for i := range t {
		t[i] = -1
	}
	for i, p := range professions {
		if n, ok := twoDigits(string(p)); ok {
			t[n] = int8(i)
		}
	}
	return t
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// professionIndex returns the dense index of a profession code, or -1.
func professionIndex(p carnet.Profession) int {
	if n, ok := twoDigits(string(p)); ok {
		return int(professionByNumber[n])
	}
	for i, q := range professions { // codes that are not two digits (none today)
		if q == p {
			return i
		}
	}
	return -1
}
