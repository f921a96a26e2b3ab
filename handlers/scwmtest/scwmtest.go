// Package scwmtest runs a whole gateway inside a Go test's own process:
// every HTTP surface on an httptest server, over an embedded store in the
// test's temporary directory, stopped when the test ends. It is for the
// integration tests of programs that call an SCWM gateway, the way
// net/http/httptest is for programs that call any HTTP server:
//
//	gw := scwmtest.Start(t, scwmtest.Options{})
//	client := mysystem.New(gw.URL, gw.Client.APIKey, gw.Client.APISecret)
//	...
//	gw.Reset(t) // back to the seed, for the next case
package scwmtest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/httpapi"
	"github.com/scwm-gateway/scwm-gateway/store"
	"github.com/scwm-gateway/scwm-gateway/store/sqlite"
)

// Options change the gateway Start runs.
type Options struct {
	// Seed is what the store holds at the start and after each Reset;
	// nil is one company (Company), its network (Network) and one API
	// client of it with new credentials.
	Seed *store.Seed
	// Config configures the gateway (its zero value is a deployment's
	// defaults); passwords are hashed at bcrypt's lowest cost unless
	// Config.PasswordCost says otherwise, so that tests do not pay for
	// a production work factor.
	Config handlers.Config
}

// The company and network of the default seed.
const (
	Company = "my-company"
	Network = "my-network"
)

// Gateway is a running gateway.
type Gateway struct {
	// URL is where it serves, as http://127.0.0.1:port.
	URL string
	// Client is the seed's first API client: its key and secret
	// authenticate the envelope API (HTTP Basic).
	Client store.SeedClient
	// Gateway is the gateway itself, for what the HTTP API does not
	// show (its journal, its metrics).
	Gateway *handlers.Gateway
	seed    *store.Seed
}

// Start starts a gateway and stops it when the test ends; it fails the
// test if the gateway cannot start.
func Start(tb testing.TB, opts Options) *Gateway {
	tb.Helper()
	ctx := context.Background()
	seed := opts.Seed
	if seed == nil {
		seed = &store.Seed{
			Companies: []store.Company{{ID: Company, Name: "My Company"}},
			Networks:  []store.Network{{ID: Network, Members: []string{Company}}},
			Clients:   []store.SeedClient{{APIKey: credentials.NewAPIKey(), APISecret: credentials.NewSecret(), CompanyID: Company, UserID: "test-user"}},
		}
	}
	cfg := opts.Config
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = credentials.MinPasswordCost
	}
	st, err := sqlite.Open(ctx, sqlite.Config{DataDir: tb.TempDir(), PasswordCost: cfg.PasswordCost, Now: cfg.Now})
	if err != nil {
		tb.Fatalf("scwmtest: open the store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := store.ApplySeed(ctx, st, st.Passwords(), seed); err != nil {
		tb.Fatalf("scwmtest: apply the seed: %v", err)
	}
	cfg.ResetSeed = seed
	gw, err := handlers.New(ctx, cfg, st)
	if err != nil {
		tb.Fatalf("scwmtest: build the gateway: %v", err)
	}
	api, err := httpapi.New(gw)
	if err != nil {
		tb.Fatalf("scwmtest: build its HTTP surfaces: %v", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		gw.Run(runCtx)
	}()
	srv := httptest.NewServer(api)
	tb.Cleanup(func() {
		srv.Close()
		stop()
		<-stopped
	})
	g := &Gateway{URL: srv.URL, Gateway: gw, seed: seed}
	if len(seed.Clients) > 0 {
		g.Client = seed.Clients[0]
	}
	return g
}

// Reset empties the gateway's data and applies the seed again, as POST
// /api/admin/reset does; it fails the test if it cannot.
func (g *Gateway) Reset(tb testing.TB) {
	tb.Helper()
	if _, err := g.Gateway.Reset(context.Background(), g.seed); err != nil {
		tb.Fatalf("scwmtest: reset: %v", err)
	}
}
