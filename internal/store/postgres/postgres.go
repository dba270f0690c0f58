// Package postgres is Carnet's scale-out store: PostgreSQL through pgx. The schema keys every
// patient-owned table by patient_id so that it can be distributed by patient; the audit table is
// hash-partitioned by patient. Several replicas share one database: migrations take an advisory
// lock, outbox rows are claimed with FOR UPDATE SKIP LOCKED.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"time"

	"github.com/carnet-sante/carnet"
	"github.com/carnet-sante/carnet/internal/store/sqldb"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migrations.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// Dialect is PostgreSQL's dialect for sqldb.
var Dialect = sqldb.Dialect{
	Name:              "postgres",
	Numbered:          true,
	LockRow:           " FOR UPDATE",
	SkipLocked:        " FOR UPDATE SKIP LOCKED",
	IsUniqueViolation: func(err error) bool { return pgCode(err) == "23505" },
	IsRetryable: func(err error) bool {
		c := pgCode(err)
		return c == "40001" || c == "40P01"
	},
	SQLHash:   true,
	LazyBegin: true,
	JSONRows:  func(cols string) string { return "json_agg(json_build_array(" + cols + "))::text" },
}

// Options configure Open.
type Options struct {
	Logger   *slog.Logger
	MaxConns int // default 20
	// AppendBatch is the most lone audit appends linked and committed by one statement
	// (sqldb.WithAppendBatching): default 64; 1 sends each alone.
	AppendBatch int
	// AppendLinger is the most a batch waits for the events of transactions still running
	// (sqldb.WithAppendBatching): default 1 ms; negative: not at all.
	AppendLinger time.Duration
	// SubjectCache is how many subjects are kept between transactions, checked by revision
	// (sqldb.WithSubjectCache): default 16 384; negative: none.
	SubjectCache int
	Store        []sqldb.Option
}

// Open connects to the database at url (a libpq URL or key=value string), applies migrations and
// returns the store. It fails if the schema is newer than this binary knows.
func Open(ctx context.Context, url string, o Options) (*sqldb.DB, error) {
	const op = "postgres.Open"
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 20
	}
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if err := sqldb.Migrate(ctx, db, goose.DialectPostgres, Migrations(), o.Logger); err != nil {
		db.Close()
		return nil, err
	}
	if o.AppendBatch == 0 {
		o.AppendBatch = 64
	}
	if o.AppendLinger == 0 {
		o.AppendLinger = time.Millisecond
	}
	if o.SubjectCache == 0 {
		o.SubjectCache = 16384
	}
	return sqldb.New(db, db, Dialect, append([]sqldb.Option{sqldb.WithAppendBatching(o.AppendBatch, o.AppendLinger),
		sqldb.WithSubjectCache(o.SubjectCache)}, o.Store...)...), nil
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
