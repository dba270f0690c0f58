// Package sqldb implements carnet.Store over database/sql for both of Carnet's engines. The SQL
// is hand-written once, with '?' placeholders; a Dialect rewrites what differs (placeholders,
// row locks, error codes). internal/store/sqlite and internal/store/postgres open the database,
// apply their own embedded migrations and hand the connections to New.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carnet-sante/carnet"
)

// Dialect is what differs between the engines.
type Dialect struct {
	Name string
	// Numbered turns '?' placeholders into $1, $2, ... (PostgreSQL).
	Numbered bool
	// LockRow is appended to a SELECT of one row that the transaction will update
	// (" FOR UPDATE" on PostgreSQL; SQLite write transactions are already exclusive).
	LockRow string
	// SkipLocked is appended to the SELECT that claims outbox rows
	// (" FOR UPDATE SKIP LOCKED" on PostgreSQL).
	SkipLocked string
	// IsUniqueViolation reports whether err is a unique or primary key violation.
	IsUniqueViolation func(error) bool
	// PrepareInTx prepares each query once per database transaction and reuses it (SQLite,
	// whose driver parses every statement anew; pgx caches prepared statements itself).
	PrepareInTx bool
	// IsRetryable reports whether a transaction failed for a transient reason (serialization
	// failure, deadlock, busy database) and may be run again.
	IsRetryable func(error) bool
	// JSONRows aggregates the rows of a subquery into a JSON array of arrays, given the
	// columns; an empty set gives NULL or '[]'.
	JSONRows func(cols string) string
	// SQLHash: the engine has sha256(), so an audit event is linked and appended in one
	// statement (PostgreSQL).
	SQLHash bool
	// LazyBegin (PostgreSQL) sends BEGIN only when a transaction needs it. Until its first
	// write or locking read, its plain SELECTs run on its connection outside a transaction: in
	// READ COMMITTED each statement takes its own snapshot inside a transaction too, so they
	// see what they would have seen after BEGIN. An AppendLinked that nothing follows is sent at
	// the commit, alone, as the one atomic statement of the transaction (or with the lone appends
	// of concurrent transactions: WithAppendBatching). An audited read is then two round trips
	// (subject with its document, append) instead of five.
	LazyBegin bool
}

// DB is a carnet.Store. Writes go through the write pool, reads through the read pool (the
// same pool on PostgreSQL; on SQLite one writer connection and several readers).
type DB struct {
	write    *sql.DB
	read     *sql.DB
	dialect  Dialect
	now      func() time.Time
	queries  sync.Map        // '?' query → dialect query
	group    *groupCommitter // nil: one database transaction per Update
	appends  *appendBatcher  // nil: each lone append is its own statement
	subjects *subjectCache   // nil: every subject is read in full
	kept     stmtCache       // PrepareInTx: statements prepared once per pool
}

// stmtCache holds statements prepared on a pool and reused by the pool's transactions
// (sql.Tx.StmtContext reuses the statement its connection has already prepared): SQLite's
// driver parses each statement anew, and parsing a request's few queries in every transaction
// was a tenth of an audited read's CPU. A query is prepared on its pool after the first
// transaction that used it has ended (the write pool has one connection, which that transaction
// held). Queries whose text varies (bulk inserts, IN lists) are not kept: only up to
// maxKeptQuery bytes, and at most maxKeptStmts statements per pool.
type stmtCache struct {
	mu sync.Mutex
	m  map[*sql.DB]map[string]*sql.Stmt
}

const (
	maxKeptQuery = 4096
	maxKeptStmts = 512
)

// keptStmt returns pool's statement for query, or nil.
func (db *DB) keptStmt(pool *sql.DB, query string) *sql.Stmt {
	db.kept.mu.Lock()
	defer db.kept.mu.Unlock()
	return db.kept.m[pool][query]
}

// keep prepares on pool the queries a finished transaction prepared for itself (stmts' keys)
// that are worth keeping. A query that fails to prepare is left to the next transaction.
func (db *DB) keep(pool *sql.DB, stmts map[string]*sql.Stmt) {
	if !db.dialect.PrepareInTx {
		return
	}
	for query := range stmts {
		if len(query) > maxKeptQuery {
			continue
		}
		db.kept.mu.Lock()
		known := db.kept.m[pool][query] != nil
		full := len(db.kept.m[pool]) >= maxKeptStmts
		db.kept.mu.Unlock()
		if known || full {
			continue
		}
		st, err := pool.PrepareContext(context.Background(), db.q(query))
		if err != nil {
			continue
		}
		db.kept.mu.Lock()
		if db.kept.m == nil {
			db.kept.m = map[*sql.DB]map[string]*sql.Stmt{}
		}
		if db.kept.m[pool] == nil {
			db.kept.m[pool] = map[string]*sql.Stmt{}
		}
		if db.kept.m[pool][query] == nil && len(db.kept.m[pool]) < maxKeptStmts {
			db.kept.m[pool][query], st = st, nil
		}
		db.kept.mu.Unlock()
		if st != nil {
			st.Close() // a concurrent keep was first, or filled the cache
		}
	}
}

// txStmt returns the statement of query in the database transaction sqlTx of pool, prepared
// once per transaction (stmts) and, once kept, once per connection.
func (db *DB) txStmt(ctx context.Context, sqlTx *sql.Tx, pool *sql.DB, stmts map[string]*sql.Stmt, query string) (*sql.Stmt, error) {
	if st, ok := stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if kept := db.keptStmt(pool, query); kept != nil {
		st = sqlTx.StmtContext(ctx, kept)
	} else {
		var err error
		if st, err = sqlTx.PrepareContext(ctx, db.q(query)); err != nil {
			return nil, err
		}
	}
	stmts[query] = st
	return st, nil
}

// Option configures a DB.
type Option func(*DB)

// WithClock sets the clock that fixes each transaction's Now (tests).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// New returns a store over already-migrated connections. read may equal write.
func New(write, read *sql.DB, d Dialect, opts ...Option) *DB {
	db := &DB{write: write, read: read, dialect: d, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	db.startGroup()
	db.startAppends()
	return db
}

// WriteDB returns the write pool (for engine-specific bulk paths inside the store packages).
func (db *DB) WriteDB() *sql.DB { return db.write }

// Close closes both pools.
func (db *DB) Close() error {
	db.stopGroup()
	db.stopAppends()
	db.kept.mu.Lock()
	for _, m := range db.kept.m {
		for _, st := range m {
			st.Close()
		}
	}
	db.kept.m = nil
	db.kept.mu.Unlock()
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return carnet.WrapErr("store.ping", carnet.EUNAVAILABLE, err)
	}
	if err := db.read.PingContext(ctx); err != nil {
		return carnet.WrapErr("store.ping", carnet.EUNAVAILABLE, err)
	}
	return nil
}

// Update runs fn in a read-write transaction. A transaction that fails for a transient reason
// (deadlock, serialization failure) is run again, up to three times: fn must not have effects
// outside the transaction that a second run would repeat.
func (db *DB) Update(ctx context.Context, fn func(carnet.Tx) error) error {
	if db.group != nil {
		return db.groupUpdate(ctx, fn)
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.run(ctx, db.write, false, fn)
		if err == nil || db.dialect.IsRetryable == nil || !db.dialect.IsRetryable(err) {
			return err
		}
	}
	return err
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(carnet.Tx) error) error {
	return db.run(ctx, db.read, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(carnet.Tx) error) error {
	if db.dialect.LazyBegin {
		return db.runLazy(ctx, pool, readOnly, fn)
	}
	sqlTx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly && db.dialect.Numbered})
	if err != nil {
		return db.wrap("store.begin", err)
	}
	stmts := map[string]*sql.Stmt{}
	defer func() {
		sqlTx.Rollback()
		db.keep(pool, stmts) // the connection is free again
	}()
	tx := &Tx{tx: sqlTx, db: db, pool: pool, stmts: stmts, now: db.now().UTC().Truncate(time.Microsecond), readOnly: readOnly}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return db.wrap("store.commit", err)
	}
	return nil
}

// runLazy is run for a LazyBegin dialect: the transaction holds a connection and begins on it
// when a statement needs it (Tx.runner).
func (db *DB) runLazy(ctx context.Context, pool *sql.DB, readOnly bool, fn func(carnet.Tx) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return db.wrap("store.begin", err)
	}
	tx := &Tx{conn: conn, ctx: ctx, db: db, pool: pool, now: db.now().UTC().Truncate(time.Microsecond), readOnly: readOnly}
	defer func() { tx.conn.Close() }()
	if db.appends != nil && !readOnly {
		db.appends.running.Add(1)
		defer db.appends.running.Add(-1)
	}
	defer func() {
		if tx.tx != nil {
			tx.tx.Rollback() // after a failure; a no-op after the commit
		}
	}()
	if err := fn(tx); err != nil {
		return err // a deferred append was never sent
	}
	if tx.tx == nil {
		e := tx.pending
		if e == nil {
			return nil // reads only
		}
		tx.pending = nil
		if db.appends != nil {
			// Appended with the lone appends of concurrent transactions (appends.go). The
			// connection goes back to the pool first: the batch needs one, and the pool may be
			// all held by transactions waiting for it.
			tx.conn.Close()
			if err := db.batchAppend(ctx, e, tx.now); !errors.Is(err, errAppendYourself) {
				return err
			}
			c, err := pool.Conn(ctx)
			if err != nil {
				return db.wrap("store.begin", err) // (the deferred Close closes the old one again: a no-op)
			}
			tx.conn = c
		}
		// The transaction's only write, alone: atomic on its own, committed when it returns.
		tx.direct = true
		err := tx.appendLinkedNow(ctx, e)
		tx.direct = false
		if !errors.Is(err, errNoHead) {
			return err
		}
		// The chain has no head row yet (a new chain, or one started by bulk enrolment): create
		// it and append in a transaction.
		if err := tx.begin(); err != nil {
			return err
		}
		if err := tx.appendLinkedNow(ctx, e); err != nil {
			return err
		}
	}
	if err := tx.tx.Commit(); err != nil {
		return db.wrap("store.commit", err)
	}
	return nil
}

// q returns the query in the dialect's placeholder style.
func (db *DB) q(query string) string {
	if !db.dialect.Numbered {
		return query
	}
	if v, ok := db.queries.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	db.queries.Store(query, b.String())
	return b.String()
}

// wrap turns a driver error into a carnet error.
func (db *DB) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return &carnet.Error{Code: carnet.ENOTFOUND, Op: op, Err: err}
	case db.dialect.IsUniqueViolation != nil && db.dialect.IsUniqueViolation(err):
		return &carnet.Error{Code: carnet.ECONFLICT, Op: op, Message: "cet enregistrement existe déjà", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &carnet.Error{Code: carnet.EUNAVAILABLE, Op: op, Err: err}
	}
	var ce *carnet.Error
	if errors.As(err, &ce) {
		return err
	}
	return &carnet.Error{Code: carnet.EINTERNAL, Op: op, Err: err}
}

// Tx is one transaction.
type Tx struct {
	tx   *sql.Tx
	db   *DB
	pool *sql.DB // the pool tx belongs to
	// stmts caches the statements prepared in this database transaction (shared by the
	// transactions of a group-commit batch), so a query is parsed at most once per batch.
	stmts    map[string]*sql.Stmt
	now      time.Time
	readOnly bool

	// LazyBegin: tx is nil until the transaction begins on conn (in ctx, run's context).
	conn    *sql.Conn
	ctx     context.Context
	pending *carnet.AuditEvent // an AppendLinked not sent yet
	direct  bool               // send the pending append on conn, outside a transaction
}

// runner is what runs statements: the transaction, or (LazyBegin, before BEGIN) its connection.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// runner returns what runs query: the connection for a plain SELECT before the transaction has
// begun (and for the deferred append sent alone), else the transaction, begun now if need be
// (which first sends a deferred append, so that statements stay in their order).
func (tx *Tx) runner(query string) (runner, error) {
	switch {
	case tx.tx != nil:
		return tx.tx, nil
	case tx.direct:
		return tx.conn, nil
	case tx.pending == nil && plainSelect(query):
		return tx.conn, nil
	}
	if err := tx.begin(); err != nil {
		return nil, err
	}
	return tx.tx, nil
}

// begin begins the transaction of a LazyBegin Tx and sends its deferred append.
func (tx *Tx) begin() error {
	if tx.tx != nil {
		return nil
	}
	t, err := tx.conn.BeginTx(tx.ctx, &sql.TxOptions{ReadOnly: tx.readOnly})
	if err != nil {
		return tx.db.wrap("store.begin", err)
	}
	tx.tx = t
	if e := tx.pending; e != nil {
		tx.pending = nil
		return tx.appendLinkedNow(tx.ctx, e)
	}
	return nil
}

// plainSelect reports whether query only reads without locking.
func plainSelect(query string) bool {
	return strings.HasPrefix(strings.TrimLeft(query, " \t\r\n"), "SELECT ") && !strings.Contains(query, "FOR UPDATE")
}

// errRow is a row whose statement could not be sent.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Now is the transaction's clock.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	if tx.readOnly {
		return nil, &carnet.Error{Code: carnet.EINTERNAL, Op: op, Err: errors.New("write in a read-only transaction")}
	}
	var res sql.Result
	var err error
	if st, serr := tx.stmt(ctx, query); serr != nil {
		err = serr
	} else if st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else if r, rerr := tx.runner(query); rerr != nil {
		return nil, rerr
	} else {
		res, err = r.ExecContext(ctx, tx.db.q(query), args...)
	}
	if err != nil {
		return nil, tx.db.wrap(op, err)
	}
	return res, nil
}

// execOne runs a statement that must change exactly one row (ENOTFOUND otherwise).
func (tx *Tx) execOne(ctx context.Context, op, query string, args ...any) error {
	res, err := tx.exec(ctx, op, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return tx.db.wrap(op, err)
	}
	if n != 1 {
		return &carnet.Error{Code: carnet.ENOTFOUND, Op: op, Message: "introuvable"}
	}
	return nil
}

func (tx *Tx) query(ctx context.Context, op, query string, args ...any) (*sql.Rows, error) {
	var rows *sql.Rows
	var err error
	if st, serr := tx.stmt(ctx, query); serr != nil {
		err = serr
	} else if st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else if r, rerr := tx.runner(query); rerr != nil {
		return nil, rerr
	} else {
		rows, err = r.QueryContext(ctx, tx.db.q(query), args...)
	}
	if err != nil {
		return nil, tx.db.wrap(op, err)
	}
	return rows, nil
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	if st, err := tx.stmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	r, err := tx.runner(query)
	if err != nil {
		return errRow{err}
	}
	return r.QueryRowContext(ctx, tx.db.q(query), args...)
}

// stmt returns the statement of a query prepared in this database transaction (nil when the
// dialect does not prepare). Statements are closed with the transaction.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if !tx.db.dialect.PrepareInTx || tx.tx == nil { // (a LazyBegin transaction prepares nothing itself)
		return nil, nil
	}
	return tx.db.txStmt(ctx, tx.tx, tx.pool, tx.stmts, query)
}

// collect scans every row with scan and closes rows.
func collect[T any](tx *Tx, op string, rows *sql.Rows, scan func(scanner) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, tx.db.wrap(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap(op, err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

// Conversions between Go values and columns.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func limit(n, def int) int {
	switch {
	case n <= 0:
		return def
	case n > 1000:
		return 1000
	}
	return n
}

// in returns "(?, ?, ?)" and the arguments for a list.
func in[T ~string](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = string(v)
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")", args
}
