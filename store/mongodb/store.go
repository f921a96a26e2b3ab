package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/internal/redact"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Config says which MongoDB database to open.
type Config struct {
	// URI of the deployment, as mongodb:// or mongodb+srv://.
	URI string
	// Database is the database inside the deployment; empty is "scwm".
	Database string
	// OperationTimeout bounds every operation of the store, so that an
	// unreachable deployment answers with an error instead of a hang; zero
	// is 5 seconds.
	OperationTimeout time.Duration
	// PasswordCost is the bcrypt cost of the passwords a seed sets
	// (Passwords); zero means credentials.DefaultPasswordCost.
	PasswordCost int
}

// Store is an open MongoDB database of the gateway. It is safe for
// concurrent use, and any number of Stores, in this process or in other
// gateways, may share one database.
type Store struct {
	// wordsIndexBelow is how many matches of a search's words are few
	// enough to find on the words' index (search.go); tests lower it.
	wordsIndexBelow int64
	// feedHorizon is how long after its seq was taken a feed entry is
	// listed (feed.go); tests shorten it.
	feedHorizon time.Duration
	client      *mongo.Client
	db          *mongo.Database
	desc        string
	timeout     time.Duration
	cost        int
	seq         *store.Sequencer

	companies    *mongo.Collection
	networks     *mongo.Collection
	clients      *mongo.Collection
	sequences    *mongo.Collection
	incidents    *mongo.Collection
	comments     *mongo.Collection
	activities   *mongo.Collection
	idempotency  *mongo.Collection
	users        *mongo.Collection
	oauthClients *mongo.Collection
	tokens       *mongo.Collection
	webhooks     *mongo.Collection
	deliveries   *mongo.Collection

	// crashAfter, when set (by tests), is called after each step of a
	// write of an incident or of a batch of deliveries (see the step
	// constants); an error stops the write there, as a gateway that died
	// at that point would.
	crashAfter func(step string) error
}

// Open connects to the database, creates the collections' indexes (a no-op
// when they exist), and completes the changes a dead gateway left half
// written (RollForward).
//
// Writes are acknowledged once journaled on a majority of the replica set
// (a standalone server is its own majority), and reads see only what a
// majority holds, from the primary: what the store answers never rolls
// back in a failover. Retryable writes and reads are on.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Database == "" {
		cfg.Database = "scwm"
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 5 * time.Second
	}
	journaled := true
	opts := options.Client().ApplyURI(cfg.URI).
		SetAppName("scwm-gateway").
		SetServerSelectionTimeout(cfg.OperationTimeout).
		SetConnectTimeout(cfg.OperationTimeout).
		SetWriteConcern(&writeconcern.WriteConcern{W: writeconcern.WCMajority, Journal: &journaled}).
		SetReadConcern(readconcern.Majority()).
		SetReadPreference(readpref.Primary()).
		SetRetryWrites(true).
		SetRetryReads(true).
		SetBSONOptions(&options.BSONOptions{DefaultDocumentMap: true})
	s := &Store{
		wordsIndexBelow: wordsIndexBelow,
		desc:            fmt.Sprintf("MongoDB %s, database %s", redact.URI(cfg.URI), cfg.Database),
		timeout:         cfg.OperationTimeout,
		cost:            cfg.PasswordCost,
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.desc, mapError(err))
	}
	s.client = client
	s.db = client.Database(cfg.Database)
	s.companies = s.db.Collection("companies")
	s.networks = s.db.Collection("networks")
	s.clients = s.db.Collection("clients")
	s.sequences = s.db.Collection("sequences")
	s.incidents = s.db.Collection("incidents")
	s.comments = s.db.Collection("comments")
	s.activities = s.db.Collection("activities")
	s.idempotency = s.db.Collection("idempotency")
	s.users = s.db.Collection("users")
	s.oauthClients = s.db.Collection("oauth_clients")
	s.tokens = s.db.Collection("oauth_tokens")
	s.webhooks = s.db.Collection("webhooks")
	s.deliveries = s.db.Collection("webhook_deliveries")
	s.seq = &store.Sequencer{Reserve: s.reserve}
	// The longest a write takes from its seq to its commit, and room for
	// the gateways' clocks to differ.
	s.feedHorizon = 2*s.timeout + feedClockSkew

	fail := func(what string, err error) (*Store, error) {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("%s %s: %w", what, s.desc, err)
	}
	if err := s.Ping(ctx); err != nil {
		return fail("reach", err)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return fail("create the indexes of", err)
	}
	if err := s.backfillUserIDs(ctx); err != nil {
		return fail("give the users their ids in", err)
	}
	if err := s.backfillSearchWords(ctx); err != nil {
		return fail("give the objects their search words in", err)
	}
	if _, err := s.RollForward(ctx); err != nil {
		return fail("complete the pending changes in", err)
	}
	return s, nil
}

// operation bounds one exported operation by the store's timeout. The
// driver's own timeout applies only to a context without a deadline, and
// a request's context has one (the request's), so every exported operation
// starts here; a timeout is then unavailability (mapError).
func (s *Store) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Describe names the store for logs: the URI without its password, and
// the database.
func (s *Store) Describe() string { return s.desc }

// Ping checks that the deployment's primary answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.operation(ctx)
	defer cancel()
	return wrap("ping", s.client.Ping(ctx, readpref.Primary()))
}

// Ready checks that the store can take writes now: a primary answers (the
// deployment keeps its own disk; a full one fails writes, which are then
// answered as unavailable).
func (s *Store) Ready(ctx context.Context) error { return s.Ping(ctx) }

// Passwords hashes and checks the passwords a seed sets, at the
// configured cost.
func (s *Store) Passwords() credentials.Passwords { return credentials.Passwords{Cost: s.cost} }

// Close disconnects from the deployment.
func (s *Store) Close(ctx context.Context) error {
	return s.client.Disconnect(ctx)
}

// wrap maps a driver error onto the store's errors (mapError) and adds what
// failed.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return store.Wrap(what, mapError(err))
}

// mapError turns the driver's errors into the store's: no document is
// store.ErrNotFound, a duplicate key store.ErrDuplicate, and the failures
// that pass (timeouts, a deployment that cannot be reached, one that is
// electing a primary or shutting down) store.Unavailable. Anything else is
// returned as it is: the server refused the operation.
func mapError(err error) error {
	if reason := unavailableReason(err); reason != "" {
		return store.Unavailable(reason, err)
	}
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return store.ErrNotFound
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %w", store.ErrDuplicate, err)
	}
	return err
}

// retryableCodes are the server's error codes for a deployment that is
// down, shutting down, or electing a primary: the codes the driver itself
// retries on.
var retryableCodes = []int{
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
}

// writeConcernFailed is the code of a write that the primary applied but
// a majority did not confirm in time.
const writeConcernFailed = 64

// unavailableReason says in a few words why err is a passing failure, or
// "" if it is not one. A connection that breaks during an operation reaches
// the caller as a server error labelled NetworkError, so network errors and
// timeouts are recognised before server errors are taken for refusals.
func unavailableReason(err error) string {
	var sse topology.ServerSelectionError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err):
		return "the store did not answer in time"
	case mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected) || errors.As(err, &sse):
		return "the store cannot be reached"
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return ""
	}
	for _, code := range retryableCodes {
		if se.HasErrorCode(code) {
			return "the store is failing over or shutting down"
		}
	}
	if se.HasErrorLabel("RetryableWriteError") {
		return "the store is failing over or shutting down"
	}
	if se.HasErrorCode(writeConcernFailed) {
		return "the store's replicas did not confirm the write in time"
	}
	return ""
}
