package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

var webhooksScenario = &scenario{
	name: "webhooks",
	help: "webhook subscriptions on one company: the add rate with --subscriptions of them against none, and at a fixed --rate of adds the time from commit to each delivery's first attempt",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&hookFlags.subscriptions, "subscriptions", 10, "subscriptions of the bench company, each to its own endpoint on loopback")
		fs.DurationVar(&hookFlags.duration, "duration", 4*time.Second, "measured time of each add round")
		fs.DurationVar(&hookFlags.warmup, "warmup", time.Second, "unmeasured time before each add round")
		fs.IntVar(&hookFlags.rounds, "rounds", 3, "add rounds of each setting, taken in turns (none, subscribed, none, ...)")
		fs.Float64Var(&hookFlags.rate, "rate", 500, "changes per second of the latency phase")
		fs.DurationVar(&hookFlags.paced, "paced", 5*time.Second, "length of the latency phase")
	},
	run: runWebhooks,
}

var hookFlags struct {
	subscriptions, rounds int
	duration, warmup      time.Duration
	rate                  float64
	paced                 time.Duration
}

// hookSink is the endpoints of the subscriptions: one server on loopback
// that takes every delivery at once and records, for each, the time from
// the change's commit (the body's timestamp) to its arrival.
type hookSink struct {
	srv       *http.Server
	url       string
	mu        sync.Mutex
	record    bool
	latencies []time.Duration
	count     atomic.Int64
}

func newHookSink() (*hookSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &hookSink{url: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		body, _ := io.ReadAll(r.Body)
		var p struct{ Timestamp time.Time }
		_ = json.Unmarshal(body, &p)
		s.count.Add(1)
		s.mu.Lock()
		if s.record && !p.Timestamp.IsZero() {
			s.latencies = append(s.latencies, arrived.Sub(p.Timestamp))
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *hookSink) recording(on bool) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record = on
	out := s.latencies
	s.latencies = nil
	return out
}

// restCall sends a REST request with the first API key of acc.
func restCall(ctx context.Context, hc *http.Client, acc access, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	base := acc.url[:len(acc.url)-len("/api/events")]
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", basicAuthorization(acc.keys[0], acc.secrets[0]))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func runWebhooks(h *harness) (*scenarioReport, error) {
	n := hookFlags.subscriptions
	if n < 1 || hookFlags.rounds < 1 || hookFlags.rate <= 0 {
		return nil, fmt.Errorf("--subscriptions, --rounds and --rate must be positive")
	}
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("add rate: %d clients adding incidents, %d rounds of each setting in turns (warmup %v, measured %v): no subscription, and %d subscriptions of the company to endpoints on loopback that answer 204 at once",
			h.clients, hookFlags.rounds, hookFlags.warmup, hookFlags.duration, n),
		fmt.Sprintf("latency: %.0f adds/s for %v with the %d subscriptions; each delivery's arrival at the endpoint less the change's commit time (the body's timestamp, taken in the committing transaction)", hookFlags.rate, hookFlags.paced, n),
	}}
	bin := h.bins[0]
	if len(h.bins) > 1 {
		rep.Notes = append(rep.Notes, "webhooks measures the first binary only: an earlier gateway has no webhooks")
	}
	g, err := h.newGateway(bin, "webhooks", false, "--webhook-allow-private", "--webhook-allow-http")
	if err != nil {
		return nil, err
	}
	if _, err := g.start(h.ctx); err != nil {
		return nil, err
	}
	defer g.stop()
	sink, err := newHookSink()
	if err != nil {
		return nil, err
	}
	defer sink.srv.Close()
	acc := g.access()
	hc := newHTTPClient(h.clients)
	defer hc.CloseIdleConnections()

	var ids []string
	subscribe := func() error {
		for i := range n {
			status, raw, err := restCall(h.ctx, hc, acc, http.MethodPost, "/api/v1/webhooks", map[string]any{"url": fmt.Sprintf("%s/%d", sink.url, i)})
			if err != nil || status != http.StatusCreated {
				return fmt.Errorf("subscribe: %d %s %v", status, raw, err)
			}
			var out struct{ ID string }
			_ = json.Unmarshal(raw, &out)
			ids = append(ids, out.ID)
		}
		return nil
	}
	unsubscribe := func() error {
		for _, id := range ids {
			if status, raw, err := restCall(h.ctx, hc, acc, http.MethodDelete, "/api/v1/webhooks/"+id, nil); err != nil || status != http.StatusNoContent {
				return fmt.Errorf("unsubscribe: %d %s %v", status, raw, err)
			}
		}
		ids = nil
		return nil
	}
	callers := make([]*caller, h.clients)
	for i := range callers {
		callers[i] = newCaller(acc, i, hc)
	}
	var added atomic.Int64
	add := func(ctx context.Context, w int) outcome {
		a, err := callers[w].send(ctx, addEvent, addBody(w, "hooked"), "")
		switch {
		case err != nil:
			return outcome{kind: "add", errKey: "add: " + err.Error()}
		case !a.ok():
			return outcome{kind: "add", errKey: "add: " + a.String()}
		}
		added.Add(1)
		return outcome{kind: "add", ok: true}
	}
	var due, arrived int64
	rates := map[bool][]float64{}
	for round := range hookFlags.rounds {
		for _, subscribed := range []bool{round%2 == 1, round%2 == 0} {
			if subscribed {
				if err := subscribe(); err != nil {
					return nil, err
				}
			}
			h.progress("round %d, %d subscriptions", round+1, len(ids))
			added0, sink0 := added.Load(), sink.count.Load()
			recs, window, _ := runLoad(h.ctx, h.clients, hookFlags.warmup, hookFlags.duration, g.pid(), add)
			if subscribed {
				due += (added.Load() - added0) * int64(n)
				arrived += sink.count.Load() - sink0
			}
			count := 0
			for _, r := range recs {
				count += len(r.lat["add"])
			}
			rates[subscribed] = append(rates[subscribed], float64(count)/window.Seconds())
			if subscribed {
				if err := unsubscribe(); err != nil {
					return nil, err
				}
			}
		}
	}
	none, with := meanOf(rates[false]), meanOf(rates[true])
	rep.row("adds/s, no subscription (rounds)", fmt.Sprintf("%.0f %v", none, roundAll(rates[false])))
	rep.row(fmt.Sprintf("adds/s, %d subscriptions (rounds)", n), fmt.Sprintf("%.0f %v", with, roundAll(rates[true])))
	rep.row("deliveries arrived by the end of the subscribed rounds / due", fmt.Sprintf("%d / %d (%.0f%%)", arrived, due, 100*float64(arrived)/float64(max(due, 1))))
	addVerdict := newVerdict(fmt.Sprintf("add rate with %d subscriptions / with none", n), ">=", 0.8, "x", 1)
	addVerdict.set(0, ratio(with, none))

	// Latency at a fixed rate: adds paced by a ticker, spread over the
	// clients, with the subscriptions in place.
	if err := subscribe(); err != nil {
		return nil, err
	}
	before := sink.count.Load()
	sink.recording(true)
	interval := time.Duration(float64(time.Second) / hookFlags.rate)
	start := time.Now()
	ctx, cancel := context.WithTimeout(h.ctx, hookFlags.paced)
	work := make(chan struct{}, h.clients)
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	for w := range h.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if o := add(h.ctx, w); o.ok {
					sent.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	late := 0
	// The i-th add is due at start + i*interval: a schedule, so that a
	// late wake-up sends what fell due meanwhile instead of dropping it.
	for i := 0; ctx.Err() == nil; i++ {
		sleepUntil(ctx, start.Add(time.Duration(i)*interval))
		if ctx.Err() != nil {
			break
		}
		select {
		case work <- struct{}{}:
		default:
			late++ // every client busy: the gateway falls behind the rate
		}
	}
	close(work)
	wg.Wait()
	cancel()
	// Wait for the deliveries of every change sent (bounded).
	want := before + sent.Load()*int64(n)
	for end := time.Now().Add(30 * time.Second); sink.count.Load() < want && time.Now().Before(end); {
		sleepUntil(h.ctx, time.Now().Add(20*time.Millisecond))
	}
	lat := sink.recording(false)
	rep.row("latency phase: adds sent, failed, not sent (clients busy)", fmt.Sprintf("%d, %d, %d", sent.Load(), failed.Load(), late))
	rep.row("latency phase: deliveries arrived / expected", fmt.Sprintf("%d / %d", sink.count.Load()-before, want-before))
	rep.row("commit to first attempt: median / p99 / max", msOf(median(lat))+" / "+msOf(quantile(lat, 0.99))+" / "+msOf(quantile(lat, 1)))
	latVerdict := newVerdict(fmt.Sprintf("p99 commit to first attempt at %.0f changes/s", hookFlags.rate), "<=", 200, "ms", 1)
	latVerdict.set(0, float64(quantile(lat, 0.99).Microseconds())/1000)
	rep.Verdicts = []*verdict{addVerdict, latVerdict}
	return rep, nil
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func roundAll(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}
