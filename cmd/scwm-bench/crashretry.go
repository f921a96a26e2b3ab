package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var crashRetryScenario = &scenario{
	name: "crash-retry",
	help: "kill -9 the gateway while keyed adds and edits are in flight on a store of --incidents versions, start it again, retry the same keys, and time each answer from the end of its key's lease",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&crashFlags.incidents, "incidents", 100000, "incidents (one version each) in the store before the keyed load")
		fs.DurationVar(&crashFlags.requestTimeout, "request-timeout", 10*time.Second, "the gateway's --request-timeout (its default); a key's lease is it and half of it again plus 1s")
		fs.DurationVar(&crashFlags.load, "load", 2*time.Second, "how long the keyed load runs before the kill")
		fs.DurationVar(&crashFlags.deadline, "retry-deadline", 30*time.Second, "how long past its lease a key's retries go on before it counts as unanswered")
	},
	run: runCrashRetry,
}

var crashFlags struct {
	incidents      int
	requestTimeout time.Duration
	load           time.Duration
	deadline       time.Duration
}

// leaseOf is the lease of an idempotency key under a request timeout
// (handlers.Gateway.lease).
func leaseOf(requestTimeout time.Duration) time.Duration {
	return requestTimeout + requestTimeout/2 + time.Second
}

// inflight is a keyed request the bench sent and had no answer to.
type inflight struct {
	worker int
	kind   string
	key    string
	body   []byte
	sentAt time.Time
}

// retryOutcome is how one key's retries ended.
type retryOutcome struct {
	kind  string
	class string // replayed, rebuilt, ran, unanswered, failed
	// delay is the answer's time after the key's lease ended (negative:
	// before), with the lease counted from when the first request was
	// sent, which is no later than its claim: the true delay is at most
	// this.
	delay   time.Duration
	retries int
	detail  string
}

// crashResult is what crash-retry measured on one binary.
type crashResult struct {
	mode      string
	versions  int
	answered  int
	startup   time.Duration
	outcomes  []retryOutcome
	killToRun time.Duration // kill to /readyz 200 of the new process
}

func runCrashRetry(h *harness) (*scenarioReport, error) {
	lease := leaseOf(crashFlags.requestTimeout)
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("a store of %d incidents (%s fill), gateway --request-timeout %v (lease %v)", crashFlags.incidents, h.fill, crashFlags.requestTimeout, lease),
		fmt.Sprintf("%d clients send adds and edits of their own incidents, each with a fresh Idempotency-Key, for %v; then kill -9, start again on the same directory and port", h.clients, crashFlags.load),
		"each request in flight at the kill is sent again with its key and body at once, and again at every 503, until it is answered; its delay is the answer's time after the lease's end, the lease counted from the first send (an upper bound)",
	}}
	var results []*crashResult
	for _, bin := range h.bins {
		mode, note := fillMode(h.ctx, h.fill, bin)
		rep.Notes = append(rep.Notes, joinNotes(note)...)
		res, err := measureCrashRetry(h, bin, mode, lease)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin.Label, err)
		}
		results = append(results, res)
	}
	count := func(r *crashResult, class string) int {
		n := 0
		for _, o := range r.outcomes {
			if o.class == class {
				n++
			}
		}
		return n
	}
	delays := func(r *crashResult) []time.Duration {
		var ds []time.Duration
		for _, o := range r.outcomes {
			if o.class != "unanswered" && o.class != "failed" {
				ds = append(ds, o.delay)
			}
		}
		return ds
	}
	rep.row("store before the load", per(results, func(r *crashResult) string { return fmt.Sprintf("%d versions (%s fill)", r.versions, r.mode) })...)
	rep.row("keyed requests answered before the kill", per(results, func(r *crashResult) string { return fmt.Sprint(r.answered) })...)
	rep.row("in flight at the kill (retried)", per(results, func(r *crashResult) string { return fmt.Sprint(len(r.outcomes)) })...)
	rep.row("kill to /readyz 200 (start-up)", per(results, func(r *crashResult) string {
		return fmt.Sprintf("%.3f s (%.3f s)", r.killToRun.Seconds(), r.startup.Seconds())
	})...)
	for _, class := range []string{"replayed", "rebuilt", "ran", "unanswered", "failed"} {
		rep.row("  answered "+classHelp[class], per(results, func(r *crashResult) string { return fmt.Sprint(count(r, class)) })...)
	}
	rep.row("delay after the lease, median / max", per(results, func(r *crashResult) string {
		ds := delays(r)
		if len(ds) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f s / %.3f s", median(ds).Seconds(), slices.Max(ds).Seconds())
	})...)
	rep.row("  of keys answered after their lease", per(results, func(r *crashResult) string {
		n := 0
		for _, d := range delays(r) {
			if d > 0 {
				n++
			}
		}
		return fmt.Sprint(n)
	})...)
	v := newVerdict("retry answered after the lease's end (max; an unanswered key counts as --retry-deadline)", "<=", 1, "s", len(results))
	for i, r := range results {
		ds := delays(r)
		switch {
		case len(r.outcomes) == 0:
			v.missing(i, "no request was in flight at the kill")
		case count(r, "unanswered")+count(r, "failed") > 0:
			v.set(i, crashFlags.deadline.Seconds()) // a key not answered misses
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %d keys unanswered, %d failed; the first: %s", h.bins[i].Label,
				count(r, "unanswered"), count(r, "failed"), firstDetail(r.outcomes)))
		default:
			v.set(i, max(slices.Max(ds), 0).Seconds())
		}
	}
	rep.Verdicts = []*verdict{v}
	return rep, nil
}

var classHelp = map[string]string{
	"replayed":   "replayed (recorded before the kill)",
	"rebuilt":    "rebuilt from the stored change",
	"ran":        "ran (no change was stored)",
	"unanswered": "unanswered by the deadline",
	"failed":     "with an error",
}

func firstDetail(os []retryOutcome) string {
	for _, o := range os {
		if o.detail != "" {
			return o.detail
		}
	}
	return ""
}

func measureCrashRetry(h *harness, bin binary, mode string, lease time.Duration) (*crashResult, error) {
	ctx := h.ctx
	g, err := h.newGateway(bin, "crash", false, "--request-timeout", crashFlags.requestTimeout.String())
	if err != nil {
		return nil, err
	}
	defer g.stop()
	res := &crashResult{mode: mode, versions: crashFlags.incidents}
	if mode == modeImport {
		h.progress("%s: generating and importing %d incidents", bin.Label, crashFlags.incidents)
		base := time.Now().Add(-24 * time.Hour)
		if _, _, err := importStream(ctx, bin, g.dataDir, h.importArgs, h.tmp, h.env, func(w *ndjsonWriter) error {
			return genIncidents(w, crashFlags.incidents, h.clients, base)
		}); err != nil {
			return nil, err
		}
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
	} else {
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
		h.progress("%s: adding %d incidents through HTTP", bin.Label, crashFlags.incidents)
		if _, err := fillHTTP(ctx, g.access(), h.clients, crashFlags.incidents, 0, h.progress); err != nil {
			return nil, err
		}
	}

	hc := newHTTPClient(h.clients)
	defer hc.CloseIdleConnections()
	callers := make([]*caller, h.clients)
	own := make([]string, h.clients)
	for i := range callers {
		callers[i] = newCaller(g.access(), i, hc)
	}
	ids, err := addMany(ctx, g.access(), hc, h.clients, h.clients)
	if err != nil {
		return nil, err
	}
	copy(own, ids) // an incident of its own for each worker's edits

	h.progress("%s: keyed load for %v, then kill -9", bin.Label, crashFlags.load)
	var killed atomic.Bool
	var killAt time.Time
	var answered atomic.Int64
	pending := make([]*inflight, h.clients)
	var wg sync.WaitGroup
	for w := range h.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := callers[w]
			for seq := 0; !killed.Load() && ctx.Err() == nil; seq++ {
				kind, event, payload := "add", addEvent, any(addBody(w, fmt.Sprintf("Crash incident %d-%d", w, seq)))
				if seq%2 == 1 {
					kind, event, payload = "edit", editEvent, editBody(own[w], seq)
				}
				body, err := c.envelopeOf(event, payload)
				if err != nil {
					return
				}
				f := &inflight{worker: w, kind: kind, key: fmt.Sprintf("crash-%s-%d-%d-%d", bin.Label, w, seq, time.Now().UnixNano()), body: body, sentAt: time.Now()}
				a, err := c.post(ctx, body, f.key)
				if err != nil {
					if killed.Load() {
						pending[w] = f
					}
					return
				}
				if a.ok() {
					answered.Add(1)
				}
			}
		}()
	}
	sleepUntil(ctx, time.Now().Add(crashFlags.load))
	killAt = time.Now()
	killed.Store(true)
	g.kill()
	wg.Wait()
	res.answered = int(answered.Load())
	hc.CloseIdleConnections()

	startup, err := g.start(ctx)
	if err != nil {
		return nil, fmt.Errorf("start after the kill: %w", err)
	}
	res.startup, res.killToRun = startup, g.readyAt.Sub(killAt)
	h.progress("%s: started again in %.3f s; retrying the keys in flight", bin.Label, startup.Seconds())

	var mu sync.Mutex
	var rwg sync.WaitGroup
	for _, f := range pending {
		if f == nil || !f.sentAt.Before(killAt) {
			continue
		}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			o := retryKey(ctx, callers[f.worker], f, lease)
			mu.Lock()
			res.outcomes = append(res.outcomes, o)
			mu.Unlock()
		}()
	}
	rwg.Wait()
	return res, ctx.Err()
}

// retryKey sends f again until it is answered: at once, and again at
// every 503 (a retry waits inside the gateway while the key's lease runs)
// or failed connection, up to the lease's end plus the deadline.
func retryKey(ctx context.Context, c *caller, f *inflight, lease time.Duration) retryOutcome {
	leaseEnd := f.sentAt.Add(lease)
	o := retryOutcome{kind: f.kind}
	last := "none"
	for {
		if time.Now().After(leaseEnd.Add(crashFlags.deadline)) || ctx.Err() != nil {
			o.class = "unanswered"
			o.detail = fmt.Sprintf("%s %s: no answer by the deadline after %d tries; the last: %s", f.kind, f.key, o.retries, last)
			return o
		}
		o.retries++
		a, err := c.post(ctx, f.body, f.key)
		if err != nil {
			last = err.Error()
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if a.status == http.StatusServiceUnavailable {
			last = a.String()
			continue
		}
		o.delay = time.Since(leaseEnd)
		switch {
		case !a.ok():
			o.class, o.detail = "failed", f.kind+": "+a.String()
		case a.replayed:
			o.class = "replayed"
		case slices.ContainsFunc(a.warnings, func(w string) bool { return strings.Contains(w, "interrupted") }):
			o.class = "rebuilt"
		default:
			o.class = "ran"
		}
		return o
	}
}
