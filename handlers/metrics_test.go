package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	gt "github.com/scwm-gateway/scwm-gateway/internal/gatewaytest"
)

// scrape is one GET /metrics as Prometheus reads it: the text, and its
// families parsed by Prometheus's own parser.
type scrape struct {
	text     string
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, h *gt.Harness) scrape {
	t.Helper()
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, body)
	}
	return scrape{text: string(body), families: families}
}

// value is the sum over the series of name whose labels include labels:
// a counter's or gauge's value, a histogram's count.
func (s scrape) value(name string, labels map[string]string) float64 {
	f := s.families[name]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, m := range f.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// series is the number of series of name.
func (s scrape) series(name string) int {
	if f := s.families[name]; f != nil {
		return len(f.Metric)
	}
	return 0
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if have[k] != v {
			return false
		}
	}
	return true
}

// Every surface's answers are counted where they are made, by surface,
// event, status and exceptionName, with their latency, beside the store's
// operations, the group commit and the runtime's collectors.
func TestMetricsCountEveryAnswer(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "counted"}).MustOK(t)
	h.Send(t, gt.Acme, "agile-process-teams:no-such-event:v1", map[string]any{}).MustFail(t, 400, "UnsupportedEventException")
	wrong := gt.Basic(gt.Client{APIKey: "acme-key", APISecret: "guess-0123456789"})
	h.Post(t, gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "x"}), wrong, nil).MustFail(t, 401, "AuthenticationException")
	for _, path := range []string{"/api/v1/incident", "/no/such/page"} {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	s := scrapeMetrics(t, h)
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"surface": "events", "event": addIncident, "status": "200", "exception": ""}, 1},
		{map[string]string{"surface": "events", "event": "unknown", "status": "400", "exception": "UnsupportedEventException"}, 1},
		{map[string]string{"surface": "events", "status": "401", "exception": "AuthenticationException"}, 1},
		{map[string]string{"surface": "rest", "event": "/api/v1/incident", "status": "401"}, 1},
		{map[string]string{"surface": "other", "event": "unmatched", "status": "404"}, 1},
	} {
		if got := s.value("scwm_requests_total", c.labels); got != c.want {
			t.Errorf("scwm_requests_total%v = %v, want %v\n%s", c.labels, got, c.want, s.text)
		}
	}
	if got := s.value("scwm_request_duration_seconds", map[string]string{"surface": "events", "event": addIncident}); got != 1 {
		t.Errorf("the add's latency is observed %v times, want 1", got)
	}
	if s.value("scwm_store_operation_duration_seconds", map[string]string{"operation": "InsertIncident"}) < 1 {
		t.Errorf("the add's store write is not timed:\n%s", s.text)
	}
	if s.value("scwm_store_group_commit_writes", nil) < 1 {
		t.Errorf("no group-commit batch is counted:\n%s", s.text)
	}
	if s.value("scwm_build_info", map[string]string{"version": "test"}) != 1 {
		t.Errorf("no build info:\n%s", s.text)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "scwm_webhook_pending_deliveries", "scwm_webhook_oldest_pending_seconds"} {
		if s.families[name] == nil {
			t.Errorf("the scrape has no %s", name)
		}
	}
}

// A flood of made-up event names and paths leaves the label set as it
// was: they are counted as "unknown" and "unmatched", never as labels,
// and neither they nor the credentials sent appear in the scrape.
func TestMetricsStayBoundedUnderMadeUpNames(t *testing.T) {
	t.Parallel()
	h := gt.Start(t, gt.Options{})
	for i := range 600 {
		name := fmt.Sprintf("agile-process-teams:made-up-%d:v1", i)
		h.Send(t, gt.Acme, name, map[string]any{}).MustFail(t, 400, "UnsupportedEventException")
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/made/up/%d", h.URL, i), nil)
		req.SetBasicAuth(gt.Acme.APIKey, gt.Acme.APISecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s := scrapeMetrics(t, h)
	if n := s.series("scwm_requests_total"); n > 4 {
		t.Errorf("made-up names made %d request series:\n%s", n, s.text)
	}
	if got := s.value("scwm_requests_total", map[string]string{"event": "unknown"}); got != 600 {
		t.Errorf("unknown events counted %v, want 600", got)
	}
	if got := s.value("scwm_requests_total", map[string]string{"event": "unmatched"}); got != 600 {
		t.Errorf("unmatched paths counted %v, want 600", got)
	}
	for _, leak := range []string{"made-up", "/made/up", gt.Acme.APIKey, gt.Acme.APISecret, gt.Acme.CompanyID} {
		if strings.Contains(s.text, leak) {
			t.Errorf("the scrape holds %q", leak)
		}
	}
}

// Idempotency replays and the limits' refusals are counted by what they
// were.
func TestMetricsCountReplaysAndRefusals(t *testing.T) {
	t.Parallel()
	clock := gt.NewClock(time.Now())
	h := gt.Start(t, gt.Options{Clock: clock, Config: handlers.Config{RateLimit: 1, RateBurst: 2, AuthFailureLimit: 1, AuthFailureWindow: time.Minute}})
	body := gt.Envelope(gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "once"})
	h.Post(t, body, gt.Basic(gt.Acme), withKey("metrics-1")).MustOK(t)
	h.Post(t, body, gt.Basic(gt.Acme), withKey("metrics-1")).MustOK(t)
	h.Post(t, body, gt.Basic(gt.Acme), withKey("metrics-2")).MustFail(t, 429, "RateLimitExceededException")
	wrong := gt.Basic(gt.Client{APIKey: "other-key", APISecret: "guess-0123456789"})
	h.Post(t, body, wrong, nil).MustFail(t, 401, "AuthenticationException")
	h.Post(t, body, wrong, nil).MustFail(t, 429, "RateLimitExceededException")

	s := scrapeMetrics(t, h)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"scwm_idempotency_total", map[string]string{"outcome": "replay"}, 1},
		{"scwm_idempotency_total", map[string]string{"outcome": "takeover"}, 0},
		{"scwm_limit_refusals_total", map[string]string{"limit": "apiKey"}, 1},
		{"scwm_limit_refusals_total", map[string]string{"limit": "authFailures"}, 1},
	} {
		if got := s.value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v\n%s", c.name, c.labels, got, c.want, s.text)
		}
	}
}

// Webhook attempts are counted by outcome and retry, with the receiver's
// latency.
func TestMetricsCountWebhookAttempts(t *testing.T) {
	t.Parallel()
	cfg, recorded := hookConfig()
	h := gt.Start(t, gt.Options{Config: cfg})
	rc := newReceiver(t)
	back := rc.failUntilBack(http.StatusServiceUnavailable, "down")
	hook := subscribe(t, h, gt.Acme, rc, nil)
	h.Send(t, gt.Acme, addIncident, map[string]any{"aptBusinessObjectSummary": "delivered at last"}).MustOK(t)
	rc.waitFor(t, "a first attempt", func(got []received) bool { return len(got) >= 1 })
	back()
	waitLog(t, h, recorded, gt.Acme, hook, func(log []loggedDelivery) bool {
		return len(log) == 1 && log[0].State == "delivered"
	})

	s := scrapeMetrics(t, h)
	if got := s.value("scwm_webhook_delivery_attempts_total", map[string]string{"outcome": "refused", "retry": "false"}); got != 1 {
		t.Errorf("first attempts refused: %v, want 1\n%s", got, s.text)
	}
	if got := s.value("scwm_webhook_delivery_attempts_total", map[string]string{"outcome": "delivered", "retry": "true"}); got != 1 {
		t.Errorf("retries delivered: %v, want 1\n%s", got, s.text)
	}
	attempts := s.value("scwm_webhook_delivery_attempts_total", nil)
	if got := s.value("scwm_webhook_delivery_duration_seconds", nil); got != attempts || attempts < 2 {
		t.Errorf("%v attempts, %v latencies observed", attempts, got)
	}
}
