package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointPause is the least time between two checkpoints: commits that
// come faster share one.
const checkpointPause = time.Second

// checkpointer copies the write-ahead log into the database on a
// connection of its own, so that the writer does not have to: SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold,
// and every write queued behind that commit waits for the copy and its
// sync. A passive checkpoint runs beside the writer and the readers,
// copying what no reader still needs.
//
// The log starts again from its beginning only when a write transaction
// begins with all of it copied, which a checkpoint beside a busy writer
// never sees: the writer has written more meanwhile. So after each pass
// the writer, before its next transaction, copies the little written
// since (writer.finishCheckpoint), and the log stays about as large as
// what is written between two checkpoints.
type checkpointer struct {
	db *sql.DB
	// pause is the least time between two checkpoints; passed is told of
	// each that succeeds, after, if set, of each one's outcome.
	pause  time.Duration
	passed func()
	after  func(checkpointPass, error)
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

// checkpointPass is what a checkpoint reports: whether it was kept from
// copying (busy), the frames in the log and those copied.
type checkpointPass struct {
	busy, logFrames, copied int
}

func newCheckpointer(db *sql.DB, pause time.Duration, passed func(), after func(checkpointPass, error)) *checkpointer {
	c := &checkpointer{db: db, pause: pause, passed: passed, after: after, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the log grew; it never waits.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		// A failed checkpoint (the disk is full, say) leaves the log as
		// it is, to be copied by the next one; nothing is lost.
		var p checkpointPass
		err := c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&p.busy, &p.logFrames, &p.copied)
		if err == nil && c.passed != nil {
			c.passed()
		}
		if c.after != nil {
			c.after(p, err)
		}
		pause.Reset(c.pause)
		select {
		case <-c.stop:
			return
		case <-pause.C:
		}
	}
}

func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
}
