package auth

import "testing"

func TestParseScope(t *testing.T) {
	cases := []struct {
		in   string
		want Scope
		ok   bool
	}{
		{"patient/DocumentReference.rs", Scope{"patient", "DocumentReference", "rs", ""}, true},
		{"user/*.cruds", Scope{"user", "*", "cruds", ""}, true},
		{"system/Patient.r", Scope{"system", "Patient", "r", ""}, true},
		{"patient/Observation.rs?category=laboratory", Scope{"patient", "Observation", "rs", "category=laboratory"}, true},
		{"patient/Observation.read", Scope{"patient", "Observation", "rs", ""}, true},
		{"user/*.write", Scope{"user", "*", "cud", ""}, true},
		{"user/*.*", Scope{"user", "*", "cruds", ""}, true},
		{"user/Patient.sr", Scope{}, false},  // v2 letters out of order
		{"user/Patient.rr", Scope{}, false},  // repeated
		{"user/Patient.x", Scope{}, false},   // unknown
		{"user/Patient.", Scope{}, false},    // empty permissions
		{"user/patient.r", Scope{}, false},   // resource types start upper-case
		{"user/.r", Scope{}, false},          // no resource
		{"admin/Patient.r", Scope{}, false},  // unknown context
		{"openid", Scope{}, false},           // not a resource scope
		{"launch/patient", Scope{}, false},   // neither
		{"fhirUser", Scope{}, false},         //
		{"user/Pat-ient.r", Scope{}, false},  // bad character
		{"user/Patient.r.s", Scope{}, false}, // "Patient.r" is not a resource type
	}
	for _, tc := range cases {
		got, ok := ParseScope(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHasScope(t *testing.T) {
	scopes := []string{"openid", "fhirUser", "patient/DocumentReference.rs", "user/Binary.read",
		"system/Patient.cu", "user/Observation.rs?category=laboratory"}
	cases := []struct {
		res, op string
		want    bool
	}{
		{"DocumentReference", "r", true},
		{"DocumentReference", "s", true},
		{"DocumentReference", "c", false},
		{"DocumentReference", "d", false},
		{"Binary", "r", true},
		{"Binary", "s", true},
		{"Binary", "u", false},
		{"Patient", "c", true},
		{"Patient", "u", true},
		{"Patient", "r", false},
		{"Observation", "r", false}, // restricted by a query: not granted outright
		{"Immunization", "r", false},
		{"DocumentReference", "rs", false}, // one operation at a time
		{"DocumentReference", "x", false},
		{"DocumentReference", "", false},
		{"", "r", false},
	}
	for _, tc := range cases {
		if got := HasScope(scopes, tc.res, tc.op); got != tc.want {
			t.Errorf("HasScope(%s, %s) = %v, want %v", tc.res, tc.op, got, tc.want)
		}
	}
	wild := []string{"user/*.cruds"}
	for _, op := range []string{"c", "r", "u", "d", "s"} {
		if !HasScope(wild, "Consent", op) {
			t.Errorf("user/*.cruds does not grant %s", op)
		}
	}
	if HasScope([]string{"user/*.write"}, "Consent", "r") || !HasScope([]string{"user/*.write"}, "Consent", "d") {
		t.Error("SMART v1 write")
	}
	if HasScope(nil, "Patient", "r") {
		t.Error("no scopes")
	}
	var p *Principal
	if p.HasScope("Patient", "r") {
		t.Error("nil principal")
	}
}
