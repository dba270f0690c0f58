package main

import (
	"github.com/carnet-sante/carnet/internal/auth"
	"github.com/carnet-sante/carnet/internal/web"
)

// proLogin chooses how professionals sign in on the portal.
func (e *env) proLogin(a *app, iss *auth.Issuer, demo bool) web.ProLogin {
	return nil
}
