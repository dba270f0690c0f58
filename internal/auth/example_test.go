package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
)

// A handler authenticating a professional's practice software, as the HTTP layer would.
func Example() {
	dir, _ := os.MkdirTemp("", "carnet-auth")
	defer os.RemoveAll(dir)

	// At start-up: the embedded issuer, and a verifier routing by "iss" (an OIDCVerifier for
	// Pro Santé Connect would be passed too when configured).
	issuer, err := auth.LoadOrCreateIssuer(filepath.Join(dir, "token.key"), "https://carnet.example.fr")
	if err != nil {
		fmt.Println(err)
		return
	}
	verifier, err := auth.NewMultiVerifier(issuer.Verifier())
	if err != nil {
		fmt.Println(err)
		return
	}

	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := auth.BearerToken(r)
		var p *auth.Principal
		if err == nil {
			p, err = verifier.Verify(r.Context(), tok)
		}
		if err == nil {
			err = auth.RequireScope(p, "DocumentReference", "r")
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", auth.WWWAuthenticate(err))
			status := http.StatusUnauthorized
			switch carnet.ErrorCode(err) {
			case carnet.EINVALID:
				status = http.StatusBadRequest
			case carnet.EFORBIDDEN:
				status = http.StatusForbidden
			case carnet.EUNAVAILABLE:
				status = http.StatusServiceUnavailable
			}
			http.Error(w, carnet.ErrorMessage(err), status)
			return
		}
		fmt.Fprintf(w, "bonjour %s (RPPS %s)", p.Actor.Name, p.RPPS)
	})

	// `carnet token --rpps N`: the directory record becomes a token.
	pro := &carnet.Professional{ID: "pro-1", RPPS: "10101234567", Profession: "10", Civility: "Dr",
		GivenName: "Marie", FamilyName: "Martin", Active: true}
	claims, _ := auth.ClaimsFor(pro, auth.DefaultScopes())
	tok, _ := issuer.Issue(claims, 0)

	for _, h := range []string{"", "Bearer " + tok, "Bearer " + tok[:len(tok)-4] + "AAAA"} {
		req := httptest.NewRequest("GET", "/fhir/DocumentReference", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		rec := httptest.NewRecorder()
		read.ServeHTTP(rec, req)
		if c := rec.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println(rec.Code, c)
		} else {
			fmt.Println(rec.Code, rec.Body.String())
		}
	}
	// Output:
	// 401 Bearer realm="carnet"
	// 200 bonjour Dr Marie Martin (RPPS 10101234567)
	// 401 Bearer realm="carnet", error="invalid_token", error_description="signature invalide"
}
