package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/carnet-sante/carnet"
)

// Group commit: on SQLite every write transaction ends with an fsync of the WAL, which bounds
// a single writer to a few thousand commits a second. With group commit, the write transactions
// that callers submit while a commit is under way are run together in the next database
// transaction, each inside its own savepoint, and committed with one fsync. Each caller still sees
// its own transaction: an error (or a panic) in its function rolls back to its savepoint only, and
// Update returns only once the batch holding its writes is durably committed.

// WithGroupCommit batches concurrent Update calls, up to maxBatch per database transaction.
func WithGroupCommit(maxBatch int) Option {
	return func(db *DB) {
		if maxBatch > 1 {
			db.group = &groupCommitter{reqs: make(chan *groupReq), maxBatch: maxBatch, stop: make(chan struct{})}
		}
	}
}

type groupCommitter struct {
	reqs     chan *groupReq
	maxBatch int
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

type groupReq struct {
	ctx   context.Context
	fn    func(carnet.Tx) error
	err   error
	panic any
	done  chan struct{}
}

func (db *DB) startGroup() {
	if db.group == nil {
		return
	}
	db.group.wg.Add(1)
	go db.groupLoop()
}

func (db *DB) stopGroup() {
	if db.group == nil {
		return
	}
	db.group.once.Do(func() { close(db.group.stop) })
	db.group.wg.Wait()
}

// groupUpdate submits fn to the committer and waits for its batch to commit.
func (db *DB) groupUpdate(ctx context.Context, fn func(carnet.Tx) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.group.reqs <- r:
	case <-ctx.Done():
		return db.wrap("store.update", ctx.Err())
	case <-db.group.stop:
		return &carnet.Error{Code: carnet.EUNAVAILABLE, Op: "store.update", Message: "base fermée"}
	}
	<-r.done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

func (db *DB) groupLoop() {
	g := db.group
	defer g.wg.Done()
	batch := make([]*groupReq, 0, g.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-g.stop:
			return
		}
	drain:
		for len(batch) < g.maxBatch {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.runBatch(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// runBatch runs every request of the batch in one database transaction, each in a savepoint.
func (db *DB) runBatch(batch []*groupReq) {
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil && r.panic == nil {
				r.err = err
			}
		}
	}
	sqlTx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		fail(db.wrap("store.begin", err))
		return
	}
	committed := 0
	stmts := map[string]*sql.Stmt{}
	defer db.keep(db.write, stmts) // after the commit or rollback below: the connection is free
	if len(batch) == 1 {
		// Alone in its transaction, a request needs no savepoint: its failure rolls back the
		// whole transaction. This spares large transactions (bulk enrolment) SQLite's statement
		// journal, which copies every page a savepoint touches.
		r := batch[0]
		if err := r.ctx.Err(); err != nil {
			sqlTx.Rollback()
			r.err = db.wrap("store.update", err)
			return
		}
		tx := &Tx{tx: sqlTx, db: db, pool: db.write, stmts: stmts, now: db.now().UTC().Truncate(time.Microsecond)}
		if r.panic, r.err = call(r.fn, tx); r.err != nil || r.panic != nil {
			sqlTx.Rollback()
			return
		}
		if err := sqlTx.Commit(); err != nil {
			r.err = db.wrap("store.commit", err)
		}
		return
	}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = db.wrap("store.update", err)
			continue
		}
		// Savepoints follow one another (each released before the next), so one name and three
		// statements prepared once per batch serve them all.
		if err := db.execCached(sqlTx, stmts, "SAVEPOINT g"); err != nil {
			r.err = db.wrap("store.savepoint", err)
			continue
		}
		tx := &Tx{tx: sqlTx, db: db, pool: db.write, stmts: stmts, now: db.now().UTC().Truncate(time.Microsecond)}
		r.panic, r.err = call(r.fn, tx)
		if r.err != nil || r.panic != nil {
			if err := db.execCached(sqlTx, stmts, "ROLLBACK TO SAVEPOINT g"); err != nil {
				// The transaction is unusable: fail the whole batch.
				sqlTx.Rollback()
				fail(db.wrap("store.rollback", err))
				return
			}
		} else {
			committed++
		}
		if err := db.execCached(sqlTx, stmts, "RELEASE SAVEPOINT g"); err != nil {
			sqlTx.Rollback()
			fail(db.wrap("store.release", err))
			return
		}
	}
	if committed == 0 {
		sqlTx.Rollback()
		return
	}
	if err := sqlTx.Commit(); err != nil {
		fail(db.wrap("store.commit", err))
	}
}

// call runs fn, turning a panic into a value to re-raise in the caller's goroutine.
func call(fn func(carnet.Tx) error, tx *Tx) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p = v
		}
	}()
	return nil, fn(tx)
}

// execCached runs a statement without arguments, prepared once in the batch's transaction.
func (db *DB) execCached(tx *sql.Tx, stmts map[string]*sql.Stmt, query string) error {
	st, err := db.txStmt(context.Background(), tx, db.write, stmts, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(context.Background())
	return err
}
