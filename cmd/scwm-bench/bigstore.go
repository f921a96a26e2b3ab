package main

import (
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"
)

var bigStoreScenario = &scenario{
	name: "big-store",
	help: "a store of --incidents incidents against one of --small-incidents: add rate, cold read latency after a restart, and start-up time (process start to /readyz 200)",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&bigFlags.incidents, "incidents", 100000, "incidents of the big store (issue 12's target is set at 1000000)")
		fs.IntVar(&bigFlags.small, "small-incidents", 10000, "incidents of the store the big one is compared with")
		fs.DurationVar(&bigFlags.duration, "duration", 5*time.Second, "measured time of each store's add phase")
		fs.DurationVar(&bigFlags.warmup, "warmup", time.Second, "unmeasured time before each add phase")
		fs.IntVar(&bigFlags.coldReads, "cold-reads", 200, "reads of distinct stored incidents, one at a time, right after a restart")
		fs.IntVar(&bigFlags.starts, "starts", 5, "restarts (SIGTERM, start) whose start-up times are taken; the median counts")
	},
	run: runBigStore,
}

var bigFlags struct {
	incidents, small int
	duration, warmup time.Duration
	coldReads        int
	starts           int
}

// storeResult is what big-store measured on one store of one binary.
type storeResult struct {
	size      int
	mode      string
	fillTook  time.Duration
	addRate   float64
	addP99    float64
	addErrors int
	starts    []time.Duration
	cold      []time.Duration
	dirBytes  int64
}

func runBigStore(h *harness) (*scenarioReport, error) {
	if bigFlags.small < 1 || bigFlags.incidents <= bigFlags.small {
		return nil, fmt.Errorf("--incidents (%d) must be larger than --small-incidents (%d), which must be positive", bigFlags.incidents, bigFlags.small)
	}
	if bigFlags.coldReads < 1 || bigFlags.starts < 1 {
		return nil, fmt.Errorf("--cold-reads and --starts must be at least 1")
	}
	rep := &scenarioReport{Params: []string{
		fmt.Sprintf("stores of %d and %d incidents (%s fill: auto is import where the binary has it, else HTTP adds by %d clients)", bigFlags.small, bigFlags.incidents, h.fill, h.clients),
		fmt.Sprintf("on each, after the fill: %d restarts (SIGTERM, start; start-up is process start to GET /readyz 200, median); then %d reads of distinct stored incidents by one client; then an add-only phase of %d clients (warmup %v, measured %v)", bigFlags.starts, bigFlags.coldReads, h.clients, bigFlags.warmup, bigFlags.duration),
		"cold is the gateway's: a new process with empty caches; the operating system's page cache is as the fill and the add phase left it",
	}}
	var small, big []*storeResult
	for _, bin := range h.bins {
		mode, note := fillMode(h.ctx, h.fill, bin)
		rep.Notes = append(rep.Notes, joinNotes(note)...)
		for _, size := range []int{bigFlags.small, bigFlags.incidents} {
			res, err := measureStore(h, bin, size, mode)
			if err != nil {
				return nil, fmt.Errorf("%s, %d incidents: %w", bin.Label, size, err)
			}
			if size == bigFlags.small {
				small = append(small, res)
			} else {
				big = append(big, res)
			}
		}
	}
	for _, set := range []struct {
		name string
		rs   []*storeResult
	}{{fmt.Sprint(bigFlags.small), small}, {fmt.Sprint(bigFlags.incidents), big}} {
		rs := set.rs
		rep.row(set.name+" incidents: fill", per(rs, func(r *storeResult) string {
			return fmt.Sprintf("%s, %.1f s", r.mode, r.fillTook.Seconds())
		})...)
		rep.row(set.name+" incidents: data directory", per(rs, func(r *storeResult) string { return fmt.Sprintf("%.1f MiB", float64(r.dirBytes)/(1<<20)) })...)
		rep.row(set.name+" incidents: adds req/s (p99)", per(rs, func(r *storeResult) string {
			return fmt.Sprintf("%.1f (%.1f ms)", r.addRate, r.addP99)
		})...)
		rep.row(set.name+" incidents: start-up, median (all)", per(rs, func(r *storeResult) string {
			s := ""
			for i, d := range r.starts {
				if i > 0 {
					s += ", "
				}
				s += fmt.Sprintf("%.3f", d.Seconds())
			}
			return fmt.Sprintf("%.3f s (%s)", median(r.starts).Seconds(), s)
		})...)
		rep.row(set.name+" incidents: cold reads, first / median / p99", per(rs, func(r *storeResult) string {
			return msOf(r.cold[0]) + " / " + msOf(median(r.cold)) + " / " + msOf(quantile(r.cold, 0.99))
		})...)
		for i, r := range rs {
			if r.addErrors > 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s, %s incidents: %d adds failed", h.bins[i].Label, set.name, r.addErrors))
			}
		}
	}
	n := len(h.bins)
	label := fmt.Sprintf("%d / %d incidents", bigFlags.incidents, bigFlags.small)
	add := newVerdict("add req/s, "+fmt.Sprintf("%d / %d incidents", bigFlags.small, bigFlags.incidents)+" (slowdown)", "<=", 1.5, "x", n)
	cold := newVerdict("cold read median, "+label, "<=", 1.5, "x", n)
	start := newVerdict("start-up median, "+label, "<=", 1.5, "x", n)
	startAbs := newVerdict(fmt.Sprintf("start-up median, %d incidents", bigFlags.incidents), "<=", 0.5, "s", n)
	for i := range n {
		s, b := small[i], big[i]
		add.set(i, ratio(s.addRate, b.addRate))
		cold.set(i, ratio(float64(median(b.cold)), float64(median(s.cold))))
		start.set(i, ratio(float64(median(b.starts)), float64(median(s.starts))))
		startAbs.set(i, median(b.starts).Seconds())
	}
	rep.Verdicts = []*verdict{add, cold, start, startAbs}
	if bigFlags.incidents < 1000000 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("issue 12 sets these targets for a store of 1,000,000 incidents; this run's big store has %d (--incidents)", bigFlags.incidents))
	}
	return rep, nil
}

// measureStore fills a fresh store of bin with size incidents and measures
// it: adds, start-ups, cold reads.
func measureStore(h *harness, bin binary, size int, mode string) (*storeResult, error) {
	ctx := h.ctx
	g, err := h.newGateway(bin, fmt.Sprintf("store-%d", size), false)
	if err != nil {
		return nil, err
	}
	res := &storeResult{size: size, mode: mode}
	var sample []string
	if mode == modeImport {
		base := time.Now().Add(-24 * time.Hour)
		h.progress("%s: generating and importing %d incidents", bin.Label, size)
		took, records, err := importStream(ctx, bin, g.dataDir, h.importArgs, h.tmp, h.env, func(w *ndjsonWriter) error {
			return genIncidents(w, size, h.clients, base)
		})
		if err != nil {
			return nil, err
		}
		res.fillTook = took
		h.progress("%s: imported %d records in %.1f s", bin.Label, records, took.Seconds())
		rng := mrand.New(mrand.NewPCG(uint64(size), 1))
		for _, i := range rng.Perm(size)[:min(size, max(bigFlags.coldReads, 2000))] {
			sample = append(sample, genID(base, i))
		}
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
	} else {
		if _, err := g.start(ctx); err != nil {
			return nil, err
		}
		h.progress("%s: adding %d incidents through HTTP", bin.Label, size)
		fr, err := fillHTTP(ctx, g.access(), h.clients, size, max(bigFlags.coldReads, 2000), h.progress)
		if err != nil {
			g.stop()
			return nil, err
		}
		res.fillTook, sample = fr.took, fr.sample
		h.progress("%s: added %d incidents in %.1f s", bin.Label, fr.added, fr.took.Seconds())
	}
	defer g.stop()

	for range bigFlags.starts {
		if err := g.stop(); err != nil {
			return nil, err
		}
		d, err := g.start(ctx)
		if err != nil {
			return nil, err
		}
		res.starts = append(res.starts, d)
		h.progress("%s, %d incidents: started in %.3f s", bin.Label, size, d.Seconds())
	}
	if res.dirBytes, err = dirSize(g.dataDir); err != nil {
		return nil, err
	}
	rc := newHTTPClient(1)
	defer rc.CloseIdleConnections()
	c := newCaller(g.access(), 0, rc)
	rng := mrand.New(mrand.NewPCG(uint64(size), 2))
	rng.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	for _, id := range sample[:min(len(sample), bigFlags.coldReads)] {
		a, err := c.send(ctx, readEvent, map[string]any{"id": id}, "")
		if err != nil {
			return nil, err
		}
		if !a.ok() {
			return nil, fmt.Errorf("cold read of %s: %v", id, a)
		}
		res.cold = append(res.cold, a.latency)
	}
	h.progress("%s, %d incidents: add phase", bin.Label, size)
	workers := make([]*worker, h.clients)
	for i := range workers {
		workers[i] = newWorker(i, g.access())
		defer workers[i].close()
	}
	t := &turn{name: "add-only", workers: workers, m: mix{add: 100}, pid: g.pid()}
	t.measure(ctx, bigFlags.warmup, bigFlags.duration)
	ph := t.report()
	res.addRate, res.addP99, res.addErrors = ph.Throughput, ph.P99Ms, ph.Errors

	return res, nil
}

// quantile is the nearest-rank q-quantile of ds (0 for none).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
