package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/enroll"
	"github.com/carnet-sante/carnet/internal/service"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
)

// enroll runs `carnet enroll FILE.csv` (and `carnet enroll generate`).
func (e *env) enroll(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "generate" {
		return e.enrollGenerate(args[1:])
	}
	fs := e.flags("enroll")
	data := fs.String("data", "", "dossier des données")
	batch := fs.Int("batch", 20000, "lignes par lot (une transaction)")
	reportPath := fs.String("report", "", "rapport des lignes refusées (défaut FICHIER.refus.csv)")
	quiet := fs.Bool("quiet", false, "sans progression")
	cpuProfile := fs.String("cpuprofile", "", "profil CPU (pprof) écrit dans ce fichier, pour les mesures")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet enroll [--batch N] [--report FICHIER] FICHIER.csv")
	}
	path := fs.Arg(0)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if *reportPath == "" {
		*reportPath = trimExt(path) + ".refus.csv"
	}
	if *batch < 1 {
		*batch = 20000
	}
	f, err := os.Open(path)
	if err != nil {
		return carnet.Errorf(carnet.EINVALID, "fichier illisible : %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fileID, err := fileIdentity(f, st.Size())
	if err != nil {
		return err
	}
	a, err := e.open(ctx, e.dataDir(*data), serviceConfig(e), nil)
	if err != nil {
		return err
	}
	defer a.Close()
	// SQLite: copy the write-ahead log into the database every ~128 MiB rather than after every
	// batch (each commit still syncs the log).
	if err := sqlite.SetCheckpointPages(ctx, a.store, 32768); err != nil {
		return err
	}
	op := carnet.Actor{Kind: carnet.ActorOperator, ID: "cli", Name: "inscription en masse"}
	run, err := a.svc.EnrolmentCheckpoint(ctx, op, fileID)
	if err != nil {
		return err
	}
	if run.Done {
		fmt.Fprintf(e.stdout, "Fichier déjà traité (%d inscrits, %d déjà inscrits, %d refusés) : rien à faire.\n",
			run.Enrolled, run.Skipped, run.Bad)
		return nil
	}
	report, err := enroll.OpenReport(*reportPath, run.ReportOffset)
	if err != nil {
		return err
	}
	defer report.Close()
	rd, err := enroll.NewReader(bufio.NewReaderSize(f, 1<<20), time.Now())
	if err != nil {
		return err
	}
	var out io.Writer = e.stderr
	if *quiet {
		out = io.Discard
	}
	terminal := false
	if ef, ok := e.stderr.(*os.File); ok {
		terminal = enroll.IsTerminal(ef)
	}
	prog := enroll.NewProgress(out, st.Size(), terminal, time.Now)
	done := run.Enrolled + run.Skipped + run.Bad
	if run.Line > 0 {
		if err := rd.SkipThrough(run.Line); err != nil {
			return err
		}
		prog.Resume(done, rd.Offset())
		fmt.Fprintf(e.stdout, "Reprise après la ligne %d.\n", run.Line)
	}
	source := "enroll:" + filepath.Base(path)
	start := time.Now()

	// Two stages overlap: this goroutine reads, validates and prepares batch N+1 (keys, seals,
	// codes) and writes its bad rows to the report, while another commits batch N. Batches
	// commit in file order, each with the checkpoint of its last line.
	type job struct {
		prepared *service.PreparedBatch
		run      service.EnrolmentRun
		offset   int64 // input read so far, for the progress line
	}
	jobs := make(chan job)
	commitErr := make(chan error, 1)
	go func() {
		var err error
		for j := range jobs {
			if err != nil {
				continue // drain after a failure
			}
			if j.prepared != nil {
				_, err = a.svc.CommitEnrolment(ctx, op, j.prepared, j.run)
			} else {
				err = a.svc.SaveEnrolmentRun(ctx, op, j.run)
			}
			if err == nil {
				prog.Update(j.run.Enrolled+j.run.Skipped+j.run.Bad, j.run.Bad, j.offset)
			}
		}
		commitErr <- err
	}()
	failed := func() error {
		select {
		case err := <-commitErr:
			commitErr <- err
			return err
		default:
			return nil
		}
	}
	rows := make([]service.EnrolRow, 0, *batch)
	var bad []service.BadRow
	var prev *service.PreparedBatch
	lastLine := run.Line
	flush := func() error {
		var prepared *service.PreparedBatch
		if len(rows) > 0 {
			var more []service.BadRow
			var err error
			if prepared, more, err = a.svc.PrepareEnrolment(ctx, op, source, rows, prev); err != nil {
				return err
			}
			bad = append(bad, more...)
			prev = prepared
		}
		// Bad rows in line order, written and synced before the batch commits with the report's
		// offset: a resumed run truncates the report to the offset of its last committed batch.
		sort.Slice(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
		for _, b := range bad {
			if err := report.Add(enroll.Bad{Line: b.Line, Reason: b.Reason}); err != nil {
				return err
			}
		}
		if err := report.Sync(); err != nil {
			return err
		}
		next := run
		next.Line, next.ReportOffset, next.Bad = lastLine, report.Offset(), run.Bad+int64(len(bad))
		if prepared != nil {
			// The batch commits whole or not at all: its counts go into its own checkpoint.
			next.Enrolled += int64(prepared.Len())
			next.Skipped += int64(prepared.Skipped)
		}
		if err := failed(); err != nil {
			return err
		}
		jobs <- job{prepared: prepared, run: next, offset: rd.Offset()}
		run = next
		rows = make([]service.EnrolRow, 0, *batch) // the committer may still hold the old rows
		bad = bad[:0]
		return nil
	}
	err = func() error {
		for {
			if err := ctx.Err(); err != nil {
				return carnet.WrapErr("enroll", carnet.EUNAVAILABLE, err)
			}
			row, b, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if b != nil {
				bad = append(bad, service.BadRow{Line: b.Line, Reason: b.Reason})
				lastLine = b.Line
			} else {
				rows = append(rows, service.EnrolRow{Line: row.Line, Patient: row.Patient, VitaleSerial: row.VitaleSerial,
					RightsHolderNIR: row.RightsHolderNIR})
				lastLine = row.Line
			}
			if len(rows)+len(bad) >= *batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	}()
	close(jobs)
	if cerr := <-commitErr; err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	run.Done = true
	if err := a.svc.SaveEnrolmentRun(ctx, op, run); err != nil {
		return err
	}
	prog.Done(run.Enrolled+run.Skipped+run.Bad, run.Bad)
	elapsed := time.Since(start)
	fmt.Fprintf(e.stdout, "%d inscrits, %d déjà inscrits, %d lignes refusées (rapport : %s) en %s.\n",
		run.Enrolled, run.Skipped, run.Bad, *reportPath, elapsed.Round(time.Millisecond))
	return nil
}

// fileIdentity names a file by its size and the hash of its first MiB, so that a renamed copy
// resumes where the original stopped and another file starts afresh.
func fileIdentity(f *os.File, size int64) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", size)
	if _, err := io.CopyN(h, f, 1<<20); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

func trimExt(p string) string {
	return p[:len(p)-len(filepath.Ext(p))]
}

// enrollGenerate writes a synthetic enrolment file (tests and benchmarks).
func (e *env) enrollGenerate(args []string) error {
	fs := e.flags("enroll generate")
	n := fs.Int("rows", 1000, "nombre de lignes")
	badPct := fs.Float64("bad", 1, "pourcentage de lignes invalides")
	seed := fs.Int64("seed", 1, "graine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return carnet.Errorf(carnet.EINVALID, "usage : carnet enroll generate [--rows N] [--bad P] [--seed S] FICHIER.csv")
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return carnet.Errorf(carnet.EINVALID, "création du fichier : %v", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	bad, err := enroll.Generate(w, *n, *badPct, *seed)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s : %s lignes dont %d invalides.\n", fs.Arg(0), strconv.Itoa(*n), bad)
	return nil
}
