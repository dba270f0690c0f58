package auth

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

// checkChallenge checks that a WWW-Authenticate value is printable ASCII, safe in a header.
func checkChallenge(t *testing.T, h string) {
	t.Helper()
	if !strings.HasPrefix(h, `Bearer realm="carnet"`) {
		t.Fatalf("challenge %q", h)
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x20 || h[i] > 0x7e {
			t.Fatalf("challenge %q holds byte %#x", h, h[i])
		}
	}
}

// checkVerifyResult checks the invariants of a Verify answer.
func checkVerifyResult(t *testing.T, p *Principal, err error) {
	t.Helper()
	if err != nil {
		if p != nil {
			t.Fatal("principal returned with an error")
		}
		switch carnet.ErrorCode(err) {
		case carnet.EUNAUTHORIZED, carnet.EUNAVAILABLE:
		default:
			t.Fatalf("unexpected error code: %v", err)
		}
		checkChallenge(t, WWWAuthenticate(err))
		return
	}
	if p == nil || !p.Actor.Profession.Valid() || carnet.ValidateRPPS(p.RPPS) != nil || p.Actor.Kind != carnet.ActorProfessional {
		t.Fatalf("accepted principal %+v", p)
	}
}

// FuzzBearerToken drives the whole bearer path, header to principal, with arbitrary headers.
func FuzzBearerToken(f *testing.F) {
	iss, _ := newTestIssuer(f)
	good, err := iss.Issue(testClaims(), 0)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "Bearer " + good, "bearer " + good + "x", "Basic abc", "Bearer", "Bearer a.b.c",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer ....", "Bearer =", "Bearer " + strings.Repeat("A", 100)} {
		f.Add(s)
	}
	mv, err := NewMultiVerifier(iss.Verifier())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{header}
		tok, err := BearerToken(r)
		if err != nil {
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			checkChallenge(t, WWWAuthenticate(err))
			return
		}
		if tok == "" || !isB64Token(tok) {
			t.Fatalf("token %q accepted", tok)
		}
		p, err := mv.Verify(context.Background(), tok)
		checkVerifyResult(t, p, err)
	})
}

// FuzzVerify feeds arbitrary tokens to the embedded and multi verifiers.
func FuzzVerify(f *testing.F) {
	iss, priv := newTestIssuer(f)
	good, err := iss.Issue(testClaims(), 0)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".e30." + parts[2])
	f.Add(b64([]byte(`{"alg":"EdDSA"}`)) + "." + b64([]byte(`{"iss":1}`)) + ".AA")
	f.Add(unsignedJWT(f, map[string]any{"iss": testIssuerURL}))
	f.Add(signPayload(f, priv, "EdDSA", "", []byte(`{"iss":"`+testIssuerURL+`","aud":[],"exp":1e300}`)))
	f.Add(signPayload(f, priv, "EdDSA", "", []byte(`{"iss":"`+testIssuerURL+`","aud":"carnet-api","exp":-9e18}`)))
	v := iss.Verifier()
	mv, err := NewMultiVerifier(v)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		checkVerifyResult(t, p, err)
		p, err = mv.Verify(context.Background(), tok)
		checkVerifyResult(t, p, err)
	})
}

// FuzzScope checks ParseScope and HasScope on arbitrary scopes.
func FuzzScope(f *testing.F) {
	for _, s := range []string{"patient/DocumentReference.rs", "user/*.cruds", "system/Patient.r", "user/*.read",
		"patient/Observation.rs?category=laboratory", "openid", "user/.", "/.", "user/A.cruds?"} {
		f.Add(s, "DocumentReference", "r")
	}
	f.Fuzz(func(t *testing.T, scope, resource, op string) {
		sc, ok := ParseScope(scope)
		if ok {
			if sc.Ops == "" || !validResource(sc.Resource) {
				t.Fatalf("ParseScope(%q) = %+v", scope, sc)
			}
			for i := 0; i < len(sc.Ops); i++ {
				if !strings.Contains("cruds", sc.Ops[i:i+1]) {
					t.Fatalf("ops %q", sc.Ops)
				}
			}
		}
		granted := HasScope([]string{scope}, resource, op)
		if granted && (!ok || sc.Query != "" || len(op) != 1 || !strings.Contains(sc.Ops, op)) {
			t.Fatalf("HasScope(%q, %q, %q) granted", scope, resource, op)
		}
	})
}
