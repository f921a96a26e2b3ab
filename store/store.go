package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/internal/redact"
)

// Config says which store to open.
type Config struct {
	// URI of a MongoDB deployment; empty starts the embedded store.
	URI string
	// Database is the database name inside the deployment.
	Database string
	// DataDir holds the embedded store's SQLite files.
	DataDir string
	// Logger receives the embedded store's own log records; nil discards them.
	Logger *slog.Logger
	// built is set while initEmbedded builds a new embedded database.
	built bool

	// OperationTimeout bounds every store operation, so that an unreachable
	// store answers with an error instead of a hang. Zero means 5 seconds.
	OperationTimeout time.Duration

	// MinFreeBytes is the free disk space below which the embedded store
	// reports itself not ready (Ready), so that a load balancer or a harness
	// stops sending writes before SQLite fails them; zero means
	// DefaultMinFreeBytes.
	MinFreeBytes uint64

	// PasswordCost is the bcrypt cost of the passwords a seed sets; zero
	// means credentials.DefaultPasswordCost. Tests use the minimum.
	PasswordCost int
}

// Store is an open connection to the gateway's database.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	embedded *embedded
	desc     string
	timeout  time.Duration
	minFree  uint64
	// passwords hashes the passwords of seeded users.
	passwords credentials.Passwords
	locks     *docLocks
	// ferret is true when the server is FerretDB, embedded or reached by
	// URI: its gaps (see the package doc) are then worked around.
	ferret bool

	companies   *mongo.Collection
	networks    *mongo.Collection
	clients     *mongo.Collection
	sequences   *mongo.Collection
	versions    *mongo.Collection // incident versions, see versionDoc
	idempotency *mongo.Collection
	// The REST compatibility surface: see oauth.go.
	users        *mongo.Collection
	oauthClients *mongo.Collection
	tokens       *mongo.Collection

	versionInserts *groupInserter
	cache          *incidentCache // nil on MongoDB
	// writeSem makes this process's writes to FerretDB take turns (see
	// writeTurn): holding its one slot is holding the turn.
	writeSem  chan struct{}
	seqMu     sync.Mutex
	seqBlocks map[string]*sequenceBlock
}

// Open connects to the configured store, starting the embedded one if no URI
// is given, and creates the indexes the gateway relies on.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Database == "" {
		cfg.Database = "scwm"
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 5 * time.Second
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = DefaultMinFreeBytes
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{timeout: cfg.OperationTimeout, minFree: cfg.MinFreeBytes, passwords: credentials.Passwords{Cost: cfg.PasswordCost}, seqBlocks: map[string]*sequenceBlock{}, writeSem: make(chan struct{}, 1)}
	uri := cfg.URI
	if uri == "" {
		if !cfg.built {
			if err := initEmbedded(ctx, cfg); err != nil {
				return nil, err
			}
		}
		// The embedded store is FerretDB: every write takes the turn.
		e, err := startEmbedded(cfg.DataDir, logger, s.writeTurn)
		if err != nil {
			return nil, err
		}
		s.embedded = e
		uri = e.uri
		s.desc = "embedded FerretDB (SQLite in " + e.dir + ")"
	} else {
		s.desc = "MongoDB " + redact.URI(uri)
	}

	opts := options.Client().ApplyURI(uri).
		SetAppName("scwm-gateway").
		SetTimeout(cfg.OperationTimeout).
		SetServerSelectionTimeout(cfg.OperationTimeout).
		SetConnectTimeout(cfg.OperationTimeout).
		SetBSONOptions(&options.BSONOptions{DefaultDocumentMap: true, ObjectIDAsHexString: true})
	if s.embedded == nil {
		// On MongoDB an acknowledged write is journaled on a majority, so
		// it survives a crash or a failover. FerretDB on SQLite commits
		// with synchronous=full before it answers.
		opts.SetWriteConcern(writeconcern.Majority()).SetReadPreference(readpref.Primary())
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		s.stopEmbedded()
		return nil, fmt.Errorf("connect to %s: %w", s.desc, err)
	}
	s.client = client
	s.db = client.Database(cfg.Database)
	s.companies = s.db.Collection("companies")
	s.networks = s.db.Collection("networks")
	s.clients = s.db.Collection("clients")
	s.sequences = s.db.Collection("sequences")
	s.versions = s.db.Collection("incident_versions")
	s.idempotency = s.db.Collection("idempotency")
	s.users = s.db.Collection("users")
	s.oauthClients = s.db.Collection("oauth_clients")
	s.tokens = s.db.Collection("oauth_tokens")
	s.versionInserts = newGroupInserter(s.versions, s.writeTurnContext, cfg.OperationTimeout)

	if err := s.Ping(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("reach %s: %w", s.desc, err)
	}
	s.ferret = s.embedded != nil || isFerretDB(ctx, s.db)
	s.locks = newDocLocks(s.ferret)
	if s.ferret {
		s.cache = newIncidentCache(incidentCacheSize)
	}
	if err := s.ensureCollections(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("create collections in %s: %w", s.desc, err)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("create indexes in %s: %w", s.desc, err)
	}
	return s, nil
}

// incidentCacheSize bounds how many incidents are kept in memory in front
// of FerretDB.
const incidentCacheSize = 4096

// writeTurn waits for this process's turn to write and returns the end of
// it; on MongoDB it returns at once. SQLite takes one writer at a time, and
// a writer that finds the database busy sleeps in growing steps before it
// tries again: with many concurrent clients, updates then spent most of
// their time asleep. Writers that queue here instead never meet a busy
// database, and the group commit of inserts gets its turn too.
func (s *Store) writeTurn() (done func()) {
	if !s.ferret {
		return func() {}
	}
	s.writeSem <- struct{}{}
	return func() { <-s.writeSem }
}

// writeTurnContext is writeTurn for a caller with a deadline: it gives up
// when ctx ends first, with an error that says the store was busy.
func (s *Store) writeTurnContext(ctx context.Context) (done func(), err error) {
	if !s.ferret {
		return func() {}, nil
	}
	select {
	case s.writeSem <- struct{}{}:
		return func() { <-s.writeSem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the store's write turn: %w: %w", ErrBusy, ctx.Err())
	}
}

// operation bounds one store operation by the store timeout, waits for
// locks and write turns included. The driver's own timeout applies only
// to a context without a deadline, and a request's context has one (the
// request timeout), so every exported operation starts here.
func (s *Store) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// isFerretDB asks the server's buildInfo, which FerretDB marks with a
// "ferretdbVersion" field.
func isFerretDB(ctx context.Context, db *mongo.Database) bool {
	raw, err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		return false
	}
	_, err = raw.LookupErr("ferretdbVersion")
	return err == nil
}

// Describe names the store for logs: the embedded store's directory or the
// MongoDB URI without its password.
func (s *Store) Describe() string { return s.desc }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return s.client.Ping(ctx, readpref.Primary())
}

// DefaultMinFreeBytes is the free disk space the embedded store needs to
// call itself ready.
const DefaultMinFreeBytes = 16 << 20

// Ready reports whether the store can take writes now: it answers, and the
// embedded store's disk has at least Config.MinFreeBytes free. It backs
// /readyz.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if s.embedded == nil {
		return nil
	}
	if free, ok := freeBytes(s.embedded.dir); ok && free < s.minFree {
		return fmt.Errorf("%w: %d bytes free in %s, less than the %d needed", ErrDiskFull, free, s.embedded.dir, s.minFree)
	}
	return nil
}

// ErrDiskFull is returned by Ready when the embedded store's disk is
// (nearly) full.
var ErrDiskFull = errors.New("the store's disk is full")

// Close disconnects and, for the embedded store, shuts it down so that its
// files are closed cleanly.
func (s *Store) Close(ctx context.Context) error {
	var err error
	if s.client != nil {
		err = s.client.Disconnect(ctx)
	}
	s.stopEmbedded()
	return err
}

func (s *Store) stopEmbedded() {
	if s.embedded != nil {
		s.embedded.stop()
		s.embedded = nil
	}
}

// ErrNotFound is returned when a looked-up document does not exist.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned when a write would break a unique index.
var ErrDuplicate = errors.New("duplicate key")

// ErrBusy is returned when an operation could not start within the store
// timeout because this process's other writes held the store.
var ErrBusy = errors.New("the store is busy")

// IsUnavailable reports whether err means the store could not be reached,
// or could not do the operation in time, or had no room for it (as opposed
// to the store refusing the operation): a later retry may succeed.
func IsUnavailable(err error) bool { return UnavailableReason(err) != "" }

// UnavailableReason says, in a few words for an error message, why the
// store was unavailable for err, or "" if err is not unavailability.
//
// A connection that breaks during an operation (the store was killed or the
// network failed) reaches us as a mongo.CommandError, which is a
// mongo.ServerError, labelled NetworkError: so network errors and timeouts are
// recognised before server errors are taken for refusals. Of those, only the
// transient ones a failing or failing-over deployment answers (not primary,
// shutting down, host unreachable...) mean unavailable, and so do the
// embedded store's SQLite conditions that pass (busy, interrupted, disk
// full, I/O error).
func UnavailableReason(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrBusy) {
		return "the store is busy with other writes"
	}
	if errors.Is(err, ErrDiskFull) {
		return ErrDiskFull.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err) {
		return "the store did not answer in time"
	}
	if mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected) || isServerSelection(err) {
		return "the store cannot be reached"
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return ""
	}
	if reason := sqliteReason(err); reason != "" {
		return reason
	}
	// The codes the driver itself deems retryable: the deployment is
	// down, shutting down or electing a primary.
	for _, code := range []int{
		6,     // HostUnreachable
		7,     // HostNotFound
		89,    // NetworkTimeout
		91,    // ShutdownInProgress
		134,   // ReadConcernMajorityNotAvailableYet
		189,   // PrimarySteppedDown
		262,   // ExceededTimeLimit
		9001,  // SocketException
		10107, // NotWritablePrimary
		11600, // InterruptedAtShutdown
		11602, // InterruptedDueToReplStateChange
		13435, // NotPrimaryNoSecondaryOk
		13436, // NotPrimaryOrSecondary
	} {
		if se.HasErrorCode(code) {
			return "the store is failing over or shutting down"
		}
	}
	return ""
}

// sqliteCode finds the SQLite result code that the embedded store (FerretDB
// on SQLite) puts at the end of an InternalError's message, as in
// "database or disk is full (13)".
var sqliteCode = regexp.MustCompile(`\((\d+)\)$`)

// sqliteReason names the passing SQLite conditions in an embedded store's
// InternalError; "" for anything else.
func sqliteReason(err error) string {
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 1 { // InternalError
		return ""
	}
	m := sqliteCode.FindStringSubmatch(ce.Message)
	if m == nil {
		return ""
	}
	code, _ := strconv.Atoi(m[1])
	switch code & 0xff { // the primary code of an extended one
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return "the store's database is locked by another writer"
	case 9: // SQLITE_INTERRUPT
		return "the store's operation was interrupted"
	case 7, 10, 14: // SQLITE_NOMEM, SQLITE_IOERR, SQLITE_CANTOPEN
		return "the store's files cannot be read or written"
	case 13: // SQLITE_FULL
		return ErrDiskFull.Error()
	}
	return ""
}

func isServerSelection(err error) bool {
	var sse topology.ServerSelectionError
	return errors.As(err, &sse)
}
