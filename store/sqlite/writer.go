package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// errClosed is the answer to a write after Close.
var errClosed = errors.New("the store is closed")

// maxPrepared bounds the statements the writer keeps prepared: the store's
// queries are a fixed set, and a query beyond it is prepared per batch.
const maxPrepared = 128

// maxBatch bounds how many writes one transaction commits.
const maxBatch = 512

// maxYields bounds the times the writer yields its processor before a
// commit for writes about to join the batch (see writer.gather).
const maxYields = 4

// writeFunc is one write: the statements of one operation, run inside the
// batch's transaction. An error undoes that write alone.
type writeFunc func(ctx context.Context, tx *sql.Tx) error

type writeOp struct {
	ctx    context.Context
	fn     writeFunc
	result chan error
	// after, when set, is called with the outcome once the batch is done.
	after func(error)
}

// writer commits the store's writes on its one connection, grouped: the
// first waiting write starts a transaction at once, and every write that
// queued meanwhile joins it, each inside a savepoint of its own, so that a
// write that fails (a conflict, a duplicate) is undone alone while the
// others commit. A batch costs one commit, and so one sync to disk, however
// many writes it holds; alone, a write waits for nothing. Each caller gets
// its own outcome once the batch's commit is on disk.
type writer struct {
	db    *sql.DB
	queue chan *writeOp
	stop  chan struct{}
	done  chan struct{}
	// batchTimeout bounds the statements of one batch.
	batchTimeout time.Duration

	// prepared are the statements prepared on the writer's connection,
	// outside any transaction, so that every batch reuses them; wanted are
	// the queries met in a batch that are not prepared yet, prepared once
	// it is done (while a transaction runs, the one connection is taken).
	// stmts are the transaction's own handles of them, of the current
	// batch. Only the writer's goroutine uses all three.
	prepared map[string]*sql.Stmt
	wanted   []string
	stmts    map[string]*sql.Stmt

	mu sync.Mutex
	// side are idempotency records to write at the start of the next
	// batch, all in one statement (flushSide): the claims of changes
	// queued behind them and the answers of finished requests (see
	// Store.recordClaim). A batch that fails gives them back to the next.
	side      []sideRow
	flushSide func(ctx context.Context, tx *sql.Tx, rows []sideRow) error
	// sideCommitted, if set, is told of the side records of every batch
	// that committed, before any of its writers hears of it.
	sideCommitted func(rows []sideRow)
	// committed, if set, is told of every commit (the checkpointer).
	committed func()
	// beforeCommit, if set, runs last in every transaction that wrote
	// something: what is kept up to date once per batch (the text index).
	beforeCommit func(ctx context.Context, tx *sql.Tx) error
	// finishCheckpoint says that the checkpointer copied the log since the
	// last batch, so the next batch first copies what was written
	// meanwhile (see checkpointer).
	finishCheckpoint atomic.Bool
	// batches and writes count what the writer committed, for tests and
	// benchmarks (Stats); observeBatch, when set, is told each batch's
	// writes.
	batches, writes int64
	observeBatch    func(writes int)
	// yield lets the other goroutines run (runtime.Gosched); tests replace
	// it to play the writes that arrive meanwhile.
	yield func()
}

func newWriter(ctx context.Context, db *sql.DB, batchTimeout time.Duration) (*writer, error) {
	if err := db.PingContext(ctx); err != nil {
		return nil, err
	}
	w := &writer{db: db, queue: make(chan *writeOp, maxBatch), stop: make(chan struct{}), done: make(chan struct{}),
		batchTimeout: batchTimeout, prepared: map[string]*sql.Stmt{}, stmts: map[string]*sql.Stmt{}, yield: runtime.Gosched}
	go w.run()
	return w, nil
}

// do runs fn in the next batch and returns its outcome. If ctx ends while
// the write waits for its turn, it is dropped; if it ends while the batch
// commits, the caller stops waiting but the write may still be committed:
// callers treat that as unknown, as for any timeout.
func (w *writer) do(ctx context.Context, fn writeFunc) error {
	op := &writeOp{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case <-w.stop:
		return store.Unavailable("the store is closed", errClosed)
	default:
	}
	select {
	case w.queue <- op:
	case <-w.stop:
		return store.Unavailable("the store is closed", errClosed)
	case <-ctx.Done():
		return fmt.Errorf("wait for the store's writer: %w: %w", store.ErrBusy, ctx.Err())
	}
	select {
	case err := <-op.result:
		return err
	case <-ctx.Done():
		return store.Unavailable("the store did not answer in time", ctx.Err())
	}
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case <-w.stop:
			w.drain()
			return
		case op := <-w.queue:
			batch = w.gather(append(batch[:0], op))
		}
		w.commit(batch)
		clear(batch)
	}
}

// gather adds the writes queued now to batch and then, for as long as
// each look finds more, up to maxYields times, yields the processor
// before looking again. On a busy host the requests whose writes would
// join this batch are often runnable but not yet running: they wait for a
// processor behind the writer. A commit costs mostly per commit, not per
// write (the log's sync, and the last, partly filled page of every B-tree
// it touches, written again in full), so letting them queue first makes
// each commit carry more writes. When nothing else is runnable a yield
// returns at once, and a look that finds nothing ends the wait, so a lone
// write on an idle store is not held back. It is PostgreSQL's commit_delay
// without a timer: the wait lasts only while others are running.
func (w *writer) gather(batch []*writeOp) []*writeOp {
	batch = w.collect(batch)
	for range maxYields {
		if len(batch) >= maxBatch {
			break
		}
		n := len(batch)
		w.yield()
		if batch = w.collect(batch); len(batch) == n {
			break
		}
	}
	return batch
}

// collect adds the writes queued now to batch, up to maxBatch.
func (w *writer) collect(batch []*writeOp) []*writeOp {
	for len(batch) < maxBatch {
		select {
		case op := <-w.queue:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// checkpointPassed is told by the checkpointer of each pass it made.
func (w *writer) checkpointPassed() { w.finishCheckpoint.Store(true) }

// addSide has rec written at the start of the next batch (see side).
func (w *writer) addSide(row sideRow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.side = append(w.side, row)
}

// submit queues fn for the next batch without waiting for it; after, if
// not nil, gets its outcome. Close commits what is queued before it ends.
func (w *writer) submit(fn writeFunc, after func(error)) {
	ctx, cancel := context.WithTimeout(context.Background(), w.batchTimeout)
	op := &writeOp{ctx: ctx, fn: fn, result: make(chan error, 1), after: func(err error) {
		cancel()
		if after != nil {
			after(err)
		}
	}}
	select {
	case w.queue <- op:
	case <-w.stop:
		op.after(store.Unavailable("the store is closed", errClosed))
	}
}

// drain commits the writes still queued at Close, so that nothing a caller
// was told is done (an answer submitted for its key) is dropped.
func (w *writer) drain() {
	for batch := w.collect(nil); len(batch) > 0; batch = w.collect(nil) {
		w.commit(batch)
	}
}

// commit writes one batch in one transaction. It first runs the writes
// one after the other, as they come: when all succeed, which is the common
// case, the batch commits at once. If one fails, what it wrote would be
// committed with the others, so the transaction is rolled back and the
// batch runs again with each write inside a savepoint of its own, so that
// a failed write is undone alone. (Savepoints cost a statement journal for
// every write; most batches need none.) Writes are closures that set their
// results afresh each time they run, so running one twice is safe.
func (w *writer) commit(batch []*writeOp) {
	ctx, cancel := context.WithTimeout(context.Background(), w.batchTimeout)
	defer cancel()
	if w.finishCheckpoint.Swap(false) {
		// What is left to copy is what was written during the
		// checkpointer's pass; a failure leaves it for the next.
		_, _ = w.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
	results := make([]error, len(batch))
	w.mu.Lock()
	side := w.side
	w.side = nil
	w.mu.Unlock()
	for _, isolated := range []bool{false, true} {
		failed, err := w.tryCommit(ctx, batch, results, isolated, side)
		if err != nil {
			w.mu.Lock()
			w.side = append(side, w.side...)
			w.mu.Unlock()
			for i := range results {
				if results[i] == nil {
					results[i] = err
				}
			}
			break
		}
		if !failed || isolated {
			break
		}
	}
	for i, op := range batch {
		op.result <- results[i]
		if op.after != nil {
			op.after(results[i])
		}
	}
	w.prepareWanted(ctx)
}

// prepareWanted prepares the queries the last batch met for the first
// time on the writer's connection, now free, for the batches after. A
// query that fails to prepare stays unprepared: its write prepares it in
// its transaction again, and reports what fails.
func (w *writer) prepareWanted(ctx context.Context) {
	for _, q := range w.wanted {
		if _, ok := w.prepared[q]; ok || len(w.prepared) >= maxPrepared {
			continue
		}
		if st, err := w.db.PrepareContext(ctx, q); err == nil {
			w.prepared[q] = st
		}
	}
	w.wanted = w.wanted[:0]
}

// tryCommit runs the batch in one transaction. Without isolation it gives
// up (rolls back, failed true) at the first write that fails; with it,
// each write runs in a savepoint and the transaction commits whatever
// fails. err is a failure of the transaction itself.
func (w *writer) tryCommit(ctx context.Context, batch []*writeOp, results []error, isolated bool, side []sideRow) (failed bool, err error) {
	clear(w.stmts) // those of an earlier transaction are closed
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	if len(side) > 0 {
		if err := w.flushSide(ctx, tx, side); err != nil {
			_ = tx.Rollback()
			return false, err
		}
	}
	ran := 0
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = fmt.Errorf("wait for the store's writer: %w: %w", store.ErrBusy, err)
			continue
		}
		if isolated {
			results[i] = w.apply(ctx, tx, op.fn)
		} else {
			results[i] = op.fn(ctx, tx)
			if results[i] != nil {
				clear(results)
				return true, tx.Rollback()
			}
		}
		if results[i] == nil {
			ran++
		}
	}
	if w.beforeCommit != nil && ran > 0 {
		if err := w.beforeCommit(ctx, tx); err != nil {
			_ = tx.Rollback()
			return false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	if w.sideCommitted != nil && len(side) > 0 {
		w.sideCommitted(side)
	}
	if w.committed != nil {
		w.committed()
	}
	w.mu.Lock()
	w.batches++
	w.writes += int64(ran)
	w.mu.Unlock()
	if w.observeBatch != nil {
		w.observeBatch(ran)
	}
	return false, nil
}

// apply runs one write inside a savepoint, undoing it alone if it fails.
func (w *writer) apply(ctx context.Context, tx *sql.Tx, fn writeFunc) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return err
	}
	err := fn(ctx, tx)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE op"); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// stmt is the statement of query in the batch's transaction: the
// transaction's handle of the statement prepared on the connection, or,
// the first time the writer meets query, one prepared in the transaction
// (see prepared).
func (w *writer) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if p, ok := w.prepared[query]; ok {
		st = tx.StmtContext(ctx, p)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		w.wanted = append(w.wanted, query)
	}
	w.stmts[query] = st
	return st, nil
}

// exec runs a statement of a write.
func (w *writer) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(statementContext(ctx), args...)
}

// queryRow runs a query inside a write.
func (w *writer) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := w.stmt(ctx, tx, query)
	if err != nil {
		return tx.QueryRowContext(statementContext(ctx), query, args...) // reports what failed
	}
	return st.QueryRowContext(statementContext(ctx), args...)
}

// statementContext is what a statement of a batch runs under: ctx's values
// without its deadline. The driver starts a goroutine for every statement
// whose context can end, to interrupt it when it does; a batch's
// statements are each a few B-tree operations, which an interrupt would
// not shorten (it cannot stop a sync in progress), and the batch's
// transaction keeps the deadline: a batch past it does not commit.
func statementContext(ctx context.Context) context.Context {
	if err := ctx.Err(); err != nil {
		return ctx // so that the statement fails at once
	}
	return context.WithoutCancel(ctx)
}

func (w *writer) close() {
	close(w.stop)
	<-w.done
	for _, st := range w.prepared {
		st.Close()
	}
}

// Stats says how many transactions the writer committed and how many
// writes they held, for benchmarks of the group commit.
func (s *Store) Stats() (batches, writes int64) {
	s.writer.mu.Lock()
	defer s.writer.mu.Unlock()
	return s.writer.batches, s.writer.writes
}
