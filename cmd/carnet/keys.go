package main

import (
	"context"
	"fmt"
	"os"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/keys"
	"github.com/carnet-sante/carnet/internal/service"
)

func (e *env) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet keys rotate|generate")
	}
	switch args[0] {
	case "generate":
		k, err := keys.GenerateMasterKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, k.Encode())
		return nil
	case "rotate":
		return e.rotate(ctx, args[1:])
	}
	return carnet.Errorf(carnet.EINVALID, "sous-commande inconnue : keys %s", args[0])
}

// rotate re-wraps every data key under a new master key. With a key file, the new key is kept in
// "<file>.next" until every data key is re-wrapped, then takes the file's place and the old key
// is kept as "<file>.retired-<id>"; an interrupted rotation resumes on the next run. With
// CARNET_MASTER_KEY, the new key must be given as CARNET_MASTER_KEY_NEXT.
func (e *env) rotate(ctx context.Context, args []string) error {
	fs := e.flags("keys rotate")
	data := fs.String("data", "", "dossier des données")
	batch := fs.Int("batch", 500, "clés par transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := e.dataDir(*data)
	st, err := e.openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	src := e.keySource(dir)
	if src.Env != "" && src.EnvNext == "" {
		return carnet.Errorf(carnet.EINVALID, "clé maîtresse fournie par CARNET_MASTER_KEY : donnez la nouvelle clé dans CARNET_MASTER_KEY_NEXT (carnet keys generate)")
	}
	if src.Env == "" {
		old, err := keys.ReadKeyFile(src.File)
		if err != nil && !fileExists(keys.NextFile(src.File)) {
			return err
		}
		if !fileExists(keys.NextFile(src.File)) {
			next, err := keys.GenerateMasterKey()
			if err != nil {
				return err
			}
			if err := keys.CreateKeyFile(keys.NextFile(src.File), next); err != nil {
				return err
			}
		}
		ring, n, err := rewrap(ctx, st, src, *batch)
		if err != nil {
			return err
		}
		if old == nil {
			fmt.Fprintf(e.stdout, "%d clés de patients rechiffrées sous la clé %s\n", n, ring.Current().ID())
			return nil
		}
		retired, err := keys.FinishRotation(src.File, old)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d clés de patients rechiffrées sous la clé %s ; ancienne clé conservée dans %s (à archiver avec les sauvegardes, puis détruire)\n",
			n, ring.Current().ID(), retired)
		return nil
	}
	ring, n, err := rewrap(ctx, st, src, *batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d clés de patients rechiffrées sous la clé %s : remplacez CARNET_MASTER_KEY par CARNET_MASTER_KEY_NEXT\n", n, ring.Current().ID())
	return nil
}

// rewrap re-wraps every data key under the keyring's current key.
func rewrap(ctx context.Context, st carnet.Store, src keys.Source, batch int) (*keys.Keyring, int, error) {
	ring, _, err := keys.Load(src, false)
	if err != nil {
		return nil, 0, err
	}
	n, err := service.RotateMasterKey(ctx, st, ring, batch)
	if err != nil {
		return nil, n, fmt.Errorf("rotation interrompue après %d clés (relancez la commande pour la reprendre) : %w", n, err)
	}
	return ring, n, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
