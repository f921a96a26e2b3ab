// Package storetest is the contract every store of scwm-gateway passes:
// the behaviour its consumers rely on, run against a real store by Run.
// store/sqlite runs it always; store/mongodb runs it against a MongoDB-wire
// server and, when MONGODB_URI is set, against MongoDB.
package storetest

import (
	"context"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Store is everything a store offers its consumers: what the gateway
// serves from (handlers.Store, whose methods the contract holds to the
// same rules), the command line's administration (clients, users, seed,
// export and import) and the test harnesses.
//
// On handlers.Store's ClaimIdempotencyKey: a claim is seen at once by
// every call of this store, and durable no later than the first write
// made under it (a context from store.WithClaim) or its Finish or Release:
// a store may keep it in memory until then, so a restart may forget a
// claim under which nothing was written.
type Store interface {
	handlers.Store

	// Describe names the store for logs, without secrets.
	Describe() string
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	Close(ctx context.Context) error

	store.SeedTarget
	EnsureCompany(ctx context.Context, id string) error
	Companies(ctx context.Context) ([]store.Company, error)
	AddNetworkMember(ctx context.Context, network, company string) error

	// CountClients counts the clients, revoked ones included.
	CountClients(ctx context.Context) (int64, error)
	// RevokeClient revokes the client and every client it minted, and
	// theirs; ErrNotFound if there is none.
	RevokeClient(ctx context.Context, apiKey string) error

	// ListComments lists up to limit comments of an incident whose
	// Position is greater than after, in Position order.
	ListComments(ctx context.Context, incidentID string, after int64, limit int) ([]store.Comment, error)
	// ListActivities lists up to limit history entries of an incident
	// whose DataVersion is greater than after, oldest first.
	ListActivities(ctx context.Context, incidentID string, after int64, limit int) ([]store.Activity, error)

	SetUserDisabled(ctx context.Context, username string, disabled bool) error
	InsertOAuthClient(ctx context.Context, c store.OAuthClient) error
	RevokeOAuthClient(ctx context.Context, clientID string) error

	store.Exporter
	store.Importer
}
