package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scwm-gateway/scwm-gateway/store"
)

// ErrResetUnsupported is Reset's answer on a store that cannot be emptied
// in place (MongoDB: drop its database instead).
var ErrResetUnsupported = errors.New("this gateway's store cannot be reset: only the embedded store can")

// resettable is a store Reset can empty (the embedded store).
type resettable interface {
	Reset(ctx context.Context) error
}

// Hold holds the gateway for one request, until release is called; a
// reset in progress is waited for first.
func (g *Gateway) Hold() (release func()) {
	g.gate.RLock()
	return g.gate.RUnlock
}

// Reset empties the gateway's data and applies seed to it, while no
// request runs (see Hold): incidents, comments, history, idempotency
// keys, tokens, webhook subscriptions and deliveries, API clients, users
// and master data are gone, then the seed's are there. The directory, the
// request journal and the webhook deliveries start over from what the
// store then holds. It answers how long the requests were held.
func (g *Gateway) Reset(ctx context.Context, seed *store.Seed) (time.Duration, error) {
	r, ok := g.rawStore.(resettable)
	if !ok {
		return 0, ErrResetUnsupported
	}
	target, ok := g.rawStore.(store.SeedTarget)
	if !ok {
		return 0, ErrResetUnsupported
	}
	g.gate.Lock()
	defer g.gate.Unlock()
	start := time.Now()
	if err := r.Reset(ctx); err != nil {
		return 0, err
	}
	if seed != nil {
		if err := store.ApplySeed(ctx, target, g.passwords, seed); err != nil {
			return 0, fmt.Errorf("reset: apply the seed: %w", err)
		}
	}
	if err := g.dir.Refresh(ctx); err != nil {
		return 0, fmt.Errorf("reset: reload the directory: %w", err)
	}
	g.journal.Reset()
	g.hooks.Resubscribe()
	return time.Since(start), nil
}
