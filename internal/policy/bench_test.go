package policy

import (
	"strings"
	"testing"
)

// BenchmarkDecide is the common case: a professional with a consent reading a document, which
// goes through the consent check and the grid.
func BenchmarkDecide(b *testing.B) {
	r := proRequest(ActionReadDocument, "70", document("11490-0"))
	b.ReportAllocs()
	for b.Loop() {
		if !testPolicy.Decide(r).Allow {
			b.Fatal("denied")
		}
	}
}

// BenchmarkDecidePaths covers the other paths.
func BenchmarkDecidePaths(b *testing.B) {
	g, err := ParseGrid(strings.NewReader(string(defaultGridData) + specialtyRows))
	if err != nil {
		b.Fatal(err)
	}
	specialty := proRequest(ActionReadDocument, "10", document("11526-1"))
	specialty.Actor.Specialty = "SM42"
	paths := []struct {
		name string
		pol  *Policy
		req  Request
	}{
		{"grid_denied", testPolicy, proRequest(ActionReadDocument, "70", document("11502-2"))},
		{"specialty_row", New(g, Options{}), specialty},
		{"break_glass", testPolicy, breakGlass(proRequest(ActionReadDocument, "10", document("PRESC-KINE")))},
		{"regulation", testPolicy, regulation(ActionReadDocument, document("DOCPAT09"))},
		{"patient", testPolicy, patientRequest(ActionReadDocument, document("11488-4"))},
		{"app", testPolicy, Request{Action: ActionReadDocument, Actor: app("openid", "patient/DocumentReference.rs"), Settings: settings(), Doc: document("11488-4"), Now: now, Facts: Facts{AppAuthorized: true}}},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.pol.Decide(p.req)
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	r := proRequest(ActionReadDocument, "70", document("11490-0"))
	d := testPolicy.Decide(r)
	b.ReportAllocs()
	for b.Loop() {
		testPolicy.Explain(d, r, ExplainNames{})
	}
}

func BenchmarkParseDefaultGrid(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseGrid(strings.NewReader(string(defaultGridData))); err != nil {
			b.Fatal(err)
		}
	}
}
