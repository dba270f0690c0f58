package main

import (
	"context"
	"fmt"

	"github.com/carnet-sante/carnet"
)

// account runs the operator's account commands:
//
//	carnet account code NIR [--vitale SERIAL]   send a new provisional code (a lost letter)
//	carnet account request NIR                  open the space of a person who opposed, at their request
func (e *env) account(ctx context.Context, args []string) error {
	usage := carnet.Errorf(carnet.EINVALID, "usage : carnet account code NIR [--vitale NUMÉRO] | carnet account request NIR")
	if len(args) == 0 {
		return usage
	}
	sub := args[0]
	fs := e.flags("account " + sub)
	data := fs.String("data", "", "dossier des données")
	vitale := fs.String("vitale", "", "numéro de série de la carte Vitale (code)")
	// Flags may come before or after the NIR.
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	nir := fs.Arg(0)
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return usage
		}
	}
	if nir == "" || (sub != "code" && sub != "request") {
		return usage
	}
	a, err := e.open(ctx, e.dataDir(*data), serviceConfig(e), nil)
	if err != nil {
		return err
	}
	defer a.Close()
	op := carnet.Actor{Kind: carnet.ActorOperator, ID: "cli", Name: "Assurance Maladie"}
	if sub == "request" {
		p, err := a.svc.RequestSpace(ctx, op, nir)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Espace santé de %s ouvert ; un code provisoire lui est envoyé.\n", p.DisplayName())
		return nil
	}
	p, err := a.svc.PatientByNIR(ctx, op, nir)
	if err != nil {
		return err
	}
	if err := a.svc.IssueCode(ctx, op, p.ID, *vitale); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Nouveau code provisoire envoyé à %s (l'ancien ne vaut plus).\n", p.DisplayName())
	return nil
}
