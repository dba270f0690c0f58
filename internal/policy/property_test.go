package policy

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/carnet-sante/carnet"
)

// Property tests over random requests from a seeded generator: whatever the other fields hold,
// the properties of issue 3 hold.

const propertyRuns = 50000

var (
	randomKinds = []carnet.ActorKind{carnet.ActorPatient, carnet.ActorRepresentative, carnet.ActorProfessional,
		carnet.ActorRegulator, carnet.ActorApp, carnet.ActorOperator, carnet.ActorSystem, "insurer", ""}
	randomModes    = []carnet.AccessMode{"", carnet.ModeNormal, carnet.ModeBreakGlass, carnet.ModeRegulation, "autre"}
	randomStatuses = []carnet.DocStatus{carnet.DocCurrent, carnet.DocDeprecated, carnet.DocArchived, carnet.DocDeleted, ""}
	randomIDs      = []string{patientID, parentID, proID, otherProID, "reg-1", ""}
	randomScopes   = []string{"patient/*.*", "patient/DocumentReference.rs", "patient/Immunization.c", "user/*.read", "openid"}
	randomTypes    = append(carnet.DocTypes(), carnet.DocType{Code: "XYZ-0"})
	randomProfs    = append(carnet.Professions(), "99", "")
)

func choose[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func randomTime(rng *rand.Rand) time.Time {
	return now.Add(time.Duration(rng.Int64N(int64(20*24*time.Hour))) - 10*24*time.Hour)
}

func randomConsent(rng *rand.Rand) *carnet.Consent {
	if rng.IntN(4) == 0 {
		return nil
	}
	c := &carnet.Consent{ProfessionalID: choose(rng, randomIDs), DeclaredAt: randomTime(rng), Purpose: choose(rng, []string{"", "soins", "recherche"})}
	if rng.IntN(2) == 0 {
		c.ExpiresAt = ptr(randomTime(rng))
	}
	if rng.IntN(3) == 0 {
		c.RevokedAt = ptr(randomTime(rng))
	}
	return c
}

// randomRequest draws every field of a request.
func randomRequest(rng *rand.Rand) Request {
	b := func() bool { return rng.IntN(2) == 0 }
	ty := choose(rng, randomTypes)
	actor := &carnet.Actor{Kind: choose(rng, randomKinds), ID: choose(rng, randomIDs), Name: "Dr Aléa",
		Profession: choose(rng, randomProfs), Specialty: choose(rng, []string{"", "SM42", "SM53"}),
		StructureID: structureID}
	for range rng.IntN(3) {
		actor.Scopes = append(actor.Scopes, choose(rng, randomScopes))
	}
	st := &carnet.PatientSettings{PatientID: patientID, HideAll: b(), RegulationAllowed: b(), BreakGlassAllowed: b(),
		TreatingDoctorID: choose(rng, randomIDs), AdministratorID: choose(rng, randomIDs)}
	var doc *carnet.Document
	if rng.IntN(8) != 0 {
		doc = &carnet.Document{ID: "d", PatientID: choose(rng, []string{patientID, patientID, patientID, "pat-2"}),
			TypeCode: ty.Code, Class: ty.Class, AuthorKind: choose(rng, []carnet.AuthorKind{carnet.AuthorProfessional, carnet.AuthorPatient, carnet.AuthorSystem}),
			AuthorID: choose(rng, randomIDs), Status: choose(rng, randomStatuses),
			HiddenFromProfessionals: b(), HiddenFromPatient: b(), HiddenFromRepresentatives: b()}
	}
	return Request{Action: Action(rng.IntN(int(actionCount) + 1)), Actor: actor, Settings: st, Doc: doc,
		Mode: choose(rng, randomModes), Now: now, Facts: Facts{
			Active: b(), Blocked: b(), StructureBlocked: b(), Consent: randomConsent(rng),
			Purpose: choose(rng, []string{"", "soins"}), EmergencyStart: randomTime(rng),
			EmergencyReason: choose(rng, []string{"", "inconscient"}), Representative: b(), PatientMinor: b(),
			AppAuthorized: b(), CandidateAccessedBefore: b()}}
}

func newRand(t *testing.T) *rand.Rand {
	const seed = 20260310
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, uint64(len(t.Name()))))
}

func TestPropertyPatientReadsOwnVisibleDocuments(t *testing.T) {
	rng := newRand(t)
	for range propertyRuns {
		r := randomRequest(rng)
		r.Actor.Kind, r.Actor.ID = carnet.ActorPatient, patientID
		r.Action = choose(rng, []Action{ActionReadDocument, ActionListDocument})
		if r.Doc == nil {
			r.Doc = document(choose(rng, randomTypes).Code)
		}
		r.Doc.PatientID = patientID
		r.Doc.HiddenFromPatient = false
		if r.Doc.Status == carnet.DocDeleted {
			r.Doc.Status = carnet.DocCurrent
		}
		if d := testPolicy.Decide(r); !d.Allow {
			t.Fatalf("the patient may not %s their own visible document: %s\n%+v\n%+v\n%+v", r.Action, d.Reason, r.Actor, r.Settings, r.Doc)
		}
	}
}

func TestPropertyBlockedProfessionalNeverReads(t *testing.T) {
	rng := newRand(t)
	for range propertyRuns {
		r := randomRequest(rng)
		r.Actor.Kind = choose(rng, []carnet.ActorKind{carnet.ActorProfessional, carnet.ActorRegulator})
		if rng.IntN(2) == 0 {
			r.Blocked = true
		} else {
			r.StructureBlocked = true
		}
		for _, a := range Actions() {
			r.Action = a
			if d := testPolicy.Decide(r); d.Allow {
				t.Fatalf("a blocked professional may %s: %s\n%+v\n%+v", a, d.Reason, r.Actor, r.Facts)
			}
		}
	}
}

func TestPropertyDeletedNeverReadable(t *testing.T) {
	rng := newRand(t)
	for range propertyRuns {
		r := randomRequest(rng)
		if r.Doc == nil {
			r.Doc = document(choose(rng, randomTypes).Code)
		}
		r.Doc.Status = carnet.DocDeleted
		for _, a := range Actions() {
			if !a.NeedsDocument() {
				continue
			}
			r.Action = a
			if d := testPolicy.Decide(r); d.Allow {
				t.Fatalf("%s may %s a deleted document: %s", r.Actor.Kind, a, d.Reason)
			}
		}
	}
}

func TestPropertyOperatorNeverReadsHealthContent(t *testing.T) {
	rng := newRand(t)
	for range propertyRuns {
		r := randomRequest(rng)
		r.Actor.Kind = choose(rng, []carnet.ActorKind{carnet.ActorOperator, "insurer", "employer", "", "Patient"})
		for _, a := range append(Actions(), ActionNone) {
			r.Action = a
			if d := testPolicy.Decide(r); d.Allow || (d.Reason != ReasonOperator && d.Reason != ReasonUnknownActor) {
				t.Fatalf("%q: %s → %v (%s)", r.Actor.Kind, a, d.Allow, d.Reason)
			}
		}
	}
}

// Decide is a function of its request: consistent, deterministic, and it changes nothing.
func TestPropertyDecideIsPure(t *testing.T) {
	rng := newRand(t)
	seen := map[Reason]bool{}
	for range propertyRuns {
		r := randomRequest(rng)
		actor, st := *r.Actor, *r.Settings
		var doc carnet.Document
		if r.Doc != nil {
			doc = *r.Doc
		}
		d := testPolicy.Decide(r)
		seen[d.Reason] = true
		if d.Allow != d.Reason.Allows() || d.Reason == ReasonNone || d.Reason.String() == "unknown" {
			t.Fatalf("inconsistent decision %+v", d)
		}
		if d.GridVersion != defaultRules.Version() {
			t.Fatalf("GridVersion = %q", d.GridVersion)
		}
		if again := testPolicy.Decide(r); again != d {
			t.Fatalf("not deterministic: %+v then %+v", d, again)
		}
		if !reflect.DeepEqual(actor, *r.Actor) || st != *r.Settings || (r.Doc != nil && !reflect.DeepEqual(doc, *r.Doc)) {
			t.Fatal("Decide changed its request")
		}
	}
	t.Logf("%d distinct reasons met", len(seen))
}
