package main

import (
	"context"
	"strings"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/auth"
	"github.com/carnet-sante/carnet/internal/web"
)

// proLogin chooses how professionals sign in on the portal:
//
//   - with an OpenID Connect provider (Pro Santé Connect) when CARNET_OIDC_ISSUER and
//     CARNET_OIDC_CLIENT_ID are set: authorization-code flow with PKCE, the client
//     authenticated with CARNET_OIDC_CLIENT_SECRET; CARNET_OIDC_REDIRECT_URL names the callback
//     registered at the provider (default: built from the request's host) and
//     CARNET_OIDC_SCOPES the scopes (default "openid");
//   - otherwise, with --demo only, the demonstration sign-in, which lists the directory's
//     professionals;
//   - otherwise not at all (nil): the professionals' pages say that no sign-in is configured.
//
// Either way the portal session is a short-lived token of the embedded issuer iss.
func (e *env) proLogin(a *app, iss *auth.Issuer, demo bool) web.ProLogin {
	issuer, clientID := e.getenv("CARNET_OIDC_ISSUER"), e.getenv("CARNET_OIDC_CLIENT_ID")
	switch {
	case issuer != "" && clientID != "":
		l, err := web.NewOIDCLogin(iss, web.OIDCConfig{Issuer: issuer, ClientID: clientID,
			ClientSecret: e.getenv("CARNET_OIDC_CLIENT_SECRET"), RedirectURL: e.getenv("CARNET_OIDC_REDIRECT_URL"),
			Scopes: strings.Fields(e.getenv("CARNET_OIDC_SCOPES"))})
		if err != nil {
			e.log.Error("professional sign-in disabled: OpenID Connect configuration", "err", err)
			return nil
		}
		if demo {
			e.log.Info("professional sign-in with OpenID Connect: the demonstration sign-in is off", "issuer", issuer)
		}
		return l
	case issuer != "":
		e.log.Warn("professional sign-in on the portal disabled: CARNET_OIDC_CLIENT_ID is not set", "issuer", issuer)
	}
	if !demo {
		return nil
	}
	l, err := web.NewDemoLogin(iss, 0, func(ctx context.Context) ([]*carnet.Professional, error) {
		return demoProfessionals(ctx, a)
	})
	if err != nil {
		e.log.Error("demonstration sign-in disabled", "err", err)
		return nil
	}
	return l
}

// demoProfessionals lists the active professionals of the directory (the demonstration
// directory, with --demo), at most 50.
func demoProfessionals(ctx context.Context, a *app) ([]*carnet.Professional, error) {
	return a.svc.ActiveProfessionals(ctx, 50)
}
