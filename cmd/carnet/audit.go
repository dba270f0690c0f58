package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/audit"
	"github.com/carnet-sante/carnet/internal/service"
)

// signingKeyFile is where the Ed25519 key that signs audit checkpoints lives.
func (e *env) signingKeyFile(dataDir string) string {
	if v := e.getenv("CARNET_AUDIT_KEY_FILE"); v != "" {
		return v
	}
	return filepath.Join(dataDir, "audit-signing.key")
}

// signingKey reads the checkpoint signing key, creating it (0600) when create is true and it
// does not exist.
func (e *env) signingKey(dataDir string, create bool) (ed25519.PrivateKey, error) {
	path := e.signingKeyFile(dataDir)
	priv, err := audit.ReadSigningKeyFile(path)
	if err == nil {
		return priv, nil
	}
	if !create || !errors.Is(err, fs.ErrNotExist) {
		return nil, carnet.Errorf(carnet.EKEY, "clé de signature du journal (%s) : %v", path, err)
	}
	if priv, err = audit.GenerateSigningKey(); err != nil {
		return nil, err
	}
	if err := audit.WriteSigningKeyFile(path, priv); err != nil {
		return nil, carnet.Errorf(carnet.EKEY, "clé de signature du journal (%s) : %v", path, err)
	}
	e.log.Info("audit signing key created", "file", path, "key_id", audit.KeyID(priv.Public().(ed25519.PublicKey)))
	return priv, nil
}

func (e *env) audit(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet audit verify [--patient ID] | carnet audit checkpoint")
	}
	sub := args[0]
	fset := e.flags("audit " + sub)
	data := fset.String("data", "", "dossier des données")
	patient := fset.String("patient", "", "ne vérifier que l'historique de ce patient")
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	dir := e.dataDir(*data)
	st, err := e.openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	priv, err := e.signingKey(dir, sub == "checkpoint")
	if err != nil {
		return err
	}
	if sub == "checkpoint" {
		n, err := service.Checkpoint(ctx, st, priv)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d têtes de chaîne signées\n", n)
		return nil
	}
	start := time.Now()
	var events int
	chains, problems, err := service.VerifyAudit(ctx, st, priv.Public().(ed25519.PublicKey), *patient, func(r service.ChainReport) {
		events += r.Events
		for _, p := range r.Problems {
			fmt.Fprintf(e.stdout, "patient %s : %s (événement n° %d, %s)\n", r.PatientID, p.Message, p.Seq, p.Kind)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d historique(s), %d événement(s) vérifiés en %s : %d anomalie(s)\n", chains, events,
		time.Since(start).Round(time.Millisecond), problems)
	if problems > 0 {
		return carnet.Errorf(carnet.EINTEGRITY, "le journal d'activité a été altéré : %d anomalie(s)", problems)
	}
	return nil
}

func (e *env) checkpointLoop(ctx context.Context, a *app, priv ed25519.PrivateKey, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := service.Checkpoint(ctx, a.store, priv); err != nil {
			if ctx.Err() == nil {
				e.log.Error("audit checkpoint failed", "err", err)
			}
		} else if n > 0 {
			e.log.Info("audit checkpoint", "heads", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
