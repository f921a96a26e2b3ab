// Package sqlite is scwm-gateway's embedded store: one SQLite database
// (modernc.org/sqlite, pure Go) in a data directory, for a gateway on one
// machine. It is the default store and needs nothing installed.
//
// One process owns a data directory (a lock file says so; a second owner
// gets store.ErrInUse), so the store may keep what it knows in memory: a
// cache of incidents bounded in bytes, and the sequences' reserved blocks.
// The command line opens the store beside the owner (Config.Beside) to
// change clients and users, which the owner does not cache.
// Writes go through one connection that commits concurrent writes together
// (see writer); reads use a pool of their own, which WAL lets run beside
// the writer. A write is acknowledged only once its commit is on disk
// (synchronous=FULL).
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// FileName is the database's file in the data directory.
const FileName = "gateway.db"

// Config says where the store keeps its data and how it behaves.
type Config struct {
	// DataDir holds the database; it is created if missing.
	DataDir string
	// OperationTimeout bounds every store operation, waits for the writer
	// included. Zero means 5 seconds.
	OperationTimeout time.Duration
	// MinFreeBytes is the free disk space below which the store reports
	// itself not ready (Ready), so that a load balancer or a harness stops
	// sending writes before SQLite fails them; zero means
	// DefaultMinFreeBytes.
	MinFreeBytes uint64
	// CacheBytes bounds the memory of the incident cache, counted as the
	// text of the records it keeps; zero means
	// DefaultCacheBytes, negative turns the cache off.
	CacheBytes int64
	// Now is the store's clock (creation and revocation times); nil is
	// time.Now.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of the passwords a seed sets
	// (Passwords); zero means credentials.DefaultPasswordCost.
	PasswordCost int
	// Beside opens the store beside the process that owns the directory
	// (a serving gateway), for the command line's changes of clients,
	// users and OAuth clients and for exports: it takes no lock and keeps
	// no cache, and SQLite's own locking orders its writes with the
	// owner's. Such a store must not write incidents or import.
	Beside bool
	// ObserveBatch, when set, is told the number of writes of each
	// transaction the group commit commits (for metrics).
	ObserveBatch func(writes int)
	// LegacyDatabase is the database name a FerretDB-era gateway used in
	// this directory (its file is <name>.sqlite); empty means "scwm".
	// Opened as owner on a directory that holds such a database and no
	// store, the store imports it first (see importLegacy).
	LegacyDatabase string

	// checkpointPause replaces checkpointPause and checkpointed is called
	// after every checkpoint, for tests of the checkpointer.
	checkpointPause time.Duration
	checkpointed    func(checkpointPass, error)
}

// Defaults of Config.
const (
	DefaultMinFreeBytes = 16 << 20
	DefaultCacheBytes   = 32 << 20
)

// readConns is how many connections serve reads at once.
const readConns = 8

// Store is an open embedded store.
type Store struct {
	// textDrivenBelow is how many matches of a search's words are few
	// enough to read from the text index (search.go); tests lower it.
	textDrivenBelow int
	dir             string
	path            string
	// observeBatch is Config.ObserveBatch.
	observeBatch func(writes int)
	timeout      time.Duration
	minFree      uint64
	now          func() time.Time
	cost         int
	unlock       func()
	reads        *sql.DB
	writes       *sql.DB
	writer       *writer
	// checkpoints is the connection and loop that copy the write-ahead
	// log into the database, so that the writer does not (checkpoint.go).
	checkpoints  *sql.DB
	checkpointer *checkpointer
	cache        *incidentCache
	sequence     store.Sequencer
	// readStmts holds the prepared statements of reads by query.
	readStmts sync.Map
	// imported is what Open imported from a FerretDB-era database.
	imported LegacyImport
	// claims are the idempotency claims not yet in the database.
	claims *claims
	// keys says which idempotency keys the database certainly lacks.
	keys *keyFilter
	// stopLoad stops the key filter's load, if it runs.
	stopLoad func()
	// beside is Config.Beside.
	beside bool
	// checkpointPause and checkpointed are the Config's.
	checkpointPause time.Duration
	checkpointed    func(checkpointPass, error)
}

// Open opens (creating if needed) the store in cfg.DataDir.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	useFdatasync()
	if cfg.DataDir == "" {
		return nil, errors.New("open the embedded store: no data directory")
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 5 * time.Second
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = DefaultMinFreeBytes
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open the embedded store: %w", err)
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open the embedded store: %w", err)
	}
	unlock := func() {}
	if !cfg.Beside {
		var err error
		if unlock, err = lockDir(dir); err != nil {
			return nil, err
		}
	} else if err := refuseUnimported(dir); err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	var imported LegacyImport
	if !cfg.Beside {
		if imported, err = importLegacy(ctx, cfg); err != nil {
			unlock()
			return nil, err
		}
	}
	s := &Store{textDrivenBelow: textDrivenBelow, observeBatch: cfg.ObserveBatch, beside: cfg.Beside, claims: newClaims(), imported: imported, dir: dir, path: filepath.Join(dir, FileName), timeout: cfg.OperationTimeout, minFree: cfg.MinFreeBytes,
		now: cfg.Now, cost: cfg.PasswordCost, unlock: unlock, checkpointPause: cmp.Or(cfg.checkpointPause, checkpointPause), checkpointed: cfg.checkpointed}
	if cfg.CacheBytes > 0 && !cfg.Beside {
		s.cache = newIncidentCache(cfg.CacheBytes)
	}
	s.sequence = store.Sequencer{Reserve: s.reserveSequence}
	if err := s.open(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

// useFdatasync makes SQLite commit with fdatasync(2) instead of fsync(2),
// where the system has it, as SQLite's own builds for Linux do (the
// transpiled library keeps SQLite's source default, fsync): fdatasync
// writes the data and the metadata needed to read it back, its size
// included, and skips the timestamps whose journal update fsync waits for.
// Durability is the same; a commit's sync is shorter. It is process-wide
// and idempotent; where fdatasync is unavailable nothing changes.
func useFdatasync() {
	_, _ = sqlite.Fdatasync(true)
}

// dsn is the connection string of the database with the settings every
// connection gets: WAL, so readers never wait for the writer; a commit
// synced to disk before it returns; foreign keys unused; busy waits bounded
// by the operation timeout (only another process holding the file, which
// the lock forbids, or a checkpoint make a connection wait).
func (s *Store) dsn(extra ...string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", s.timeout.Milliseconds()))
	q.Add("_pragma", "cache_size(-16384)")
	// An INSERT OR REPLACE (an import over existing objects) then fires the
	// delete trigger of the row it replaces, which keeps the full-text
	// index in step.
	q.Add("_pragma", "recursive_triggers(1)")
	for _, e := range extra {
		q.Add("_pragma", e)
	}
	return "file:" + s.path + "?" + q.Encode()
}

func (s *Store) open(ctx context.Context) error {
	// The writer never checkpoints (wal_autocheckpoint 0): the
	// checkpointer does, on a connection of its own. Its statement
	// journals stay in memory (temp_store MEMORY): a statement that writes
	// several rows inside a batch, such as the idempotency records'
	// upsert, journals the pages it changes so that it can be undone
	// alone, and past a small size SQLite would spill that journal into a
	// temporary file, opened, written and closed again in every batch.
	// A batch's journal is bounded by the batch (maxBatch writes).
	writes, err := sql.Open("sqlite", s.dsn("wal_autocheckpoint(0)", "temp_store(MEMORY)")+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	writes.SetMaxOpenConns(1)
	writes.SetMaxIdleConns(1)
	writes.SetConnMaxLifetime(0)
	writes.SetConnMaxIdleTime(0)
	s.writes = writes
	// Opening is bounded by the caller's context, not by the operation
	// timeout: bringing a large database to the current layout may take
	// longer than any one request should, and a lock held by another
	// process still ends the wait through SQLite's busy timeout.
	if err := s.migrate(ctx); err != nil {
		return err
	}
	reads, err := sql.Open("sqlite", s.dsn("query_only(1)"))
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	reads.SetMaxOpenConns(readConns)
	reads.SetMaxIdleConns(readConns)
	reads.SetConnMaxIdleTime(0)
	s.reads = reads
	checkpoints, err := sql.Open("sqlite", s.dsn())
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	checkpoints.SetMaxOpenConns(1)
	checkpoints.SetMaxIdleConns(1)
	checkpoints.SetConnMaxIdleTime(0)
	s.checkpoints = checkpoints
	w, err := newWriter(ctx, writes, s.timeout)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	w.flushSide, w.sideCommitted, w.observeBatch = s.flushSide, s.claims.committed, s.observeBatch
	s.checkpointer = newCheckpointer(checkpoints, s.checkpointPause, w.checkpointPassed, s.checkpointed)
	w.committed = s.checkpointer.committed
	w.beforeCommit = func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, flushText)
		return err
	}
	s.writer = w
	var stored int
	if err := s.reads.QueryRowContext(ctx, "SELECT count(*) FROM idempotency").Scan(&stored); err != nil {
		return fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	s.keys = newKeyFilter(stored)
	if !s.beside {
		// The filter loads in the background; Close stops it first, so
		// that no read outlives the store.
		loadCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		s.stopLoad = func() { stop(); <-done }
		go func(keys *keyFilter, reads *sql.DB) {
			defer close(done)
			_ = keys.load(loadCtx, reads)
		}(s.keys, s.reads)
	}
	return nil
}

// migrate creates the layout in a new database and brings a database of
// an older layout to the current one, one version at a time; a database of
// a newer layout is refused. A database at the current version is only
// read: opening it writes nothing.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.writes.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	if version == schemaVersion {
		return nil
	}
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep takes the database one version on: it creates the layout in
// a new database (version 0), or runs the migration of its version, in one
// transaction with the user_version it leaves, so that a step that fails
// leaves the database as it was. The version is read inside the
// transaction, which holds the database's write lock: a process that
// opened the same database meanwhile (a command beside the gateway) may
// have taken the step already, and then this one takes the next or none.
// done reports the database at the current version.
func (s *Store) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.writes.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	var step string
	next := version + 1
	switch {
	case version > schemaVersion:
		return false, fmt.Errorf("open %s: the database has layout version %d, newer than this gateway's %d: run a newer gateway, or export with it and import here", s.path, version, schemaVersion)
	case version == schemaVersion:
		return true, nil
	case version == 0:
		step, next = schema, schemaVersion
	default:
		step = migrations[version-1]
	}
	if _, err := tx.ExecContext(ctx, step); err != nil {
		if version == 0 {
			return false, fmt.Errorf("create the tables of %s: %w", s.path, s.classify(err))
		}
		return false, fmt.Errorf("migrate %s from layout version %d: %w", s.path, version, s.classify(err))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", next)); err != nil {
		return false, fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("open %s: %w", s.path, s.classify(err))
	}
	return next == schemaVersion, nil
}

// Describe names the store for logs.
func (s *Store) Describe() string { return "embedded SQLite (" + s.path + ")" }

// Dir is the store's data directory.
func (s *Store) Dir() string { return s.dir }

// Passwords hashes and checks the passwords of seeded users at the
// configured cost.
func (s *Store) Passwords() credentials.Passwords { return credentials.Passwords{Cost: s.cost} }

// operation bounds one store operation by the store timeout.
func (s *Store) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	row, err := s.queryRow(ctx, "SELECT 1")
	if err != nil {
		return s.classify(err)
	}
	var one int
	return s.classify(row.Scan(&one))
}

// Ready reports whether the store can take writes now: it answers, and its
// disk has at least Config.MinFreeBytes free. It backs /readyz.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if free, ok := freeBytes(s.dir); ok && free < s.minFree {
		return fmt.Errorf("%w: %d bytes free in %s, less than the %d needed", store.ErrDiskFull, free, s.dir, s.minFree)
	}
	return nil
}

// Close finishes the writes in progress, closes the database and releases
// the data directory.
func (s *Store) Close(ctx context.Context) error {
	return s.closeAll()
}

func (s *Store) closeAll() error {
	var errs []error
	if s.stopLoad != nil {
		s.stopLoad()
		s.stopLoad = nil
	}
	if s.writer != nil {
		s.writer.close()
		s.writer = nil
	}
	if s.checkpointer != nil {
		s.checkpointer.close()
		s.checkpointer = nil
	}
	if s.checkpoints != nil {
		errs = append(errs, s.checkpoints.Close())
		s.checkpoints = nil
	}
	if s.reads != nil {
		s.forgetStatements()
		errs = append(errs, s.reads.Close())
		s.reads = nil
	}
	if s.writes != nil {
		// Leave no WAL behind: a clean close checkpoints it into the
		// database, so the directory holds one file a person can copy.
		_, _ = s.writes.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, s.writes.Close())
		s.writes = nil
	}
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return errors.Join(errs...)
}

// classify maps SQLite's errors onto the store's: constraint violations
// are duplicates, and the conditions that pass (busy, locked, interrupted,
// I/O errors, a full disk) and timeouts are unavailability.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return store.Unavailable("the store did not answer in time", err)
	}
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, errClosed) || err.Error() == "sql: database is closed" {
		return store.Unavailable("the store is closed", err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return store.Unavailable("the store's database is locked by another writer", err)
	case sqlite3.SQLITE_INTERRUPT:
		return store.Unavailable("the store's operation was interrupted", err)
	case sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return store.Unavailable("the store's files cannot be read or written", err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: %w", store.ErrDiskFull, err)
	}
	return err
}
