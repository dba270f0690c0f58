// Package sqlite is Carnet's embedded store: SQLite through a pure-Go driver, in WAL mode with
// full synchronous commits (an acknowledged write survives a crash), one writer connection that
// takes the write lock at BEGIN, and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strconv"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migrations (for tests and tools).
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// Dialect is SQLite's dialect for sqldb.
var Dialect = sqldb.Dialect{
	Name:              "sqlite",
	PrepareInTx:       true,
	IsUniqueViolation: isUniqueViolation,
	IsRetryable:       isBusy,
	JSONRows:          func(cols string) string { return "json_group_array(json_array(" + cols + "))" },
}

// Options configure Open.
type Options struct {
	Logger *slog.Logger
	Store  []sqldb.Option
	// NoGroupCommit gives every Update its own database transaction and fsync, instead of
	// batching concurrent ones (sqldb.WithGroupCommit).
	NoGroupCommit bool
}

// Open opens (creating if needed) the database file at path, applies migrations, and returns the
// store. It fails if the file's schema is newer than this binary knows.
func Open(ctx context.Context, path string, o Options) (*sqldb.DB, error) {
	const op = "sqlite.Open"
	// The file holds health data: readable by its owner only (SQLite gives the -wal and -shm
	// files the same mode).
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	} else {
		f.Close()
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if err := sqldb.Migrate(ctx, write, goose.DialectSQLite3, Migrations(), o.Logger); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if !o.NoGroupCommit {
		o.Store = append([]sqldb.Option{sqldb.WithGroupCommit(256)}, o.Store...)
	}
	return sqldb.New(write, read, Dialect, o.Store...), nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "cache_size(-65536)") // 64 MiB of page cache per connection
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Set("_txlock", "deferred")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func isUniqueViolation(err error) bool {
	var e *sqlite3.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3lib.SQLITE_CONSTRAINT_UNIQUE, sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

func isBusy(err error) bool {
	var e *sqlite3.Error
	if errors.As(err, &e) {
		return e.Code()&0xff == sqlite3lib.SQLITE_BUSY
	}
	return false
}

// SetCheckpointPages lets the write-ahead log of store grow to pages pages (of 4 KiB) before
// the writer copies it into the database file (SQLite's wal_autocheckpoint; its default, 1 000
// pages, checkpoints after nearly every large transaction). A bulk load raises it: a page
// rewritten by several transactions is copied once, and the database file is synced less often.
// Durability is unchanged: every commit still syncs the log. Interactive use keeps the default,
// whose pauses are shorter. It does nothing to a store that is not SQLite's.
func SetCheckpointPages(ctx context.Context, store carnet.Store, pages int) error {
	db, ok := store.(*sqldb.DB)
	if !ok {
		return nil
	}
	if _, ok := db.WriteDB().Driver().(*sqlite3.Driver); !ok {
		return nil
	}
	// The write pool is one connection, kept open: the setting stays with it.
	if _, err := db.WriteDB().ExecContext(ctx, "PRAGMA wal_autocheckpoint = "+strconv.Itoa(pages)); err != nil {
		return carnet.WrapErr("sqlite.SetCheckpointPages", carnet.EUNAVAILABLE, err)
	}
	return nil
}
