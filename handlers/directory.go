package handlers

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Directory is the gateway's in-memory view of API clients and network
// memberships, so that authenticating and authorizing a request costs no
// store round trip. It reloads everything from the store every refresh
// interval (so a client revoked by another instance or the CLI stops working
// within that interval) and looks an unknown apiKey up once, remembering a
// miss for the same interval.
type Directory struct {
	store   Store
	refresh time.Duration

	mu       sync.RWMutex
	clients  map[string]store.Client
	networks map[string]map[string]bool // network -> member companies
	defaults map[string]string          // company -> default network
	misses   map[string]time.Time       // apiKey -> when a lookup found nothing
}

// maxRememberedMisses bounds the negative cache, so that a flood of random
// apiKeys cannot grow memory without bound.
const maxRememberedMisses = 10000

// NewDirectory returns an empty directory; call Refresh before serving.
func NewDirectory(st Store, refresh time.Duration) *Directory {
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	return &Directory{
		store:    st,
		refresh:  refresh,
		clients:  map[string]store.Client{},
		networks: map[string]map[string]bool{},
		defaults: map[string]string{},
		misses:   map[string]time.Time{},
	}
}

// Refresh reloads clients and networks from the store.
func (d *Directory) Refresh(ctx context.Context) error {
	clients, err := d.store.Clients(ctx)
	if err != nil {
		return err
	}
	networks, err := d.store.Networks(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[string]store.Client, len(clients))
	for _, c := range clients {
		byKey[c.APIKey] = c
	}
	sort.SliceStable(networks, func(i, j int) bool {
		if networks[i].Position != networks[j].Position {
			return networks[i].Position < networks[j].Position
		}
		return networks[i].ID < networks[j].ID
	})
	members := make(map[string]map[string]bool, len(networks))
	defaults := map[string]string{}
	for _, n := range networks {
		m := make(map[string]bool, len(n.Members))
		for _, c := range n.Members {
			m[c] = true
			if _, ok := defaults[c]; !ok {
				defaults[c] = n.ID
			}
		}
		members[n.ID] = m
	}
	d.mu.Lock()
	d.clients, d.networks, d.defaults = byKey, members, defaults
	d.misses = map[string]time.Time{}
	d.mu.Unlock()
	return nil
}

// Run refreshes the directory every refresh interval until ctx ends. A failed
// refresh keeps the previous view.
func (d *Directory) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(d.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Refresh(ctx); err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}
}

// Put adds or replaces one client in the view, for clients this instance
// has just created.
func (d *Directory) Put(c store.Client) {
	d.mu.Lock()
	d.clients[c.APIKey] = c
	delete(d.misses, c.APIKey)
	d.mu.Unlock()
}

// Authenticate returns the active client whose apiKey and apiSecret these
// are. The secret is always compared in constant time, also for unknown keys.
// An error is returned only when the store had to be asked and failed.
func (d *Directory) Authenticate(ctx context.Context, apiKey, secret string) (*store.Client, bool, error) {
	c, known, err := d.lookup(ctx, apiKey)
	if err != nil {
		return nil, false, err
	}
	hash := ""
	if known {
		hash = c.SecretHash
	}
	if !credentials.Verify(hash, secret) || !known || !c.Active() {
		return nil, false, nil
	}
	return &c, true, nil
}

func (d *Directory) lookup(ctx context.Context, apiKey string) (store.Client, bool, error) {
	d.mu.RLock()
	c, ok := d.clients[apiKey]
	missedAt, missed := d.misses[apiKey]
	d.mu.RUnlock()
	if ok {
		return c, true, nil
	}
	if missed && time.Since(missedAt) < d.refresh {
		return store.Client{}, false, nil
	}
	found, err := d.store.FindClient(ctx, apiKey)
	if errors.Is(err, store.ErrNotFound) {
		d.mu.Lock()
		if len(d.misses) >= maxRememberedMisses {
			d.misses = map[string]time.Time{}
		}
		d.misses[apiKey] = time.Now()
		d.mu.Unlock()
		return store.Client{}, false, nil
	}
	if err != nil {
		return store.Client{}, false, err
	}
	d.Put(*found)
	return *found, true, nil
}

// IsMember reports whether company belongs to network.
func (d *Directory) IsMember(network, company string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.networks[network][company]
}

// DefaultNetwork is the network a company acts in where an API has no
// network field: the first network of the seed that lists it.
func (d *Directory) DefaultNetwork(company string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n, ok := d.defaults[company]
	return n, ok
}
