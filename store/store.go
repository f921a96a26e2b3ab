package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/scwm-gateway/scwm-gateway/credentials"
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
	// passwords hashes the passwords of seeded users.
	passwords credentials.Passwords
	locks     *docLocks
	// ferret is true when the server is FerretDB, embedded or reached by
	// URI: its gaps (no atomic concurrent updates of one document, no
	// findAndModify projection, no TTL index) are then worked around.
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
	// writeMu makes this process's writes to FerretDB take turns (see
	// writeTurn).
	writeMu   sync.Mutex
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
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{timeout: cfg.OperationTimeout, passwords: credentials.Passwords{Cost: cfg.PasswordCost}, seqBlocks: map[string]*sequenceBlock{}}
	uri := cfg.URI
	if uri == "" {
		if !cfg.built {
			if err := initEmbedded(ctx, cfg); err != nil {
				return nil, err
			}
		}
		// The embedded store is FerretDB: every write takes the turn.
		e, err := startEmbedded(cfg.DataDir, logger, func() func() { s.writeMu.Lock(); return s.writeMu.Unlock })
		if err != nil {
			return nil, err
		}
		s.embedded = e
		uri = e.uri
		s.desc = "embedded FerretDB (SQLite in " + e.dir + ")"
	} else {
		s.desc = "MongoDB " + redactURI(uri)
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
	s.versionInserts = newGroupInserter(s.versions, s.writeTurn)

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

// Stats are counters of the store's work since it opened.
type Stats struct {
	// InsertBatches writes committed InsertedVersions incident versions
	// (new incidents and changes): their ratio is the mean group-commit
	// size.
	InsertBatches    int64 `json:"insertBatches"`
	InsertedVersions int64 `json:"insertedVersions"`
}

// Stats reports the store's counters.
func (s *Store) Stats() Stats {
	return Stats{InsertBatches: s.versionInserts.batches.Load(), InsertedVersions: s.versionInserts.docs.Load()}
}

// incidentCacheSize bounds the incidents kept in memory in front of FerretDB
// (a few KiB each).
const incidentCacheSize = 4096

// writeTurn waits for this process's turn to write and returns the end of
// it; on MongoDB it returns at once. SQLite takes one writer at a time, and
// a writer that finds the database busy sleeps in growing steps (1, 2, 5,
// 10 ... 100 ms) before it tries again: measured with 64 concurrent
// clients, updates then ran at 67 per second with a 5 s p99. Writers that
// queue here instead never meet a busy database, and the group commit of
// inserts gets its turn too.
func (s *Store) writeTurn() (done func()) {
	if !s.ferret {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
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

// Embedded reports whether this store is the in-process FerretDB.
func (s *Store) Embedded() bool { return s.embedded != nil }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.Ping(ctx, readpref.Primary())
}

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

// IsUnavailable reports whether err means the store could not be reached in
// time (as opposed to the store refusing the operation).
//
// A connection that breaks during an operation (the store was killed or the
// network failed) reaches us as a mongo.CommandError, which is a
// mongo.ServerError, labelled NetworkError: so network errors and timeouts are
// recognised before server errors are taken for refusals. Of those, only the
// transient ones a failing or failing-over deployment answers (not primary,
// shutting down, host unreachable...) mean unavailable.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) || isServerSelection(err) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
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
				return true
			}
		}
	}
	return false
}

func isServerSelection(err error) bool {
	var sse topology.ServerSelectionError
	return errors.As(err, &sse)
}

func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparseable URI)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}
