package handlers

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// limits holds the rate limits (per API key, per company, per OAuth client
// and address on the token endpoint, and on minting credentials) and the
// throttle on failed authentication, all in memory: they protect this
// process.
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
type limits struct {
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
}

// rateSpec is a rate in events per second and its burst.
type rateSpec struct {
	rate  float64
	burst int
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

type limitsConfig struct {
	perKey, perCompany, token, mint rateSpec
	authFailures                    int
	authWindow                      time.Duration
	maxTracked                      int
}

func newLimits(now func() time.Time, c limitsConfig) *limits {
	burst := func(r rateSpec) float64 {
		if r.burst < 1 {
			return math.Max(1, r.rate)
		}
		return float64(r.burst)
	}
	if c.maxTracked <= 0 {
		c.maxTracked = maxTracked
	}
	return &limits{now: now,
		rate: c.perKey.rate, burst: burst(c.perKey),
		companyRate: c.perCompany.rate, companyBurst: burst(c.perCompany),
		tokenRate: c.token.rate, tokenBurst: burst(c.token),
		mintRate: c.mint.rate, mintBurst: burst(c.mint),
		authFailures: c.authFailures, authWindow: c.authWindow,
		buckets: newLRU[*bucket](c.maxTracked), fails: newLRU[*failWindow](c.maxTracked),
		successes: newLRU[time.Time](c.maxTracked)}
}

// allow takes a token from the caller's API key's bucket and from its
// company's, or answers 429 with the time until the next token. The
// company's limit keeps many keys of one company from multiplying its
// budget.
func (l *limits) allow(c Caller) error {
	if l.rate <= 0 && l.companyRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now,
		limitedBy{"k\x00" + c.APIKey, l.rate, l.burst, "this apiKey"},
		limitedBy{"c\x00" + c.CompanyID, l.companyRate, l.companyBurst, "this company"})
}

// allowTokenRequest limits the token endpoint per address, before the
// client is known.
func (l *limits) allowTokenRequest(addr string) error {
	if l.tokenRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"ta\x00" + addr, l.tokenRate, l.tokenBurst, "this address at the token endpoint"})
}

// allowTokenGrant limits the token endpoint per authenticated OAuth client.
func (l *limits) allowTokenGrant(clientID string) error {
	if l.tokenRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"tc\x00" + clientID, l.tokenRate, l.tokenBurst, "this OAuth client at the token endpoint"})
}

// allowMint limits how fast a company mints API credentials.
func (l *limits) allowMint(companyID string) error {
	if l.mintRate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(now, limitedBy{"m\x00" + companyID, l.mintRate, l.mintBurst, "minting credentials for this company"})
}

// limitedBy is one token bucket a request draws from.
type limitedBy struct {
	key         string
	rate, burst float64
	what        string
}

// take draws one token from every bucket that has a rate, or from none if
// any is empty; l.mu is held.
func (l *limits) take(now time.Time, all ...limitedBy) error {
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

// The identities the failed-authentication throttle counts.
func apiKeyIdentity(apiKey string) string        { return "apiKey\x00" + apiKey }
func oauthClientIdentity(clientID string) string { return "oauthClient\x00" + clientID }
func userIdentity(username string) string {
	return "user\x00" + store.NormalizeUsername(username)
}

// authAllowed refuses, before its credentials are looked at, an attempt to
// authenticate as identity from addr that the throttle stops (see limits);
// identity "" is an attempt that names none.
func (l *limits) authAllowed(identity, addr string) error {
	if l.authFailures <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
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
func (l *limits) over(now time.Time, key string, limit int) bool {
	w, ok := l.fails.peek(key)
	return ok && now.Sub(w.start) < l.authWindow && w.count >= limit
}

func (l *limits) throttledUntil(now time.Time, key, msg string) error {
	w, _ := l.fails.peek(key)
	return &envelope.Error{Kind: envelope.KindRateLimitExceeded, RetryAfter: w.start.Add(l.authWindow).Sub(now),
		Message: msg + "; retry after the Retry-After seconds"}
}

// authFailed counts a failed authentication as identity ("" for none) from
// addr.
func (l *limits) authFailed(identity, addr string) {
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

func (l *limits) count(now time.Time, key string) {
	w, ok := l.fails.get(key)
	if !ok || now.Sub(w.start) >= l.authWindow {
		w = &failWindow{start: now}
		l.fails.put(key, w)
	}
	w.count++
}

// authSucceeded records that identity authenticated from addr: its
// failures from there are forgotten, and addr stays served while the
// identity is under attack from elsewhere.
func (l *limits) authSucceeded(identity, addr string) {
	if l.authFailures <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fails.remove("p\x00" + identity + "\x00" + addr)
	l.successes.put(identity+"\x00"+addr, now)
}

// lru is a map bounded to max entries that drops the least recently used
// one when full; it is not safe for concurrent use (limits.mu guards it).
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

// clientAddress is the host part of the peer address. The gateway does not
// trust X-Forwarded-For: behind a proxy, the proxy should do this throttling.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
