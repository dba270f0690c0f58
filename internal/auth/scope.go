package auth

import "strings"

// Scope is a parsed SMART App Launch resource scope: "patient/DocumentReference.rs",
// "user/*.cruds", "system/Patient.r", or the SMART v1 forms "patient/Observation.read",
// "user/*.write", "user/*.*".
type Scope struct {
	Context  string // "patient", "user" or "system"
	Resource string // a FHIR resource type, or "*"
	Ops      string // the operations granted, a subsequence of "cruds" (v1 read = "rs", write = "cud")
	Query    string // a SMART v2 restriction after "?" ("category=laboratory"), "" if none
}

// ParseScope parses a SMART resource scope. It reports false for anything else (including
// "openid", "fhirUser", "launch/patient" and malformed scopes).
func ParseScope(s string) (Scope, bool) {
	var sc Scope
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return sc, false
	}
	switch ctx {
	case "patient", "user", "system":
	default:
		return sc, false
	}
	rest, query, _ := strings.Cut(rest, "?")
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return sc, false
	}
	res, perm := rest[:i], rest[i+1:]
	if !validResource(res) {
		return sc, false
	}
	ops, ok := parseOps(perm)
	if !ok {
		return sc, false
	}
	return Scope{Context: ctx, Resource: res, Ops: ops, Query: query}, true
}

// validResource accepts "*" or a FHIR resource type name ([A-Z][A-Za-z0-9]*, at most 64).
func validResource(r string) bool {
	if r == "*" {
		return true
	}
	if r == "" || len(r) > 64 || r[0] < 'A' || r[0] > 'Z' {
		return false
	}
	for i := 1; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseOps reads SMART v2 permissions (a non-empty subsequence of "cruds", in that order) or
// the SMART v1 "read", "write" and "*".
func parseOps(p string) (string, bool) {
	switch p {
	case "read":
		return "rs", true
	case "write":
		return "cud", true
	case "*":
		return "cruds", true
	case "":
		return "", false
	}
	const all = "cruds"
	next := 0
	for i := 0; i < len(p); i++ {
		j := strings.IndexByte(all[next:], p[i])
		if j < 0 {
			return "", false
		}
		next += j + 1
	}
	return p, true
}

// HasScope reports whether scopes grant operation op ("c" create, "r" read, "u" update,
// "d" delete, "s" search) on FHIR resource type resource. A wildcard resource ("user/*.rs")
// grants every type. The context (patient, user, system) is not told apart: which patients a
// professional reaches is the policy's decision. A scope restricted by a query ("?category=...")
// grants nothing here, since the restriction cannot be honoured without the request.
func HasScope(scopes []string, resource, op string) bool {
	if len(op) != 1 || !strings.Contains("cruds", op) || resource == "" {
		return false
	}
	for _, s := range scopes {
		sc, ok := ParseScope(s)
		if !ok || sc.Query != "" {
			continue
		}
		if (sc.Resource == "*" || sc.Resource == resource) && strings.Contains(sc.Ops, op) {
			return true
		}
	}
	return false
}
