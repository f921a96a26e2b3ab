package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

var longIncidentScenario = &scenario{
	name: "long-incident",
	help: "one incident with many changes, half of them comments: the cost of a change against one on a fresh incident, the history's answer time, and the disk each change takes early and late",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&longFlags.changes, "changes", 1000, "changes of the long incident (edits and comments in turn), at least 200")
		fs.IntVar(&longFlags.historyReads, "history-reads", 20, "reads of the long incident's history at the end")
	},
	run: runLongIncident,
}

var longFlags struct {
	changes      int
	historyReads int
}

// longResult is what long-incident measured on one binary.
type longResult struct {
	long, fresh         []time.Duration // latency of each change, in order
	history             []time.Duration
	historyEntries      int
	failures            []string // answers that were not 200_OK (each still timed)
	size0, sizeFirst    int64    // data directory before change 1 and after change 100
	sizeLast0, sizeLast int64    // after change n-100 and after change n
}

func runLongIncident(h *harness) (*scenarioReport, error) {
	n := longFlags.changes
	if n < 200 {
		return nil, fmt.Errorf("--changes must be at least 200 (the first and the last 100 are compared)")
	}
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("one client, one change at a time: %d changes of one incident (edit-incident:v5 and add-comment-for-incident:v1 in turn), then one change each of %d fresh incidents (the same kinds in turn)", n, n),
		fmt.Sprintf("disk: the gateway's data directory (every file), the gateway stopped with SIGTERM (a clean close checkpoints the write-ahead log) and started again, before change 1, after change 100, after change %d and after change %d", n-100, n),
		fmt.Sprintf("history: %d reads of %s of the long incident at the end", longFlags.historyReads, historyEvent),
	}}
	var results []*longResult
	for _, bin := range h.bins {
		res, err := measureLongIncident(h, bin, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin.Label, err)
		}
		results = append(results, res)
	}
	last := func(r *longResult) []time.Duration { return r.long[n-100:] }
	rep.row("change on a fresh incident, median", per(results, func(r *longResult) string { return msOf(median(r.fresh)) })...)
	rep.row("change on a fresh incident, mean", per(results, func(r *longResult) string { return msOf(mean(r.fresh)) })...)
	rep.row("changes 1-100 of the long incident, median", per(results, func(r *longResult) string { return msOf(median(r.long[:100])) })...)
	rep.row(fmt.Sprintf("changes %d-%d of the long incident, median", n-99, n), per(results, func(r *longResult) string { return msOf(median(last(r))) })...)
	rep.row(fmt.Sprintf("changes %d-%d of the long incident, mean", n-99, n), per(results, func(r *longResult) string { return msOf(mean(last(r))) })...)
	rep.row("  of which edits, median (fresh: edits)", per(results, func(r *longResult) string {
		return msOf(median(everyOther(last(r), 0))) + " (" + msOf(median(everyOther(r.fresh, 0))) + ")"
	})...)
	rep.row("  of which comments, median (fresh: comments)", per(results, func(r *longResult) string {
		return msOf(median(everyOther(last(r), 1))) + " (" + msOf(median(everyOther(r.fresh, 1))) + ")"
	})...)
	rep.row(fmt.Sprintf("history of %d entries, median (max)", n+1), per(results, func(r *longResult) string {
		return msOf(median(r.history)) + " (" + msOf(slices.Max(r.history)) + ")"
	})...)
	rep.row("history entries answered", per(results, func(r *longResult) string { return fmt.Sprint(r.historyEntries) })...)
	rep.row("requests not answered 200_OK", per(results, func(r *longResult) string { return fmt.Sprint(len(r.failures)) })...)
	rep.row("disk per change, changes 1-100", per(results, func(r *longResult) string { return bytesPer(r.sizeFirst-r.size0, 100) })...)
	rep.row(fmt.Sprintf("disk per change, changes %d-%d", n-99, n), per(results, func(r *longResult) string { return bytesPer(r.sizeLast-r.sizeLast0, 100) })...)
	rep.row(fmt.Sprintf("disk per change, changes 1-%d", n), per(results, func(r *longResult) string { return bytesPer(r.sizeLast-r.size0, n) })...)

	cost := newVerdict(fmt.Sprintf("change %d-%d of the long incident / on a fresh one (medians)", n-99, n), "<=", 1.5, "x", len(results))
	hist := newVerdict("history answer time (median)", "<=", 100, "ms", len(results))
	disk := newVerdict(fmt.Sprintf("disk per change, changes %d-%d / changes 1-100", n-99, n), "<=", 1.5, "x", len(results))
	for i, r := range results {
		cost.set(i, ratio(float64(median(last(r))), float64(median(r.fresh))))
		hist.set(i, float64(median(r.history).Microseconds())/1000)
		first, late := r.sizeFirst-r.size0, r.sizeLast-r.sizeLast0
		if first <= 0 {
			disk.missing(i, "the first 100 changes grew the directory by nothing")
		} else {
			disk.set(i, float64(late)/float64(first))
		}
		if len(r.failures) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %d requests were not answered 200_OK (their time counts); the first: %s", h.bins[i].Label, len(r.failures), truncate(r.failures[0], 400)))
		}
		if r.historyEntries != n+1 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the history answered %d entries, not %d", h.bins[i].Label, r.historyEntries, n+1))
		}
	}
	rep.Verdicts = []*verdict{cost, hist, disk}
	rep.Notes = append(rep.Notes, "disk per change is the growth of the data directory over 100 changes, taken with the gateway stopped; a store that reuses free pages can show less in one window")
	return rep, nil
}

func measureLongIncident(h *harness, bin binary, n int) (*longResult, error) {
	ctx := h.ctx
	g, err := h.newGateway(bin, "long", false)
	if err != nil {
		return nil, err
	}
	h.progress("%s: starting the gateway", bin.Label)
	if _, err := g.start(ctx); err != nil {
		return nil, err
	}
	defer g.stop()
	hc := newHTTPClient(h.clients)
	defer hc.CloseIdleConnections()
	c := newCaller(g.access(), 0, hc)
	res := &longResult{}

	a, err := c.send(ctx, addEvent, addBody(0, "The long incident"), "")
	if err != nil || !a.ok() {
		return nil, fmt.Errorf("add the long incident: %v %v", err, a)
	}
	longID := a.id()
	// sample is the data directory's size with the gateway stopped, so
	// that no write-ahead log holds what the database file will.
	sample := func() (int64, error) {
		if err := g.stop(); err != nil {
			return 0, err
		}
		size, err := dirSize(g.dataDir)
		if err != nil {
			return 0, err
		}
		hc.CloseIdleConnections()
		_, err = g.start(ctx)
		return size, err
	}
	change := func(id string, i int) (time.Duration, error) {
		event, payload := editEvent, editBody(id, i)
		if i%2 == 1 {
			event, payload = commentEvent, commentBody(id, i)
		}
		a, err := c.send(ctx, event, payload, "")
		if err != nil {
			return 0, err
		}
		if !a.ok() {
			res.failures = append(res.failures, fmt.Sprintf("change %d (%s) of %s: %v", i+1, event, id, a))
		}
		return a.latency, nil
	}
	if res.size0, err = sample(); err != nil {
		return nil, err
	}
	h.progress("%s: %d changes of one incident", bin.Label, n)
	for i := range n {
		switch i {
		case 100:
			if res.sizeFirst, err = sample(); err != nil {
				return nil, err
			}
		case n - 100:
			if res.sizeLast0, err = sample(); err != nil {
				return nil, err
			}
		}
		d, err := change(longID, i)
		if err != nil {
			return nil, fmt.Errorf("the long incident: %w", err)
		}
		res.long = append(res.long, d)
	}
	if res.sizeLast, err = sample(); err != nil {
		return nil, err
	}

	h.progress("%s: %d fresh incidents, one change each", bin.Label, n)
	fresh, err := addMany(ctx, g.access(), hc, h.clients, n)
	if err != nil {
		return nil, err
	}
	for i, id := range fresh {
		d, err := change(id, i)
		if err != nil {
			return nil, fmt.Errorf("a fresh incident: %w", err)
		}
		res.fresh = append(res.fresh, d)
	}

	for range longFlags.historyReads {
		a, err := c.send(ctx, historyEvent, map[string]any{"id": longID, "processType": "incident"}, "")
		if err != nil {
			return nil, err
		}
		if !a.ok() {
			res.failures = append(res.failures, fmt.Sprintf("history read: %v", a))
		}
		var p struct {
			Activities []json.RawMessage `json:"activities"`
		}
		_ = json.Unmarshal(a.payload, &p)
		res.historyEntries = max(res.historyEntries, len(p.Activities))
		res.history = append(res.history, a.latency)
	}
	return res, nil
}

// addMany adds n incidents with up to clients callers at once and returns
// their ids.
func addMany(ctx context.Context, acc access, hc *http.Client, clients, n int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for w := range min(clients, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCaller(acc, w, hc)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				a, err := c.send(ctx, addEvent, addBody(w, fmt.Sprintf("Bench incident %d-%d", w, i)), "")
				if err == nil && !a.ok() {
					err = fmt.Errorf("add: %v", a)
				}
				if err != nil {
					errs <- err
					return
				}
				ids[i] = a.id()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return ids, ctx.Err()
}

// median of ds (0 for none).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// mean of ds (0 for none).
func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// everyOther is ds[from], ds[from+2], ...
func everyOther(ds []time.Duration, from int) []time.Duration {
	var out []time.Duration
	for i := from; i < len(ds); i += 2 {
		out = append(out, ds[i])
	}
	return out
}

// bytesPer formats a growth of total bytes over n changes.
func bytesPer(total int64, n int) string {
	return fmt.Sprintf("%.0f B", float64(total)/float64(n))
}
