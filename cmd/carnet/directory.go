package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/carnet-sante/carnet"
)

// directory imports an RPPS-style extract: one professional a line, fields separated by "|":
//
//	RPPS|profession (TRE_G15)|specialty (TRE_R38)|civility|family name|given name|structure id|structure name[|active]
//
// A first line starting with "RPPS" is a header. The last field, optional, is "oui"/"non"
// (or 1/0): "non" deactivates. With --full the file is the whole directory: professionals absent
// from it are deactivated. Re-running the same file changes nothing. Bad lines are reported with
// their number and skipped.
func (e *env) directory(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet directory import [--full] FICHIER")
	}
	fs := e.flags("directory import")
	data := fs.String("data", "", "dossier des données")
	full := fs.Bool("full", false, "le fichier est l'annuaire complet : les absents sont désactivés")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet directory import [--full] FICHIER")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return carnet.Errorf(carnet.EINVALID, "fichier illisible : %v", err)
	}
	defer f.Close()
	a, err := e.open(ctx, e.dataDir(*data), serviceConfig(e), nil)
	if err != nil {
		return err
	}
	defer a.Close()
	op := carnet.Actor{Kind: carnet.ActorOperator, ID: "cli", Name: "import de l'annuaire"}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	var created, updated, bad int
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || (line == 1 && strings.HasPrefix(strings.ToUpper(text), "RPPS")) {
			continue
		}
		p, err := parseDirectoryLine(text)
		if err == nil {
			var isNew bool
			if _, isNew, err = a.svc.UpsertProfessional(ctx, op, p); err == nil {
				seen[p.RPPS] = true
				if isNew {
					created++
				} else {
					updated++
				}
				continue
			}
		}
		bad++
		fmt.Fprintf(e.stderr, "ligne %d : %s\n", line, carnet.ErrorMessage(err))
	}
	if err := sc.Err(); err != nil {
		return carnet.Errorf(carnet.EINVALID, "lecture du fichier : %v", err)
	}
	deactivated := 0
	if *full {
		if deactivated, err = a.svc.DeactivateProfessionalsNotIn(ctx, op, seen); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "%d créés, %d mis à jour, %d désactivés, %d lignes en erreur\n", created, updated, deactivated, bad)
	return nil
}

func parseDirectoryLine(text string) (*carnet.Professional, error) {
	f := strings.Split(text, "|")
	if len(f) != 8 && len(f) != 9 {
		return nil, carnet.Errorf(carnet.EINVALID, "8 ou 9 champs séparés par | attendus, %d reçus", len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	p := &carnet.Professional{RPPS: f[0], Profession: carnet.Profession(f[1]), Specialty: f[2], Civility: f[3], FamilyName: f[4],
		GivenName: f[5], StructureID: f[6], StructureName: f[7], Active: true}
	if len(f) == 9 {
		switch strings.ToLower(f[8]) {
		case "", "oui", "1", "actif":
		case "non", "0", "inactif":
			p.Active = false
		default:
			return nil, carnet.Errorf(carnet.EINVALID, "champ actif : oui ou non attendu, %q reçu", f[8])
		}
	}
	return p, nil
}
