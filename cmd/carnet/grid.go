package main

import (
	"context"
	"fmt"
	"os"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/policy"
	"github.com/carnet-sante/carnet/internal/service"
)

func (e *env) grid(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet grid load|diff FILE, carnet grid show")
	}
	sub := args[0]
	fs := e.flags("grid " + sub)
	data := fs.String("data", "", "dossier des données")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var next *policy.Grid
	if sub == "load" || sub == "diff" {
		if fs.NArg() != 1 {
			return carnet.Errorf(carnet.EINVALID, "usage : carnet grid %s FILE", sub)
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return carnet.Errorf(carnet.EINVALID, "grille illisible : %v", err)
		}
		next, err = policy.ParseGrid(f)
		f.Close()
		if err != nil {
			return carnet.Errorf(carnet.EINVALID, "grille invalide : %v", err)
		}
	}
	a, err := e.open(ctx, e.dataDir(*data), service.Config{}, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	cur := a.svc.Grid()
	switch sub {
	case "show":
		return cur.Encode(e.stdout)
	case "diff":
		changes := policy.Diff(cur, next)
		fmt.Fprintf(e.stdout, "grille en vigueur %s → %s : %d changement(s)\n", cur.Version(), next.Version(), len(changes))
		for _, c := range changes {
			fmt.Fprintln(e.stdout, c.String())
		}
		return nil
	case "load":
		changes := policy.Diff(cur, next)
		if err := a.svc.LoadGrid(ctx, carnet.Actor{Kind: carnet.ActorOperator, ID: "cli", Name: "opérateur"}, next); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "grille %s chargée (%d changement(s) par rapport à %s) ; redémarrez les serveurs pour l'appliquer\n",
			next.Version(), len(changes), cur.Version())
		return nil
	}
	return carnet.Errorf(carnet.EINVALID, "sous-commande inconnue : grid %s", sub)
}
