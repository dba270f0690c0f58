package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carnet-sante/carnet/internal/enroll"
)

// runCLI runs one carnet command in-process and returns its standard output.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"carnet"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errb)
	return out.String(), err
}

func genFile(t *testing.T, n int) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "assures.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	bad, err := enroll.Generate(w, n, 1, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path, bad
}

// state is what an enrolment leaves in the database, without its random parts (IDs, keys, codes):
// one line per person (traits, status, whether a parent holds their rights, whether their code
// waits to be sent, how it was sent if it was) and the counts of every table.
func enrolState(t *testing.T, dataDir string) string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "carnet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines []string
	rows, err := db.Query(`SELECT p.birth_name, p.given_names, p.birth_date, p.sex, p.status, p.rights_holder_id <> '',
		e.code_sealed IS NOT NULL, coalesce(o.channel, ''), coalesce(o.kind, ''), e.source FROM patients p
		JOIN enrolments e ON e.patient_id = p.patient_id LEFT JOIN outbox o ON o.patient_id = p.patient_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c, d, e, g, h, i string
		var minor, queued bool
		if err := rows.Scan(&a, &b, &c, &d, &e, &minor, &queued, &g, &h, &i); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(a, b, c, d, e, minor, queued, g, h, i))
	}
	sort.Strings(lines)
	for _, table := range []string{"patients", "nir_index", "data_keys", "enrolments", "audit_events", "audit_heads", "outbox"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(lines, "\n")
}

func TestEnrollIdempotentAndReport(t *testing.T) {
	path, bad := genFile(t, 3000)
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	out, err := runCLI(t, env, "enroll", "--quiet", "--batch", "400", path)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d inscrits, 0 déjà inscrits, %d lignes refusées", 3000-bad, bad); !strings.Contains(out, want) {
		t.Fatalf("summary %q, want %q", out, want)
	}
	report, err := os.ReadFile(strings.TrimSuffix(path, ".csv") + ".refus.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(report)), "\n")
	if lines[0] != "ligne;motif" || len(lines) != bad+1 {
		t.Fatalf("report has %d lines, want header + %d:\n%s", len(lines), bad, report)
	}
	before := enrolState(t, data)
	// The same file again: recognized, nothing changes.
	out, err = runCLI(t, env, "enroll", "--quiet", path)
	if err != nil || !strings.Contains(out, "déjà traité") {
		t.Fatalf("second run: %q %v", out, err)
	}
	// A copy under another name with a changed first line is another file: every row is
	// found enrolled already, and still nothing changes.
	b, _ := os.ReadFile(path)
	other := filepath.Join(t.TempDir(), "copie.csv")
	os.WriteFile(other, bytes.Replace(b, []byte("nir;"), []byte("NIR;"), 1), 0o600)
	out, err = runCLI(t, env, "enroll", "--quiet", other)
	if err != nil || !strings.Contains(out, fmt.Sprintf("0 inscrits, %d déjà inscrits", 3000-bad)) {
		t.Fatalf("copy: %q %v", out, err)
	}
	if after := enrolState(t, data); after != before {
		t.Fatal("a re-run changed the database")
	}
}

// TestEnrollKilledAndResumed kills a real `carnet enroll` process half-way (SIGKILL: no chance
// to clean up), runs it again, and compares the database and the report with those of an
// uninterrupted run of the same file.
func TestEnrollKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "carnet")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path, _ := genFile(t, 30000)
	reportOf := func(dir string) string { return filepath.Join(dir, "refus.csv") }

	whole := t.TempDir()
	cmd := exec.Command(bin, "enroll", "--quiet", "--batch", "500", "--report", reportOf(whole), path)
	cmd.Env = append(os.Environ(), "CARNET_DATA="+whole)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	cut := t.TempDir()
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		cmd = exec.Command(bin, "enroll", "--quiet", "--batch", "500", "--report", reportOf(cut), path)
		cmd.Env = append(os.Environ(), "CARNET_DATA="+cut)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until some batches are committed, then kill it without warning.
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if n := countPatients(filepath.Join(cut, "carnet.db")); n >= 5000 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		killed = err != nil && strings.Contains(err.Error(), "killed")
	}
	if !killed {
		t.Fatal("could not kill the run before it finished")
	}
	if n := countPatients(filepath.Join(cut, "carnet.db")); n >= 29700 {
		t.Fatalf("killed too late (%d enrolled)", n)
	}
	cmd = exec.Command(bin, "enroll", "--quiet", "--batch", "500", "--report", reportOf(cut), path)
	cmd.Env = append(os.Environ(), "CARNET_DATA="+cut)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Reprise après la ligne") {
		t.Errorf("the second run did not resume:\n%s", out)
	}
	if a, b := enrolState(t, whole), enrolState(t, cut); a != b {
		t.Error("the database after kill + resume differs from an uninterrupted run")
	}
	ra, _ := os.ReadFile(reportOf(whole))
	rb, _ := os.ReadFile(reportOf(cut))
	if !bytes.Equal(ra, rb) || len(ra) < 100 {
		t.Errorf("reports differ (%d and %d bytes)", len(ra), len(rb))
	}
}

func countPatients(dbPath string) int {
	if _, err := os.Stat(dbPath); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM patients`).Scan(&n); err != nil {
		return 0
	}
	return n
}

func TestAccountCommands(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data, "CARNET_PASSWORD_COST": "test"}
	csv := filepath.Join(t.TempDir(), "a.csv")
	os.WriteFile(csv, []byte("nir;vitale_serial;birth_name;given_names;sex;birth_date;email\n"+
		"269054958815780;900011112222;ROBERT;Sophie;F;1969-05-21;sophie.robert@example.org\n"), 0o600)
	if _, err := runCLI(t, env, "enroll", "--quiet", csv); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, env, "account", "code", "269054958815780", "--vitale", "900011112223")
	if err != nil || !strings.Contains(out, "Nouveau code provisoire envoyé à Sophie ROBERT") {
		t.Fatalf("account code: %q %v", out, err)
	}
	// She has not opposed: her space cannot be "requested".
	if _, err := runCLI(t, env, "account", "request", "269054958815780"); err == nil {
		t.Fatal("request for a person who did not oppose should fail")
	}
	if _, err := runCLI(t, env, "account", "code", "not-a-nir"); err == nil {
		t.Fatal("a bad NIR should be refused")
	}
}

// TestEnrollCodesSent: bulk enrolment queues each code on its enrolment row; the jobs turn every
// one into exactly one message (by email, SMS or letter) and send it; running them again, or
// enrolling the file again, sends nothing more.
func TestEnrollCodesSent(t *testing.T) {
	path, bad := genFile(t, 500)
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	if _, err := runCLI(t, env, "enroll", "--quiet", "--batch", "64", path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "carnet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	enrolled := 500 - bad
	if n := count(`SELECT count(*) FROM enrolments WHERE code_sealed IS NOT NULL`); n != enrolled {
		t.Fatalf("%d codes queued, want %d", n, enrolled)
	}
	if n := count(`SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("enrolment wrote %d outbox messages", n)
	}
	for i := 0; i < 2; i++ {
		if _, err := runCLI(t, env, "jobs", "run"); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT count(*) FROM enrolments WHERE code_sealed IS NOT NULL`); n != 0 {
			t.Fatalf("run %d: %d codes still queued", i, n)
		}
		if n := count(`SELECT count(DISTINCT patient_id) FROM outbox WHERE kind = 'activation_code' AND status = 'sent'
			AND secret IS NULL`); n != enrolled || count(`SELECT count(*) FROM outbox`) != enrolled {
			t.Fatalf("run %d: %d people sent their code, want %d (%d messages)", i, n, enrolled, count(`SELECT count(*) FROM outbox`))
		}
	}
	if out, err := runCLI(t, env, "enroll", "--quiet", path); err != nil || !strings.Contains(out, "déjà traité") {
		t.Fatalf("second run: %q %v", out, err)
	}
	if n := count(`SELECT count(*) FROM enrolments WHERE code_sealed IS NOT NULL`); n != 0 {
		t.Fatalf("a re-run queued %d codes", n)
	}
}

// TestEnrollLetters: a person with only a postal address gets their code by letter: the jobs
// print it into a PDF batch, and the outbox then keeps no trace of the code.
func TestEnrollLetters(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	csv := filepath.Join(t.TempDir(), "a.csv")
	os.WriteFile(csv, []byte("nir;vitale_serial;birth_name;given_names;sex;birth_date;postal_address\n"+
		"269054958815780;900011112222;ROBERT;Sophie;F;1969-05-21;12 rue des Lilas / 75020 Paris\n"), 0o600)
	if _, err := runCLI(t, env, "enroll", "--quiet", csv); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, env, "jobs", "run"); err != nil {
		t.Fatal(err)
	}
	pdfs, _ := filepath.Glob(filepath.Join(data, "letters", "*.pdf"))
	if len(pdfs) != 1 {
		t.Fatalf("letters: %v", pdfs)
	}
	b, _ := os.ReadFile(pdfs[0])
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("%s is not a PDF", pdfs[0])
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "carnet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var status, channel string
	var secret []byte
	if err := db.QueryRow(`SELECT status, channel, secret FROM outbox WHERE kind = 'activation_code'`).Scan(&status, &channel, &secret); err != nil {
		t.Fatal(err)
	}
	if status != "sent" || channel != "letter" || len(secret) != 0 {
		t.Errorf("the code's message: status %s, channel %s, secret kept: %v", status, channel, len(secret) != 0)
	}
}
