package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// dataStore is what the commands need of a store: everything the gateway
// serves from, and what the administration commands change.
type dataStore interface {
	handlers.Store
	store.SeedTarget
	store.Exporter
	store.Importer
	Describe() string
	Close(ctx context.Context) error
	EnsureCompany(ctx context.Context, id string) error
	AddNetworkMember(ctx context.Context, network, company string) error
	CountClients(ctx context.Context) (int64, error)
	RevokeClient(ctx context.Context, apiKey string) error
	SetUserDisabled(ctx context.Context, username string, disabled bool) error
	InsertOAuthClient(ctx context.Context, c store.OAuthClient) error
	RevokeOAuthClient(ctx context.Context, clientID string) error
	// Passwords hashes the passwords a seed sets.
	Passwords() credentials.Passwords
}

// openStore opens the configured store: MongoDB when a URI is given, the
// embedded store in the data directory otherwise, as its owner (serve,
// import) or beside a gateway that may be serving it (the other commands).
func openStore(ctx context.Context, f storeFlags, timeout time.Duration, owner bool) (dataStore, error) {
	if f.mongoURI != "" {
		return openMongo(ctx, f, timeout)
	}
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: f.dataDir, OperationTimeout: timeout, Beside: !owner, ObserveBatch: f.observeBatch})
	if errors.Is(err, store.ErrInUse) {
		return nil, fmt.Errorf("%w (a gateway serving this directory must be stopped first, or run the command with --mongo-uri against a shared store)", err)
	}
	return st, err
}
