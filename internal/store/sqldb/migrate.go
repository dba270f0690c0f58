package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/carnet-sante/carnet"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrate applies the embedded forward-only migrations in fsys to db, and refuses a database
// whose schema is newer than the newest migration this binary knows.
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, logger *slog.Logger) error {
	const op = "store.migrate"
	var opts []goose.ProviderOption
	if dialect == goose.DialectPostgres {
		// Several replicas may start at once: one migrates, the others wait.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return carnet.WrapErr(op, carnet.EINTERNAL, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(dialect, db, fsys, append(opts, goose.WithDisableGlobalRegistry(true))...)
	if err != nil {
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	sources := p.ListSources()
	known := int64(0)
	if n := len(sources); n > 0 {
		known = sources[n-1].Version
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return carnet.WrapErr(op, carnet.EUNAVAILABLE, err)
	}
	if current > known {
		return &carnet.Error{Code: carnet.EINVALID, Op: op, Message: fmt.Sprintf(
			"le schéma de la base (version %d) est plus récent que celui que connaît ce programme (version %d) : mettez carnet à jour", current, known)}
	}
	if _, err := p.Up(ctx); err != nil {
		return carnet.WrapErr(op, carnet.EINTERNAL, err)
	}
	return nil
}

// SchemaVersion returns the version recorded in the database.
func SchemaVersion(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) (int64, error) {
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}
