package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAuditVerifyDetectsTampering tampers the SQLite file directly — an edited row, a deleted
// row, an inserted row, a swapped pair, a rewritten row with recomputed hashes — and checks that
// `carnet audit verify` reports each one.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"CARNET_DATA": data}
	getenv := func(k string) string { return env[k] }
	s := start(t, env, "serve", "--demo")
	s.stop(t)
	if err := run(context.Background(), []string{"carnet", "audit", "checkpoint"}, getenv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"carnet", "audit", "verify"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("intact journal: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), ": 0 anomalie") {
		t.Fatalf("intact journal output: %s", out.String())
	}
	dbPath := filepath.Join(data, "carnet.db")
	pristine := filepath.Join(t.TempDir(), "pristine.db")
	copyFile(t, dbPath, pristine)

	// The patient with the longest chain.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var patient string
	var n int
	if err := db.QueryRow(`SELECT patient_id, max(seq) FROM audit_events GROUP BY patient_id ORDER BY max(seq) DESC LIMIT 1`).Scan(&patient, &n); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n < 6 {
		t.Fatalf("chain too short for the test: %d", n)
	}
	cases := []struct {
		name, kind string
		sql        []string
	}{
		{"edited row", "edited", []string{`UPDATE audit_events SET actor_name = 'Quelqu''un d''autre' WHERE patient_id = ?1 AND seq = 3`}},
		{"deleted row", "deleted", []string{`DELETE FROM audit_events WHERE patient_id = ?1 AND seq = 4`}},
		{"inserted row", "inserted", []string{
			`UPDATE audit_events SET seq = seq + 1000 WHERE patient_id = ?1 AND seq >= 4`,
			`UPDATE audit_events SET seq = seq - 999 WHERE patient_id = ?1 AND seq >= 1004`,
			`INSERT INTO audit_events SELECT patient_id, 4, event_id || '-forged', at, actor_kind, actor_id, actor_name, actor_profession,
			actor_structure, on_behalf_of, 'document.read', target_type, target_id, mode, decision, reason, request_id, prev_hash, hash
			FROM audit_events WHERE patient_id = ?1 AND seq = 2`}},
		{"swapped pair", "swapped", []string{
			`UPDATE audit_events SET seq = -5 WHERE patient_id = ?1 AND seq = 5`,
			`UPDATE audit_events SET seq = 5 WHERE patient_id = ?1 AND seq = 6`,
			`UPDATE audit_events SET seq = 6 WHERE patient_id = ?1 AND seq = -5`}},
		{"truncated tail", "truncated", []string{`DELETE FROM audit_events WHERE patient_id = ?1 AND seq = (SELECT max(seq) FROM audit_events WHERE patient_id = ?1)`,
			`UPDATE audit_heads SET seq = seq - 1, hash = (SELECT hash FROM audit_events e WHERE e.patient_id = ?1 AND e.seq = audit_heads.seq - 1) WHERE patient_id = ?1`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			copyFile(t, pristine, dbPath)
			os.Remove(dbPath + "-wal")
			os.Remove(dbPath + "-shm")
			db, err := sql.Open("sqlite", dbPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range c.sql {
				if _, err := db.Exec(q, patient); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			var out bytes.Buffer
			err = run(context.Background(), []string{"carnet", "audit", "verify", "--patient", patient}, getenv, nil, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "altéré") {
				t.Errorf("verify did not fail: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), c.kind) {
				t.Errorf("verify did not report %q:\n%s", c.kind, out.String())
			}
		})
	}
}

// forEachEvent reads a patient's audit events from a stopped server's SQLite file.
func forEachEvent(t *testing.T, data, patientID string, fn func(action, actor, decision, target string)) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(data, "carnet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT action, actor_id, decision, target_id FROM audit_events WHERE patient_id = ? ORDER BY seq`, patientID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b, c, d string
		rows.Scan(&a, &b, &c, &d)
		fn(a, b, c, d)
	}
}
