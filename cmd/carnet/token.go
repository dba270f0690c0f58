package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/web"
)

// tokenIssuerURL is the "iss" of the tokens of Carnet's embedded issuer.
func (e *env) tokenIssuerURL() string {
	if v := e.getenv("CARNET_TOKEN_ISSUER"); v != "" {
		return v
	}
	return "https://carnet.invalid/jetons"
}

func (e *env) issuer(dataDir string) (*auth.Issuer, error) {
	path := e.getenv("CARNET_TOKEN_KEY_FILE")
	if path == "" {
		path = filepath.Join(dataDir, "token-signing.key")
	}
	return auth.LoadOrCreateIssuer(path, e.tokenIssuerURL())
}

// authenticator verifies bearer tokens (the embedded issuer's, and those of the OpenID Connect
// issuer named by CARNET_OIDC_ISSUER) and turns them into the professional of the directory:
// a professional unknown to the directory, or deactivated, has no access.
type authenticator struct {
	verifier auth.Verifier
	svc      *service.Service
}

func (a *authenticator) Authenticate(r *http.Request) (carnet.Actor, error) {
	raw, err := auth.BearerToken(r)
	if err != nil {
		return carnet.Actor{}, err
	}
	p, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		return carnet.Actor{}, err
	}
	if slices.Contains(p.Scopes, web.PortalScope) {
		// A portal session token (a cookie) is not a credential for the API.
		return carnet.Actor{}, carnet.Errorf(carnet.EUNAUTHORIZED, "jeton du portail : non valable pour l'API")
	}
	if p.Actor.ID != "" {
		// A token of Carnet's own issuer names the professional's directory ID: the service
		// reads the directory entry in each decision's transaction (an inactive professional is
		// refused there), so no look-up is needed here.
		return p.Actor, nil
	}
	// A token of an external issuer names an RPPS: find the professional in the directory.
	pro, err := a.svc.ProfessionalByRPPS(r.Context(), p.RPPS)
	if err != nil || !pro.Active {
		return carnet.Actor{}, carnet.Errorf(carnet.EUNAUTHORIZED, "professionnel inconnu de l'annuaire ou désactivé")
	}
	return service.ActorFor(pro), nil
}

func (e *env) newAuthenticator(ctx context.Context, a *app, iss *auth.Issuer) (*authenticator, error) {
	vs := []auth.IssuerVerifier{iss.Verifier()}
	if u := e.getenv("CARNET_OIDC_ISSUER"); u != "" {
		aud := e.getenv("CARNET_OIDC_AUDIENCE")
		if aud == "" {
			aud = auth.Audience
		}
		ov, err := auth.NewOIDCVerifier(ctx, u, aud, auth.ClaimMap{})
		if err != nil {
			return nil, err
		}
		vs = append(vs, ov)
	}
	mv, err := auth.NewMultiVerifier(vs...)
	if err != nil {
		return nil, err
	}
	// Practice software sends the same token with every request: check its signature once.
	return &authenticator{verifier: auth.NewCachingVerifier(mv, 0, 0), svc: a.svc}, nil
}

// token issues a bearer token for a professional of the directory.
func (e *env) token(ctx context.Context, args []string) error {
	fs := e.flags("token")
	rpps := fs.String("rpps", "", "numéro RPPS du professionnel")
	ttl := fs.Duration("ttl", time.Hour, "durée de validité (24h au plus)")
	data := fs.String("data", "", "dossier des données")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rpps == "" {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet token --rpps NUMÉRO [--ttl 1h]")
	}
	a, err := e.open(ctx, e.dataDir(*data), serviceConfig(e), nil)
	if err != nil {
		return err
	}
	defer a.Close()
	pro, err := a.svc.ProfessionalByRPPS(ctx, *rpps)
	if err != nil {
		return carnet.Errorf(carnet.ENOTFOUND, "RPPS %s inconnu de l'annuaire", *rpps)
	}
	iss, err := e.issuer(a.dataDir)
	if err != nil {
		return err
	}
	claims, err := auth.ClaimsFor(pro, auth.DefaultScopes())
	if err != nil {
		return err
	}
	tok, err := iss.Issue(claims, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}
