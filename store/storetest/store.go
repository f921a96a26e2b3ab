// Package storetest is the contract every store of scwm-gateway passes:
// the behaviour the gateway relies on, run against a real store by
// Run. store/sqlite runs it always; store/mongodb runs it against a
// MongoDB-wire server and, when MONGODB_URI is set, against MongoDB.
package storetest

import (
	"context"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// Store is everything a store offers its consumers: the gateway
// (handlers.Store), the command line (clients, users, seed, export and
// import) and the test harnesses.
type Store interface {
	// Describe names the store for logs, without secrets.
	Describe() string
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Ready checks that the store answers and has room to write.
	Ready(ctx context.Context) error
	Close(ctx context.Context) error

	store.SeedTarget
	EnsureCompany(ctx context.Context, id string) error
	Companies(ctx context.Context) ([]store.Company, error)
	AddNetworkMember(ctx context.Context, network, company string) error
	Networks(ctx context.Context) ([]store.Network, error)

	Clients(ctx context.Context) ([]store.Client, error)
	CountClients(ctx context.Context) (int64, error)
	FindClient(ctx context.Context, apiKey string) (*store.Client, error)
	// InsertClient stores a new client; ErrDuplicate if the apiKey is
	// taken.
	InsertClient(ctx context.Context, c store.Client) error
	// RevokeClient revokes the client and every client it minted, and
	// theirs; ErrNotFound if there is none.
	RevokeClient(ctx context.Context, apiKey string) error
	// ClientsRevision counts creations and revocations of clients.
	ClientsRevision(ctx context.Context) (int64, error)

	NextSequence(ctx context.Context, dataspace, ownerID, name string) (int64, error)

	// InsertIncident stores a new incident at DataVersion 1 with its
	// comments (Incident.Comments) and its one history entry
	// (Incident.Activities); ErrDuplicate if the id is taken.
	InsertIncident(ctx context.Context, inc *store.Incident) error
	// FindIncident loads an incident as its latest change left it, or
	// ErrNotFound (also when it is in another dataspace).
	FindIncident(ctx context.Context, dataspace, id string, with store.Include) (*store.Incident, error)
	// FindComment loads one comment of an incident, or ErrNotFound.
	FindComment(ctx context.Context, incidentID, commentID string) (*store.Comment, error)
	// ListComments lists up to limit comments of an incident whose
	// Position is greater than after, in Position order.
	ListComments(ctx context.Context, incidentID string, after int64, limit int) ([]store.Comment, error)
	// ListActivities lists up to limit history entries of an incident
	// whose DataVersion is greater than after, oldest first.
	ListActivities(ctx context.Context, incidentID string, after int64, limit int) ([]store.Activity, error)
	// WriteChange writes a change (see store.Change) or answers
	// ErrConflict and writes nothing.
	WriteChange(ctx context.Context, ch store.Change) error

	// ClaimIdempotencyKey claims a key, or gives its record. A claim is
	// seen at once by every call of this store, and durable no later than
	// the first write made under it (a context from store.WithClaim) or
	// its Finish or Release: a store may keep it in memory until then, so
	// a restart may forget a claim under which nothing was written.
	ClaimIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord) (*store.IdempotencyRecord, error)
	FindIdempotencyKey(ctx context.Context, key string) (*store.IdempotencyRecord, error)
	FinishIdempotencyKey(ctx context.Context, key, plate string, status int, body []byte) error
	ReleaseIdempotencyLease(ctx context.Context, key, plate string) error
	TakeOverIdempotencyKey(ctx context.Context, rec *store.IdempotencyRecord, leaseUntil time.Time) (bool, error)
	ExpireIdempotencyKeys(ctx context.Context, now time.Time) (int64, error)
	FindEffect(ctx context.Context, dataspace, plate string) (*store.Effect, error)

	SetUserDisabled(ctx context.Context, username string, disabled bool) error
	InsertOAuthClient(ctx context.Context, c store.OAuthClient) error
	FindOAuthClient(ctx context.Context, clientID string) (*store.OAuthClient, error)
	RevokeOAuthClient(ctx context.Context, clientID string) error
	InsertToken(ctx context.Context, t store.Token) error
	FindToken(ctx context.Context, hash string) (*store.Token, error)
	RevokeToken(ctx context.Context, hash string) (bool, error)
	ExpireTokens(ctx context.Context, now time.Time) (int64, error)

	store.Exporter
	store.Importer
}
