package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/sqlite"
	"github.com/carnet-sante/carnet/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, mode := range []struct {
		name    string
		noGroup bool
	}{{"GroupCommit", false}, {"OneTxPerUpdate", true}} {
		t.Run(mode.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) carnet.Store {
				db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "carnet.db"), sqlite.Options{NoGroupCommit: mode.noGroup})
				if err != nil {
					t.Fatal(err)
				}
				return db
			})
		})
	}
}

// TestRefusesNewerSchema: a database migrated by a newer carnet is not opened by this one.
func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "carnet.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteDB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	if carnet.ErrorCode(err) != carnet.EINVALID {
		t.Fatalf("open of a newer schema: %v", err)
	}
	if msg := carnet.ErrorMessage(err); !strings.Contains(msg, "999") {
		t.Errorf("message does not name the version: %q", msg)
	}
}

func BenchmarkStore(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noGroup bool
	}{{"GroupCommit", false}, {"OneTxPerUpdate", true}} {
		b.Run(mode.name, func(b *testing.B) {
			storetest.Bench(b, func(b *testing.B) carnet.Store {
				db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "carnet.db"), sqlite.Options{NoGroupCommit: mode.noGroup})
				if err != nil {
					b.Fatal(err)
				}
				return db
			})
		})
	}
}

func BenchmarkAuditAppend(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noGroup bool
	}{{"GroupCommit", false}, {"OneTxPerUpdate", true}} {
		b.Run(mode.name, func(b *testing.B) {
			storetest.BenchAudit(b, func(b *testing.B) carnet.Store {
				db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "carnet.db"), sqlite.Options{NoGroupCommit: mode.noGroup})
				if err != nil {
					b.Fatal(err)
				}
				return db
			})
		})
	}
}

// TestSetCheckpointPages: the setting applies to the writer connection and stays with it.
func TestSetCheckpointPages(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "carnet.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := sqlite.SetCheckpointPages(ctx, db, 32768); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		var n int
		if err := db.WriteDB().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&n); err != nil || n != 32768 {
			t.Fatalf("wal_autocheckpoint %d %v", n, err)
		}
	}
	if err := sqlite.SetCheckpointPages(ctx, nil, 1); err != nil {
		t.Errorf("not a SQLite store: %v", err)
	}
}
