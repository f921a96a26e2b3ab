package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// samplesKept is how many distinct errors a phase keeps a body of.
const samplesKept = 5

// outcome is what one request came to.
type outcome struct {
	kind     string
	ok       bool
	errKey   string // the kind of error, for counting: "add: HTTP 500 InternalServerException"
	body     string // the error's response body or message, for the samples
	warnings bool   // the answer carried header.warnings
}

// recorder is one worker's record of one phase.
type recorder struct {
	lat          map[string][]time.Duration
	errs         map[string]int
	samples      map[string]string
	warmupErrors int
	warnings     int
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, errs: map[string]int{}, samples: map[string]string{}}
}

// fail counts an error of the measured window and keeps its body.
func (r *recorder) fail(o outcome) {
	r.errs[o.errKey]++
	r.sample(o)
}

// sample keeps the body of the first few distinct errors.
func (r *recorder) sample(o outcome) {
	if _, ok := r.samples[o.errKey]; !ok && len(r.samples) < samplesKept {
		r.samples[o.errKey] = o.body
	}
}

// cpuUse is the CPU time, in cores, of the server (the gateway or the
// baseline store; nil when it could not be read) and of this process over a
// measured window.
type cpuUse struct {
	server *float64
	bench  float64
}

// runLoad runs step on n workers: warmup, then the measured duration. A
// request counts when it completes inside the measured window; no request
// starts after it. It returns the workers' records, the window's length and
// the CPU use of process pid (the server) and of this one over the window.
func runLoad(ctx context.Context, n int, warmup, duration time.Duration, pid int,
	step func(ctx context.Context, w int) outcome) ([]*recorder, time.Duration, cpuUse) {
	recs := make([]*recorder, n)
	start := time.Now()
	measureStart := start.Add(warmup)
	measureEnd := measureStart.Add(duration)
	var wg sync.WaitGroup
	for w := range n {
		recs[w] = newRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := recs[w]
			for ctx.Err() == nil && time.Now().Before(measureEnd) {
				t0 := time.Now()
				o := step(ctx, w)
				t1 := time.Now()
				if o.warnings {
					rec.warnings++
				}
				switch {
				case t1.Before(measureStart):
					if !o.ok {
						rec.warmupErrors++
						rec.sample(o)
					}
				case !t1.Before(measureEnd):
					// completed after the window: not counted
				case o.ok:
					rec.lat[o.kind] = append(rec.lat[o.kind], t1.Sub(t0))
				default:
					rec.fail(o)
				}
			}
		}()
	}
	var cpu cpuUse
	sleepUntil(ctx, measureStart)
	srv0, srvErr0 := readCPU(pid)
	self0, _ := readCPU(os.Getpid())
	sleepUntil(ctx, measureEnd)
	srv1, srvErr1 := readCPU(pid)
	self1, _ := readCPU(os.Getpid())
	window := duration
	if now := time.Now(); now.Before(measureEnd) { // interrupted
		window = max(now.Sub(measureStart), time.Millisecond)
	}
	if pid > 0 && srvErr0 == nil && srvErr1 == nil {
		v := (srv1 - srv0).Seconds() / window.Seconds()
		cpu.server = &v
	}
	cpu.bench = (self1 - self0).Seconds() / window.Seconds()
	wg.Wait()
	return recs, window, cpu
}

func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// stats are the figures of a set of requests.
type stats struct {
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	Throughput float64 `json:"throughput"`
	P50Ms      float64 `json:"p50Ms"`
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
}

func statsOf(lat []time.Duration, errs int, window time.Duration) *stats {
	slices.Sort(lat)
	s := &stats{OK: len(lat), Errors: errs, Throughput: float64(len(lat)) / window.Seconds()}
	if len(lat) > 0 {
		q := func(p float64) float64 { // nearest rank
			i := int(float64(len(lat))*p+0.999999) - 1
			return ms(lat[min(max(i, 0), len(lat)-1)])
		}
		s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs = q(0.50), q(0.90), q(0.99), ms(lat[len(lat)-1])
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// phaseReport is one phase's figures (or the baseline's).
type phaseReport struct {
	Name        string  `json:"name"`
	Mix         string  `json:"mix,omitempty"`
	Description string  `json:"description,omitempty"`
	WindowS     float64 `json:"windowSeconds"`
	stats
	// Ratio is the phase's throughput over its gateway's baseline's;
	// CeilingRatio over the no-op server's with the same request bodies.
	Ratio        *float64          `json:"ratio,omitempty"`
	CeilingRatio *float64          `json:"ratioToCeiling,omitempty"`
	Kinds        map[string]*stats `json:"kinds,omitempty"`
	ErrorKinds   map[string]int    `json:"errorKinds,omitempty"`
	ErrorSamples map[string]string `json:"errorSamples,omitempty"`
	WarmupErrors int               `json:"warmupErrors"`
	Warnings     int               `json:"responsesWithWarnings,omitempty"`
	// ServerCPU is the CPU time of the gateway (or baseline store) process
	// over the window, in cores; BenchCPU that of the load generator.
	ServerCPU *float64 `json:"serverCpuCores,omitempty"`
	BenchCPU  float64  `json:"benchCpuCores"`
}

// phaseOf sums the workers' records of one phase, overall and for each of
// kinds.
func phaseOf(name string, recs []*recorder, window time.Duration, cpu cpuUse, kinds []string) *phaseReport {
	ph := &phaseReport{Name: name, WindowS: window.Seconds(), Kinds: map[string]*stats{},
		ErrorKinds: map[string]int{}, ErrorSamples: map[string]string{}, ServerCPU: cpu.server, BenchCPU: cpu.bench}
	var all []time.Duration
	errsByKind := map[string]int{}
	total := 0
	for _, r := range recs {
		for _, l := range r.lat {
			all = append(all, l...)
		}
		for key, n := range r.errs {
			ph.ErrorKinds[key] += n
			kind, _, _ := strings.Cut(key, ":")
			errsByKind[kind] += n
			total += n
		}
		for key, body := range r.samples {
			if _, ok := ph.ErrorSamples[key]; !ok && len(ph.ErrorSamples) < samplesKept {
				ph.ErrorSamples[key] = body
			}
		}
		ph.WarmupErrors += r.warmupErrors
		ph.Warnings += r.warnings
	}
	ph.stats = *statsOf(all, total, window)
	for _, k := range kinds {
		var l []time.Duration
		for _, r := range recs {
			l = append(l, r.lat[k]...)
		}
		ph.Kinds[k] = statsOf(l, errsByKind[k], window)
	}
	return ph
}
