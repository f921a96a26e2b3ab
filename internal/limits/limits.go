// Package limits holds the gateway's rate limits (per API key, per company,
// per OAuth client and address on the token endpoint, and on minting
// credentials) and its throttle on failed authentication, in memory: they
// protect the process they run in. It knows identities and addresses as
// strings, and nothing of HTTP or the store.
package limits

import (
	"container/list"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// Limits holds the rate limits and the throttle on failed authentication.
//
// The throttle is keyed by what is attacked, so that a valid client is
// never locked out by someone else's failures:
//   - failures of one identity (an apiKey, an OAuth client id, a username)
//     from one address lock that pair for the rest of the window;
//   - failures of one identity from all addresses, past a higher threshold,
//     refuse that identity from addresses that have not recently
//     authenticated it, so that a spread-out guess is stopped while the
//     identity's own clients keep working;
//   - failures that name no identity (no or garbled credentials, an unknown
//     bearer token) are counted by address, and refuse only such requests
//     from it.
//
// Known and unknown identities are counted alike, so the throttle tells
// nothing about which exist.
type Limits struct {
	now          func() time.Time
	rate         float64 // requests per second per API key; 0 disables
	burst        float64
	companyRate  float64 // requests per second per company; 0 disables
	companyBurst float64
	tokenRate    float64 // token requests per second per OAuth client and per address; 0 disables
	tokenBurst   float64
	mintRate     float64 // credentials minted per second per company; 0 disables
	mintBurst    float64

	authFailures int           // failures allowed per identity and address per window; 0 disables
	authWindow   time.Duration // the window

	mu        sync.Mutex
	buckets   *lru[*bucket]
	fails     *lru[*failWindow]
	successes *lru[time.Time] // identity and address -> last successful authentication
	onRefused func(limit string)
}

// Rate is a rate in events per second (0 disables its limit) and the burst
// allowed above it (at least 1; 0 means the rate, rounded up).
type Rate struct {
	PerSecond float64
	Burst     int
}

type bucket struct {
	tokens float64
	last   time.Time
}

type failWindow struct {
	start time.Time
	count int
}

// maxTracked bounds each map, so that a flood of keys or addresses cannot
// grow memory without bound; past it the least recently used entry goes.
const maxTracked = 100000

// identityFailureFactor is how many times the per-address limit of
// failures one identity may collect from all addresses together before it
// is refused from addresses that have not authenticated it.
const identityFailureFactor = 10

// successMemory is how long a successful authentication exempts its
// address from the identity-wide throttle.
const successMemory = 24 * time.Hour

// Config sets the limits.
type Config struct {
	// PerKey and PerCompany limit requests per API key and per company
	// across its keys; Token limits the token endpoint per OAuth client and
	// per address; Mint limits the credentials a company mints.
	PerKey, PerCompany, Token, Mint Rate
	// AuthFailures failed authentications of one identity from one address
	// within AuthWindow make that pair wait for the window's end; 0
	// disables the throttle.
	AuthFailures int
	AuthWindow   time.Duration
	// MaxTracked bounds each map of buckets and windows; zero means the
	// default.
	MaxTracked int
	// Refused, when set, is told of each refusal by the limit that made
	// it (one of the Limit names), for metrics; it is called with the
	// limits' lock held, so it must be quick and not call back.
	Refused func(limit string)
}

// The limits a refusal names (Config.Refused).
const (
	LimitAPIKey       = "apiKey"
	LimitCompany      = "company"
	LimitTokenAddress = "tokenAddress"
	LimitTokenClient  = "tokenClient"
	LimitMint         = "mint"
	LimitAuthFailures = "authFailures"
)

// New returns the limits of c, reading the time from now.
func New(now func() time.Time, c Config) *Limits {
	burst := func(r Rate) float64 {
		if r.Burst < 1 {
			return math.Max(1, r.PerSecond)
		}
		return float64(r.Burst)
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = maxTracked
	}
	return &Limits{now: now,
		rate: c.PerKey.PerSecond, burst: burst(c.PerKey),
		companyRate: c.PerCompany.PerSecond, companyBurst: burst(c.PerCompany),
		tokenRate: c.Token.PerSecond, tokenBurst: burst(c.Token),
		mintRate: c.Mint.PerSecond, mintBurst: burst(c.Mint),
		authFailures: c.AuthFailures, authWindow: c.AuthWindow,
		buckets: newLRU[*bucket](c.MaxTracked), fails: newLRU[*failWindow](c.MaxTracked),
		successes: newLRU[time.Time](c.MaxTracked), onRefused: c.Refused}
}

// Allow takes a token from an API key's bucket and from its company's, or answers 429 with the time until the next token. The
// company's limit keeps many keys of one company from multiplying its
// budget.
func (l *Limits) Allow(apiKey, companyID string) error {
	if l.rate <= 0 && l.companyRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now,
		limitedBy{"k\x00" + apiKey, l.rate, l.burst, "this apiKey", LimitAPIKey},
		limitedBy{"c\x00" + companyID, l.companyRate, l.companyBurst, "this company", LimitCompany})
}

// AllowTokenRequest limits the token endpoint per address, before the
// client is known.
func (l *Limits) AllowTokenRequest(addr string) error {
	if l.tokenRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"ta\x00" + addr, l.tokenRate, l.tokenBurst, "this address at the token endpoint", LimitTokenAddress})
}

// AllowTokenGrant limits the token endpoint per authenticated OAuth client.
func (l *Limits) AllowTokenGrant(clientID string) error {
	if l.tokenRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"tc\x00" + clientID, l.tokenRate, l.tokenBurst, "this OAuth client at the token endpoint", LimitTokenClient})
}

// AllowMint limits how fast a company mints API credentials.
func (l *Limits) AllowMint(companyID string) error {
	if l.mintRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"m\x00" + companyID, l.mintRate, l.mintBurst, "minting credentials for this company", LimitMint})
}

// limitedBy is one token bucket a request draws from.
type limitedBy struct {
	key         string
	rate, burst float64
	what        string
	// limit names it to Config.Refused.
	limit string
}

// take draws one token from every bucket that has a rate, or from none if
// any is empty; l.mu is held.
func (l *Limits) take(now time.Time, all ...limitedBy) error {
	var buckets [2]*bucket
	for i, lb := range all {
		if lb.rate <= 0 {
			continue
		}
		b, ok := l.buckets.get(lb.key)
		if !ok {
			b = &bucket{tokens: lb.burst, last: now}
			l.buckets.put(lb.key, b)
		}
		b.tokens = math.Min(lb.burst, b.tokens+now.Sub(b.last).Seconds()*lb.rate)
		b.last = now
		if b.tokens < 1 {
			wait := time.Duration((1 - b.tokens) / lb.rate * float64(time.Second))
			l.refused(lb.limit)
			return &envelope.Error{Kind: envelope.KindRateLimitExceeded, RetryAfter: wait,
				Message: "too many requests for " + lb.what + ": the limit is " + formatRate(lb.rate, lb.burst) + "; retry after the Retry-After seconds"}
		}
		buckets[i] = b
	}
	for _, b := range buckets {
		if b != nil {
			b.tokens--
		}
	}
	return nil
}

func formatRate(rate, burst float64) string {
	return strconv.FormatFloat(rate, 'f', -1, 64) + " per second (bursts of " + strconv.FormatFloat(burst, 'f', -1, 64) + ")"
}

// The identities the failed-authentication throttle counts: an API key, an
// OAuth client, a user (by the username as stored, which the caller
// normalizes).
func APIKeyIdentity(apiKey string) string        { return "apiKey\x00" + apiKey }
func OAuthClientIdentity(clientID string) string { return "oauthClient\x00" + clientID }
func UserIdentity(username string) string        { return "user\x00" + username }

// AuthAllowed refuses, before its credentials are looked at, an attempt to
// authenticate as identity from addr that the throttle stops (see Limits);
// identity "" is an attempt that names none.
func (l *Limits) AuthAllowed(identity, addr string) error {
	if l.authFailures <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails.len() == 0 {
		return nil // no failure anywhere to count against anyone
	}
	if identity == "" {
		if l.over(now, "a\x00"+addr, l.authFailures) {
			return l.throttledUntil(now, "a\x00"+addr, "too many failed authentications without valid credentials from this address")
		}
		return nil
	}
	pair := "p\x00" + identity + "\x00" + addr
	if l.over(now, pair, l.authFailures) {
		return l.throttledUntil(now, pair, "too many failed authentications of these credentials from this address")
	}
	if l.over(now, "i\x00"+identity, l.authFailures*identityFailureFactor) {
		if last, ok := l.successes.peek(identity + "\x00" + addr); !ok || now.Sub(last) >= successMemory {
			return l.throttledUntil(now, "i\x00"+identity, "too many failed authentications of these credentials; addresses they recently succeeded from are still served")
		}
	}
	return nil
}

// over reports whether the window at key holds limit failures or more.
func (l *Limits) over(now time.Time, key string, limit int) bool {
	w, ok := l.fails.peek(key)
	return ok && now.Sub(w.start) < l.authWindow && w.count >= limit
}

// refused tells Config.Refused of a refusal by limit.
func (l *Limits) refused(limit string) {
	if l.onRefused != nil {
		l.onRefused(limit)
	}
}

func (l *Limits) throttledUntil(now time.Time, key, msg string) error {
	l.refused(LimitAuthFailures)
	w, _ := l.fails.peek(key)
	return &envelope.Error{Kind: envelope.KindRateLimitExceeded, RetryAfter: w.start.Add(l.authWindow).Sub(now),
		Message: msg + "; retry after the Retry-After seconds"}
}

// AuthFailed counts a failed authentication as identity ("" for none) from
// addr.
func (l *Limits) AuthFailed(identity, addr string) {
	if l.authFailures <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if identity == "" {
		l.count(now, "a\x00"+addr)
		return
	}
	l.count(now, "p\x00"+identity+"\x00"+addr)
	l.count(now, "i\x00"+identity)
}

func (l *Limits) count(now time.Time, key string) {
	w, ok := l.fails.get(key)
	if !ok || now.Sub(w.start) >= l.authWindow {
		w = &failWindow{start: now}
		l.fails.put(key, w)
	}
	w.count++
}

// AuthSucceeded records that identity authenticated from addr: its
// failures from there are forgotten, and addr stays served while the
// identity is under attack from elsewhere.
func (l *Limits) AuthSucceeded(identity, addr string) {
	if l.authFailures <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails.len() > 0 {
		l.fails.remove("p\x00" + identity + "\x00" + addr)
	}
	key := identity + "\x00" + addr
	if last, ok := l.successes.peek(key); ok && now.Sub(last) >= 0 && now.Sub(last) < successRefresh {
		return // recorded moments ago: a day's memory loses nothing to a second
	}
	l.successes.put(key, now)
}

// successRefresh is how stale a recorded success may be before another
// success from the same place records it again: most requests then cost no
// update of the successes' order.
const successRefresh = time.Second

// lru is a map bounded to max entries that drops the least recently used
// one when full; it is not safe for concurrent use (Limits.mu guards it).
type lru[V any] struct {
	max   int
	order *list.List // of *lruEntry[V], most recently used first
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns key's value and marks it used.
func (m *lru[V]) get(key string) (V, bool) {
	e, ok := m.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	m.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

// peek returns key's value without marking it used.
func (m *lru[V]) peek(key string) (V, bool) {
	e, ok := m.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	return e.Value.(*lruEntry[V]).val, true
}

// put sets key's value and marks it used, dropping the least recently used
// entry if the map is full.
func (m *lru[V]) put(key string, v V) {
	if e, ok := m.items[key]; ok {
		e.Value.(*lruEntry[V]).val = v
		m.order.MoveToFront(e)
		return
	}
	if m.order.Len() >= m.max {
		oldest := m.order.Back()
		m.order.Remove(oldest)
		delete(m.items, oldest.Value.(*lruEntry[V]).key)
	}
	m.items[key] = m.order.PushFront(&lruEntry[V]{key: key, val: v})
}

func (m *lru[V]) remove(key string) {
	if e, ok := m.items[key]; ok {
		m.order.Remove(e)
		delete(m.items, key)
	}
}

func (m *lru[V]) len() int { return m.order.Len() }
