// Package metrics is what a gateway tells Prometheus: its answers by
// surface, event, status and exceptionName, their latency, the store's
// operations, the group commit's batches, idempotency replays and
// takeovers, the limits' refusals and the webhook deliveries, beside the Go
// runtime's and the process's own collectors.
//
// Every label takes its values from a small known set or is bounded by a
// guard (Metrics keeps at most maxLabelValues values of a label and counts
// the rest as "other"), so a client sending made-up event names or paths
// cannot grow the series without bound. No label ever holds an id, an API
// key or anything else a caller chose freely.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxLabelValues bounds the values one label of a metric takes; more are
// counted under Other.
const maxLabelValues = 512

// Other is the label value of everything past a label's bound.
const Other = "other"

// Metrics holds the metrics of one gateway in a registry of its own (so
// that gateways in one process, as in tests, do not share them). Its
// methods do nothing on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	storeDuration   *prometheus.HistogramVec
	storeErrors     *prometheus.CounterVec
	batchWrites     prometheus.Histogram
	idempotency     *prometheus.CounterVec
	refusals        *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptDuration prometheus.Histogram

	guard labelGuard
}

// New returns the metrics of a gateway of the given version, registered
// with the Go and process collectors.
func New(version string) *Metrics {
	if version == "" {
		version = "unknown"
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.guard.seen = map[string]map[string]bool{}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scwm_requests_total",
		Help: "Requests answered, by surface (events, graphql, rest, oauth, webhooks, ui, other), event (the eventName of the envelope API, the route elsewhere), HTTP status and exceptionName."},
		[]string{"surface", "event", "status", "exception"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "scwm_request_duration_seconds",
		Help:    "Time from a request's arrival to its answer, by surface and event.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
		[]string{"surface", "event"})
	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "scwm_store_operation_duration_seconds",
		Help:    "Time the store took for an operation, by operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}},
		[]string{"operation"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scwm_store_operation_errors_total",
		Help: "Store operations that failed for another reason than a missing record or a lost race, by operation."},
		[]string{"operation"})
	m.batchWrites = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "scwm_store_group_commit_writes",
		Help:    "Writes committed together in one transaction of the embedded store's group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}})
	m.idempotency = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scwm_idempotency_total",
		Help: "Requests with an idempotency key answered from an earlier answer (replay) or completed for a request that died holding the key (takeover)."},
		[]string{"outcome"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scwm_limit_refusals_total",
		Help: "Requests refused by a rate limit or by the failed-authentication throttle, by the limit (apiKey, company, tokenAddress, tokenClient, mint, authFailures)."},
		[]string{"limit"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scwm_webhook_delivery_attempts_total",
		Help: "Webhook delivery attempts, by outcome (delivered, refused: the receiver answered other than 2xx, unreachable) and whether the attempt was a retry."},
		[]string{"outcome", "retry"})
	m.attemptDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "scwm_webhook_delivery_duration_seconds",
		Help:    "Time a webhook receiver took to answer an attempt.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "scwm_build_info",
		Help: "The gateway's version, always 1."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration, m.storeDuration, m.storeErrors, m.batchWrites, m.idempotency, m.refusals,
		m.attempts, m.attemptDuration, build)
	return m
}

// Handler serves the metrics in Prometheus's text format (or OpenMetrics,
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Registry is where the metrics are registered, for the gateway's own
// gauges and for tests that gather them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts an answer: its surface, event (an eventName the gateway
// serves, or a route, or a name of the caller's that the caller must have
// bounded), status and exceptionName, and how long it took.
func (m *Metrics) Request(surface, event string, status int, exception string, took time.Duration) {
	if m == nil {
		return
	}
	surface = m.guard.bound("surface", surface)
	event = m.guard.bound("event", event)
	exception = m.guard.bound("exception", exception)
	m.requests.WithLabelValues(surface, event, strconv.Itoa(status), exception).Inc()
	m.requestDuration.WithLabelValues(surface, event).Observe(took.Seconds())
}

// StoreOperation records a store operation, by the name of the store's
// method, and whether it failed.
func (m *Metrics) StoreOperation(operation string, took time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.storeDuration.WithLabelValues(operation).Observe(took.Seconds())
	if failed {
		m.storeErrors.WithLabelValues(operation).Inc()
	}
}

// GroupCommit records the writes of one committed batch.
func (m *Metrics) GroupCommit(writes int) {
	if m == nil {
		return
	}
	m.batchWrites.Observe(float64(writes))
}

// Outcomes of a request with an idempotency key that IdempotentRequest
// counts.
const (
	Replay   = "replay"
	Takeover = "takeover"
)

// IdempotentRequest counts a replay or a takeover.
func (m *Metrics) IdempotentRequest(outcome string) {
	if m == nil {
		return
	}
	m.idempotency.WithLabelValues(outcome).Inc()
}

// Refused counts a refusal by a limit (limits.Config.Refused).
func (m *Metrics) Refused(limit string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(m.guard.bound("limit", limit)).Inc()
}

// Outcomes of a delivery attempt.
const (
	Delivered   = "delivered"
	Refused     = "refused"
	Unreachable = "unreachable"
)

// DeliveryAttempt counts an attempt of a webhook delivery: its outcome,
// whether it was a retry, and how long the receiver took.
func (m *Metrics) DeliveryAttempt(outcome string, retry bool, took time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(outcome, strconv.FormatBool(retry)).Inc()
	m.attemptDuration.Observe(took.Seconds())
}

// WatchBacklog registers the gauges of the webhook deliveries pending:
// how many, and the age of the oldest by now. backlog is asked at each
// scrape.
func (m *Metrics) WatchBacklog(backlog func() (pending int, oldest time.Time), now func() time.Time) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scwm_webhook_pending_deliveries",
		Help: "Webhook deliveries this gateway holds pending: due again after a failed attempt, or waiting behind an earlier delivery of their object."},
		func() float64 {
			n, _ := backlog()
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scwm_webhook_oldest_pending_seconds",
			Help: "How long ago the change of the oldest pending webhook delivery was committed; 0 with none pending."},
			func() float64 {
				_, oldest := backlog()
				if oldest.IsZero() {
					return 0
				}
				return max(0, now().Sub(oldest).Seconds())
			}))
}

// labelGuard keeps the values a label has taken and answers Other for a
// new one past maxLabelValues.
type labelGuard struct {
	mu   sync.Mutex
	seen map[string]map[string]bool
}

func (g *labelGuard) bound(label, value string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	values := g.seen[label]
	if values == nil {
		values = map[string]bool{}
		g.seen[label] = values
	}
	if values[value] {
		return value
	}
	if len(values) >= maxLabelValues {
		return Other
	}
	values[value] = true
	return value
}
