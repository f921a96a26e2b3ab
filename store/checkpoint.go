package store

import (
	"database/sql"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"
)

// checkpointInterval is how often the checkpointer copies the WAL into the
// database files.
const checkpointInterval = 200 * time.Millisecond

// The SQLite settings of the embedded store's connections. Commits are on
// disk before FerretDB acknowledges them (synchronous=full, so an
// acknowledged event survives a crash of the machine, not only of the
// process). With a checkpointer, committing never runs a checkpoint.
const (
	syncPragmas = "_pragma=synchronous(full)"
	walPragmas  = syncPragmas + "&_pragma=wal_autocheckpoint(0)"
)

// checkpointer copies the pages committed to the embedded store's
// write-ahead log into its database files, in the background. By default
// SQLite does that inside a commit, whenever the WAL has grown past 1000
// pages: the commit that crosses the line copies them all and syncs the
// database file, while the store's single writer waits: under a steady
// load of adds, a large share of the writer's time.
//
// Here checkpoints run on a connection of their own every
// checkpointInterval, in two steps. First a PASSIVE checkpoint beside the
// writer copies what the WAL holds, blocking neither the writer nor the
// readers. That alone never lets the WAL start over: under a steady load a
// new commit always lands before the checkpoint ends, and the WAL grew by
// everything written. So a second PASSIVE
// checkpoint runs in the process's write turn (Store.writeTurn), when no
// write is in progress: it copies only what was committed meanwhile, and
// ends with the whole WAL copied, so the next commit starts the WAL over.
// Durability is the WAL's (synchronous=full); checkpoints only move
// committed pages.
type checkpointer struct {
	dir  string
	turn func() (done func())
	log  *slog.Logger
	dbs  map[string]*sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer starts checkpoints of the SQLite files in dir; turn
// waits for the process's write turn.
func startCheckpointer(dir string, turn func() (done func()), log *slog.Logger) *checkpointer {
	c := &checkpointer{dir: dir, turn: turn, log: log, dbs: map[string]*sql.DB{}, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// The files are found and opened before the write turn, so
			// that the turn is held only for the checkpoint itself.
			dbs := c.open()
			c.checkpoint(dbs, "PASSIVE")
			done := c.turn()
			c.checkpoint(dbs, "PASSIVE")
			done()
		}
	}
}

// open returns a connection to every database file, opening those it has
// not opened before (FerretDB makes one file per database).
func (c *checkpointer) open() map[string]*sql.DB {
	files, _ := filepath.Glob(filepath.Join(c.dir, "*.sqlite"))
	for _, f := range files {
		if c.dbs[f] != nil {
			continue
		}
		dsn := (&url.URL{Scheme: "file", Path: f, RawQuery: walPragmas + "&_pragma=busy_timeout(10000)"}).String()
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			c.log.Error("checkpoint: open", "file", f, "error", err)
			continue
		}
		db.SetMaxOpenConns(1)
		c.dbs[f] = db
	}
	return c.dbs
}

// checkpoint runs one checkpoint of the given mode on every database.
func (c *checkpointer) checkpoint(dbs map[string]*sql.DB, mode string) {
	for f, db := range dbs {
		if _, err := db.Exec("PRAGMA wal_checkpoint(" + mode + ")"); err != nil {
			c.log.Error("checkpoint", "file", f, "mode", mode, "error", err)
		}
	}
}

// close stops the background checkpoints. Called once FerretDB has closed
// its files, it copies what is left and empties the WAL (TRUNCATE).
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	c.checkpoint(c.open(), "TRUNCATE")
	for _, db := range c.dbs {
		_ = db.Close()
	}
}
