package auth

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
)

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name    string
		headers []string // Authorization values; nil for none
		tok     string
		code    string
		noToken bool
	}{
		{name: "none", code: carnet.EUNAUTHORIZED, noToken: true},
		{name: "bearer", headers: []string{"Bearer abc.def.ghi"}, tok: "abc.def.ghi"},
		{name: "lower-case scheme", headers: []string{"bearer abc.def.ghi"}, tok: "abc.def.ghi"},
		{name: "upper-case scheme", headers: []string{"BEARER abc.def.ghi"}, tok: "abc.def.ghi"},
		{name: "extra spaces", headers: []string{"  Bearer   abc.def-_~+/==  "}, tok: "abc.def-_~+/=="},
		{name: "basic", headers: []string{"Basic dXNlcjpwYXNz"}, code: carnet.EUNAUTHORIZED, noToken: true},
		{name: "scheme alone", headers: []string{"Bearer"}, code: carnet.EINVALID},
		{name: "scheme and spaces", headers: []string{"Bearer   "}, code: carnet.EINVALID},
		{name: "empty header", headers: []string{""}, code: carnet.EINVALID},
		{name: "two headers", headers: []string{"Bearer a", "Bearer b"}, code: carnet.EINVALID},
		{name: "two tokens", headers: []string{"Bearer a b"}, code: carnet.EINVALID},
		{name: "bad characters", headers: []string{`Bearer a"b`}, code: carnet.EINVALID},
		{name: "padding inside", headers: []string{"Bearer a=b"}, code: carnet.EINVALID},
		{name: "only padding", headers: []string{"Bearer =="}, code: carnet.EINVALID},
		{name: "tab separator", headers: []string{"Bearer\tabc"}, code: carnet.EUNAUTHORIZED, noToken: true},
		{name: "too long", headers: []string{"Bearer " + strings.Repeat("a", MaxTokenLen+1)}, code: carnet.EUNAUTHORIZED},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/fhir/DocumentReference", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			tok, err := BearerToken(r)
			if tc.code == "" {
				if err != nil || tok != tc.tok {
					t.Fatalf("got %q, %v; want %q", tok, err, tc.tok)
				}
				return
			}
			if tok != "" || carnet.ErrorCode(err) != tc.code || IsNoToken(err) != tc.noToken {
				t.Fatalf("got %q, %v (code %s, no token %v); want code %s, no token %v",
					tok, err, carnet.ErrorCode(err), IsNoToken(err), tc.code, tc.noToken)
			}
		})
	}
}

func TestWWWAuthenticate(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	_, noTok := BearerToken(r)
	r.Header.Set("Authorization", "Bearer a b")
	_, badReq := BearerToken(r)
	iss, _ := newTestIssuer(t)
	_, malformed := iss.Verifier().Verify(context.Background(), "x.y.z")
	p := &Principal{Scopes: []string{"user/Patient.r"}}

	cases := []struct {
		err  error
		want string
	}{
		{nil, `Bearer realm="carnet"`},
		{noTok, `Bearer realm="carnet"`},
		{badReq, `Bearer realm="carnet", error="invalid_request", error_description="en-tete Authorization invalide"`},
		{malformed, `Bearer realm="carnet", error="invalid_token", error_description="jeton mal forme"`},
		{authErr("t", MsgExpired, nil), `Bearer realm="carnet", error="invalid_token", error_description="jeton expire"`},
		{authErr("t", MsgWrongIssuer, nil), `Bearer realm="carnet", error="invalid_token", error_description="jeton d'un autre emetteur"`},
		{authErr("t", `a "quoted" \ message`, nil), `Bearer realm="carnet", error="invalid_token", error_description="a quoted  message"`},
		{RequireScope(p, "DocumentReference", "r"), `Bearer realm="carnet", error="insufficient_scope", error_description="portee insuffisante : user/DocumentReference.r requise", scope="user/DocumentReference.r"`},
		{carnet.Errorf(carnet.EUNAVAILABLE, "panne"), `Bearer realm="carnet"`},
	}
	for _, tc := range cases {
		if got := WWWAuthenticate(tc.err); got != tc.want {
			t.Errorf("WWWAuthenticate(%v)\n got %s\nwant %s", tc.err, got, tc.want)
		}
	}
	if RequireScope(p, "Patient", "r") != nil {
		t.Error("RequireScope refused a granted scope")
	}
	if RequireScope(nil, "Patient", "r") == nil {
		t.Error("RequireScope granted to a nil principal")
	}
}

// TestErrorMessagesAreTheDocumentedOnes pins the French messages that the brief names.
func TestErrorMessagesAreTheDocumentedOnes(t *testing.T) {
	for _, m := range []string{MsgExpired, MsgWrongIssuer, MsgWrongAudience, MsgBadSignature, MsgMalformed, MsgBadProfessional} {
		switch m {
		case "jeton expiré", "jeton d'un autre émetteur", "audience incorrecte", "signature invalide",
			"jeton mal formé", "professionnel inconnu ou profession invalide":
		default:
			t.Errorf("message %q changed", m)
		}
	}
}
