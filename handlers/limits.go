package handlers

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/scwm-gateway/scwm-gateway/envelope"
)

// limits holds the per-API-key rate limits and the throttle on failed
// authentication, both in memory: they protect this process.
type limits struct {
	now   func() time.Time
	rate  float64 // requests per second per API key; 0 disables
	burst float64

	authFailures int           // failures allowed per address per window; 0 disables
	authWindow   time.Duration // the window

	mu      sync.Mutex
	buckets map[string]*bucket
	fails   map[string]*failWindow
}

type bucket struct {
	tokens float64
	last   time.Time
}

type failWindow struct {
	start time.Time
	count int
}

// maxTracked bounds the maps, so that a flood of keys or addresses cannot
// grow memory without bound; past it the oldest state is dropped.
const maxTracked = 100000

func newLimits(now func() time.Time, rate float64, burst int, authFailures int, authWindow time.Duration) *limits {
	if burst < 1 {
		burst = int(math.Max(1, rate))
	}
	return &limits{now: now, rate: rate, burst: float64(burst), authFailures: authFailures, authWindow: authWindow,
		buckets: map[string]*bucket{}, fails: map[string]*failWindow{}}
}

// allow takes a token from the API key's bucket, or answers 429 with the
// time until the next token.
func (l *limits) allow(apiKey string) error {
	if l.rate <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[apiKey]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[apiKey] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return &envelope.Error{Kind: envelope.KindRateLimitExceeded, RetryAfter: wait,
		Message: "too many requests for this apiKey: the limit is " + formatRate(l.rate, l.burst) + "; retry after the Retry-After seconds"}
}

func formatRate(rate, burst float64) string {
	return strconv.FormatFloat(rate, 'f', -1, 64) + " per second (bursts of " + strconv.FormatFloat(burst, 'f', -1, 64) + ")"
}

// authAllowed refuses an address that failed authentication too often in
// the current window, before its credentials are looked at.
func (l *limits) authAllowed(addr string) error {
	if l.authFailures <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.fails[addr]
	if w == nil || now.Sub(w.start) >= l.authWindow || w.count < l.authFailures {
		return nil
	}
	return &envelope.Error{Kind: envelope.KindRateLimitExceeded, RetryAfter: w.start.Add(l.authWindow).Sub(now),
		Message: "too many failed authentications from this address; retry after the Retry-After seconds"}
}

// authFailed counts a failed authentication of an address.
func (l *limits) authFailed(addr string) {
	if l.authFailures <= 0 {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.fails[addr]
	if w == nil || now.Sub(w.start) >= l.authWindow {
		if len(l.fails) >= maxTracked {
			l.fails = map[string]*failWindow{}
		}
		w = &failWindow{start: now}
		l.fails[addr] = w
	}
	w.count++
}

// clientAddress is the host part of the peer address. The gateway does not
// trust X-Forwarded-For: behind a proxy, the proxy should do this throttling.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
