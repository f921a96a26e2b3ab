package handlers

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/credentials"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// Directory is the gateway's in-memory view of API clients and network
// memberships, so that authenticating and authorizing a request costs no
// store round trip. The view is complete: an apiKey it does not hold is
// unknown, answered from memory in the same time as a wrong secret for a
// known one. It checks the store's revision of the clients every poll
// interval (at most a second) and reloads when it changed, so a client
// created or revoked by another instance or the CLI is seen within that
// interval; it also reloads everything every refresh interval.
type Directory struct {
	store   Store
	refresh time.Duration
	poll    time.Duration

	mu       sync.RWMutex
	clients  map[string]store.Client
	live     map[string]int             // company -> active clients
	networks map[string]map[string]bool // network -> member companies
	defaults map[string]string          // company -> default network
	partners map[string]map[string]bool // company -> the companies it shares a network with
	master   *masterData                // the companies' master data
	revision int64                      // the clients' revision the view was loaded at
}

// maxRevisionPoll bounds how long a client created or revoked elsewhere
// takes to reach the directory.
const maxRevisionPoll = time.Second

// NewDirectory returns an empty directory; call Refresh before serving.
func NewDirectory(st Store, refresh time.Duration) *Directory {
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	return &Directory{
		store:    st,
		refresh:  refresh,
		poll:     min(refresh, maxRevisionPoll),
		clients:  map[string]store.Client{},
		live:     map[string]int{},
		networks: map[string]map[string]bool{},
		defaults: map[string]string{},
		partners: map[string]map[string]bool{},
		master:   newMasterData(nil),
	}
}

// Refresh reloads clients, networks and the companies' master data from
// the store.
func (d *Directory) Refresh(ctx context.Context) error {
	// The revision is read first: a change made during the load is seen
	// again at the next poll.
	revision, err := d.store.ClientsRevision(ctx)
	if err != nil {
		return err
	}
	clients, err := d.store.Clients(ctx)
	if err != nil {
		return err
	}
	networks, err := d.store.Networks(ctx)
	if err != nil {
		return err
	}
	companies, err := d.store.Companies(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[string]store.Client, len(clients))
	live := map[string]int{}
	for _, c := range clients {
		byKey[c.APIKey] = c
		if c.Active() {
			live[c.CompanyID]++
		}
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
	partners := map[string]map[string]bool{}
	for _, n := range networks {
		for _, a := range n.Members {
			if partners[a] == nil {
				partners[a] = map[string]bool{}
			}
			for _, b := range n.Members {
				partners[a][b] = true
			}
		}
	}
	master := newMasterData(companies)
	d.mu.Lock()
	d.clients, d.live, d.networks, d.defaults, d.partners, d.master, d.revision = byKey, live, members, defaults, partners, master, revision
	d.mu.Unlock()
	return nil
}

// Run keeps the directory fresh until ctx ends: every poll interval it
// reloads if the clients' revision changed, and every refresh interval in
// any case. A failed refresh keeps the previous view.
func (d *Directory) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	ticksPerRefresh := int((d.refresh + d.poll - 1) / d.poll)
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.catchUp(ctx, tick%ticksPerRefresh == 0); err != nil && ctx.Err() == nil && onError != nil {
			onError(err)
		}
	}
}

// catchUp reloads the view if full is set, or if the clients' revision in
// the store is not the view's (or cannot be read).
func (d *Directory) catchUp(ctx context.Context, full bool) error {
	if !full {
		r, err := d.store.ClientsRevision(ctx)
		d.mu.RLock()
		full = err != nil || r != d.revision
		d.mu.RUnlock()
	}
	if !full {
		return nil
	}
	return d.Refresh(ctx)
}

// Put adds or replaces one client in the view, for clients this instance
// has just created or found revoked.
func (d *Directory) Put(c store.Client) {
	d.mu.Lock()
	if old, ok := d.clients[c.APIKey]; ok && old.Active() {
		d.live[old.CompanyID]--
	}
	if c.Active() {
		d.live[c.CompanyID]++
	}
	d.clients[c.APIKey] = c
	d.mu.Unlock()
}

// LiveKeys counts a company's active API clients.
func (d *Directory) LiveKeys(company string) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.live[company]
}

// Authenticate returns the active client whose apiKey and apiSecret these
// are. Known and unknown keys cost the same: one map lookup and one
// constant-time comparison of SHA-256 hashes (against a dummy for unknown
// keys), with no store round trip.
func (d *Directory) Authenticate(apiKey, secret string) (*store.Client, bool) {
	d.mu.RLock()
	c, known := d.clients[apiKey]
	d.mu.RUnlock()
	hash := ""
	if known {
		hash = c.SecretHash
	}
	if !credentials.Verify(hash, secret) || !known || !c.Active() {
		return nil, false
	}
	return &c, true
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

// NetworksOf lists the networks company belongs to, sorted.
func (d *Directory) NetworksOf(company string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for n, members := range d.networks {
		if members[company] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// SharesNetwork reports whether companies a and b belong to one process
// network.
func (d *Directory) SharesNetwork(a, b string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.partners[a][b]
}

// masterData is the master data of the view.
func (d *Directory) masterData() *masterData {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.master
}
