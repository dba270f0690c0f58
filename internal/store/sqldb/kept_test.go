package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carnet-sante/carnet"
	_ "modernc.org/sqlite"
)

// keptTestDB is a DB over a SQLite file with one writer connection and two readers, preparing
// statements as the SQLite store does.
func keptTestDB(t *testing.T) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	open := func(n int) *sql.DB {
		p, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		p.SetMaxOpenConns(n)
		t.Cleanup(func() { p.Close() })
		return p
	}
	write, read := open(1), open(2)
	if _, err := write.Exec(`CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db := New(write, read, Dialect{Name: "sqlite", PrepareInTx: true})
	t.Cleanup(func() { db.Close() })
	return db
}

func (db *DB) keptCount(pool *sql.DB) int {
	db.kept.mu.Lock()
	defer db.kept.mu.Unlock()
	return len(db.kept.m[pool])
}

// A query is prepared on its pool once the first transaction using it has ended, and later
// transactions read and write through it.
func TestKeptStatements(t *testing.T) {
	ctx := context.Background()
	db := keptTestDB(t)
	const ins, sel = `INSERT INTO t (a) VALUES (?)`, `SELECT count(*), coalesce(sum(a), 0) FROM t`
	for i := 1; i <= 3; i++ {
		err := db.Update(ctx, func(ctx2 carnet.Tx) error {
			tx := ctx2.(*Tx)
			if i > 1 && db.keptStmt(db.write, ins) == nil {
				t.Errorf("transaction %d: the insert is not kept", i)
			}
			_, err := tx.exec(ctx, "test", ins, i)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n, sum int
		err = db.View(ctx, func(c carnet.Tx) error { return c.(*Tx).queryRow(ctx, sel).Scan(&n, &sum) })
		if err != nil || n != i || sum != i*(i+1)/2 {
			t.Fatalf("after insert %d: count %d sum %d (%v)", i, n, sum, err)
		}
	}
	if db.keptStmt(db.read, sel) == nil || db.keptStmt(db.write, sel) != nil {
		t.Errorf("the select should be kept on the read pool only")
	}
	// A rolled-back transaction's queries are kept too; its effects are not.
	const del = `DELETE FROM t WHERE a = ?`
	err := db.Update(ctx, func(c carnet.Tx) error {
		if _, err := c.(*Tx).exec(ctx, "test", del, 1); err != nil {
			return err
		}
		return carnet.Errorf(carnet.EINVALID, "rollback")
	})
	if carnet.ErrorCode(err) != carnet.EINVALID || db.keptStmt(db.write, del) == nil {
		t.Errorf("rolled back: %v, kept %v", err, db.keptStmt(db.write, del) != nil)
	}
	// A kept statement follows a schema change (SQLite prepares it again).
	if _, err := db.write.Exec(`ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	const star = `SELECT * FROM t ORDER BY a LIMIT 1`
	for i := 0; i < 2; i++ {
		err := db.View(ctx, func(c carnet.Tx) error {
			rows, err := c.(*Tx).query(ctx, "test", star)
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if len(cols) != 2 {
				t.Errorf("round %d: columns %v (%v)", i, cols, err)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.Exec(`ALTER TABLE t ADD COLUMN c INTEGER`); err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(c carnet.Tx) error {
		rows, err := c.(*Tx).query(ctx, "test", star)
		if err != nil {
			return err
		}
		defer rows.Close()
		if cols, _ := rows.Columns(); len(cols) != 3 {
			t.Errorf("after a second column: %v", cols)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Long queries (bulk inserts, IN lists) are not kept, and a pool keeps a bounded number.
func TestKeptStatementsBounded(t *testing.T) {
	ctx := context.Background()
	db := keptTestDB(t)
	long := `SELECT count(*) FROM t WHERE a IN (` + strings.TrimSuffix(strings.Repeat("1, ", maxKeptQuery/3+1), ", ") + `)`
	// Four goroutines at once: the bound holds when transactions end together.
	const workers = 4
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := w; i < maxKeptStmts+100; i += workers {
				err := db.View(ctx, func(c carnet.Tx) error {
					var n int
					if err := c.(*Tx).queryRow(ctx, fmt.Sprintf(`SELECT %d + count(*) FROM t`, i)).Scan(&n); err != nil || n != i {
						return fmt.Errorf("query %d: %d %v", i, n, err)
					}
					return c.(*Tx).queryRow(ctx, long).Scan(&n)
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if db.keptStmt(db.read, long) != nil {
		t.Errorf("a %d-byte query was kept", len(long))
	}
	if n := db.keptCount(db.read); n != maxKeptStmts {
		t.Errorf("%d statements kept, want the bound %d", n, maxKeptStmts)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := db.keptCount(db.read); n != 0 {
		t.Errorf("%d statements still kept after Close", n)
	}
}
